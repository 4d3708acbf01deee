/* Reverse-mode autodiff: appends the backward sweep and the SGD updates to a
 * copy of the forward program.
 *
 * The objective L is the sum of the loss terms (the head's loss and each
 * l1/l2 penalty), so each term's upstream gradient is 1 and its backward op is
 * emitted without materialising that 1. Ops are visited in reverse order: by
 * the time an op is reached every consumer of its output has contributed to
 * the output's gradient. A value used twice gets its contributions summed by
 * `add`. Only values that depend on a parameter get gradients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct Sweep {
  Module *m;
  const Objective *objective;
  Program *out;
  int nforward_values; /* grad[] covers the values that existed before the sweep */
  int *grad;           /* value -> its gradient's value, or -1 */
  char *needs_grad;    /* value depends on a parameter */
} Sweep;

static int grad_temp(Sweep *s, int of) {
  const Value *v = &s->m->values[of];
  char name[256];
  snprintf(name, sizeof name, "d.%s", v->name);
  int rows = v->rows, cols = v->cols;
  return value_new(s->m, name, VAL_TEMP, rows, cols);
}

/* grad[v] += g */
static void accumulate(Sweep *s, int v, int g) {
  if (s->grad[v] < 0) {
    s->grad[v] = g;
    return;
  }
  int sum = grad_temp(s, v);
  op_emit2(s->out, OP_ADD, sum, s->grad[v], g);
  s->grad[v] = sum;
}

static int is_loss_term(const Objective *o, int op_index) {
  for (int k = 0; k < o->nloss; k++)
    if (o->loss_ops[k] == op_index)
      return 1;
  return 0;
}

/* out = op(a) op(b), with op(t) = t or t^T:
 *   da = dout op(b)^T       (a not transposed)   da = op(b) dout^T   (a transposed)
 *   db = op(a)^T dout       (b not transposed)   db = dout^T op(a)   (b transposed) */
static void backward_matmul(Sweep *s, const Op *op, int dout) {
  int a = op->in[0], b = op->in[1];
  if (s->needs_grad[a]) {
    int da = grad_temp(s, a);
    Op *g = op->trans_a ? op_emit2(s->out, OP_MATMUL, da, b, dout)
                        : op_emit2(s->out, OP_MATMUL, da, dout, b);
    g->trans_a = op->trans_a ? op->trans_b : 0;
    g->trans_b = op->trans_a ? 1 : !op->trans_b;
    accumulate(s, a, da);
  }
  if (s->needs_grad[b]) {
    int db = grad_temp(s, b);
    Op *g = op->trans_b ? op_emit2(s->out, OP_MATMUL, db, dout, a)
                        : op_emit2(s->out, OP_MATMUL, db, a, dout);
    g->trans_a = op->trans_b ? 1 : !op->trans_a;
    g->trans_b = op->trans_b ? op->trans_a : 0;
    accumulate(s, b, db);
  }
}

/* The gradient op of each loss term, given the term's upstream gradient 1:
 *   softmax_nll, sigmoid_ce:  dlogits = (probs - t) / rows   (from probs, y)
 *   squared_error:            dpred = (pred - t) / rows      (from pred, y)
 *   l1_penalty:               dx = lambda/rows * sign(x)
 *   l2_penalty:               dw = lambda * w */
static void backward_loss_term(Sweep *s, const Op *op) {
  int x = op->in[0];
  if (!s->needs_grad[x])
    return;
  int dx = grad_temp(s, x);
  switch (op->kind) {
  case OP_SOFTMAX_NLL: op_emit2(s->out, OP_SOFTMAX_NLL_GRAD, dx, op->out[0], op->in[1]); break;
  case OP_SIGMOID_CE: op_emit2(s->out, OP_SIGMOID_CE_GRAD, dx, op->out[0], op->in[1]); break;
  case OP_SQUARED_ERROR: op_emit2(s->out, OP_SQUARED_ERROR_GRAD, dx, x, op->in[1]); break;
  case OP_L1: op_emit2(s->out, OP_L1_GRAD, dx, x, -1)->coef = op->coef; break;
  case OP_L2: op_emit2(s->out, OP_L2_GRAD, dx, x, -1)->coef = op->coef; break;
  default: return;
  }
  accumulate(s, x, dx);
}

/* dx = act_grad(dout, v): v is the activation's output y (whose
 * derivative is a function of y alone, so no pre-activation needs to be
 * kept), or its input x (ACT_GRAD_FROM_X, e.g. abs). */
static void backward_activation(Sweep *s, const Op *op, int dout) {
  int x = op->in[0];
  if (!s->needs_grad[x])
    return;
  int dx = grad_temp(s, x);
  int v = activation_has(op->act, ACT_GRAD_FROM_X) ? x : op->out[0];
  Op *grad = op_emit2(s->out, OP_ACT_GRAD, dx, dout, v);
  grad->act = op->act;
  grad->coef = op->coef; /* the parameter */
  accumulate(s, x, dx);
}

static void backward_op(Sweep *s, const Op *op, int op_index) {
  if (is_loss_term(s->objective, op_index)) {
    backward_loss_term(s, op);
    return;
  }
  int x = op->in[0];
  int dout = op->nout ? s->grad[op->out[0]] : -1;
  if (dout < 0)
    return;
  switch (op->kind) {
  case OP_ACT:
    backward_activation(s, op, dout);
    break;
  case OP_MATMUL:
    backward_matmul(s, op, dout);
    break;
  case OP_BIAS_ADD: /* dx = dout (shared, no copy); db = column sums of dout */
    if (s->needs_grad[x])
      accumulate(s, x, dout);
    if (s->needs_grad[op->in[1]]) {
      int db = grad_temp(s, op->in[1]);
      op_emit2(s->out, OP_BIAS_GRAD, db, dout, -1);
      accumulate(s, op->in[1], db);
    }
    break;
  case OP_SCALE_COLS: /* dx = dout * s by column; the signs are constants */
    if (s->needs_grad[x]) {
      int dx = grad_temp(s, x);
      op_emit2(s->out, OP_SCALE_COLS, dx, dout, op->in[1]);
      accumulate(s, x, dx);
    }
    break;
  case OP_ADD: /* both operands receive dout */
    for (int i = 0; i < 2; i++)
      if (s->needs_grad[op->in[i]])
        accumulate(s, op->in[i], dout);
    break;
  default: /* count_zero and count_nonfinite carry no gradient */
    break;
  }
}

static void mark_needs_grad(Sweep *s, const Program *p) {
  const char *trainable = s->objective->trainable;
  for (int v = 0; v < s->nforward_values; v++)
    s->needs_grad[v] = s->m->values[v].kind == VAL_PARAM && (!trainable || trainable[v]);
  for (int i = 0; i < p->nops; i++) {
    const Op *op = &p->ops[i];
    int any = 0;
    for (int k = 0; k < op->nin; k++)
      any |= s->needs_grad[op->in[k]];
    for (int k = 0; k < op->nout; k++)
      s->needs_grad[op->out[k]] = (char)any;
  }
}

/* Plain SGD: p -= lr g. With momentum mu: v = mu v - lr g; p += v, where the
 * velocity v is optimiser state, zero at the start. */
static void emit_update(Module *m, const Objective *o, Program *train, int param, int grad) {
  Op *u;
  if (o->momentum > 0) {
    char name[256];
    snprintf(name, sizeof name, "%s.velocity", m->values[param].name);
    int v = value_new(m, name, VAL_STATE, m->values[param].rows, m->values[param].cols);
    u = op_emit(train, OP_MOMENTUM_UPDATE);
    u->nin = 3;
    u->in[0] = param;
    u->in[1] = v;
    u->in[2] = grad;
    u->coef2 = o->momentum;
  } else {
    u = op_emit(train, OP_SGD_UPDATE);
    u->nin = 2;
    u->in[0] = param;
    u->in[1] = grad;
  }
  u->coef = o->lr;
}

void autodiff_append(Module *m, Program *train, const Objective *o) {
  Sweep s = {.m = m, .objective = o, .out = train, .nforward_values = m->nvalues};
  s.grad = malloc(sizeof(int) * m->nvalues);
  s.needs_grad = malloc(m->nvalues);
  if (!s.grad || !s.needs_grad) {
    fputs("sparsec: out of memory\n", stderr);
    exit(1);
  }
  for (int v = 0; v < m->nvalues; v++)
    s.grad[v] = -1;
  mark_needs_grad(&s, train);

  int nforward_ops = train->nops;
  for (int i = nforward_ops - 1; i >= 0; i--) {
    Op op = train->ops[i]; /* copy: emitting may move the array */
    backward_op(&s, &op, i);
  }
  for (int v = 0; v < s.nforward_values; v++)
    if (s.needs_grad[v] && m->values[v].kind == VAL_PARAM && s.grad[v] >= 0)
      emit_update(m, o, train, v, s.grad[v]);
  free(s.grad);
  free(s.needs_grad);
}
