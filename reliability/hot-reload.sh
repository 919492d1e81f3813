#!/usr/bin/env bash
# Hot reload under load (issue 16, Triton's L0_lifecycle): `pronto serve` over a copy of the bundled fraud model,
# the load generator at CONCURRENCY on /v2/models/fraud/infer (REST JSON) while RELOADS new versions are written and
# loaded through the repository API, one at a time (version policy latest: each load swaps the new version in, then
# retires the old after its in-flight requests). Then the same load while the model is unloaded and loaded again,
# where 503 (model unavailable) is allowed only between an unload and its load. Server pinned to core 0, load
# generator to core 1. Reports per phase: requests, failed, by status, reloads done.
# Usage: reliability/hot-reload.sh [requests=40000] [concurrency=16] [reloads=20]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-40000}
concurrency=${2:-16}
reloads=${3:-20}
source benchmarks/lib.sh
build_pronto loadgen
out=$(mktemp -d)
server=
load=
trap '[ -n "$load" ] && kill $load 2>/dev/null; [ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
bundled_zoo  # prepares the bundled repository
mkdir -p "$out/repo" && cp -r "$zoo/fraud" "$out/repo/fraud"
auth='Authorization: Bearer hot-reload'
Logging__LogLevel__Default=Warning taskset -c 0 dotnet "$cli" serve --model-repository "$out/repo" --http-port 18200 --grpc-port 18201 \
  --enable-repository-api --admin-key hot-reload > "$out/serve.log" 2>&1 &
server=$!
wait_ready 18200
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server on core 0, load generator on core 1; fraud, concurrency $concurrency"
echo "| phase | requests | failed | first failure | repository calls |"
echo "|---|---|---|---|---|"
phase() {  # $1 label, $2 action per round
  rm -f "$out/run.json"
  taskset -c 1 dotnet "$gen" --url http://127.0.0.1:18200 --model fraud --body benchmarks/bodies/fraud.json \
    --requests "$requests" --concurrency "$concurrency" --warmup 200 --label "$1" --json-out "$out/run.json" > "$out/gen.log" 2>&1 &
  load=$!
  sleep 1
  local calls=0
  for ((r = 1; r <= reloads; r++)); do
    kill -0 $load 2>/dev/null || break
    "$2" "$r"
    calls=$((calls + 1))
    sleep 0.2
  done
  wait $load || true; load=
  python3 - "$out/run.json" "$1" "$calls" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(f"| {sys.argv[2]} | {r['requests']} | {r['errors']} | {r.get('first_error') or '-'} | {sys.argv[3]} |")
PY
}
version=1
new_version() {
  version=$((version + 1))
  cp -r "$out/repo/fraud/1" "$out/repo/fraud/.v$version" && mv "$out/repo/fraud/.v$version" "$out/repo/fraud/$version"
  curl -sf -X POST localhost:18200/v2/repository/models/fraud/load -H "$auth" > /dev/null
}
bounce() {
  curl -sf -X POST localhost:18200/v2/repository/models/fraud/unload -H "$auth" > /dev/null
  curl -sf -X POST localhost:18200/v2/repository/models/fraud/load -H "$auth" > /dev/null
}
phase "load a new version" new_version
phase "unload, then load" bounce
echo "versions served at the end: $(curl -sf localhost:18200/v2/models/fraud | python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"])')"
