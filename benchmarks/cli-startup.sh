#!/usr/bin/env bash
# Wall time of one CLI command (default `models list`) through the README's old alias (`dotnet run`, which checks the
# build first) and through the executable scripts/install-pronto publishes: one warm-up each, then RUNS runs of each,
# alternating, and the median. Usage: benchmarks/cli-startup.sh [runs=5] [command...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
cmd=("$@")
[ ${#cmd[@]} -gt 0 ] || cmd=(models list)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/install-pronto --framework-dependent "$work/bin" > /dev/null
dotnet build src/Pronto.Cli -c Release -v q -nologo > /dev/null
# seconds COMMAND...: wall seconds of one run, output discarded (a failed run stops the script).
seconds() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
run=(dotnet run --project src/Pronto.Cli -c Release --)
seconds "${run[@]}" "${cmd[@]}" > /dev/null
seconds "$work/bin/pronto" "${cmd[@]}" > /dev/null
for _ in $(seq "$runs"); do
  echo "run $(seconds "${run[@]}" "${cmd[@]}")" >> "$work/times"
  echo "exe $(seconds "$work/bin/pronto" "${cmd[@]}")" >> "$work/times"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| pronto ${cmd[*]} | runs | median s | min s | max s |"
echo "|---|---|---|---|---|"
for kind in run exe; do
  label=$([ $kind = run ] && echo "dotnet run --project src/Pronto.Cli -c Release --" || echo "published executable (scripts/install-pronto --framework-dependent)")
  values=$(awk -v k=$kind '$1 == k { print $2 }' "$work/times")
  printf '| %s | %s | %.2f | %.2f | %.2f |\n' "$label" "$runs" "$(echo "$values" | median)" "$(echo "$values" | sort -g | head -1)" "$(echo "$values" | sort -g | tail -1)"
done
