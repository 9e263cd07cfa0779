# Shared by the peer install scripts: where peers live (outside the project's dependencies) and how an
# install is recorded. A peer is installed when $PEER_DIR/installed.json exists.
set -euo pipefail
BENCH_CACHE="${EMBOFLOW_CACHE_DIR:-$HOME/.cache/emboflow}/bench"
PEER_DIR="$BENCH_CACHE/$PEER"
mkdir -p "$PEER_DIR"
LOG="$PEER_DIR/install.log"

# record_install '{"prefect":"3.9.1",...}': marks the peer installed with the versions actually present.
record_install() {
  printf '{"peer":"%s","installedAt":"%s","versions":%s}\n' "$PEER" "$(date -u +%FT%TZ)" "$1" >"$PEER_DIR/installed.json"
  cat "$PEER_DIR/installed.json"
}

# fail 'reason': leaves the reason (and the log tail) where the bench reads it, and exits non-zero.
fail() {
  { echo "$1"; tail -n 20 "$LOG" 2>/dev/null || true; } >"$PEER_DIR/install-failed.txt"
  echo "install $PEER failed: $1" >&2
  exit 1
}
