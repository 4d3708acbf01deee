/* Denoising-autoencoder pretraining programs: their gradients against
 * central differences (noise held fixed), generated code against the
 * interpreter, the targets each strategy reconstructs, and the
 * reconstruction cost going down on a small set. */
#include <criterion/criterion.h>

#include "support.h"

#define STEP 1e-3

static Module *build(const NetOptions *o, int optimise) {
  int widths[] = {7, 5, 3};
  Spec *s = test_spec_with(6, widths, 3, o, 0.1);
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  test_spec_free(s);
  cr_assert_not_null(m, "%s", err);
  PassOptions passes = {.enabled = optimise};
  cr_assert_eq(optimise_module(m, &passes, err, sizeof err), 0, "%s", err);
  return m;
}

/* Non-negative inputs in [0, 1), like pixels. */
static void fill_inputs(void **slots, const Module *m, int rows, SrRng *rng) {
  float *x = slots[m->x];
  for (int i = 0; i < rows * m->values[m->x].cols; i++)
    x[i] = (float)sr_rng_uniform(rng);
}

typedef struct Stage {
  Module *m;
  const PretrainProgram *pp;
  TestState t;
  int rows, step, code;
  int pre;  /* the code's pre-activation: kinks are where its sign changes */
  int dec;  /* relu_quadratic: the decoder's pre-activation, kinked at 0 too; else -1 */
  double l1_coef;
} Stage;

static size_t mask_size(const Stage *s) {
  size_t n = value_count(s->m, s->pre, s->rows);
  return s->dec >= 0 ? n + value_count(s->m, s->dec, s->rows) : n;
}

/* The signs of the values whose kinks the objective has at 0: relu's and
 * |x|'s. */
static void kink_mask(const Stage *s, int *mask) {
  const int vals[2] = {s->pre, s->dec};
  for (int i = 0; i < 2 && vals[i] >= 0; i++) {
    const float *v = s->t.st.slots[vals[i]];
    for (size_t k = 0; k < value_count(s->m, vals[i], s->rows); k++)
      *mask++ = (v[k] > 0) - (v[k] < 0);
  }
}

static float objective(Stage *s, int *mask) {
  void **slots = s->t.st.slots;
  memset(slots[s->step], 0, 4); /* the same noise every time */
  interp_run(s->m, &s->pp->program, slots, s->rows);
  const float *c = slots[s->code];
  kink_mask(s, mask);
  /* the program does not compute the penalty's value (dce: nothing reads
   * it; only its gradient is needed), so the objective adds it here */
  double abs_sum = 0;
  for (size_t k = 0; k < value_count(s->m, s->code, s->rows); k++)
    abs_sum += fabs(c[k]);
  return ((float *)slots[s->pp->cost])[0] + (float)(s->l1_coef / s->rows * abs_sum);
}

/* lr 0 makes the updates no-ops, so the program evaluates objective and
 * gradients without moving the parameters. */
static void gradient_check(NetOptions o, int stage, uint64_t seed) {
  o.pretrain = 1;
  o.pretrain_lr = 1e-300;
  Stage s = {.rows = 5};
  s.m = build(&o, 0);
  s.pp = &s.m->pretrain[stage];
  for (int i = 0; i < s.m->pretrain[stage].program.nops; i++)
    if (s.pp->program.ops[i].kind == OP_SGD_UPDATE)
      s.m->pretrain[stage].program.ops[i].coef = 0;
  s.step = value_named(s.m, "noise.step");
  char name[64];
  snprintf(name, sizeof name, "pt.h%d.h%d", stage + 1, stage + 1);
  s.code = value_named(s.m, name);
  s.l1_coef = o.code_l1;
  cr_assert_geq(s.code, 0);
  int def = program_def(&s.pp->program, s.code);
  cr_assert_geq(def, 0);
  s.pre = s.pp->program.ops[def].kind == OP_ACT ? s.pp->program.ops[def].in[0] : s.code;
  snprintf(name, sizeof name, "pt.h%d.decoder.a", stage + 1);
  s.dec = o.recon == RECON_RELU_QUADRATIC ? value_named(s.m, name) : -1;
  cr_assert(o.recon != RECON_RELU_QUADRATIC || s.dec >= 0);
  cr_assert_eq(test_state_init(&s.t, s.m, s.rows, seed), 0);
  SrRng rng;
  sr_rng_seed(&rng, seed);
  fill_inputs(s.t.st.slots, s.m, s.rows, &rng);
  size_t nmask = mask_size(&s);
  int *base = malloc(nmask * sizeof(int)), *plus = malloc(nmask * sizeof(int)),
      *minus = malloc(nmask * sizeof(int));
  objective(&s, base); /* fills the gradient temporaries */
  int checked = 0, total = 0;
  for (int i = 0; i < s.pp->program.nops; i++) {
    const Op *u = &s.pp->program.ops[i];
    if (u->kind != OP_SGD_UPDATE)
      continue;
    int p = u->in[0];
    size_t count = value_count(s.m, p, s.rows);
    float *grad = malloc(count * sizeof *grad), *w = s.t.st.slots[p];
    memcpy(grad, s.t.st.slots[u->in[1]], count * sizeof *grad);
    for (size_t k = 0; k < count; k++, total++) {
      float saved = w[k];
      w[k] = saved + (float)STEP;
      float lp = objective(&s, plus);
      w[k] = saved - (float)STEP;
      float lm = objective(&s, minus);
      w[k] = saved;
      if (memcmp(plus, minus, nmask * sizeof(int)) != 0)
        continue; /* a kink of a relu or of |c| between the two points */
      double numeric = ((double)lp - lm) / (2 * STEP);
      cr_expect(fabs(numeric - grad[k]) <= 2e-3 + 2e-2 * fabs(grad[k]),
                "%s %s targets %s untied %d noise %d stage %d %s[%zu]: analytic %g, numeric %g",
                activation_name(o.act), reconstruction_name(o.recon), targets_name(o.targets),
                o.untied, o.noise, stage, s.m->values[p].name, k, grad[k], numeric);
      checked++;
    }
    free(grad);
  }
  cr_expect_gt(checked, total / 2, "only %d of %d away from a kink", checked, total);
  free(base), free(plus), free(minus);
  test_state_free(&s.t);
  module_free(s.m);
}

Test(pretrain, gradients_of_every_reconstruction_tied_and_untied) {
  for (int r = 0; r < RECON_COUNT_; r++)
    for (int untied = 0; untied < 2; untied++)
      for (int stage = 0; stage < 2; stage++) {
        NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .recon = (Reconstruction)r,
                        .untied = untied, .noise = NOISE_MASKING, .noise_p = 0.25,
                        .code_l1 = 0.01};
        gradient_check(o, stage, 10 + r * 4 + untied * 2 + stage);
      }
}

/* Strategy 3 with the pre-activations of the layer below as targets: the
 * second stage, where they differ from the codes, for every activation
 * of the layers (the target is before whichever it is). */
Test(pretrain, gradients_with_targets_before) {
  Activation acts[ACT_COUNT_];
  int nacts = hidden_activations(acts);
  for (int a = 0; a < nacts; a++)
    for (int untied = 0; untied < 2; untied++) {
      if (activation_has(acts[a], ACT_IDENTITY))
        continue; /* a linear code is the bias_add's: no mask to check */
      NetOptions o = {.act = acts[a], .loss = LOSS_NLL, .recon = RECON_LINEAR_QUADRATIC,
                      .targets = TARGETS_BEFORE, .untied = untied, .noise = NOISE_MASKING,
                      .noise_p = 0.25, .code_l1 = 0.01};
      gradient_check(o, 1, 60 + a * 2 + untied);
    }
}

Test(pretrain, gradients_with_each_noise_and_activation) {
  const NoiseKind noises[] = {NOISE_MASKING, NOISE_SALT_PEPPER, NOISE_GAUSSIAN};
  Activation acts[ACT_COUNT_];
  int nacts = hidden_activations(acts);
  for (int n = 0; n < 3; n++)
    for (int a = 0; a < nacts; a++) {
      if (activation_has(acts[a], ACT_IDENTITY))
        continue; /* a linear code is the bias_add's: no mask to check */
      NetOptions o = {.act = acts[a], .loss = LOSS_NLL, .recon = RECON_LINEAR_QUADRATIC,
                      .noise = noises[n], .noise_p = noises[n] == NOISE_GAUSSIAN ? 0.3 : 0.2};
      gradient_check(o, 1, 40 + n * 3 + a);
    }
}

/* Generated code against the interpreter, several steps (noise changes per step). */
static void compare(NetOptions o, uint64_t seed) {
  o.pretrain = 1;
  o.pretrain_lr = 0.05;
  Module *m = build(&o, 1);
  char err[512];
  Jit *jit = jit_compile(m, err, sizeof err);
  cr_assert_not_null(jit, "%s", err);
  TestState a, b;
  int rows = 6;
  cr_assert_eq(test_state_init_planned(&a, m, rows, seed), 0);
  cr_assert_eq(test_state_init_planned(&b, m, rows, seed), 0);
  for (int stage = 0; stage < m->npretrain; stage++) {
    const PretrainProgram *pp = &m->pretrain[stage];
    for (int step = 0; step < 3; step++) {
      SrRng r1, r2;
      sr_rng_seed(&r1, seed + step);
      sr_rng_seed(&r2, seed + step);
      fill_inputs(a.st.slots, m, rows, &r1);
      fill_inputs(b.st.slots, m, rows, &r2);
      jit_pretrain(jit)[stage](a.st.slots, rows);
      interp_run(m, &pp->program, b.st.slots, rows);
      int live[] = {pp->cost, pp->input_max};
      for (int k = 0; k < 2; k++) {
        double d = max_rel_diff(a.st.slots[live[k]], b.st.slots[live[k]], 1, 1e-6);
        cr_expect_leq(d, 1e-5, "%s: %s differs by %g", pp->program.name, m->values[live[k]].name, d);
      }
      for (int v = 0; v < m->nvalues; v++)
        if (m->values[v].kind == VAL_PARAM) {
          double d = max_rel_diff(a.st.slots[v], b.st.slots[v], value_count(m, v, rows), 1e-6);
          cr_expect_leq(d, 1e-5, "%s: %s differs by %g", pp->program.name, m->values[v].name, d);
        }
    }
  }
  test_state_free(&a);
  test_state_free(&b);
  jit_free(jit);
  module_free(m);
}

Test(pretrain, jit_matches_interpreter) {
  const NoiseKind noises[] = {NOISE_MASKING, NOISE_SALT_PEPPER, NOISE_GAUSSIAN};
  for (int r = 0; r < RECON_COUNT_; r++)
    for (int n = 0; n < 3; n++)
      for (int untied = 0; untied < 2; untied++) {
        NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .recon = (Reconstruction)r,
                        .noise = noises[n], .noise_p = 0.25, .untied = untied, .code_l1 = 0.001};
        compare(o, 100 + r * 6 + n * 2 + untied);
      }
}

/* The pre-activation the second stage reconstructs is also what the layer
 * below's fused bias_act would not store: fuse-relu must leave it. */
Test(pretrain, jit_matches_interpreter_with_targets_before) {
  const NoiseKind noises[] = {NOISE_MASKING, NOISE_SALT_PEPPER, NOISE_GAUSSIAN};
  for (int n = 0; n < 3; n++)
    for (int untied = 0; untied < 2; untied++) {
      NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .recon = RECON_LINEAR_QUADRATIC,
                      .targets = TARGETS_BEFORE, .noise = noises[n], .noise_p = 0.25,
                      .untied = untied, .code_l1 = 0.001};
      compare(o, 200 + n * 2 + untied);
    }
}

/* The optimised stages on the sparse path (every batch sparse: the sparse
 * encoder product and update, the tied weight's two fused updates) against
 * the interpreter running the stages as derived, unoptimised, on inputs
 * with many zeros, tied and untied. */
static void compare_sparse_with_derived(NetOptions o, uint64_t seed) {
  o.pretrain = 1;
  o.pretrain_lr = 0.05;
  o.noise = NOISE_MASKING;
  o.noise_p = 0.25;
  int widths[] = {7, 5, 3};
  Spec *s = test_spec_with(6, widths, 3, &o, 0.1);
  char err[512];
  Module *fast = module_build(s, err, sizeof err), *derived = module_build(s, err, sizeof err);
  test_spec_free(s);
  cr_assert(fast && derived, "%s", err);
  PassOptions sparse = {.enabled = 1, .sparse_threshold = 2.0}, none = {.enabled = 0};
  cr_assert_eq(optimise_module(fast, &sparse, err, sizeof err), 0, "%s", err);
  cr_assert_eq(optimise_module(derived, &none, err, sizeof err), 0, "%s", err);
  Jit *jit = jit_compile(fast, err, sizeof err);
  cr_assert_not_null(jit, "%s", err);
  int rows = 5;
  TestState a, b;
  cr_assert_eq(test_state_init_planned(&a, fast, rows, seed), 0);
  cr_assert_eq(test_state_init(&b, derived, rows, seed), 0);
  for (int stage = 0; stage < fast->npretrain; stage++)
    for (int step = 0; step < 3; step++) {
      SrRng r1, r2;
      sr_rng_seed(&r1, seed + step);
      sr_rng_seed(&r2, seed + step);
      fill_inputs(a.st.slots, fast, rows, &r1);
      fill_inputs(b.st.slots, derived, rows, &r2);
      for (int k = 0; k < rows * fast->values[fast->x].cols; k += 2) /* half the pixels 0 */
        ((float *)a.st.slots[fast->x])[k] = ((float *)b.st.slots[derived->x])[k] = 0;
      jit_pretrain(jit)[stage](a.st.slots, rows);
      interp_run(derived, &derived->pretrain[stage].program, b.st.slots, rows);
      for (int v = 0; v < fast->nvalues; v++)
        if (fast->values[v].kind == VAL_PARAM) {
          double d = max_rel_diff(a.st.slots[v], b.st.slots[v], value_count(fast, v, rows), 1e-6);
          cr_expect_leq(d, 1e-5, "stage %d step %d: %s differs by %g", stage, step,
                        fast->values[v].name, d);
        }
    }
  test_state_free(&a);
  test_state_free(&b);
  jit_free(jit);
  module_free(fast);
  module_free(derived);
}

Test(pretrain, sparse_path_matches_the_derived_programs) {
  for (int untied = 0; untied < 2; untied++) {
    NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .recon = RECON_SOFTPLUS_QUADRATIC,
                    .untied = untied, .code_l1 = 0.001};
    compare_sparse_with_derived(o, 300 + untied);
  }
  NetOptions relu = {.act = ACT_RELU, .loss = LOSS_NLL, .recon = RECON_RELU_QUADRATIC,
                     .code_l1 = 0.001};
  compare_sparse_with_derived(relu, 302);
  NetOptions before = {.act = ACT_RELU, .loss = LOSS_NLL, .recon = RECON_LINEAR_QUADRATIC,
                       .targets = TARGETS_BEFORE, .untied = 1, .code_l1 = 0.001};
  compare_sparse_with_derived(before, 303);
}

/* Masking noise zeroes about p of the inputs, and a different set each step. */
Test(pretrain, masking_noise_rate_and_freshness) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .pretrain = 1, .noise = NOISE_MASKING,
                  .noise_p = 0.25, .recon = RECON_LINEAR_QUADRATIC};
  Module *m = build(&o, 0);
  TestState t;
  int rows = 400;
  cr_assert_eq(test_state_init(&t, m, rows, 1), 0);
  float *x = t.st.slots[m->x];
  for (int i = 0; i < rows * 6; i++)
    x[i] = 1;
  int noisy = value_named(m, "pt.h1.noisy");
  float *first = malloc(rows * 6 * sizeof(float));
  interp_run(m, &m->pretrain[0].program, t.st.slots, rows);
  memcpy(first, t.st.slots[noisy], rows * 6 * sizeof(float));
  interp_run(m, &m->pretrain[0].program, t.st.slots, rows);
  int zeros = 0, changed = 0;
  const float *second = t.st.slots[noisy];
  for (int i = 0; i < rows * 6; i++) {
    zeros += first[i] == 0;
    changed += first[i] != second[i];
  }
  cr_expect(zeros > 0.22 * rows * 6 && zeros < 0.28 * rows * 6, "%d of %d zeroed", zeros, rows * 6);
  cr_expect_gt(changed, rows, "the second step draws new noise");
  free(first);
  test_state_free(&t);
  module_free(m);
}

/* The stage's cost recomputed from its slots: 1/2 |r(z) - t|^2 per row, z
 * the decoder's pre-activation, r the identity or (rectify) relu, t the
 * value named `target`. */
static double quadratic_cost_against(const Module *m, void **slots, int stage, const char *target,
                                     int rectify, int rows) {
  char name[64];
  snprintf(name, sizeof name, "pt.h%d.decoder.a", stage + 1);
  int z = value_named(m, name), t = value_named(m, target);
  cr_assert(z >= 0 && t >= 0, "%s or %s", name, target);
  const float *zv = slots[z], *tv = slots[t];
  double sum = 0;
  for (size_t k = 0; k < value_count(m, z, rows); k++) {
    double r = rectify && zv[k] < 0 ? 0 : zv[k];
    sum += (r - tv[k]) * (r - tv[k]) / 2;
  }
  return sum / rows;
}

/* Each stage run once by the interpreter on the same inputs and seed,
 * into t (a fresh state); returns the costs. */
static void run_stages(Module *m, TestState *t, int rows, double *cost) {
  cr_assert_eq(test_state_init(t, m, rows, 7), 0);
  SrRng rng;
  sr_rng_seed(&rng, 7);
  fill_inputs(t->st.slots, m, rows, &rng);
  for (int k = 0; k < m->npretrain; k++) {
    memset(t->st.slots[value_named(m, "noise.step")], 0, 4);
    interp_run(m, &m->pretrain[k].program, t->st.slots, rows);
    cost[k] = ((float *)t->st.slots[m->pretrain[k].cost])[0];
  }
}

/* targets = before: the second stage reconstructs the first layer's
 * pre-activations (some negative, so not its codes) and costs what that
 * says; the first stage reconstructs the input either way. */
Test(pretrain, targets_before_are_the_pre_activations_of_the_layer_below) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .pretrain = 1, .noise = NOISE_MASKING,
                  .noise_p = 0.25, .recon = RECON_LINEAR_QUADRATIC};
  Module *after = build(&o, 0);
  o.targets = TARGETS_BEFORE;
  Module *before = build(&o, 0);
  int rows = 8;
  TestState ta, tb;
  double ca[2], cb[2];
  run_stages(after, &ta, rows, ca);
  run_stages(before, &tb, rows, cb);
  cr_expect_eq(ca[0], cb[0], "the first stage's target is the input: %g, %g", ca[0], cb[0]);
  cr_expect_neq(ca[1], cb[1], "the second stage's targets differ, so must its cost");
  const float *pre = tb.st.slots[value_named(before, "pt.h2.h1.a")];
  int negative = 0;
  for (size_t k = 0; k < value_count(before, value_named(before, "pt.h2.h1.a"), rows); k++)
    negative += pre[k] < 0;
  cr_expect_gt(negative, 0, "no negative pre-activation: before and after would be alike");
  double want_before = quadratic_cost_against(before, tb.st.slots, 1, "pt.h2.h1.a", 0, rows);
  double want_after = quadratic_cost_against(after, ta.st.slots, 1, "pt.h2.h1", 0, rows);
  cr_expect_leq(fabs(cb[1] - want_before), 1e-5 * (1 + want_before), "before: %g, not %g", cb[1],
                want_before);
  cr_expect_leq(fabs(ca[1] - want_after), 1e-5 * (1 + want_after), "after: %g, not %g", ca[1],
                want_after);
  /* the encoder still reads the (corrupted) codes, not the pre-activations */
  const float *noisy = tb.st.slots[value_named(before, "pt.h2.noisy")];
  for (size_t k = 0; k < value_count(before, value_named(before, "pt.h2.noisy"), rows); k++)
    cr_expect_geq(noisy[k], 0, "the encoder's input %zu is %g: not a relu code", k, noisy[k]);
  test_state_free(&ta);
  test_state_free(&tb);
  module_free(after);
  module_free(before);
}

/* relu_quadratic: the decoder's output goes through a rectifier (some of
 * it negative, so the cost is not the linear decoder's), and the targets
 * are the input, then the codes below. */
Test(pretrain, relu_quadratic_reconstructs_through_a_rectifier) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .pretrain = 1, .noise = NOISE_MASKING,
                  .noise_p = 0.25, .recon = RECON_RELU_QUADRATIC};
  Module *m = build(&o, 0);
  int rows = 8;
  TestState t;
  double cost[2];
  run_stages(m, &t, rows, cost);
  const char *targets[2] = {m->values[m->x].name, "pt.h2.h1"};
  for (int k = 0; k < 2; k++) {
    double relu = quadratic_cost_against(m, t.st.slots, k, targets[k], 1, rows);
    double linear = quadratic_cost_against(m, t.st.slots, k, targets[k], 0, rows);
    cr_expect_leq(fabs(cost[k] - relu), 1e-5 * (1 + relu), "stage %d: %g, not %g", k, cost[k],
                  relu);
    cr_expect_gt(fabs(relu - linear), 1e-3 * relu, "stage %d: no decoder output below 0", k);
  }
  test_state_free(&t);
  module_free(m);
}

/* Two Gaussian blobs in 6-d [0,1] space: every strategy's cost falls. */
Test(pretrain, cost_decreases_for_each_strategy) {
  for (int r = 0; r < RECON_COUNT_; r++) {
    NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .pretrain = 1, .noise = NOISE_MASKING,
                    .noise_p = 0.25, .recon = (Reconstruction)r, .pretrain_lr = 0.1};
    Module *m = build(&o, 1);
    char err[512];
    Jit *jit = jit_compile(m, err, sizeof err);
    cr_assert_not_null(jit, "%s", err);
    TestState t;
    int rows = 4, n = 400;
    cr_assert_eq(test_state_init_planned(&t, m, rows, 5), 0);
    SrRng rng;
    sr_rng_seed(&rng, 9);
    float *data = malloc(sizeof(float) * n * 6);
    for (int i = 0; i < n * 6; i++)
      data[i] = (float)(((i / 6) % 2 ? 0.8 : 0.2) + 0.1 * (sr_rng_uniform(&rng) - 0.5));
    double first = 0, last = 0;
    for (int epoch = 0; epoch < 20; epoch++) {
      double sum = 0;
      for (int b = 0; b < n / rows; b++) {
        memcpy(t.st.slots[m->x], data + b * rows * 6, sizeof(float) * rows * 6);
        jit_pretrain(jit)[0](t.st.slots, rows);
        sum += ((float *)t.st.slots[m->pretrain[0].cost])[0];
      }
      if (epoch == 0)
        first = sum;
      last = sum;
    }
    cr_expect_lt(last, 0.9 * first, "%s: cost %g -> %g", reconstruction_name((Reconstruction)r),
                 first, last);
    free(data);
    test_state_free(&t);
    jit_free(jit);
    module_free(m);
  }
}

/* The stop flag (Ctrl-C in the REPL), raised before the first minibatch:
 * sr_pretrain says so, and the parameters are those before the stage. */
Test(pretrain, stop_flag_restores_the_stage) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .pretrain = 1, .noise = NOISE_MASKING,
                  .noise_p = 0.25, .recon = RECON_SOFTPLUS_QUADRATIC};
  Module *m = build(&o, 1);
  char err[512];
  Jit *jit = jit_compile(m, err, sizeof err);
  cr_assert_not_null(jit, "%s", err);
  TestState t, before;
  cr_assert_eq(test_state_init_planned(&t, m, 4, 5), 0);
  cr_assert_eq(test_state_init(&before, m, 4, 5), 0);
  abi_describe_pretrain(m, jit_pretrain(jit), &t.model);
  enum { N = 40 };
  float x[N * 6];
  int32_t y[N] = {0};
  SrRng rng;
  sr_rng_seed(&rng, 3);
  for (int i = 0; i < N * 6; i++)
    x[i] = (float)sr_rng_uniform(&rng);
  SrDataset data = {.n = N, .dim = 6, .x = x, .y = y};
  volatile sig_atomic_t stop = 1;
  SrPretrainConfig cfg = {.seed = 1, .stop = &stop};
  SrError e;
  cr_assert_eq(sr_pretrain(&t.st, &cfg, &data, &e), -1);
  cr_expect_str_eq(e.msg, "pretraining h1 interrupted in epoch 1: its parameters are as they "
                          "were before the stage");
  for (int v = 0; v < m->nvalues; v++)
    if (m->values[v].kind == VAL_PARAM)
      cr_expect_arr_eq(t.st.slots[v], before.st.slots[v], value_count(m, v, 1) * sizeof(float),
                       "%s", m->values[v].name);
  test_state_free(&t);
  test_state_free(&before);
  jit_free(jit);
  module_free(m);
}
