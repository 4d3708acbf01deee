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

static const OpInfo ops[OP_COUNT_] = {
#define OP(id, name, nin, nout, flags) [OP_##id] = {name, nin, nout, flags},
#include "ops.h"
#undef OP
};

const OpInfo *op_info(OpKind kind) {
  return (unsigned)kind < OP_COUNT_ ? &ops[kind] : NULL;
}

const char *op_name(OpKind kind) {
  return (unsigned)kind < OP_COUNT_ ? ops[kind].name : "?";
}

int op_is_effect(const Op *op) {
  return (unsigned)op->kind < OP_COUNT_ && (ops[op->kind].flags & OPF_EFFECT);
}

const char *value_kind_name(ValueKind kind) {
  static const char *const names[] = {[VAL_INPUT] = "input", [VAL_LABELS] = "labels",
                                      [VAL_PARAM] = "param", [VAL_TEMP] = "temp",
                                      [VAL_STATE] = "state", [VAL_CONST] = "const"};
  return names[kind];
}
