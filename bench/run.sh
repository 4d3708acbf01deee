#!/bin/sh
# make bench: the sparse path against the dense path and PyTorch (bench/README.md).
# Trains the benchmark's checkpoint once (the paper's net, 3 epochs, L1 0.004
# on each hidden layer: hidden sparsity above 80%), installs Debian's
# python3-torch when it is missing and this may (root, or sudo without a
# password; BENCH_TORCH=0 skips PyTorch), then runs bench/bench and keeps its
# table in $BUILD/bench/results.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
BUILD=${BUILD:-$root/build}
ckpt=${CHECKPOINT:-$BUILD/bench/fashion_mnist_l1_004.safetensors}

if [ ! -f "$ckpt" ]; then
  echo "bench: training the checkpoint $ckpt (about a minute per epoch)"
  "$BUILD/sparsec" run --set train.epochs=3 --set h1.l1=0.004 --set h2.l1=0.004 \
    --set h3.l1=0.004 --set "output.checkpoint=\"$ckpt\"" "$root/examples/fashion_mnist_relu.spn"
fi

torch=--no-torch
if [ "${BENCH_TORCH:-1}" != 0 ]; then
  if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      apt-get install -y python3-torch >/dev/null || true
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo apt-get install -y python3-torch >/dev/null || true
    fi
  fi
  torch=
fi
"$BUILD/bench/bench" --checkpoint "$ckpt" $torch "$@" | tee "$BUILD/bench/results.md"
