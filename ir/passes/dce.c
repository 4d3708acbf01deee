/* dce: dead code elimination. One backward sweep: an op is kept if it has an
 * effect (sgd_update) or defines a value that is live; a kept op makes its
 * inputs live. Values themselves stay in the module (slot numbers are
 * stable); a removed op's outputs are simply never written. */
#include <stdlib.h>

#include "ir.h"

void pass_dce(const Module *m, Program *p) {
  char *live = calloc(m->nvalues ? m->nvalues : 1, 1);
  char *keep = calloc(p->nops ? p->nops : 1, 1);
  if (!live || !keep) {
    free(live);
    free(keep); /* out of memory: keeping every op is still correct */
    return;
  }
  for (int i = 0; i < p->nlive; i++)
    live[p->live[i]] = 1;
  for (int i = p->nops - 1; i >= 0; i--) {
    const Op *op = &p->ops[i];
    keep[i] = (char)op_is_effect(op);
    for (int k = 0; k < op->nout; k++)
      keep[i] |= op->out[k] >= 0 && live[op->out[k]];
    if (keep[i])
      for (int k = 0; k < op->nin; k++)
        live[op->in[k]] = 1;
  }
  int n = 0;
  for (int i = 0; i < p->nops; i++)
    if (keep[i])
      p->ops[n++] = p->ops[i];
  p->nops = n;
  free(live);
  free(keep);
}
