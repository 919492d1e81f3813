#!/usr/bin/env bash
# Generation (issue 13): Pronto's decode loop (continuous batching) against ONNX Runtime GenAI's Generator per request
# (the peer a .NET developer writes), in one process pinned to cores 0-1, on a generated ~100M-parameter decoder in
# GenAI's layout (12 layers, 16 heads x 64; random fixed weights, so weights dominate memory traffic as in real LLMs).
# Usage: benchmarks/generation.sh [Pronto.GenBench options: --layers 12 --heads 16 --head-dim 64 --streams 16
#        --tokens 64 --prompt 32 --pairs 2 --threads 2 --long 384 --budget 64 --warmup 6]; then chunked prefill: 4 streams decode
# while a --long prompt joins, prefilled whole (the default step budget) and in chunks (--budget).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build benchmarks/Pronto.GenBench -c Release -v q -nologo > /dev/null
taskset -c 0,1 dotnet benchmarks/Pronto.GenBench/bin/Release/net10.0/linux-x64/Pronto.GenBench.dll "$@"
