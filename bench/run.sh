#!/bin/sh
# make bench: the sparse path against the dense path and PyTorch (bench/README.md).
# Trains the benchmark's checkpoint once (the paper's net, 3 epochs, L1 0.004
# on each hidden layer: hidden sparsity above 80%), installs Debian's
# python3-torch when it is missing and this may (root, or sudo without a
# password; BENCH_TORCH=0 skips PyTorch), then runs bench/bench and keeps its
# table in $BUILD/bench/results.md and every figure (median, min, max, n) in
# $BUILD/bench/results.jsonl; a full run also copies both to bench/.
#
#   bench/run.sh [--quick] [bench options]     (make bench [QUICK=1])
#
# --quick (make bench QUICK=1), for checking a change, under 2 minutes: 3
# bursts of 640 examples per figure instead of 5 of 1280, and, when the full
# checkpoint is not there yet, a 1-epoch checkpoint of its own (same L1;
# hidden zeros about 94 / 75 / 66% instead of 97 / 85 / 75%) instead of
# training the 3-epoch one. Its figures are not results: the README quotes
# full runs only.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$root/build}
start=$(date +%s)
quick=
for a in "$@"; do [ "$a" = --quick ] && quick=1; done
ckpt=${CHECKPOINT:-$BUILD/bench/fashion_mnist_l1_004.safetensors}
epochs=3
if [ -n "$quick" ] && [ ! -f "$ckpt" ] && [ -z "${CHECKPOINT:-}" ]; then
  ckpt=$BUILD/bench/fashion_mnist_l1_004_1epoch.safetensors
  epochs=1
fi

if [ ! -f "$ckpt" ]; then
  echo "bench: training the checkpoint $ckpt ($epochs epoch(s), 10-20 s each)"
  "$BUILD/sparsec" run --set train.epochs=$epochs --set h1.l1=0.004 --set h2.l1=0.004 \
    --set h3.l1=0.004 --set "output.checkpoint=$ckpt" "$root/examples/fashion_mnist_relu.spn" |
    tail -n 3
fi
echo "bench: checkpoint $ckpt"

# The commit the figures belong to (+dirty: with changes not committed).
# Read-only plumbing: diff-index does not rewrite the index.
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git -C "$root" diff-index --quiet HEAD -- 2>/dev/null; then
  commit="$commit+dirty"
fi
export BENCH_COMMIT=$commit

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
# OpenBLAS 0.3.21 picks its kernels by CPU model, and a CPU newer than it
# knows (the AMD family 26, Zen 5, of these machines) gets Haswell's (AVX2),
# as does any environment with OPENBLAS_CORETYPE=Haswell (these machines set
# it): a batch-1 product then takes 3-5x as long, for the dense path and
# PyTorch alike (both call this OpenBLAS). On a CPU with AVX-512, every
# competitor gets OpenBLAS's AVX-512 kernels (OPENBLAS_CORETYPE=SKYLAKEX)
# unless BENCH_BLAS_CORE names another core (BENCH_BLAS_CORE=keep: as is).
blas_core() { OPENBLAS_VERBOSE=2 "$BUILD/sparsec" --help 2>&1 >/dev/null | sed -n 's/^Core: //p'; }
want=${BENCH_BLAS_CORE:-}
if [ -z "$want" ] && grep -qw avx512f /proc/cpuinfo; then
  case $(blas_core) in
  SkylakeX | Cooperlake | SapphireRapids) ;;
  *) want=SKYLAKEX ;;
  esac
fi
if [ -n "$want" ] && [ "$want" != keep ]; then
  echo "bench: OpenBLAS chose $(blas_core) kernels; using OPENBLAS_CORETYPE=$want for every path"
  export OPENBLAS_CORETYPE=$want
fi
core=$(blas_core)
echo "bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench/bench" --checkpoint "$ckpt" $torch --jsonl "$BUILD/bench/results.jsonl" "$@" |
  tee "$BUILD/bench/results.md"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); commit $commit;" \
  "OpenBLAS kernels: $core${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)};" \
  "$(($(date +%s) - start)) s in all" | tee -a "$BUILD/bench/results.md"
if [ -z "$quick" ]; then
  # the copies kept in the repository name no path of this machine
  sed "s#$root/##g" "$BUILD/bench/results.jsonl" >"$here/results.jsonl"
  sed "s#$root/##g" "$BUILD/bench/results.md" >"$here/results.md"
fi
