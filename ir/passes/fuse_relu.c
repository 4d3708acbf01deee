/* fuse-relu, for every activation (relu is the one that matters: its mask
 * needs no pre-activation, and its outputs are mostly zeros): one loop over a
 * layer's output each way instead of four.
 *
 * Forward:   a = bias_add z, b;  h = act a;  [pen = l1_penalty h];  [zeros = count_zero h];
 *            [nonfinite = count_nonfinite a]
 *        ->  h, pen, zeros, nonfinite = bias_act z, b   (pre-activation a never stored)
 * Backward:  [g = add dy, l1_grad(h)];  da = act_grad g, h;  db = bias_grad da
 *        ->  da, db = bias_act_grad dy, h           (mask for relu: h > 0)
 * Counts:    zeros = count_zero x;  nonfinite = count_nonfinite x
 *        ->  zeros, nonfinite = count_zero x        (a linear layer's: one pass)
 *
 * Each match requires that the intermediate values have no other readers and
 * are not outputs of the program, so the rewrite never changes a result. */
#include "ir.h"

/* The activation ops the fused forms take: those whose derivative needs
 * only the output (activations.def), since bias_act never stores the
 * pre-activation. */
static int fusable(const Op *op, OpKind kind) {
  return op->kind == kind && !activation_has(op->act, ACT_GRAD_FROM_X);
}

static int is_live(const Program *p, int v) {
  for (int i = 0; i < p->nlive; i++)
    if (p->live[i] == v)
      return 1;
  return 0;
}

/* A value read only by one op and not an output: safe to stop storing. */
static int private_to_one_reader(const Program *p, int v) {
  return program_uses(p, v) == 1 && !is_live(p, v);
}

/* The op after `from` whose kind is `kind` and reads `v` as operand 0. */
static int find_reader(const Program *p, int from, OpKind kind, int v) {
  for (int i = from + 1; i < p->nops; i++)
    if (p->ops[i].kind == kind && p->ops[i].in[0] == v)
      return i;
  return -1;
}

static void remove_ops(Program *p, int *idx, int n) {
  for (int k = 0; k < n; k++) { /* highest index first keeps the others valid */
    int hi = k;
    for (int j = k + 1; j < n; j++)
      if (idx[j] > idx[hi])
        hi = j;
    int t = idx[k];
    idx[k] = idx[hi];
    idx[hi] = t;
    if (idx[k] >= 0)
      program_remove_op(p, idx[k]);
  }
}

/* Rewrites the forward chain starting at the bias_add at index i; 1 if it did.
 * Its result a may be read by the activation and one count_nonfinite. */
static int fuse_forward(Program *p, int i) {
  const Op *bias = &p->ops[i];
  int a = bias->out[0];
  int act = i + 1;
  while (act < p->nops && !(p->ops[act].in[0] == a && fusable(&p->ops[act], OP_ACT)))
    act++;
  int nonfinite = find_reader(p, i, OP_COUNT_NONFINITE, a);
  if (act == p->nops || is_live(p, a) || program_uses(p, a) != 1 + (nonfinite >= 0))
    return 0;
  int h = p->ops[act].out[0];
  int l1 = find_reader(p, act, OP_L1, h), zeros = find_reader(p, act, OP_COUNT_ZERO, h);
  if (zeros >= 0 && p->ops[zeros].nout > 1)
    zeros = -1; /* already counting for another value: leave it */
  Op fused = {.kind = OP_BIAS_ACT, .nin = 2, .nout = 4, .act = p->ops[act].act,
              .coef2 = p->ops[act].coef};
  fused.in[0] = bias->in[0];
  fused.in[1] = bias->in[1];
  fused.out[0] = h;
  fused.out[1] = l1 >= 0 ? p->ops[l1].out[0] : -1;
  fused.out[2] = zeros >= 0 ? p->ops[zeros].out[0] : -1;
  fused.out[3] = nonfinite >= 0 ? p->ops[nonfinite].out[0] : -1;
  fused.coef = l1 >= 0 ? p->ops[l1].coef : 0;
  p->ops[act] = fused;
  int gone[4] = {i, l1, zeros, nonfinite};
  remove_ops(p, gone, 4);
  return 1;
}

/* count_nonfinite x at index i joins a count_zero of the same x; 1 if it did. */
static int fuse_counts(Program *p, int i) {
  int x = p->ops[i].in[0], out = p->ops[i].out[0];
  int zeros = find_reader(p, -1, OP_COUNT_ZERO, x);
  if (zeros < 0 || p->ops[zeros].nout > 1 || program_uses(p, out) > 0)
    return 0;
  Op *z = &p->ops[zeros];
  z->out[z->nout++] = out;
  program_remove_op(p, i);
  return 1;
}

/* Rewrites the backward chain ending at the bias_grad at index i. */
static int fuse_backward(Program *p, int i) {
  int da = p->ops[i].in[0];
  int grad = program_def(p, da);
  if (grad < 0 || !fusable(&p->ops[grad], OP_ACT_GRAD))
    return 0;
  int g = p->ops[grad].in[0], h = p->ops[grad].in[1];
  Op fused = {.kind = OP_BIAS_ACT_GRAD, .nin = 2, .nout = 2, .act = p->ops[grad].act,
              .coef2 = p->ops[grad].coef};
  fused.in[0] = g;
  fused.in[1] = h;
  fused.out[0] = da;
  fused.out[1] = p->ops[i].out[0];
  int gone[3] = {i, -1, -1};
  int sum = program_def(p, g);
  if (sum >= 0 && p->ops[sum].kind == OP_ADD && private_to_one_reader(p, g)) {
    for (int k = 0; k < 2; k++) { /* which operand is the l1 gradient of h? */
      int l1 = program_def(p, p->ops[sum].in[k]);
      if (l1 >= 0 && p->ops[l1].kind == OP_L1_GRAD && p->ops[l1].in[0] == h &&
          private_to_one_reader(p, p->ops[l1].out[0])) {
        fused.in[0] = p->ops[sum].in[1 - k];
        fused.coef = p->ops[l1].coef;
        gone[1] = sum;
        gone[2] = l1;
        break;
      }
    }
  }
  p->ops[grad] = fused;
  remove_ops(p, gone, 3);
  return 1;
}

void pass_fuse_relu(Module *m, Program *p) {
  (void)m;
  for (int i = 0; i < p->nops; i++) {
    if (p->ops[i].kind == OP_BIAS_ADD && fuse_forward(p, i))
      i = -1; /* indices moved: rescan (programs are short) */
    else if (p->ops[i].kind == OP_BIAS_GRAD && fuse_backward(p, i))
      i = -1;
  }
  for (int i = 0; i < p->nops; i++) /* what is left of the counts: linear layers */
    if (p->ops[i].kind == OP_COUNT_NONFINITE && fuse_counts(p, i))
      i = -1;
}
