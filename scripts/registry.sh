#!/usr/bin/env bash
# A local Docker registry for the pull tests: Debian's docker-registry on loopback, with htpasswd (bcrypt) basic auth
# and its storage in a folder of the caller's. Installed once (apt); each test starts and stops its own.
# Usage: scripts/registry.sh install
#        scripts/registry.sh start <dir> <port> <user> <password>   (prints the pid; waits until it answers)
#        scripts/registry.sh stop <dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cmd_install() {
  if [ ! -x /usr/bin/docker-registry ] || ! command -v htpasswd >/dev/null; then
    log "installing docker-registry and apache2-utils (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    # The package's own service is not started (no systemd): each test runs its own registry.
    apt-get install -y -qq docker-registry apache2-utils >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get install -y -qq docker-registry apache2-utils >/dev/null; } \
      || die "apt-get install docker-registry apache2-utils failed"
  fi
}

cmd_start() {
  local dir=$1 port=$2 user=$3 password=$4
  cmd_install
  mkdir -p "$dir/storage"
  (umask 077 && htpasswd -nbB "$user" "$password" > "$dir/htpasswd") || die "htpasswd failed"
  cat > "$dir/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: emboflow-test
    path: $dir/htpasswd
YML
  setsid /usr/bin/docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 < /dev/null &
  echo $! > "$dir/registry.pid"
  local deadline=$((SECONDS + 30))
  # 401 without credentials: it is up and asking for them.
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" = 401 ]; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then
      tail -n 20 "$dir/registry.log" >&2 || true
      die "the registry on 127.0.0.1:$port did not come up"
    fi
    sleep 0.2
  done
  cat "$dir/registry.pid"
}

cmd_stop() {
  local dir=$1 p
  [ -f "$dir/registry.pid" ] || return 0
  p=$(cat "$dir/registry.pid")
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$p" 2>/dev/null || true
  rm -f "$dir/registry.pid"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) die "usage: $0 install | start <dir> <port> <user> <password> | stop <dir>" ;;
esac
