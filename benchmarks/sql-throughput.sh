#!/usr/bin/env bash
# SQL inference throughput: pronto_predict('fraud') over 1,000,000 rows and pronto_embed('minilm') over 20,000
# texts inside DuckDB, against raw ONNX Runtime runs at their best batch size. Pinned to cores 0-1.
# Usage: benchmarks/sql-throughput.sh [fraudRows=1000000] [texts=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build benchmarks/Pronto.SqlBench -c Release -v q -nologo > /dev/null
taskset -c 0,1 dotnet benchmarks/Pronto.SqlBench/bin/Release/net10.0/linux-x64/Pronto.SqlBench.dll "${1:-1000000}" "${2:-20000}"
