#!/usr/bin/env bash
# SSH benchmarks of `gonogo run --headless` against a real OpenSSH server on 127.0.0.1, each
# next to the standard tool doing the same work in the same run:
#   1. one step `cat` of a 1,000,000-line (~120 MB) file, vs `ssh host cat FILE | wc -l`
#      (wall time ratio, and gonogo's peak memory);
#   2. one `true` step on 20 targets vs on 1 target (wall time ratio).
# Needs /usr/sbin/sshd, ssh, ssh-keygen, python3 (for timing and peak RSS). RUNS=N streams the
# file N times with each tool (3 by default); wall times print as median (fastest-slowest).
#
# Run as root, it logs in as a `gonogo-bench` user with /bin/sh as its shell (created if
# missing), like a deploy account: root's bash on a dev machine may source a heavy ~/.bashrc on
# every command (pyenv init here: ~100 processes, ~130 ms per exec), which would measure the
# dev machine's shell setup, not the transport. Both tools log in as the same user.
# shellcheck source=benches/sshd.sh
. "$(dirname "$0")/sshd.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/gonogo
work=$(mktemp -d)
chmod 755 "$work"
sshd_pid=
cleanup() { [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
mkdir -p /run/sshd 2>/dev/null || true

ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
  user=gonogo-bench
  id "$user" >/dev/null 2>&1 || useradd -m -s /bin/sh "$user"
  usermod -p '*' "$user" # unlocked for key logins, no password
fi
start_sshd "$work" "$port"
echo "[127.0.0.1]:$port $(cat "$work/host_key.pub")" > "$work/known_hosts"

# 1,000,000 lines of ~120 bytes.
python3 - "$work/big.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    pad = "x" * 96
    for i in range(1_000_000):
        f.write(f"2026-11-22T03:00:00Z {i:07d} {pad}\n")
PY
chmod 644 "$work/big.log" "$work/authorized_keys"
echo "file: $(wc -l < "$work/big.log") lines, $(du -m "$work/big.log" | cut -f1) MB"

targets() {
  for i in $(seq "$1"); do
    printf '[targets.t%s]\nhost = "127.0.0.1"\nport = %s\nuser = "%s"\nidentity = "%s"\nroles = ["all"]\n\n' \
      "$i" "$port" "$user" "$work/client_key"
  done
}
profile() { # NAME TARGETS COMMAND
  { printf 'version = 1\n[release]\nname = "bench-%s"\nenvironment = "staging"\n[ssh]\nknown_hosts = "%s"\n\n' "$1" "$work/known_hosts"
    targets "$2"
    printf '[[step]]\nname = "bench"\ncheck = "%s"\non = "all"\n' "$3"; } > "$work/$1.toml"
}

. benches/measure.sh

ssh_cmd="ssh -F /dev/null -i $work/client_key -p $port -o IdentitiesOnly=yes -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes $user@127.0.0.1"
profile cat 1 "cat $work/big.log"
read -r ssh_true _ < <(measure 5 "$ssh_cmd true")
runs=${RUNS:-3}
read -r ssh_wall _ ssh_min ssh_max < <(measure "$runs" "$ssh_cmd cat $work/big.log | wc -l")
read -r gng_wall gng_rss gng_min gng_max < <(measure "$runs" "SSH_AUTH_SOCK= XDG_DATA_HOME=$work/data $bin run $work/cat.toml --headless --yes </dev/null | wc -l")
echo "cat 1M lines: ssh ${ssh_wall}s (${ssh_min}-${ssh_max}), gonogo ${gng_wall}s (${gng_min}-${gng_max}), ratio $(python3 -c "print(f'{$gng_wall/$ssh_wall:.2f}')"), gonogo peak RSS ${gng_rss} MB"

profile one 1 "true"
profile twenty 20 "true"
read -r one_wall _ < <(measure 5 "SSH_AUTH_SOCK= XDG_DATA_HOME=$work/data $bin run $work/one.toml --headless --yes </dev/null")
read -r twenty_wall _ < <(measure 5 "SSH_AUTH_SOCK= XDG_DATA_HOME=$work/data $bin run $work/twenty.toml --headless --yes </dev/null")
echo "true on 1 target ${one_wall}s, on 20 targets ${twenty_wall}s, ratio $(python3 -c "print(f'{$twenty_wall/$one_wall:.2f}')") (one ssh true: ${ssh_true}s)"
