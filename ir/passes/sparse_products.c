/* sparse-products: prune zero paths at run time.
 *
 * A product whose left operand a [n x K] is a relu output is mostly exact
 * zeros (60-90% on the paper's net); so is the input of image data. Such
 * products get sparse variants that do only the work of the nonzeros:
 *
 *   z = matmul a, w
 *   ->  a.active, a.rows = active_units a         (once per a, right after a)
 *       z = sparse_matmul a, w, a.active, a.rows  (each row's nonzeros only)
 *
 *   da = matmul dz, w^T;  ...;  matmul_sgd w, a^T, dz, lr     (plain SGD, no decay)
 *   ->  da = sparse_backward_sgd w, a, dz, a.active, lr
 *       for each active unit k: da[i,k] = dot(dz[i,:], w[k,:]) where a[i,k] > 0 (a
 *       sampled product), then w[k,:] -= lr sum_i a[i,k] dz[i,:]; inactive rows of w
 *       are not touched, and no weight gradient is stored.
 *
 * The input gradient joins the fused op only when its one reader is the
 * relu mask of a itself (bias_act_grad act=relu or relu_grad on a): that
 * mask zeroes da where a == 0, so computing only those entries changes no
 * result. Without it (the first layer: no input gradient; a sign-trick layer
 * between) the weight update alone becomes sparse_backward_sgd.
 *
 * Left dense: matmul_sgd with weight decay (L2 scales every row of w each
 * step, so no row can be skipped) and momentum updates (the velocity of
 * every weight changes each step); transposed products (a tied decoder's
 * z = h w^T, dh = dr w and its gradient of w read w by columns: skipping
 * zeros there needs gathers or a transposed copy of w kept in step, and at
 * batch 10 most columns are active in some row; bench/README.md).
 *
 * Each sparse op keeps the dense product as its other variant: generated
 * code picks one per batch, sparse when nonzeros(a) <= max_density * n * K
 * (the density active_units measures), with max_density by batch size: the
 * dense product's efficiency grows with the batch (a matrix-vector product
 * at batch 1, near peak at 128) while the sparse kernels' cost per nonzero
 * stays, so the density where dense starts to win falls as batches grow.
 * The defaults were found by benchmark (bench --calibrate, bench/README.md). */
#include <stdio.h>
#include <string.h>

#include "ir.h"

/* A relu output, or the network input (only the data says how sparse it is:
 * the run-time switch decides), or either corrupted by a noise that keeps
 * zeros (a denoising autoencoder's masked input: sparser still). */
static int sparse_source(const Module *m, const Program *p, int v) {
  if (m->values[v].kind == VAL_INPUT)
    return 1;
  int def = program_def(p, v);
  if (def < 0)
    return 0;
  const Op *op = &p->ops[def];
  if (op->kind == OP_NOISE)
    return noise_keeps_zeros(op->noise) && sparse_source(m, p, op->in[0]);
  return (op->kind == OP_ACT || op->kind == OP_BIAS_ACT) &&
         activation_has(op->act, ACT_EXACT_ZEROS) && op->out[0] == v;
}

static int value_named(const Module *m, const char *name) {
  for (int v = 0; v < m->nvalues; v++)
    if (strcmp(m->values[v].name, name) == 0)
      return v;
  return -1;
}

static void insert_op(Program *p, int at, Op op) {
  op_emit(p, OP_COUNT_); /* grows the array by one */
  memmove(&p->ops[at + 1], &p->ops[at], sizeof(Op) * (p->nops - 1 - at));
  p->ops[at] = op;
}

static int temp_named(Module *m, const char *base, const char *suffix, int rows, int cols) {
  char name[256];
  snprintf(name, sizeof name, "%s%s", base, suffix);
  int v = value_named(m, name);
  return v >= 0 ? v : value_new(m, name, VAL_TEMP, rows, cols);
}

/* The active_units op of a in p, made right after a's definition if p has
 * none yet (*inserted = 1: later op indices moved by one). Every program
 * shares the values `a.active` (the units) and `a.rows` (each row's
 * nonzeros), as they share a. */
static const Op *active_units(Module *m, Program *p, int a, int *inserted) {
  *inserted = 0;
  for (int i = 0; i < p->nops; i++)
    if (p->ops[i].kind == OP_ACTIVE_UNITS && p->ops[i].in[0] == a)
      return &p->ops[i];
  const Value *v = &m->values[a];
  char base[256];
  snprintf(base, sizeof base, "%s", v->name);
  Op op = {.kind = OP_ACTIVE_UNITS, .nin = 1, .nout = 2};
  op.in[0] = a;
  op.out[0] = temp_named(m, base, ".active", 1, v->cols + 2);
  op.out[1] = temp_named(m, base, ".rows", m->values[a].rows, m->values[a].cols + 1);
  int at = program_def(p, a) + 1; /* the input: at the start */
  insert_op(p, at, op);
  *inserted = 1;
  return &p->ops[at];
}

static int reads(const Op *op, int v) {
  for (int k = 0; k < op->nin; k++)
    if (op->in[k] == v)
      return 1;
  return 0;
}

static int is_live(const Program *p, int v) {
  for (int i = 0; i < p->nlive; i++)
    if (p->live[i] == v)
      return 1;
  return 0;
}

/* Is da's one reader the relu mask of a (so entries where a == 0 are never used)? */
static int masked_by_relu_of(const Program *p, int da, int a) {
  if (program_uses(p, da) != 1 || is_live(p, da))
    return 0;
  for (int i = 0; i < p->nops; i++) {
    const Op *r = &p->ops[i];
    if (!reads(r, da))
      continue;
    int mask = (r->kind == OP_ACT_GRAD || r->kind == OP_BIAS_ACT_GRAD) &&
               activation_has(r->act, ACT_EXACT_ZEROS);
    return mask && r->in[0] == da && r->in[1] == a;
  }
  return 0;
}

/* The op `da = matmul dz, w^T` before the update at u that may fuse with it:
 * the fused op takes da's place, so nothing between may read w. -1 if none. */
static int input_gradient(const Program *p, int u, int w, int a, int dz) {
  for (int d = 0; d < u; d++) {
    const Op *op = &p->ops[d];
    if (op->kind != OP_MATMUL || op->in[0] != dz || op->in[1] != w || op->trans_a ||
        !op->trans_b)
      continue;
    if (!masked_by_relu_of(p, op->out[0], a))
      return -1;
    for (int e = d + 1; e < u; e++)
      if (reads(&p->ops[e], w))
        return -1;
    return d;
  }
  return -1;
}

/* z = matmul a, w -> sparse_matmul. Returns the index of the last op looked
 * at (it moves down when the active list is inserted before it), -1 if the
 * op stays. */
/* From the measured crossovers (bench --calibrate: one 1000 x 1000 layer,
 * 1 and 2 threads), for batches of 1, <= 10, <= 32, more: the largest
 * density at which the sparse variant was at least about 10% faster on
 * both (bench/calibration.txt, bench/README.md). The fused backward wins to
 * higher densities than the forward product: it replaces two dense
 * products and their passes over w, and its dots are sampled by the mask;
 * the update alone (the first layer) replaces one. A density of 1 means
 * always. */
const double sparse_forward_max_density[SPARSE_CLASSES] = {1.0, 0.7, 0.3, 0.25};
const double sparse_backward_max_density[SPARSE_CLASSES] = {1.0, 1.0, 1.0, 0.6};
const double sparse_update_max_density[SPARSE_CLASSES] = {1.0, 0.4, 0.3, 0.25};

static void set_max_density(Op *op, double threshold) {
  const double *defaults = op->kind == OP_SPARSE_MATMUL ? sparse_forward_max_density
                           : op->out[0] >= 0            ? sparse_backward_max_density
                                                        : sparse_update_max_density;
  for (int c = 0; c < SPARSE_CLASSES; c++)
    op->max_density[c] = threshold != 0 ? threshold : defaults[c];
}

static int sparsify_forward(Module *m, Program *p, int i, double threshold) {
  const Op *op = &p->ops[i];
  if (op->kind != OP_MATMUL || op->trans_a || op->trans_b ||
      m->values[op->in[1]].kind != VAL_PARAM || !sparse_source(m, p, op->in[0]))
    return -1;
  int inserted;
  const Op *active = active_units(m, p, op->in[0], &inserted);
  int units = active->out[0], rows = active->out[1];
  Op *mm = &p->ops[i + inserted];
  mm->kind = OP_SPARSE_MATMUL;
  mm->in[mm->nin++] = units;
  mm->in[mm->nin++] = rows;
  set_max_density(mm, threshold);
  return i + inserted;
}

/* matmul_sgd w, a^T, dz (plain SGD) -> sparse_backward_sgd, taking over the
 * input gradient when it can (the update then moves up to it). Returns as
 * sparsify_forward does. */
static int sparsify_backward(Module *m, Program *p, int u, double threshold) {
  const Op *op = &p->ops[u];
  if (op->kind != OP_MATMUL_SGD || !op->trans_a || op->trans_b || op->coef2 != 1 ||
      !sparse_source(m, p, op->in[1]))
    return -1;
  int w = op->in[0], a = op->in[1], dz = op->in[2];
  double lr = op->coef;
  int inserted;
  int list = active_units(m, p, a, &inserted)->out[0];
  u += inserted;
  Op fused = {.kind = OP_SPARSE_BACKWARD_SGD, .nin = 4, .nout = 1, .coef = lr};
  fused.in[0] = w;
  fused.in[1] = a;
  fused.in[2] = dz;
  fused.in[3] = list;
  fused.out[0] = -1;
  int d = input_gradient(p, u, w, a, dz);
  fused.out[0] = d >= 0 ? p->ops[d].out[0] : -1;
  set_max_density(&fused, threshold);
  if (d >= 0) {
    p->ops[d] = fused;
    program_remove_op(p, u);
    return u - 1;
  }
  p->ops[u] = fused;
  return u;
}

void pass_sparse_products(Module *m, Program *p, double threshold) {
  for (int i = 0; i < p->nops; i++) {
    int at = sparsify_forward(m, p, i, threshold);
    if (at < 0)
      at = sparsify_backward(m, p, i, threshold);
    if (at >= 0)
      i = at;
  }
}
