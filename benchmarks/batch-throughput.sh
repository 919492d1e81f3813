#!/usr/bin/env bash
# Throughput of `pronto batch` against raw ONNX Runtime in-process (IModelInstance.Run on pre-built tensors), one
# run, both pinned to the same cores. Raw ORT is measured in both thread layouts `pronto batch` can use (one batch
# at a time on an intra-op pool of all the cores, and one single-threaded batch per core at once, which is what
# `pronto batch` does by default), at three batch sizes each: its best is the baseline. Spinning off everywhere.
# Each model also runs as deployed for batch work (docs/batch.md, JIT): a self-contained composite ReadyToRun publish
# (framework included, so generic code over Pronto's types is precompiled too; ~1.5 min, ~450 MB) run with
# DOTNET_TieredCompilation=0, which cuts the job's JIT work (the job's summary prints its JIT seconds).
# Issue 17's fair ceiling for the fraud rows that keep every column: (a) raw ORT at its best layout plus (b) each I/O
# candidate reading the input and writing an output of the job's shape with no model (Pronto.BatchBench io:
# ParquetSharp, DuckDB); the job's CPU-s per 1,000 rows over (a + b) is the "fair" column (issue 17's target <= 1.15).
# Then the DuckDB candidate with the model (Pronto.BatchBench sql-score: COPY (SELECT *, pronto_predict(...)) ...).
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
# (b): the I/O alone, Snappy like pronto batch's Parquet output.
cpu_of() { sed -E 's/.*, ([0-9.eE+-]+) CPU-s per 1,000 rows.*/\1/'; }
io_ps=$(taskset -c "$cores" dotnet "$bench" io parquetsharp "$work/transactions.parquet" "$work/io-ps.parquet" snappy)
io_dk=$(taskset -c "$cores" dotnet "$bench" io duckdb "$work/transactions.parquet" "$work/io-dk.parquet" snappy)
io_ps_cpu=$(echo "$io_ps" | cpu_of)
io_dk_cpu=$(echo "$io_dk" | cpu_of)
echo "I/O alone (no model): $io_ps"
echo "I/O alone (no model): $io_dk"
echo
echo "| model | input -> output | rows | raw ORT best: batch x runs | raw ORT rows/s | raw ORT, 1 run at a time | pronto batch rows/s | ratio | ratio to 1 run at a time | CPU-s / 1,000 rows: pronto batch (raw ORT best) | job CPU / (raw ORT + I/O): ParquetSharp, DuckDB | JIT during the job |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
fair=no
# run PRONTO MODEL INPUT OUTPUT ROWS SHAPE ARGS...: PRONTO is the command line that starts pronto.
run() {
  local pronto=$1 model=$2 input=$3 output=$4 n=$5 shape=$6; shift 6
  local one many best shape_best one_rate rawcpu summary rate cpu
  # "raw MODEL best: batch B x R runs, C CPU-s per 1,000 rows, N rows/s": one run at a time, then one single-threaded run per core.
  one=$(taskset -c "$cores" dotnet "$bench" raw "$model" "$n" 1 | grep best)
  many=$(taskset -c "$cores" dotnet "$bench" raw "$model" "$n" "$ncores" | grep best)
  one_rate=$(echo "$one" | sed -E 's/.*, ([0-9]+) rows\/s/\1/')
  best=$(echo "$many" | sed -E 's/.*, ([0-9]+) rows\/s/\1/')
  shape_best=$(echo "$many" | sed -E 's/.*batch ([0-9]+ x [0-9]+) runs.*/\1/')
  rawcpu=$(echo "$many" | sed -E 's/.*runs, ([0-9.]+) CPU-s.*/\1/')
  if [ "$one_rate" -gt "$best" ]; then
    best=$one_rate
    shape_best=$(echo "$one" | sed -E 's/.*batch ([0-9]+ x [0-9]+) runs.*/\1/')
    rawcpu=$(echo "$one" | sed -E 's/.*runs, ([0-9.]+) CPU-s.*/\1/')
  fi
  rm -rf "$output" "$output".*
  summary=$(taskset -c "$cores" $pronto batch "$model" --input "$input" --output "$output" "$@" | grep '^wall')
  rate=$(echo "$summary" | sed -E 's/.*s, ([0-9]+) rows\/s.*/\1/')
  cpu=$(echo "$summary" | sed -E 's/.*rows\/s, ([0-9.]+) CPU-s.*/\1/')
  jit=$(echo "$summary" | sed -E 's/.*JIT ([0-9.]+) s, ([0-9]+) methods.*/\1 s, \2 methods/')
  local fairness=n/a
  if [ "$fair" = yes ]; then
    fairness=$(awk "BEGIN { printf \"%.2f, %.2f\", $cpu / ($rawcpu + $io_ps_cpu), $cpu / ($rawcpu + $io_dk_cpu) }")
  fi
  raw_best_rate=$best
  raw_best_cpu=$rawcpu
  echo "| $model | $shape | $n | $shape_best | $best | $one_rate | $rate | $(awk "BEGIN { printf \"%.2f\", $rate / $best }") | $(awk "BEGIN { printf \"%.2f\", $rate / $one_rate }") | $cpu ($rawcpu) | $fairness | $jit |"
}
fair=yes
run "dotnet $cli" fraud "$work/transactions.parquet" "$work/fraud-scored.parquet" "$rows" "Parquet -> Parquet (all columns kept)"
run "$deployed" fraud "$work/transactions.parquet" "$work/fraud-scored.parquet" "$rows" "Parquet -> Parquet (all columns kept), ReadyToRun, no tiering"
fair_raw_rate=$raw_best_rate
fair_raw_cpu=$raw_best_cpu
fair=no
run "dotnet $cli" fraud "$work/transactions.parquet" "$work/fraud-ids" "$rows" "Parquet -> Parquet parts (--keep-columns id)" --keep-columns id
run "$deployed" fraud "$work/transactions.parquet" "$work/fraud-ids" "$rows" "Parquet -> Parquet parts (--keep-columns id), ReadyToRun, no tiering" --keep-columns id
run "dotnet $cli" minilm "$work/tickets.jsonl" "$work/embeddings.parquet" "$texts" "JSONL -> Parquet (--column text)" --column text
run "$deployed" minilm "$work/tickets.jsonl" "$work/embeddings.parquet" "$texts" "JSONL -> Parquet (--column text), ReadyToRun, no tiering" --column text
# The DuckDB candidate with the model (every input column plus one probability; DuckDB's threads), against raw ORT's best.
sql=$(taskset -c "$cores" dotnet "$bench" sql-score "$work/transactions.parquet" "$work/sql-scored.parquet" snappy)
echo
echo "DuckDB candidate with the model: $sql"
echo "  rows/s against raw ORT's best: $(awk "BEGIN { printf \"%.2f\", $(echo "$sql" | sed -E 's/.*s, ([0-9]+) rows\/s.*/\1/') / $fair_raw_rate }"); CPU / (raw ORT + DuckDB I/O): $(awk "BEGIN { printf \"%.2f\", $(echo "$sql" | cpu_of) / ($fair_raw_cpu + $io_dk_cpu) }")"
