/* compare.c: whether two modules compile to the same code. The REPL asks
 * after every change: a change that leaves the module as it was (the data's
 * limit or split, the number of epochs, the seed) keeps the compiled code
 * and skips LLVM, which is nearly all of a recompile's time.
 *
 * Everything the backend reads is compared: the values (names, kinds,
 * shapes, initialisers), every compiled program op by op (kind, operands,
 * flags, the coefficients compiled in as constants, and for those the code
 * reads from the hyperparameter table, hyper.c, whether they are zero),
 * what each program leaves live, the module's named values, and each
 * pretraining stage. Equal modules may still differ in the table's values:
 * whoever shares the code writes its own (jit_set_hyper). Anything not compared must not reach the
 * code; when in doubt, compare it: a false "different" costs a recompile,
 * a false "same" would run the wrong code. */
#include <string.h>

#include "ir.h"

static int same_string(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_value(const Value *a, const Value *b) {
  return same_string(a->name, b->name) && a->kind == b->kind && a->rows == b->rows &&
         a->cols == b->cols && a->init == b->init && a->init_arg == b->init_arg &&
         a->fan_in == b->fan_in && a->fan_out == b->fan_out;
}

static int same_ints(const int *a, const int *b, int n) {
  return n == 0 || memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

/* A coefficient the code reads from the hyperparameter table (hyper.c) may
 * differ; whether it is zero may not (a zero penalty is no code). */
static int same_coef(double a, double b, int in_table) {
  return in_table ? (a == 0) == (b == 0) : a == b;
}

static int same_op(const Op *a, const Op *b) {
  int table = op_hyper_fields(a);
  if (a->kind != b->kind || a->nin != b->nin || a->nout != b->nout ||
      !same_ints(a->in, b->in, a->nin) || !same_ints(a->out, b->out, a->nout) ||
      a->trans_a != b->trans_a || a->trans_b != b->trans_b || a->act != b->act ||
      a->noise != b->noise || !same_coef(a->coef, b->coef, table & HYPER_COEF) ||
      !same_coef(a->coef2, b->coef2, table & HYPER_COEF2))
    return 0;
  for (int k = 0; k < 4; k++)
    if (a->max_density[k] != b->max_density[k])
      return 0;
  return 1;
}

static int same_program(const Program *a, const Program *b) {
  if (!same_string(a->name, b->name) || a->nops != b->nops || a->nlive != b->nlive ||
      !same_ints(a->live, b->live, a->nlive) || a->ncarried != b->ncarried ||
      !same_ints(a->carried, b->carried, a->ncarried))
    return 0;
  for (int i = 0; i < a->nops; i++)
    if (!same_op(&a->ops[i], &b->ops[i]))
      return 0;
  return 1;
}

static int same_programs(const Program **a, int na, const Program **b, int nb) {
  if (na != nb)
    return 0;
  for (int i = 0; i < na; i++)
    if (!same_program(a[i], b[i]))
      return 0;
  return 1;
}

/* The programs of a split step are compared with the others. */
static int same_split(const SplitStep *a, const SplitStep *b) {
  return a->present == b->present && a->ngrads == b->ngrads &&
         same_ints(a->grad, b->grad, a->ngrads) && same_ints(a->param, b->param, a->ngrads);
}

static int same_named_values(const Module *a, const Module *b) {
  if (a->x != b->x || a->y != b->y || a->probs != b->probs || a->head_loss != b->head_loss ||
      a->train_loss != b->train_loss || a->classes != b->classes || a->nhidden != b->nhidden ||
      (a->momentum == 0) != (b->momentum == 0) || !same_split(&a->train_split, &b->train_split))
    return 0;
  for (int i = 0; i < a->nhidden; i++) {
    const HiddenLayer *p = &a->hidden[i], *q = &b->hidden[i];
    if (!same_string(p->name, q->name) || p->units != q->units || p->output != q->output ||
        p->zeros != q->zeros)
      return 0;
  }
  return 1;
}

static int same_stages(const Module *a, const Module *b) {
  if (a->npretrain != b->npretrain)
    return 0;
  for (int i = 0; i < a->npretrain; i++) {
    const PretrainProgram *p = &a->pretrain[i], *q = &b->pretrain[i];
    if (p->layer != q->layer || p->cost != q->cost || p->input_max != q->input_max ||
        p->epochs != q->epochs || p->batch != q->batch || !same_split(&p->split, &q->split))
      return 0;
  }
  return 1;
}

int module_same_code(const Module *a, const Module *b) {
  if (a->nvalues != b->nvalues || !same_named_values(a, b) || !same_stages(a, b))
    return 0;
  for (int i = 0; i < a->nvalues; i++)
    if (!same_value(&a->values[i], &b->values[i]))
      return 0;
  const Program *pa[2 + SPEC_MAX_LAYERS], *pb[2 + SPEC_MAX_LAYERS];
  const Program *sa[MODULE_MAX_SPLIT_PROGRAMS], *sb[MODULE_MAX_SPLIT_PROGRAMS];
  return same_programs(pa, module_programs(a, pa), pb, module_programs(b, pb)) &&
         same_programs(sa, module_split_programs(a, sa), sb, module_split_programs(b, sb));
}
