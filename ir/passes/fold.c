/* Constant folding. The only constants the IR derives are known zeros (see
 * prune_zero.c): add(x, 0) is x, so the add disappears and its readers read x;
 * add(0, 0) is itself a known zero. */
#include "ir.h"

void pass_fold(Module *m, Program *p, char *zero) {
  for (int i = 0; i < p->nops; i++) {
    Op op = p->ops[i];
    if (op.kind != OP_ADD || !(zero[op.in[0]] || zero[op.in[1]]))
      continue;
    program_remove_op(p, i--);
    if (zero[op.in[0]] && zero[op.in[1]])
      zero[op.out[0]] = 1; /* its readers are folded in turn */
    else
      program_replace_uses(m, p, op.out[0], zero[op.in[0]] ? op.in[1] : op.in[0]);
  }
}
