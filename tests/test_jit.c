/* Generated code against the reference interpreter: same module, same
 * parameters, same batch. Tolerance: norm-relative difference at most 1e-5
 * (see max_rel_diff), for every value each program writes. */
#include <criterion/criterion.h>

#include "support.h"

typedef struct Pair {
  Module *m;
  Jit *jit;
  TestState jit_state, ref_state;
  int rows;
} Pair;

static void pair_init_with(Pair *p, const int *widths, int n, int input, const NetOptions *o,
                           int rows, uint64_t seed) {
  Spec *s = test_spec_with(input, widths, n, o, 0.05);
  char err[512];
  p->m = module_build(s, err, sizeof err);
  test_spec_free(s);
  cr_assert_not_null(p->m, "%s", err);
  p->jit = jit_compile(p->m, err, sizeof err);
  cr_assert_not_null(p->jit, "%s", err);
  p->rows = rows;
  cr_assert_eq(test_state_init(&p->jit_state, p->m, rows, seed), 0);
  cr_assert_eq(test_state_init(&p->ref_state, p->m, rows, seed), 0);
  SrRng a, b;
  sr_rng_seed(&a, seed + 7);
  sr_rng_seed(&b, seed + 7);
  fill_batch(p->jit_state.st.slots, p->m, rows, &a);
  fill_batch(p->ref_state.st.slots, p->m, rows, &b);
}

static void pair_init(Pair *p, const int *widths, int n, int input, double l1, int rows,
                      uint64_t seed) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = l1};
  pair_init_with(p, widths, n, input, &o, rows, seed);
}

static void pair_free(Pair *p) {
  test_state_free(&p->jit_state);
  test_state_free(&p->ref_state);
  jit_free(p->jit);
  module_free(p->m);
}

static void expect_close(Pair *p, int v, const char *program) {
  size_t n = value_count(p->m, v, p->rows);
  double d = max_rel_diff(p->jit_state.st.slots[v], p->ref_state.st.slots[v], n, 1e-6);
  cr_expect_leq(d, 1e-5, "%s: %s differs by %g", program, p->m->values[v].name, d);
}

static void expect_program_outputs_close(Pair *p, const Program *prog) {
  for (int i = 0; i < prog->nops; i++) {
    const Op *op = &prog->ops[i];
    for (int k = 0; k < op->nout; k++)
      expect_close(p, op->out[k], prog->name);
    if (op->kind == OP_SGD_UPDATE)
      expect_close(p, op->in[0], prog->name);
  }
}

static void compare_with(const int *widths, int n, int input, const NetOptions *o, int rows,
                         uint64_t seed) {
  Pair p;
  pair_init_with(&p, widths, n, input, o, rows, seed);
  jit_infer(p.jit)(p.jit_state.st.slots, rows);
  interp_run(p.m, &p.m->infer, p.ref_state.st.slots, rows);
  expect_program_outputs_close(&p, &p.m->infer);
  for (int step = 0; step < 3; step++) { /* a few steps: updates feed the next forward */
    jit_train_step(p.jit)(p.jit_state.st.slots, rows);
    interp_run(p.m, &p.m->train, p.ref_state.st.slots, rows);
    expect_program_outputs_close(&p, &p.m->train);
  }
  pair_free(&p);
}

static void compare(const int *widths, int n, int input, double l1, int rows, uint64_t seed) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = l1};
  compare_with(widths, n, input, &o, rows, seed);
}

Test(jit, small_net_matches_interpreter) {
  int widths[] = {16, 12, 5};
  compare(widths, 3, 20, 0.01, 7, 1);
}

Test(jit, odd_sizes_and_single_row) {
  int widths[] = {33, 3};
  compare(widths, 2, 17, 0, 1, 2);
  compare(widths, 2, 17, 0.1, 13, 3);
}

Test(jit, deep_net_random_seeds) {
  int widths[] = {40, 31, 25, 10};
  for (uint64_t seed = 10; seed < 14; seed++)
    compare(widths, 4, 50, 0.001, 10, seed);
}

Test(jit, zero_counts_are_exact) {
  int widths[] = {64, 10};
  Pair p;
  pair_init(&p, widths, 2, 30, 0, 9, 5);
  jit_infer(p.jit)(p.jit_state.st.slots, p.rows);
  interp_run(p.m, &p.m->infer, p.ref_state.st.slots, p.rows);
  float jit_zeros = ((float *)p.jit_state.st.slots[p.m->hidden[0].zeros])[0];
  float ref_zeros = ((float *)p.ref_state.st.slots[p.m->hidden[0].zeros])[0];
  cr_expect_eq(jit_zeros, ref_zeros);
  cr_expect_gt(jit_zeros, 0);
  cr_expect_lt(jit_zeros, 64 * 9);
  pair_free(&p);
}

Test(jit, reports_compile_times) {
  int widths[] = {8, 3};
  Pair p;
  pair_init(&p, widths, 2, 4, 0, 2, 1);
  JitTimes t = jit_times(p.jit);
  cr_expect_gt(t.codegen_ms + t.optimise_ms + t.compile_ms, 0);
  pair_free(&p);
}

Test(jit, every_activation_and_head) {
  Activation acts[ACT_COUNT_];
  int nacts = hidden_activations(acts);
  const Loss losses[] = {LOSS_NLL, LOSS_CROSS_ENTROPY, LOSS_SQUARED_ERROR};
  int widths[] = {19, 11, 4};
  for (int a = 0; a < nacts; a++)
    for (int l = 0; l < 3; l++) {
      NetOptions o = {.act = acts[a], .loss = losses[l], .l1 = 0.01, .l2 = 0.001, .bias = 0.05};
      compare_with(widths, 3, 9, &o, 6, 40 + a * 3 + l);
    }
}

Test(jit, momentum_sign_trick_and_inits) {
  int widths[] = {21, 13, 5};
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = 0.001, .momentum = 0.9,
                  .sign_trick = 1, .init = INIT_HE_NORMAL};
  compare_with(widths, 3, 10, &o, 8, 60);
  o.init = INIT_UNIFORM;
  o.init_a = 0.2;
  o.act = ACT_TANH;
  compare_with(widths, 3, 10, &o, 8, 61);
}

/* Extreme pre-activations: the stable forms must not overflow to inf/nan. */
Test(jit, smooth_activations_are_stable_at_extremes) {
  int widths[] = {4, 3};
  const Activation acts[] = {ACT_TANH, ACT_SOFTPLUS, ACT_SIGMOID};
  for (int a = 0; a < 3; a++) {
    NetOptions o = {.act = acts[a], .loss = LOSS_CROSS_ENTROPY, .init = INIT_UNIFORM, .init_a = 200};
    Pair p;
    pair_init_with(&p, widths, 2, 3, &o, 5, 70 + a);
    jit_train_step(p.jit)(p.jit_state.st.slots, p.rows);
    interp_run(p.m, &p.m->train, p.ref_state.st.slots, p.rows);
    float loss = ((float *)p.jit_state.st.slots[p.m->train_loss])[0];
    cr_expect(isfinite(loss), "%s: loss %g", activation_name(acts[a]), loss);
    expect_program_outputs_close(&p, &p.m->train);
    pair_free(&p);
  }
}

/* ---- overflow: finite weights, values that are not ------------------------ */

/* Every weight about +-1e30 (finite; random magnitudes, so that no sum
 * cancels exactly): with inputs in [-1, 1) the first hidden layer is
 * finite (|a| < 6e30), the second overflows (products of 1e60: inf in
 * float, and inf - inf = NaN, which a relu would turn into 0; the
 * interpreter sums in double, then rounds to inf). The counts of
 * non-finite pre-activations agree with the interpreter, before and after
 * the optimiser (which fuses them into bias_act, or a linear layer's
 * count_zero), and the runtime's evaluation names the layer. */
static void huge_weights(void **slots, const Module *m, uint64_t seed) {
  SrRng rng;
  sr_rng_seed(&rng, seed);
  for (int v = 0; v < m->nvalues; v++) {
    const Value *val = &m->values[v];
    size_t n = (size_t)val->rows * val->cols;
    if (val->kind != VAL_PARAM || strcmp(val->name + strlen(val->name) - 2, ".w") != 0)
      continue;
    for (size_t k = 0; k < n; k++) {
      float w = (float)(0.5 + sr_rng_uniform(&rng)) * 1e30f;
      ((float *)slots[v])[k] = sr_rng_below(&rng, 2) ? -w : w;
    }
  }
}

static void overflow_case(const NetOptions *o, int optimise, int overflows, uint64_t seed) {
  enum { ROWS = 8, INPUT = 4 };
  int widths[] = {6, 5, 3};
  Spec *s = test_spec_with(INPUT, widths, 3, o, 0.05);
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  test_spec_free(s);
  cr_assert_not_null(m, "%s", err);
  PassOptions passes = {.enabled = optimise};
  cr_assert_eq(optimise_module(m, &passes, err, sizeof err), 0, "%s", err);
  Jit *jit = jit_compile(m, err, sizeof err);
  cr_assert_not_null(jit, "%s", err);
  TestState a, b;
  cr_assert_eq(test_state_init(&a, m, ROWS, seed), 0);
  cr_assert_eq(test_state_init(&b, m, ROWS, seed), 0);
  SrRng ra, rb;
  sr_rng_seed(&ra, seed);
  sr_rng_seed(&rb, seed);
  fill_batch(a.st.slots, m, ROWS, &ra);
  fill_batch(b.st.slots, m, ROWS, &rb);
  huge_weights(a.st.slots, m, seed);
  huge_weights(b.st.slots, m, seed);
  float x[ROWS * INPUT];
  int32_t y[ROWS];
  memcpy(x, a.st.slots[m->x], sizeof x);
  memcpy(y, a.st.slots[m->y], sizeof y);

  jit_infer(jit)(a.st.slots, ROWS);
  interp_run(m, &m->infer, b.st.slots, ROWS);
  const char *what = activation_name(o->act);
  for (int h = 0; h < m->nhidden; h++) {
    float jit_bad = *(float *)a.st.slots[m->hidden[h].nonfinite];
    float ref_bad = *(float *)b.st.slots[m->hidden[h].nonfinite];
    cr_expect_eq(jit_bad, ref_bad, "%s, %s: %g and %g", what, m->hidden[h].name, jit_bad, ref_bad);
    cr_expect_eq(jit_bad, h == 1 && overflows ? 5 * ROWS : 0, "%s, %s: %g", what,
                 m->hidden[h].name, jit_bad);
  }

  a.model.infer = jit_infer(jit);
  SrDataset ds = {.n = ROWS, .dim = INPUT, .x = x, .y = y};
  SrMetrics r;
  SrError e;
  if (overflows) {
    cr_expect_eq(sr_evaluate(&a.st, &ds, &r, &e), -1, "%s", what);
    cr_expect_str_eq(e.msg, "layer h2: 40 of 40 activations are not finite (inf or NaN) in "
                            "examples 1..8: the values overflow float (weights or inputs too "
                            "large)");
  } else {
    cr_expect_eq(sr_evaluate(&a.st, &ds, &r, &e), 0, "%s: %s", what, e.msg);
    cr_expect(isfinite(r.loss), "%s: loss %g", what, r.loss);
  }
  test_state_free(&a);
  test_state_free(&b);
  jit_free(jit);
  module_free(m);
}

Test(jit, nonfinite_counts_name_the_overflowing_layer) {
  for (int optimise = 0; optimise < 2; optimise++) {
    NetOptions relu = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = 0.01};
    overflow_case(&relu, optimise, 1, 80);
    NetOptions linear = {.act = ACT_LINEAR, .loss = LOSS_SQUARED_ERROR};
    overflow_case(&linear, optimise, 1, 81);
    NetOptions signs = {.act = ACT_RELU, .loss = LOSS_NLL, .sign_trick = 1};
    overflow_case(&signs, optimise, 1, 82);
    /* tanh saturates at +-1: nothing overflows, and nothing is reported */
    NetOptions tanh_net = {.act = ACT_TANH, .loss = LOSS_CROSS_ENTROPY};
    overflow_case(&tanh_net, optimise, 0, 83);
  }
}
