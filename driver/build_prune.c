/* `sparsec build --bundle DIR --embed-weights W --prune-dead`: the bundle
 * without the hidden units that W never fires on the spec's training data
 * (ir/passes/prune_dead.c). Those units are zero on every training example,
 * so cutting them changes no prediction on that data (a test example might
 * have woken one: the count is over the training set, as `run
 * --prune-dead` reports it); the weights and the code shrink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "build.h"
#include "model.h"

/* active[k][u]: training examples on which unit u of hidden layer k is
 * nonzero, for the weights in `w` (the infer kernel is JIT-compiled). */
static int count_activity(const Spec *spec, const PreparedModel *p, const SrState *w,
                          int32_t **active, char *err, int errlen) {
  SrError e = {{0}};
  SrProgramData d = {0};
  BuildConfig config;
  SrState st = {0};
  SrModel model = p->model;
  Jit *jit = NULL;
  int rc = build_config(spec, p->max_rows, 0, &config) != 0
               ? (sr_fail(&e, "out of memory"), 1)
               : sr_program_load_data(&config.cfg, &d, &e) != 0 ||
                     sr_state_init(&st, &p->model, p->max_rows, 0, &e) != 0;
  if (!rc && !(jit = jit_compile(p->m, err, errlen)))
    rc = 2;
  if (!rc) {
    sr_state_copy_params(&st, w);
    model.infer = jit_infer(jit);
    rc = dead_unit_activity(p->m, &model, &st, &d.train, active, &e) != 0;
  }
  if (rc == 1)
    snprintf(err, errlen, "--prune-dead: %s", e.msg);
  jit_free(jit);
  sr_state_free(&st);
  sr_program_data_free(&d);
  build_config_free(&config);
  return rc ? -1 : 0;
}

static void report(const Module *m, const PrunedModule *p, FILE *out) {
  fprintf(out, "sparsec: pruned the units dead on the training set:");
  for (int k = 0; k < p->nhidden; k++)
    fprintf(out, "%s %s %d", k ? "," : "", m->hidden[k].name, p->dead[k]);
  int mb = p->bytes_before >= 1000000;
  fprintf(out, "; weights %.2f %s -> %.2f %s\n", p->bytes_before / (mb ? 1e6 : 1e3),
          mb ? "MB" : "KB", p->bytes_after / (mb ? 1e6 : 1e3), mb ? "MB" : "KB");
}

/* The pruned module prepared as the original was, and its weights cut from
 * the original's; both replace the caller's only when all went well. */
static int replace(PrunedModule *pruned, PreparedModel *p, SrState *w, char *err, int errlen) {
  PreparedModel small;
  PassOptions passes = {.enabled = 1};
  Module *m = pruned->m;
  pruned->m = NULL; /* prepare_built owns it now */
  if (prepare_built(m, p->max_rows, &passes, &small, err, errlen) != 0)
    return -1;
  SrState sw;
  SrError e = {{0}};
  if (sr_state_init(&sw, &small.model, 1, 0, &e) != 0) {
    snprintf(err, errlen, "%s", e.msg);
    prepared_model_free(&small);
    return -1;
  }
  prune_copy_weights(pruned, p->m, w->slots, sw.slots);
  sr_state_free(w);
  prepared_model_free(p);
  *p = small;
  *w = sw;
  w->model = &p->model; /* the state points at its model: it moved */
  return 0;
}

int build_prune_dead(const Spec *spec, PreparedModel *p, SrState *w, FILE *out, char *err,
                     int errlen) {
  int32_t *active[SR_MAX_HIDDEN] = {0};
  int rc = 0;
  for (int k = 0; k < p->m->nhidden && rc == 0; k++)
    if (!(active[k] = calloc((size_t)p->m->hidden[k].units, sizeof(int32_t))))
      rc = -1, snprintf(err, errlen, "out of memory");
  if (rc == 0)
    rc = count_activity(spec, p, w, active, err, errlen);
  PrunedModule pruned = {0};
  if (rc == 0)
    rc = prune_dead_units(spec, p->m, (const int32_t *const *)active, &pruned, err, errlen);
  if (rc == 0)
    report(p->m, &pruned, out);
  if (rc == 0)
    rc = replace(&pruned, p, w, err, errlen);
  pruned_module_free(&pruned);
  for (int k = 0; k < SR_MAX_HIDDEN; k++)
    free(active[k]);
  return rc;
}
