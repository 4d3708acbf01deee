/* hyper.c: the coefficients the generated code reads at run time. Learning
 * rates, momenta and the L1/L2 penalties are not compiled in as constants:
 * the code loads them from one table (backend: the global `sparsec_hyper`,
 * doubles), so that changing them is a write to the table, not a recompile
 * (the REPL; ir/compare.c leaves their values out). Whether a coefficient
 * is zero stays in the code: a zero penalty is no code at all.
 *
 * The table's layout is one walk over the compiled programs in the order
 * the backend emits them (module_programs, then module_split_programs);
 * each op owns an entry for each of its hyperparameter fields, coef first. */
#include <math.h>

#include "ir.h"

/* ops.h's flags, and an activation's parameter: coef of act and act_grad,
 * coef2 of bias_act and bias_act_grad (their coef is the L1 penalty). */
int op_hyper_fields(const Op *op) {
  int flags = op_info(op->kind)->flags, fields = 0;
  if (flags & OPF_HYPER_COEF)
    fields |= HYPER_COEF;
  if (flags & OPF_HYPER_COEF2)
    fields |= HYPER_COEF2;
  const ActivationInfo *act = activation_info(op->act);
  if (act && !isnan(act->parameter)) {
    if (op->kind == OP_ACT || op->kind == OP_ACT_GRAD)
      fields |= HYPER_COEF;
    if (op->kind == OP_BIAS_ACT || op->kind == OP_BIAS_ACT_GRAD)
      fields |= HYPER_COEF2;
  }
  return fields;
}

typedef struct Walk {
  const Program *p; /* the op looked for, or NULL to list every value */
  const Op *op;
  int field;
  double *values;   /* filled when not NULL */
  int n;
} Walk;

/* Visits the program's entries; 1 when the one looked for was reached. */
static int walk_program(Walk *w, const Program *p) {
  for (int i = 0; i < p->nops; i++) {
    const Op *op = &p->ops[i];
    int fields = op_hyper_fields(op);
    for (int f = HYPER_COEF; f <= HYPER_COEF2; f <<= 1) {
      if (!(fields & f))
        continue;
      if (w->p == p && w->op == op && w->field == f)
        return 1;
      if (w->values)
        w->values[w->n] = f == HYPER_COEF ? op->coef : op->coef2;
      w->n++;
    }
  }
  return 0;
}

static int walk(const Module *m, Walk *w) {
  const Program *programs[2 + SPEC_MAX_LAYERS], *split[MODULE_MAX_SPLIT_PROGRAMS];
  int n = module_programs(m, programs), ns = module_split_programs(m, split);
  for (int i = 0; i < n; i++)
    if (walk_program(w, programs[i]))
      return w->n;
  for (int i = 0; i < ns; i++)
    if (walk_program(w, split[i]))
      return w->n;
  return w->p ? -1 : w->n;
}

int module_hyper_values(const Module *m, double *values) {
  Walk w = {.values = values};
  return walk(m, &w);
}

int module_hyper_index(const Module *m, const Program *p, const Op *op, int field) {
  Walk w = {.p = p, .op = op, .field = field};
  return walk(m, &w);
}
