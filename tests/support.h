/* Shared by the IR and JIT suites: small specs built in memory (no parser),
 * slot tables allocated by the runtime, random batches, tensor comparison. */
#ifndef SPARSEC_TEST_SUPPORT_H
#define SPARSEC_TEST_SUPPORT_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "sparsert.h"

/* The knobs the IR and JIT suites turn; zero is the paper's default. */
typedef struct NetOptions {
  Activation act;     /* hidden layers */
  double act_param;   /* its parameter (activations.def); 0: the default */
  Loss loss;          /* head; the output activation follows from it */
  double l1, l2, momentum, bias;
  int sign_trick;
  InitKind init;
  double init_a;
  /* a pretrain block over every hidden layer when pretrain is set */
  int pretrain;
  NoiseKind noise;
  double noise_p;
  Reconstruction recon;
  ReconTargets targets;  /* every stage's; the first's is the input whatever it says */
  int untied;
  double code_l1, pretrain_lr;
} NetOptions;

/* Every activation a hidden layer may have (activations.def without the
 * head's softmax), in the table's order: tests enumerate these. */
static inline int hidden_activations(Activation *out) {
  int n = 0;
  for (int a = 0; a < ACT_COUNT_; a++)
    if (!activation_has((Activation)a, ACT_HEAD_ONLY))
      out[n++] = (Activation)a;
  return n;
}

static inline Activation output_activation(Loss loss) {
  return loss == LOSS_NLL ? ACT_SOFTMAX : loss == LOSS_CROSS_ENTROPY ? ACT_SIGMOID : ACT_LINEAR;
}

/* input -> hidden layers (widths[0..n-2]) -> output of widths[n-1] */
static inline Spec *test_spec_with(int input, const int *widths, int n, const NetOptions *o,
                                   double lr) {
  Spec *s = calloc(1, sizeof *s);
  s->input = input;
  s->nlayers = n;
  s->layers = calloc(n, sizeof *s->layers);
  for (int i = 0; i < n; i++) {
    char name[16];
    int out = i == n - 1;
    snprintf(name, sizeof name, out ? "out" : "h%d", i + 1);
    LayerSpec *l = &s->layers[i];
    l->name = strdup(name);
    l->units = widths[i];
    l->act = out ? output_activation(o->loss) : o->act;
    l->act_param = activation_info(l->act)->parameter; /* NAN if it takes none */
    if (!out && o->act_param != 0 && !isnan(l->act_param))
      l->act_param = o->act_param;
    l->l1 = out ? 0 : o->l1;
    l->l2 = o->l2;
    l->bias = o->bias;
    l->sign_trick = out ? 0 : o->sign_trick;
    l->init.kind = o->init;
    l->init.a = o->init_a;
  }
  s->loss = o->loss;
  if (o->pretrain) {
    s->pretrain.present = 1;
    s->pretrain.nstages = n - 1;
    s->pretrain.stages = calloc(n - 1, sizeof *s->pretrain.stages);
    for (int i = 0; i < n - 1; i++) {
      PretrainStage *st = &s->pretrain.stages[i];
      st->layer = i;
      st->noise.kind = o->noise;
      st->noise.p = o->noise_p;
      st->recon = o->recon;
      st->targets = o->targets;
      st->tied = !o->untied;
      st->epochs = 1;
      st->batch = 4;
      st->lr = o->pretrain_lr > 0 ? o->pretrain_lr : 0.01;
      st->l1 = o->code_l1;
    }
  }
  s->train.lr = lr;
  s->train.lrs[0] = lr;
  s->train.nlrs = 1;
  s->train.momentum = o->momentum;
  s->train.batch = 4;
  s->train.epochs = 1;
  return s;
}

/* relu hidden layers with an L1 penalty, softmax + nll */
static inline Spec *test_spec(int input, const int *widths, int n, double l1, double lr) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = l1};
  return test_spec_with(input, widths, n, &o, lr);
}

static inline void test_spec_free(Spec *s) {
  free(s->pretrain.stages);
  for (int i = 0; i < s->nlayers; i++)
    free(s->layers[i].name);
  free(s->layers);
  free(s);
}

static inline int value_named(const Module *m, const char *name) {
  for (int v = 0; v < m->nvalues; v++)
    if (strcmp(m->values[v].name, name) == 0)
      return v;
  return -1;
}

/* A runtime state for `m` (kernels unset), params initialised from seed. */
typedef struct TestState {
  SrSlot *slots;
  SrModel model;
  SrState st;
} TestState;

static inline int test_state_init(TestState *t, const Module *m, int rows, uint64_t seed) {
  t->slots = calloc(m->nvalues, sizeof *t->slots);
  abi_describe(m, t->slots, NULL, NULL, &t->model);
  SrError err;
  return sr_state_init(&t->st, &t->model, rows, seed, &err);
}

/* Like test_state_init, with the temporaries placed by plan-memory. */
static inline int test_state_init_planned(TestState *t, const Module *m, int rows, uint64_t seed) {
  t->slots = calloc(m->nvalues, sizeof *t->slots);
  abi_describe(m, t->slots, NULL, NULL, &t->model);
  MemoryPlan plan;
  if (plan_memory(m, rows, &plan) != 0)
    return -1;
  abi_use_plan(&plan, rows, t->slots, &t->model);
  memory_plan_free(&plan);
  SrError err;
  return sr_state_init(&t->st, &t->model, rows, seed, &err);
}

static inline void test_state_free(TestState *t) {
  sr_state_free(&t->st);
  free(t->slots);
}

/* Random features in [-1, 1) and labels in 0..classes-1. */
static inline void fill_batch(void **slots, const Module *m, int rows, SrRng *rng) {
  float *x = slots[m->x];
  int32_t *y = slots[m->y];
  for (int i = 0; i < rows * m->values[m->x].cols; i++)
    x[i] = (float)(2 * sr_rng_uniform(rng) - 1);
  for (int i = 0; i < rows; i++)
    y[i] = (int32_t)sr_rng_below(rng, (uint32_t)m->classes);
}

static inline size_t value_count(const Module *m, int v, int rows) {
  int r = m->values[v].rows == ROWS_BATCH ? rows : m->values[v].rows;
  return (size_t)r * m->values[v].cols;
}

/* max_k |a_k - b_k| / max(max_k |b_k|, floor): a norm-relative difference,
 * robust where single elements cancel to near zero. */
static inline double max_rel_diff(const float *a, const float *b, size_t n, double floor) {
  double scale = floor, diff = 0;
  for (size_t k = 0; k < n; k++) {
    scale = fmax(scale, fabs(b[k]));
    diff = fmax(diff, fabs((double)a[k] - b[k]));
  }
  return diff / scale;
}

#endif
