#!/usr/bin/env bash
# npm test: installs and starts what the tests need (the stack, the local images), then runs the whole suite:
# typecheck, lint, unit tests, then integration and end-to-end tests against the real servers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"

ensure_node
ensure_node_modules
# The CLI's live-display test drives a real terminal.
if ! command -v tmux >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; } || log "tmux not installed: the CLI test falls back to script(1)"
fi
bash scripts/stack.sh up
bash scripts/images.sh
# The API fuzz test (test/integration/schemathesis.test.ts) runs it; installed here so its time is not the test's.
install_schemathesis >/dev/null
# The registry pull test (test/e2e/registries.test.ts) starts its own; installed here for the same reason.
bash scripts/registry.sh install
load_stack_env

results="$EMBOFLOW_DATA_DIR/test-results"
rm -rf "$results" && mkdir -p "$results"

log "typecheck"
npx tsc --noEmit -p .
log "lint"
npx eslint .

status=0
log "unit tests"
npx jest -c jest.unit.config.js --json --outputFile="$results/unit.json" || status=1
log "integration and end-to-end tests"
npx jest -c jest.integration.config.js --json --outputFile="$results/integration.json" "$@" || status=1
log "data plane (gigabytes through a chain, alone)"
npx jest -c jest.data.config.js --json --outputFile="$results/data.json" || status=1
log "bench smoke (npm run bench -- --smoke, checked)"
npx jest -c jest.bench.config.js --json --outputFile="$results/bench.json" || status=1
# Chaos tests restart shared servers (Temporal, MongoDB): alone, after everything else.
log "chaos tests"
npx jest -c jest.chaos.config.js --json --outputFile="$results/chaos.json" || status=1

# One plain closing line over every suite; kept in a file too, so that .ci/run can print it last.
SUMMARY_FILE="$results/summary.txt" node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { failed++; continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites; skipped += r.numPendingTests + r.numTodoTests;
  }
  const line = `emboflow: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : "");
  fs.writeFileSync(process.env.SUMMARY_FILE, line + "\n");
  console.log(line);
' "$results/unit.json" "$results/integration.json" "$results/data.json" "$results/bench.json" "$results/chaos.json"
exit $status
