/* Tests for state.c, train.c and progress.c. A hand-written model stands
 * in for generated code: multinomial logistic regression on three 2-D
 * Gaussian blobs, with two fake "hidden layers" whose zero counts are known
 * exactly:
 *   h1 = relu(x0), relu(-x0), relu(x1), relu(-x1)  -> 2 of 4 units zero
 *   h2 = two units that are always 0               -> 2 of 2 units zero
 * Kernel misbehaviour (NaN loss, NaN weights, wrecked parameters) is
 * switched on through globals, the way a diverging network would
 * misbehave; so is an overflow in the forward pass: a finite but huge
 * input makes a chosen layer's values inf or NaN from there on. A second,
 * scripted model whose validation error follows a given list drives the
 * early-stopping tests. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sparsert.h"
#include "sparsert_internal.h"

/* Under AddressSanitizer an impossible allocation is a fatal report by
 * default; the out-of-memory test needs malloc's ordinary NULL. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
}

enum { DIM = 2, CLASSES = 3 };
enum {
  SLOT_W, SLOT_B, SLOT_X, SLOT_Y, SLOT_PROBS, SLOT_LOSS, SLOT_TRAIN_LOSS, SLOT_Z1, SLOT_Z2,
  SLOT_NF1, SLOT_NF2
};

static const SrSlot slots[] = {
    [SLOT_W] = {"W", SR_SLOT_PARAM, DIM, CLASSES, SR_INIT_GLOROT_UNIFORM, 0, DIM, CLASSES, 0, 0},
    [SLOT_B] = {"b", SR_SLOT_PARAM, 1, CLASSES, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_X] = {"x", SR_SLOT_INPUT, -1, DIM, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_Y] = {"y", SR_SLOT_LABELS, -1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_PROBS] = {"probs", SR_SLOT_TEMP, -1, CLASSES, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_LOSS] = {"loss", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_TRAIN_LOSS] = {"train_loss", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_Z1] = {"zeros_h1", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_Z2] = {"zeros_h2", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_NF1] = {"nonfinite_h1", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SLOT_NF2] = {"nonfinite_h2", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
};

/* ---- the "generated" kernels --------------------------------------------- */

static float learning_rate = 0.1f;
static long steps;          /* train_step calls so far */
static long nan_at_step;    /* 0: never */
static long wreck_after;    /* 0: never; else steps beyond it zero W and bias class 0 */
static long nan_weight_at;  /* 0: never; else that step leaves a NaN in W, its loss finite */
static long stop_at_step;   /* 0: never; else that step raises stop_flag, as Ctrl-C would */
static int overflow_layer;  /* 0: never; 1, 2: h1, h2; 3: the output (see overflow) */
static int inf_loss;        /* infer's loss is inf, everything else finite */
static volatile sig_atomic_t stop_flag;

/* probs = softmax(x W + b); returns the mean negative log-likelihood. */
static float forward(void **s, int64_t rows) {
  const float *w = s[SLOT_W], *b = s[SLOT_B], *x = s[SLOT_X];
  const int32_t *y = s[SLOT_Y];
  float *p = s[SLOT_PROBS];
  double loss = 0;
  for (int64_t r = 0; r < rows; r++) {
    float *pr = p + r * CLASSES, top = -INFINITY, sum = 0;
    for (int c = 0; c < CLASSES; c++) {
      pr[c] = b[c] + x[r * DIM] * w[c] + x[r * DIM + 1] * w[CLASSES + c];
      top = pr[c] > top ? pr[c] : top;
    }
    for (int c = 0; c < CLASSES; c++)
      sum += pr[c] = expf(pr[c] - top);
    for (int c = 0; c < CLASSES; c++)
      pr[c] /= sum;
    loss -= log(pr[y[r]]);
  }
  return (float)(loss / rows);
}

static void count_zeros(void **s, int64_t rows) {
  const float *x = s[SLOT_X];
  float zeros = 0;
  for (int64_t i = 0; i < rows * DIM; i++)
    zeros += (fmaxf(x[i], 0) == 0) + (fmaxf(-x[i], 0) == 0);
  *(float *)s[SLOT_Z1] = zeros;
  *(float *)s[SLOT_Z2] = 2.0f * (float)rows;
}

/* Rows whose first input is above 1e30 (finite) overflow from layer
 * `overflow_layer` on, as weights of 1e30 would: every pre-activation of
 * that layer and the next is inf or NaN, and so are the row's outputs. */
static void overflow(void **s, int64_t rows) {
  const float *x = s[SLOT_X];
  float *p = s[SLOT_PROBS], *nf1 = s[SLOT_NF1], *nf2 = s[SLOT_NF2];
  *nf1 = *nf2 = 0;
  for (int64_t r = 0; overflow_layer && r < rows; r++) {
    if (!(x[r * DIM] > 1e30f))
      continue;
    *nf1 += overflow_layer <= 1 ? 4 : 0;
    *nf2 += overflow_layer <= 2 ? 2 : 0;
    for (int c = 0; c < CLASSES; c++)
      p[r * CLASSES + c] = NAN;
  }
  if (inf_loss)
    *(float *)s[SLOT_LOSS] = INFINITY;
}

static void infer(void **s, int64_t rows) {
  *(float *)s[SLOT_LOSS] = forward(s, rows);
  count_zeros(s, rows);
  overflow(s, rows);
}

/* Plain SGD on the softmax cross-entropy. */
static void sgd_update(void **s, int64_t rows) {
  float *w = s[SLOT_W], *b = s[SLOT_B];
  const float *x = s[SLOT_X], *p = s[SLOT_PROBS];
  const int32_t *y = s[SLOT_Y];
  for (int64_t r = 0; r < rows; r++)
    for (int c = 0; c < CLASSES; c++) {
      float g = (p[r * CLASSES + c] - (c == y[r])) * learning_rate / (float)rows;
      b[c] -= g;
      w[c] -= g * x[r * DIM];
      w[CLASSES + c] -= g * x[r * DIM + 1];
    }
}

static void misbehave(void **s) {
  float *w = s[SLOT_W], *b = s[SLOT_B];
  if (nan_at_step && steps == nan_at_step) {
    *(float *)s[SLOT_TRAIN_LOSS] = NAN;
    w[0] = NAN; /* as a real divergence would */
  }
  if (nan_weight_at && steps == nan_weight_at)
    w[1] = NAN; /* after the loss was computed: only the weights show it */
  if (stop_at_step && steps == stop_at_step)
    stop_flag = 1;
  if (wreck_after && steps > wreck_after) {
    memset(w, 0, DIM * CLASSES * sizeof *w);
    b[0] = 5, b[1] = 0, b[2] = 0; /* always predicts class 0 */
  }
}

static void train_step(void **s, int64_t rows) {
  steps++;
  *(float *)s[SLOT_TRAIN_LOSS] = forward(s, rows);
  sgd_update(s, rows);
  misbehave(s);
}

static const SrModel model = {
    .slots = slots,
    .nslots = sizeof slots / sizeof *slots,
    .train_step = train_step,
    .infer = infer,
    .slot_x = SLOT_X,
    .slot_y = SLOT_Y,
    .slot_train_loss = SLOT_TRAIN_LOSS,
    .slot_loss = SLOT_LOSS,
    .slot_probs = SLOT_PROBS,
    .classes = CLASSES,
    .nhidden = 2,
    .hidden_names = {"h1", "h2"},
    .hidden_units = {4, 2},
    .slot_zeros = {SLOT_Z1, SLOT_Z2},
    .slot_nonfinite = {SLOT_NF1, SLOT_NF2},
    .output_name = "out",
};

/* ---- data: three blobs, separable but for a rare outlier ----------------- */

static const float centres[CLASSES][DIM] = {{0, 3}, {3, -2}, {-3, -2}};

static double gaussian(SrRng *rng) {
  double u = 1.0 - sr_rng_uniform(rng), v = sr_rng_uniform(rng); /* u in (0, 1] */
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static SrDataset blobs(int n, uint64_t seed) {
  SrDataset ds = {.n = n, .dim = DIM, .owns = 1};
  ds.x = malloc((size_t)n * DIM * sizeof *ds.x);
  ds.y = malloc((size_t)n * sizeof *ds.y);
  cr_assert(ds.x && ds.y);
  SrRng rng;
  sr_rng_seed(&rng, seed);
  for (int i = 0; i < n; i++) {
    ds.y[i] = (int32_t)sr_rng_below(&rng, CLASSES);
    for (int d = 0; d < DIM; d++)
      ds.x[i * DIM + d] = centres[ds.y[i]][d] + 1.0f * (float)gaussian(&rng);
  }
  return ds;
}

static SrDataset train, valid, test;

static void setup(void) {
  learning_rate = 0.1f;
  steps = nan_at_step = wreck_after = nan_weight_at = stop_at_step = 0;
  overflow_layer = inf_loss = 0;
  stop_flag = 0;
  train = blobs(600, 1);
  valid = blobs(150, 2);
  test = blobs(150, 3);
}

static void teardown(void) {
  sr_dataset_free(&train);
  sr_dataset_free(&valid);
  sr_dataset_free(&test);
}

TestSuite(state, .init = setup, .fini = teardown);
TestSuite(evaluate, .init = setup, .fini = teardown);
TestSuite(fit, .init = setup, .fini = teardown);

static void new_state(SrState *st, int max_rows) {
  SrError err;
  cr_assert_eq(sr_state_init(st, &model, max_rows, 42, &err), 0, "%s", err.msg);
}

static void assert_same_params(const SrState *a, const SrState *b) {
  cr_assert_arr_eq(a->slots[SLOT_W], b->slots[SLOT_W], DIM * CLASSES * sizeof(float));
  cr_assert_arr_eq(a->slots[SLOT_B], b->slots[SLOT_B], CLASSES * sizeof(float));
}

/* ---- state --------------------------------------------------------------- */

Test(state, allocates_aligned_zeroed_slots) {
  SrState st;
  new_state(&st, 50);
  for (int i = 0; i < model.nslots; i++) {
    cr_assert_eq((uintptr_t)st.slots[i] % 64, 0, "slot %d misaligned", i);
    cr_assert_eq(st.bytes[i] % 64, 0);
  }
  cr_assert_geq(st.bytes[SLOT_X], 50 * DIM * sizeof(float));
  cr_assert_geq(st.bytes[SLOT_Y], 50 * sizeof(int32_t));
  cr_assert_geq(st.bytes[SLOT_PROBS], 50 * CLASSES * sizeof(float));
  const uint8_t *probs = st.slots[SLOT_PROBS];
  for (size_t i = 0; i < st.bytes[SLOT_PROBS]; i++)
    cr_assert_eq(probs[i], 0);
  sr_state_free(&st);
  cr_assert_null(st.slots);
}

Test(state, initialises_params_deterministically) {
  SrState a, b, c;
  SrError err;
  new_state(&a, 4);
  new_state(&b, 9); /* batch capacity does not change the parameters */
  cr_assert_eq(sr_state_init(&c, &model, 4, 43, &err), 0, "%s", err.msg);
  assert_same_params(&a, &b);
  const float *w = a.slots[SLOT_W], *bias = a.slots[SLOT_B], *wc = c.slots[SLOT_W];
  float limit = sqrtf(6.0f / (DIM + CLASSES));
  int differ = 0;
  for (int i = 0; i < DIM * CLASSES; i++) {
    cr_assert(w[i] != 0 && fabsf(w[i]) <= limit, "W[%d] = %g", i, w[i]);
    differ += w[i] != wc[i];
  }
  cr_assert_gt(differ, 0, "seeds 42 and 43 gave the same weights");
  for (int i = 0; i < CLASSES; i++)
    cr_assert_float_eq(bias[i], 0.0f, 0);
  sr_state_free(&a);
  sr_state_free(&b);
  sr_state_free(&c);
}

Test(state, copy_params_copies_only_params) {
  SrState a, b;
  new_state(&a, 4);
  new_state(&b, 4);
  ((float *)a.slots[SLOT_B])[1] = 7;
  ((float *)a.slots[SLOT_LOSS])[0] = 9;
  sr_state_copy_params(&b, &a);
  assert_same_params(&a, &b);
  cr_assert_float_eq(((float *)b.slots[SLOT_LOSS])[0], 0.0f, 0);
  sr_state_free(&a);
  sr_state_free(&b);
}

Test(state, refuses_bad_models) {
  SrSlot bad[] = {{"W", SR_SLOT_PARAM, -1, 3, SR_INIT_ZERO, 0, 0, 0, 0, 0}};
  SrModel m = {.slots = bad, .nslots = 1};
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &m, 4, 1, &err), -1);
  cr_assert_str_eq(err.msg, "model slot 0 (W): a parameter cannot have one row per example");
  bad[0] = (SrSlot){"x", SR_SLOT_INPUT, -1, 0, SR_INIT_ZERO, 0, 0, 0, 0, 0};
  cr_assert_eq(sr_state_init(&st, &m, 4, 1, &err), -1);
  cr_assert_str_eq(err.msg, "model slot 0 (x): bad shape -1 x 0");
  bad[0] = (SrSlot){"W", SR_SLOT_PARAM, 2, 3, SR_INIT_GLOROT_UNIFORM, 0, 0, 3, 0, 0};
  cr_assert_eq(sr_state_init(&st, &m, 4, 1, &err), -1);
  cr_assert_not_null(strstr(err.msg, "Glorot init needs positive fans"), "%s", err.msg);
  cr_assert_eq(sr_state_init(&st, &model, 0, 1, &err), -1);
  cr_assert_not_null(strstr(err.msg, "max_rows must be at least 1"), "%s", err.msg);
}

Test(state, refuses_impossible_allocation) {
  SrSlot huge[] = {{"big", SR_SLOT_TEMP, -1, 1 << 30, SR_INIT_ZERO, 0, 0, 0, 0, 0}};
  SrModel m = {.slots = huge, .nslots = 1};
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &m, 1 << 30, 1, &err), -1);
  cr_assert_not_null(strstr(err.msg, "model slot 0 (big): out of memory"), "%s", err.msg);
  cr_assert_null(st.slots);
}

/* ---- evaluation ---------------------------------------------------------- */

/* The same quantities computed in one pass with rows = n. */
static void reference_metrics(SrState *st, const SrDataset *ds, double *loss, double *error) {
  SrState big;
  new_state(&big, ds->n);
  sr_state_copy_params(&big, st);
  memcpy(big.slots[SLOT_X], ds->x, (size_t)ds->n * DIM * sizeof(float));
  memcpy(big.slots[SLOT_Y], ds->y, (size_t)ds->n * sizeof(int32_t));
  *loss = forward(big.slots, ds->n);
  const float *p = big.slots[SLOT_PROBS];
  int wrong = 0;
  for (int r = 0; r < ds->n; r++) {
    int best = 0;
    for (int c = 1; c < CLASSES; c++)
      best = p[r * CLASSES + c] > p[r * CLASSES + best] ? c : best;
    wrong += best != ds->y[r];
  }
  *error = (double)wrong / ds->n;
  sr_state_free(&big);
}

Test(evaluate, batches_add_up) {
  SrState st;
  new_state(&st, 7); /* 150 = 21 * 7 + 3: the last batch is short */
  SrMetrics m;
  SrError err;
  cr_assert_eq(sr_evaluate(&st, &valid, &m, &err), 0, "%s", err.msg);
  double loss, error;
  reference_metrics(&st, &valid, &loss, &error);
  cr_assert_float_eq(m.loss, loss, 1e-5);
  cr_assert_float_eq(m.error, error, 1e-12);
  cr_assert_eq(m.nhidden, 2);
  cr_assert_float_eq(m.sparsity[0], 0.5, 1e-12);
  cr_assert_float_eq(m.sparsity[1], 1.0, 1e-12);
  cr_assert_float_eq(m.mean_sparsity, 4.0 / 6, 1e-12); /* weighted by units */
  sr_state_free(&st);
}

Test(evaluate, empty_data_set) {
  SrState st;
  new_state(&st, 7);
  SrDataset none = {.n = 0, .dim = DIM};
  SrMetrics m;
  SrError err;
  cr_assert_eq(sr_evaluate(&st, &none, &m, &err), 0, "%s", err.msg);
  cr_assert_float_eq(m.loss, 0.0, 0);
  sr_state_free(&st);
}

Test(evaluate, refuses_wrong_width) {
  SrState st;
  new_state(&st, 7);
  float x[6] = {0};
  int32_t y[2] = {0};
  SrDataset wide = {.n = 2, .dim = 3, .x = x, .y = y};
  SrMetrics m;
  SrError err;
  cr_assert_eq(sr_evaluate(&st, &wide, &m, &err), -1);
  cr_assert_str_eq(err.msg, "data: examples have 3 features, the model's input is 2");
  sr_state_free(&st);
}

Test(evaluate, refuses_bad_slot_numbers) {
  SrModel broken = model;
  broken.slot_probs = 99;
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &broken, 7, 1, &err), 0, "%s", err.msg);
  SrMetrics m;
  cr_assert_eq(sr_evaluate(&st, &valid, &m, &err), -1);
  cr_assert_not_null(strstr(err.msg, "probabilities slot 99 does not exist"), "%s", err.msg);
  sr_state_free(&st);
}

Test(evaluate, refuses_a_bad_nonfinite_slot) {
  SrModel broken = model;
  broken.slot_nonfinite[1] = 99;
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &broken, 7, 1, &err), 0, "%s", err.msg);
  SrMetrics m;
  cr_assert_eq(sr_evaluate(&st, &valid, &m, &err), -1);
  cr_assert_not_null(strstr(err.msg, "non-finite count slot 99 does not exist"), "%s", err.msg);
  sr_state_free(&st);
}

/* Example `example` (1-based) becomes finite but huge; returns what it was. */
static float make_huge(SrDataset *ds, int example) {
  float was = ds->x[(size_t)(example - 1) * DIM];
  ds->x[(size_t)(example - 1) * DIM] = 3e37f;
  return was;
}

/* The first layer whose count is not zero is named, with the batch; the
 * outputs' NaN (which later layers would show too) are not blamed. */
Test(evaluate, names_the_layer_where_an_overflow_starts) {
  SrState st;
  new_state(&st, 10);
  float was = make_huge(&valid, 24);
  SrMetrics m;
  SrError err;
  overflow_layer = 2;
  cr_assert_eq(sr_evaluate(&st, &valid, &m, &err), -1);
  cr_assert_str_eq(err.msg, "layer h2: 2 of 20 activations are not finite (inf or NaN) in "
                            "examples 21..30: the values overflow float (weights or inputs too "
                            "large)");
  cr_assert_float_eq(m.loss, 0.0, 0); /* no NaN handed back either */
  overflow_layer = 1;
  cr_assert_eq(sr_evaluate(&st, &valid, &m, &err), -1);
  cr_assert_not_null(strstr(err.msg, "layer h1: 4 of 40 activations are not finite"), "%s",
                     err.msg);
  overflow_layer = 3; /* the hidden layers are finite, the outputs are not */
  cr_assert_eq(sr_evaluate(&st, &valid, &m, &err), -1);
  cr_assert_str_eq(err.msg, "layer out: 3 of 30 outputs are not finite (nan, first in example "
                            "24) in examples 21..30, though every hidden activation is finite: "
                            "the values overflow float (weights too large)");
  overflow_layer = 0;
  valid.x[23 * DIM] = was;
  cr_assert_eq(sr_evaluate(&st, &valid, &m, &err), 0, "%s", err.msg);
  inf_loss = 1; /* e.g. logits 3e38 apart: probabilities 1 and 0, loss inf */
  cr_assert_eq(sr_evaluate(&st, &valid, &m, &err), -1);
  cr_assert_str_eq(err.msg, "layer out: the loss is not finite (inf) in examples 1..10, though "
                            "every output is: the outputs are too large for it (weights too "
                            "large)");
  sr_state_free(&st);
}

/* ---- training ------------------------------------------------------------ */

static SrTrainConfig config(int epochs, FILE *log) {
  return (SrTrainConfig){.epochs = epochs, .batch = 10, .seed = 5, .log = log};
}

/* Training losses parsed back from the log lines. */
static int logged_losses(const char *log, double *loss, int max) {
  int n = 0;
  for (const char *p = log; (p = strstr(p, "loss ")) && n < max; p++)
    loss[n++] = atof(p + 5);
  return n;
}

Test(fit, learns_separable_blobs) {
  SrState st;
  new_state(&st, 32);
  SrMetrics before, after;
  SrError err;
  cr_assert_eq(sr_evaluate(&st, &valid, &before, &err), 0, "%s", err.msg);
  cr_assert_gt(before.error, 0.5); /* the random start is bad: training must do the work */

  char *log = NULL;
  size_t loglen = 0;
  FILE *f = open_memstream(&log, &loglen);
  SrTrainConfig cfg = config(5, f);
  SrFitResult res;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, &test, &res, &err), 0, "%s", err.msg);
  fclose(f);

  cr_assert_eq(res.epochs_run, 5);
  cr_assert(res.best_epoch >= 1 && res.best_epoch <= 5);
  cr_assert_lt(res.best_valid.error, 0.05);
  cr_assert_lt(res.best_test.error, 0.05);
  cr_assert_float_eq(res.best_valid.sparsity[0], 0.5, 1e-12);
  cr_assert_geq(res.seconds, 0);
  cr_assert_eq(sr_evaluate(&st, &valid, &after, &err), 0, "%s", err.msg);
  cr_assert_lt(after.loss, before.loss / 4, "loss %g -> %g", before.loss, after.loss);

  double losses[8];
  cr_assert_eq(logged_losses(log, losses, 8), 5, "log:\n%s", log);
  cr_assert_lt(losses[4], losses[0], "log:\n%s", log);
  cr_assert_eq(strncmp(log, "epoch   1  loss ", 16), 0, "log:\n%s", log);
  cr_assert_not_null(strstr(log, "zeros h1 50.0% h2 100.0%"), "log:\n%s", log);
  cr_assert_not_null(strstr(log, "\nepoch   5  loss "), "log:\n%s", log);
  cr_assert_not_null(strstr(log, "  valid "), "log:\n%s", log);
  cr_assert_not_null(strstr(log, "  test "), "log:\n%s", log);
  free(log);
  sr_state_free(&st);
}

/* After epoch 2 the kernel wrecks the weights, so epoch 2 (or 1) must be
 * the best and its parameters must be what sr_fit leaves behind: exactly
 * what two epochs of an identical, unwrecked run produce. */
Test(fit, restores_best_epoch) {
  long per_epoch = 600 / 10;
  SrState st, ref;
  new_state(&st, 10);
  SrTrainConfig cfg = config(5, NULL);
  SrFitResult res;
  SrError err;
  wreck_after = 2 * per_epoch;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, NULL, &res, &err), 0, "%s", err.msg);
  cr_assert_eq(res.epochs_run, 5);
  cr_assert_leq(res.best_epoch, 2);
  cr_assert_lt(res.best_valid.error, 0.05);

  SrMetrics now;
  cr_assert_eq(sr_evaluate(&st, &valid, &now, &err), 0, "%s", err.msg);
  cr_assert_float_eq(now.error, res.best_valid.error, 0);
  cr_assert_float_eq(now.loss, res.best_valid.loss, 0);

  wreck_after = 0;
  new_state(&ref, 10);
  cfg.epochs = res.best_epoch;
  cr_assert_eq(sr_fit(&ref, &cfg, &train, &valid, NULL, &res, &err), 0, "%s", err.msg);
  assert_same_params(&st, &ref);
  sr_state_free(&st);
  sr_state_free(&ref);
}

/* Without validation data the last epoch is kept, and the log reports
 * sparsity measured on the test set. */
Test(fit, without_validation_keeps_last_epoch) {
  SrState st;
  new_state(&st, 10);
  char *log = NULL;
  size_t loglen = 0;
  FILE *f = open_memstream(&log, &loglen);
  SrTrainConfig cfg = config(3, f);
  SrDataset none = {.n = 0, .dim = DIM};
  SrFitResult res;
  SrError err;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &none, &test, &res, &err), 0, "%s", err.msg);
  fclose(f);
  cr_assert_eq(res.best_epoch, 3);
  cr_assert_lt(res.best_test.error, 0.05);
  cr_assert_null(strstr(log, "valid"), "log:\n%s", log);
  cr_assert_not_null(strstr(log, "zeros h1 50.0%"), "log:\n%s", log);
  free(log);
  sr_state_free(&st);
}

/* The NaN comes in batch 3 of epoch 2; the parameters of epoch 1 (the only
 * completed one) must be restored. */
Test(fit, stops_on_nan_loss) {
  long per_epoch = 600 / 10;
  SrState st, ref;
  new_state(&st, 10);
  SrTrainConfig cfg = config(5, NULL);
  SrFitResult res;
  SrError err;
  nan_at_step = per_epoch + 3;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, &test, &res, &err), -1);
  cr_assert_str_eq(err.msg, "epoch 2, batch 3: training loss is not finite (nan); "
                            "try a smaller learning rate");
  cr_assert_eq(res.best_epoch, 1);

  nan_at_step = 0;
  new_state(&ref, 10);
  cfg.epochs = 1;
  cr_assert_eq(sr_fit(&ref, &cfg, &train, &valid, &test, &res, &err), 0, "%s", err.msg);
  assert_same_params(&st, &ref);
  sr_state_free(&st);
  sr_state_free(&ref);
}

/* Evaluation after an epoch does not report a NaN loss: the run stops,
 * naming the epoch, the data and the layer, and the parameters from before
 * it (the start's) are restored. */
Test(fit, stops_when_evaluation_overflows) {
  SrState st, init;
  new_state(&st, 10);
  new_state(&init, 10);
  make_huge(&test, 150);
  overflow_layer = 1;
  SrTrainConfig cfg = config(3, NULL);
  SrFitResult res;
  SrError err;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, &test, &res, &err), -1);
  cr_assert_str_eq(err.msg, "epoch 1: evaluating on the test data: layer h1: 4 of 40 "
                            "activations are not finite (inf or NaN) in examples 141..150: the "
                            "values overflow float (weights or inputs too large)");
  cr_assert_eq(res.best_epoch, 0);
  assert_same_params(&st, &init);
  sr_state_free(&st);
  sr_state_free(&init);
}

/* A NaN in the very first batch leaves the initial parameters in place. */
Test(fit, nan_in_first_batch_restores_initial_params) {
  SrState st, init;
  new_state(&st, 10);
  new_state(&init, 10);
  SrTrainConfig cfg = config(5, NULL);
  SrFitResult res;
  SrError err;
  nan_at_step = 1;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, NULL, &res, &err), -1);
  cr_assert_not_null(strstr(err.msg, "epoch 1, batch 1: training loss is not finite"), "%s",
                     err.msg);
  assert_same_params(&st, &init);
  sr_state_free(&st);
  sr_state_free(&init);
}

Test(fit, refuses_batch_larger_than_state) {
  SrState st;
  new_state(&st, 5);
  SrTrainConfig cfg = config(1, NULL);
  SrFitResult res;
  SrError err;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, NULL, &res, &err), -1);
  cr_assert_str_eq(err.msg,
                   "training: the model state holds 5 rows, fewer than the batch size 10");
  cr_assert_eq(steps, 0);
  sr_state_free(&st);
}

Test(fit, refuses_bad_labels) {
  SrState st;
  new_state(&st, 10);
  SrTrainConfig cfg = config(1, NULL);
  SrFitResult res;
  SrError err;
  test.y[17] = 3;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, &test, &res, &err), -1);
  cr_assert_str_eq(err.msg, "test data: label 3 at example 17 is outside 0..2");
  cr_assert_eq(steps, 0);
  sr_state_free(&st);
}

/* The last minibatch may be short: 605 = 60 * 10 + 5 rows. */
Test(fit, short_last_batch) {
  sr_dataset_free(&train);
  train = blobs(605, 1);
  SrState st;
  new_state(&st, 10);
  SrTrainConfig cfg = config(2, NULL);
  SrFitResult res;
  SrError err;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, NULL, &res, &err), 0, "%s", err.msg);
  cr_assert_eq(steps, 2 * 61);
  sr_state_free(&st);
}

/* ---- state: optimiser state and constants -------------------------------- */

static const SrSlot kind_slots[] = {
    {"signs", SR_SLOT_CONST, 4, 5, SR_INIT_SIGNS, 0, 0, 0, 0, 0},
    {"w", SR_SLOT_PARAM, 4, 5, SR_INIT_HE_NORMAL, 0, 4, 5, 0, 0},
    {"v", SR_SLOT_STATE, 4, 5, SR_INIT_HE_NORMAL, 0, 4, 5, 0, 0}, /* init ignored: starts at zero */
    {"c", SR_SLOT_CONST, 1, 5, SR_INIT_CONSTANT, 0.5, 0, 0, 0, 0},
    {"u", SR_SLOT_PARAM, 2, 3, SR_INIT_UNIFORM, 0.1, 0, 0, 0, 0},
    {"x", SR_SLOT_INPUT, -1, 4, SR_INIT_ZERO, 0, 0, 0, 0, 0},
};
static const SrModel kind_model = {.slots = kind_slots, .nslots = 6};

/* Params and consts draw from one stream in slot order; state draws
 * nothing and stays zero. */
Test(state, consts_and_params_share_the_stream_state_is_zero) {
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &kind_model, 3, 42, &err), 0, "%s", err.msg);
  float signs[20], w[20], c[5], u[6];
  SrRng rng;
  sr_rng_seed(&rng, 42);
  sr_init_param(signs, 20, SR_INIT_SIGNS, 0, 0, 0, &rng);
  sr_init_param(w, 20, SR_INIT_HE_NORMAL, 0, 4, 5, &rng);
  sr_init_param(c, 5, SR_INIT_CONSTANT, 0.5, 0, 0, &rng);
  sr_init_param(u, 6, SR_INIT_UNIFORM, 0.1, 0, 0, &rng);
  cr_assert_arr_eq(st.slots[0], signs, sizeof signs);
  cr_assert_arr_eq(st.slots[1], w, sizeof w);
  cr_assert_arr_eq(st.slots[3], c, sizeof c);
  cr_assert_arr_eq(st.slots[4], u, sizeof u);
  const float *v = st.slots[2];
  for (int i = 0; i < 20; i++)
    cr_assert_eq(v[i], 0.0f);
  cr_assert_geq(st.bytes[2], 20 * sizeof(float));
  sr_state_free(&st);
}

Test(state, copy_params_copies_consts_but_not_optimiser_state) {
  SrState a, b;
  SrError err;
  cr_assert_eq(sr_state_init(&a, &kind_model, 3, 1, &err), 0, "%s", err.msg);
  cr_assert_eq(sr_state_init(&b, &kind_model, 5, 2, &err), 0, "%s", err.msg);
  ((float *)a.slots[2])[0] = 7; /* velocity */
  sr_state_copy_params(&b, &a);
  cr_assert_arr_eq(b.slots[0], a.slots[0], 20 * sizeof(float));
  cr_assert_arr_eq(b.slots[1], a.slots[1], 20 * sizeof(float));
  cr_assert_arr_eq(b.slots[4], a.slots[4], 6 * sizeof(float));
  cr_assert_eq(((float *)b.slots[2])[0], 0.0f);
  sr_state_free(&a);
  sr_state_free(&b);
}

static void assert_refused(SrSlot slot, const char *msg) {
  SrModel m = {.slots = &slot, .nslots = 1};
  SrState st;
  SrError err = {{0}};
  cr_assert_eq(sr_state_init(&st, &m, 4, 1, &err), -1, "accepted, expected: %s", msg);
  cr_assert_str_eq(err.msg, msg);
  cr_assert_null(st.slots);
}

Test(state, refuses_bad_inits_and_kinds) {
  assert_refused((SrSlot){"v", SR_SLOT_STATE, -1, 3, SR_INIT_ZERO, 0, 0, 0, 0, 0},
                 "model slot 0 (v): a state cannot have one row per example");
  assert_refused((SrSlot){"s", SR_SLOT_CONST, -1, 3, SR_INIT_SIGNS, 0, 0, 0, 0, 0},
                 "model slot 0 (s): a constant cannot have one row per example");
  assert_refused((SrSlot){"w", SR_SLOT_PARAM, 2, 3, SR_INIT_HE_NORMAL, 0, 0, 3, 0, 0},
                 "model slot 0 (w): He init needs a positive fan-in, got 0");
  assert_refused((SrSlot){"w", SR_SLOT_PARAM, 2, 3, SR_INIT_UNIFORM, -0.5, 0, 0, 0, 0},
                 "model slot 0 (w): uniform init needs a limit >= 0, got -0.5");
  assert_refused((SrSlot){"c", SR_SLOT_CONST, 2, 3, SR_INIT_CONSTANT, NAN, 0, 0, 0, 0},
                 "model slot 0 (c): init argument nan is not a finite float");
  assert_refused((SrSlot){"c", SR_SLOT_CONST, 2, 3, SR_INIT_CONSTANT, 1e39, 0, 0, 0, 0},
                 "model slot 0 (c): init argument 1e+39 is not a finite float");
  assert_refused((SrSlot){"w", SR_SLOT_PARAM, 2, 3, (SrInit)99, 0, 0, 0, 0, 0},
                 "model slot 0 (w): unknown init 99");
  assert_refused((SrSlot){"w", (SrSlotKind)42, 2, 3, SR_INIT_ZERO, 0, 0, 0, 0, 0},
                 "model slot 0 (w): unknown kind 42");
}

/* ---- fit: non-finite weights, patience, run labels, metrics -------------- */

/* The NaN lands in W in the last step of epoch 2, after that step's loss
 * was computed: no loss shows it, but it must not survive. */
Test(fit, nan_weight_with_finite_loss_restores_last_good_params) {
  long per_epoch = 600 / 10;
  SrState st, ref;
  new_state(&st, 10);
  SrTrainConfig cfg = config(5, NULL);
  SrFitResult res;
  SrError err;
  nan_weight_at = 2 * per_epoch;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, NULL, &res, &err), -1);
  cr_assert_str_eq(err.msg, "epoch 2: parameter 'W' element 1 is not finite (nan); "
                            "try a smaller learning rate");
  cr_assert_eq(res.best_epoch, 1);
  nan_weight_at = 0;
  new_state(&ref, 10);
  cfg.epochs = 1;
  cr_assert_eq(sr_fit(&ref, &cfg, &train, &valid, NULL, &res, &err), 0, "%s", err.msg);
  assert_same_params(&st, &ref);
  sr_state_free(&st);
  sr_state_free(&ref);
}

Test(fit, refuses_negative_patience) {
  SrState st;
  new_state(&st, 10);
  SrTrainConfig cfg = config(1, NULL);
  cfg.patience = -1;
  SrFitResult res;
  SrError err;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, NULL, &res, &err), -1);
  cr_assert_str_eq(err.msg, "training: patience must be 0 (off) or more, got -1");
  sr_state_free(&st);
}

/* Every log line starts with the run's label. */
Test(fit, run_label_prefixes_log_lines) {
  SrState st;
  new_state(&st, 10);
  char *log = NULL;
  size_t loglen = 0;
  FILE *f = open_memstream(&log, &loglen);
  SrTrainConfig cfg = config(2, f);
  cfg.run = "lr=0.1";
  SrFitResult res;
  SrError err;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, NULL, &res, &err), 0, "%s", err.msg);
  fclose(f);
  cr_assert_eq(strncmp(log, "lr=0.1  epoch   1  loss ", 24), 0, "log:\n%s", log);
  cr_assert_not_null(strstr(log, "\nlr=0.1  epoch   2  loss "), "log:\n%s", log);
  free(log);
  sr_state_free(&st);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  char *text = calloc(1, 1 << 16);
  size_t n = fread(text, 1, (1 << 16) - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* One CSV record per epoch, labelled with the run, zeros from the
 * validation set. */
Test(fit, writes_one_metrics_record_per_epoch) {
  char path[] = "/tmp/sparsec-metrics-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  SrError err;
  SrMetricsWriter *w = sr_metrics_open(path, SR_METRICS_CSV, &model, &err);
  cr_assert_not_null(w, "%s", err.msg);
  SrState st;
  new_state(&st, 10);
  SrTrainConfig cfg = config(3, NULL);
  cfg.run = "lr=0.1";
  cfg.metrics = w;
  SrFitResult res;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, &test, &res, &err), 0, "%s", err.msg);
  cr_assert_eq(sr_metrics_close(w, &err), 0, "%s", err.msg);
  char *text = slurp(path);
  unlink(path);
  const char *header = "run,epoch,train_loss,valid_data_loss,valid_error,test_data_loss,test_error,"
                       "zeros_h1,zeros_h2,mean_zeros,seed,seconds\n";
  cr_assert_eq(strncmp(text, header, strlen(header)), 0, "%s", text);
  const char *line = text + strlen(header);
  for (int epoch = 1; epoch <= 3; epoch++) {
    char start[32];
    snprintf(start, sizeof start, "lr=0.1,%d,", epoch);
    cr_assert_eq(strncmp(line, start, strlen(start)), 0, "line %d: %s", epoch, line);
    const char *end = strchr(line, '\n');
    cr_assert_not_null(end);
    cr_assert_not_null(strstr(line, ",0.5,1,0.666667,"), "line %d: %s", epoch, line);
    line = end + 1;
  }
  cr_assert_eq(*line, '\0', "%s", text);
  free(text);
  sr_state_free(&st);
}

/* A failed metrics write fails sr_fit after that epoch, with the best
 * parameters (epoch 1's) in place. */
Test(fit, metrics_write_error_fails_fit_cleanly) {
  SrError err;
  SrMetricsWriter *w = sr_metrics_open("/dev/full", SR_METRICS_JSONL, &model, &err);
  cr_assert_not_null(w, "%s", err.msg);
  SrState st, ref;
  new_state(&st, 10);
  SrTrainConfig cfg = config(4, NULL);
  cfg.metrics = w;
  SrFitResult res;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, NULL, &res, &err), -1);
  cr_assert_str_eq(err.msg, "/dev/full: write error: No space left on device");
  cr_assert_eq(res.epochs_run, 1);
  cr_assert_eq(sr_metrics_close(w, &err), -1);
  new_state(&ref, 10);
  cfg = config(1, NULL);
  cr_assert_eq(sr_fit(&ref, &cfg, &train, &valid, NULL, &res, &err), 0, "%s", err.msg);
  assert_same_params(&st, &ref);
  sr_state_free(&st);
  sr_state_free(&ref);
}

/* ---- the scripted model: early stopping ---------------------------------- */

/* One input column holding the example's index; all labels 0. After epoch
 * e, inference gets exactly the first round(script[e-1] * n) examples
 * wrong, so the validation error per epoch is whatever the test says. The
 * one parameter records the epoch it was trained in. */
enum { S_W, S_X, S_Y, S_PROBS, S_LOSS, S_TRAIN_LOSS };
enum { SCRIPT_N = 20 };
static const SrSlot script_slots[] = {
    [S_W] = {"w", SR_SLOT_PARAM, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [S_X] = {"x", SR_SLOT_INPUT, -1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [S_Y] = {"y", SR_SLOT_LABELS, -1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [S_PROBS] = {"probs", SR_SLOT_TEMP, -1, 2, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [S_LOSS] = {"loss", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [S_TRAIN_LOSS] = {"train_loss", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
};

static const double *script;   /* validation error after each epoch */
static int steps_per_epoch = 1;
static long step_sleep_ns;     /* makes epochs slow enough for a progress bar */

static int script_epoch(void) {
  return (int)(steps / steps_per_epoch);
}

static void script_train(void **s, int64_t rows) {
  (void)rows;
  steps++;
  *(float *)s[S_W] = (float)script_epoch();
  *(float *)s[S_TRAIN_LOSS] = 1.0f;
  if (step_sleep_ns)
    nanosleep(&(struct timespec){0, step_sleep_ns}, NULL);
}

static void script_infer(void **s, int64_t rows) {
  const float *x = s[S_X];
  float *p = s[S_PROBS];
  float wrong = roundf((float)(script[script_epoch() - 1] * SCRIPT_N));
  for (int64_t r = 0; r < rows; r++) {
    p[2 * r] = x[r] < wrong ? 0.0f : 1.0f;
    p[2 * r + 1] = 1.0f - p[2 * r];
  }
  *(float *)s[S_LOSS] = 0.5f;
}

static const SrModel script_model = {
    .slots = script_slots,
    .nslots = sizeof script_slots / sizeof *script_slots,
    .train_step = script_train,
    .infer = script_infer,
    .slot_x = S_X,
    .slot_y = S_Y,
    .slot_train_loss = S_TRAIN_LOSS,
    .slot_loss = S_LOSS,
    .slot_probs = S_PROBS,
    .classes = 2,
};

static float index_x[SCRIPT_N];
static int32_t zero_y[SCRIPT_N];

/* Trains the scripted model (10 training examples in batches of `batch`)
 * with the given patience; returns its one parameter. */
static float fit_script(const double *errors, int epochs, int patience, int batch, FILE *log,
                        SrFitResult *res) {
  for (int i = 0; i < SCRIPT_N; i++)
    index_x[i] = (float)i;
  SrDataset tr = {.n = 10, .dim = 1, .x = index_x, .y = zero_y};
  SrDataset va = {.n = SCRIPT_N, .dim = 1, .x = index_x, .y = zero_y};
  script = errors;
  steps = 0;
  steps_per_epoch = 10 / batch;
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &script_model, SCRIPT_N, 1, &err), 0, "%s", err.msg);
  SrTrainConfig cfg = {.epochs = epochs, .batch = batch, .seed = 1, .patience = patience,
                       .log = log};
  cr_assert_eq(sr_fit(&st, &cfg, &tr, &va, NULL, res, &err), 0, "%s", err.msg);
  float w = *(float *)st.slots[S_W];
  sr_state_free(&st);
  return w;
}

/* Best at epoch 3; epochs 4, 5, 6 are not lower (a tie is not better), so
 * patience 3 stops after epoch 6 and the parameters of epoch 3 return. */
Test(fit, early_stopping_stops_at_the_right_epoch) {
  static const double errors[] = {0.5, 0.4, 0.3, 0.35, 0.3, 0.3, 0.2, 0.1};
  char *log = NULL;
  size_t loglen = 0;
  FILE *f = open_memstream(&log, &loglen);
  SrFitResult res;
  float w = fit_script(errors, 8, 3, 10, f, &res);
  fclose(f);
  cr_assert_eq(res.epochs_run, 6);
  cr_assert_eq(res.stopped_early, 1);
  cr_assert_eq(res.best_epoch, 3);
  cr_assert_float_eq(res.best_valid.error, 0.3, 1e-12);
  cr_assert_eq(w, 3.0f);
  cr_assert_eq(steps, 6);
  cr_assert_not_null(strstr(log, "\nstopping early after epoch 6: no better validation error "
                                 "for 3 epochs (best: epoch 3)\n"),
                     "log:\n%s", log);
  free(log);
}

Test(fit, patience_zero_never_stops) {
  static const double errors[] = {0.5, 0.4, 0.3, 0.35, 0.3, 0.3, 0.2, 0.1};
  SrFitResult res;
  float w = fit_script(errors, 8, 0, 10, NULL, &res);
  cr_assert_eq(res.epochs_run, 8);
  cr_assert_eq(res.stopped_early, 0);
  cr_assert_eq(res.best_epoch, 8);
  cr_assert_eq(w, 8.0f);
}

/* Patience running out with the last epoch is not stopping early. */
Test(fit, patience_running_out_on_the_last_epoch) {
  static const double errors[] = {0.5, 0.4, 0.3, 0.35, 0.3, 0.3};
  SrFitResult res;
  float w = fit_script(errors, 6, 3, 10, NULL, &res);
  cr_assert_eq(res.epochs_run, 6);
  cr_assert_eq(res.stopped_early, 0);
  cr_assert_eq(res.best_epoch, 3);
  cr_assert_eq(w, 3.0f);
}

/* Improvement resets the count: best at 2, then 5. */
Test(fit, patience_counts_from_the_latest_best) {
  static const double errors[] = {0.5, 0.4, 0.45, 0.45, 0.3, 0.3, 0.3, 0.3, 0.1};
  SrFitResult res;
  float w = fit_script(errors, 9, 3, 10, NULL, &res);
  cr_assert_eq(res.epochs_run, 8);
  cr_assert_eq(res.stopped_early, 1);
  cr_assert_eq(res.best_epoch, 5);
  cr_assert_eq(w, 5.0f);
}

/* ---- progress ------------------------------------------------------------ */

TestSuite(progress);

Test(progress, draws_at_most_every_interval) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  SrProgress p;
  sr_progress_start(&p, f, "lr=0.1 epoch 3", "loss", 50000, 100.0);
  sr_progress_update(&p, 1000, 500.0, 100.05); /* too soon: nothing */
  fflush(f);
  cr_assert_eq(len, 0);
  sr_progress_update(&p, 23450, 11725.0, 110.0);
  sr_progress_update(&p, 24000, 12000.0, 110.05); /* too soon again */
  fflush(f);
  const char *first =
      "\rlr=0.1 epoch 3 [=========>          ] 23450/50000  2345 ex/s  loss 0.5000  11 s left";
  cr_assert_str_eq(out, first);
  /* The final state is one character shorter: a space covers the rest. */
  sr_progress_update(&p, 50000, 12500.0, 120.0);
  fflush(f);
  const char *second =
      "\rlr=0.1 epoch 3 [====================] 50000/50000  2500 ex/s  loss 0.2500  0 s left ";
  cr_assert_str_eq(out + strlen(first), second);
  sr_progress_clear(&p);
  fflush(f);
  char clear[120];
  snprintf(clear, sizeof clear, "\r%*s\r", (int)strlen(first) - 1, "");
  cr_assert_str_eq(out + strlen(first) + strlen(second), clear);
  fclose(f);
  free(out);
}

/* A pretraining stage's bar: its layer, and the reconstruction cost. */
Test(progress, pretraining_names_its_layer_and_cost) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  SrProgress p;
  sr_progress_start(&p, f, "pretrain h2 epoch 1", "cost", 8000, 0.0);
  sr_progress_update(&p, 2000, 62000.0, 0.5);
  fclose(f);
  cr_assert_str_eq(out, "\rpretrain h2 epoch 1 [=====>              ] 2000/8000  4000 ex/s  cost "
                        "31.0000  2 s left");
  free(out);
}

/* An epoch faster than the interval draws nothing and clears nothing;
 * without an output stream nothing is drawn at all. */
Test(progress, quiet_when_fast_or_off) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  SrProgress p;
  sr_progress_start(&p, f, "epoch 1", "loss", 100, 5.0);
  sr_progress_update(&p, 100, 50.0, 5.09);
  sr_progress_clear(&p);
  fclose(f);
  cr_assert_eq(len, 0, "%s", out);
  free(out);
  sr_progress_start(&p, NULL, "epoch 1", "loss", 100, 5.0);
  sr_progress_update(&p, 50, 25.0, 9.0);
  sr_progress_clear(&p);
}

/* Slow steps (5 per epoch, 40 ms each) make sr_fit draw the bar on stderr;
 * the log, also on stderr, must start each line on a cleared line. */
Test(progress, fit_clears_the_bar_before_each_log_line) {
  static const double errors[] = {0.5, 0.4};
  char path[] = "/tmp/sparsec-stderr-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  step_sleep_ns = 40 * 1000 * 1000;
  for (int i = 0; i < SCRIPT_N; i++)
    index_x[i] = (float)i;
  SrDataset tr = {.n = 10, .dim = 1, .x = index_x, .y = zero_y};
  SrDataset va = {.n = SCRIPT_N, .dim = 1, .x = index_x, .y = zero_y};
  script = errors;
  steps = 0;
  steps_per_epoch = 5;
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &script_model, SCRIPT_N, 1, &err), 0, "%s", err.msg);
  SrTrainConfig cfg = {.epochs = 2, .batch = 2, .seed = 1, .log = stderr, .progress = 1};
  SrFitResult res;
  int rc = sr_fit(&st, &cfg, &tr, &va, NULL, &res, &err);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  sr_state_free(&st);
  cr_assert_eq(rc, 0, "%s", err.msg);
  char *text = slurp(path);
  unlink(path);
  cr_assert_eq(strncmp(text, "\repoch 1 [", 10), 0, "%s", text);
  cr_assert_not_null(strstr(text, "\repoch 2 ["), "%s", text);
  for (int epoch = 1; epoch <= 2; epoch++) {
    char line[32];
    snprintf(line, sizeof line, "epoch %3d  loss", epoch);
    const char *at = strstr(text, line);
    cr_assert_not_null(at, "%s", text);
    cr_assert(at - text >= 3 && at[-1] == '\r' && at[-2] == ' ', "%s", text);
    const char *cr = at - 2;
    while (*cr == ' ')
      cr--;
    cr_assert_eq(*cr, '\r', "%s", text); /* \r spaces \r: the bar is blanked */
  }
  free(text);
}

/* ---- stopping (Ctrl-C in the REPL) and unit activity --------------------------- */

/* Raised before the first minibatch: nothing is trained, nothing fails. */
Test(fit, stop_flag_before_any_batch_keeps_the_start) {
  SrState st, init;
  new_state(&st, 10);
  new_state(&init, 10);
  SrTrainConfig cfg = config(5, NULL);
  cfg.stop = &stop_flag;
  stop_flag = 1;
  SrFitResult res;
  SrError err;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, &test, &res, &err), 0, "%s", err.msg);
  cr_assert(res.interrupted);
  cr_assert_eq(res.epochs_run, 0);
  cr_assert_eq(steps, 0);
  assert_same_params(&st, &init);
  sr_state_free(&st);
  sr_state_free(&init);
}

/* Raised in epoch 3: the next minibatch does not run, and the parameters
 * are those a two-epoch run keeps. */
Test(fit, stop_flag_mid_epoch_keeps_the_best_complete_epoch) {
  long per_epoch = 600 / 10;
  SrState st, ref;
  new_state(&st, 10);
  SrTrainConfig cfg = config(5, NULL);
  cfg.stop = &stop_flag;
  stop_at_step = 2 * per_epoch + 7;
  SrFitResult res;
  SrError err;
  cr_assert_eq(sr_fit(&st, &cfg, &train, &valid, &test, &res, &err), 0, "%s", err.msg);
  cr_assert(res.interrupted);
  cr_assert_eq(res.epochs_run, 2);
  cr_assert_eq(steps, stop_at_step, "stopped at the next minibatch");
  stop_at_step = 0;
  stop_flag = 0;
  new_state(&ref, 10);
  cfg.epochs = 2;
  cr_assert_eq(sr_fit(&ref, &cfg, &train, &valid, &test, &res, &err), 0, "%s", err.msg);
  cr_assert(!res.interrupted);
  assert_same_params(&st, &ref);
  sr_state_free(&st);
  sr_state_free(&ref);
}

/* The input slot stands in for a layer's output: a feature that is zero on
 * every example is a dead unit. */
Test(evaluate, unit_activity_counts_nonzero_examples) {
  SrState st;
  new_state(&st, 32);
  int zeros0 = 0;
  for (int i = 0; i < valid.n; i++) {
    valid.x[i * DIM + 1] = 0;
    zeros0 += valid.x[i * DIM] == 0;
  }
  int32_t counts[DIM], *active[1] = {counts};
  int slot = SLOT_X;
  SrError err;
  cr_assert_eq(sr_unit_activity(&st, &valid, &slot, 1, active, &err), 0, "%s", err.msg);
  cr_assert_eq(counts[0], valid.n - zeros0);
  cr_assert_eq(counts[1], 0, "dead");
  int bad = SLOT_W; /* not one row per example */
  cr_assert_eq(sr_unit_activity(&st, &valid, &bad, 1, active, &err), -1);
  cr_assert_str_eq(err.msg, "model: layer 1's output slot 0 is not a batch-sized slot");
  sr_state_free(&st);
}
