#!/usr/bin/env bash
# What a live follower costs the operator: one local step `cat` of a 1,000,000-line (~120 MB)
# file, headless, run alone, with a follower reading every record as it comes, and with a
# follower that joined and never reads (a frozen terminal). Next to the standard tool doing the
# same work (`cat FILE | wc -l`). Needs python3 (timing, and the two followers: a socket client
# speaking the follow protocol, docs/follow.md). RUNS=N runs each case N times (3 by default);
# wall times print as median (fastest-slowest).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
bin=$PWD/target/release/gonogo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -m 700 "$work/runtime"

python3 - "$work/big.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    pad = "x" * 96
    for i in range(1_000_000):
        f.write(f"2026-11-23T03:00:00Z {i:07d} {pad}\n")
PY
# A first step of half a second lets the follower join before the flood.
cat > "$work/cat.toml" <<TOML
version = 1
[release]
name = "follow-bench"
environment = "staging"
[targets.here]
transport = "local"
[[step]]
name = "settle"
check = "sleep 0.5"
on = "here"
[[step]]
name = "bench"
check = "cat $work/big.log"
on = "here"
TOML

# follower.py MODE: joins the one session in $XDG_RUNTIME_DIR/gonogo and reads every record
# (`read`) or none (`stuck`) until the session ends.
cat > "$work/follower.py" <<'PY'
import glob, os, socket, sys, time
mode = sys.argv[1]
pattern = os.path.join(os.environ["XDG_RUNTIME_DIR"], "gonogo", "*.sock")
for _ in range(500):
    found = glob.glob(pattern)
    if found:
        break
    time.sleep(0.005)
s = socket.socket(socket.AF_UNIX)
s.connect(found[0])
s.sendall(b'{"name":"bench","via":"this machine"}\n')
got = 0
while True:
    if mode == "stuck":
        time.sleep(0.05)
        try:
            os.kill(int(sys.argv[2]), 0)
        except ProcessLookupError:
            break
        continue
    data = s.recv(1 << 20)
    if not data:
        break
    got += data.count(b"\n")
print(got, file=sys.stderr)
PY

. benches/measure.sh

runs=${RUNS:-3}
env="XDG_RUNTIME_DIR=$work/runtime XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state HOME=$work"
run="$env $bin run $work/cat.toml --headless --yes </dev/null 2>/dev/null | wc -l"
read -r cat_wall _ cat_min cat_max < <(measure "$runs" "cat $work/big.log | wc -l")
read -r alone _ alone_min alone_max < <(measure "$runs" "$run; rm -rf $work/data")
read -r reading _ r_min r_max < <(measure "$runs" \
  "$env python3 $work/follower.py read 2>/dev/null & $run; wait; rm -rf $work/data")
read -r stuck _ s_min s_max < <(measure "$runs" \
  "($run) & g=\$!; $env python3 $work/follower.py stuck \$g 2>/dev/null; wait; rm -rf $work/data")
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo "cat | wc -l: ${cat_wall}s (${cat_min}-${cat_max})"
echo "gonogo alone: ${alone}s (${alone_min}-${alone_max}) (includes a 0.5 s first step)"
echo "with a reading follower: ${reading}s (${r_min}-${r_max}), ratio to alone $(ratio "$reading" "$alone")"
echo "with a follower that never reads: ${stuck}s (${s_min}-${s_max}), ratio to alone $(ratio "$stuck" "$alone")"
