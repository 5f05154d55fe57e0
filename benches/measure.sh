# Sourced by the benchmark scripts. measure RUNS COMMAND: runs a shell command RUNS times and
# prints the median wall seconds, the largest peak RSS of its processes (MB), and the fastest
# and slowest wall seconds.
measure() {
  python3 - "$@" <<'PY'
import resource, statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2]
walls = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(["bash", "-c", cmd], check=True, stdout=subprocess.DEVNULL)
    walls.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{statistics.median(walls):.3f} {peak:.1f} {min(walls):.3f} {max(walls):.3f}")
PY
}
