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

/* matmul:      out[i,j] = sum_k op(a)[i,k] op(b)[k,j]; op(t)[i,k] = t[k,i] when transposed
 * matmul_sgd:  w[i,j] = coef2 w[i,j] - coef sum_k op(a)[i,k] op(b)[k,j] */
static void run_matmul(const Run *r, const Op *op) {
  int sgd = op->kind == OP_MATMUL_SGD;
  int a = op->in[sgd], b = op->in[sgd + 1], out = sgd ? op->in[0] : op->out[0];
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
      float *c = &C[(size_t)i * N + j];
      *c = sgd ? (float)(op->coef2 * *c - op->coef * sum) : (float)sum;
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

/* A head's target at row i, column j: one-hot labels or a float tensor. */
static double target(const Run *r, int t, int i, int j, int cols) {
  if (r->m->values[t].kind == VAL_LABELS)
    return ((const int32_t *)r->slots[t])[i] == j;
  return f32(r, t)[(size_t)i * cols + j];
}

/* softmax_nll_grad, sigmoid_ce_grad, squared_error_grad:
 * dx[i,j] = (p[i,j] - t[i,j]) / rows, t the target (one-hot or a tensor) */
static void run_target_grad(const Run *r, const Op *op) {
  const float *probs = f32(r, op->in[0]);
  float *dx = f32(r, op->out[0]);
  int rows = rows_of(r, op->in[0]), n = cols_of(r, op->in[0]);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < n; j++)
      dx[(size_t)i * n + j] = (float)((probs[(size_t)i * n + j] - target(r, op->in[1], i, j, n)) / rows);
}

static double softplus(double x) {
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* sigmoid_ce: probs = sigmoid(z); loss = 1/rows sum_ij CE(t_ij, probs_ij), where
 *   CE = -t log p - (1-t) log(1-p) = softplus(z) - t z   (stable for any z)
 * squared_error: loss = 1/rows sum_ij (pred_ij - t_ij)^2 / 2 */
static void run_target_loss(const Run *r, const Op *op) {
  const float *z = f32(r, op->in[0]);
  int rows = rows_of(r, op->in[0]), n = cols_of(r, op->in[0]);
  double total = 0;
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < n; j++) {
      double v = z[(size_t)i * n + j], t = target(r, op->in[1], i, j, n);
      if (op->kind == OP_SIGMOID_CE) {
        f32(r, op->out[0])[(size_t)i * n + j] = (float)(1 / (1 + exp(-v)));
        total += softplus(v) - t * v;
      } else {
        total += (v - t) * (v - t) / 2;
      }
    }
  f32(r, op->out[op->nout - 1])[0] = (float)(total / rows);
}

/* l2 = coef / 2 * sum w^2 */
static void run_l2(const Run *r, const Op *op) {
  const float *w = f32(r, op->in[0]);
  double sum = 0;
  for (size_t k = 0; k < count_of(r, op->in[0]); k++)
    sum += (double)w[k] * w[k];
  f32(r, op->out[0])[0] = (float)(op->coef / 2 * sum);
}

/* out[i,j] = x[i,j] * s[j] */
static void run_scale_cols(const Run *r, const Op *op) {
  const float *x = f32(r, op->in[0]), *sc = f32(r, op->in[1]);
  float *out = f32(r, op->out[0]);
  int n = cols_of(r, op->out[0]);
  for (size_t k = 0; k < count_of(r, op->out[0]); k++)
    out[k] = x[k] * sc[k % n];
}

/* v = mu v - lr g;  p = p + v */
static void run_momentum(const Run *r, const Op *op) {
  float *p = f32(r, op->in[0]), *v = f32(r, op->in[1]);
  const float *g = f32(r, op->in[2]);
  for (size_t k = 0; k < count_of(r, op->in[0]); k++) {
    v[k] = (float)(op->coef2 * v[k] - op->coef * g[k]);
    p[k] += v[k];
  }
}

static double sign(double x) {
  return (x > 0) - (x < 0);
}

/* h = act(z + b); pen = coef/rows * sum |h|; zeros = #{h == 0};
 * nonfinite = #{z + b not finite} (a relu would hide a NaN) */
static void run_bias_act(const Run *r, const Op *op) {
  const float *z = f32(r, op->in[0]), *b = f32(r, op->in[1]);
  float *h = f32(r, op->out[0]);
  int n = cols_of(r, op->in[0]);
  double abs_sum = 0, zeros = 0, nonfinite = 0;
  for (size_t k = 0; k < count_of(r, op->in[0]); k++) {
    float a = z[k] + b[k % n];
    h[k] = (float)act_forward(op->act, (double)a, op->coef2);
    abs_sum += fabs(h[k]);
    zeros += h[k] == 0;
    nonfinite += !isfinite(a);
  }
  if (op->out[1] >= 0)
    f32(r, op->out[1])[0] = (float)(op->coef / rows_of(r, op->in[0]) * abs_sum);
  if (op->out[2] >= 0)
    f32(r, op->out[2])[0] = (float)zeros;
  if (op->nout > 3 && op->out[3] >= 0)
    f32(r, op->out[3])[0] = (float)nonfinite;
}

/* count_zero:      zeros = #{x == 0}; nonfinite (a second output, fused) =
 *                  #{x not finite: inf, -inf or NaN}
 * count_nonfinite: nonfinite alone */
static void run_count(const Run *r, const Op *op) {
  const float *x = f32(r, op->in[0]);
  double zeros = 0, nonfinite = 0;
  for (size_t k = 0; k < count_of(r, op->in[0]); k++) {
    zeros += x[k] == 0;
    nonfinite += !isfinite(x[k]);
  }
  if (op->kind == OP_COUNT_NONFINITE) {
    f32(r, op->out[0])[0] = (float)nonfinite;
    return;
  }
  f32(r, op->out[0])[0] = (float)zeros;
  if (op->nout > 1 && op->out[1] >= 0)
    f32(r, op->out[1])[0] = (float)nonfinite;
}

/* da = (dy + coef/rows * sign(h)) * act'(h);  db[j] = sum_i da[i,j]
 * (activations.c; coef2 is the activation's parameter) */
static void run_bias_act_grad(const Run *r, const Op *op) {
  const float *dy = f32(r, op->in[0]), *h = f32(r, op->in[1]);
  float *da = f32(r, op->out[0]), *db = f32(r, op->out[1]);
  int rows = rows_of(r, op->in[0]), n = cols_of(r, op->in[0]);
  double scale = op->coef / rows;
  for (int j = 0; j < n; j++) {
    double sum = 0;
    for (int i = 0; i < rows; i++) {
      size_t k = (size_t)i * n + j;
      double g = dy[k] + scale * sign(h[k]);
      da[k] = (float)act_backward(op->act, g, h[k], op->coef2);
      sum += da[k];
    }
    db[j] = (float)sum;
  }
}

/* max_abs: out = max |x|;  div_scalar: out = s != 0 ? x / s : 0 */
static void run_max_abs(const Run *r, const Op *op) {
  const float *x = f32(r, op->in[0]);
  float max = 0;
  for (size_t k = 0; k < count_of(r, op->in[0]); k++)
    max = fabsf(x[k]) > max ? fabsf(x[k]) : max;
  f32(r, op->out[0])[0] = max;
}

static void run_div_scalar(const Run *r, const Op *op) {
  const float *x = f32(r, op->in[0]);
  float s = f32(r, op->in[1])[0], *out = f32(r, op->out[0]);
  for (size_t k = 0; k < count_of(r, op->in[0]); k++)
    out[k] = s != 0 ? x[k] / s : 0;
}

/* The noise generator (docs/ir.md), per element k of a step's batch:
 *   z = (step << 32 | k) + seed * 0x9E3779B97F4A7C15, then splitmix64's
 *   finaliser; u = top 24 bits / 2^24, u2 = bits 16..39 / 2^24, bit = z & 1
 *   masking      u < p ? 0 : x
 *   salt_pepper  u < p ? bit : x
 *   gaussian     x + sigma sqrt(-2 ln(1 - u)) cos(2 pi u2) */
static uint64_t noise_bits(uint32_t seed, uint32_t step, uint32_t k) {
  uint64_t z = ((uint64_t)step << 32 | k) + (uint64_t)seed * 0x9E3779B97F4A7C15u;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static void run_noise(const Run *r, const Op *op) {
  const float *x = f32(r, op->in[0]);
  float *out = f32(r, op->out[0]);
  uint32_t step, seed = (uint32_t)op->coef2;
  memcpy(&step, r->slots[op->in[1]], 4);
  float p = (float)op->coef;
  for (size_t k = 0; k < count_of(r, op->in[0]); k++) {
    uint64_t z = noise_bits(seed, step, (uint32_t)k);
    float u = (float)(z >> 40) * 0x1p-24f, u2 = (float)((z >> 16) & 0xffffff) * 0x1p-24f;
    switch (op->noise) {
    case NOISE_MASKING: out[k] = u < p ? 0 : x[k]; break;
    case NOISE_SALT_PEPPER: out[k] = u < p ? (float)(z & 1) : x[k]; break;
    case NOISE_GAUSSIAN:
      out[k] = x[k] + p * (sqrtf(-2 * logf(1 - u)) * cosf(6.28318530718f * u2));
      break;
    }
  }
}

static void run_step(const Run *r, const Op *op) {
  uint32_t step;
  memcpy(&step, r->slots[op->in[0]], 4);
  step++;
  memcpy(r->slots[op->in[0]], &step, 4);
}

/* l1 = coef * (1/rows) * sum |x|;  dx = coef * (1/rows) * sign(x) */
static void run_l1(const Run *r, const Op *op, int grad) {
  const float *x = f32(r, op->in[0]);
  int rows = rows_of(r, op->in[0]);
  double scale = op->coef / rows, sum = 0;
  float *out = f32(r, op->out[0]);
  for (size_t k = 0; k < count_of(r, op->in[0]); k++) {
    if (grad)
      out[k] = (float)(scale * sign(x[k]));
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
  for (size_t k = 0; k < count; k++) {
    switch (op->kind) {
    case OP_ACT: out[k] = (float)act_forward(op->act, a[k], op->coef); break;
    case OP_ACT_GRAD: out[k] = (float)act_backward(op->act, a[k], b[k], op->coef); break;
    case OP_L2_GRAD: out[k] = (float)(op->coef * a[k]); break;      /* lambda w */
    case OP_ADD: out[k] = a[k] + b[k]; break;                       /* a + b */
    case OP_SGD_UPDATE: out[k] = a[k] - (float)op->coef * b[k]; break; /* p - lr g */
    default: break;
    }
  }
}

/* active_units: the units (columns) of a that are nonzero in any row.
 *   units[0] = #{k : exists i, a[i,k] != 0},  units[1] = #{(i,k) : a[i,k] != 0},
 *   units[2 + q] = the q-th such k, ascending (small integers, exact as floats)
 * and each row's nonzeros: rows[i, 0] = #{k : a[i,k] != 0}, rows[i, 1 + q] = the
 * q-th such k, ascending. */
static void run_active_units(const Run *r, const Op *op) {
  const float *a = f32(r, op->in[0]);
  float *out = f32(r, op->out[0]);
  int rows = rows_of(r, op->in[0]), K = cols_of(r, op->in[0]), count = 0;
  if (op->out[1] >= 0) {
    float *lists = f32(r, op->out[1]);
    for (int i = 0; i < rows; i++) {
      float *row = lists + (size_t)i * (K + 1);
      int n = 0;
      for (int k = 0; k < K; k++)
        if (a[(size_t)i * K + k] != 0)
          row[1 + n++] = (float)k;
      row[0] = (float)n;
    }
  }
  double nonzeros = 0;
  for (int k = 0; k < K; k++) {
    int c = 0;
    for (int i = 0; i < rows; i++)
      c += a[(size_t)i * K + k] != 0;
    nonzeros += c;
    if (c)
      out[2 + count++] = (float)k;
  }
  out[0] = (float)count;
  out[1] = (float)nonzeros;
}

/* sparse_matmul: z[i,j] = sum over row i's listed nonzeros k of a[i,k] w[k,j]
 * (the columns left out have a[i,k] = 0: this is a w) */
static void run_sparse_matmul(const Run *r, const Op *op) {
  const float *a = f32(r, op->in[0]), *w = f32(r, op->in[1]), *lists = f32(r, op->in[3]);
  float *z = f32(r, op->out[0]);
  int rows = rows_of(r, op->in[0]), K = cols_of(r, op->in[0]), N = cols_of(r, op->in[1]);
  for (int i = 0; i < rows; i++) {
    const float *row = lists + (size_t)i * (K + 1);
    for (int j = 0; j < N; j++) {
      double sum = 0;
      for (int q = 0; q < (int)row[0]; q++) {
        int k = (int)row[1 + q];
        sum += (double)a[(size_t)i * K + k] * w[(size_t)k * N + j];
      }
      z[(size_t)i * N + j] = (float)sum;
    }
  }
}

/* sparse_backward_sgd w, a, dz, list -> da (optional):
 *   da[i,k] = [a[i,k] > 0] sum_j dz[i,j] w[k,j]      (old w; the relu mask of a)
 *   w[k,j] -= lr sum_i a[i,k] dz[i,j]                 for the listed k (the others
 *                                                     have a zero gradient) */
static void run_sparse_backward(const Run *r, const Op *op) {
  float *w = f32(r, op->in[0]);
  const float *a = f32(r, op->in[1]), *dz = f32(r, op->in[2]), *list = f32(r, op->in[3]);
  int rows = rows_of(r, op->in[1]), K = cols_of(r, op->in[1]), N = cols_of(r, op->in[0]);
  if (op->out[0] >= 0) {
    float *da = f32(r, op->out[0]);
    for (int i = 0; i < rows; i++)
      for (int k = 0; k < K; k++) {
        double sum = 0;
        for (int j = 0; j < N; j++)
          sum += (double)dz[(size_t)i * N + j] * w[(size_t)k * N + j];
        da[(size_t)i * K + k] = a[(size_t)i * K + k] > 0 ? (float)sum : 0;
      }
  }
  for (int q = 0; q < (int)list[0]; q++) {
    int k = (int)list[2 + q];
    for (int j = 0; j < N; j++) {
      double sum = 0;
      for (int i = 0; i < rows; i++)
        sum += (double)a[(size_t)i * K + k] * dz[(size_t)i * N + j];
      w[(size_t)k * N + j] = (float)(w[(size_t)k * N + j] - op->coef * sum);
    }
  }
}

void interp_run(const Module *m, const Program *p, void **slots, int rows) {
  Run r = {m, slots, rows};
  for (int i = 0; i < p->nops; i++) {
    const Op *op = &p->ops[i];
    switch (op->kind) {
    case OP_MATMUL:
    case OP_MATMUL_SGD: run_matmul(&r, op); break;
    case OP_BIAS_ADD: run_bias_add(&r, op); break;
    case OP_SOFTMAX_NLL: run_softmax_nll(&r, op); break;
    case OP_SIGMOID_CE:
    case OP_SQUARED_ERROR: run_target_loss(&r, op); break;
    case OP_SOFTMAX_NLL_GRAD:
    case OP_SIGMOID_CE_GRAD:
    case OP_SQUARED_ERROR_GRAD: run_target_grad(&r, op); break;
    case OP_L2: run_l2(&r, op); break;
    case OP_SCALE_COLS: run_scale_cols(&r, op); break;
    case OP_MOMENTUM_UPDATE: run_momentum(&r, op); break;
    case OP_BIAS_ACT: run_bias_act(&r, op); break;
    case OP_COUNT_ZERO:
    case OP_COUNT_NONFINITE: run_count(&r, op); break;
    case OP_MAX_ABS: run_max_abs(&r, op); break;
    case OP_DIV_SCALAR: run_div_scalar(&r, op); break;
    case OP_NOISE: run_noise(&r, op); break;
    case OP_STEP: run_step(&r, op); break;
    case OP_GRAD_READY: break; /* a message to the MPI runtime; one process has no one to tell */
    case OP_BIAS_ACT_GRAD: run_bias_act_grad(&r, op); break;
    case OP_L1: run_l1(&r, op, 0); break;
    case OP_L1_GRAD: run_l1(&r, op, 1); break;
    case OP_BIAS_GRAD: run_bias_grad(&r, op); break;
    case OP_ACTIVE_UNITS: run_active_units(&r, op); break;
    case OP_SPARSE_MATMUL: run_sparse_matmul(&r, op); break;
    case OP_SPARSE_BACKWARD_SGD: run_sparse_backward(&r, op); break;
    case OP_ACT:
    case OP_ACT_GRAD:
    case OP_ADD:
    case OP_L2_GRAD:
    case OP_SGD_UPDATE: run_elementwise(&r, op); break;
    case OP_COUNT_: break;
    }
  }
}
