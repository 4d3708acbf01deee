/* Data-parallel training under mpirun (docs/parallel.md): two ranks on
 * this machine give what one process gives with the doubled batch, keep
 * identical weights (a drift is caught), and a rank that fails ends the
 * whole job within a bounded time. Skipped when mpirun is missing or the
 * build has no MPI.
 *
 * The data: three overlapping Gaussian classes in the first two of 16
 * features (not separable: the loss keeps moving), a few random features,
 * the rest zero, written as IDX files. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "sparsert.h"
#include "support.h"

#include "workdir.h"

/* Every mpirun here runs under this many seconds, or fails the test. */
#define JOB_TIMEOUT 60

static void make_dir(void) {
  workdir_make("mpi");
}

static void remove_dir(void) {
  workdir_remove();
}

static void skip_without_mpi(void) {
#ifndef SPARSEC_HAVE_MPI
  cr_skip_test("sparsec was built without MPI");
#endif
  if (system("command -v mpirun >/dev/null 2>&1") != 0)
    cr_skip_test("mpirun is not installed (scripts/install-deps.sh installs openmpi-bin)");
}

static void setup(void) {
  skip_without_mpi();
  make_dir();
}

/* ---- data and specs ---------------------------------------------------------- */

static void write_data(const char *prefix, int n, uint64_t seed) {
  enum { D = 16 };
  uint8_t *x = calloc((size_t)n * D, 1), *y = malloc(n);
  SrRng rng;
  sr_rng_seed(&rng, seed);
  const int centre[3][2] = {{90, 90}, {150, 100}, {120, 150}};
  for (int i = 0; i < n; i++) {
    int c = (int)sr_rng_below(&rng, 3);
    y[i] = (uint8_t)c;
    for (int k = 0; k < 2; k++)
      x[i * D + k] = (uint8_t)(centre[c][k] + (int)sr_rng_below(&rng, 81) - 40);
    for (int k = 2; k < 6; k++)
      x[i * D + k] = (uint8_t)(sr_rng_below(&rng, 4) == 0 ? sr_rng_below(&rng, 256) : 0);
  }
  char name[64];
  int xdims[2] = {n, D}, ydims[1] = {n};
  snprintf(name, sizeof name, "%s-x.idx", prefix);
  write_idx(name, x, 2, xdims);
  snprintf(name, sizeof name, "%s-y.idx", prefix);
  write_idx(name, y, 1, ydims);
  free(x);
  free(y);
}

/* Momentum, L1 and L2, a pretraining stage whose noise is off (Gaussian
 * with sigma 0: noise is drawn per rank, so only noiseless pretraining
 * can equal one process), no validation hold-out (the last epoch is
 * kept), 301 examples (the last global minibatch is short). */
static const char *spec_text =
    "model {\n"
    "  input = 16\n"
    "  layer h1 = dense(24, relu, l1 = 0.0001, l2 = 0.001)\n"
    "  layer h2 = dense(24, relu)\n"
    "  layer out = dense(3, softmax)\n"
    "  loss = nll\n"
    "}\n"
    "pretrain {\n"
    "  layers = {h1}\n"
    "  noise = gaussian(0)\n"
    "  reconstruction = softplus_quadratic\n"
    "  epochs = 1\n"
    "  lr = 0.01\n"
    "  batch = 8\n"
    "}\n"
    "train { lr = 0.05  momentum = 0.5  batch = 8  epochs = 3  seed = 7 }\n"
    "data {\n"
    "  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
    "  test = idx(\"test-x.idx\", \"test-y.idx\")\n"
    "  scale = 1/255\n"
    "  validation = 0\n"
    "}\n";

static void write_experiment(void) {
  write_data("train", 301, 1);
  write_data("test", 100, 2);
  write_file("model.spn", spec_text);
}

/* ---- running ----------------------------------------------------------------- */

/* Runs `cmd` in `dir` with a time limit; returns the exit status (124 if
 * the limit was hit), the output in *out. */
static int run(const char *cmd, char **out) {
  char line[2048];
  snprintf(line, sizeof line, "timeout -s KILL %d %s", JOB_TIMEOUT, cmd);
  int rc = workdir_run(line, out);
  cr_expect(!strstr(*out, "Sanitizer") && !strstr(*out, "runtime error:"),
            "a rank's sanitizer report: %s", *out);
  return rc;
}

/* Under the sanitizers, the ranks suppress Open MPI's own leaks. */
#define MPIRUN                                                                                  \
  "env LSAN_OPTIONS=suppressions=" SPARSEC_TEST_DATA "/../lsan-mpi.supp "                      \
  "mpirun --allow-run-as-root --oversubscribe -x LSAN_OPTIONS"

/* `sparsec run` of model.spn on `ranks` ranks with `batch` per rank (both
 * the training and the pretraining batch), saving to `checkpoint`. */
static int train(int ranks, int batch, const char *env, const char *checkpoint, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "env %s " MPIRUN " -np %d %s run --set train.batch=%d --set pretrain.batch=%d "
           "--set 'output.checkpoint=\"%s\"' model.spn",
           env ? env : "", ranks, SPARSEC_BINARY, batch, batch, checkpoint);
  return run(cmd, out);
}

/* Loads two checkpoints of model.spn and compares every parameter. */
static double checkpoint_difference(const char *a, const char *b) {
  char spec_path[256], pa[256], pb[256], err[512];
  snprintf(spec_path, sizeof spec_path, "%s/model.spn", dir);
  snprintf(pa, sizeof pa, "%s/%s", dir, a);
  snprintf(pb, sizeof pb, "%s/%s", dir, b);
  Spec *spec = spec_load(spec_path, stderr);
  cr_assert_not_null(spec);
  PassOptions passes = {.enabled = 1};
  PreparedModel p;
  cr_assert_eq(prepare_model(spec, spec->train.lr, &passes, &p, err, sizeof err), 0, "%s", err);
  SrState sa, sb;
  SrError e;
  cr_assert_eq(sr_state_init(&sa, &p.model, 1, 0, &e), 0);
  cr_assert_eq(sr_state_init(&sb, &p.model, 1, 0, &e), 0);
  cr_assert_eq(sr_checkpoint_load(&sa, pa, &e), 0, "%s", e.msg);
  cr_assert_eq(sr_checkpoint_load(&sb, pb, &e), 0, "%s", e.msg);
  double worst = 0;
  for (int s = 0; s < p.model.nslots; s++)
    if (p.model.slots[s].kind == SR_SLOT_PARAM) {
      double d = max_rel_diff(sa.slots[s], sb.slots[s], sa.bytes[s] / 4, 1e-6);
      worst = d > worst ? d : worst;
    }
  sr_state_free(&sa);
  sr_state_free(&sb);
  prepared_model_free(&p);
  spec_free(spec);
  return worst;
}

/* ---- tests ------------------------------------------------------------------- */

Test(mpi, two_ranks_equal_one_with_the_doubled_batch, .init = setup, .fini = remove_dir) {
  write_experiment();
  char *one, *two, *sparse;
  cr_assert_eq(train(1, 8, NULL, "one.safetensors", &one), 0, "%s", one);
  cr_assert_eq(train(2, 4, NULL, "two.safetensors", &two), 0, "%s", two);
  cr_assert_eq(train(2, 4, "SPARSEC_EXCHANGE=sparse", "sparse.safetensors", &sparse), 0, "%s",
               sparse);
  cr_expect(strstr(two, "data parallel: 2 ranks") != NULL, "%s", two);
  cr_expect(strstr(two, "; 0 overlapped") != NULL, "one machine: blocking by default: %s", two);
  cr_expect(strstr(sparse, "sparse)") != NULL && strstr(sparse, "(0 sparse)") == NULL, "%s",
            sparse);
  /* rank 0 alone prints: one log, one result */
  const char *first = strstr(two, "epoch   3");
  cr_assert_not_null(first, "%s", two);
  cr_expect_null(strstr(first + 1, "epoch   3"), "two ranks printed: %s", two);
  cr_expect_null(strstr(one, "data parallel"), "one process is not a job: %s", one);
  double d = checkpoint_difference("one.safetensors", "two.safetensors");
  cr_expect_leq(d, 1e-4, "2 ranks x batch 4 differ from 1 x batch 8 by %g", d);
  d = checkpoint_difference("two.safetensors", "sparse.safetensors");
  cr_expect_leq(d, 1e-5, "sparse and dense exchange differ by %g", d);
  free(one);
  free(two);
  free(sparse);
}

/* The overlapped exchange (buckets started by grad_ready during the
 * backward pass) sums the same floats as the blocking one: with two ranks
 * MPI_SUM adds the same two numbers whichever the algorithm, so the
 * weights are equal bit for bit. Buckets of 1 kB: several per step. */
Test(mpi, overlapped_exchange_equals_blocking_bit_for_bit, .init = setup, .fini = remove_dir) {
  write_experiment();
  char *blocking, *overlapped;
  cr_assert_eq(train(2, 4, "SPARSEC_EXCHANGE=dense SPARSEC_BUCKET_KB=0", "blocking.safetensors",
                     &blocking), 0, "%s", blocking);
  cr_assert_eq(train(2, 4, "SPARSEC_EXCHANGE=dense SPARSEC_BUCKET_KB=1", "overlapped.safetensors",
                     &overlapped), 0, "%s", overlapped);
  cr_expect(strstr(blocking, "; 0 overlapped") != NULL, "%s", blocking);
  cr_expect(strstr(overlapped, "; 0 overlapped") == NULL &&
                strstr(overlapped, "overlapped with the backward pass") != NULL,
            "%s", overlapped);
  double d = checkpoint_difference("blocking.safetensors", "overlapped.safetensors");
  cr_expect_eq(d, 0, "overlapped and blocking exchanges differ by %g", d);
  free(blocking);
  free(overlapped);
}

/* Local SGD (SPARSEC_LOCAL_STEPS) gives up the equality with one process
 * on purpose; it must still train, keep the ranks' weights identical
 * after each averaging (checked by the checksum), and say what it did. */
Test(mpi, local_steps_train_and_average, .init = setup, .fini = remove_dir) {
  write_experiment();
  char *exact, *local;
  cr_assert_eq(train(2, 4, NULL, "exact.safetensors", &exact), 0, "%s", exact);
  cr_assert_eq(train(2, 4, "SPARSEC_LOCAL_STEPS=4", "local.safetensors", &local), 0, "%s",
               local);
  cr_expect(strstr(local, "local SGD: 4 steps between averagings") != NULL, "%s", local);
  cr_expect(strstr(local, "epoch   3") != NULL, "%s", local);
  double d = checkpoint_difference("exact.safetensors", "local.safetensors");
  cr_expect_gt(d, 0, "local steps changed nothing");
  free(exact);
  free(local);
}

/* A program built by `sparsec build` trains the same way under mpirun. */
Test(mpi, built_program_trains_on_two_ranks, .init = setup, .fini = remove_dir) {
  write_experiment();
  char cmd[1024], *out, *one;
  snprintf(cmd, sizeof cmd,
           "%s build --mpi -o prog --set train.batch=4 --set pretrain.batch=4 model.spn",
           SPARSEC_BINARY);
  cr_assert_eq(run(cmd, &out), 0, "%s", out);
  free(out);
  cr_assert_eq(run(MPIRUN " -np 2 ./prog train --save prog.safetensors", &out), 0, "%s", out);
  cr_expect(strstr(out, "data parallel: 2 ranks") != NULL, "%s", out);
  cr_assert_eq(train(1, 8, NULL, "one.safetensors", &one), 0, "%s", one);
  double d = checkpoint_difference("one.safetensors", "prog.safetensors");
  cr_expect_leq(d, 1e-4, "PROG on 2 ranks x batch 4 differs from 1 x batch 8 by %g", d);
  free(out);
  free(one);
}

Test(mpi, drift_between_ranks_is_caught, .init = setup, .fini = remove_dir) {
  write_experiment();
  char *out;
  int rc = train(2, 4, "SPARSEC_MPI_FAULT=perturb:1", "drift.safetensors", &out);
  cr_expect_neq(rc, 0, "%s", out);
  cr_expect_neq(rc, 124, "timed out: %s", out);
  cr_expect(strstr(out, "weights of rank 1 differ from rank 0's") != NULL, "%s", out);
  char path[256];
  snprintf(path, sizeof path, "%s/drift.safetensors", dir);
  cr_expect_neq(access(path, F_OK), 0, "no checkpoint after a drift");
  free(out);
}

Test(mpi, missing_data_on_one_rank_stops_every_rank, .init = setup, .fini = remove_dir) {
  write_experiment();
  char *bad = strdup(spec_text);
  memcpy(strstr(bad, "train-x.idx"), "gone-x.idx ", 11);
  write_file("bad.spn", bad);
  free(bad);
  char cmd[1024], *out;
  /* MPMD: rank 0 runs the good spec, rank 1 one whose data is missing */
  snprintf(cmd, sizeof cmd, MPIRUN " -np 1 %s run model.spn : -np 1 %s run bad.spn",
           SPARSEC_BINARY, SPARSEC_BINARY);
  int rc = run(cmd, &out);
  cr_expect_neq(rc, 0, "%s", out);
  cr_expect_neq(rc, 124, "timed out: %s", out);
  cr_expect(strstr(out, "rank 1: gone-x.idx") != NULL, "%s", out);
  cr_expect(strstr(out, "rank 0: stopping because rank 1 failed") != NULL, "%s", out);
  free(out);
}

Test(mpi, a_dead_rank_ends_the_job, .init = setup, .fini = remove_dir) {
  write_experiment();
  char *out;
  int rc = train(2, 4, "SPARSEC_MPI_FAULT=kill:1", "dead.safetensors", &out);
  cr_expect_neq(rc, 0, "%s", out);
  cr_expect_neq(rc, 124, "the job hung instead of ending: %s", out);
  cr_expect(strstr(out, "rank 1") != NULL, "mpirun names the dead rank: %s", out);
  free(out);
}

Test(mpi, bad_settings_are_refused_by_every_rank, .init = setup, .fini = remove_dir) {
  write_experiment();
  char *out;
  int rc = train(2, 4, "SPARSEC_EXCHANGE=fast", "x.safetensors", &out);
  cr_expect_neq(rc, 0, "%s", out);
  cr_expect_neq(rc, 124, "timed out: %s", out);
  cr_expect(strstr(out, "SPARSEC_EXCHANGE must be dense, sparse or auto, not 'fast'") != NULL,
            "%s", out);
  free(out);
  rc = train(2, 4, "SPARSEC_LOCAL_STEPS=0", "x.safetensors", &out);
  cr_expect(rc != 0 && rc != 124, "%s", out);
  cr_expect(strstr(out, "SPARSEC_LOCAL_STEPS must be a whole number from 1 to 1000000, not '0'") !=
                NULL,
            "%s", out);
  free(out);
  rc = train(2, 4, "SPARSEC_BUCKET_KB=lots", "x.safetensors", &out);
  cr_expect(rc != 0 && rc != 124, "%s", out);
  cr_expect(strstr(out, "SPARSEC_BUCKET_KB must be a whole number") != NULL, "%s", out);
  free(out);
}

/* A build without MPI is one process; started as one of several ranks it
 * says so instead of training N unrelated copies. The launcher's variable
 * stands in for mpirun (without MPI nothing else is read). */
static void setup_no_mpi(void) {
#ifdef SPARSEC_HAVE_MPI
  cr_skip_test("this build has MPI");
#endif
  make_dir();
}

Test(no_mpi, says_built_without_mpi, .init = setup_no_mpi, .fini = remove_dir) {
  write_experiment();
  char cmd[512], *out;
  snprintf(cmd, sizeof cmd, "env OMPI_COMM_WORLD_SIZE=2 %s run model.spn", SPARSEC_BINARY);
  cr_expect_eq(run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "built without MPI") != NULL, "%s", out);
  free(out);
}
