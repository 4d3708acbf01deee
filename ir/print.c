/* The textual form of the IR (docs/ir.md): first the module's non-temporary
 * values, then each program, one op per line:
 *
 *   h1.z [n x 1000] = matmul x, h1.w
 *   d.h1.w [784 x 1000] = matmul x^T, d.h1.z
 *   sgd_update h1.w, d.h1.w, lr=0.01
 *
 * `n` is the batch size; `^T` marks a transposed matmul operand. */
#include <stdio.h>

#include "ir.h"

static void print_shape(const Value *v, FILE *out) {
  if (v->rows == ROWS_BATCH)
    fprintf(out, "[n x %d]", v->cols);
  else
    fprintf(out, "[%d x %d]", v->rows, v->cols);
}

static const char *const kind_names[] = {
    [VAL_INPUT] = "input", [VAL_LABELS] = "labels", [VAL_PARAM] = "param", [VAL_TEMP] = "temp"};

static void print_value_decl(const Value *v, FILE *out) {
  fprintf(out, "%s %s ", kind_names[v->kind], v->name);
  print_shape(v, out);
  if (v->kind == VAL_PARAM) {
    if (v->init == INIT_GLOROT_UNIFORM)
      fprintf(out, " glorot_uniform(fan_in=%d, fan_out=%d)", v->fan_in, v->fan_out);
    else
      fprintf(out, " zero");
  }
  if (v->kind == VAL_LABELS)
    fprintf(out, " int32");
  fputc('\n', out);
}

static void print_op(const Module *m, const Op *op, FILE *out) {
  fputs("  ", out);
  for (int k = 0; k < op->nout; k++) {
    fprintf(out, "%s%s", k ? ", " : "", m->values[op->out[k]].name);
    if (op->nout == 1) {
      fputc(' ', out);
      print_shape(&m->values[op->out[k]], out);
    }
  }
  fprintf(out, "%s%s", op->nout ? " = " : "", op_name(op->kind));
  for (int k = 0; k < op->nin; k++) {
    int t = op->kind == OP_MATMUL && ((k == 0 && op->trans_a) || (k == 1 && op->trans_b));
    fprintf(out, "%s%s%s", k ? ", " : " ", m->values[op->in[k]].name, t ? "^T" : "");
  }
  if (op->kind == OP_L1 || op->kind == OP_L1_GRAD)
    fprintf(out, ", lambda=%g", op->coef);
  if (op->kind == OP_SGD_UPDATE)
    fprintf(out, ", lr=%g", op->coef);
  fputc('\n', out);
}

void print_program(const Module *m, const Program *p, FILE *out) {
  fprintf(out, "program %s(n) {\n", p->name);
  for (int i = 0; i < p->nops; i++)
    print_op(m, &p->ops[i], out);
  fputs("}\n", out);
}

void print_module(const Module *m, FILE *out) {
  for (int v = 0; v < m->nvalues; v++)
    if (m->values[v].kind != VAL_TEMP)
      print_value_decl(&m->values[v], out);
  fputc('\n', out);
  print_program(m, &m->train, out);
  fputc('\n', out);
  print_program(m, &m->infer, out);
}
