/* The optimiser: the passes in the order of pass_table, on each derived
 * program, each followed by the verifier so a broken rewrite is caught
 * where it happens. The table is the one list of passes: `sparsec ir
 * --after`, its help, the REPL's completion and docs/ir.md (checked by
 * tests/test_passes.c) all read it. */
#include <stdio.h>
#include <string.h>

#include "ir.h"

/* The passes under the table's one signature. A program pass ignores the
 * options unless they switch it; a module pass gets p == NULL. */
static void run_prune_zero(Module *m, Program *p, const PassOptions *o) {
  (void)o;
  pass_prune_zero(m, p);
}

static void run_fuse_relu(Module *m, Program *p, const PassOptions *o) {
  (void)o;
  pass_fuse_relu(m, p);
}

static void run_split_updates(Module *m, Program *p, const PassOptions *o) {
  (void)p;
  if (o->data_parallel) /* only ranks exchange gradients between the halves */
    pass_split_updates(m);
}

static void run_fuse_sgd(Module *m, Program *p, const PassOptions *o) {
  (void)o;
  pass_fuse_sgd(m, p);
}

static void run_schedule_updates(Module *m, Program *p, const PassOptions *o) {
  (void)o;
  pass_schedule_updates(m, p);
}

static void run_sparse_products(Module *m, Program *p, const PassOptions *o) {
  if (!o->dense_only) /* --passes dense: every product through cblas_sgemm */
    pass_sparse_products(m, p, o->sparse_threshold);
}

static void run_dce(Module *m, Program *p, const PassOptions *o) {
  (void)o;
  pass_dce(m, p);
}

/* Descriptions are one line: `sparsec ir --help` prints them and
 * docs/ir.md's table holds them verbatim. */
const Pass pass_table[] = {
    {"prune-zero", run_prune_zero, PASS_PROGRAM,
     "drops ops scaled by a zero coefficient; folds away their adds"},
    {"fuse-relu", run_fuse_relu, PASS_PROGRAM,
     "bias + activation -> bias_act; its gradients -> bias_act_grad"},
    {"split-updates", run_split_updates, PASS_MODULE,
     "data parallel only: each training step cut in grads + updates"},
    {"fuse-sgd", run_fuse_sgd, PASS_PROGRAM,
     "a gradient read only by its SGD update -> matmul_sgd"},
    {"schedule-updates", run_schedule_updates, PASS_PROGRAM,
     "each update moved up to just after its gradient and last reader"},
    {"sparse-products", run_sparse_products, PASS_PROGRAM,
     "products of a relu output or the input -> sparse variants"},
    {"dce", run_dce, PASS_PROGRAM,
     "removes ops whose results nothing reads and that are not live"},
    /* No rewrite: plan_memory places buffers for the batch size whoever
     * allocates knows; in the pipeline it is only a place to stop. */
    {"plan-memory", NULL, PASS_PLACEMENT,
     "every temporary placed in one arena; values never live at once share bytes"},
    {NULL, NULL, 0, NULL},
};

const char *pass_level_name(PassLevel level) {
  static const char *const names[] = {"program", "module", "placement"};
  return (unsigned)level < sizeof names / sizeof *names ? names[level] : "?";
}

const Pass *pass_find(const char *name) {
  for (const Pass *ps = pass_table; ps->name; ps++)
    if (strcmp(ps->name, name) == 0)
      return ps;
  return NULL;
}

/* Every program the passes work on: the module's, then the split steps'
 * once split-updates made them. */
enum { MAX_PROGRAMS = 2 + SPEC_MAX_LAYERS + MODULE_MAX_SPLIT_PROGRAMS };

static int all_programs(const Module *m, const Program **out) {
  int n = module_programs(m, out);
  return n + module_split_programs(m, out + n);
}

int optimise_module(Module *m, const PassOptions *o, char *err, int errlen) {
  const Program *programs[MAX_PROGRAMS];
  if (!o->enabled) { /* unoptimised, but ranks still need the split step */
    if (o->data_parallel)
      pass_split_updates(m);
    return 0;
  }
  for (const Pass *ps = pass_table; ps->name; ps++) {
    if (ps->level == PASS_MODULE)
      ps->run(m, NULL, o);
    int n = all_programs(m, programs);
    for (int k = 0; k < n; k++) {
      if (ps->level == PASS_PROGRAM)
        ps->run(m, (Program *)programs[k], o);
      char msg[512];
      if (verify_program(m, programs[k], msg, sizeof msg) != 0) {
        snprintf(err, errlen, "internal error after pass %s: %s", ps->name, msg);
        return -1;
      }
    }
    if (o->stop_after && strcmp(o->stop_after, ps->name) == 0)
      break;
  }
  return 0;
}
