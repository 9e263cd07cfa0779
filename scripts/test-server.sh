#!/usr/bin/env bash
# Installs (once, cached) Temporal's time-skipping test server from Maven Central and prints its launcher's path.
# @temporalio/testing cannot download one here; it runs this launcher as an existing-path executable.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION=1.31.0
DIR="$EMBOFLOW_CACHE_DIR/temporal-test-server-$VERSION"
LAUNCHER="$DIR/temporal-test-server"
if [ ! -x "$LAUNCHER" ]; then
  command -v java >/dev/null && command -v mvn >/dev/null || die "java and mvn are needed for the time-skipping test server"
  log "installing Temporal's test server $VERSION (Maven Central) into $DIR"
  rm -rf "$DIR.tmp" && mkdir -p "$DIR.tmp/lib"
  mvn -q -f "$REPO_DIR/scripts/test-server/pom.xml" dependency:copy-dependencies -DoutputDirectory="$DIR.tmp/lib" >&2 \
    || die "mvn could not resolve io.temporal:temporal-test-server:$VERSION"
  cat > "$DIR.tmp/temporal-test-server" <<LAUNCH
#!/usr/bin/env bash
exec java -cp "$DIR/lib/*" io.temporal.testserver.TestServer "\$@"
LAUNCH
  chmod +x "$DIR.tmp/temporal-test-server"
  rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
fi
echo "$LAUNCHER"
