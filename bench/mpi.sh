#!/bin/sh
# Data-parallel training on this machine: 1 rank against 2, dense and
# sparse gradient exchange (docs/parallel.md). Prints a Markdown table for
# bench/MPI.md: per configuration, the training epoch's seconds, examples
# per second, bytes each rank sends per exchange and time spent exchanging.
#
#   bench/mpi.sh [SPARSEC]        default build/sparsec
#   LIMIT=N    training examples (default 5000)
#   REPEAT=N   runs per configuration; the fastest is reported (default 2):
#              on a shared machine the others' load only ever slows a run
#
# The model is the paper's 784-1000-1000-1000-10 rectifier net (L1 0.001)
# on the first LIMIT Fashion-MNIST training images, one epoch, no
# validation, a 100-image test set (so the epoch is nearly all training).
set -eu
SPARSEC=${1:-build/sparsec}
SPARSEC=$(cd "$(dirname "$SPARSEC")" && pwd)/$(basename "$SPARSEC")
LIMIT=${LIMIT:-5000}
REPEAT=${REPEAT:-2}
FASHION=/usr/share/datasets/fashion-mnist
WORK=$(mktemp -d /tmp/sparsec-bench-mpi.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to core"

# A 100-example test set: the IDX header with the count rewritten, then
# the first 100 records.
first100() { # IDX file, header bytes after the count, bytes per record
  zcat "$1" > "$WORK/full"
  { head -c 4 "$WORK/full"; printf '\000\000\000\144'; \
    tail -c +9 "$WORK/full" | head -c $(($2 + 100 * $3)); } > "$4"
  rm "$WORK/full"
}
first100 "$FASHION/t10k-images-idx3-ubyte.gz" 8 784 "$WORK/test-x.idx"
first100 "$FASHION/t10k-labels-idx1-ubyte.gz" 0 1 "$WORK/test-y.idx"

cat > "$WORK/paper.spn" <<EOF
model {
  input = 784
  layer h1  = dense(1000, relu, l1 = 0.001)
  layer h2  = dense(1000, relu, l1 = 0.001)
  layer h3  = dense(1000, relu, l1 = 0.001)
  layer out = dense(10, softmax)
  loss = nll
}
train { lr = 0.01  batch = 10  epochs = 1  seed = 1 }
data {
  train = idx("$FASHION/train-images-idx3-ubyte.gz", "$FASHION/train-labels-idx1-ubyte.gz")
  test  = idx("test-x.idx", "test-y.idx")
  scale = 1/255
  limit = $LIMIT
  validation = 0
}
EOF

# One run: its output in $out, the epoch's seconds in $seconds.
once() {
  if [ "$exchange" = - ]; then
    out=$(cd "$WORK" && "$SPARSEC" run --set train.batch="$batch" paper.spn)
  else
    out=$(cd "$WORK" && SPARSEC_EXCHANGE=$exchange $MPIRUN -np "$ranks" \
      "$SPARSEC" run --set train.batch="$batch" paper.spn)
  fi
  seconds=$(printf '%s\n' "$out" | sed -n 's/^epoch   1 .* \([0-9.]*\) s$/\1/p')
}

# ranks, per-rank batch, exchange (- for one process): the fastest of REPEAT
run() {
  ranks=$1 batch=$2 exchange=$3
  best_out="" best=""
  for _ in $(seq "$REPEAT"); do
    once
    if [ -z "$best" ] || awk -v a="$seconds" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$seconds best_out=$out
    fi
  done
  seconds=$best out=$best_out
  stats=$(printf '%s\n' "$out" | grep '^data parallel:' || true)
  mb=$(printf '%s\n' "$stats" | sed -n 's/.*), \([0-9.]*\) MB per exchange.*/\1/p')
  dense=$(printf '%s\n' "$stats" | sed -n 's/.*(dense: \([0-9.]*\) MB).*/\1/p')
  xs=$(printf '%s\n' "$stats" | sed -n 's/.*MB), \([0-9.]*\) s exchanging.*/\1/p')
  ws=$(printf '%s\n' "$stats" | sed -n 's/.*(\([0-9.]*\) s in MPI_Allreduce).*/\1/p')
  steps=$(printf '%s\n' "$stats" | sed -n 's/.*ranks, \([0-9]*\) gradient exchanges.*/\1/p')
  rate=$(awk -v s="$seconds" -v n="$LIMIT" 'BEGIN { printf "%.0f", n / s }')
  per_step=$(awk -v x="${xs:-0}" -v n="${steps:-1}" 'BEGIN { printf "%.2f", 1000 * x / n }')
  wait_step=$(awk -v x="${ws:-0}" -v n="${steps:-1}" 'BEGIN { printf "%.2f", 1000 * x / n }')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$ranks" "$batch" "$((ranks * batch))" \
    "$exchange" "$seconds" "$rate" "${mb:--} / ${dense:--}" \
    "$([ "$exchange" = - ] && echo - || echo "$per_step ($wait_step)")"
}

echo "$LIMIT examples, best of $REPEAT runs; $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')); \
load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| ranks | batch per rank | global batch | exchange | epoch s | examples/s | MB sent per exchange (sent / dense) | ms per exchange (in MPI_Allreduce) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
run 1 10 -
run 1 20 -
run 2 5 dense
run 2 5 sparse
run 2 10 dense
run 2 10 sparse
run 2 10 auto
run 1 100 -
run 2 50 dense
run 2 100 dense
run 2 100 sparse

# The allreduce alone (bench/mpi_allreduce.c): the paper net's gradients
# and smaller messages, for the latency and bandwidth of the estimate.
echo
mpicc -O2 -o "$WORK/mpi_allreduce" "$(dirname "$0")/mpi_allreduce.c"
for floats in 2797011 250000 25000 256; do
  echo "    $($MPIRUN -np 2 "$WORK/mpi_allreduce" "$floats")"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
