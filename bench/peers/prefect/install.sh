#!/usr/bin/env bash
# Prefect 3 in its own venv under the bench cache dir. Bounded: gives up after INSTALL_TIMEOUT seconds.
PEER=prefect
source "$(dirname "$0")/../common.sh"
VERSION="${PREFECT_VERSION:-3.8.8}"
PY="${BENCH_PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -f "$PEER_DIR/installed.json" ] && { cat "$PEER_DIR/installed.json"; exit 0; }
rm -f "$PEER_DIR/install-failed.txt"
"$PY" -m venv "$PEER_DIR/venv" >"$LOG" 2>&1 || fail "python3 -m venv failed with $PY"
# prefect 3.9.x needs a certifi newer than the registry has; 3.8.8 accepts a FastAPI (0.165) whose Body() no longer
# takes min_items, which breaks its local API server at import, so FastAPI is held at the release it was built on.
timeout "${INSTALL_TIMEOUT:-600}" "$PEER_DIR/venv/bin/pip" install --disable-pip-version-check -q "prefect==$VERSION" "fastapi==${PREFECT_FASTAPI:-0.139.*}" >>"$LOG" 2>&1 \
  || fail "pip install prefect==$VERSION failed or exceeded ${INSTALL_TIMEOUT:-600}s"
PV=$("$PEER_DIR/venv/bin/python" -c 'import prefect,sys;print(prefect.__version__)') || fail "import prefect failed"
FV=$("$PEER_DIR/venv/bin/python" -c 'import fastapi;print(fastapi.__version__)')
record_install "{\"prefect\":\"$PV\",\"fastapi\":\"$FV\",\"python\":\"$("$PEER_DIR/venv/bin/python" -c 'import platform;print(platform.python_version())')\"}"
