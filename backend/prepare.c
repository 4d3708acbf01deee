/* The steps `sparsec run` (JIT) and `sparsec build` (ahead of time) share,
 * so that both compile the same code: the spec at one learning rate ->
 * module -> the optimiser's passes -> the runtime's description of it (the
 * slot table, roles, pretraining stages) with the temporaries placed by
 * plan-memory. Only the kernels are left to fill in, by the JIT or by the
 * object file. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* Batch-sized buffers hold the largest batch any program runs. */
int prepare_max_rows(const Spec *spec) {
  int rows = spec->train.batch > PREPARE_EVAL_ROWS ? spec->train.batch : PREPARE_EVAL_ROWS;
  for (int i = 0; i < spec->pretrain.nstages; i++)
    if (spec->pretrain.stages[i].batch > rows)
      rows = spec->pretrain.stages[i].batch;
  return rows;
}

static int describe(const PassOptions *passes, PreparedModel *out, char *err,
                    int errlen) {
  out->slots = calloc((size_t)out->m->nvalues + 1, sizeof *out->slots);
  if (!out->slots) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  abi_describe(out->m, out->slots, NULL, NULL, &out->model);
  abi_describe_pretrain(out->m, NULL, &out->model);
  abi_describe_split(out->m, &out->model);
  if (!passes->enabled)
    return 0;
  MemoryPlan plan;
  if (plan_memory(out->m, out->max_rows, &plan) != 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  abi_use_plan(&plan, out->max_rows, out->slots, &out->model);
  memory_plan_free(&plan);
  return 0;
}

int prepare_built(Module *m, int max_rows, const PassOptions *passes, PreparedModel *out,
                  char *err, int errlen) {
  memset(out, 0, sizeof *out);
  out->m = m;
  out->max_rows = max_rows;
  if (optimise_module(out->m, passes, err, errlen) != 0 ||
      describe(passes, out, err, errlen) != 0) {
    prepared_model_free(out);
    return -1;
  }
  return 0;
}

int prepare_model(const Spec *spec, double lr, const PassOptions *passes, PreparedModel *out,
                  char *err, int errlen) {
  memset(out, 0, sizeof *out);
  Spec at_lr = *spec; /* module_build reads the spec; only the lr differs */
  at_lr.train.lr = lr;
  Module *m = module_build(&at_lr, err, errlen);
  return m ? prepare_built(m, prepare_max_rows(spec), passes, out, err, errlen) : -1;
}

void prepared_model_free(PreparedModel *p) {
  module_free(p->m);
  free(p->slots);
  memset(p, 0, sizeof *p);
}
