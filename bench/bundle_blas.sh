#!/bin/sh
# BLAS-free bundles against OpenBLAS ones (docs/aot.md, "BLAS-free bundles"):
# executable size, shared libraries, inference speed at batch 1 and 128.
#
#   bench/bundle_blas.sh SPEC WEIGHTS [BYTES]
#
# SPEC is built twice with WEIGHTS embedded (--blas none, --blas openblas),
# each bundle linked with examples/embed/main.c-like bench/bundle_bench.c
# as `sparsec build` says; BYTES as bundle_bench.c's. Run from the
# repository's root with sparsec built in $BUILD (default build/).
set -eu
spec=$1 weights=$2 bytes=${3:-}
build=${BUILD:-build}
runtime=$build/runtime/libsparsert_serial.a
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name=$(basename "$spec" .spn | tr -c 'A-Za-z0-9_\n' _)
upper=$(echo "$name" | tr a-z A-Z)
# The size of what must be shipped: the executable and every shared
# library it needs beyond libc and libm (symbolic links resolved).
shipped() {
  libs=$(ldd "$1" | awk '/=>/ && $1 !~ /^lib(c|m)\.so/ {print $3}')
  total=$(stat -c %s "$1")
  for l in $libs; do total=$((total + $(stat -L -c %s "$l"))); done
  echo "$total"
}

# link OUT BLAS LIBS...: the bench with the bundle built with --blas BLAS
link() {
  out=$1 blas=$2
  shift 2
  cc -O2 -DBUNDLE="$name" -DINPUTS="${upper}_INPUTS" -DCLASSES="${upper}_CLASSES" \
     -DSCALE="${upper}_SCALE" -include "$work/$blas/$name.h" bench/bundle_bench.c \
     "$work/$blas/$name.o" "$runtime" "$@" -o "$out"
}

for blas in none openblas; do
  "$build/sparsec" build "$spec" --bundle "$work/$blas" --blas "$blas" --embed-weights "$weights" >/dev/null
  echo "--blas $blas: $name.o $(stat -c %s "$work/$blas/$name.o") bytes"
done
link "$work/bench_none" none -lm
link "$work/bench_openblas" openblas -Wl,--as-needed -lopenblas -lz -lm
# OpenBLAS linked statically: what it adds to the executable itself
link "$work/bench_static" openblas -Wl,-Bstatic -lopenblas -Wl,-Bdynamic -lgfortran -lm -lpthread
for exe in none openblas static; do
  bin=$work/bench_$exe
  strip -o "$bin.stripped" "$bin"
  echo "== $exe: executable $(stat -c %s "$bin") bytes ($(stat -c %s "$bin.stripped") stripped)," \
       "shipped with its libraries $(shipped "$bin") bytes"
  echo "   needs: $(ldd "$bin" | awk '/=>/ {print $1}' | tr '\n' ' ')"
  for batch in 1 128; do
    echo "   $("$bin" "$batch" $bytes)"
  done
done
