#!/usr/bin/env bash
# The price of a system call on this machine, and what it does to the user code after it (docs/benchmarks.md,
# Serving operations: why reading the thread CPU clock on every engine run cost fraud 1.4x its server CPU here).
# Usage: benchmarks/syscall-cost.sh   (pinned to core 0; needs cc)
set -euo pipefail
cd "$(dirname "$0")"
bin=$(mktemp -d)/syscall-cost
trap 'rm -rf "$(dirname "$bin")"' EXIT
cc -O2 -o "$bin" syscall-cost.c
uname -r
for kb in 64 512; do
  for mode in 0 1 2 3; do taskset -c 0 "$bin" "$kb" "$mode"; done
done
