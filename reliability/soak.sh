#!/usr/bin/env bash
# Soak (issue 16, Triton's L0_memory_growth over time): `pronto serve` with the bundled models for MINUTES under
# CONCURRENCY requests in flight, mixed: half on fraud and a third on minilm (REST JSON, the load generator in
# rounds) and the rest on resnet18 (binary PNGs with curl). The server's resident set (VmRSS) is read every 30 s.
# Reports requests and failures per model, RSS at the first minute, at the end and at its highest, and the growth
# after the first minute (issue 16's bound: under 25 MB). Server pinned to core 0, load on core 1.
# Then, with the load stopped, RSS is read every 15 s for AFTER seconds (an allocator's high-water mark settles, a leak
# does not).
# Usage: reliability/soak.sh [minutes=30] [concurrency=20] [after_s=120]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
concurrency=${2:-20}
after=${3:-120}
dotnet build src/Pronto.Cli -c Release -v q -nologo > /dev/null
dotnet build benchmarks/Pronto.LoadGen -c Release -v q -nologo > /dev/null
cli=src/Pronto.Cli/bin/Release/net10.0/linux-x64/pronto.dll
gen=benchmarks/Pronto.LoadGen/bin/Release/net10.0/linux-x64/Pronto.LoadGen.dll
out=$(mktemp -d)
server=
workers=()
trap 'for w in "${workers[@]}"; do kill $w 2>/dev/null; done; [ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
fraud_c=$((concurrency / 2)); minilm_c=$((concurrency / 3)); image_c=$((concurrency - fraud_c - minilm_c))
dotnet "$cli" sample resnet18 --output "$out/images" > /dev/null
python3 - "$out/images/image-0000.png" "$out/image.bin" <<'PY'
import json, struct, sys
png = open(sys.argv[1], "rb").read()
header = json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": len(png) + 4}}]}).encode()
open(sys.argv[2], "wb").write(header + struct.pack("<I", len(png)) + png)
open(sys.argv[2] + ".length", "w").write(str(len(header)))
PY
Logging__LogLevel__Default=Warning taskset -c 0 dotnet "$cli" serve --http-port 18300 --grpc-port 18301 > "$out/serve.log" 2>&1 &
server=$!
until curl -sf localhost:18300/v2/health/ready > /dev/null; do sleep 0.5; done
start=$(date +%s)
deadline=$((start + minutes * 60))
rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' /proc/$server/status; }
rounds() {  # $1 model, $2 body, $3 concurrency, $4 requests per round
  while [ "$(date +%s)" -lt $deadline ]; do
    taskset -c 1 dotnet "$gen" --url http://127.0.0.1:18300 --model "$1" --body "$2" --requests "$4" \
      --concurrency "$3" --warmup 0 --json-out "$out/$1.jsonl" > /dev/null 2>&1 || true
  done
}
images() {  # one client: count answers by status
  local length; length=$(cat "$out/image.bin.length")
  while [ "$(date +%s)" -lt $deadline ]; do
    taskset -c 1 curl -s -o /dev/null -w '%{http_code}\n' localhost:18300/v2/models/resnet18/infer \
      -H "Inference-Header-Content-Length: $length" -H 'Content-Type: application/octet-stream' \
      --data-binary "@$out/image.bin" >> "$out/images-$1.txt" || echo 000 >> "$out/images-$1.txt"
  done
}
rounds fraud benchmarks/bodies/fraud.json "$fraud_c" 20000 & workers+=($!)
rounds minilm benchmarks/bodies/minilm.json "$minilm_c" 2000 & workers+=($!)
for ((i = 0; i < image_c; i++)); do images $i & workers+=($!); done
while [ "$(date +%s)" -lt $deadline ]; do
  echo "$(( $(date +%s) - start )) $(rss)" >> "$out/rss.txt"
  sleep 30
done
for w in "${workers[@]}"; do wait $w || true; done; workers=()
echo "$(( $(date +%s) - start )) $(rss)" >> "$out/rss.txt"
stopped=$(date +%s)
while [ $(( $(date +%s) - stopped )) -lt "$after" ]; do
  sleep 15
  echo "$(( $(date +%s) - start )) $(rss)" >> "$out/rss-after.txt"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $minutes min, concurrency $concurrency (fraud $fraud_c, minilm $minilm_c, resnet18 $image_c)"
python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
print("| model | requests | failed |")
print("|---|---:|---:|")
for model in ("fraud", "minilm"):
    runs = [json.loads(l) for l in open(os.path.join(out, f"{model}.jsonl"))] if os.path.exists(os.path.join(out, f"{model}.jsonl")) else []
    errors = [r["first_error"] for r in runs if r["errors"]]
    print(f"| {model} | {sum(r['requests'] for r in runs)} | {sum(r['errors'] for r in runs)} |" + (f" first: {errors[0]}" if errors else ""))
codes = [c.strip() for f in glob.glob(os.path.join(out, "images-*.txt")) for c in open(f)]
failed = [c for c in codes if c != "200"]
print(f"| resnet18 | {len(codes)} | {len(failed)} |" + (f" statuses: {', '.join(f'{c} x{failed.count(c)}' for c in sorted(set(failed)))}" if failed else ""))
samples = [tuple(map(int, l.split())) for l in open(os.path.join(out, "rss.txt"))]
first = next((m for t, m in samples if t >= 60), samples[-1][1])
print(f"RSS MB: start {samples[0][1]}, at 1 min {first}, end {samples[-1][1]}, highest after 1 min {max(m for t, m in samples if t >= 60) if any(t >= 60 for t, _ in samples) else first}; growth after the first minute {samples[-1][1] - first:+d} MB")
print("samples (s MB): " + ", ".join(f"{t} {m}" for t, m in samples))
after_path = os.path.join(out, "rss-after.txt")
if os.path.exists(after_path):
    idle = [tuple(map(int, l.split())) for l in open(after_path)]
    print(f"after the load stopped (s MB): " + ", ".join(f"{t} {m}" for t, m in idle) + f"; last {idle[-1][1]}, growth after the first minute {idle[-1][1] - first:+d} MB")
PY
