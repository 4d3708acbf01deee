/* The sparse products (ir/passes/sparse_products.c, backend/sparse_kernels.c,
 * runtime/parallel.c): the pass's rewrite; each sparse kernel against its
 * dense variant and the reference interpreter, at several sparsities, odd
 * sizes and batch 1, on 1 thread and bit for bit on 2, 3 and 7; a whole training step on the
 * sparse path against the dense path and the interpreter. Tolerance: the
 * norm-relative difference of max_rel_diff, at most 1e-5. */
#include <criterion/criterion.h>

#include "support.h"

#define ALWAYS_SPARSE 2.0 /* nonzeros <= 2 n K: every batch */
#define NEVER_SPARSE -1.0 /* nonzeros <= -n K: no batch, not even all zeros */

static int count_ops(const Program *p, OpKind kind) {
  int n = 0;
  for (int i = 0; i < p->nops; i++)
    n += p->ops[i].kind == kind;
  return n;
}

static Module *build_with(const Spec *s, const PassOptions *o) {
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  cr_assert_eq(optimise_module(m, o, err, sizeof err), 0, "%s", err);
  return m;
}

/* ---- the pass ------------------------------------------------------------- */

Test(sparse_products, every_relu_fed_product_and_the_input_becomes_sparse) {
  int widths[] = {30, 30, 30, 10};
  Spec *s = test_spec(40, widths, 4, 0.001, 0.05);
  PassOptions o = {.enabled = 1};
  Module *m = build_with(s, &o);
  cr_expect_eq(count_ops(&m->train, OP_SPARSE_MATMUL), 4, "x, h1, h2, h3 feed products");
  cr_expect_eq(count_ops(&m->train, OP_SPARSE_BACKWARD_SGD), 4);
  cr_expect_eq(count_ops(&m->train, OP_ACTIVE_UNITS), 4, "one list per sparse operand");
  cr_expect_eq(count_ops(&m->train, OP_MATMUL) + count_ops(&m->train, OP_MATMUL_SGD), 0,
               "input gradients fused into the backward ops");
  int with_da = 0;
  for (int i = 0; i < m->train.nops; i++)
    with_da += m->train.ops[i].kind == OP_SPARSE_BACKWARD_SGD && m->train.ops[i].out[0] >= 0;
  cr_expect_eq(with_da, 3, "h1, h2, h3 get their masked input gradient; x needs none");
  cr_expect_eq(count_ops(&m->infer, OP_SPARSE_MATMUL), 4);
  cr_expect_eq(count_ops(&m->infer, OP_MATMUL), 0);
  ProgramStats st;
  program_stats(m, &m->train, 10, &st);
  for (int h = 0; h < 3; h++) /* bias_act, active_units, bias_act_grad */
    cr_expect_leq(st.hidden_passes[h], 3, "%s: %d passes", m->hidden[h].name, st.hidden_passes[h]);
  module_free(m);
  PassOptions dense = {.enabled = 1, .dense_only = 1};
  m = build_with(s, &dense);
  cr_expect_eq(count_ops(&m->train, OP_SPARSE_MATMUL) + count_ops(&m->train, OP_ACTIVE_UNITS), 0);
  module_free(m);
  test_spec_free(s);
}

/* Pretraining: the encoder reads the masked codes (masking keeps zeros), so
 * its product and its share of the tied weight's update go sparse; the
 * decoder's products read w by columns and stay dense; a noise that fills
 * zeros in keeps the encoder dense. Each stage's two gradients of the tied
 * w become two fused updates, not a stored sum. */
Test(sparse_products, pretraining_encoders_read_masked_codes_sparsely) {
  int widths[] = {12, 9, 4};
  const NoiseKind noises[] = {NOISE_MASKING, NOISE_GAUSSIAN};
  for (int n = 0; n < 2; n++) {
    NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .pretrain = 1, .pretrain_lr = 0.05,
                    .noise = noises[n], .noise_p = 0.25};
    Spec *s = test_spec_with(7, widths, 3, &o, 0.1);
    PassOptions passes = {.enabled = 1};
    Module *m = build_with(s, &passes);
    const Program *h2 = &m->pretrain[1].program;
    int keeps = noises[n] == NOISE_MASKING;
    cr_expect_eq(count_ops(h2, OP_SPARSE_MATMUL), 1 + keeps, "%s: x -> h1, noisy h1 -> h2",
                 noise_name(noises[n]));
    cr_expect_eq(count_ops(h2, OP_SPARSE_BACKWARD_SGD), keeps, "the encoder's update");
    cr_expect_eq(count_ops(h2, OP_MATMUL_SGD), 2 - keeps, "the decoder's update (and the encoder's)");
    cr_expect_eq(count_ops(h2, OP_ADD) + count_ops(h2, OP_SGD_UPDATE), 2, "the biases' updates only");
    module_free(m);
    test_spec_free(s);
  }
}

Test(sparse_products, leaves_decay_momentum_and_sign_trick_products_dense) {
  int widths[] = {12, 9, 4};
  NetOptions l2 = {.act = ACT_RELU, .loss = LOSS_NLL, .l2 = 0.01};
  NetOptions momentum = {.act = ACT_RELU, .loss = LOSS_NLL, .momentum = 0.9};
  NetOptions tanh = {.act = ACT_TANH, .loss = LOSS_NLL};
  PassOptions o = {.enabled = 1};
  Spec *s = test_spec_with(7, widths, 3, &l2, 0.1);
  Module *m = build_with(s, &o);
  cr_expect_eq(count_ops(&m->train, OP_SPARSE_BACKWARD_SGD), 0, "L2 decay touches every row");
  cr_expect_eq(count_ops(&m->train, OP_SPARSE_MATMUL), 3, "forward products stay sparse");
  module_free(m);
  test_spec_free(s);
  s = test_spec_with(7, widths, 3, &momentum, 0.1);
  m = build_with(s, &o);
  cr_expect_eq(count_ops(&m->train, OP_SPARSE_BACKWARD_SGD), 0, "momentum moves every weight");
  module_free(m);
  test_spec_free(s);
  s = test_spec_with(7, widths, 3, &tanh, 0.1);
  m = build_with(s, &o);
  cr_expect_eq(count_ops(&m->train, OP_SPARSE_MATMUL), 1, "only the input product: tanh is dense");
  cr_expect_eq(count_ops(&m->train, OP_SPARSE_BACKWARD_SGD), 1);
  module_free(m);
  test_spec_free(s);
}

/* ---- each kernel against its dense variant and the interpreter ------------------- */

/* A module of two programs around one sparse operand a [n x K] and weights
 * w [K x N]: infer is `z = sparse_matmul a, w`, train is
 * `da = sparse_backward_sgd w, a, dz` (or without da), each after its
 * active_units. `threshold` picks the variant. */
typedef struct Kernels {
  Module *m;
  Jit *jit;
  int a, dz, w, z, da, list, rows;
} Kernels;

static void add_active(Program *p, const Kernels *k) {
  Op *op = op_emit(p, OP_ACTIVE_UNITS);
  op->nin = 1, op->nout = 2;
  op->in[0] = k->a;
  op->out[0] = k->list;
  op->out[1] = k->rows;
}

static Kernels kernels_build(int K, int N, double threshold, int with_da) {
  Kernels k;
  Module *m = k.m = calloc(1, sizeof *m);
  m->x = k.a = value_new(m, "a", VAL_INPUT, ROWS_BATCH, K);
  m->y = value_new(m, "y", VAL_LABELS, ROWS_BATCH, 1);
  k.dz = value_new(m, "dz", VAL_INPUT, ROWS_BATCH, N);
  k.w = param_new(m, "w", K, N, PINIT_UNIFORM, K, N);
  m->values[k.w].init_arg = 1;
  k.z = value_new(m, "z", VAL_TEMP, ROWS_BATCH, N);
  k.da = value_new(m, "da", VAL_TEMP, ROWS_BATCH, K);
  k.list = value_new(m, "a.active", VAL_TEMP, 1, K + 2);
  k.rows = value_new(m, "a.rows", VAL_TEMP, ROWS_BATCH, K + 1);
  m->probs = m->head_loss = m->train_loss = -1;
  m->classes = 1;
  m->infer.name = strdup("infer");
  add_active(&m->infer, &k);
  Op *fwd = op_emit2(&m->infer, OP_SPARSE_MATMUL, k.z, k.a, k.w);
  fwd->in[fwd->nin++] = k.list;
  fwd->in[fwd->nin++] = k.rows;
  for (int c = 0; c < SPARSE_CLASSES; c++)
    fwd->max_density[c] = threshold;
  m->train.name = strdup("train");
  add_active(&m->train, &k);
  Op *bwd = op_emit(&m->train, OP_SPARSE_BACKWARD_SGD);
  bwd->nin = 4, bwd->nout = 1;
  bwd->in[0] = k.w, bwd->in[1] = k.a, bwd->in[2] = k.dz, bwd->in[3] = k.list;
  bwd->out[0] = with_da ? k.da : -1;
  bwd->coef = 0.1;
  for (int c = 0; c < SPARSE_CLASSES; c++)
    bwd->max_density[c] = threshold;
  char err[512];
  cr_assert_eq(verify_program(m, &m->infer, err, sizeof err), 0, "%s", err);
  cr_assert_eq(verify_program(m, &m->train, err, sizeof err), 0, "%s", err);
  k.jit = jit_compile(m, err, sizeof err);
  cr_assert_not_null(k.jit, "%s", err);
  return k;
}

/* A fraction `zeros` of a's entries are 0, and so is every 5th column
 * (units dead on the whole batch); the rest in (0.1, 1], or in [-1, 1)
 * when `signed_values` (an input, not a relu output). */
static void fill_sparse(float *a, int rows, int K, double zeros, int signed_values, SrRng *rng) {
  for (int i = 0; i < rows; i++)
    for (int k = 0; k < K; k++) {
      double u = sr_rng_uniform(rng), v = sr_rng_uniform(rng);
      float x = signed_values ? (float)(2 * v - 1) : (float)(0.1 + 0.9 * v);
      a[(size_t)i * K + k] = u < zeros || k % 5 == 3 ? 0 : x;
    }
}

static void fill_uniform(float *x, size_t n, SrRng *rng) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(2 * sr_rng_uniform(rng) - 1);
}

typedef struct KernelCase {
  int rows, K, N;
  double zeros;
  int signed_values;
} KernelCase;

/* Runs both programs of `k` on a fresh state; the slots stay in *t. */
static void run_kernels(const Kernels *k, const KernelCase *c, int use_jit, int threads, TestState *t) {
  cr_assert_eq(test_state_init(t, k->m, c->rows, 11), 0);
  SrRng rng;
  sr_rng_seed(&rng, 5 + (uint64_t)(c->zeros * 100));
  fill_sparse(t->st.slots[k->a], c->rows, c->K, c->zeros, c->signed_values, &rng);
  fill_uniform(t->st.slots[k->dz], (size_t)c->rows * c->N, &rng);
  if (!use_jit) {
    interp_run(k->m, &k->m->infer, t->st.slots, c->rows);
    interp_run(k->m, &k->m->train, t->st.slots, c->rows);
    return;
  }
  sr_set_threads(threads);
  sr_set_parallel_min_work(0); /* share even the smallest work */
  jit_infer(k->jit)(t->st.slots, c->rows);
  jit_train_step(k->jit)(t->st.slots, c->rows);
  sr_set_threads(1);
}

static void expect_close(const TestState *a, const TestState *b, int v, size_t n, const char *what,
                         const KernelCase *c) {
  double d = max_rel_diff(a->st.slots[v], b->st.slots[v], n, 1e-6);
  cr_expect_leq(d, 1e-5, "%s: rows %d K %d N %d zeros %.2f: differs by %g", what, c->rows, c->K,
                c->N, c->zeros, d);
}

static void expect_same_results(const Kernels *k, const TestState *x, const TestState *y,
                                 const KernelCase *c, const char *what) {
  size_t rows = (size_t)c->rows;
  expect_close(x, y, k->z, rows * c->N, what, c);
  expect_close(x, y, k->da, rows * c->K, what, c);
  expect_close(x, y, k->w, (size_t)c->K * c->N, what, c);
}

/* The lists themselves, as the interpreter makes them: the units (count,
 * nonzeros, the units) and each row's nonzeros (count, the columns). */
static void expect_same_list(const Kernels *k, const TestState *jit, const TestState *ref,
                             const KernelCase *c) {
  const float *a = jit->st.slots[k->list], *b = ref->st.slots[k->list];
  cr_expect_eq(a[0], b[0], "active units %g vs %g", a[0], b[0]);
  cr_expect_eq(a[1], b[1], "nonzeros %g vs %g", a[1], b[1]);
  for (int q = 0; q < (int)b[0]; q++)
    cr_expect_eq(a[2 + q], b[2 + q], "unit %d: %g vs %g", q, a[2 + q], b[2 + q]);
  for (int i = 0; i < c->rows; i++) {
    const float *x = (const float *)jit->st.slots[k->rows] + (size_t)i * (c->K + 1);
    const float *y = (const float *)ref->st.slots[k->rows] + (size_t)i * (c->K + 1);
    cr_expect_eq(x[0], y[0], "row %d: %g vs %g nonzeros", i, x[0], y[0]);
    for (int q = 0; q < (int)y[0]; q++)
      cr_expect_eq(x[1 + q], y[1 + q], "row %d, nonzero %d: column %g vs %g", i, q, x[1 + q], y[1 + q]);
  }
}

/* Every element is computed by the same instructions in the same order
 * however the work is cut: bit-identical with any number of threads. */
static void expect_bit_identical(const Kernels *k, const TestState *one, const TestState *many,
                                 const KernelCase *c, int with_da, int threads) {
  size_t rows = (size_t)c->rows;
  cr_expect_eq(memcmp(one->st.slots[k->z], many->st.slots[k->z], rows * c->N * 4), 0,
               "z differs with %d threads (rows %d K %d N %d)", threads, c->rows, c->K, c->N);
  cr_expect_eq(memcmp(one->st.slots[k->w], many->st.slots[k->w], (size_t)c->K * c->N * 4), 0,
               "w differs with %d threads (rows %d K %d N %d)", threads, c->rows, c->K, c->N);
  if (with_da)
    cr_expect_eq(memcmp(one->st.slots[k->da], many->st.slots[k->da], rows * c->K * 4), 0,
                 "da differs with %d threads (rows %d K %d N %d)", threads, c->rows, c->K, c->N);
}

static void check_case(const KernelCase *c, int with_da) {
  Kernels sparse = kernels_build(c->K, c->N, ALWAYS_SPARSE, with_da);
  Kernels dense = kernels_build(c->K, c->N, NEVER_SPARSE, with_da);
  TestState ref, one, fallback;
  run_kernels(&sparse, c, 0, 1, &ref);
  run_kernels(&sparse, c, 1, 1, &one);
  run_kernels(&dense, c, 1, 2, &fallback);
  expect_same_list(&sparse, &one, &ref, c);
  expect_same_results(&sparse, &one, &ref, c, "sparse kernel vs interpreter");
  expect_same_results(&sparse, &fallback, &ref, c, "dense variant vs interpreter");
  expect_same_results(&sparse, &one, &fallback, c, "sparse vs dense variant");
  const int threads[] = {2, 3, 7};
  for (int i = 0; i < 3; i++) {
    TestState many;
    run_kernels(&sparse, c, 1, threads[i], &many);
    expect_bit_identical(&sparse, &one, &many, c, with_da, threads[i]);
    test_state_free(&many);
  }
  test_state_free(&ref);
  test_state_free(&one);
  test_state_free(&fallback);
  jit_free(sparse.jit);
  jit_free(dense.jit);
  module_free(sparse.m);
  module_free(dense.m);
}

Test(sparse_kernels, equal_dense_at_0_50_95_100_percent_zeros) {
  const double zeros[] = {0, 0.5, 0.95, 1.0};
  for (int z = 0; z < 4; z++) {
    KernelCase c = {.rows = 7, .K = 37, .N = 133, .zeros = zeros[z]};
    check_case(&c, 1);
  }
}

Test(sparse_kernels, equal_dense_at_batch_1_and_odd_sizes) {
  const KernelCase cases[] = {
      {.rows = 1, .K = 50, .N = 1000, .zeros = 0.8},  /* inference of the paper's layer */
      {.rows = 1, .K = 3, .N = 5, .zeros = 0.3},      /* narrower than a vector */
      {.rows = 13, .K = 64, .N = 17, .zeros = 0.9},   /* one vector and a tail */
      {.rows = 33, .K = 29, .N = 64, .zeros = 0.5},   /* exactly one group of four vectors */
      {.rows = 10, .K = 41, .N = 250, .zeros = 0.7, .signed_values = 1}, /* an input */
      {.rows = 5, .K = 97, .N = 1801, .zeros = 0.6},  /* 7 blocks of 256 and a tail: 7 threads' share */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_case(&cases[i], 1);
}

Test(sparse_kernels, weight_update_alone_for_the_first_layer) {
  KernelCase c = {.rows = 9, .K = 31, .N = 77, .zeros = 0.6, .signed_values = 1};
  check_case(&c, 0);
}

/* ---- a whole training step: sparse path == dense path == interpreter ------------- */

typedef struct Path {
  Module *m;
  TestState t;
  Jit *jit;
} Path;

/* The spec optimised with every product sparse (or, dense_only, none), on
 * planned memory as `sparsec run` does; x has a fraction `x_zeros` of zeros. */
static void path_init(Path *p, const Spec *s, int dense_only, int rows, double x_zeros,
                      int use_jit) {
  PassOptions o = {.enabled = 1, .dense_only = dense_only, .sparse_threshold = ALWAYS_SPARSE};
  p->m = build_with(s, &o);
  cr_assert_eq(test_state_init_planned(&p->t, p->m, rows, 21), 0);
  SrRng rng;
  sr_rng_seed(&rng, 22);
  fill_batch(p->t.st.slots, p->m, rows, &rng);
  float *x = p->t.st.slots[p->m->x];
  for (int i = 0; i < rows * p->m->values[p->m->x].cols; i++)
    if (sr_rng_uniform(&rng) < x_zeros)
      x[i] = 0;
  p->jit = NULL;
  if (use_jit) {
    char err[512];
    p->jit = jit_compile(p->m, err, sizeof err);
    cr_assert_not_null(p->jit, "%s", err);
  }
}

static void path_run(Path *p, const Program *prog, SrKernel kernel, int rows, int threads) {
  sr_set_threads(threads);
  sr_set_parallel_min_work(0);
  if (p->jit)
    kernel(p->t.st.slots, rows);
  else
    interp_run(p->m, prog, p->t.st.slots, rows);
  sr_set_threads(1);
}

static void path_free(Path *p) {
  jit_free(p->jit);
  test_state_free(&p->t);
  module_free(p->m);
}

/* The live outputs of `prog` and every parameter (value ids agree: the
 * active lists are the only values sparse-products adds, after the others).
 * Other temporaries may share bytes under the memory plan. */
static double path_diff(const Path *a, const Path *b, const Program *prog, int rows, int exact) {
  double worst = 0;
  for (int v = 0; v < b->m->nvalues; v++) {
    int compare = b->m->values[v].kind == VAL_PARAM;
    for (int i = 0; i < prog->nlive; i++)
      compare |= prog->live[i] == v;
    if (!compare)
      continue;
    size_t n = value_count(b->m, v, rows);
    double d = exact ? memcmp(a->t.st.slots[v], b->t.st.slots[v], n * 4) != 0
                     : max_rel_diff(a->t.st.slots[v], b->t.st.slots[v], n, 1e-6);
    if (d > worst)
      worst = d;
  }
  return worst;
}

/* Runs program `which` (0 infer, 1 train) on every path and compares. */
static void run_and_compare(Path *paths, int which, int rows, int step) {
  const char *name = which ? "train" : "infer";
  for (int k = 0; k < 4; k++) {
    Path *p = &paths[k];
    const Program *prog = which ? &p->m->train : &p->m->infer;
    SrKernel kernel = !p->jit ? NULL : which ? jit_train_step(p->jit) : jit_infer(p->jit);
    path_run(p, prog, kernel, rows, k == 1 ? 2 : 1);
  }
  const Program *prog = which ? &paths[2].m->train : &paths[2].m->infer;
  double d = path_diff(&paths[0], &paths[2], prog, rows, 0);
  cr_expect_leq(d, 1e-5, "%s step %d, rows %d: sparse path vs dense path: %g", name, step, rows, d);
  d = path_diff(&paths[0], &paths[3], prog, rows, 0);
  cr_expect_leq(d, 1e-5, "%s step %d, rows %d: sparse path vs interpreter: %g", name, step, rows, d);
  cr_expect_eq(path_diff(&paths[0], &paths[1], prog, rows, 1), 0,
               "%s step %d, rows %d: 2 threads differ from 1", name, step, rows);
}

/* sparse (1 thread), sparse (2 threads), dense path, interpreter */
static void compare_paths(const Spec *s, int rows, double x_zeros) {
  Path paths[4];
  path_init(&paths[0], s, 0, rows, x_zeros, 1);
  path_init(&paths[1], s, 0, rows, x_zeros, 1);
  path_init(&paths[2], s, 1, rows, x_zeros, 1);
  path_init(&paths[3], s, 0, rows, x_zeros, 0);
  for (int step = 0; step < 3; step++) {
    run_and_compare(paths, 0, rows, step);
    run_and_compare(paths, 1, rows, step);
  }
  for (int k = 0; k < 4; k++)
    path_free(&paths[k]);
}

Test(sparse_training, step_equals_dense_path_and_interpreter) {
  int widths[] = {41, 33, 70, 10};
  Spec *s = test_spec(37, widths, 4, 0.001, 0.1);
  compare_paths(s, 10, 0.5);
  compare_paths(s, 1, 0.9);
  compare_paths(s, 19, 0);
  test_spec_free(s);
}
