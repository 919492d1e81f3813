#!/usr/bin/env bash
# The benchmark suite (issue 6): Pronto against raw ONNX Runtime (the limit) and against a hand-written endpoint, each
# figure a ratio or difference of A and B measured one after the other in one run, A and B alternated per pair.
#   quick: 1 pair, small counts (a few minutes; a smoke test, not a measurement)
#   full:  5 pairs, medians and spread (min-max); for the docs, on an idle machine
# Servers (pronto serve, the naive endpoint) run pinned to core 0 with one intra-op thread, the load generator on
# core 1, raw ORT on core 0 with one thread; the GFLOP/s figure is raw ORT at 2 threads on cores 0-1 with no server
# up. Every raw result goes to benchmarks/results/<UTC time>/ as JSON; the rows print as they come, the table last.
# Usage: benchmarks/run.sh [quick|full]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
mode=${1:-quick}
case $mode in
  # *_requests: requests per load run (resnet18 ~17 ms each at one thread); *_seconds: per raw ORT batch size.
  quick) pairs=1 resnet_requests=40 minilm_requests=1500 raw_seconds=2 p50_requests=2000 resnet_p50_requests=40
         identity_requests=20000 fraud64_requests=20000 gflops_seconds=2 ;;
  full)  pairs=5 resnet_requests=400 minilm_requests=8000 raw_seconds=4 p50_requests=10000 resnet_p50_requests=200
         identity_requests=150000 fraud64_requests=100000 gflops_seconds=5 ;;
  *) echo "usage: benchmarks/run.sh [quick|full]" >&2; exit 2 ;;
esac
started=$SECONDS

build_pronto loadgen rawbench modelgen
dotnet build benchmarks/peers/NaiveOnnxEndpoint -c Release -v q -nologo > /dev/null
naive=benchmarks/peers/NaiveOnnxEndpoint/bin/Release/net10.0/linux-x64/NaiveOnnxEndpoint.dll
table=benchmarks/suite-table.py

results=benchmarks/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results"
servers=()
repo=$(mktemp -d /tmp/pronto-suite-XXXX)
cleanup() {
  local pid
  for pid in "${servers[@]}"; do
    kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
  done
  rm -rf "$repo"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The bundled zoo (prepared on first use) plus the zero-compute identity model (FP32 [batch, 16], max_batch_size 64).
bundled_zoo
for model in fraud minilm resnet18; do
  ln -s "$zoo/$model" "$repo/$model"
done
dotnet "$modelgen" identity "$repo" > /dev/null
dotnet "$modelgen" body resnet18 benchmarks/bodies > /dev/null

cpu() { grep -m1 "^$1\s*:" /proc/cpuinfo | cut -d: -f2 | xargs; }
machine="machine: $(nproc) cores, $(cpu 'model name') (family $(cpu 'cpu family') model $(cpu model)), $(date -u '+%Y-%m-%d %H:%M UTC'), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$machine" | tee "$results/machine.txt"
echo "mode $mode ($pairs pair(s)), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' + uncommitted changes'), results in $results" | tee -a "$results/machine.txt"


# start_server VAR LOG COMMAND...: COMMAND in the background pinned to core 0 with one intra-op thread (pronto serve
# reads Pronto__Onnx__IntraOpThreads, the naive endpoint IntraOpThreads) and Warning logs; its pid goes into VAR and
# into the list the exit trap kills.
start_server() {
  local var=$1 log=$2
  shift 2
  Pronto__Onnx__IntraOpThreads=1 IntraOpThreads=1 Logging__LogLevel__Default=Warning taskset -c 0 "$@" > "$log" 2>&1 &
  servers+=($!)
  printf -v "$var" %s $!
}

# wait_ready PID PORT LOG CURL_ARGS...: until the request succeeds; fails with the server's log if it died first (a
# bad model, a port taken meanwhile) or if PORT is not PID's, so a run never measures somebody else's server.
wait_ready() {
  local pid=$1 port=$2 log=$3
  shift 3
  until curl -sf -o /dev/null "$@"; do
    if ! kill -0 "$pid" 2> /dev/null; then
      echo "the server (pid $pid) exited before it was ready:" >&2
      tail -5 "$log" >&2
      exit 1
    fi
    sleep 0.5
  done
  if ! ss -ltnpH "sport = :$port" | grep -q "pid=$pid,"; then
    echo "port $port answers, but not from the server started here (pid $pid): $(ss -ltnpH "sport = :$port")" >&2
    exit 1
  fi
}

stop_server() {
  kill "$1" && wait "$1" 2> /dev/null || true
}

# load OUT LABEL LOADGEN_OPTIONS...: one load generator run on core 1, its row on stdout, its JSON line in OUT.jsonl,
# its notes (checks, server CPU, errors) in loadgen.log. A failed or mismatched request does not stop the suite: the
# table flags the figure.
load() {
  local out=$1 label=$2
  shift 2
  echo "== $out" >> "$results/loadgen.log"
  taskset -c 1 dotnet "$gen" --label "$label" --json-out "$results/$out.jsonl" "$@" 2>> "$results/loadgen.log" \
    || echo "  ^ errors in this run: see $results/loadgen.log"
}

# pronto_load OUT LABEL LOADGEN_OPTIONS...: a load run against pronto serve, every 100th answer checked against an
# in-process run, the server's CPU and the model's engine runs read around the measured run.
pronto_load() {
  local out=$1 label=$2
  shift 2
  load "$out" "$label" --url "http://127.0.0.1:$http_port" --grpc-url "http://127.0.0.1:$grpc_port" --server-pid "$pronto" \
    --server-stats --check-repository "$repo" --check-every 100 "$@"
}

# raw_ort OUT CPUS RAWBENCH_ARGS...: Pronto.RawBench pinned to CPUS; its JSON in OUT.json, its rows on stdout in the
# load generator's columns.
raw_ort() {
  local out=$1 cpus=$2
  shift 2
  taskset -c "$cpus" dotnet "$raw" "$@" --repository "$repo" --json-out "$results/$out.json" > "$results/$out.txt" 2>&1 \
    || { cat "$results/$out.txt" >&2; exit 1; }
  python3 "$table" row "$results/$out.json" "raw ORT"
}

section() {
  printf '\n### %s (at %d s)\n\n| request | concurrency | requests | errors | p50 us | p90 us | p99 us | max us | req/s |\n|---|---|---|---|---|---|---|---|---|\n' "$1" $((SECONDS - started))
}

http_port=$(free_port)
grpc_port=$(free_port)
start_server pronto "$results/pronto-serve.log" dotnet "$cli" serve --model-repository "$repo" --http-port "$http_port" --grpc-port "$grpc_port"
wait_ready "$pronto" "$http_port" "$results/pronto-serve.log" "http://127.0.0.1:$http_port/v2/health/ready"
echo "pronto serve pid $pronto on core 0 (1 intra-op thread), HTTP $http_port, gRPC $grpc_port; load generator on core 1"

# Warm-ups are long enough (40 resnet18 images, 500 minilm texts) for the server's hot methods to reach tier 1 (JIT
# work on the same core) before the clock starts.
# 1. Saturated throughput: enough requests in flight to keep the server's one core busy (resnet18 has no dynamic
# batching, so 4 is plenty; minilm's eager batcher forms batches from 32), against raw ORT at the batch size nearest
# the mean batch Pronto ran (same batch sizes; the table names raw ORT's best batch beside it).
section "1. saturated throughput, Pronto HTTP binary / raw ORT (1 thread, Pronto's batch size)"
for pair in $(seq "$pairs"); do
  pronto_load "f1-resnet18-pronto-$pair" "resnet18 binary" --model resnet18 --body benchmarks/bodies/resnet18.json \
    --transport binary --concurrency 4 --requests "$resnet_requests" --warmup 40
  raw_ort "f1-resnet18-raw-$pair" 0 throughput --model resnet18 --batch 1,2,4,8,16,32 --threads 1 --seconds "$raw_seconds"
done
for pair in $(seq "$pairs"); do
  pronto_load "f1-minilm-pronto-$pair" "minilm binary" --model minilm --body benchmarks/bodies/minilm.json \
    --transport binary --concurrency 32 --requests "$minilm_requests" --warmup 500
  raw_ort "f1-minilm-raw-$pair" 0 throughput --model minilm --batch 1,2,4,8,16,32 --threads 1 --seconds "$raw_seconds"
done

# 2 and 5. One request at a time: Pronto's p50 over HTTP binary minus raw ORT's p50 at batch 1; for resnet18 also the
# same image as JSON (figure 5: JSON / binary, p50 and server CPU per request, the binary run shared with figure 2).
section "2. p50 at concurrency 1, Pronto HTTP binary - raw ORT batch 1; 5. resnet18 HTTP JSON / HTTP binary"
for pair in $(seq "$pairs"); do
  raw_ort "f2-fraud-raw-$pair" 0 latency --model fraud --batch 1 --threads 1 --runs "$p50_requests"
  pronto_load "f2-fraud-pronto-$pair" "fraud-features binary" --model fraud --body benchmarks/bodies/fraud-features.json \
    --transport binary --concurrency 1 --requests "$p50_requests" --warmup 200
  raw_ort "f2-resnet18-raw-$pair" 0 latency --model resnet18 --batch 1 --threads 1 --runs "$resnet_p50_requests"
  pronto_load "f2-resnet18-pronto-$pair" "resnet18 binary" --model resnet18 --body benchmarks/bodies/resnet18.json \
    --transport binary --concurrency 1 --requests "$resnet_p50_requests" --warmup 40
  pronto_load "f5-resnet18-json-$pair" "resnet18 json" --model resnet18 --body benchmarks/bodies/resnet18.json \
    --transport json --concurrency 1 --requests "$resnet_p50_requests" --warmup 40
done

# 3. The server's own cost: the zero-compute identity model at a saturating closed loop (16 in flight, so the thread
# pool does not spin between requests), server CPU per request over the measured run, the three transports in turn.
section "3. server CPU per request, identity, concurrency 16"
for pair in $(seq "$pairs"); do
  for transport in json binary grpc; do
    pronto_load "f3-identity-$transport-$pair" "identity $transport" --model identity --body benchmarks/bodies/identity.json \
      --transport "$transport" --concurrency 16 --requests "$identity_requests" --warmup 500
  done
done

# 4. fraud at 64 in flight over HTTP JSON, the same body to Pronto and to the hand-written endpoint, all on core 0
# (the idle ones wait meanwhile): the endpoint once with one intra-op thread like Pronto, once at ONNX Runtime's
# defaults as its author would leave it (a thread per core, spinning).
section "4. fraud concurrency 64 HTTP JSON, Pronto / naive endpoint"
naive_port=$(free_port)
start_server naive_pid "$results/naive.log" dotnet "$naive" --model "$zoo/fraud/1/model.onnx" --name fraud --port "$naive_port"
wait_ready "$naive_pid" "$naive_port" "$results/naive.log" -X POST -H 'Content-Type: application/json' \
  --data-binary @benchmarks/bodies/fraud-features.json "http://127.0.0.1:$naive_port/v2/models/fraud/infer"
naive_default_port=$(free_port)
start_server naive_default_pid "$results/naive-default.log" env -u IntraOpThreads dotnet "$naive" --model "$zoo/fraud/1/model.onnx" \
  --name fraud --port "$naive_default_port"
wait_ready "$naive_default_pid" "$naive_default_port" "$results/naive-default.log" -X POST -H 'Content-Type: application/json' \
  --data-binary @benchmarks/bodies/fraud-features.json "http://127.0.0.1:$naive_default_port/v2/models/fraud/infer"
for pair in $(seq "$pairs"); do
  pronto_load "f4-fraud-pronto-$pair" "fraud-features pronto" --model fraud --body benchmarks/bodies/fraud-features.json \
    --concurrency 64 --requests "$fraud64_requests" --warmup 200
  load "f4-fraud-naive-$pair" "fraud-features naive" --url "http://127.0.0.1:$naive_port" --server-pid "$naive_pid" \
    --model fraud --body benchmarks/bodies/fraud-features.json --concurrency 64 --requests "$fraud64_requests" --warmup 200
  load "f4-fraud-naive-default-$pair" "fraud-features naive, default threads" --url "http://127.0.0.1:$naive_default_port" \
    --server-pid "$naive_default_pid" --model fraud --body benchmarks/bodies/fraud-features.json --concurrency 64 \
    --requests "$fraud64_requests" --warmup 200
done
stop_server "$naive_default_pid"
stop_server "$naive_pid"
stop_server "$pronto"

# 6. Raw ORT alone on both cores: resnet18's GFLOP/s over the FP32 peak measured in the same process.
section "6. resnet18 GFLOP/s / measured peak, raw ORT 2 threads on cores 0-1 (no server up)"
for pair in $(seq "$pairs"); do
  raw_ort "f6-resnet18-raw-$pair" 0,1 gflops --model resnet18 --batch 1,8 --threads 2 --seconds "$gflops_seconds"
done

echo
echo "## Suite ($mode): $pairs pair(s), $((SECONDS - started)) s$([[ $mode == quick ]] && echo '; quick mode: one pair of small runs, a smoke test, not a measurement')"
echo
echo "$machine; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 "$table" "$results" "$pairs" | tee "$results/table.md"
