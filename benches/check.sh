#!/usr/bin/env bash
# `gonogo check` as a whole process, against Python's tomllib only parsing the same file (the
# standard tool doing less of the same work), in the same run. Prints both and the ratio.
# Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-profiles/example.toml}
command -v hyperfine >/dev/null || { echo "benches/check.sh: install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release --locked -q
out=$(mktemp)
trap 'rm -f "$out"' EXIT
hyperfine -N --warmup 20 --runs 300 --export-json "$out" \
  "./target/release/gonogo check $profile" \
  "python3 -c 'import sys,tomllib; tomllib.load(open(sys.argv[1],\"rb\"))' $profile" >/dev/null
python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
g, p = r[0], r[1]
ms = lambda x: x * 1000
print(f"gonogo check   mean {ms(g['mean']):.2f} ms  median {ms(g['median']):.2f} ms  max {ms(g['max']):.2f} ms")
print(f"python tomllib mean {ms(p['mean']):.2f} ms  median {ms(p['median']):.2f} ms")
print(f"ratio gonogo/tomllib (mean): {g['mean'] / p['mean']:.2f}")
PY
