/* The textual form of the IR (docs/ir.md): first the module's non-temporary
 * values, then each program, one op per line:
 *
 *   h1.z [n x 1000] = matmul x, h1.w
 *   d.h1.w [784 x 1000] = matmul x^T, d.h1.z
 *   sgd_update h1.w, d.h1.w, lr=0.01
 *
 * `n` is the batch size; `^T` marks a transposed matmul operand. */
#include <stdio.h>

#include <math.h>

#include "ir.h"

static void print_shape(const Value *v, FILE *out) {
  if (v->rows == ROWS_BATCH)
    fprintf(out, "[n x %d]", v->cols);
  else
    fprintf(out, "[%d x %d]", v->rows, v->cols);
}

static void print_init(const Value *v, FILE *out) {
  switch (v->init) {
  case PINIT_ZERO: fprintf(out, " zero"); break;
  case PINIT_CONSTANT: fprintf(out, " constant(%g)", v->init_arg); break;
  case PINIT_GLOROT_UNIFORM:
    fprintf(out, " glorot_uniform(fan_in=%d, fan_out=%d)", v->fan_in, v->fan_out);
    break;
  case PINIT_HE_NORMAL: fprintf(out, " he_normal(fan_in=%d)", v->fan_in); break;
  case PINIT_UNIFORM: fprintf(out, " uniform(%g)", v->init_arg); break;
  case PINIT_SIGNS: fprintf(out, " signs"); break;
  }
}

void print_value_decl(const Value *v, FILE *out) {
  fprintf(out, "%s %s ", value_kind_name(v->kind), v->name);
  print_shape(v, out);
  if (v->kind == VAL_PARAM || v->kind == VAL_CONST)
    print_init(v, out);
  if (v->kind == VAL_STATE)
    fprintf(out, " zero");
  if (v->kind == VAL_LABELS)
    fprintf(out, " int32");
  fputc('\n', out);
}

static void print_outputs(const Module *m, const Op *op, FILE *out) {
  int n = 0;
  for (int k = 0; k < op->nout; k++)
    n += op->out[k] >= 0;
  for (int k = 0, first = 1; k < op->nout; k++) {
    if (op->out[k] < 0)
      continue;
    fprintf(out, "%s%s", first ? "" : ", ", m->values[op->out[k]].name);
    first = 0;
    if (n == 1) {
      fputc(' ', out);
      print_shape(&m->values[op->out[k]], out);
    }
  }
  if (n)
    fputs(" = ", out);
}

static void print_attributes(const Op *op, FILE *out) {
  if (op->kind == OP_NOISE)
    fprintf(out, ", %s(%g), seed=%.0f", noise_name(op->noise), op->coef, op->coef2);
  if (op->kind == OP_BIAS_ACT || op->kind == OP_BIAS_ACT_GRAD)
    fprintf(out, ", act=%s", activation_name(op->act));
  if (op->kind == OP_ACT || op->kind == OP_ACT_GRAD || op->kind == OP_BIAS_ACT ||
      op->kind == OP_BIAS_ACT_GRAD) {
    double param = op->kind == OP_ACT || op->kind == OP_ACT_GRAD ? op->coef : op->coef2;
    if (!isnan(activation_info(op->act)->parameter))
      fprintf(out, ", %s=%g", op->kind == OP_ACT || op->kind == OP_ACT_GRAD ? "a" : "act_a", param);
  }
  if (op->kind == OP_L1 || op->kind == OP_L1_GRAD || op->kind == OP_L2 || op->kind == OP_L2_GRAD ||
      ((op->kind == OP_BIAS_ACT || op->kind == OP_BIAS_ACT_GRAD) && op->coef != 0))
    fprintf(out, ", lambda=%g", op->coef);
  if (op->kind == OP_SGD_UPDATE || op->kind == OP_MOMENTUM_UPDATE || op->kind == OP_MATMUL_SGD ||
      op->kind == OP_SPARSE_BACKWARD_SGD)
    fprintf(out, ", lr=%g", op->coef);
  if (op->kind == OP_SPARSE_MATMUL || op->kind == OP_SPARSE_BACKWARD_SGD)
    fprintf(out, ", max_density=%g/%g/%g/%g", op->max_density[0], op->max_density[1],
            op->max_density[2], op->max_density[3]); /* batch 1, <= 10, <= 32, more */
  if (op->kind == OP_MATMUL_SGD && op->coef2 != 1)
    fprintf(out, ", decay=%g", op->coef2);
  if (op->kind == OP_MOMENTUM_UPDATE)
    fprintf(out, ", momentum=%g", op->coef2);
}

void op_print_name(const Op *op, FILE *out) {
  if (op->kind == OP_ACT || op->kind == OP_ACT_GRAD)
    fprintf(out, "%s%s", activation_name(op->act), op->kind == OP_ACT_GRAD ? "_grad" : "");
  else
    fputs(op_name(op->kind), out);
}

static void print_op(const Module *m, const Op *op, FILE *out) {
  fputs("  ", out);
  print_outputs(m, op, out);
  op_print_name(op, out);
  for (int k = 0; k < op->nin; k++) {
    int first = op->kind == OP_MATMUL_SGD; /* operands of the product start after w */
    int t = (op->kind == OP_MATMUL || first) &&
            ((k == first && op->trans_a) || (k == first + 1 && op->trans_b));
    fprintf(out, "%s%s%s", k ? ", " : " ", m->values[op->in[k]].name, t ? "^T" : "");
  }
  print_attributes(op, out);
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
  for (int i = 0; i < m->npretrain; i++) {
    fputc('\n', out);
    print_program(m, &m->pretrain[i].program, out);
  }
  const Program *split[MODULE_MAX_SPLIT_PROGRAMS]; /* data parallelism only */
  for (int i = 0, n = module_split_programs(m, split); i < n; i++) {
    fputc('\n', out);
    print_program(m, split[i], out);
  }
}
