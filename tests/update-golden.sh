#!/bin/sh
# Regenerates tests/golden/: `sparsec ir` of each golden example, unoptimised
# and after each pass. Run after a deliberate change to the IR or a pass, then
# review the diff: it is the change's effect on the programs.
# Usage: tests/update-golden.sh [path/to/sparsec]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sparsec=${1:-$here/../build/sparsec}
for example in fashion_mnist_relu fashion_mnist_relu_pretrain; do
  spec=$here/../examples/$example.spn
  "$sparsec" ir --passes none "$spec" > "$here/golden/$example.none.ir"
  for pass in prune-zero fuse-relu fuse-sgd schedule-updates sparse-products dce; do
    "$sparsec" ir --after $pass "$spec" > "$here/golden/$example.$pass.ir"
  done
done
echo "tests/golden updated; review with git diff tests/golden"
