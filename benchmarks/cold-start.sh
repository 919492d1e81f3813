#!/usr/bin/env bash
# Cold start of the `pronto` binary: process start to the first fraud prediction printed (the line with the first
# probability), for the NativeAOT binary (scripts/install-pronto --native-aot), the edge binary (scripts/install-pronto:
# self-contained, single file, ReadyToRun) and the framework-dependent one (--framework-dependent), side by side: one warm-up each (the OS page
# cache holds the files after it, as on a device that ran it before), then RUNS runs of each, alternating, pinned to
# CPU 0 unless CPUS says otherwise. Also `pronto --help` (runtime start + command-line parsing, no model) and the sizes.
# Usage: benchmarks/cold-start.sh [runs=10]     (PRONTO_AOT_DIR / PRONTO_EDGE_DIR / PRONTO_FD_DIR: reuse published folders)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
cpus=${CPUS:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
aot=${PRONTO_AOT_DIR:-$work/aot}
edge=${PRONTO_EDGE_DIR:-$work/edge}
fd=${PRONTO_FD_DIR:-$work/fd}
[ -x "$aot/pronto" ] || scripts/install-pronto --native-aot "$aot" > /dev/null
[ -x "$edge/pronto" ] || scripts/install-pronto "$edge" > /dev/null
[ -x "$fd/pronto" ] || scripts/install-pronto --framework-dependent "$fd" > /dev/null
json='{"amount": 912.5, "customer_avg_amount": 40, "merchant_category": 7, "hour": 3, "distance_km": 850, "txn_last_hour": 5}'
"$edge/pronto" models list > /dev/null   # prepares the bundled repository once (trains fraud on a fresh cache)
python3 - "$runs" "$cpus" "$aot/pronto" "$edge/pronto" "$fd/pronto" "$json" <<'PY'
import os, statistics, subprocess, sys, time
runs, cpus, aot, edge, fd, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
def first_line(exe, args, marker):
    """Seconds from spawning EXE to the first stdout line containing MARKER, and to its exit."""
    start = time.perf_counter()
    p = subprocess.Popen(["taskset", "-c", cpus, exe, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen = None
    for line in p.stdout:
        if seen is None and marker in line:
            seen = time.perf_counter() - start
    p.wait()
    if p.returncode != 0 or seen is None:
        sys.exit(f"{exe} {' '.join(args)}: exit {p.returncode}, marker {marker!r} seen: {seen is not None}")
    return seen, time.perf_counter() - start
arms = [("native-aot", aot), ("edge", edge), ("framework-dependent", fd)]
cases = [("predict fraud", ["predict", "fraud", "--json", body], "%"), ("--help", ["--help"], "Usage")]
times = {(a, c): [] for a, _ in arms for c, _, _ in cases}
for a, exe in arms:
    for c, args, m in cases:
        first_line(exe, args, m)
for _ in range(runs):
    for a, exe in arms:
        for c, args, m in cases:
            times[(a, c)].append(first_line(exe, args, m))
print(f"machine: {os.cpu_count()} cores, pinned to CPU {cpus}; load average {open('/proc/loadavg').read().split()[0]}")
print("| binary | command | runs | to first result, median ms | min ms | max ms | to exit, median ms |")
print("|---|---|---|---|---|---|---|")
for a, _ in arms:
    for c, _, _ in cases:
        first = [t[0] * 1000 for t in times[(a, c)]]
        done = [t[1] * 1000 for t in times[(a, c)]]
        print(f"| {a} | pronto {c} | {runs} | {statistics.median(first):.0f} | {min(first):.0f} | {max(first):.0f} | {statistics.median(done):.0f} |")
fd_median = statistics.median(t[0] for t in times[("framework-dependent", "predict fraud")])
for a in ("native-aot", "edge"):
    print(f"{a} / framework-dependent, predict fraud to first result: {statistics.median(t[0] for t in times[(a, 'predict fraud')]) / fd_median:.2f}x")
PY
size() { du -sb "$1" | cut -f1 | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
echo "native-aot: pronto $(size "$aot/pronto"), folder $(size "$aot")"
echo "edge: pronto $(size "$edge/pronto"), folder $(size "$edge") ($(ls "$edge" | wc -l) entries: $(ls -S "$edge" | head -6 | tr '\n' ' '))"
echo "framework-dependent: folder $(size "$fd") (+ the .NET 10 runtime)"
