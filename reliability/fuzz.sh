#!/usr/bin/env bash
# Long run of the parser fuzzing (issue 16): tests/Pronto.Server.Tests/Fuzzing/ParserFuzz.cs mutates valid inputs of
# the OIP v2 JSON request reader, the binary tensor reader, the config.pbtxt reader and the gRPC ModelInfer decoder,
# in process. Every input must be accepted or refused with a client error; anything else is a crash (its input is
# printed in base64). CI runs 2,500 per parser with seed 16; this runs INPUTS in all (split over the four parsers).
# Usage: reliability/fuzz.sh [inputs=1000000] [seed=16]
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=${1:-1000000}
seed=${2:-16}
report=$(mktemp)
trap 'rm -f "$report"' EXIT
dotnet build tests/Pronto.Server.Tests -c Release -v q -nologo > /dev/null
status=0
PRONTO_FUZZ_INPUTS=$((inputs / 4)) PRONTO_FUZZ_SEED=$seed PRONTO_FUZZ_REPORT=$report \
  dotnet test tests/Pronto.Server.Tests -c Release --no-build --filter "FullyQualifiedName~ParserFuzzTests.Every_mutation" > /dev/null || status=$?
cat "$report"
exit $status
