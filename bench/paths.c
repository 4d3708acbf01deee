/* The two paths of one spec, JIT-compiled as `sparsec run` compiles them
 * (prepare_model: passes, memory plan), each with its own state, timed on
 * real minibatches. */
#include <string.h>

#include "bench.h"

double path_threshold;

int path_init(BenchPath *p, const Spec *spec, int dense_only, int max_rows, const char *checkpoint,
              char *err, int errlen) {
  memset(p, 0, sizeof *p);
  p->name = dense_only ? "dense" : "sparse";
  p->checkpoint = checkpoint;
  Spec at = *spec;
  at.train.batch = max_rows; /* the memory plan must hold the largest batch */
  PassOptions passes = {.enabled = 1, .dense_only = dense_only, .sparse_threshold = path_threshold};
  if (prepare_model(&at, spec->train.lr, &passes, &p->prep, err, errlen) != 0)
    return -1;
  if (!(p->jit = jit_compile(p->prep.m, err, errlen)))
    return -1;
  p->prep.model.train_step = jit_train_step(p->jit);
  p->prep.model.infer = jit_infer(p->jit);
  SrError e;
  if (sr_state_init(&p->state, &p->prep.model, p->prep.max_rows, spec->train.seed, &e) != 0) {
    snprintf(err, errlen, "%s", e.msg);
    return -1;
  }
  return path_reset(p, err, errlen);
}

void path_free(BenchPath *p) {
  sr_state_free(&p->state);
  jit_free(p->jit);
  prepared_model_free(&p->prep);
}

int path_reset(BenchPath *p, char *err, int errlen) {
  SrError e;
  if (p->checkpoint && sr_checkpoint_load(&p->state, p->checkpoint, &e) != 0) {
    snprintf(err, errlen, "%s", e.msg);
    return -1;
  }
  return 0;
}

static void load_batch(BenchPath *p, const SrDataset *d, int batch, int from) {
  const SrModel *m = &p->prep.model;
  float *x = p->state.slots[m->slot_x];
  int32_t *y = p->state.slots[m->slot_y];
  for (int i = 0; i < batch; i++) {
    int e = (from + i) % d->n;
    memcpy(x + (size_t)i * d->dim, d->x + (size_t)e * d->dim, sizeof(float) * d->dim);
    y[i] = d->y[e];
  }
}

/* Copying the batch in is part of a training step, as in sr_fit. */
double path_train(BenchPath *p, const SrDataset *d, int batch, int steps, int from) {
  double t0 = bench_now();
  for (int s = 0; s < steps; s++) {
    load_batch(p, d, batch, from + s * batch);
    p->prep.model.train_step(p->state.slots, batch);
  }
  return bench_now() - t0;
}

double path_infer(BenchPath *p, const SrDataset *d, int batch, int calls, double *lat) {
  double total = 0;
  for (int c = 0; c < calls; c++) {
    double t0 = bench_now();
    load_batch(p, d, batch, c * batch);
    p->prep.model.infer(p->state.slots, batch);
    lat[c] = bench_now() - t0;
    total += lat[c];
  }
  return total;
}

void path_sparsity(BenchPath *p, const SrDataset *d, double *zeros) {
  const SrModel *m = &p->prep.model;
  double count[SR_MAX_HIDDEN] = {0};
  int batch = 100, n = d->n / batch * batch;
  for (int from = 0; from < n; from += batch) {
    load_batch(p, d, batch, from);
    m->infer(p->state.slots, batch);
    for (int h = 0; h < m->nhidden; h++)
      count[h] += *(const float *)p->state.slots[m->slot_zeros[h]];
  }
  for (int h = 0; h < m->nhidden; h++)
    zeros[h] = count[h] / ((double)n * m->hidden_units[h]);
}
