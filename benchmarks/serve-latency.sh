#!/usr/bin/env bash
# Latency of single requests at concurrency 1 through `pronto serve` (REST JSON), server pinned to core 0,
# load generator to core 1; 2,000 warm-up requests first (tier-1 JIT on the same core). Usage: benchmarks/serve-latency.sh [requests=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-2000}
source benchmarks/lib.sh
build_pronto loadgen
# One intra-op thread: the server owns one core; ORT spinning stays off (the server default).
Pronto__Onnx__IntraOpThreads=1 Logging__LogLevel__Default=Warning taskset -c 0 dotnet "$cli" serve --http-port 18000 --grpc-port 18001 > /tmp/pronto-bench-serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
wait_ready 18000
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server on core 0, load generator on core 1"
echo "| request | concurrency | requests | errors | p50 us | p90 us | p99 us | max us | req/s |"
echo "|---|---|---|---|---|---|---|---|---|"
for body in fraud fraud-features minilm; do
  model=${body%%-*}
  taskset -c 1 dotnet "$gen" --url http://127.0.0.1:18000 --model "$model" --body "benchmarks/bodies/$body.json" \
    --requests "$requests" --concurrency 1 --warmup 2000 --label "$body"
done
