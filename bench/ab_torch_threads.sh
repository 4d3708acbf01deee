#!/bin/sh
# A/B of PyTorch thread settings, interleaved (bench/README.md). OLD: torch_bench.py from before the fix (git show c07479c:bench/torch_bench.py)
C=${CHECKPOINT:?set CHECKPOINT}; D=${DATA:-$(dirname "$0")/../data/fashion-mnist}; OLD=${OLD:-/tmp/old_torch_bench.py}; NEW=$(dirname "$0")/torch_bench.py
A="--checkpoint $C --data $D --batches 10,32,128 --reps 3"
for round in 1 2 3; do
  echo "## round $round load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== old script (HEAD), threads 2"; /usr/bin/python3 $OLD $A --threads 2 | grep train
  echo "== old script (HEAD), threads 1"; /usr/bin/python3 $OLD $A --threads 1 | grep train
  echo "== new, threads 2, omp 2 blas 2, libgomp default wait"; /usr/bin/python3 $NEW $A --threads 2 --wait-policy '' | grep train
  echo "== new, threads 2, omp 2 blas 2, PASSIVE"; /usr/bin/python3 $NEW $A --threads 2 | grep train
  echo "== new, threads 2, omp 1 blas 2, PASSIVE"; /usr/bin/python3 $NEW $A --threads 2 --omp-threads 1 | grep train
  echo "== new, threads 1, PASSIVE"; /usr/bin/python3 $NEW $A --threads 1 | grep train
done
echo "## end load $(cut -d' ' -f1-3 /proc/loadavg)"
