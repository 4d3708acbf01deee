/* schedule-updates: an update runs as soon as it may, i.e. right after the
 * later of (a) the op that defines its gradient and (b) the last other op
 * that reads the parameter. Its gradient buffer then dies at once, so
 * plan-memory can give those bytes to the next layer's gradient, and the
 * update touches the gradient while it is still in cache. Updates only move
 * earlier, never past a reader of their parameter, so results are unchanged. */
#include "ir.h"

static int is_update(OpKind k) {
  return k == OP_SGD_UPDATE || k == OP_MOMENTUM_UPDATE;
}

/* The earliest index u may move to (an op index, u itself if it cannot move). */
static int earliest(const Program *p, int u) {
  const Op *op = &p->ops[u];
  int after = program_def(p, op->in[op->nin - 1]); /* the gradient is the last operand */
  for (int i = 0; i < u; i++)
    for (int k = 0; k < p->ops[i].nin; k++)
      for (int q = 0; q < op->nin - 1; q++) /* the parameter (and velocity) */
        if (p->ops[i].in[k] == op->in[q] && i > after)
          after = i;
  return after + 1;
}

void pass_schedule_updates(Module *m, Program *p) {
  (void)m;
  for (int u = 0; u < p->nops; u++) {
    if (!is_update(p->ops[u].kind))
      continue;
    int to = earliest(p, u);
    if (to >= u)
      continue;
    Op moved = p->ops[u];
    for (int i = u; i > to; i--)
      p->ops[i] = p->ops[i - 1];
    p->ops[to] = moved;
  }
}
