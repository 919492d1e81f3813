#!/usr/bin/env bash
# Throughput of `pronto batch` against raw ONNX Runtime in-process (IModelInstance.Run on pre-built tensors), one
# run, both pinned to the same cores. Raw ORT is measured in both thread layouts `pronto batch` can use (one batch
# at a time on an intra-op pool of all the cores, and one single-threaded batch per core at once, which is what
# `pronto batch` does by default), at three batch sizes each: its best is the baseline. Spinning off everywhere.
# Each model also runs as deployed for batch work (docs/batch.md, JIT): a self-contained composite ReadyToRun publish
# (framework included, so generic code over Pronto's types is precompiled too; ~1.5 min, ~450 MB) run with
# DOTNET_TieredCompilation=0, which cuts the job's JIT work (the job's summary prints its JIT seconds).
# Issue 17's fair ceiling for every row: (a) raw ORT at its best layout plus (b) ParquetSharp (the job's library)
# reading the same input and writing an output of the row's shape and codec with no model, at its best (Pronto.BatchBench
# io: arrays reused, physical reads and writes); the job's CPU-s per 1,000 rows over (a + b) is the "fair" column
# (issue 17's target <= 1.15). DuckDB's I/O for the all-columns shape is printed beside it for reference.
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
dotnet publish src/Pronto.Cli -c Release --self-contained true -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true \
  -o "$work/r2r" -v q -nologo > /dev/null
deployed="env DOTNET_TieredCompilation=0 $work/r2r/pronto"
dotnet "$bench" gen-fraud "$work/transactions.parquet" "$rows"
dotnet "$bench" gen-text "$work/tickets.jsonl" "$texts"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); pinned to cores $cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
ncores=$(taskset -c "$cores" nproc)
cpu_of() { sed -E 's/.*, ([0-9.eE+-]+) CPU-s per 1,000 rows.*/\1/'; }
# (b), the I/O alone: io IN CODEC SHAPE prints ParquetSharp's CPU-s per 1,000 rows for that shape.
io() {
  local line
  line=$(taskset -c "$cores" dotnet "$bench" io parquetsharp "$1" "$work/io.parquet" "$2" "$3")
  echo "I/O alone (no model): $line" >&2
  echo "$line" | cpu_of
}
echo "I/O alone (no model), for reference: $(taskset -c "$cores" dotnet "$bench" io duckdb "$work/transactions.parquet" "$work/io-dk.parquet" snappy)"
echo
echo "| model | input -> output | rows | raw ORT best: batch x runs | raw ORT rows/s | raw ORT, 1 run at a time | pronto batch rows/s | ratio | ratio to 1 run at a time | CPU-s / 1,000 rows: pronto batch (raw ORT best, I/O alone) | job CPU / (raw ORT + I/O) | JIT during the job |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
# raw MODEL N: raw ORT's best layout for the model (sets raw_rate, raw_one, raw_shape, raw_cpu).
raw() {
  local one many one_rate
  # "raw MODEL best: batch B x R runs, C CPU-s per 1,000 rows, N rows/s": one run at a time, then one single-threaded run per core.
  one=$(taskset -c "$cores" dotnet "$bench" raw "$1" "$2" 1 | grep best)
  many=$(taskset -c "$cores" dotnet "$bench" raw "$1" "$2" "$ncores" | grep best)
  raw_one=$(echo "$one" | sed -E 's/.*, ([0-9]+) rows\/s/\1/')
  raw_rate=$(echo "$many" | sed -E 's/.*, ([0-9]+) rows\/s/\1/')
  raw_shape=$(echo "$many" | sed -E 's/.*batch ([0-9]+ x [0-9]+) runs.*/\1/')
  raw_cpu=$(echo "$many" | sed -E 's/.*runs, ([0-9.]+) CPU-s.*/\1/')
  if [ "$raw_one" -gt "$raw_rate" ]; then
    raw_rate=$raw_one
    raw_shape=$(echo "$one" | sed -E 's/.*batch ([0-9]+ x [0-9]+) runs.*/\1/')
    raw_cpu=$(echo "$one" | sed -E 's/.*runs, ([0-9.]+) CPU-s.*/\1/')
  fi
}
# run PRONTO MODEL INPUT OUTPUT ROWS SHAPE IO_CPU ARGS...: PRONTO is the command line that starts pronto; raw() ran before.
run() {
  local pronto=$1 model=$2 input=$3 output=$4 n=$5 shape=$6 iocpu=$7; shift 7
  local summary rate cpu jit
  rm -rf "$output" "$output".*
  summary=$(taskset -c "$cores" $pronto batch "$model" --input "$input" --output "$output" "$@" | grep '^wall')
  rate=$(echo "$summary" | sed -E 's/.*s, ([0-9]+) rows\/s.*/\1/')
  cpu=$(echo "$summary" | sed -E 's/.*rows\/s, ([0-9.]+) CPU-s.*/\1/')
  jit=$(echo "$summary" | sed -E 's/.*JIT ([0-9.]+) s, ([0-9]+) methods.*/\1 s, \2 methods/')
  echo "| $model | $shape | $n | $raw_shape | $raw_rate | $raw_one | $rate | $(awk "BEGIN { printf \"%.2f\", $rate / $raw_rate }") | $(awk "BEGIN { printf \"%.2f\", $rate / $raw_one }") | $cpu ($raw_cpu, $iocpu) | $(awk "BEGIN { printf \"%.2f\", $cpu / ($raw_cpu + $iocpu) }") | $jit |"
}
in=$work/transactions.parquet
raw fraud "$rows"
for codec in snappy zstd none; do
  io_cpu=$(io "$in" $codec all)
  label="Parquet -> Parquet (all columns kept$([ $codec = snappy ] || echo ", --codec $codec"))"
  run "dotnet $cli" fraud "$in" "$work/fraud-scored.parquet" "$rows" "$label" "$io_cpu" --codec $codec
  run "$deployed" fraud "$in" "$work/fraud-scored.parquet" "$rows" "$label, ReadyToRun, no tiering" "$io_cpu" --codec $codec
done
io_cpu=$(io "$in" snappy id)
run "dotnet $cli" fraud "$in" "$work/fraud-ids.parquet" "$rows" "Parquet -> Parquet (--keep-columns id)" "$io_cpu" --keep-columns id
run "$deployed" fraud "$in" "$work/fraud-ids.parquet" "$rows" "Parquet -> Parquet (--keep-columns id), ReadyToRun, no tiering" "$io_cpu" --keep-columns id
raw minilm "$texts"
io_cpu=$(io "$work/tickets.jsonl" snappy all)
run "dotnet $cli" minilm "$work/tickets.jsonl" "$work/embeddings.parquet" "$texts" "JSONL -> Parquet (--column text)" "$io_cpu" --column text
run "$deployed" minilm "$work/tickets.jsonl" "$work/embeddings.parquet" "$texts" "JSONL -> Parquet (--column text), ReadyToRun, no tiering" "$io_cpu" --column text
