#!/bin/sh
# Greedy pretraining on the sparse path against the dense path (--passes
# dense), side by side: the paper's relu net with its pretrain block
# (examples/paper/mnist10k_relu_pretrain.spn: masking noise 0.25, tied
# decoders, batch 10), 3 epochs per stage, runs alternated R times. Prints
# each stage's seconds per epoch, median and range over the runs, and the
# median of the per-run ratios dense / sparse (bench/README.md).
#
#   bench/pretrain.sh [R]        (default 5; needs `make data`)
#
# THREADS=N gives both paths N threads (default 1).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$root/build}
runs=${1:-5}
threads=${THREADS:-1}
spec=$root/examples/paper/mnist10k_relu_pretrain.spn
if [ ! -f "$root/data/mnist10k/train-images-idx3-ubyte" ]; then
  echo "bench/pretrain.sh: no data/mnist10k: run make data first" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Seconds per epoch of each stage, one "stage seconds" line per stage: the
# epoch lines' times are in tenths, so the 3 epochs are summed.
one_run() { # $@: extra options (--passes dense), none for the sparse path
  "$BUILD/sparsec" run --threads "$threads" "$@" --set pretrain.epochs=3 \
    --set train.epochs=1 --set 'train.lr={0.1}' \
    --set "output.checkpoint=$out/ckpt.safetensors" \
    --set "output.state=$out/state.safetensors" "$spec" |
    awk '$1 == "pretrain" { t[$2] += $(NF - 1) } END { for (s in t) printf "%s %.3f\n", s, t[s] / 3 }'
}
for r in $(seq "$runs"); do
  one_run --passes dense | sed "s/^/dense /" >>"$out/times"
  one_run | sed "s/^/sparse /" >>"$out/times"
done
echo "pretraining, seconds per epoch (8000 examples, batch 10, $threads thread(s)), $runs runs"
echo "stage  sparse: median (min-max)  dense: median (min-max)  dense/sparse"
awk "$(cat "$here/median.awk")"'
  { v[$1 " " $2, ++n[$1 " " $2]] = $3 }
  function median_of(key) { return median(v, key, n[key]) }
  END {
    split("h1 h2 h3", stages, " ")
    for (s = 1; s <= 3; s++) {
      st = stages[s]
      ms = median_of("sparse " st); slo = lo; shi = hi
      md = median_of("dense " st); dlo = lo; dhi = hi
      for (i = 1; i <= n["sparse " st]; i++) v["ratio " st, i] = v["dense " st, i] / v["sparse " st, i]
      n["ratio " st] = n["sparse " st]
      mr = median_of("ratio " st)
      printf "%-6s %.2f (%.2f-%.2f)          %.2f (%.2f-%.2f)         %.2fx (%.2f-%.2f)\n", st, ms, slo, shi, md, dlo, dhi, mr, lo, hi
    }
  }' "$out/times"
