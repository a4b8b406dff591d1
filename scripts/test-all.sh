#!/usr/bin/env bash
# Every test: type check, unit tests (vitest, CPU), browser tests (Playwright
# in headless Chromium with SwiftShader WebGPU), and every kernel check in
# headless Firefox (wgpu on lavapipe). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-browser.sh || { echo "0 passed, 1 failed"; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund

mkdir -p test-results
passed=0; failed=0
failures=test-results/failures.txt
: > "$failures"
# Names every failed test of a vitest JSON report, so the log's tail says what failed.
vitest_failures() {
  node -e 'const r=require("./"+process.argv[1]);for(const f of r.testResults)for(const a of f.assertionResults)if(a.status==="failed")console.log(f.name.replace(process.cwd()+"/","")+" > "+a.fullName);for(const f of r.testResults)if(f.status==="failed"&&!f.assertionResults.some(a=>a.status==="failed"))console.log(f.name.replace(process.cwd()+"/","")+": "+(f.message||"failed to load").split("\n")[0])' "$1" >> "$failures"
}

echo "== typecheck"
if npx tsc --noEmit -p .; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "typecheck" >> "$failures"; fi

echo "== unit tests"
npx vitest run --reporter=default --reporter=json --outputFile=test-results/vitest.json
if [ -f test-results/vitest.json ]; then
  read -r p f < <(node -e 'const r=require("./test-results/vitest.json");console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites||0))')
  passed=$((passed + p)); failed=$((failed + f))
  vitest_failures test-results/vitest.json
else failed=$((failed + 1)); echo "unit tests: no report" >> "$failures"; fi

echo "== browser tests"
rm -f test-results/playwright.json
CI=1 npx playwright test 2>&1 | tee test-results/playwright.log
rc=${PIPESTATUS[0]}
if [ -f test-results/playwright.json ]; then
  read -r p f < <(node -e 'const s=require("./test-results/playwright.json").stats;console.log(s.expected + s.flaky, s.unexpected)')
  # A run that stopped before its tests (its web server's port taken, a config error) reports none failed: count it.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "browser tests: exit $rc before any test failed" >> "$failures"; fi
  passed=$((passed + p)); failed=$((failed + f))
  node -e 'const walk=(s,t)=>{for(const c of s.suites||[])walk(c,t);for(const sp of s.specs||[])for(const x of sp.tests)if(x.status==="unexpected")console.log(sp.file+":"+sp.line+" > "+sp.title)};walk(require("./test-results/playwright.json"))' >> "$failures"
else failed=$((failed + 1)); echo "browser tests: no report" >> "$failures"; fi

echo "== Firefox kernel checks"
# Its own vitest config: it needs Firefox and a build, and each kernel check
# counts as its own test.
# A file that fails to load fails no test but is not a success: count it.
rm -f test-results/firefox.json
npx vitest run --config e2e/firefox/vitest.config.ts --reporter=default --reporter=json --outputFile=test-results/firefox.json
if [ -f test-results/firefox.json ]; then
  read -r p f < <(node -e 'const r=require("./test-results/firefox.json");const f=r.numFailedTests+(r.numRuntimeErrorTestSuites||0);console.log(r.numPassedTests, f || (r.success ? 0 : 1))')
  passed=$((passed + p)); failed=$((failed + f))
  vitest_failures test-results/firefox.json
else failed=$((failed + 1)); echo "Firefox kernel checks: no report" >> "$failures"; fi

if [ -s "$failures" ]; then echo "== failed"; cat "$failures"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
