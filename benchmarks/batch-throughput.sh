#!/usr/bin/env bash
# Throughput of `pronto batch` against raw ONNX Runtime in-process (IModelInstance.Run on pre-built tensors, at
# its best batch size), one run, both pinned to the same cores with the same ORT threads (the default: one
# shared intra-op pool sized to the cores the process may use, spinning off).
# Usage: benchmarks/batch-throughput.sh [fraud_rows=1000000] [texts=20000]    (CORES=0-1 to choose the cores)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
texts=${2:-20000}
cores=${CORES:-0-$(($(nproc) - 1))}
dotnet build src/Pronto.Cli -c Release -v q -nologo > /dev/null
dotnet build benchmarks/Pronto.BatchBench -c Release -v q -nologo > /dev/null
cli=src/Pronto.Cli/bin/Release/net10.0/linux-x64/pronto.dll
bench=benchmarks/Pronto.BatchBench/bin/Release/net10.0/linux-x64/Pronto.BatchBench.dll
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet "$bench" gen-fraud "$work/transactions.parquet" "$rows"
dotnet "$bench" gen-text "$work/tickets.jsonl" "$texts"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); pinned to cores $cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | input -> output | rows | raw ORT best batch | raw ORT rows/s | pronto batch rows/s | ratio | CPU-s / 1,000 rows |"
echo "|---|---|---|---|---|---|---|---|"
run() {
  local model=$1 input=$2 output=$3 n=$4 shape=$5; shift 5
  local raw best size rate cpu
  raw=$(taskset -c "$cores" dotnet "$bench" raw "$model" "$n" | grep best)
  size=$(echo "$raw" | sed -E 's/.*batch ([0-9]+),.*/\1/')
  best=$(echo "$raw" | sed -E 's/.*, ([0-9]+) rows\/s/\1/')
  summary=$(taskset -c "$cores" dotnet "$cli" batch "$model" --input "$input" --output "$output" "$@" | grep '^wall')
  rate=$(echo "$summary" | sed -E 's/.*s, ([0-9]+) rows\/s.*/\1/')
  cpu=$(echo "$summary" | sed -E 's/.*rows\/s, ([0-9.]+) CPU-s.*/\1/')
  echo "| $model | $shape | $n | $size | $best | $rate | $(awk "BEGIN { printf \"%.2f\", $rate / $best }") | $cpu |"
}
run fraud "$work/transactions.parquet" "$work/fraud-scored.parquet" "$rows" "Parquet -> Parquet (all columns kept)"
run fraud "$work/transactions.parquet" "$work/fraud-ids" "$rows" "Parquet -> Parquet parts (--keep-columns id)" --keep-columns id
run minilm "$work/tickets.jsonl" "$work/embeddings.parquet" "$texts" "JSONL -> Parquet (--column text)" --column text
