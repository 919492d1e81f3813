#!/usr/bin/env bash
# Memory growth over reloads (issue 16 item 2, Triton's L0_memory_growth): `pronto serve` with minilm, then CYCLES
# unload/load cycles through the repository API, one embedding request after each load, with the server's resident
# set (VmRSS) read every STEP cycles. Run once per allocator setting given (default: glibc's own, then
# MALLOC_ARENA_MAX=2), so ONNX Runtime's arena, glibc's per-thread arenas and Pronto's own objects can be told apart.
# Settings: SETTINGS="default MALLOC_ARENA_MAX=2" (the default list; each word is one run, "default" = no variable).
# Usage: reliability/reload-rss.sh [cycles=60] [step=10]
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-60}
step=${2:-10}
source benchmarks/lib.sh
build_pronto
out=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' /proc/$server/status; }
body='{"model":"minilm","input":["the quick brown fox jumps over the lazy dog"]}'
auth='Authorization: Bearer reload-rss'
for setting in ${SETTINGS:-default MALLOC_ARENA_MAX=2}; do
  [ -z "$setting" ] && continue
  env_args=(); [ "$setting" != default ] && env_args=("$setting")
  env "${env_args[@]}" Logging__LogLevel__Default=Warning dotnet "$cli" serve --http-port 18100 --grpc-port 18101 \
    --enable-repository-api --admin-key reload-rss > "$out/serve.log" 2>&1 &
  server=$!
  wait_ready 18100
  curl -sf localhost:18100/v1/embeddings -H 'Content-Type: application/json' -d "$body" > /dev/null
  line="| $setting | $(rss)"
  for ((i = 1; i <= cycles; i++)); do
    curl -sf -X POST localhost:18100/v2/repository/models/minilm/unload -H "$auth" > /dev/null
    curl -sf -X POST localhost:18100/v2/repository/models/minilm/load -H "$auth" > /dev/null
    curl -sf localhost:18100/v1/embeddings -H 'Content-Type: application/json' -d "$body" > /dev/null
    (( i % step == 0 )) && line="$line | $(rss)"
  done
  echo "$line |"
  kill $server; wait $server 2>/dev/null || true; server=
done
