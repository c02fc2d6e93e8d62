#!/usr/bin/env bash
# Build sbnn's Docker image and run the RTL regression (or a shell) in it; used by `make docker-test`
# and `make docker-shell`. Docker is optional for sbnn: `make test-rtl` runs the same suite natively.
#
#   docker/run.sh engine   make sure an engine answers (starting one through local-docker where
#                          present), or say why none can be had (exit 3)
#   docker/run.sh build    build the image
#   docker/run.sh test     build, then run the image's default command (the RTL regression); its
#                          JUnit XML is copied to $DOCKER_RESULTS/rtl-container.xml
#   docker/run.sh shell    build, then an interactive shell (working tree mounted at /sbnn)
#
# Engine: where the reference machine's ../shared/tools/local-docker is present (no Docker Hub there,
# maybe no engine running), the image is built through `local-docker build`, which starts an engine
# when none answers and passes its local base image as BASE_IMAGE. Otherwise a Docker engine must
# answer `docker info`, and the image is built with plain `docker build` from the Dockerfile's
# default base (python:3.11-slim-bookworm), or DOCKER_BASE_IMAGE when set (which also bypasses
# local-docker). Exit status 3: no engine can be had.
#
# Environment (the Makefile passes its variables of the same names):
#   DOCKER=docker  DOCKER_IMAGE=sbnn:latest  DOCKER_BASE_IMAGE=  DOCKER_BUILD_ARGS=
#   DOCKER_RESULTS=build/docker  DOCKER_CACHE_VOLUME=sbnn-cache (empty: none)
#   DOCKER_MOUNT= (1: run on the working tree mounted at /sbnn; default: test 0, shell 1)
#   LOCAL_DOCKER=auto (a path; empty or none: never use local-docker)  PYTEST_ARGS= (to pytest)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${DOCKER:-docker}
IMAGE=${DOCKER_IMAGE:-sbnn:latest}
BASE=${DOCKER_BASE_IMAGE:-}
RESULTS=${DOCKER_RESULTS:-build/docker}
CACHE_VOLUME=${DOCKER_CACHE_VOLUME-sbnn-cache}
LOCAL_DOCKER=${LOCAL_DOCKER-auto}
read -r -a BUILD_ARGS <<<"${DOCKER_BUILD_ARGS:-}"

say() { echo "sbnn-docker: $*" >&2; }
no_engine() {
  say "ERROR: no Docker engine can be had: $*"
  say "Docker is optional: 'make test-rtl' runs the same regression natively. To use Docker, install it"
  say "and start its engine (docker info must answer), or, on the reference machine, run as root with"
  say "../shared/tools/local-docker present (see README, section Docker)."
  exit 3
}
answers() { command -v "$DOCKER" >/dev/null 2>&1 && timeout 20 "$DOCKER" info >/dev/null 2>&1; }

find_local_docker() {  # path of local-docker, or nothing
  case $LOCAL_DOCKER in
    "" | none | 0) return 0 ;;
    auto)
      if command -v local-docker >/dev/null 2>&1; then command -v local-docker
      elif [[ -x $REPO/../shared/tools/local-docker ]]; then echo "$REPO/../shared/tools/local-docker"; fi ;;
    *) [[ -x $LOCAL_DOCKER ]] || { say "ERROR: LOCAL_DOCKER=$LOCAL_DOCKER is not an executable"; exit 2; }
       echo "$LOCAL_DOCKER" ;;
  esac
}

pick_engine() {  # sets MODE (local-docker | docker) and LD
  LD=$(find_local_docker)
  if [[ -n $LD && -z $BASE ]]; then
    MODE=local-docker
  elif answers; then
    MODE=docker
  elif ! command -v "$DOCKER" >/dev/null 2>&1; then
    no_engine "the '$DOCKER' command is not installed"
  else
    no_engine "'$DOCKER info' does not answer (is the daemon running, may this user use it?)"
  fi
}

cmd_engine() {  # make sure an engine answers: start one through local-docker where needed
  pick_engine
  if [[ $MODE == docker ]]; then say "engine: a Docker engine answers; plain '$DOCKER build'"; return 0; fi
  "$LD" engine || no_engine "$LD could not start one"
  say "engine: ready; images are built through $LD (its local base image)"
}

cmd_build() {
  pick_engine
  local t0=$SECONDS rc=0 args=(-t "$IMAGE" -f "$REPO/Dockerfile" "${BUILD_ARGS[@]}" "$REPO")
  if [[ $MODE == local-docker ]]; then
    say "building $IMAGE through $LD (no Docker Hub here: its local base image stands in)"
    "$LD" build "${args[@]}" || rc=$?
    ((rc != 3)) || no_engine "$LD could not start one (exit 3)"
  else
    [[ -z $BASE ]] || args=(--build-arg "BASE_IMAGE=$BASE" "${args[@]}")
    say "building $IMAGE with $DOCKER build${BASE:+ (BASE_IMAGE=$BASE)}"
    "$DOCKER" build "${args[@]}" || rc=$?
  fi
  ((rc == 0)) || { say "ERROR: the image build failed (exit $rc)"; exit "$rc"; }
  say "image $IMAGE built in $((SECONDS - t0)) s"
}

mount_args() {  # the working tree at /sbnn, as the calling user (so that files it writes are the user's)
  RUN_ARGS+=(-v "$REPO:/sbnn" -u "$(id -u):$(id -g)" -e HOME=/tmp/sbnn-home)
}

cmd_test() {
  cmd_build
  local name="sbnn-rtl-$$-$RANDOM" rc=0 t0=$SECONDS out=/tmp/sbnn-results/rtl.xml
  RUN_ARGS=(--name "$name" --network none -e "PYTEST_ARGS=--junitxml=$out ${PYTEST_ARGS:-}")
  if [[ ${DOCKER_MOUNT:-0} == 1 ]]; then mount_args
  elif [[ -n $CACHE_VOLUME ]]; then RUN_ARGS+=(-v "$CACHE_VOLUME:/home/sbnn/.cache"); fi
  trap '"$DOCKER" rm -f "$name" >/dev/null 2>&1 || true' EXIT
  say "running the RTL regression in $IMAGE (its default command: make test-rtl)"
  "$DOCKER" run "${RUN_ARGS[@]}" "$IMAGE" || rc=$?
  [[ $RESULTS == /* ]] || RESULTS=$REPO/$RESULTS
  mkdir -p "$RESULTS"
  if "$DOCKER" cp "$name:$out" "$RESULTS/rtl-container.xml" 2>/dev/null; then
    say "JUnit XML: $RESULTS/rtl-container.xml (compare: python docker/compare_junit.py NATIVE.xml $RESULTS/rtl-container.xml)"
  else
    say "no JUnit XML came out of the container"
  fi
  say "container run finished in $((SECONDS - t0)) s with exit status $rc"
  exit "$rc"
}

cmd_shell() {
  cmd_build
  RUN_ARGS=(--rm -i)
  [[ ! -t 0 ]] || RUN_ARGS+=(-t)
  if [[ ${DOCKER_MOUNT:-1} == 1 ]]; then mount_args
  elif [[ -n $CACHE_VOLUME ]]; then RUN_ARGS+=(-v "$CACHE_VOLUME:/home/sbnn/.cache"); fi
  say "shell in $IMAGE ('make test-rtl' runs the regression; 'exit' leaves)"
  exec "$DOCKER" run "${RUN_ARGS[@]}" "$IMAGE" bash
}

case ${1:-} in
  engine) cmd_engine ;;
  build) cmd_build ;;
  test) cmd_test ;;
  shell) cmd_shell ;;
  *) sed -n '2,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
