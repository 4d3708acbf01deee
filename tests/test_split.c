/* The split step of data parallelism, in one process: the split-updates
 * pass (ir/passes/split_updates.c), its kernels against the fused step,
 * and sr_fit / sr_pretrain on the data-parallel path with a job of one
 * rank (sr_dist_single) against the plain path. With one rank the two must
 * agree to float rounding: the mpirun suite (test_mpi.c) builds on that. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#include "dist_internal.h"
#include "support.h"

static int count_ops(const Program *p, OpKind kind) {
  int n = 0;
  for (int i = 0; i < p->nops; i++)
    n += p->ops[i].kind == kind;
  return n;
}

static int count_updates(const Program *p) {
  return count_ops(p, OP_SGD_UPDATE) + count_ops(p, OP_MOMENTUM_UPDATE) +
         count_ops(p, OP_MATMUL_SGD);
}

static Module *build_split(const Spec *s) {
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  PassOptions o = {.enabled = 1, .data_parallel = 1};
  cr_assert_eq(optimise_module(m, &o, err, sizeof err), 0, "%s", err);
  return m;
}

static const int widths[] = {12, 10, 3};

Test(split_updates, moves_updates_and_weight_decay_to_apply) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = 0.01, .l2 = 0.001};
  Spec *s = test_spec_with(8, widths, 3, &o, 0.05);
  Module *m = build_split(s);
  const SplitStep *sp = &m->train_split;
  cr_assert(sp->present);
  cr_expect_str_eq(sp->grads.name, "train_grads");
  cr_expect_str_eq(sp->apply.name, "apply_updates");
  cr_expect_eq(count_updates(&sp->grads), 0);
  cr_expect_eq(count_ops(&sp->grads, OP_L2_GRAD), 0, "weight decay needs no averaging");
  cr_expect_eq(count_updates(&sp->apply), 6);
  cr_expect_eq(count_ops(&sp->apply, OP_L2_GRAD), 3);
  cr_expect_eq(sp->ngrads, 6);
  for (int k = 0; k < sp->ngrads; k++) {
    const Value *g = &m->values[sp->grad[k]], *p = &m->values[sp->param[k]];
    cr_expect_eq(g->rows, p->rows, "%s", g->name);
    cr_expect_eq(g->cols, p->cols, "%s", g->name);
    cr_expect_eq(p->kind, VAL_PARAM);
  }
  cr_expect_eq(sp->apply.ncarried, 6);
  /* each gradient announced right after its definition, in the order listed */
  cr_expect_eq(count_ops(&sp->grads, OP_GRAD_READY), 6);
  int announced = 0;
  for (int i = 0; i < sp->grads.nops; i++) {
    const Op *op = &sp->grads.ops[i];
    if (op->kind != OP_GRAD_READY)
      continue;
    cr_expect_eq(op->in[0], sp->grad[announced], "grad_ready %d", announced);
    const Op *def = &sp->grads.ops[program_def(&sp->grads, op->in[0])];
    cr_expect(def->kind != OP_GRAD_READY && program_def(&sp->grads, op->in[0]) < i);
    announced++;
  }
  cr_expect_eq(count_ops(&sp->apply, OP_GRAD_READY), 0);
  cr_expect_eq(count_ops(&m->train, OP_GRAD_READY), 0, "one process has no one to tell");
  cr_expect_eq(sp->grads.nlive, 7, "the objective and every gradient");
  cr_expect_gt(count_ops(&m->train, OP_MATMUL_SGD), 0, "train itself stays fused");
  module_free(m);
  test_spec_free(s);
}

Test(split_updates, only_when_asked) {
  Spec *s = test_spec(8, widths, 3, 0.01, 0.05);
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  PassOptions o = {.enabled = 1};
  cr_assert_eq(optimise_module(m, &o, err, sizeof err), 0, "%s", err);
  cr_expect(!m->train_split.present);
  const Program *split[MODULE_MAX_SPLIT_PROGRAMS];
  cr_expect_eq(module_split_programs(m, split), 0);
  module_free(m);
  test_spec_free(s);
}

Test(split_updates, every_pretraining_stage_and_momentum) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .momentum = 0.9, .pretrain = 1,
                  .noise = NOISE_MASKING, .noise_p = 0.25, .recon = RECON_SOFTPLUS_QUADRATIC,
                  .untied = 1};
  Spec *s = test_spec_with(8, widths, 3, &o, 0.05);
  Module *m = build_split(s);
  cr_expect_eq(count_ops(&m->train_split.apply, OP_MOMENTUM_UPDATE), 6);
  for (int i = 0; i < m->npretrain; i++) {
    const SplitStep *sp = &m->pretrain[i].split;
    cr_assert(sp->present);
    cr_expect_eq(sp->ngrads, 4, "encoder and untied decoder");
    cr_expect_eq(count_ops(&sp->grads, OP_STEP), 1, "the noise counter ticks with the grads");
    cr_expect_eq(count_updates(&sp->grads), 0);
  }
  const Program *split[MODULE_MAX_SPLIT_PROGRAMS];
  cr_expect_eq(module_split_programs(m, split), 2 + 2 * m->npretrain);
  module_free(m);
  test_spec_free(s);
}

/* ---- kernels and the runtime's data-parallel path ------------------------- */

typedef struct Compiled {
  PreparedModel p;
  Jit *jit;
} Compiled;

static void compile(Compiled *c, const Spec *s) {
  char err[512];
  PassOptions passes = {.enabled = 1, .data_parallel = 1};
  cr_assert_eq(prepare_model(s, s->train.lr, &passes, &c->p, err, sizeof err), 0, "%s", err);
  c->jit = jit_compile(c->p.m, err, sizeof err);
  cr_assert_not_null(c->jit, "%s", err);
  SrModel *model = &c->p.model;
  model->train_step = jit_train_step(c->jit);
  model->infer = jit_infer(c->jit);
  for (int i = 0; i < model->npretrain; i++)
    model->pretrain[i].step = jit_pretrain(c->jit)[i];
  jit_use_split(c->jit, model);
}

static void compiled_free(Compiled *c) {
  jit_free(c->jit);
  prepared_model_free(&c->p);
}

static void expect_same_params(const SrState *a, const SrState *b, double tol) {
  const SrModel *m = a->model;
  for (int s = 0; s < m->nslots; s++) {
    if (m->slots[s].kind != SR_SLOT_PARAM && m->slots[s].kind != SR_SLOT_STATE)
      continue;
    double d = max_rel_diff(a->slots[s], b->slots[s], a->bytes[s] / 4, 1e-6);
    cr_expect_leq(d, tol, "%s differs by %g", m->slots[s].name, d);
  }
}

/* Inputs in [0, 1) in the first half of the columns, the rest zero on
 * every example, as pixels at the border of an image: the sparse exchange
 * then has rows to skip. With `sparse`, each of those is non-zero with
 * probability 1/10 only, so that the sparse products (passes/
 * sparse_products.c) take their sparse kernels in train_grads too. */
static void random_data_with(SrDataset *ds, int n, int dim, int classes, uint64_t seed,
                             int sparse) {
  SrRng rng;
  sr_rng_seed(&rng, seed);
  ds->n = n;
  ds->dim = dim;
  ds->x = calloc((size_t)n * dim, sizeof *ds->x);
  ds->y = calloc((size_t)n, sizeof *ds->y);
  ds->owns = 1;
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < dim / 2; j++)
      if (!sparse || sr_rng_below(&rng, 10) == 0)
        ds->x[(size_t)i * dim + j] = (float)sr_rng_uniform(&rng);
    ds->y[i] = (int32_t)sr_rng_below(&rng, (uint32_t)classes);
  }
}

static void random_data(SrDataset *ds, int n, int dim, int classes, uint64_t seed) {
  random_data_with(ds, n, dim, classes, seed, 0);
}

static void check_step_equals_fused(const NetOptions *o) {
  Spec *s = test_spec_with(8, widths, 3, o, 0.05);
  Compiled c;
  compile(&c, s);
  SrState fused, split;
  SrError err;
  cr_assert_eq(sr_state_init(&fused, &c.p.model, c.p.max_rows, 5, &err), 0, "%s", err.msg);
  cr_assert_eq(sr_state_init(&split, &c.p.model, c.p.max_rows, 5, &err), 0, "%s", err.msg);
  SrDist *d = sr_dist_single();
  SrRng a, b;
  sr_rng_seed(&a, 9);
  sr_rng_seed(&b, 9);
  const SrModel *m = &c.p.model;
  for (int step = 0; step < 4; step++) {
    fill_batch(fused.slots, c.p.m, 4, &a);
    fill_batch(split.slots, c.p.m, 4, &b);
    m->train_step(fused.slots, 4);
    m->train_split.grads(split.slots, 4);
    float loss = *(float *)split.slots[m->slot_train_loss];
    sr_dist_exchange(d, &split, &m->train_split, 1.0, &loss);
    m->train_split.apply(split.slots, 4);
    cr_expect_float_eq(loss, *(float *)fused.slots[m->slot_train_loss], 1e-6);
  }
  expect_same_params(&fused, &split, 1e-5);
  sr_dist_close(d, 0);
  sr_state_free(&fused);
  sr_state_free(&split);
  compiled_free(&c);
  test_spec_free(s);
}

Test(split_step, equals_the_fused_step) {
  NetOptions plain = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = 0.01};
  NetOptions decay = {.act = ACT_RELU, .loss = LOSS_NLL, .l2 = 0.01};
  NetOptions momentum = {.act = ACT_TANH, .loss = LOSS_NLL, .momentum = 0.9, .l2 = 0.001};
  NetOptions signs = {.act = ACT_RELU, .loss = LOSS_NLL, .sign_trick = 1};
  check_step_equals_fused(&plain);
  check_step_equals_fused(&decay);
  check_step_equals_fused(&momentum);
  check_step_equals_fused(&signs);
}

/* sr_fit with a job of one rank against sr_fit alone: same shuffle, same
 * minibatches, the split step instead of the fused one. */
static void fit_both_ways(SrExchange exchange, int sparse, size_t bucket_bytes, int local_steps,
                          SrDistStats *stats) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = 0.001, .momentum = 0.5, .l2 = 0.001};
  const int w[] = {16, 16, 3};
  int dim = sparse ? 80 : 10;
  Spec *s = test_spec_with(dim, w, 3, &o, 0.05);
  Compiled c;
  compile(&c, s);
  SrDataset train = {0}, valid = {0};
  random_data_with(&train, 203, dim, 3, 1, sparse); /* 203: the last minibatch is short */
  random_data_with(&valid, 50, dim, 3, 2, sparse);
  SrState plain, dist;
  SrError err;
  cr_assert_eq(sr_state_init(&plain, &c.p.model, c.p.max_rows, 3, &err), 0);
  cr_assert_eq(sr_state_init(&dist, &c.p.model, c.p.max_rows, 3, &err), 0);
  SrDist *d = sr_dist_single();
  d->exchange = exchange;
  d->bucket_bytes = bucket_bytes;
  d->local_steps = local_steps;
  SrTrainConfig cfg = {.epochs = 3, .batch = 8, .seed = 11};
  SrFitResult ra, rb;
  cr_assert_eq(sr_fit(&plain, &cfg, &train, &valid, NULL, &ra, &err), 0, "%s", err.msg);
  cfg.dist = d;
  cr_assert_eq(sr_fit(&dist, &cfg, &train, &valid, NULL, &rb, &err), 0, "%s", err.msg);
  cr_expect_eq(ra.best_epoch, rb.best_epoch);
  cr_expect_float_eq(ra.best_valid.loss, rb.best_valid.loss, 1e-5);
  expect_same_params(&plain, &dist, 1e-5);
  sr_dist_stats(d, stats);
  sr_dist_close(d, 0);
  sr_state_free(&plain);
  sr_state_free(&dist);
  sr_dataset_free(&train);
  sr_dataset_free(&valid);
  compiled_free(&c);
  test_spec_free(s);
}

Test(dist_fit, one_rank_equals_plain_fit_dense) {
  SrDistStats st;
  fit_both_ways(SR_EXCHANGE_DENSE, 0, 0, 1, &st); /* blocking */
  cr_expect_eq(st.steps, 3 * 26);
  cr_expect_eq(st.sparse_steps, 0);
  cr_expect_eq(st.overlapped_steps, 0);
  cr_expect_float_eq(st.bytes, st.dense_bytes, 0.5);
}

/* Buckets of one byte: every gradient its own, started by its grad_ready. */
Test(dist_fit, one_rank_equals_plain_fit_overlapped) {
  SrDistStats st;
  fit_both_ways(SR_EXCHANGE_DENSE, 0, 1, 1, &st);
  cr_expect_eq(st.overlapped_steps, 3 * 26);
  cr_expect_eq(st.buckets, 6 * 3 * 26, "a bucket per gradient");
  cr_expect_float_eq(st.bytes, st.dense_bytes, 0.5);
}

/* Local SGD with one rank: its own steps, averaged with nobody. */
Test(dist_fit, one_rank_local_steps_equal_plain_fit) {
  SrDistStats st;
  fit_both_ways(SR_EXCHANGE_DENSE, 0, 1, 3, &st);
  cr_expect_eq(st.steps, 0, "no gradient exchanges");
  cr_expect_eq(st.averages, 3 * 9, "every 3 of 26 minibatches, and at the end of each epoch");
}

Test(dist_fit, one_rank_equals_plain_fit_sparse) {
  SrDistStats st;
  fit_both_ways(SR_EXCHANGE_SPARSE, 0, 1, 1, &st);
  cr_expect_eq(st.sparse_steps, st.steps);
  /* half the inputs are always zero: their rows of the first weight
   * gradient never travel, whatever the mask costs */
  cr_expect_lt(st.bytes, st.dense_bytes);
}

/* Sparse inputs: the products of both steps may take sparse kernels; the
 * split step's gradients must still be whole (zero where untouched). */
Test(dist_fit, one_rank_equals_plain_fit_on_sparse_inputs) {
  SrDistStats st;
  fit_both_ways(SR_EXCHANGE_SPARSE, 1, 1, 1, &st);
  cr_expect_lt(st.bytes, 0.8 * st.dense_bytes);
}

Test(dist_fit, one_rank_pretraining_equals_plain) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .pretrain = 1, .noise = NOISE_MASKING,
                  .noise_p = 0.25, .recon = RECON_SOFTPLUS_QUADRATIC, .code_l1 = 0.001};
  const int w[] = {16, 16, 3};
  Spec *s = test_spec_with(10, w, 3, &o, 0.05);
  Compiled c;
  compile(&c, s);
  SrDataset train = {0};
  random_data(&train, 101, 10, 3, 1);
  SrState plain, dist;
  SrError err;
  cr_assert_eq(sr_state_init(&plain, &c.p.model, c.p.max_rows, 3, &err), 0);
  cr_assert_eq(sr_state_init(&dist, &c.p.model, c.p.max_rows, 3, &err), 0);
  SrPretrainConfig cfg = {.seed = 4};
  cr_assert_eq(sr_pretrain(&plain, &cfg, &train, &err), 0, "%s", err.msg);
  cfg.dist = sr_dist_single();
  cr_assert_eq(sr_pretrain(&dist, &cfg, &train, &err), 0, "%s", err.msg);
  expect_same_params(&plain, &dist, 1e-5); /* the noise counter too: one rank draws the same noise */
  sr_dist_close(cfg.dist, 0);
  sr_state_free(&plain);
  sr_state_free(&dist);
  sr_dataset_free(&train);
  compiled_free(&c);
  test_spec_free(s);
}

Test(dist_fit, refuses_a_model_without_split_step) {
  Spec *s = test_spec(8, widths, 3, 0, 0.05);
  Compiled c;
  compile(&c, s);
  c.p.model.train_split.grads = NULL;
  SrDataset train = {0};
  random_data(&train, 20, 8, 3, 1);
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &c.p.model, c.p.max_rows, 3, &err), 0);
  SrTrainConfig cfg = {.epochs = 1, .batch = 4, .dist = sr_dist_single()};
  SrFitResult r;
  cr_expect_eq(sr_fit(&st, &cfg, &train, NULL, NULL, &r, &err), -1);
  cr_expect(strstr(err.msg, "not compiled for data parallelism") != NULL, "%s", err.msg);
  sr_dist_close(cfg.dist, 1);
  sr_state_free(&st);
  sr_dataset_free(&train);
  compiled_free(&c);
  test_spec_free(s);
}

/* ---- joining a job, checksums ------------------------------------------------ */

Test(dist, alone_outside_mpirun) {
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("PMI_SIZE");
  unsetenv("PMIX_SIZE");
  SrDist *d = (SrDist *)1;
  SrError err;
  cr_expect_eq(sr_dist_open(&d, &err), 0);
  cr_expect_null(d, "one process needs no communicator");
  setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
  cr_expect_eq(sr_dist_launched_size(), 1);
  cr_expect_eq(sr_dist_open(&d, &err), 0);
  cr_expect_null(d);
  setenv("PMI_SIZE", "4", 1);
  unsetenv("OMPI_COMM_WORLD_SIZE");
  cr_expect_eq(sr_dist_launched_size(), 4);
  cr_expect_eq(sr_dist_rank(NULL), 0);
  cr_expect_eq(sr_dist_size(NULL), 1);
}

Test(dist, checksum_sees_one_flipped_bit) {
  Spec *s = test_spec(8, widths, 3, 0, 0.05);
  Compiled c;
  compile(&c, s);
  SrState a, b;
  SrError err;
  cr_assert_eq(sr_state_init(&a, &c.p.model, 4, 3, &err), 0);
  cr_assert_eq(sr_state_init(&b, &c.p.model, 4, 3, &err), 0);
  cr_expect_eq(sr_state_checksum(&a), sr_state_checksum(&b));
  uint32_t *w = b.slots[c.p.model.gradients[0].param];
  w[3] ^= 1;
  cr_expect_neq(sr_state_checksum(&a), sr_state_checksum(&b));
  SrDist *d = sr_dist_single();
  cr_expect_eq(sr_dist_check_weights(d, &b, "epoch 1", &err), 0, "one rank agrees with itself");
  cr_expect_eq(sr_dist_agree(d, 0, &err), 0);
  sr_dist_close(d, 0);
  sr_state_free(&a);
  sr_state_free(&b);
  compiled_free(&c);
  test_spec_free(s);
}

/* `sparsec ir --data-parallel` shows the split steps after the others. */
Test(split_updates, printed_by_ir_data_parallel) {
  char path[] = "/tmp/sparsec-split-XXXXXX.spn";
  int fd = mkstemps(path, 4);
  cr_assert_geq(fd, 0);
  const char *spec = "model {\n  input = 4\n  layer h1 = dense(8, relu, l2 = 0.01)\n"
                     "  layer out = dense(2, softmax)\n  loss = nll\n}\n"
                     "train { lr = 0.1  batch = 4  epochs = 1 }\n"
                     "data { train = idx(\"a\", \"b\")  test = idx(\"c\", \"d\") }\n";
  cr_assert_eq(write(fd, spec, strlen(spec)), (ssize_t)strlen(spec));
  close(fd);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s ir --data-parallel %s", SPARSEC_BINARY, path);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  static char out[1 << 16];
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = 0;
  cr_expect_eq(pclose(p), 0, "%s", out);
  unlink(path);
  const char *grads = strstr(out, "program train_grads(n) {");
  const char *apply = strstr(out, "program apply_updates(n) {");
  cr_assert(grads && apply && grads < apply, "%s", out);
  cr_expect(strstr(apply, "l2_grad h1.w, lambda=0.01") != NULL, "%s", out);
  cr_expect(strstr(apply, "sgd_update h1.w") != NULL, "%s", out);
}
