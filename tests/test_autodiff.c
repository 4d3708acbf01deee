/* Autodiff against central finite differences, through the reference
 * interpreter. The objective is the train program's loss (nll + L1).
 *
 * Tolerance: |analytic - numeric| <= 2e-3 + 2e-2 |analytic| with step 1e-3.
 * Losses are stored in float (about 2.4e-7 absolute at loss ~2), so the
 * numeric derivative alone carries ~1.2e-4 of rounding noise.
 * The ReLU kink: a coordinate is skipped when moving it by +-step changes any
 * hidden unit's on/off pattern (or any sign the L1 term sees), because there
 * the loss is not differentiable and the central difference means nothing. */
#include <criterion/criterion.h>

#include "support.h"

#define STEP 1e-3

typedef struct Net {
  Module *m;
  TestState t;
  int rows;
  int *masks;  /* per hidden unit/example: 1 if active */
  size_t nmask;
} Net;

static float objective(Net *n, int *mask_out) {
  void **slots = n->t.st.slots;
  interp_run(n->m, &n->m->forward, slots, n->rows);
  size_t k = 0;
  for (int h = 0; h < n->m->nhidden; h++) {
    const float *out = slots[n->m->hidden[h].output];
    for (size_t i = 0; i < value_count(n->m, n->m->hidden[h].output, n->rows); i++)
      mask_out[k++] = (out[i] > 0) - (out[i] < 0); /* the kinks of relu and |h| */
  }
  return ((float *)slots[n->m->train_loss])[0];
}

static int same_masks(const int *a, const int *b, size_t n) {
  return memcmp(a, b, n * sizeof *a) == 0;
}

/* Returns how many coordinates were checked (not at a kink). */
static int check_param(Net *n, const char *param, const float *grad) {
  int p = value_named(n->m, param);
  float *w = n->t.st.slots[p];
  size_t count = value_count(n->m, p, n->rows);
  int *plus = malloc(n->nmask * sizeof *plus), *minus = malloc(n->nmask * sizeof *minus);
  int checked = 0;
  for (size_t k = 0; k < count; k++) {
    float saved = w[k];
    w[k] = saved + (float)STEP;
    float lp = objective(n, plus);
    w[k] = saved - (float)STEP;
    float lm = objective(n, minus);
    w[k] = saved;
    if (!same_masks(plus, minus, n->nmask))
      continue;
    double numeric = ((double)lp - lm) / (2 * STEP);
    double tol = 2e-3 + 2e-2 * fabs(grad[k]);
    cr_expect(fabs(numeric - grad[k]) <= tol, "%s[%zu]: analytic %g, numeric %g", param, k,
              grad[k], numeric);
    checked++;
  }
  free(plus);
  free(minus);
  return checked;
}

static void gradient_check_with(const int *widths, int nlayers, int input, const NetOptions *o,
                                uint64_t seed) {
  Spec *s = test_spec_with(input, widths, nlayers, o, 0.5);
  char err[256];
  Net n = {.rows = 5};
  n.m = module_build(s, err, sizeof err);
  cr_assert_not_null(n.m, "%s", err);
  cr_assert_eq(test_state_init(&n.t, n.m, n.rows, seed), 0);
  SrRng rng;
  sr_rng_seed(&rng, seed + 1);
  fill_batch(n.t.st.slots, n.m, n.rows, &rng);
  for (int h = 0; h < n.m->nhidden; h++)
    n.nmask += value_count(n.m, n.m->hidden[h].output, n.rows);
  n.masks = malloc(n.nmask * sizeof *n.masks);

  /* Analytic gradients: run the train step on a copy of the parameters, read
   * the gradient slots, then put the parameters back (the step updated them). */
  SrState saved;
  cr_assert_eq(sr_state_init(&saved, &n.t.model, n.rows, seed, NULL), 0);
  sr_state_copy_params(&saved, &n.t.st);
  interp_run(n.m, &n.m->train, n.t.st.slots, n.rows);
  sr_state_copy_params(&n.t.st, &saved);
  sr_state_free(&saved);

  int checked = 0, total = 0;
  for (int v = 0; v < n.m->nvalues; v++) {
    if (n.m->values[v].kind != VAL_PARAM)
      continue;
    int g = -1; /* the gradient is what the parameter's update reads */
    for (int i = 0; i < n.m->train.nops; i++)
      if (n.m->train.ops[i].kind == OP_SGD_UPDATE && n.m->train.ops[i].in[0] == v)
        g = n.m->train.ops[i].in[1];
    cr_assert_geq(g, 0, "no gradient for %s", n.m->values[v].name);
    size_t count = value_count(n.m, v, n.rows);
    float *grad = malloc(count * sizeof *grad);
    memcpy(grad, n.t.st.slots[g], count * sizeof *grad);
    checked += check_param(&n, n.m->values[v].name, grad);
    total += (int)count;
    free(grad);
  }
  cr_expect_gt(checked, total / 2, "only %d of %d coordinates were away from a kink", checked, total);
  free(n.masks);
  test_state_free(&n.t);
  module_free(n.m);
  test_spec_free(s);
}

static void gradient_check(const int *widths, int nlayers, int input, double l1, uint64_t seed) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = l1};
  gradient_check_with(widths, nlayers, input, &o, seed);
}

Test(autodiff, one_hidden_layer_matches_finite_differences) {
  int widths[] = {7, 3};
  gradient_check(widths, 2, 5, 0, 11);
}

Test(autodiff, three_hidden_layers_with_l1_match_finite_differences) {
  int widths[] = {8, 6, 5, 4};
  gradient_check(widths, 4, 6, 0.05, 12);
}

Test(autodiff, several_seeds) {
  int widths[] = {5, 5, 3};
  for (uint64_t seed = 20; seed < 25; seed++)
    gradient_check(widths, 3, 4, 0.01, seed);
}

/* Every activation under every head, with both penalties and a bias. */
Test(autodiff, every_activation_and_head) {
  Activation acts[ACT_COUNT_];
  int nacts = hidden_activations(acts);
  const Loss losses[] = {LOSS_NLL, LOSS_CROSS_ENTROPY, LOSS_SQUARED_ERROR};
  int widths[] = {6, 5, 3};
  for (int a = 0; a < nacts; a++)
    for (int l = 0; l < 3; l++) {
      NetOptions o = {.act = acts[a], .loss = losses[l], .l1 = 0.02, .l2 = 0.01, .bias = 0.1};
      gradient_check_with(widths, 3, 4, &o, 100 + a * 3 + l);
    }
}

Test(autodiff, sign_trick_and_other_inits) {
  int widths[] = {8, 7, 3};
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = 0.01, .sign_trick = 1,
                  .init = INIT_HE_NORMAL};
  gradient_check_with(widths, 3, 5, &o, 31);
  o.act = ACT_SOFTPLUS;
  o.init = INIT_UNIFORM;
  o.init_a = 0.3;
  gradient_check_with(widths, 3, 5, &o, 32);
}
