#!/bin/sh
# Sparse input against dense input on the text data set (docs/text-data.md):
# the same net (examples/paper/debian_relu.spn: 5000-1000-1000-1000-10, relu,
# L1 0.001, batch 10) trained one epoch at lr 0.1 on the same rows, given as
#   sparse   libsvm rows, kept in CSR form (the spec as written)
#   dense    the same rows as a dense IDX matrix (n x 5000 bytes, made here):
#            the input's zeros are found per batch (active_units) and the
#            first layer's products are still sparse
#   gemm     the dense IDX matrix with --passes dense: every product through
#            cblas_sgemm, what a framework does with a dense input
# Runs alternate, R rounds. Prints each variant's seconds per epoch (the
# metrics file's), the peak resident memory of the run, median and range
# over the rounds, and the median of the per-round ratios to sparse
# (bench/README.md).
#
#   bench/text_input.sh [R]     (default 3; needs make data-text)
#
# HIDDEN=N sets the hidden layers' width (default 1000; the paper's 5000).
# THREADS=N gives every variant N threads (default 1).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$root/build}
runs=${1:-3}
threads=${THREADS:-1}
hidden=${HIDDEN:-1000}
spec=$root/examples/paper/debian_relu.spn
data=$root/data/debian-text
if [ ! -f "$data/train_valid.svm" ]; then
  echo "bench/text_input.sh: no data/debian-text: run make data-text first" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The dense copy: IDX images (n x 5000 unsigned bytes) and labels.
/usr/bin/python3 - "$data" "$out" <<'PY'
import struct, sys
data, out = sys.argv[1], sys.argv[2]
for name in ("train_valid", "test"):
    rows, labels = [], []
    with open(f"{data}/{name}.svm") as f:
        for line in f:
            fields = line.split()
            labels.append(int(fields[0]))
            row = bytearray(5000)
            for pair in fields[1:]:
                i, v = pair.split(":")
                row[int(i) - 1] = int(float(v))
            rows.append(bytes(row))
    with open(f"{out}/{name}-x.idx", "wb") as f:
        f.write(struct.pack(">BBBBII", 0, 0, 8, 2, len(rows), 5000))
        f.writelines(rows)
    with open(f"{out}/{name}-y.idx", "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, len(labels)))
        f.write(bytes(labels))
PY

# "variant seconds kilobytes" for one epoch
one_run() { # $1: variant; then extra options
  variant=$1
  shift
  /usr/bin/time -f '%M' -o "$out/rss" "$BUILD/sparsec" run --quiet --threads "$threads" "$@" \
    --set train.epochs=1 --set 'train.lr={0.1}' \
    --set "h1.units=$hidden" --set "h2.units=$hidden" --set "h3.units=$hidden" \
    --set "output.metrics=$out/m.csv" --set "output.state=$out/state.safetensors" \
    "$spec" >/dev/null
  secs=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") c = i; next } { print $c }' "$out/m.csv")
  echo "$variant $secs $(cat "$out/rss")" >>"$out/times"
}
# one_run on the dense copy
dense_run() { # $1: variant; then extra options
  one_run "$@" --set "data.train=idx(\"$out/train_valid-x.idx\", \"$out/train_valid-y.idx\")" \
    --set "data.test=idx(\"$out/test-x.idx\", \"$out/test-y.idx\")"
}
for r in $(seq "$runs"); do
  one_run sparse
  dense_run dense
  dense_run gemm --passes dense
done
echo "text data (30,465 training rows, 0.77% nonzero), 5000-$hidden-$hidden-$hidden-10 relu, batch 10,"
echo "one epoch at lr 0.1, $threads thread(s), $runs rounds: seconds per epoch and peak memory"
echo "input    seconds: median (min-max)   x sparse (min-max)   peak MB: median"
awk "$(cat "$here/median.awk")"'
  { t[$1, ++n[$1]] = $2; m[$1, n[$1]] = $3 / 1024 }
  END {
    split("sparse dense gemm", v, " ")
    for (k = 1; k <= 3; k++) {
      name = v[k]; c = n[name]
      for (i = 1; i <= c; i++) r[name, i] = t[name, i] / t["sparse", i]
      mt = median(t, name, c); tlo = lo; thi = hi
      mr = median(r, name, c); rlo = lo; rhi = hi
      mm = median(m, name, c)
      printf "%-8s %6.2f (%.2f-%.2f)        %5.2fx (%.2f-%.2f)    %6.0f\n", name, mt, tlo, thi, mr, rlo, rhi, mm
    }
  }' "$out/times"
