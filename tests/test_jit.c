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
  const Activation acts[] = {ACT_RELU, ACT_TANH, ACT_SOFTPLUS, ACT_SIGMOID, ACT_LINEAR};
  const Loss losses[] = {LOSS_NLL, LOSS_CROSS_ENTROPY, LOSS_SQUARED_ERROR};
  int widths[] = {19, 11, 4};
  for (int a = 0; a < 5; a++)
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
