/* fuse-sgd: plain SGD needs no materialised weight gradient.
 *
 *   g = matmul a^T, d;                 sgd_update w, g, lr
 *   ->  matmul_sgd w, a^T, d, lr       w = w - lr a^T d            (sgemm, beta = 1)
 *
 *   g = matmul a^T, d;  r = l2_grad w, lambda;  s = add g, r;  sgd_update w, s, lr
 *   ->  matmul_sgd w, a^T, d, lr, beta = 1 - lr lambda   (weight decay folded into beta)
 *
 *   g1 = matmul dr^T, h;  g2 = matmul x^T, d;  s = add g1, g2;  sgd_update w, s, lr
 *   ->  matmul_sgd w, dr^T, h, lr;  matmul_sgd w, x^T, d, lr     (a tied decoder's w)
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

/* The terms of update u's gradient: the products (matmuls) and at most one
 * l2_grad of w, summed by a tree of adds; every value in the tree is read
 * once, by its parent. A tied decoder's weight gets two products, one per
 * use of w. */
enum { MAX_TERMS = 8 };
typedef struct Terms {
  int products[MAX_TERMS], nproducts;
  int adds[MAX_TERMS], nadds;
  int l2;        /* the l2_grad op, -1 if none */
  double lambda; /* its coefficient */
} Terms;

static int collect_terms(const Program *p, int w, int v, int reader, Terms *t) {
  int def = program_def(p, v);
  if (def < 0 || !only_reader_is(p, v, reader))
    return 0;
  const Op *op = &p->ops[def];
  if (op->kind == OP_ADD && t->nadds < MAX_TERMS) {
    t->adds[t->nadds++] = def;
    return collect_terms(p, w, op->in[0], def, t) && collect_terms(p, w, op->in[1], def, t);
  }
  if (op->kind == OP_L2_GRAD && op->in[0] == w && t->l2 < 0) {
    t->l2 = def;
    t->lambda = op->coef;
    return 1;
  }
  if (op->kind == OP_MATMUL && t->nproducts < MAX_TERMS) {
    t->products[t->nproducts++] = def;
    return 1;
  }
  return 0;
}

static int first_product(const Terms *t) {
  int first = t->products[0];
  for (int k = 1; k < t->nproducts; k++)
    if (t->products[k] < first)
      first = t->products[k];
  return first;
}

/* matmul g = op(a) op(b) -> matmul_sgd w, op(a), op(b): w = beta w - lr g */
static void fuse_product(Op *mm, int w, double lr, double beta) {
  Op fused = *mm;
  fused.kind = OP_MATMUL_SGD;
  fused.nin = 3;
  fused.in[2] = fused.in[1];
  fused.in[1] = fused.in[0];
  fused.in[0] = w;
  fused.nout = 0;
  fused.coef = lr;
  fused.coef2 = beta;
  *mm = fused;
}

static void remove_descending(Program *p, int *ops, int n) {
  for (int a = 0; a < n; a++)
    for (int b = a + 1; b < n; b++)
      if (ops[b] > ops[a]) {
        int x = ops[a];
        ops[a] = ops[b];
        ops[b] = x;
      }
  for (int k = 0; k < n; k++)
    if (ops[k] >= 0)
      program_remove_op(p, ops[k]);
}

/* sgd_update w, g, lr with g = sum of products (+ l2_grad w) -> one
 * matmul_sgd per product, each where its matmul was. Plain SGD is linear
 * in g, so w - lr (g1 + g2 + lambda w) = ((1 - lr lambda) w - lr g1) - lr g2:
 * the weight decay rides on the first. */
static int fuse_one(Program *p, int u) {
  int w = p->ops[u].in[0];
  Terms t = {.nproducts = 0, .nadds = 0, .l2 = -1, .lambda = 0};
  if (!collect_terms(p, w, p->ops[u].in[1], u, &t) || t.nproducts == 0)
    return 0;
  /* the fused ops write w where the matmuls were: every reader that stays
   * (all but the update and the l2_grad) must come before the first */
  int first = first_product(&t);
  if (read_from(p, w, first, u, t.l2))
    return 0;
  double lr = p->ops[u].coef;
  for (int k = 0; k < t.nproducts; k++)
    fuse_product(&p->ops[t.products[k]], w, lr,
                 t.products[k] == first ? 1 - lr * t.lambda : 1);
  int gone[MAX_TERMS + 2], n = 0;
  gone[n++] = u;
  gone[n++] = t.l2;
  for (int k = 0; k < t.nadds; k++)
    gone[n++] = t.adds[k];
  remove_descending(p, gone, n);
  return 1;
}

void pass_fuse_sgd(Module *m, Program *p) {
  (void)m;
  for (int i = 0; i < p->nops; i++)
    if (p->ops[i].kind == OP_SGD_UPDATE && fuse_one(p, i))
      i = -1; /* indices moved; programs are short */
}
