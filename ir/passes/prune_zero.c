/* prune-zero (static): computation that can only produce zeros is not done.
 *
 * A penalty with lambda 0 (written in the spec, e.g. `--set h2.l1=0`) and its
 * gradient produce exact zeros: the ops are removed and their results become
 * known zeros, which constant folding (fold.c) then removes from the sums
 * that read them. Dead units found on data are cut by a separate step that
 * needs the trained weights (issue: deployment pruning). */
#include <stdlib.h>

#include "ir.h"

static int scaled_by_coef(OpKind kind) {
  return kind == OP_L1 || kind == OP_L2 || kind == OP_L1_GRAD || kind == OP_L2_GRAD;
}

void pass_prune_zero(Module *m, Program *p) {
  char *zero = calloc(m->nvalues ? m->nvalues : 1, 1);
  if (!zero)
    return; /* out of memory: pruning nothing is still correct */
  for (int i = 0; i < p->nops; i++) {
    const Op *op = &p->ops[i];
    if (scaled_by_coef(op->kind) && op->coef == 0) {
      zero[op->out[0]] = 1;
      program_remove_op(p, i--);
    }
  }
  pass_fold(m, p, zero);
  free(zero);
}
