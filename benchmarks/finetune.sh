#!/usr/bin/env bash
# Fine-tuning (issue 14), A and B alternated per pair, ratios from one run:
#  1. `pronto finetune` on TEXTS generated tickets (minilm) and IMAGES of scikit-learn's handwritten digits (resnet18):
#     the command's wall seconds, and its embedding rows/s (report.json) against raw ONNX Runtime (Pronto.RawBench
#     embed) on the same items in the same order and batches (32), same threads (2), both pinned to cores 0-1.
#  2. The tuned models served by `pronto serve` (core 0, one intra-op thread) against their base models, the same
#     request body to both (HTTP binary; minilm 32 in flight, resnet18 4), the load generator on core 1: req/s ratio.
# Results (JSON, logs) in benchmarks/results/finetune-<UTC time>/; the summary table prints last.
# Usage: benchmarks/finetune.sh [pairs=3] [texts=2000] [images=1000] [minilm_requests=4000] [resnet_requests=200]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/lib.sh
pairs=${1:-3} texts=${2:-2000} images=${3:-1000} minilm_requests=${4:-4000} resnet_requests=${5:-200}
build_pronto loadgen rawbench modelgen

results=benchmarks/results/finetune-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results"
work=$(mktemp -d /tmp/pronto-finetune-bench-XXXX)
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bundled_zoo
dotnet "$modelgen" finetune-data "$work/data" "$texts" "$images" > /dev/null
dotnet "$modelgen" body resnet18 "$work/bodies" > /dev/null
echo "machine: $(nproc) cores, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' + uncommitted changes')" | tee "$results/machine.txt"

# 1. finetune (fresh repository per pair, so each run writes version 1) / raw ORT embed.
for pair in $(seq "$pairs"); do
  for job in "tickets minilm $work/data/tickets.csv" "digits resnet18 $work/data/digits"; do
    read -r name base data <<< "$job"
    repo=$work/repo-$pair
    mkdir -p "$repo"
    for model in minilm resnet18; do [[ -e $repo/$model ]] || ln -s "$zoo/$model" "$repo/$model"; done
    start=$EPOCHREALTIME
    taskset -c 0,1 dotnet "$cli" finetune "$name" --base "$base" --data "$data" --model-repository "$repo" > "$results/finetune-$name-$pair.txt"
    python3 -c "import sys; print('{\"wall_seconds\": %.3f}' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$EPOCHREALTIME" > "$results/finetune-$name-$pair.wall.json"
    cp "$repo/$name/1/report.json" "$results/finetune-$name-$pair.report.json"
    taskset -c 0,1 dotnet "$raw" embed --model "$base" --data "$data" --batch 32 --threads 2 --repository "$repo" \
      --json-out "$results/raw-$name-$pair.json" > "$results/raw-$name-$pair.txt" 2>&1 || { cat "$results/raw-$name-$pair.txt" >&2; exit 1; }
    echo "pair $pair $name: $(grep -m1 '^embedding' "$results/finetune-$name-$pair.txt")"
  done
done

# 2. tuned / base through pronto serve (pair 1's tuned models beside the bases).
serve_repo=$work/repo-1
http_port=$(free_port) grpc_port=$(free_port)
Pronto__Onnx__IntraOpThreads=1 Logging__LogLevel__Default=Warning taskset -c 0 dotnet "$cli" serve --model-repository "$serve_repo" \
  --http-port "$http_port" --grpc-port "$grpc_port" > "$results/serve.log" 2>&1 &
server=$!
until curl -sf -o /dev/null "http://127.0.0.1:$http_port/v2/models/digits/ready"; do
  kill -0 "$server" 2> /dev/null || { echo "pronto serve exited:" >&2; tail -5 "$results/serve.log" >&2; exit 1; }
  sleep 0.5
done
load() {
  local out=$1
  shift
  taskset -c 1 dotnet "$gen" --url "http://127.0.0.1:$http_port" --server-pid "$server" --transport binary \
    --check-repository "$serve_repo" --check-every 100 --json-out "$results/$out.jsonl" "$@" > /dev/null 2>> "$results/loadgen.log"
}
for pair in $(seq "$pairs"); do
  for model in minilm tickets; do
    load "serve-$model-$pair" --model "$model" --body benchmarks/bodies/minilm.json --concurrency 32 --requests "$minilm_requests" --warmup 500
  done
  for model in resnet18 digits; do
    load "serve-$model-$pair" --model "$model" --body "$work/bodies/resnet18.json" --concurrency 4 --requests "$resnet_requests" --warmup 40
  done
done

python3 - "$results" "$pairs" <<'EOF'
import json, statistics, sys
results, pairs = sys.argv[1], int(sys.argv[2])
def load(path):
    with open(f"{results}/{path}") as f:
        return json.load(f) if path.endswith(".json") else [json.loads(l) for l in f if l.strip()][-1]
def spread(values):
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"
print("\n| fine-tune | examples | command wall s (median) | training s | held-out accuracy | embedding rows/s | raw ORT rows/s | pronto / raw (median, min-max) |")
print("|---|---|---|---|---|---|---|---|")
for name, base in (("tickets", "minilm"), ("digits", "resnet18")):
    reports = [load(f"finetune-{name}-{p}.report.json") for p in range(1, pairs + 1)]
    walls = [load(f"finetune-{name}-{p}.wall.json")["wall_seconds"] for p in range(1, pairs + 1)]
    raws = [load(f"raw-{name}-{p}.json")[0]["rows_per_second"] for p in range(1, pairs + 1)]
    ours = [r["embedding_rows_per_second"] for r in reports]
    n = reports[0]["train_examples"] + reports[0]["test_examples"]
    print(f"| {name} on {base} | {n} | {statistics.median(walls):.1f} | {statistics.median(r['training_seconds'] for r in reports):.2f} | "
          f"{reports[0]['accuracy']:.4f} | {statistics.median(ours):.1f} | {statistics.median(raws):.1f} | {spread([o / r for o, r in zip(ours, raws)])} |")
print("\n| served | base req/s | tuned req/s | tuned / base (median, min-max) | p50 us base / tuned | errors |")
print("|---|---|---|---|---|---|")
for tuned, base in (("tickets", "minilm"), ("digits", "resnet18")):
    b = [load(f"serve-{base}-{p}.jsonl") for p in range(1, pairs + 1)]
    t = [load(f"serve-{tuned}-{p}.jsonl") for p in range(1, pairs + 1)]
    print(f"| {tuned} vs {base} | {statistics.median(x['throughput'] for x in b):.1f} | {statistics.median(x['throughput'] for x in t):.1f} | "
          f"{spread([y['throughput'] / x['throughput'] for x, y in zip(b, t)])} | {statistics.median(x['p50_us'] for x in b):.0f} / "
          f"{statistics.median(x['p50_us'] for x in t):.0f} | {sum(x['errors'] for x in b + t)} |")
EOF
