/* Values, ops and programs: the data structures every other IR file uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static void *xrealloc(void *p, size_t size) {
  void *q = realloc(p, size);
  if (!q) {
    fputs("sparsec: out of memory\n", stderr);
    exit(1);
  }
  return q;
}

static int name_taken(const Module *m, const char *name) {
  for (int v = 0; v < m->nvalues; v++)
    if (strcmp(m->values[v].name, name) == 0)
      return 1;
  return 0;
}

/* Names are unique so that the printed program reads as SSA: a second
 * `d.h1` becomes `d.h1#2`. */
static char *unique_name(const Module *m, const char *name) {
  if (!name_taken(m, name))
    return strdup(name);
  char buf[256];
  for (int k = 2;; k++) {
    snprintf(buf, sizeof buf, "%s#%d", name, k);
    if (!name_taken(m, buf))
      return strdup(buf);
  }
}

int value_new(Module *m, const char *name, ValueKind kind, int rows, int cols) {
  if (m->nvalues == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 32;
    m->values = xrealloc(m->values, sizeof(Value) * m->cap);
  }
  Value *v = &m->values[m->nvalues];
  memset(v, 0, sizeof *v);
  v->name = unique_name(m, name);
  v->kind = kind;
  v->rows = rows;
  v->cols = cols;
  return m->nvalues++;
}

int param_new(Module *m, const char *name, int rows, int cols, ParamInit init, int fan_in,
              int fan_out) {
  int id = value_new(m, name, VAL_PARAM, rows, cols);
  m->values[id].init = init;
  m->values[id].fan_in = fan_in;
  m->values[id].fan_out = fan_out;
  return id;
}

Op *op_emit(Program *p, OpKind kind) {
  if (p->nops == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 32;
    p->ops = xrealloc(p->ops, sizeof(Op) * p->cap);
  }
  Op *op = &p->ops[p->nops++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  return op;
}

Op *op_emit2(Program *p, OpKind kind, int out, int a, int b) {
  Op *op = op_emit(p, kind);
  op->nout = out >= 0;
  op->out[0] = out;
  op->in[op->nin++] = a;
  if (b >= 0)
    op->in[op->nin++] = b;
  return op;
}

void program_copy(Program *dst, const Program *src, const char *name) {
  dst->name = strdup(name);
  dst->nops = dst->cap = src->nops;
  dst->nlive = src->nlive;
  memcpy(dst->live, src->live, sizeof dst->live);
  dst->ncarried = src->ncarried;
  memcpy(dst->carried, src->carried, sizeof dst->carried);
  dst->ops = xrealloc(NULL, sizeof(Op) * (src->nops ? src->nops : 1));
  memcpy(dst->ops, src->ops, sizeof(Op) * src->nops);
}

int module_programs(const Module *m, const Program **out) {
  int n = 0;
  out[n++] = &m->train;
  out[n++] = &m->infer;
  for (int i = 0; i < m->npretrain; i++)
    out[n++] = &m->pretrain[i].program;
  return n;
}

static int split_programs(const SplitStep *s, const Program **out) {
  if (!s->present)
    return 0;
  out[0] = &s->grads;
  out[1] = &s->apply;
  return 2;
}

int module_split_programs(const Module *m, const Program **out) {
  int n = split_programs(&m->train_split, out);
  for (int i = 0; i < m->npretrain; i++)
    n += split_programs(&m->pretrain[i].split, out + n);
  return n;
}

static void program_free(Program *p) {
  free(p->name);
  free(p->ops);
}

static void split_free(SplitStep *s) {
  program_free(&s->grads);
  program_free(&s->apply);
}

void module_free(Module *m) {
  if (!m)
    return;
  for (int i = 0; i < m->nvalues; i++)
    free(m->values[i].name);
  for (int i = 0; i < m->nhidden; i++)
    free(m->hidden[i].name);
  free(m->output_name);
  free(m->values);
  program_free(&m->forward);
  program_free(&m->train);
  program_free(&m->infer);
  split_free(&m->train_split);
  for (int i = 0; i < m->npretrain; i++) {
    program_free(&m->pretrain[i].program);
    split_free(&m->pretrain[i].split);
  }
  free(m);
}

static const char *const op_names[OP_COUNT_] = {
    [OP_MATMUL] = "matmul",
    [OP_BIAS_ADD] = "bias_add",
    [OP_RELU] = "relu",
    [OP_TANH] = "tanh",
    [OP_SIGMOID] = "sigmoid",
    [OP_SOFTPLUS] = "softplus",
    [OP_SCALE_COLS] = "scale_cols",
    [OP_SOFTMAX_NLL] = "softmax_nll",
    [OP_SIGMOID_CE] = "sigmoid_ce",
    [OP_SQUARED_ERROR] = "squared_error",
    [OP_L1] = "l1_penalty",
    [OP_L2] = "l2_penalty",
    [OP_COUNT_ZERO] = "count_zero",
    [OP_COUNT_NONFINITE] = "count_nonfinite",
    [OP_MAX_ABS] = "max_abs",
    [OP_DIV_SCALAR] = "div_scalar",
    [OP_NOISE] = "noise",
    [OP_STEP] = "step",
    [OP_ADD] = "add",
    [OP_SOFTMAX_NLL_GRAD] = "softmax_nll_grad",
    [OP_SIGMOID_CE_GRAD] = "sigmoid_ce_grad",
    [OP_SQUARED_ERROR_GRAD] = "squared_error_grad",
    [OP_RELU_GRAD] = "relu_grad",
    [OP_TANH_GRAD] = "tanh_grad",
    [OP_SIGMOID_GRAD] = "sigmoid_grad",
    [OP_SOFTPLUS_GRAD] = "softplus_grad",
    [OP_L1_GRAD] = "l1_grad",
    [OP_L2_GRAD] = "l2_grad",
    [OP_BIAS_GRAD] = "bias_grad",
    [OP_BIAS_ACT] = "bias_act",
    [OP_BIAS_ACT_GRAD] = "bias_act_grad",
    [OP_SGD_UPDATE] = "sgd_update",
    [OP_MOMENTUM_UPDATE] = "momentum_update",
    [OP_MATMUL_SGD] = "matmul_sgd",
    [OP_ACTIVE_UNITS] = "active_units",
    [OP_SPARSE_MATMUL] = "sparse_matmul",
    [OP_SPARSE_BACKWARD_SGD] = "sparse_backward_sgd",
};

const char *op_name(OpKind kind) {
  return kind < OP_COUNT_ ? op_names[kind] : "?";
}

int op_is_effect(const Op *op) {
  return op->kind == OP_SGD_UPDATE || op->kind == OP_MOMENTUM_UPDATE ||
         op->kind == OP_MATMUL_SGD || op->kind == OP_STEP || op->kind == OP_SPARSE_BACKWARD_SGD;
}

const char *value_kind_name(ValueKind kind) {
  static const char *const names[] = {[VAL_INPUT] = "input", [VAL_LABELS] = "labels",
                                      [VAL_PARAM] = "param", [VAL_TEMP] = "temp",
                                      [VAL_STATE] = "state", [VAL_CONST] = "const"};
  return names[kind];
}
