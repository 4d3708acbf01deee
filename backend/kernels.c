/* One LLVM IR emitter per op. Each states its maths in the comment above it,
 * the same maths as ir/interp.c, which is the oracle these are tested
 * against. Loops over whole tensors are flat (k < rows*cols) so that the
 * vectoriser sees one simple loop; dense products call cblas_sgemm, or in
 * a BLAS-free object (Gen.blas_free) run sparse_kernels.c's loops. */
#include <math.h>
#include <stdint.h>

#include "gen.h"

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

static LLVMValueRef to_i32(Gen *g, LLVMValueRef v) {
  return LLVMBuildTrunc(g->b, v, g->i32, "");
}

static LLVMValueRef i32c(Gen *g, int v) {
  return LLVMConstInt(g->i32, (unsigned)v, 1);
}

/* matmul:     out = op(a) op(b), by
 *             cblas_sgemm(RowMajor, ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N)
 * matmul_sgd: w = beta w - lr op(a) op(b): the same call with alpha = -lr,
 *             beta = 1 - lr lambda and C = w, so no gradient is stored
 * BLAS-free, out = a w is emit_dense_matmul's loops instead (the only
 * product inference has; codegen_loops_cover) */
static void emit_matmul(Gen *g, const Op *op) {
  int sgd = op->kind == OP_MATMUL_SGD;
  int a = op->in[sgd], b = op->in[sgd + 1], out = sgd ? op->in[0] : op->out[0];
  if (g->blas_free && codegen_loops_cover(op)) {
    emit_dense_matmul(g, a, b, out);
    return;
  }
  LLVMTypeRef args[14] = {g->i32, g->i32, g->i32, g->i32, g->i32, g->i32, g->f32,
                          g->ptr, g->i32, g->ptr, g->i32, g->f32, g->ptr, g->i32};
  LLVMTypeRef type = LLVMFunctionType(g->void_t, args, 14, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, "cblas_sgemm");
  if (!fn)
    fn = LLVMAddFunction(g->mod, "cblas_sgemm", type);
  LLVMValueRef K = op->trans_a ? rows_of(g, a) : cols_of(g, a);
  LLVMValueRef vals[14] = {
      i32c(g, CBLAS_ROW_MAJOR),
      i32c(g, op->trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS),
      i32c(g, op->trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS),
      to_i32(g, rows_of(g, out)),
      to_i32(g, cols_of(g, out)),
      to_i32(g, K),
      sgd ? LLVMBuildFNeg(g->b, hyper_f32(g, HYPER_COEF), "") : const_f32(g, 1.0),
      g->slot[a],
      to_i32(g, cols_of(g, a)),
      g->slot[b],
      to_i32(g, cols_of(g, b)),
      !sgd ? const_f32(g, 0.0)
      : op == g->op ? hyper_f32(g, HYPER_COEF2)
                    : const_f32(g, op->coef2), /* a made-up op's own (sparse_kernels.c) */
      g->slot[out],
      to_i32(g, cols_of(g, out)),
  };
  LLVMBuildCall2(g->b, type, fn, vals, 14, "");
}

/* bias_add:   out[i,j] = x[i,j] + b[j]
 * scale_cols: out[i,j] = x[i,j] * s[j] */
static void emit_row_broadcast(Gen *g, const Op *op) {
  int x = op->in[0], row = op->in[1], out = op->out[0];
  Loop i = loop_begin(g, rows_of(g, out), op_name(op->kind));
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, out), "");
  Loop j = loop_begin(g, cols_of(g, out), "j");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  LLVMValueRef a = load_f32(g, x, k), b = load_f32(g, row, j.i);
  LLVMValueRef r = op->kind == OP_BIAS_ADD ? LLVMBuildFAdd(g->b, a, b, "") : LLVMBuildFMul(g->b, a, b, "");
  store_f32(g, out, k, r);
  loop_end(g, &j);
  loop_end(g, &i);
}

/* coef / rows, as float */
static LLVMValueRef inv_rows_times(Gen *g, LLVMValueRef coef) {
  return LLVMBuildFDiv(g->b, coef, LLVMBuildSIToFP(g->b, g->rows, g->f32, ""), "");
}

static LLVMValueRef positive(Gen *g, LLVMValueRef x) {
  return LLVMBuildFCmp(g->b, LLVMRealOGT, x, const_f32(g, 0.0), "");
}

static LLVMValueRef fconst(Gen *g, double v) {
  return const_f32(g, v);
}

/* The activation's parameter, from the hyperparameter table (coef of act
 * and act_grad, coef2 of bias_act and bias_act_grad), or NULL if it takes
 * none. */
static LLVMValueRef act_param(Gen *g, const Op *op) {
  if (isnan(activation_info(op->act)->parameter))
    return NULL;
  int fused = op->kind == OP_BIAS_ACT || op->kind == OP_BIAS_ACT_GRAD;
  return hyper_f32(g, fused ? HYPER_COEF2 : HYPER_COEF);
}

/* x * sign(v) for float v */
static LLVMValueRef times_sign(Gen *g, LLVMValueRef x, LLVMValueRef v) {
  LLVMValueRef zero = fconst(g, 0.0);
  LLVMValueRef negative = LLVMBuildFCmp(g->b, LLVMRealOLT, v, zero, "");
  LLVMValueRef r = LLVMBuildSelect(g->b, negative, LLVMBuildFNeg(g->b, x, ""), zero, "");
  return LLVMBuildSelect(g->b, positive(g, v), x, r, "");
}

/* The elementwise ops, over k < rows*cols:
 *   relu             out = x > 0 ? x : 0            (max(x, 0))
 *   relu_grad        out = y > 0 ? dy : 0           (dy * [y > 0])
 *   add              out = a + b
 *   l1_grad          out = s * sign(x), s = lambda / rows
 *   l2_grad          out = lambda * w
 *   sgd_update       p = p - lr * g                 (in place)
 *   momentum_update  v = mu v - lr g;  p = p + v    (in place)
 * and the activations and their gradients dx = dy act'(v) (activations.c). */
static void emit_elementwise(Gen *g, const Op *op) {
  int a = op->in[0];
  int target = op->nout ? op->out[0] : a;
  LLVMValueRef scale = NULL;
  if (op->kind == OP_L1_GRAD)
    scale = inv_rows_times(g, hyper_f32(g, HYPER_COEF));
  LLVMValueRef coef = NULL, coef2 = NULL;
  if (op->kind == OP_L2_GRAD || op->kind == OP_SGD_UPDATE || op->kind == OP_MOMENTUM_UPDATE)
    coef = hyper_f32(g, HYPER_COEF);
  if (op->kind == OP_MOMENTUM_UPDATE)
    coef2 = hyper_f32(g, HYPER_COEF2);
  LLVMValueRef param = op->kind == OP_ACT || op->kind == OP_ACT_GRAD ? act_param(g, op) : NULL;
  Loop k = loop_begin(g, count_of(g, a), op_name(op->kind));
  LLVMValueRef x = load_f32(g, a, k.i), r = NULL;
  LLVMValueRef y = op->nin > 1 ? load_f32(g, op->in[1], k.i) : NULL;
  switch (op->kind) {
  case OP_ACT:
    r = emit_activation(g, op->act, x, param);
    break;
  case OP_ACT_GRAD:
    r = emit_activation_backward(g, op->act, x, y, param);
    break;
  case OP_ADD:
    r = LLVMBuildFAdd(g->b, x, y, "");
    break;
  case OP_L1_GRAD:
    r = times_sign(g, scale, x);
    break;
  case OP_L2_GRAD:
    r = LLVMBuildFMul(g->b, coef, x, "");
    break;
  case OP_SGD_UPDATE:
    r = LLVMBuildFSub(g->b, x, LLVMBuildFMul(g->b, coef, y, ""), "");
    break;
  case OP_MOMENTUM_UPDATE: {
    LLVMValueRef grad = load_f32(g, op->in[2], k.i);
    LLVMValueRef v = LLVMBuildFSub(g->b, LLVMBuildFMul(g->b, coef2, y, ""),
                                   LLVMBuildFMul(g->b, coef, grad, ""), "");
    store_f32(g, op->in[1], k.i, v);
    r = LLVMBuildFAdd(g->b, x, v, "");
    break;
  }
  default:
    break;
  }
  store_f32(g, target, k.i, r);
  loop_end(g, &k);
}

/* 1 (i64) if x is not finite: |x| == inf, or x is NaN (unordered) */
static LLVMValueRef not_finite(Gen *g, LLVMValueRef x) {
  LLVMValueRef mag = call_unary(g, "llvm.fabs.f32", g->f32, x);
  LLVMValueRef bad = LLVMBuildFCmp(g->b, LLVMRealUEQ, mag, const_f32(g, INFINITY), "");
  return LLVMBuildZExt(g->b, bad, g->i64, "");
}

/* acc += value (i64, in an entry alloca) */
static void add_to(Gen *g, LLVMValueRef acc, LLVMValueRef value) {
  LLVMBuildStore(g->b, LLVMBuildAdd(g->b, LLVMBuildLoad2(g->b, g->i64, acc, ""), value, ""), acc);
}

/* count_zero:      out[0] = #{k : x[k] == 0}; out[1] (if there: fused) =
 *                  #{k : x[k] not finite}
 * count_nonfinite: out = #{k : x[k] not finite}
 * one pass, counted in i64, stored as float */
/* A count kept in an i64 accumulator, stored as the float a count slot holds. */
static void store_count(Gen *g, int value, LLVMValueRef acc) {
  store_f32(g, value, const_i64(g, 0),
            LLVMBuildUIToFP(g->b, LLVMBuildLoad2(g->b, g->i64, acc, ""), g->f32, ""));
}

static void emit_count(Gen *g, const Op *op) {
  int x = op->in[0];
  int zeros = op->kind == OP_COUNT_ZERO ? op->out[0] : -1;
  int nonfinite = op->kind == OP_COUNT_NONFINITE ? op->out[0] : op->nout > 1 ? op->out[1] : -1;
  LLVMValueRef zero_acc = zeros >= 0 ? entry_alloca(g, g->i64, const_i64(g, 0), "zeros") : NULL;
  LLVMValueRef bad_acc = nonfinite >= 0 ? entry_alloca(g, g->i64, const_i64(g, 0), "nonfinite") : NULL;
  Loop k = loop_begin(g, count_of(g, x), op_name(op->kind));
  LLVMValueRef v = load_f32(g, x, k.i);
  if (zero_acc)
    add_to(g, zero_acc, LLVMBuildZExt(g->b, LLVMBuildFCmp(g->b, LLVMRealOEQ, v, fconst(g, 0.0), ""),
                                      g->i64, ""));
  if (bad_acc)
    add_to(g, bad_acc, not_finite(g, v));
  loop_end(g, &k);
  if (zero_acc)
    store_count(g, zeros, zero_acc);
  if (bad_acc)
    store_count(g, nonfinite, bad_acc);
}

/* l1_penalty: out = (lambda / rows) * sum_k |x[k]|, summed in double
 * l2_penalty: out = lambda / 2 * sum_k w[k]^2, summed in double */
static void emit_reduction(Gen *g, const Op *op) {
  int x = op->in[0], out = op->out[0];
  LLVMValueRef acc = entry_alloca(g, g->f64, LLVMConstReal(g->f64, 0), "acc");
  Loop k = loop_begin(g, count_of(g, x), op_name(op->kind));
  LLVMValueRef v = load_f32(g, x, k.i), sum = LLVMBuildLoad2(g->b, g->f64, acc, "");
  if (op->kind == OP_L1) {
    LLVMValueRef mag = call_unary(g, "llvm.fabs.f32", g->f32, v);
    sum = LLVMBuildFAdd(g->b, sum, LLVMBuildFPExt(g->b, mag, g->f64, ""), "");
  } else {
    LLVMValueRef w = LLVMBuildFPExt(g->b, v, g->f64, "");
    sum = LLVMBuildFAdd(g->b, sum, LLVMBuildFMul(g->b, w, w, ""), "");
  }
  LLVMBuildStore(g->b, sum, acc);
  loop_end(g, &k);
  LLVMValueRef total = LLVMBuildLoad2(g->b, g->f64, acc, "");
  if (op->kind == OP_L2) {
    LLVMValueRef half = LLVMBuildFMul(g->b, hyper_f64(g, HYPER_COEF), LLVMConstReal(g->f64, 0.5), "");
    total = LLVMBuildFMul(g->b, total, half, "");
    total = LLVMBuildFPTrunc(g->b, total, g->f32, "");
  } else {
    LLVMValueRef rows = LLVMBuildSIToFP(g->b, g->rows, g->f64, "");
    total = LLVMBuildFMul(g->b, total, hyper_f64(g, HYPER_COEF), "");
    total = LLVMBuildFPTrunc(g->b, LLVMBuildFDiv(g->b, total, rows, ""), g->f32, "");
  }
  store_f32(g, out, const_i64(g, 0), total);
}

/* db[j] = sum_i dy[i,j]: zero db, then add row by row (unit stride inside) */
static void emit_bias_grad(Gen *g, const Op *op) {
  int dy = op->in[0], db = op->out[0];
  Loop z = loop_begin(g, cols_of(g, db), "bias_grad.zero");
  store_f32(g, db, z.i, const_f32(g, 0.0));
  loop_end(g, &z);
  Loop i = loop_begin(g, rows_of(g, dy), "bias_grad.i");
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, dy), "");
  Loop j = loop_begin(g, cols_of(g, dy), "bias_grad.j");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  store_f32(g, db, j.i, LLVMBuildFAdd(g->b, load_f32(g, db, j.i), load_f32(g, dy, k), ""));
  loop_end(g, &j);
  loop_end(g, &i);
}

static LLVMValueRef label_of_row(Gen *g, int labels, LLVMValueRef i) {
  LLVMValueRef p = LLVMBuildInBoundsGEP2(g->b, g->i32, g->slot[labels], &i, 1, "");
  return LLVMBuildSExt(g->b, LLVMBuildLoad2(g->b, g->i32, p, "label"), g->i64, "");
}

/* Row i of softmax + nll, with m = max_j x[i,j] for stability:
 *   e_j = exp(x[i,j] - m),  s = sum_j e_j,  probs[i,j] = e_j / s
 *   nll_i = -log probs[i,y_i] = log s + m - x[i,y_i]
 * loss = (1/rows) sum_i nll_i, accumulated in double. */
static void emit_softmax_nll(Gen *g, const Op *op) {
  int x = op->in[0], labels = op->in[1], probs = op->out[0], loss = op->out[1];
  LLVMValueRef total = entry_alloca(g, g->f64, LLVMConstReal(g->f64, 0), "nll.total");
  LLVMValueRef max = entry_alloca(g, g->f32, const_f32(g, 0), "max");
  LLVMValueRef sum = entry_alloca(g, g->f32, const_f32(g, 0), "sum");
  Loop i = loop_begin(g, rows_of(g, x), "softmax.i");
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, x), "");
  LLVMBuildStore(g->b, load_f32(g, x, base), max);
  LLVMBuildStore(g->b, const_f32(g, 0), sum);

  Loop j = loop_begin(g, cols_of(g, x), "softmax.max");
  LLVMValueRef v = load_f32(g, x, LLVMBuildNUWAdd(g->b, base, j.i, ""));
  LLVMValueRef m = LLVMBuildLoad2(g->b, g->f32, max, "");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOGT, v, m, ""), v, m, ""),
                 max);
  loop_end(g, &j);
  LLVMValueRef row_max = LLVMBuildLoad2(g->b, g->f32, max, "row.max");

  j = loop_begin(g, cols_of(g, x), "softmax.exp");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  LLVMValueRef e = call_unary(g, "llvm.exp.f32", g->f32,
                                  LLVMBuildFSub(g->b, load_f32(g, x, k), row_max, ""));
  store_f32(g, probs, k, e);
  LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, LLVMBuildLoad2(g->b, g->f32, sum, ""), e, ""), sum);
  loop_end(g, &j);
  LLVMValueRef s = LLVMBuildLoad2(g->b, g->f32, sum, "row.sum");
  LLVMValueRef inv = LLVMBuildFDiv(g->b, const_f32(g, 1.0), s, "");

  j = loop_begin(g, cols_of(g, x), "softmax.norm");
  k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  store_f32(g, probs, k, LLVMBuildFMul(g->b, load_f32(g, probs, k), inv, ""));
  loop_end(g, &j);

  LLVMValueRef target = load_f32(g, x, LLVMBuildNUWAdd(g->b, base, label_of_row(g, labels, i.i), ""));
  LLVMValueRef nll = LLVMBuildFAdd(g->b, call_unary(g, "llvm.log.f32", g->f32, s),
                                   LLVMBuildFSub(g->b, row_max, target, ""), "nll");
  LLVMValueRef acc = LLVMBuildLoad2(g->b, g->f64, total, "");
  LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, acc, LLVMBuildFPExt(g->b, nll, g->f64, ""), ""), total);
  loop_end(g, &i);

  LLVMValueRef mean = LLVMBuildFDiv(g->b, LLVMBuildLoad2(g->b, g->f64, total, ""),
                                    LLVMBuildSIToFP(g->b, g->rows, g->f64, ""), "");
  store_f32(g, loss, const_i64(g, 0), LLVMBuildFPTrunc(g->b, mean, g->f32, ""));
}

/* softmax_nll_grad, sigmoid_ce_grad, squared_error_grad:
 * dx[i,j] = (p[i,j] - t[i,j]) / rows, t one-hot labels or a target tensor */
/* A head's target at element k = (i, j): [j == y_i] for class labels (label
 * already loaded for row i), or t[k] for a float target tensor. */
static LLVMValueRef target_at(Gen *g, int t, LLVMValueRef label, LLVMValueRef j, LLVMValueRef k) {
  if (g->m->values[t].kind != VAL_LABELS)
    return load_f32(g, t, k);
  return LLVMBuildUIToFP(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, j, label, ""), g->f32, "");
}

static LLVMValueRef row_label(Gen *g, int t, LLVMValueRef i) {
  return g->m->values[t].kind == VAL_LABELS ? label_of_row(g, t, i) : NULL;
}

static void emit_onehot_grad(Gen *g, const Op *op) {
  int probs = op->in[0], labels = op->in[1], dx = op->out[0];
  LLVMValueRef inv_rows = LLVMBuildFDiv(g->b, const_f32(g, 1.0),
                                        LLVMBuildSIToFP(g->b, g->rows, g->f32, ""), "");
  Loop i = loop_begin(g, rows_of(g, probs), "target_grad.i");
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, probs), "");
  LLVMValueRef label = row_label(g, labels, i.i);
  Loop j = loop_begin(g, cols_of(g, probs), "target_grad.j");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  LLVMValueRef hot = target_at(g, labels, label, j.i, k);
  LLVMValueRef d = LLVMBuildFSub(g->b, load_f32(g, probs, k), hot, "");
  store_f32(g, dx, k, LLVMBuildFMul(g->b, d, inv_rows, ""));
  loop_end(g, &j);
  loop_end(g, &i);
}

/* For each element, with t = [j == y_i] or the target tensor's element:
 *   sigmoid_ce:     probs = sigmoid(z);  loss += softplus(z) - t z
 *                   (= -t log p - (1-t) log(1-p), stable for any z)
 *   squared_error:  loss += (z - t)^2 / 2
 * loss = total / rows, accumulated in double. */
static void emit_onehot_loss(Gen *g, const Op *op) {
  int z = op->in[0], labels = op->in[1], loss = op->out[op->nout - 1];
  LLVMValueRef total = entry_alloca(g, g->f64, LLVMConstReal(g->f64, 0), "loss.total");
  Loop i = loop_begin(g, rows_of(g, z), op_name(op->kind));
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, z), "");
  LLVMValueRef label = row_label(g, labels, i.i);
  Loop j = loop_begin(g, cols_of(g, z), "j");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  LLVMValueRef v = load_f32(g, z, k);
  LLVMValueRef t = target_at(g, labels, label, j.i, k);
  LLVMValueRef term;
  if (op->kind == OP_SIGMOID_CE) {
    store_f32(g, op->out[0], k, emit_activation(g, ACT_SIGMOID, v, NULL));
    LLVMValueRef softplus = emit_activation(g, ACT_SOFTPLUS, v, NULL);
    term = LLVMBuildFSub(g->b, softplus, LLVMBuildFMul(g->b, t, v, ""), "");
  } else {
    LLVMValueRef d = LLVMBuildFSub(g->b, v, t, "");
    term = LLVMBuildFMul(g->b, fconst(g, 0.5), LLVMBuildFMul(g->b, d, d, ""), "");
  }
  LLVMValueRef acc = LLVMBuildLoad2(g->b, g->f64, total, "");
  LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, acc, LLVMBuildFPExt(g->b, term, g->f64, ""), ""), total);
  loop_end(g, &j);
  loop_end(g, &i);
  LLVMValueRef mean = LLVMBuildFDiv(g->b, LLVMBuildLoad2(g->b, g->f64, total, ""),
                                    LLVMBuildSIToFP(g->b, g->rows, g->f64, ""), "");
  store_f32(g, loss, const_i64(g, 0), LLVMBuildFPTrunc(g->b, mean, g->f32, ""));
}

/* bias_act: one pass over the layer's output:
 *   h = act(z + b);  pen = coef/rows * sum |h| (double);  zeros = #{h == 0};
 *   nonfinite = #{z + b not finite} */
static void emit_bias_act(Gen *g, const Op *op) {
  int z = op->in[0], bias = op->in[1], h = op->out[0], pen = op->out[1], zeros = op->out[2];
  int nonfinite = op->nout > 3 ? op->out[3] : -1;
  LLVMValueRef abs_sum = pen >= 0 ? entry_alloca(g, g->f64, LLVMConstReal(g->f64, 0), "abs") : NULL;
  LLVMValueRef count = zeros >= 0 ? entry_alloca(g, g->i64, const_i64(g, 0), "zeros") : NULL;
  LLVMValueRef bad = nonfinite >= 0 ? entry_alloca(g, g->i64, const_i64(g, 0), "nonfinite") : NULL;
  LLVMValueRef param = act_param(g, op);
  Loop i = loop_begin(g, rows_of(g, h), "bias_act.i");
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, h), "");
  Loop j = loop_begin(g, cols_of(g, h), "bias_act.j");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  LLVMValueRef pre = LLVMBuildFAdd(g->b, load_f32(g, z, k), load_f32(g, bias, j.i), "");
  LLVMValueRef v = emit_activation(g, op->act, pre, param);
  store_f32(g, h, k, v);
  if (abs_sum) {
    LLVMValueRef mag = LLVMBuildFPExt(g->b, call_unary(g, "llvm.fabs.f32", g->f32, v), g->f64, "");
    LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, LLVMBuildLoad2(g->b, g->f64, abs_sum, ""), mag, ""), abs_sum);
  }
  if (count) {
    LLVMValueRef is_zero = LLVMBuildZExt(g->b, LLVMBuildFCmp(g->b, LLVMRealOEQ, v, fconst(g, 0.0), ""), g->i64, "");
    add_to(g, count, is_zero);
  }
  if (bad) /* before the activation: a relu turns a NaN into 0 */
    add_to(g, bad, not_finite(g, pre));
  loop_end(g, &j);
  loop_end(g, &i);
  if (abs_sum) {
    LLVMValueRef rows = LLVMBuildSIToFP(g->b, g->rows, g->f64, "");
    LLVMValueRef total = LLVMBuildFMul(g->b, LLVMBuildLoad2(g->b, g->f64, abs_sum, ""),
                                       hyper_f64(g, HYPER_COEF), "");
    total = LLVMBuildFPTrunc(g->b, LLVMBuildFDiv(g->b, total, rows, ""), g->f32, "");
    store_f32(g, pen, const_i64(g, 0), total);
  }
  if (count)
    store_count(g, zeros, count);
  if (bad)
    store_count(g, nonfinite, bad);
}

/* bias_act_grad: one pass over the layer's gradient:
 *   da = (dy + coef/rows * sign(h)) * act'(h);   db[j] = sum_i da[i,j]
 * (for relu act'(h) is the mask [h > 0], applied as a select) */
static void emit_bias_act_grad(Gen *g, const Op *op) {
  int dy = op->in[0], h = op->in[1], da = op->out[0], db = op->out[1];
  LLVMValueRef scale = op->coef != 0 ? inv_rows_times(g, hyper_f32(g, HYPER_COEF)) : NULL;
  LLVMValueRef param = act_param(g, op);
  Loop z = loop_begin(g, cols_of(g, db), "bias_act_grad.zero");
  store_f32(g, db, z.i, fconst(g, 0.0));
  loop_end(g, &z);
  Loop i = loop_begin(g, rows_of(g, da), "bias_act_grad.i");
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, da), "");
  Loop j = loop_begin(g, cols_of(g, da), "bias_act_grad.j");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  LLVMValueRef hv = load_f32(g, h, k), gv = load_f32(g, dy, k);
  if (scale)
    gv = LLVMBuildFAdd(g->b, gv, times_sign(g, scale, hv), "");
  LLVMValueRef d = emit_activation_backward(g, op->act, gv, hv, param);
  store_f32(g, da, k, d);
  store_f32(g, db, j.i, LLVMBuildFAdd(g->b, load_f32(g, db, j.i), d, ""));
  loop_end(g, &j);
  loop_end(g, &i);
}

/* max_abs: out = max_k |x[k]| */
static void emit_max_abs(Gen *g, const Op *op) {
  int x = op->in[0];
  LLVMValueRef acc = entry_alloca(g, g->f32, fconst(g, 0.0), "max");
  Loop k = loop_begin(g, count_of(g, x), "max_abs");
  LLVMValueRef a = call_unary(g, "llvm.fabs.f32", g->f32, load_f32(g, x, k.i));
  LLVMValueRef m = LLVMBuildLoad2(g->b, g->f32, acc, "");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOGT, a, m, ""), a, m, ""), acc);
  loop_end(g, &k);
  store_f32(g, op->out[0], const_i64(g, 0), LLVMBuildLoad2(g->b, g->f32, acc, ""));
}

/* div_scalar: out = s != 0 ? x / s : 0 */
static void emit_div_scalar(Gen *g, const Op *op) {
  int x = op->in[0];
  LLVMValueRef s = load_f32(g, op->in[1], const_i64(g, 0));
  LLVMValueRef nonzero = LLVMBuildFCmp(g->b, LLVMRealONE, s, fconst(g, 0.0), "");
  Loop k = loop_begin(g, count_of(g, x), "div_scalar");
  LLVMValueRef q = LLVMBuildFDiv(g->b, load_f32(g, x, k.i), s, "");
  store_f32(g, op->out[0], k.i, LLVMBuildSelect(g->b, nonzero, q, fconst(g, 0.0), ""));
  loop_end(g, &k);
}

static LLVMValueRef u64c(Gen *g, unsigned long long v) {
  return LLVMConstInt(g->i64, v, 0);
}

/* splitmix64's finaliser */
static LLVMValueRef mix64(Gen *g, LLVMValueRef z) {
  z = LLVMBuildMul(g->b, LLVMBuildXor(g->b, z, LLVMBuildLShr(g->b, z, u64c(g, 30), ""), ""),
                   u64c(g, 0xBF58476D1CE4E5B9ull), "");
  z = LLVMBuildMul(g->b, LLVMBuildXor(g->b, z, LLVMBuildLShr(g->b, z, u64c(g, 27), ""), ""),
                   u64c(g, 0x94D049BB133111EBull), "");
  return LLVMBuildXor(g->b, z, LLVMBuildLShr(g->b, z, u64c(g, 31), ""), "");
}

static LLVMValueRef bits_to_unit(Gen *g, LLVMValueRef bits24) {
  return LLVMBuildFMul(g->b, LLVMBuildUIToFP(g->b, bits24, g->f32, ""), fconst(g, 0x1p-24), "");
}

static LLVMValueRef load_counter(Gen *g, int slot) {
  LLVMValueRef zero = const_i64(g, 0);
  LLVMValueRef p = LLVMBuildInBoundsGEP2(g->b, g->i32, g->slot[slot], &zero, 1, "");
  return LLVMBuildLoad2(g->b, g->i32, p, "step");
}

/* noise, with the generator of ir/interp.c (docs/ir.md), per element k:
 *   z = mix64((step << 32 | k) + seed * 0x9E3779B97F4A7C15)
 *   u = (z >> 40) 2^-24;  u2 = ((z >> 16) & 0xffffff) 2^-24
 *   masking u < p ? 0 : x;  salt_pepper u < p ? (z & 1) : x;
 *   gaussian x + sigma sqrt(-2 ln(1 - u)) cos(2 pi u2) */
static void emit_noise(Gen *g, const Op *op) {
  int x = op->in[0];
  LLVMValueRef step = LLVMBuildShl(g->b, LLVMBuildZExt(g->b, load_counter(g, op->in[1]), g->i64, ""),
                                   u64c(g, 32), "");
  LLVMValueRef salt = u64c(g, (unsigned long long)(uint32_t)op->coef2 * 0x9E3779B97F4A7C15ull);
  LLVMValueRef p = fconst(g, op->coef);
  Loop k = loop_begin(g, count_of(g, x), "noise");
  LLVMValueRef index = LLVMBuildAnd(g->b, k.i, u64c(g, 0xffffffffull), "");
  LLVMValueRef z = mix64(g, LLVMBuildAdd(g->b, LLVMBuildOr(g->b, step, index, ""), salt, ""));
  LLVMValueRef u = bits_to_unit(g, LLVMBuildLShr(g->b, z, u64c(g, 40), ""));
  LLVMValueRef v = load_f32(g, x, k.i), r;
  LLVMValueRef hit = LLVMBuildFCmp(g->b, LLVMRealOLT, u, p, "");
  if (op->noise == NOISE_MASKING) {
    r = LLVMBuildSelect(g->b, hit, fconst(g, 0.0), v, "");
  } else if (op->noise == NOISE_SALT_PEPPER) {
    LLVMValueRef bit = LLVMBuildUIToFP(g->b, LLVMBuildAnd(g->b, z, u64c(g, 1), ""), g->f32, "");
    r = LLVMBuildSelect(g->b, hit, bit, v, "");
  } else {
    LLVMValueRef u2 = bits_to_unit(
        g, LLVMBuildAnd(g->b, LLVMBuildLShr(g->b, z, u64c(g, 16), ""), u64c(g, 0xffffff), ""));
    LLVMValueRef ln = call_unary(g, "llvm.log.f32", g->f32, LLVMBuildFSub(g->b, fconst(g, 1.0), u, ""));
    LLVMValueRef radius = call_unary(g, "llvm.sqrt.f32", g->f32, LLVMBuildFMul(g->b, fconst(g, -2.0), ln, ""));
    LLVMValueRef angle = call_unary(g, "llvm.cos.f32", g->f32,
                                    LLVMBuildFMul(g->b, fconst(g, 6.28318530718), u2, ""));
    r = LLVMBuildFAdd(g->b, v, LLVMBuildFMul(g->b, p, LLVMBuildFMul(g->b, radius, angle, ""), ""), "");
  }
  store_f32(g, op->out[0], k.i, r);
  loop_end(g, &k);
}

/* step: counter += 1 (a uint32 in a state slot) */
static void emit_step(Gen *g, const Op *op) {
  LLVMValueRef zero = const_i64(g, 0);
  LLVMValueRef p = LLVMBuildInBoundsGEP2(g->b, g->i32, g->slot[op->in[0]], &zero, 1, "");
  LLVMValueRef next = LLVMBuildAdd(g->b, LLVMBuildLoad2(g->b, g->i32, p, ""), LLVMConstInt(g->i32, 1, 0), "");
  LLVMBuildStore(g->b, next, p);
}

/* grad_ready g: sr_grad_ready(slot of g). The runtime may start averaging
 * g across ranks while the rest of the backward pass runs; a no-op
 * unless an overlapped exchange is under way (runtime/dist_exchange.c). */
static void emit_grad_ready(Gen *g, const Op *op) {
  LLVMTypeRef type = LLVMFunctionType(g->void_t, &g->i32, 1, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, "sr_grad_ready");
  if (!fn)
    fn = LLVMAddFunction(g->mod, "sr_grad_ready", type);
  LLVMValueRef slot = i32c(g, op->in[0]);
  LLVMBuildCall2(g->b, type, fn, &slot, 1, "");
}

void emit_op(Gen *g, const Op *op) {
  switch (op->kind) {
  case OP_MATMUL:
  case OP_MATMUL_SGD: emit_matmul(g, op); break;
  case OP_BIAS_ADD:
  case OP_SCALE_COLS: emit_row_broadcast(g, op); break;
  case OP_SOFTMAX_NLL: emit_softmax_nll(g, op); break;
  case OP_SIGMOID_CE:
  case OP_SQUARED_ERROR: emit_onehot_loss(g, op); break;
  case OP_SOFTMAX_NLL_GRAD:
  case OP_SIGMOID_CE_GRAD:
  case OP_SQUARED_ERROR_GRAD: emit_onehot_grad(g, op); break;
  case OP_L1:
  case OP_L2: emit_reduction(g, op); break;
  case OP_COUNT_ZERO:
  case OP_COUNT_NONFINITE: emit_count(g, op); break;
  case OP_BIAS_GRAD: emit_bias_grad(g, op); break;
  case OP_BIAS_ACT: emit_bias_act(g, op); break;
  case OP_MAX_ABS: emit_max_abs(g, op); break;
  case OP_DIV_SCALAR: emit_div_scalar(g, op); break;
  case OP_NOISE: emit_noise(g, op); break;
  case OP_STEP: emit_step(g, op); break;
  case OP_GRAD_READY: emit_grad_ready(g, op); break;
  case OP_BIAS_ACT_GRAD: emit_bias_act_grad(g, op); break;
  case OP_ACTIVE_UNITS: emit_active_units(g, op); break;
  case OP_SPARSE_MATMUL: emit_sparse_matmul(g, op); break;
  case OP_SPARSE_BACKWARD_SGD: emit_sparse_backward(g, op); break;
  case OP_ACT:
  case OP_ACT_GRAD:
  case OP_ADD:
  case OP_L1_GRAD:
  case OP_L2_GRAD:
  case OP_SGD_UPDATE:
  case OP_MOMENTUM_UPDATE: emit_elementwise(g, op); break;
  case OP_COUNT_: break;
  }
}
