#!/usr/bin/env bash
# Serving operations (issue 15's benchmark), `pronto serve` on core 0, clients on core 1:
#  1. cold start after idle unload: minilm with --idle-unload-seconds 1; CYCLES times, wait until it has unloaded,
#     then time one request (curl), then a warm one. Split: the load (the server's pronto_model_cold_start_seconds;
#     within it session creation and warm-up, pronto_model_cold_start_phase_seconds) and the rest (first run,
#     tokenizing, HTTP).
#  2. a response-cache hit against no cache: minilm's request through a copy of minilm with response_cache on (every
#     request after the first is a hit) and through the bundled minilm, concurrency 4: server CPU per request.
#  3. the cost of cost accounting: fraud at concurrency 64 with Pronto:MeasureEngineCpu off, on with the thread CPU
#     clock read on every run (Pronto:EngineCpuSampleEvery=1) and on with the default sampling, in an order rotated
#     over ROUNDS rounds: server CPU per request and req/s (target: <= 2% more CPU with it on).
# Usage: benchmarks/operations.sh [cycles=10] [rounds=3] [requests=40000] [parts="1 2 3"]
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-10}
rounds=${2:-3}
requests=${3:-40000}
parts=${4:-1 2 3}
source benchmarks/lib.sh
build_pronto loadgen
out=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
serve() {  # serve PORT ARGS...: a server on core 0, ready
  local port=$1; shift
  Logging__LogLevel__Default=Warning taskset -c 0 dotnet "$cli" serve --http-port "$port" --grpc-port $((port + 1)) "$@" > "$out/serve-$port.log" 2>&1 &
  server=$!
  wait_ready "$port"
}
stop() { kill $server; wait $server 2>/dev/null || true; server=; }
load() {  # load PORT MODEL BODY CONCURRENCY REQUESTS LABEL
  taskset -c 1 dotnet "$gen" --url "http://127.0.0.1:$1" --model "$2" --body "$3" --concurrency "$4" --requests "$5" \
    --warmup 500 --server-pid "$server" --label "$6" --json-out "$out/load.jsonl" > /dev/null
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server on core 0, clients on core 1"

# 1. Cold start.
if [[ " $parts " == *" 1 "* ]]; then
serve 18500 --idle-unload-seconds 1
body=benchmarks/bodies/minilm.json
infer() { taskset -c 1 curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' --data-binary "@$body" localhost:18500/v2/models/minilm/infer; }
infer > /dev/null
for ((i = 0; i < cycles; i++)); do
  until curl -s localhost:18500/metrics | grep -q "^pronto_model_unloads_total{model=\"minilm\",version=\"1\",reason=\"idle\"} $((i + 1))"; do sleep 0.2; done
  infer >> "$out/cold.txt"
  infer >> "$out/warm.txt"
done
curl -s localhost:18500/metrics | grep '^pronto_model_cold_start_\(phase_\)\?seconds_\(sum\|count\){model="minilm"' > "$out/cold-metrics.txt"
stop
python3 - "$out" <<'PY'
import os, statistics, sys
out = sys.argv[1]
cold = sorted(float(l) * 1000 for l in open(os.path.join(out, "cold.txt")))
warm = sorted(float(l) * 1000 for l in open(os.path.join(out, "warm.txt")))
m = {l.split("{")[0] + ("." + l.split('phase="')[1].split('"')[0] if "phase=" in l else ""): float(l.split()[-1]) for l in open(os.path.join(out, "cold-metrics.txt"))}
load = m["pronto_model_cold_start_seconds_sum"] / m["pronto_model_cold_start_seconds_count"] * 1000
p50 = statistics.median(cold)
print(f"cold start, minilm, {len(cold)} cycles: request after idle unload p50 {p50:.0f} ms (min {cold[0]:.0f}, max {cold[-1]:.0f}); "
      f"load (session + warm-up) mean {load:.0f} ms over {m['pronto_model_cold_start_seconds_count']:.0f} loads; the rest {p50 - load:.0f} ms; warm request p50 {statistics.median(warm):.1f} ms")
n = m["pronto_model_cold_start_phase_seconds_count.session"]
print(f"load split, mean over {n:.0f} loads: session creation {m['pronto_model_cold_start_phase_seconds_sum.session'] / n * 1000:.0f} ms, "
      f"warm-up {m['pronto_model_cold_start_phase_seconds_sum.warmup'] / n * 1000:.0f} ms")
PY
fi

# 2. Response cache: hits against no cache.
if [[ " $parts " == *" 2 "* ]]; then
repo="$out/repo"
mkdir -p "$repo/minilm-cached/1"
bundled=$(dirname "$(dirname "$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/pronto/models-v*/minilm/1 | sort -V | tail -1)")")
ln -s "$bundled/minilm/1/model.onnx" "$repo/minilm-cached/1/model.onnx"
cp "$bundled/minilm/vocab.txt" "$repo/minilm-cached/"
ln -s "$bundled/minilm" "$repo/minilm"
sed 's/^name: "minilm"/name: "minilm-cached"/' "$bundled/minilm/config.pbtxt" > "$repo/minilm-cached/config.pbtxt"
echo 'response_cache { enable: true }' >> "$repo/minilm-cached/config.pbtxt"
serve 18510 --model-repository "$repo"
load 18510 minilm "$body" 4 2000 "no cache"
load 18510 minilm-cached "$body" 4 20000 "cache hits"
stop
fi

# 3. Cost accounting: off, every run read, sampled (the default).
if [[ " $parts " == *" 3 "* ]]; then
arms=(off every-run sampled)
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < 3; k++)); do
    arm=${arms[$(((r + k) % 3))]}  # rotate which goes first
    case $arm in
      off) export Pronto__MeasureEngineCpu=false Pronto__EngineCpuSampleEvery=1 ;;
      every-run) export Pronto__MeasureEngineCpu=true Pronto__EngineCpuSampleEvery=1 ;;
      sampled) export Pronto__MeasureEngineCpu=true; unset Pronto__EngineCpuSampleEvery ;;
    esac
    serve 18520
    load 18520 fraud benchmarks/bodies/fraud.json 64 "$requests" "cost accounting $arm"
    stop
  done
done
fi

[ -f "$out/load.jsonl" ] && python3 - "$out/load.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in runs:
    by.setdefault(r["label"], []).append(r)
print("| run | req/s | server CPU us per request | p50 us | errors |")
print("|---|---:|---:|---:|---:|")
for label, rs in by.items():
    cpu = statistics.median(r["server_cpu_us_per_request"] for r in rs)
    print(f"| {label} ({len(rs)} runs, median) | {statistics.median(r['throughput'] for r in rs):.0f} | {cpu:.1f} | {statistics.median(r['p50_us'] for r in rs):.0f} | {sum(r['errors'] for r in rs)} |")
cpu = lambda l: statistics.median(r["server_cpu_us_per_request"] for r in by[l])
if "no cache" in by:
    print(f"cache hit / no cache, server CPU per request: {cpu('cache hits') / cpu('no cache'):.3f}")
if "cost accounting off" in by:
    for arm in ("every-run", "sampled"):
        print(f"cost accounting {arm} / off, server CPU per request: {cpu('cost accounting ' + arm) / cpu('cost accounting off'):.3f}")
PY
