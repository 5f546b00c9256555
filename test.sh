#!/usr/bin/env bash
# Runs every test of Comet4Net: the JS client's (node), then unit, functional, .NET client and browser tests (dotnet test).
# Installs what a fresh machine lacks: Debian's Chromium (browser tests), nginx (the buffering-proxy
# tests) and redis-server (the cluster tests start their own on a free port), npm packages by restore.
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
results="$root/TestResults"
rm -rf "$results"
mkdir -p "$results"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if [ ! -x /usr/sbin/nginx ]; then missing+=(nginx-light); fi
if [ ! -x /usr/bin/redis-server ]; then missing+=(redis-server); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (Debian packages) for the browser tests"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

js_passed=0
js_failed=0
echo "== JS client tests (node --test)"
if (cd Comet4Net.Client.js && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm test 2>&1 | tee "$results/js.txt"); then :; fi
js_passed=$(grep -E '^# pass ' "$results/js.txt" | awk '{print $3}' | tail -1)
js_failed=$(grep -E '^# fail ' "$results/js.txt" | awk '{print $3}' | tail -1)
js_passed=${js_passed:-0}
js_failed=${js_failed:-1}

echo "== dotnet build"
dotnet build Comet4Net.sln -nologo -v q
build_status=$?
dotnet_status=$build_status
for project in Comet4Net.Core.Tests Comet4Net.Web.Tests Comet4Net.Client.Tests Comet4Net.Browser.Tests; do
  [ "$build_status" -eq 0 ] || break
  echo "== dotnet test tests/$project"
  dotnet test "tests/$project" --no-build --nologo --logger "trx;LogFileName=$project.trx" --results-directory "$results" "$@" || dotnet_status=$?
done

passed=$js_passed
failed=$js_failed
trx_count=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  trx_count=$((trx_count + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
  f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
if [ "$dotnet_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test failed before running every test (build error or crash): see above"
  failed=$((failed + 1))
fi
if [ "$trx_count" -lt 4 ]; then
  echo "expected 4 test result files (unit, functional, .NET client, browser), found $trx_count"
  failed=$((failed + 1))
fi
echo "JS client: $js_passed passed, $js_failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
