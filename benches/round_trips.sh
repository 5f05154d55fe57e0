#!/usr/bin/env bash
# Round trips per step over a slow link: the same release done three ways through a delay proxy
# (examples/delay_proxy.rs) in front of a real OpenSSH server on 127.0.0.1, at several round-trip
# times; then a deploy user whose shell is slow to start. See benches/README.md ("Round trips
# per step") for what is counted and how.
#
#   1. STEPS steps (8) on HOSTS targets (3), each step `echo step N; sleep 0.1`, done by
#      - gonogo `run --headless --yes` (built --release),
#      - ansible-playbook: pipelining, ControlMaster/ControlPersist, forks = HOSTS, no facts,
#      - an OpenSSH loop: for each step, one `ssh` per host in parallel, then wait;
#      each at every round-trip time of RTTS ("0 50 150" ms: the proxy delays each direction by
#      half of it; 0 still goes through the proxy). Every run goes through a fresh proxy, whose
#      log counts the run's round trips. The same with 1 step is the baseline: per step is
#      (STEPS-step run - 1-step run) / (STEPS - 1), round trips also / HOSTS (per host).
#   2. A deploy user `gonogo-slow` whose ~/.bashrc runs `sleep 0.3` (sshd runs every command
#      through the login shell, and Debian's bash reads ~/.bashrc when started by sshd): a
#      2-step release of `true` on one target against `ssh host true`, directly to sshd.
#
# Times are medians of RUNS runs (5), with the fastest and slowest. Needs /usr/sbin/sshd, ssh,
# ssh-keygen, python3; run as root (it creates the users `gonogo-bench`, /bin/sh, and
# `gonogo-slow`, /bin/bash; without root the slow-shell case is skipped and the first logs in as
# you). ansible-playbook is taken from ANSIBLE_PLAYBOOK, else PATH, else a venv in
# ${XDG_CACHE_HOME:-~/.cache}/gonogo-bench/ansible-venv (`pip install ansible-core`, made once);
# if none can be had, its column says so and the rest runs. Honors CARGO_TARGET_DIR.
# KEEP=1 keeps the work directory (profiles, playbook, every proxy log); LOGS=DIR copies the
# proxy logs there.
# shellcheck source=benches/sshd.sh
. "$(dirname "$0")/sshd.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
rtts=${RTTS:-"0 50 150"}
steps=${STEPS:-8}
hosts=${HOSTS:-3}
[ "$steps" -ge 2 ] || { echo "STEPS must be at least 2" >&2; exit 2; }

tgt=${CARGO_TARGET_DIR:-target}
case $tgt in /*) ;; *) tgt=$PWD/$tgt ;; esac
cargo build --release --locked -q --bin gonogo --example delay_proxy
bin=$tgt/release/gonogo
proxy_bin=$tgt/release/examples/delay_proxy

work=$(mktemp -d)
chmod 755 "$work"
sshd_pid=
proxy_pid=
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
  for sock in "$work"/cp/*/*; do
    [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit x >/dev/null 2>&1
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p /run/sshd 2>/dev/null || true

echo "round_trips: $(date -u +%FT%TZ), $(nproc) cores, load:$(uptime | sed 's/.*load average//')"
echo "  $(git log -1 --format='%h %s' | cut -c1-100)"

# --- sshd and its users ------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
chmod 644 "$work/authorized_keys"
read -r port proxy_ports < <(python3 - "$hosts" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1]) + 1):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
read -r -a pports <<<"$proxy_ports"
user=$(id -un)
slow=
if [ "$(id -u)" = 0 ]; then
  user=gonogo-bench
  id "$user" >/dev/null 2>&1 || useradd -m -s /bin/sh "$user"
  usermod -p '*' "$user" # unlocked for key logins, no password
  slow=gonogo-slow
  id "$slow" >/dev/null 2>&1 || useradd -m -s /bin/bash "$slow"
  usermod -p '*' -s /bin/bash "$slow"
  slow_home=$(getent passwd "$slow" | cut -d: -f6)
  printf '# benches/round_trips.sh: a shell that is slow to start, like a pyenv/nvm init\nsleep 0.3\n' \
    > "$slow_home/.bashrc"
  chown "$slow:" "$slow_home/.bashrc"
fi
start_sshd "$work" "$port"
for p in "$port" "${pports[@]}"; do
  echo "[127.0.0.1]:$p $(cat "$work/host_key.pub")"
done > "$work/known_hosts"
ssh_opts=(-F /dev/null -i "$work/client_key" -o IdentitiesOnly=yes
  -o UserKnownHostsFile="$work/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)

# --- the proxy -----------------------------------------------------------------------------
# start_proxy ONE_WAY_MS LOG: one proxy process, one listener per host, all to sshd.
start_proxy() {
  local args=() p
  for p in "${pports[@]}"; do args+=(--listen "127.0.0.1:$p"); done
  "$proxy_bin" --to "127.0.0.1:$port" --delay-ms "$1" --log "$2" "${args[@]}" >"$work/proxy.out" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 100); do
    [ "$(grep -c '^listening' "$work/proxy.out" 2>/dev/null)" = "${#pports[@]}" ] && return 0
    kill -0 "$proxy_pid" 2>/dev/null || break
    sleep 0.02
  done
  echo "delay proxy did not start:" >&2
  cat "$work/proxy.out" >&2
  exit 1
}
# stop_proxy ONE_WAY_MS: lets the last closes cross, then makes the proxy write its log.
stop_proxy() {
  local ms=$((2 * $1 + 50))
  sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
  kill -TERM "$proxy_pid"
  wait "$proxy_pid" || true
  proxy_pid=
}

# --- the three ways of doing the release ---------------------------------------------------
# gonogo: a profile per step count; targets h1..hN, each through its own proxy port.
gonogo_profile() { # STEPS
  local i
  {
    printf 'version = 1\n[release]\nname = "bench-round-trips"\nenvironment = "staging"\n'
    printf '[ssh]\nknown_hosts = "%s"\n\n' "$work/known_hosts"
    for i in $(seq "$hosts"); do
      printf '[targets.h%s]\nhost = "127.0.0.1"\nport = %s\nuser = "%s"\nidentity = "%s"\nroles = ["all"]\n\n' \
        "$i" "${pports[$((i - 1))]}" "$user" "$work/client_key"
    done
    for i in $(seq "$1"); do
      printf '[[step]]\nname = "step %s"\non = "all"\nrun = "echo step %s; sleep 0.1"\n\n' "$i" "$i"
    done
  } > "$work/gonogo-$1.toml"
}
gonogo_profile "$steps"
gonogo_profile 1
run_gonogo() { # STEPS RUN
  SSH_AUTH_SOCK="" XDG_DATA_HOME=$work/data "$bin" run "$work/gonogo-$1.toml" --headless --yes </dev/null
}

# ansible-playbook: found, or installed once into a venv in the cache.
ansible=${ANSIBLE_PLAYBOOK:-}
if [ -z "$ansible" ]; then
  if command -v ansible-playbook >/dev/null; then
    ansible=$(command -v ansible-playbook)
  else
    venv=${XDG_CACHE_HOME:-$HOME/.cache}/gonogo-bench/ansible-venv
    if [ ! -x "$venv/bin/ansible-playbook" ]; then
      echo "ansible-playbook not found: installing ansible-core into $venv (pip)"
      if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q ansible-core; } >"$work/pip.log" 2>&1; then
        echo "  could not install ansible-core (see below): the ansible column is skipped"
        tail -5 "$work/pip.log" | sed 's/^/  /'
      fi
    fi
    [ -x "$venv/bin/ansible-playbook" ] && ansible=$venv/bin/ansible-playbook
  fi
fi
if [ -n "$ansible" ]; then
  {
    echo "[all]"
    for i in $(seq "$hosts"); do echo "h$i ansible_host=127.0.0.1 ansible_port=${pports[$((i - 1))]}"; done
    printf '[all:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\n' "$user" "$work/client_key"
    printf 'ansible_python_interpreter=/usr/bin/python3\n'
  } > "$work/inventory"
  cat > "$work/ansible.cfg" <<CFG
[defaults]
inventory = $work/inventory
forks = $hosts
gathering = explicit
host_key_checking = True
retry_files_enabled = False
local_tmp = $work/ansible-local
nocolor = True
[ssh_connection]
pipelining = True
ssh_args = ${ssh_opts[*]} -o ControlMaster=auto -o ControlPersist=60s
control_path = %(directory)s/%%h-%%p-%%r
CFG
  for n in 1 "$steps"; do
    {
      printf -- '- hosts: all\n  gather_facts: false\n  tasks:\n'
      for i in $(seq "$n"); do
        printf '    - name: step %s\n      ansible.builtin.shell: echo step %s; sleep 0.1\n' "$i" "$i"
      done
    } > "$work/play-$n.yml"
  done
fi
# Each ansible run has its own ControlPath directory, so it opens its connections as the other
# two do; its masters are closed after the run (outside the time), before the proxy stops.
run_ansible() { # STEPS RUN
  mkdir -p "$work/cp/$2"
  ANSIBLE_CONFIG=$work/ansible.cfg ANSIBLE_HOME=$work/ansible-home ANSIBLE_SSH_CONTROL_PATH_DIR=$work/cp/$2 \
    "$ansible" "$work/play-$1.yml"
}
ansible_after() { # RUN
  local sock
  for sock in "$work/cp/$1"/*; do
    [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit x >/dev/null 2>&1
  done
  return 0
}

# OpenSSH: one connection per host per step, the hosts of a step in parallel.
run_ssh_loop() { # STEPS RUN
  local i p pids
  for i in $(seq "$1"); do
    pids=()
    for p in "${pports[@]}"; do
      ssh "${ssh_opts[@]}" -p "$p" "$user@127.0.0.1" "echo step $i; sleep 0.1" &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || return 1; done
  done
}

# --- measuring ------------------------------------------------------------------------------
# measure_once TOOL STEPS RTT_MS: one run through a fresh proxy; appends to $work/results
# a line TOOL STEPS RTT MICROSECONDS ROUND_TRIPS TURNS (the proxy's counts, all connections).
seq_run=0
measure_once() {
  local tool=$1 n=$2 rtt=$3 one_way=$(($3 / 2)) t0 t1 log trips turns
  seq_run=$((seq_run + 1))
  log=$work/proxy-$tool-$n-$rtt-$seq_run.log
  start_proxy "$one_way" "$log"
  t0=$(date +%s%N)
  if ! "run_$tool" "$n" "$seq_run" >"$work/out-$tool.txt" 2>&1; then
    echo "  $tool failed ($n steps, ${rtt} ms); its output:" >&2
    tail -20 "$work/out-$tool.txt" >&2
    stop_proxy "$one_way"
    return 1
  fi
  t1=$(date +%s%N)
  [ "$tool" = ansible ] && ansible_after "$seq_run"
  stop_proxy "$one_way"
  read -r trips turns < <(sed -n 's/^total .* round_trips=\([0-9]*\) turns=\([0-9]*\)$/\1 \2/p' "$log")
  echo "$tool $n $rtt $(((t1 - t0) / 1000)) $trips $turns" >> "$work/results"
}

# Rounds in turn (every tool once, then again), so a change in the machine's load falls on all.
tools=(gonogo ssh_loop)
[ -n "$ansible" ] && tools=(gonogo ansible ssh_loop)
: > "$work/results"
for rtt in $rtts; do
  for _ in $(seq "$runs"); do
    for tool in "${tools[@]}"; do
      for n in "$steps" 1; do
        if ! measure_once "$tool" "$n" "$rtt"; then
          [ "$tool" = ansible ] || exit 1
          echo "  ansible failed: its column is left out from here on" >&2
          tools=(gonogo ssh_loop)
          break
        fi
      done
    done
  done
  echo "  RTT ${rtt} ms done, load:$(uptime | sed 's/.*load average//')"
done
if [ -n "${LOGS:-}" ]; then mkdir -p "$LOGS" && cp "$work"/proxy-*.log "$LOGS"/; fi

# --- the slow shell --------------------------------------------------------------------------
slow_line="slow shell: skipped (needs root to create the gonogo-slow user)"
if [ -n "$slow" ]; then
  {
    printf 'version = 1\n[release]\nname = "bench-slow-shell"\nenvironment = "staging"\n'
    printf '[ssh]\nknown_hosts = "%s"\n\n' "$work/known_hosts"
    printf '[targets.slow]\nhost = "127.0.0.1"\nport = %s\nuser = "%s"\nidentity = "%s"\nroles = ["all"]\n\n' \
      "$port" "$slow" "$work/client_key"
    for i in 1 2; do printf '[[step]]\nname = "step %s"\non = "all"\nrun = "true"\n\n' "$i"; done
  } > "$work/slow.toml"
  # shellcheck source=benches/measure.sh
  . benches/measure.sh
  read -r ss_med _ ss_min ss_max < <(measure "$runs" "ssh ${ssh_opts[*]} -p $port $slow@127.0.0.1 true")
  read -r sg_med _ sg_min sg_max < <(measure "$runs" \
    "SSH_AUTH_SOCK= XDG_DATA_HOME=$work/data $bin run $work/slow.toml --headless --yes </dev/null 2>/dev/null")
  ratio=$(python3 -c "print(f'{$sg_med / $ss_med:.2f}')")
  slow_line="slow shell (~/.bashrc sleeps 0.3 s), 2 steps of \`true\` on 1 target, direct to sshd:"
  slow_line+=" gonogo ${sg_med} s (${sg_min}-${sg_max}) vs ssh host true ${ss_med} s (${ss_min}-${ss_max}):"
  slow_line+=" ${ratio}x (target <= 1.2x)"
  python3 -c "import sys; sys.exit(0 if $ss_med >= 0.3 else 1)" \
    || slow_line="$slow_line; WARNING: ssh host true took under 0.3 s, so bash did not read ~/.bashrc"
fi

# --- the report -------------------------------------------------------------------------------
echo "load at the end:$(uptime | sed 's/.*load average//')"
python3 - "$work/results" "$steps" "$hosts" "$runs" "${ansible:+yes}" <<'PY'
import statistics, sys
from collections import defaultdict
path, steps, hosts, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
have_ansible = len(sys.argv) > 5 and sys.argv[5] == "yes"
rows = defaultdict(list)
for line in open(path):
    tool, n, rtt, us, trips, turns = line.split()
    rows[(tool, int(n), int(rtt))].append((int(us) / 1e6, int(trips), int(turns)))
names = {
    "gonogo": "gonogo `run --headless --yes`",
    "ansible": f"ansible-playbook (pipelining, ControlPersist, forks {hosts})",
    "ssh_loop": "an OpenSSH loop, hosts in parallel per step",
}
tools = ["gonogo", "ansible", "ssh_loop"]
rtts = sorted({k[2] for k in rows})
med = statistics.median

def cell(tool, n, rtt):
    r = rows.get((tool, n, rtt))
    if not r:
        return None
    walls = [x[0] for x in r]
    return {"wall": med(walls), "min": min(walls), "max": max(walls),
            "trips": med(x[1] for x in r), "turns": med(x[2] for x in r)}

def table(title, fmt):
    print(title)
    print()
    print("| | " + " | ".join(f"{r} ms RTT" for r in rtts) + " |")
    print("|---" * (len(rtts) + 1) + "|")
    for tool in tools:
        if tool == "ansible" and not have_ansible:
            print(f"| {names[tool]} | " + " | ".join("unavailable" for _ in rtts) + " |")
            continue
        cells = []
        for rtt in rtts:
            a, b = cell(tool, steps, rtt), cell(tool, 1, rtt)
            cells.append("failed" if a is None or b is None else fmt(a, b, rtt))
        print(f"| {names[tool]} | " + " | ".join(cells) + " |")
    print()

print()
table(f"{steps} steps x {hosts} hosts, each `echo step N; sleep 0.1`: wall time, median of {runs} (fastest-slowest)",
      lambda a, b, rtt: f"{a['wall']:.2f} s ({a['min']:.2f}-{a['max']:.2f})")
per = steps - 1
table(f"a step's share, (the {steps}-step run - the 1-step run) / {per}: seconds; round trips per host "
      f"from the proxy's log, medians (turns in brackets)",
      lambda a, b, rtt: f"{(a['wall'] - b['wall']) / per:.3f} s; "
                        f"{(a['trips'] - b['trips']) / per / hosts:.1f} ({(a['turns'] - b['turns']) / per / hosts:.1f})")
table(f"round trips of a whole run, all {hosts} hosts: the {steps}-step run / the 1-step run (turns in brackets)",
      lambda a, b, rtt: f"{a['trips']:g} / {b['trips']:g} ({a['turns']:g} / {b['turns']:g})")
if len(rtts) > 1 and rtts[0] == 0:
    print("round-trip times a step waits, from wall times alone ((a step's share at RTT - at 0 ms) / RTT):")
    for tool in tools:
        parts = []
        for rtt in rtts[1:]:
            cs = [cell(tool, steps, 0), cell(tool, 1, 0), cell(tool, steps, rtt), cell(tool, 1, rtt)]
            if None in cs:
                continue
            a0, b0, a, b = cs
            extra = ((a["wall"] - b["wall"]) - (a0["wall"] - b0["wall"])) / per
            parts.append(f"{extra / (rtt / 1000):.1f} at {rtt} ms")
        if parts:
            print(f"  {tool}: " + ", ".join(parts))
    print()
for rtt in rtts:
    g = cell("gonogo", steps, rtt)
    if g is None:
        continue
    line = f"{rtt} ms RTT: gonogo {g['wall']:.2f} s"
    for tool in ("ansible", "ssh_loop"):
        o = cell(tool, steps, rtt)
        if o is not None:
            line += f"; {tool} {o['wall']:.2f} s (gonogo / {tool} {g['wall'] / o['wall']:.2f})"
    target = {0: 1.0, 50: 1.6, 150: 2.8}.get(rtt)
    if target is not None and (steps, hosts) == (8, 3):
        line += f"; target <= {target} s: {'met' if g['wall'] <= target else 'missed'}"
    print(line)
# The count at the longest delay is the one to quote: there the proxy tells a wait from crossing
# traffic best (at 0 ms every alternation counts).
g, b = cell("gonogo", steps, rtts[-1]), cell("gonogo", 1, rtts[-1])
if g and b:
    trips = (g["trips"] - b["trips"]) / per / hosts
    print(f"gonogo round trips per step per host at {rtts[-1]} ms RTT: {trips:.1f} (target <= 1.5: "
          f"{'met' if trips <= 1.5 else 'missed'})")
PY
echo "$slow_line"
