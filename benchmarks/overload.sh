#!/usr/bin/env bash
# Overload shedding (issue 16 item 3): minilm through `pronto serve` (REST JSON) at a concurrency far past what the
# server drains, once with no queue-wait budget (Triton's behaviour: every request admitted and waits) and once with
# the default budget (2 s, or the one given). Server pinned to core 0, load generator to core 1.
# Reports per run: refused (503) requests, p99 of the admitted requests, p99 of the refusals (as the client sees them),
# answered req/s, and the server's own mean time per refusal (statistics extension: from the request reaching the
# model to its 503; an admission refusal takes microseconds, one that waited out its budget takes the budget).
# Closed loop by default (concurrency clients that resend at once, ignoring Retry-After); with rate_per_s, open loop
# instead: Poisson arrivals at that rate whatever the answers (pick one past what the server drains to overload it).
# Usage: benchmarks/overload.sh [requests=3000] [concurrency=256] [budget_ms=2000] [rate_per_s]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-3000}
concurrency=${2:-256}
budget=${3:-2000}
rate=${4:-}
if [ -n "$rate" ]; then
  loop=(--rate "$rate" --duration "$(python3 -c "print($requests / $rate)")")
  shape="open loop at $rate req/s"
else
  loop=(--requests "$requests" --concurrency "$concurrency")
  shape="concurrency $concurrency"
fi
source benchmarks/lib.sh
build_pronto loadgen
out=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server on core 0, load generator on core 1; minilm, $shape, $requests requests"
echo "| queue-wait budget | requests | refused (503) | admitted p99 ms | refusal p99 ms | answered req/s | server ms per refusal |"
echo "|---|---|---|---|---|---|---|"
for b in 0 "$budget"; do
  Logging__LogLevel__Default=Warning taskset -c 0 dotnet "$cli" serve --http-port 18000 --grpc-port 18001 --queue-wait-budget-ms "$b" > "$out/serve-$b.log" 2>&1 &
  server=$!
  wait_ready 18000
  taskset -c 1 dotnet "$gen" --url http://127.0.0.1:18000 --model minilm --body benchmarks/bodies/minilm.json \
    "${loop[@]}" --warmup 200 --label "budget $b" --json-out "$out/run-$b.json" > /dev/null 2>&1 || true  # refusals make it exit non-zero
  curl -s localhost:18000/v2/models/minilm/stats > "$out/stats-$b.json"
  kill $server; wait $server 2>/dev/null || true; server=
  python3 - "$out/run-$b.json" "$b" "$out/stats-$b.json" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
fail = json.load(open(sys.argv[3]))["model_stats"][0]["inference_stats"]["fail"]
server_ms = "-" if fail["count"] == 0 else f"{fail['ns'] / fail['count'] / 1e6:.1f}"
ms = lambda v: "-" if v is None else f"{v / 1000:.0f}"
label = "none (0)" if sys.argv[2] == "0" else f"{sys.argv[2]} ms"
print(f"| {label} | {r['requests']} | {r['errors']} | {ms(r['ok_p99_us'])} | {ms(r['error_p99_us'])} | {(r['requests'] - r['errors']) / r['seconds']:.0f} | {server_ms} |")
PY
done
