#!/bin/sh
# fuzz/run.sh [SECONDS]: fuzz the frontend with libFuzzer for SECONDS
# (default 60), starting from fuzz/corpus. Builds the fuzzer standalone
# (only flex, bison and clang needed) in build-fuzz/. Exits non-zero on a
# crash, leak, hang or sanitizer report; the input that caused it is written
# to build-fuzz/crashes/: fix the bug, then add the input to fuzz/corpus.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=${CC:-clang-16}
if ! command -v "$CC" >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-16
fi
CC="$CC" cmake -S fuzz -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_spec
mkdir -p build-fuzz/corpus build-fuzz/crashes
./build-fuzz/fuzz_spec -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=8192 -dict=fuzz/spec.dict -artifact_prefix=build-fuzz/crashes/ \
  -print_final_stats=1 build-fuzz/corpus fuzz/corpus
