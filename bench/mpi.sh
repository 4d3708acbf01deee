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
#   WHAT=overlap  instead: 2 ranks, dense exchange, blocking (SPARSEC_BUCKET_KB=0)
#              against overlapped (the default buckets), REPEAT runs each
#              (default 5) taken in turns; medians and ranges
#   WHAT=local    instead: 2 ranks, SPARSEC_LOCAL_STEPS 1, 4 and 16: test error
#              on TEST test images (default 2000) after EPOCHS epochs (default 5);
#              one run each
#
# The model is the paper's 784-1000-1000-1000-10 rectifier net (L1 0.001)
# on the first LIMIT Fashion-MNIST training images, one epoch, no
# validation, a 100-image test set (so the epoch is nearly all training).
set -eu
SPARSEC=${1:-build/sparsec}
SPARSEC=$(cd "$(dirname "$SPARSEC")" && pwd)/$(basename "$SPARSEC")
LIMIT=${LIMIT:-5000}
WHAT=${WHAT:-exchange}
case $WHAT in
  exchange) REPEAT=${REPEAT:-2} TEST=${TEST:-100} EPOCHS=1 ;;
  overlap) REPEAT=${REPEAT:-5} TEST=${TEST:-100} EPOCHS=1 ;;
  local) TEST=${TEST:-2000} EPOCHS=${EPOCHS:-5} ;;
  *) echo "bench/mpi.sh: WHAT must be exchange, overlap or local, not '$WHAT'" >&2; exit 1 ;;
esac
FASHION=/usr/share/datasets/fashion-mnist
WORK=$(mktemp -d /tmp/sparsec-bench-mpi.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to core"

# A TEST-example test set: the IDX header with the count rewritten, then
# the first TEST records.
first_records() { # IDX file, header bytes after the count, bytes per record
  zcat "$1" > "$WORK/full"
  { head -c 4 "$WORK/full"; printf "$(printf '\\%03o\\%03o\\%03o\\%03o' 0 0 $((TEST / 256)) \
    $((TEST % 256)))"; tail -c +9 "$WORK/full" | head -c $(($2 + TEST * $3)); } > "$4"
  rm "$WORK/full"
}
first_records "$FASHION/t10k-images-idx3-ubyte.gz" 8 784 "$WORK/test-x.idx"
first_records "$FASHION/t10k-labels-idx1-ubyte.gz" 0 1 "$WORK/test-y.idx"

cat > "$WORK/paper.spn" <<EOF
model {
  input = 784
  layer h1  = dense(1000, relu, l1 = 0.001)
  layer h2  = dense(1000, relu, l1 = 0.001)
  layer h3  = dense(1000, relu, l1 = 0.001)
  layer out = dense(10, softmax)
  loss = nll
}
train { lr = 0.01  batch = 10  epochs = $EPOCHS  seed = 1 }
data {
  train = idx("$FASHION/train-images-idx3-ubyte.gz", "$FASHION/train-labels-idx1-ubyte.gz")
  test  = idx("test-x.idx", "test-y.idx")
  scale = 1/255
  limit = $LIMIT
  validation = 0
}
EOF

# One run: its output in $out, the first epoch's seconds in $seconds.
# $settings: more environment for the ranks (SPARSEC_BUCKET_KB=0, ...).
once() {
  if [ "$exchange" = - ]; then
    out=$(cd "$WORK" && "$SPARSEC" run --set train.batch="$batch" paper.spn)
  else
    out=$(cd "$WORK" && env SPARSEC_EXCHANGE="$exchange" ${settings:-} $MPIRUN -np "$ranks" \
      "$SPARSEC" run --set train.batch="$batch" paper.spn)
  fi
  seconds=$(printf '%s\n' "$out" | sed -n 's/^epoch   1 .* \([0-9.]*\) s$/\1/p')
}

# The exchange statistics of $out: ms per exchange and ms of it in MPI.
exchange_ms() {
  stats=$(printf '%s\n' "$out" | grep '^data parallel:.*gradient exchanges' || true)
  xs=$(printf '%s\n' "$stats" | sed -n 's/.*MB), \([0-9.]*\) s exchanging.*/\1/p')
  ws=$(printf '%s\n' "$stats" | sed -n 's/.*(\([0-9.]*\) s in MPI_Allreduce).*/\1/p')
  steps=$(printf '%s\n' "$stats" | sed -n 's/.*ranks, \([0-9]*\) gradient exchanges.*/\1/p')
  per_step=$(awk -v x="${xs:-0}" -v n="${steps:-1}" 'BEGIN { printf "%.2f", 1000 * x / n }')
  wait_step=$(awk -v x="${ws:-0}" -v n="${steps:-1}" 'BEGIN { printf "%.2f", 1000 * x / n }')
}

# "median (min-max)" of the numbers on standard input.
median_range() {
  sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
    printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }'
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
  exchange_ms
  mb=$(printf '%s\n' "$stats" | sed -n 's/.*), \([0-9.]*\) MB per exchange.*/\1/p')
  dense=$(printf '%s\n' "$stats" | sed -n 's/.*(dense: \([0-9.]*\) MB).*/\1/p')
  rate=$(awk -v s="$seconds" -v n="$LIMIT" 'BEGIN { printf "%.0f", n / s }')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$ranks" "$batch" "$((ranks * batch))" \
    "$exchange" "$seconds" "$rate" "${mb:--} / ${dense:--}" \
    "$([ "$exchange" = - ] && echo - || echo "$per_step ($wait_step)")"
}

# WHAT=overlap, per-rank batch $1: blocking and overlapped dense exchange,
# REPEAT runs each in turns (so that the machine's load falls on both).
overlap() {
  ranks=2 batch=$1 exchange=dense
  : > "$WORK/blocking" && : > "$WORK/overlapped"
  for _ in $(seq "$REPEAT"); do
    for kind in blocking overlapped; do
      [ $kind = blocking ] && settings=SPARSEC_BUCKET_KB=0 || settings=
      once
      exchange_ms
      echo "$seconds $per_step $wait_step" >> "$WORK/$kind"
    done
  done
  for kind in blocking overlapped; do
    printf '| %s | %s | %s | %s | %s |\n' "$batch" "$kind" \
      "$(cut -d' ' -f1 "$WORK/$kind" | median_range)" \
      "$(cut -d' ' -f2 "$WORK/$kind" | median_range)" "$(cut -d' ' -f3 "$WORK/$kind" | median_range)"
  done
}

# WHAT=local: 2 ranks, 10 examples each per step, K local steps.
local_steps() {
  ranks=2 batch=10 exchange=dense settings="SPARSEC_LOCAL_STEPS=$1"
  once
  error=$(printf '%s\n' "$out" | sed -n 's/^test error: \([0-9.]*%\).*/\1/p')
  loss=$(printf '%s\n' "$out" | sed -n "s/^epoch *$EPOCHS  loss \([0-9.]*\) .*/\1/p")
  per_epoch=$(printf '%s\n' "$out" | sed -n 's/^epoch .* \([0-9.]*\) s$/\1/p' | median_range)
  comm=$(printf '%s\n' "$out" | sed -n 's/^data parallel:.*, \([0-9.]*\) s \(exchanging\|averaging\).*/\1/p')
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$error" "$loss" "$per_epoch" "$comm"
}

# The allreduce alone (bench/mpi_allreduce.c): the paper net's gradients
# and smaller messages, for the latency and bandwidth of the estimate.
allreduce_alone() {
  mpicc -O2 -o "$WORK/mpi_allreduce" "$(dirname "$0")/mpi_allreduce.c"
  for floats in 2797011 250000 25000 256; do
    echo "    $($MPIRUN -np 2 "$WORK/mpi_allreduce" "$floats")"
  done
}

# ... and as the overlapped exchange sends it: 3 buckets, with Open MPI's
# default choice of algorithm for MPI_Iallreduce and with the ring that
# sparsec asks for (runtime/dist_mpi.c)
buckets_alone() {
  [ -x "$WORK/mpi_allreduce" ] || mpicc -O2 -o "$WORK/mpi_allreduce" "$(dirname "$0")/mpi_allreduce.c"
  for algorithm in 0 1; do
    echo "    $(OMPI_MCA_coll_libnbc_iallreduce_algorithm=$algorithm \
      $MPIRUN -np 2 "$WORK/mpi_allreduce" 2797011 50 3) (libnbc algorithm $algorithm)"
  done
}

echo "$LIMIT examples, ${REPEAT:-1} runs; $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')); \
load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if [ "$WHAT" = overlap ]; then
  echo "| batch per rank | exchange | epoch s | ms per exchange on the step's path | ms of it in MPI |"
  echo "| --- | --- | --- | --- | --- |"
  overlap 10
  overlap 100
  echo
  buckets_alone
  echo
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
if [ "$WHAT" = local ]; then
  echo "$EPOCHS epochs, test set: the first $TEST Fashion-MNIST test images"
  echo
  echo "| local steps | test error | last epoch's loss | epoch s, median (range) | s exchanging or averaging |"
  echo "| --- | --- | --- | --- | --- |"
  for k in 1 4 16; do local_steps $k; done
  echo
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
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

echo
allreduce_alone
buckets_alone
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
