/* fuse-sgd: plain SGD needs no materialised weight gradient.
 *
 *   g = matmul a^T, d;                 sgd_update w, g, lr
 *   ->  matmul_sgd w, a^T, d, lr       w = w - lr a^T d            (sgemm, beta = 1)
 *
 *   g = matmul a^T, d;  r = l2_grad w, lambda;  s = add g, r;  sgd_update w, s, lr
 *   ->  matmul_sgd w, a^T, d, lr, beta = 1 - lr lambda   (weight decay folded into beta)
 *
 * The fused op takes the place of the matmul, so it must come after every
 * other reader of w (the backward product through w reads the old weights);
 * the gradient values must have no other readers. Momentum keeps its
 * velocity, so its updates are left alone. */
#include "ir.h"

static int only_reader_is(const Program *p, int v, int op_index) {
  if (program_uses(p, v) != 1)
    return 0;
  for (int k = 0; k < p->ops[op_index].nin; k++)
    if (p->ops[op_index].in[k] == v)
      return 1;
  return 0;
}

/* Does an op other than skip1/skip2 read `value` at or after index `from`? */
static int read_from(const Program *p, int value, int from, int skip1, int skip2) {
  for (int i = from; i < p->nops; i++) {
    if (i == skip1 || i == skip2)
      continue;
    for (int k = 0; k < p->ops[i].nin; k++)
      if (p->ops[i].in[k] == value)
        return 1;
  }
  return 0;
}

/* The matmul that computes the gradient g of update u, with the L2 add and
 * l2_grad peeled off (their indices in *add, *l2; -1 if absent). */
static int gradient_product(const Program *p, int u, int *add, int *l2, double *lambda) {
  int w = p->ops[u].in[0], g = p->ops[u].in[1];
  *add = *l2 = -1;
  *lambda = 0;
  int def = program_def(p, g);
  if (def >= 0 && p->ops[def].kind == OP_ADD && only_reader_is(p, g, u)) {
    for (int k = 0; k < 2; k++) {
      int r = program_def(p, p->ops[def].in[k]);
      if (r >= 0 && p->ops[r].kind == OP_L2_GRAD && p->ops[r].in[0] == w &&
          only_reader_is(p, p->ops[r].out[0], def)) {
        *add = def;
        *l2 = r;
        *lambda = p->ops[r].coef;
        g = p->ops[def].in[1 - k];
        def = program_def(p, g);
        break;
      }
    }
  }
  if (def < 0 || p->ops[def].kind != OP_MATMUL)
    return -1;
  int reader = *add >= 0 ? *add : u;
  return only_reader_is(p, g, reader) ? def : -1;
}

static int fuse_one(Program *p, int u) {
  int add, l2;
  double lambda;
  int mm = gradient_product(p, u, &add, &l2, &lambda);
  int w = p->ops[u].in[0];
  /* the fused op writes w where the matmul was: every reader that stays
   * (all but the update and the l2_grad) must come before it */
  if (mm < 0 || read_from(p, w, mm, u, l2))
    return 0;
  Op fused = p->ops[mm];
  double lr = p->ops[u].coef;
  fused.kind = OP_MATMUL_SGD;
  fused.nin = 3;
  fused.in[2] = fused.in[1];
  fused.in[1] = fused.in[0];
  fused.in[0] = w;
  fused.nout = 0;
  fused.coef = lr;
  fused.coef2 = 1 - lr * lambda;
  p->ops[mm] = fused;
  int gone[3] = {u, add, l2}; /* remove from the highest index down */
  for (int a = 0; a < 3; a++)
    for (int b = a + 1; b < 3; b++)
      if (gone[b] > gone[a]) {
        int t = gone[a];
        gone[a] = gone[b];
        gone[b] = t;
      }
  for (int k = 0; k < 3; k++)
    if (gone[k] >= 0)
      program_remove_op(p, gone[k]);
  return 1;
}

void pass_fuse_sgd(Module *m, Program *p) {
  (void)m;
  for (int i = 0; i < p->nops; i++)
    if (p->ops[i].kind == OP_SGD_UPDATE && fuse_one(p, i))
      i = -1; /* indices moved; programs are short */
}
