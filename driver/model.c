/* What `run` (experiment.c) and the REPL (session.c) share: the spec's
 * model, JIT-compiled. (Their data are the runtime's: program_data.c.) */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
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
  return c->prepare_ms + t.codegen_ms + t.optimise_ms + t.compile_ms + t.cache_ms;
}

void model_free(CompiledModel *c) {
  jit_free(c->jit);
  module_free(c->m);
  free(c->slots);
  memset(c, 0, sizeof *c);
}
