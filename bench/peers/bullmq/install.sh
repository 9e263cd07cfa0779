#!/usr/bin/env bash
# BullMQ (npm) in its own package.json under the bench cache dir, and Redis from Debian (apt).
# The bench starts its own redis-server on a loopback port and stops it afterwards.
PEER=bullmq
source "$(dirname "$0")/../common.sh"
VERSION="${BULLMQ_VERSION:-5.81.5}"
[ -f "$PEER_DIR/installed.json" ] && { cat "$PEER_DIR/installed.json"; exit 0; }
rm -f "$PEER_DIR/install-failed.txt"
if ! command -v redis-server >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >"$LOG" 2>&1 \
    || fail "apt-get install redis-server failed"
  # The Debian package starts a system redis on 6379; the bench runs its own, so leave the system one alone.
fi
cd "$PEER_DIR"
[ -f package.json ] || echo '{"name":"emboflow-bench-bullmq","private":true}' >package.json
timeout "${INSTALL_TIMEOUT:-600}" npm install --no-audit --no-fund --silent "bullmq@$VERSION" >>"$LOG" 2>&1 \
  || fail "npm install bullmq@$VERSION failed"
BV=$(node -p "require('$PEER_DIR/node_modules/bullmq/package.json').version")
RV=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
record_install "{\"bullmq\":\"$BV\",\"redis-server\":\"$RV\"}"
