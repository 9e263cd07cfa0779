#!/usr/bin/env bash
# Apache Airflow in its own venv under the bench cache dir, given one bounded attempt (INSTALL_TIMEOUT seconds).
# The official constraints file lives on GitHub, which this machine cannot reach, so pip resolves freely.
PEER=airflow
source "$(dirname "$0")/../common.sh"
VERSION="${AIRFLOW_VERSION:-2.11.2}"
PY="${BENCH_PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -f "$PEER_DIR/installed.json" ] && { cat "$PEER_DIR/installed.json"; exit 0; }
rm -f "$PEER_DIR/install-failed.txt"
"$PY" -m venv "$PEER_DIR/venv" >"$LOG" 2>&1 || fail "python3 -m venv failed with $PY"
timeout "${INSTALL_TIMEOUT:-600}" "$PEER_DIR/venv/bin/pip" install --disable-pip-version-check -q "apache-airflow==$VERSION" >>"$LOG" 2>&1 \
  || fail "pip install apache-airflow==$VERSION failed or exceeded ${INSTALL_TIMEOUT:-600}s"
export AIRFLOW_HOME="$PEER_DIR/home"
mkdir -p "$AIRFLOW_HOME"
timeout 300 "$PEER_DIR/venv/bin/airflow" db migrate >>"$LOG" 2>&1 || fail "airflow db migrate failed"
AV=$("$PEER_DIR/venv/bin/python" -c 'import airflow;print(airflow.__version__)') || fail "import airflow failed"
record_install "{\"apache-airflow\":\"$AV\",\"python\":\"$("$PEER_DIR/venv/bin/python" -c 'import platform;print(platform.python_version())')\"}"
