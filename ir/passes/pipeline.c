/* The optimiser: the passes in order, on each derived program, each followed
 * by the verifier so a broken rewrite is caught where it happens. */
#include <stdio.h>
#include <string.h>

#include "ir.h"

const char *const pass_names[] = {"prune-zero", "fuse-relu",        "split-updates", "fuse-sgd",
                                  "schedule-updates", "sparse-products", "dce", "plan-memory",
                                  NULL};

enum { SPLIT_UPDATES = 2 };

static void run_pass(Module *m, Program *p, int pass, const PassOptions *o) {
  switch (pass) {
  case 0: pass_prune_zero(m, p); break;
  case 1: pass_fuse_relu(m, p); break;
  case 3: pass_fuse_sgd(m, p); break;
  case 4: pass_schedule_updates(m, p); break;
  case 5:
    if (!o->dense_only) /* --passes dense: every product through cblas_sgemm */
      pass_sparse_products(m, p, o->sparse_threshold);
    break;
  case 6: pass_dce(m, p); break;
  default: break; /* split-updates works on the module; plan-memory places buffers */
  }
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
  for (int pass = 0; pass_names[pass]; pass++) {
    if (pass == SPLIT_UPDATES && o->data_parallel)
      pass_split_updates(m);
    int n = all_programs(m, programs);
    for (int k = 0; k < n; k++) {
      run_pass(m, (Program *)programs[k], pass, o);
      char msg[512];
      if (verify_program(m, programs[k], msg, sizeof msg) != 0) {
        snprintf(err, errlen, "internal error after pass %s: %s", pass_names[pass], msg);
        return -1;
      }
    }
    if (o->stop_after && strcmp(o->stop_after, pass_names[pass]) == 0)
      break;
  }
  return 0;
}
