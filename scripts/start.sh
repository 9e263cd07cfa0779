#!/usr/bin/env bash
# npm start: installs what is missing, brings the stack up, starts a worker and the API, runs the sample workflow
# end to end, and keeps serving until Ctrl-C; then stops what it started.
# EMBOFLOW_START_ONCE=1 exits after the sample instead of serving.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"

ensure_node
ensure_node_modules
stack_was_up=0
bash scripts/stack.sh is-up 2>/dev/null && stack_was_up=1
bash scripts/stack.sh up
bash scripts/images.sh
load_stack_env
export TEMPORAL_ADDRESS TEMPORAL_UI_URL MONGODB_URI DOCKER_HOST S3_ENDPOINT S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY S3_BUCKET
export PORT="${PORT:-8080}"
api_url="http://127.0.0.1:$PORT"
mkdir -p "$LOG_DIR"

children=()
cleanup() {
  trap - EXIT INT TERM
  log "stopping the worker and the API"
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$stack_was_up" = 0 ]; then bash scripts/stack.sh down; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Used only if the database is empty: it becomes the first admin's key. Otherwise a key is minted below.
bootstrap_key=$(node -e 'const c=require("crypto");const a="abcdefghijkmnpqrstuvwxyz23456789";const r=n=>[...c.randomBytes(n)].map(b=>a[b%32]).join("");console.log(`efk_${r(12)}_${r(32)}`)')

log "starting the worker (log: $LOG_DIR/worker.log)"
# node itself (not npx, which does not pass signals on): the pid below is the process that SIGTERM drains.
node --import tsx src/cli/worker.ts > "$LOG_DIR/worker.log" 2>&1 &
children+=($!)
log "worker pid $!"
log "starting the API on $api_url (log: $LOG_DIR/api.log)"
EMBOFLOW_BOOTSTRAP_API_KEY="$bootstrap_key" node --import tsx src/cli/api.ts > "$LOG_DIR/api.log" 2>&1 &
children+=($!)
log "API pid $!"

for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$api_url/readyz" 2>/dev/null && break
  for pid in "${children[@]}"; do kill -0 "$pid" 2>/dev/null || { tail -n 20 "$LOG_DIR"/{api,worker}.log >&2; die "a process exited during start-up"; }; done
  sleep 0.5
done
curl -fsS -o /dev/null "$api_url/readyz" || { curl -sS "$api_url/readyz" >&2; die "the API is not ready"; }

if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $bootstrap_key" "$api_url/v1/me")" = 200 ]; then
  api_key="$bootstrap_key"
else
  api_key=$(npx tsx src/cli/mint-key.ts --name npm-start)
fi

log "running the sample workflow (probe -> validate -> convert -> report)"
EMBOFLOW_API_URL="$api_url" EMBOFLOW_API_KEY="$api_key" npx tsx src/cli/sample.ts

cat <<EOF2

EmboFlow is serving:
  API              $api_url   (OpenAPI: $api_url/openapi.json)
  Temporal Web UI  $TEMPORAL_UI_URL
  API key for this session (shown once, stored only as a hash):
    export EMBOFLOW_API_KEY=$api_key
EOF2
[ "${EMBOFLOW_START_ONCE:-0}" = 1 ] && exit 0
log "press Ctrl-C to stop"
wait -n "${children[@]}"
