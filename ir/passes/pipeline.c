/* The optimiser: the passes in order, on each derived program, each followed
 * by the verifier so a broken rewrite is caught where it happens. */
#include <stdio.h>
#include <string.h>

#include "ir.h"

const char *const pass_names[] = {"prune-zero",       "fuse-relu", "fuse-sgd",
                                  "schedule-updates", "dce",       "plan-memory", NULL};

static void run_pass(Module *m, Program *p, int pass) {
  switch (pass) {
  case 0: pass_prune_zero(m, p); break;
  case 1: pass_fuse_relu(m, p); break;
  case 2: pass_fuse_sgd(m, p); break;
  case 3: pass_schedule_updates(m, p); break;
  case 4: pass_dce(m, p); break;
  default: break; /* plan-memory changes no op: it places buffers */
  }
}

int optimise_module(Module *m, const PassOptions *o, char *err, int errlen) {
  if (!o->enabled)
    return 0;
  const Program *programs[2 + SPEC_MAX_LAYERS];
  int n = module_programs(m, programs);
  for (int pass = 0; pass_names[pass]; pass++) {
    for (int k = 0; k < n; k++) {
      run_pass(m, (Program *)programs[k], pass);
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
