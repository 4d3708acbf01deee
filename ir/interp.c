/* The reference interpreter: each op in the plainest C that states its maths,
 * accumulating in double. It is the oracle the generated code is tested
 * against, so clarity beats speed here. Labels are trusted to lie in
 * 0..cols-1: the runtime checks data sets before any program runs. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ir.h"

typedef struct Run {
  const Module *m;
  void **slots;
  int rows; /* batch rows */
} Run;

static int rows_of(const Run *r, int v) {
  int rows = r->m->values[v].rows;
  return rows == ROWS_BATCH ? r->rows : rows;
}

static int cols_of(const Run *r, int v) {
  return r->m->values[v].cols;
}

static float *f32(const Run *r, int v) {
  return r->slots[v];
}

static size_t count_of(const Run *r, int v) {
  return (size_t)rows_of(r, v) * cols_of(r, v);
}

/* out[i,j] = sum_k op(a)[i,k] op(b)[k,j]; op(t)[i,k] = t^T[i,k] = t[k,i] when transposed */
static void run_matmul(const Run *r, const Op *op) {
  int a = op->in[0], b = op->in[1], out = op->out[0];
  int M = rows_of(r, out), N = cols_of(r, out);
  int K = op->trans_a ? rows_of(r, a) : cols_of(r, a);
  int lda = cols_of(r, a), ldb = cols_of(r, b);
  const float *A = f32(r, a), *B = f32(r, b);
  float *C = f32(r, out);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double sum = 0;
      for (int k = 0; k < K; k++) {
        float aik = op->trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
        float bkj = op->trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        sum += (double)aik * bkj;
      }
      C[(size_t)i * N + j] = (float)sum;
    }
}

/* out[i,j] = x[i,j] + b[j] */
static void run_bias_add(const Run *r, const Op *op) {
  const float *x = f32(r, op->in[0]), *b = f32(r, op->in[1]);
  float *out = f32(r, op->out[0]);
  int n = cols_of(r, op->out[0]);
  for (size_t k = 0; k < count_of(r, op->out[0]); k++)
    out[k] = x[k] + b[k % n];
}

/* probs[i,:] = exp(x[i,:] - max_i) / sum_j exp(x[i,j] - max_i)
 * nll = (1/rows) sum_i -log probs[i, y_i] = (1/rows) sum_i (log s_i + max_i - x[i,y_i]) */
static void run_softmax_nll(const Run *r, const Op *op) {
  const float *x = f32(r, op->in[0]);
  const int32_t *y = r->slots[op->in[1]];
  float *probs = f32(r, op->out[0]);
  int rows = rows_of(r, op->in[0]), n = cols_of(r, op->in[0]);
  double total = 0;
  for (int i = 0; i < rows; i++) {
    const float *xi = x + (size_t)i * n;
    double max = xi[0], sum = 0;
    for (int j = 1; j < n; j++)
      max = xi[j] > max ? xi[j] : max;
    for (int j = 0; j < n; j++)
      sum += exp(xi[j] - max);
    for (int j = 0; j < n; j++)
      probs[(size_t)i * n + j] = (float)(exp(xi[j] - max) / sum);
    total += log(sum) + max - xi[y[i]];
  }
  f32(r, op->out[1])[0] = (float)(total / rows);
}

/* dx[i,j] = (probs[i,j] - [j == y_i]) / rows */
static void run_softmax_nll_grad(const Run *r, const Op *op) {
  const float *probs = f32(r, op->in[0]);
  const int32_t *y = r->slots[op->in[1]];
  float *dx = f32(r, op->out[0]);
  int rows = rows_of(r, op->in[0]), n = cols_of(r, op->in[0]);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < n; j++)
      dx[(size_t)i * n + j] = (probs[(size_t)i * n + j] - (j == y[i])) / rows;
}

/* l1 = coef * (1/rows) * sum |x|;  dx = coef * (1/rows) * sign(x) */
static void run_l1(const Run *r, const Op *op, int grad) {
  const float *x = f32(r, op->in[0]);
  int rows = rows_of(r, op->in[0]);
  double scale = op->coef / rows, sum = 0;
  float *out = f32(r, op->out[0]);
  for (size_t k = 0; k < count_of(r, op->in[0]); k++) {
    if (grad)
      out[k] = (float)(scale * ((x[k] > 0) - (x[k] < 0)));
    else
      sum += fabs(x[k]);
  }
  if (!grad)
    out[0] = (float)(scale * sum);
}

/* db[j] = sum_i dy[i,j] */
static void run_bias_grad(const Run *r, const Op *op) {
  const float *dy = f32(r, op->in[0]);
  float *db = f32(r, op->out[0]);
  int rows = rows_of(r, op->in[0]), n = cols_of(r, op->in[0]);
  for (int j = 0; j < n; j++) {
    double sum = 0;
    for (int i = 0; i < rows; i++)
      sum += dy[(size_t)i * n + j];
    db[j] = (float)sum;
  }
}

static void run_elementwise(const Run *r, const Op *op) {
  size_t count = count_of(r, op->in[0]);
  const float *a = f32(r, op->in[0]);
  const float *b = op->nin > 1 ? f32(r, op->in[1]) : NULL;
  float *out = op->nout ? f32(r, op->out[0]) : f32(r, op->in[0]);
  double zeros = 0;
  for (size_t k = 0; k < count; k++) {
    switch (op->kind) {
    case OP_RELU: out[k] = a[k] > 0 ? a[k] : 0; break;              /* max(x, 0) */
    case OP_RELU_GRAD: out[k] = b[k] > 0 ? a[k] : 0; break;         /* dy * [y > 0] */
    case OP_ADD: out[k] = a[k] + b[k]; break;                       /* a + b */
    case OP_SGD_UPDATE: out[k] = a[k] - (float)op->coef * b[k]; break; /* p - lr g */
    case OP_COUNT_ZERO: zeros += a[k] == 0; break;                  /* #{x == 0} */
    default: break;
    }
  }
  if (op->kind == OP_COUNT_ZERO)
    out[0] = (float)zeros;
}

void interp_run(const Module *m, const Program *p, void **slots, int rows) {
  Run r = {m, slots, rows};
  for (int i = 0; i < p->nops; i++) {
    const Op *op = &p->ops[i];
    switch (op->kind) {
    case OP_MATMUL: run_matmul(&r, op); break;
    case OP_BIAS_ADD: run_bias_add(&r, op); break;
    case OP_SOFTMAX_NLL: run_softmax_nll(&r, op); break;
    case OP_SOFTMAX_NLL_GRAD: run_softmax_nll_grad(&r, op); break;
    case OP_L1: run_l1(&r, op, 0); break;
    case OP_L1_GRAD: run_l1(&r, op, 1); break;
    case OP_BIAS_GRAD: run_bias_grad(&r, op); break;
    default: run_elementwise(&r, op); break;
    }
  }
}
