/* The verifier: every op has the arity and shapes its kind demands, reads
 * only values defined before it, and defines each temporary once (SSA).
 * Rows may be ROWS_BATCH, which equals only itself. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir.h"

typedef struct Shape {
  int rows, cols;
} Shape;

typedef struct Check {
  const Module *m;
  const Program *p;
  int op_index;
  char *err;
  int errlen;
} Check;

static int fail(Check *c, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const Op *op = &c->p->ops[c->op_index];
  snprintf(c->err, c->errlen, "%s: op %d (%s): %s", c->p->name, c->op_index, op_name(op->kind),
           msg);
  return -1;
}

static Shape shape(const Check *c, int v) {
  return (Shape){c->m->values[v].rows, c->m->values[v].cols};
}

static Shape transposed(Shape s, int t) {
  return t ? (Shape){s.cols, s.rows} : s;
}

static int same(Shape a, Shape b) {
  return a.rows == b.rows && a.cols == b.cols;
}

static void shape_str(Shape s, char *buf, int len) {
  if (s.rows == ROWS_BATCH)
    snprintf(buf, len, "[n x %d]", s.cols);
  else
    snprintf(buf, len, "[%d x %d]", s.rows, s.cols);
}

static int expect_same(Check *c, int a, int b) {
  if (same(shape(c, a), shape(c, b)))
    return 0;
  char sa[64], sb[64];
  shape_str(shape(c, a), sa, sizeof sa);
  shape_str(shape(c, b), sb, sizeof sb);
  return fail(c, "%s is %s but %s is %s", c->m->values[a].name, sa, c->m->values[b].name, sb);
}

static int expect_scalar(Check *c, int v) {
  Shape s = shape(c, v);
  if (s.rows == 1 && s.cols == 1)
    return 0;
  return fail(c, "%s must be [1 x 1]", c->m->values[v].name);
}

/* out = op(a) op(b); for matmul_sgd the result is the parameter in[0] */
static int check_matmul(Check *c, const Op *op) {
  int first = op->kind == OP_MATMUL_SGD;
  Shape a = transposed(shape(c, op->in[first]), op->trans_a);
  Shape b = transposed(shape(c, op->in[first + 1]), op->trans_b);
  int result = first ? op->in[0] : op->out[0];
  if (first && c->m->values[result].kind != VAL_PARAM)
    return fail(c, "%s is not a parameter", c->m->values[result].name);
  Shape out = shape(c, result);
  if (a.cols != b.rows)
    return fail(c, "inner dimensions differ (%d vs %d)", a.cols, b.rows);
  if (out.rows != a.rows || out.cols != b.cols)
    return fail(c, "result %s has the wrong shape", c->m->values[result].name);
  return 0;
}

/* A head's target: class labels (one-hot targets) or a float tensor of the
 * prediction's shape (reconstruction targets). */
static int check_labels(Check *c, int logits, int labels) {
  if (c->m->values[labels].kind != VAL_LABELS)
    return expect_same(c, labels, logits);
  if (shape(c, labels).rows != shape(c, logits).rows)
    return fail(c, "labels and %s differ in rows", c->m->values[logits].name);
  return 0;
}

/* active [1 x K+2] must be the active_units of a [. x K], defined earlier
 * in this program: a list of another tensor's units would be silently wrong. */
static int check_active_list(Check *c, int active, int a) {
  Shape s = shape(c, active);
  if (s.rows != 1 || s.cols != shape(c, a).cols + 2)
    return fail(c, "active list %s must be [1 x %d]", c->m->values[active].name,
                shape(c, a).cols + 2);
  int def = program_def(c->p, active);
  if (def < 0 || def > c->op_index || c->p->ops[def].kind != OP_ACTIVE_UNITS ||
      c->p->ops[def].in[0] != a)
    return fail(c, "%s is not the active_units of %s", c->m->values[active].name,
                c->m->values[a].name);
  return 0;
}

/* rows [n x K+1] must be the row lists of the same active_units as `active` */
static int check_row_lists(Check *c, int rows, int active, int a) {
  int def = program_def(c->p, active);
  if (c->p->ops[def].out[1] != rows)
    return fail(c, "%s is not the row lists of %s", c->m->values[rows].name, c->m->values[a].name);
  Shape s = shape(c, rows), sa = shape(c, a);
  if (s.rows != sa.rows || s.cols != sa.cols + 1)
    return fail(c, "row lists %s have the wrong shape", c->m->values[rows].name);
  return 0;
}

/* sparse_matmul out = a w; sparse_backward_sgd w, a, dz -> da: the shapes
 * of the dense product a w, the weight gradient a^T dz and dz w^T. */
static int check_sparse_product(Check *c, const Op *op) {
  int bwd = op->kind == OP_SPARSE_BACKWARD_SGD;
  int w = op->in[bwd ? 0 : 1], a = op->in[bwd ? 1 : 0], active = op->in[bwd ? 3 : 2];
  Shape sw = shape(c, w), sa = shape(c, a);
  if (c->m->values[w].kind != VAL_PARAM)
    return fail(c, "%s is not a parameter", c->m->values[w].name);
  if (sa.cols != sw.rows)
    return fail(c, "inner dimensions differ (%d vs %d)", sa.cols, sw.rows);
  Shape z = shape(c, bwd ? op->in[2] : op->out[0]);
  if (z.rows != sa.rows || z.cols != sw.cols)
    return fail(c, "%s has the wrong shape", c->m->values[bwd ? op->in[2] : op->out[0]].name);
  if (bwd && op->out[0] >= 0 && expect_same(c, op->out[0], a))
    return -1;
  if (check_active_list(c, active, a) != 0)
    return -1;
  return bwd ? 0 : check_row_lists(c, op->in[3], active, a);
}

static int check_shapes(Check *c, const Op *op) {
  switch (op->kind) {
  case OP_ACTIVE_UNITS: {
    Shape s = shape(c, op->out[0]), a = shape(c, op->in[0]);
    if (s.rows != 1 || s.cols != a.cols + 2)
      return fail(c, "result must be [1 x %d]", a.cols + 2);
    if (op->out[1] >= 0 && (shape(c, op->out[1]).rows != a.rows || shape(c, op->out[1]).cols != a.cols + 1))
      return fail(c, "row lists must be [%s x %d]", a.rows == ROWS_BATCH ? "n" : "rows", a.cols + 1);
    return 0;
  }
  case OP_SPARSE_MATMUL:
  case OP_SPARSE_BACKWARD_SGD:
    return check_sparse_product(c, op);
  case OP_MATMUL:
  case OP_MATMUL_SGD:
    return check_matmul(c, op);
  case OP_BIAS_ADD: {
    Shape b = shape(c, op->in[1]);
    if (b.rows != 1 || b.cols != shape(c, op->in[0]).cols)
      return fail(c, "bias %s must be [1 x %d]", c->m->values[op->in[1]].name,
                  shape(c, op->in[0]).cols);
    return expect_same(c, op->out[0], op->in[0]);
  }
  case OP_SCALE_COLS: {
    Shape s = shape(c, op->in[1]);
    if (s.rows != 1 || s.cols != shape(c, op->in[0]).cols)
      return fail(c, "scale %s must be [1 x %d]", c->m->values[op->in[1]].name,
                  shape(c, op->in[0]).cols);
    return expect_same(c, op->out[0], op->in[0]);
  }
  case OP_ACT:
    if (!act_has_maths(op->act) || activation_has(op->act, ACT_IDENTITY))
      return fail(c, "activation %s is not an elementwise op", activation_name(op->act));
    return expect_same(c, op->out[0], op->in[0]);
  case OP_L1_GRAD:
  case OP_L2_GRAD:
    return expect_same(c, op->out[0], op->in[0]);
  case OP_ACT_GRAD:
    if (!act_has_maths(op->act) || activation_has(op->act, ACT_IDENTITY))
      return fail(c, "activation %s is not an elementwise op", activation_name(op->act));
    return expect_same(c, op->out[0], op->in[0]) || expect_same(c, op->in[1], op->in[0]);
  case OP_ADD:
    return expect_same(c, op->out[0], op->in[0]) || expect_same(c, op->in[1], op->in[0]);
  case OP_SOFTMAX_NLL:
  case OP_SIGMOID_CE:
    return check_labels(c, op->in[0], op->in[1]) || expect_same(c, op->out[0], op->in[0]) ||
           expect_scalar(c, op->out[1]);
  case OP_SQUARED_ERROR:
    return check_labels(c, op->in[0], op->in[1]) || expect_scalar(c, op->out[0]);
  case OP_SOFTMAX_NLL_GRAD:
  case OP_SIGMOID_CE_GRAD:
  case OP_SQUARED_ERROR_GRAD:
    return check_labels(c, op->in[0], op->in[1]) || expect_same(c, op->out[0], op->in[0]);
  case OP_COUNT_ZERO:
    return expect_scalar(c, op->out[0]) || (op->nout > 1 && expect_scalar(c, op->out[1]));
  case OP_COUNT_NONFINITE:
  case OP_L1:
  case OP_L2:
  case OP_MAX_ABS:
    return expect_scalar(c, op->out[0]);
  case OP_DIV_SCALAR:
    return expect_scalar(c, op->in[1]) || expect_same(c, op->out[0], op->in[0]);
  case OP_NOISE:
    if (c->m->values[op->in[1]].kind != VAL_STATE)
      return fail(c, "the step counter %s must be state", c->m->values[op->in[1]].name);
    return expect_scalar(c, op->in[1]) || expect_same(c, op->out[0], op->in[0]);
  case OP_STEP:
    if (c->m->values[op->in[0]].kind != VAL_STATE)
      return fail(c, "the step counter %s must be state", c->m->values[op->in[0]].name);
    return expect_scalar(c, op->in[0]);
  case OP_GRAD_READY:
    if (c->m->values[op->in[0]].kind != VAL_TEMP)
      return fail(c, "%s is not a gradient", c->m->values[op->in[0]].name);
    return 0;
  case OP_BIAS_GRAD: {
    Shape out = shape(c, op->out[0]);
    if (out.rows != 1 || out.cols != shape(c, op->in[0]).cols)
      return fail(c, "result must be [1 x %d]", shape(c, op->in[0]).cols);
    return 0;
  }
  case OP_BIAS_ACT: {
    Shape b = shape(c, op->in[1]);
    if (b.rows != 1 || b.cols != shape(c, op->in[0]).cols)
      return fail(c, "bias %s must be [1 x %d]", c->m->values[op->in[1]].name,
                  shape(c, op->in[0]).cols);
    for (int k = 1; k < 4; k++)
      if (op->out[k] >= 0 && expect_scalar(c, op->out[k]))
        return -1;
    return expect_same(c, op->out[0], op->in[0]);
  }
  case OP_BIAS_ACT_GRAD: {
    Shape db = shape(c, op->out[1]);
    if (db.rows != 1 || db.cols != shape(c, op->in[0]).cols)
      return fail(c, "bias gradient must be [1 x %d]", shape(c, op->in[0]).cols);
    return expect_same(c, op->in[1], op->in[0]) || expect_same(c, op->out[0], op->in[0]);
  }
  case OP_SGD_UPDATE:
    if (c->m->values[op->in[0]].kind != VAL_PARAM)
      return fail(c, "%s is not a parameter", c->m->values[op->in[0]].name);
    return expect_same(c, op->in[1], op->in[0]);
  case OP_MOMENTUM_UPDATE:
    if (c->m->values[op->in[0]].kind != VAL_PARAM)
      return fail(c, "%s is not a parameter", c->m->values[op->in[0]].name);
    if (c->m->values[op->in[1]].kind != VAL_STATE)
      return fail(c, "%s is not optimiser state", c->m->values[op->in[1]].name);
    return expect_same(c, op->in[1], op->in[0]) || expect_same(c, op->in[2], op->in[0]);
  case OP_COUNT_:
    break;
  }
  return fail(c, "unknown op kind %d", (int)op->kind);
}

/* bias_act's penalty and counts are produced only when something wants them. */
static int optional_output(const Op *op, int k) {
  return (op->kind == OP_BIAS_ACT && k > 0) || op->kind == OP_SPARSE_BACKWARD_SGD /* da */ ||
         (op->kind == OP_ACTIVE_UNITS && k == 1); /* the row lists */
}

static int check_operands(Check *c, const Op *op, char *defined) {
  if ((unsigned)op->kind >= OP_COUNT_)
    return fail(c, "unknown op kind %d", (int)op->kind);
  /* count_zero may also count non-finite values (fused by fuse-relu) */
  int extra = op->kind == OP_COUNT_ZERO && op->nout == 2;
  const OpInfo *info = op_info(op->kind);
  if (op->nin != info->nin || op->nout != info->nout + extra)
    return fail(c, "takes %d inputs and %d outputs, has %d and %d", info->nin, info->nout,
                op->nin, op->nout);
  for (int k = 0; k < op->nin; k++) {
    int v = op->in[k];
    if (v < 0 || v >= c->m->nvalues)
      return fail(c, "input %d is not a value", k);
    if (!defined[v])
      return fail(c, "%s is used before it is defined", c->m->values[v].name);
  }
  for (int k = 0; k < op->nout; k++) {
    int v = op->out[k];
    if (v < 0 && optional_output(op, k))
      continue;
    if (v < 0 || v >= c->m->nvalues)
      return fail(c, "output %d is not a value", k);
    if (c->m->values[v].kind != VAL_TEMP)
      return fail(c, "%s is not a temporary and cannot be defined", c->m->values[v].name);
    if (defined[v])
      return fail(c, "%s is defined twice", c->m->values[v].name);
  }
  return 0;
}

int verify_program(const Module *m, const Program *p, char *err, int errlen) {
  char *defined = calloc(m->nvalues ? m->nvalues : 1, 1);
  if (!defined) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (int v = 0; v < m->nvalues; v++)
    defined[v] = m->values[v].kind != VAL_TEMP;
  for (int i = 0; i < p->ncarried; i++)
    defined[p->carried[i]] = 1; /* left in its slot by another program */
  Check c = {.m = m, .p = p, .err = err, .errlen = errlen};
  int rc = 0;
  for (int i = 0; i < p->nops && rc == 0; i++) {
    c.op_index = i;
    const Op *op = &p->ops[i];
    rc = check_operands(&c, op, defined);
    if (rc == 0)
      rc = check_shapes(&c, op);
    for (int k = 0; k < op->nout && rc == 0; k++)
      if (op->out[k] >= 0)
        defined[op->out[k]] = 1;
  }
  free(defined);
  return rc ? -1 : 0;
}
