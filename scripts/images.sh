#!/usr/bin/env bash
# Builds EmboFlow's local images with no registry; each is rebuilt only when its recipe changes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_stack_env
export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"

build_image() { # tag recipe-dir
  local tag=$1 dir=$2 busybox=/bin/busybox
  [ -x "$busybox" ] || die "$busybox is missing (apt-get install busybox-static)"
  local recipe
  recipe=$( (cat "$dir"/*; sha256sum "$busybox") | sha256sum | cut -c1-16)
  if [ "$(docker image inspect -f '{{ index .Config.Labels "emboflow.recipe" }}' "$tag" 2>/dev/null)" = "$recipe" ]; then
    log "image $tag is current ($recipe)"
    return 0
  fi
  local ctx; ctx=$(mktemp -d)
  cp "$dir"/* "$ctx/" && cp "$busybox" "$ctx/busybox"
  log "building image $tag ($recipe)"
  docker build -q --label "emboflow.recipe=$recipe" -t "$tag" "$ctx" >/dev/null || { rm -rf "$ctx"; die "docker build $tag failed"; }
  rm -rf "$ctx"
}

build_image emboflow/tools:local "$REPO_DIR/images/tools"
