/* The pieces `run` (experiment.c) and the REPL (session.c) share: reading
 * and splitting a spec's data, and compiling its model. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- data ---------------------------------------------------------------- */

static int load_source(const DataSource *src, float scale, SrDataset *out, SrError *err) {
  if (src->format == DATA_CSV)
    return sr_dataset_load_csv(src->images, src->label_column, scale, out, err);
  return sr_dataset_load_idx(src->images, src->labels, scale, out, err);
}

static int holdout_count(const Spec *spec, int n) {
  if (spec->data.validation_fraction > 0)
    return (int)(spec->data.validation_fraction * n);
  return spec->data.validation;
}

int data_read(const Spec *spec, ExperimentData *d, SrError *err) {
  float scale = (float)spec->data.scale;
  memset(d, 0, sizeof *d);
  if (load_source(&spec->data.train, scale, &d->train_file, err) != 0 ||
      load_source(&spec->data.test, scale, &d->test, err) != 0) {
    data_free(d);
    return -1;
  }
  return 0;
}

int data_split(const Spec *spec, int classes, ExperimentData *d, SrError *err) {
  if (sr_dataset_check(&d->train_file, spec->input, classes, "train data", err) != 0 ||
      sr_dataset_check(&d->test, spec->input, classes, "test data", err) != 0)
    return -1;
  d->train_all = d->train_file;
  d->train_all.owns = 0;
  if (spec->data.limit > 0 && spec->data.limit < d->train_all.n)
    d->train_all.n = spec->data.limit; /* the first `limit` examples */
  int holdout = holdout_count(spec, d->train_all.n);
  if (holdout >= d->train_all.n)
    return sr_fail(err, "the validation hold-out (%d examples) leaves no training data (%d in all)",
                   holdout, d->train_all.n);
  return sr_dataset_split_tail(&d->train_all, holdout, &d->train, &d->valid, err);
}

int data_load(const Spec *spec, int classes, ExperimentData *d, SrError *err) {
  if (data_read(spec, d, err) != 0)
    return -1;
  return data_split(spec, classes, d, err);
}

static int same_string(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_source(const DataSource *a, const DataSource *b) {
  return a->format == b->format && same_string(a->images, b->images) &&
         same_string(a->labels, b->labels) && same_string(a->label_column, b->label_column);
}

int data_same_files(const Spec *a, const Spec *b) {
  return same_source(&a->data.train, &b->data.train) &&
         same_source(&a->data.test, &b->data.test) && a->data.scale == b->data.scale;
}

void data_free(ExperimentData *d) {
  sr_dataset_free(&d->train_file);
  sr_dataset_free(&d->test);
  memset(d, 0, sizeof *d);
}

/* ---- the compiled model -------------------------------------------------- */

/* The hidden outputs become live outputs of infer and the memory plan is
 * made again, so that they keep their bytes to the end of infer. Outputs
 * infer does not compute (none today) leave hidden_outputs[k] = -1. */
static int keep_hidden_outputs(PreparedModel *p, const PassOptions *passes, int *outputs,
                               char *err, int errlen) {
  Module *m = p->m;
  for (int k = 0; k < m->nhidden && k < SR_MAX_HIDDEN; k++) {
    int v = m->hidden[k].output;
    int room = m->infer.nlive < (int)(sizeof m->infer.live / sizeof m->infer.live[0]);
    outputs[k] = program_def(&m->infer, v) >= 0 && room ? v : -1;
    if (outputs[k] >= 0)
      m->infer.live[m->infer.nlive++] = v;
  }
  if (!passes->enabled)
    return 0; /* no plan: every temporary has a buffer of its own */
  MemoryPlan plan;
  if (plan_memory(m, p->max_rows, &plan) != 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  abi_use_plan(&plan, p->max_rows, p->slots, &p->model);
  memory_plan_free(&plan);
  return 0;
}

static void take_kernels(CompiledModel *c) {
  c->model.train_step = jit_train_step(c->jit);
  c->model.infer = jit_infer(c->jit);
  for (int i = 0; i < c->model.npretrain; i++)
    c->model.pretrain[i].step = jit_pretrain(c->jit)[i];
  jit_use_split(c->jit, &c->model); /* data parallelism, when compiled for it */
}

int model_compile(const Spec *spec, double lr, const CompileOptions *o, CompiledModel *out,
                  char *err, int errlen) {
  memset(out, 0, sizeof *out);
  for (int k = 0; k < SR_MAX_HIDDEN; k++)
    out->hidden_outputs[k] = -1;
  out->lr = lr;
  double t0 = now_ms();
  PreparedModel p;
  if (prepare_model(spec, lr, &o->passes, &p, err, errlen) != 0)
    return -1;
  out->m = p.m;
  out->slots = p.slots;
  out->max_rows = p.max_rows;
  if (o->keep_hidden_outputs &&
      keep_hidden_outputs(&p, &o->passes, out->hidden_outputs, err, errlen) != 0) {
    model_free(out);
    return -1;
  }
  out->model = p.model;
  out->model.slots = out->slots;
  out->prepare_ms = now_ms() - t0;
  if (o->reuse && o->reuse->jit && module_same_code(out->m, o->reuse->m)) {
    out->jit = jit_share(o->reuse->jit);
    out->reused = 1;
  } else if (!(out->jit = jit_compile(out->m, err, errlen))) {
    model_free(out);
    return -1;
  }
  take_kernels(out);
  return 0;
}

void model_use_hyper(CompiledModel *c) {
  jit_set_hyper(c->jit, c->m);
}

JitTimes model_jit_times(const CompiledModel *c) {
  return jit_times(c->jit);
}

double model_compile_ms(const CompiledModel *c) {
  JitTimes t = jit_times(c->jit);
  return c->prepare_ms + t.codegen_ms + t.optimise_ms + t.compile_ms;
}

void model_free(CompiledModel *c) {
  jit_free(c->jit);
  module_free(c->m);
  free(c->slots);
  memset(c, 0, sizeof *c);
}
