#!/bin/sh
# fuzz/run.sh [SECONDS [TARGET...]]: a bounded libFuzzer run of every target
# (fuzz/README.md), one after another, each starting from its seed corpus.
#
#   SECONDS  how long fuzz_spec (the frontend) runs; default 60. Every other
#            target runs 2/5 of that (24 s at 60), at least 5 s; set
#            FUZZ_OTHER_SECONDS to choose it. `./fuzz/run.sh 60` (CI) takes
#            about 3.5 minutes in all, plus the build.
#   TARGET   spec idx csv libsvm safetensors state repl (default: all of them)
#
# Builds the fuzzers standalone in build-fuzz/ (clang-16, flex, bison, zlib
# and LLVM 16's headers; clang-16 is installed if missing). Every target runs
# with -rss_limit_mb=512 (also the largest single allocation) and -timeout=5
# (seconds per input), so that an allocation bomb or a slow input is a
# failure like a crash, a leak or a sanitizer report. The run exits non-zero
# if any target failed; the input that did it is in build-fuzz/crashes/
# (TARGET-crash-..., -leak-, -timeout-, -oom-): fix the bug, then add the
# input to the target's corpus. New inputs libFuzzer finds go to
# build-fuzz/corpus-TARGET/, not to the repository.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-spec idx csv libsvm safetensors state repl}
other=${FUZZ_OTHER_SECONDS:-$((seconds * 2 / 5))}
[ "$other" -ge 5 ] || other=5

CC=${CC:-clang-16}
if ! command -v "$CC" >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-16
fi
CC="$CC" cmake -S fuzz -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fuzzers=
for t in $targets; do
  fuzzers="$fuzzers fuzz_$t"
done
# shellcheck disable=SC2086 # one word per target
cmake --build build-fuzz -j "$(nproc)" --target $fuzzers
mkdir -p build-fuzz/crashes

failed=
for t in $targets; do
  case $t in
    spec) corpus=fuzz/corpus time=$seconds opts="-max_len=8192 -dict=fuzz/spec.dict" ;;
    idx) corpus=fuzz/corpus-idx time=$other opts="-max_len=4096 -dict=fuzz/idx.dict" ;;
    csv) corpus=fuzz/corpus-csv time=$other opts="-max_len=4096 -dict=fuzz/csv.dict" ;;
    libsvm) corpus=fuzz/corpus-libsvm time=$other opts="-max_len=4096 -dict=fuzz/libsvm.dict" ;;
    safetensors)
      corpus=fuzz/corpus-safetensors time=$other
      opts="-max_len=4096 -dict=fuzz/safetensors.dict" ;;
    state) corpus=fuzz/corpus-state time=$other opts="-max_len=8192 -dict=fuzz/state.dict" ;;
    # the REPL's messages and the stubs' lines: libFuzzer's own output stays
    repl) corpus=fuzz/corpus-repl time=$other opts="-max_len=2048 -dict=fuzz/repl.dict -close_fd_mask=3" ;;
    *) echo "fuzz/run.sh: unknown target '$t'" >&2; exit 2 ;;
  esac
  mkdir -p "build-fuzz/corpus-$t"
  echo "== fuzz_$t: $time s from $corpus"
  # shellcheck disable=SC2086 # opts are separate words
  if ! "./build-fuzz/fuzz_$t" -max_total_time="$time" -timeout=5 -rss_limit_mb=512 \
      $opts -artifact_prefix="build-fuzz/crashes/$t-" -print_final_stats=1 \
      "build-fuzz/corpus-$t" "$corpus"; then
    echo "== fuzz_$t FAILED: see build-fuzz/crashes/$t-*" >&2
    failed="$failed $t"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz/run.sh: failed:$failed" >&2
  exit 1
fi
