#!/bin/sh
# Installs the Debian 12 packages sparsec needs, and only those missing.
# Idempotent: a second run installs nothing and prints nothing but a summary.
set -eu

# ONNX export (backend/onnx.c, docs/export.md): protobuf-c's compiler and
# library, and python3-onnx for onnx.proto (the schema, read at build time)
# and for the test that checks the exported models (with python3-numpy).
# python3: scripts/get-text-data.sh (make data-text) and tests/check_docs.py.
PACKAGES="python3 build-essential cmake pkg-config flex bison llvm-16-dev libopenblas-dev libedit-dev \
libcriterion-dev zlib1g-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin \
protobuf-c-compiler libprotobuf-c-dev python3-onnx python3-numpy"

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install-deps: need root (or sudo) to install:$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
