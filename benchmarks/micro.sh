#!/usr/bin/env bash
# Hot-path micro-benchmarks (BenchmarkDotNet, allocations included, Pronto.MicroBench): the REST JSON codec, the
# binary tensor extension, the dynamic batcher's concatenate/split, minilm tokenization, OrtValue conversion.
# Usage: benchmarks/micro.sh [quick|full] [filter='*']
#   quick: --job short (3 iterations each; every benchmark in a few minutes, indicative times)
#   full:  BenchmarkDotNet's default job (runs until the statistics settle; much longer)
# Results: BenchmarkDotNet.Artifacts/results/, a GitHub markdown table (*-report-github.md), CSV and HTML per class
# (BenchmarkDotNet's default exporters).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-quick}
filter=${2:-*}
case "$mode" in
  quick) job=(--job short) ;;
  full) job=() ;;
  *) echo "usage: $0 [quick|full] [filter]" >&2; exit 2 ;;
esac
dotnet run -c Release --project benchmarks/Pronto.MicroBench -- \
  --filter "$filter" "${job[@]}" --artifacts BenchmarkDotNet.Artifacts
