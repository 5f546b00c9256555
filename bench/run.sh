#!/usr/bin/env bash
# The benchmark in one command: bench/run.sh [--quick] [--repeat N] [--only kind,kind] [--cluster [--held [--target N] | --costs]] | --client-cost [--repeat N] | --delta
# Builds the server under test and the load generator (Release), raises the file-descriptor limit,
# installs rsvg-convert for the PNG chart if it is missing, and runs every scenario on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if ! command -v rsvg-convert >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq librsvg2-bin >/dev/null) || true; fi
fi
if [[ " $* " == *" --cluster "* ]] && ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
dotnet build -c Release -nologo -v q bench/Comet4Net.Bench.Server
dotnet build -c Release -nologo -v q bench/Comet4Net.Bench
exec dotnet bench/Comet4Net.Bench/bin/Release/net10.0/Comet4Net.Bench.dll "$@"
