/* One LLVM IR emitter per op. Each states its maths in the comment above it,
 * the same maths as ir/interp.c, which is the oracle these are tested
 * against. Loops over whole tensors are flat (k < rows*cols) so that the
 * vectoriser sees one simple loop; dense products call cblas_sgemm. */
#include "gen.h"

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

static LLVMValueRef to_i32(Gen *g, LLVMValueRef v) {
  return LLVMBuildTrunc(g->b, v, g->i32, "");
}

static LLVMValueRef i32c(Gen *g, int v) {
  return LLVMConstInt(g->i32, (unsigned)v, 1);
}

/* out = op(a) op(b), by cblas_sgemm(RowMajor, ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N) */
static void emit_matmul(Gen *g, const Op *op) {
  int a = op->in[0], b = op->in[1], out = op->out[0];
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
      const_f32(g, 1.0),
      g->slot[a],
      to_i32(g, cols_of(g, a)),
      g->slot[b],
      to_i32(g, cols_of(g, b)),
      const_f32(g, 0.0),
      g->slot[out],
      to_i32(g, cols_of(g, out)),
  };
  LLVMBuildCall2(g->b, type, fn, vals, 14, "");
}

/* out[i,j] = x[i,j] + b[j] */
static void emit_bias_add(Gen *g, const Op *op) {
  int x = op->in[0], bias = op->in[1], out = op->out[0];
  Loop i = loop_begin(g, rows_of(g, out), "bias_add.i");
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, out), "");
  Loop j = loop_begin(g, cols_of(g, out), "bias_add.j");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  store_f32(g, out, k, LLVMBuildFAdd(g->b, load_f32(g, x, k), load_f32(g, bias, j.i), ""));
  loop_end(g, &j);
  loop_end(g, &i);
}

static LLVMValueRef positive(Gen *g, LLVMValueRef x) {
  return LLVMBuildFCmp(g->b, LLVMRealOGT, x, const_f32(g, 0.0), "");
}

/* The elementwise ops, over k < rows*cols:
 *   relu        out = x > 0 ? x : 0            (max(x, 0))
 *   relu_grad   out = y > 0 ? dy : 0           (dy * [y > 0])
 *   add         out = a + b
 *   l1_grad     out = s * sign(x), s = lambda / rows
 *   sgd_update  p = p - lr * g                 (in place) */
static void emit_elementwise(Gen *g, const Op *op) {
  int a = op->in[0];
  int target = op->nout ? op->out[0] : a;
  LLVMValueRef scale = NULL;
  if (op->kind == OP_L1_GRAD)
    scale = LLVMBuildFDiv(g->b, const_f32(g, op->coef),
                          LLVMBuildSIToFP(g->b, g->rows, g->f32, ""), "l1.scale");
  Loop k = loop_begin(g, count_of(g, a), op_name(op->kind));
  LLVMValueRef x = load_f32(g, a, k.i), r = NULL, zero = const_f32(g, 0.0);
  LLVMValueRef y = op->nin > 1 ? load_f32(g, op->in[1], k.i) : NULL;
  switch (op->kind) {
  case OP_RELU:
    r = LLVMBuildSelect(g->b, positive(g, x), x, zero, "");
    break;
  case OP_RELU_GRAD:
    r = LLVMBuildSelect(g->b, positive(g, y), x, zero, "");
    break;
  case OP_ADD:
    r = LLVMBuildFAdd(g->b, x, y, "");
    break;
  case OP_L1_GRAD: {
    LLVMValueRef negative = LLVMBuildFCmp(g->b, LLVMRealOLT, x, zero, "");
    r = LLVMBuildSelect(g->b, negative, LLVMBuildFNeg(g->b, scale, ""), zero, "");
    r = LLVMBuildSelect(g->b, positive(g, x), scale, r, "");
    break;
  }
  case OP_SGD_UPDATE:
    r = LLVMBuildFSub(g->b, x, LLVMBuildFMul(g->b, const_f32(g, op->coef), y, ""), "");
    break;
  default:
    break;
  }
  store_f32(g, target, k.i, r);
  loop_end(g, &k);
}

/* count_zero: out = #{k : x[k] == 0}, counted in i64 then stored as float
 * l1_penalty: out = (lambda / rows) * sum_k |x[k]|, summed in double */
static void emit_reduction(Gen *g, const Op *op) {
  int x = op->in[0], out = op->out[0];
  int zeros = op->kind == OP_COUNT_ZERO;
  LLVMTypeRef acc_type = zeros ? g->i64 : g->f64;
  LLVMValueRef acc = entry_alloca(g, acc_type, LLVMConstNull(acc_type), "acc");
  Loop k = loop_begin(g, count_of(g, x), op_name(op->kind));
  LLVMValueRef v = load_f32(g, x, k.i), sum = LLVMBuildLoad2(g->b, acc_type, acc, "");
  if (zeros) {
    LLVMValueRef is_zero = LLVMBuildFCmp(g->b, LLVMRealOEQ, v, const_f32(g, 0.0), "");
    sum = LLVMBuildAdd(g->b, sum, LLVMBuildZExt(g->b, is_zero, g->i64, ""), "");
  } else {
    LLVMValueRef mag = call_intrinsic(g, "llvm.fabs.f32", g->f32, v);
    sum = LLVMBuildFAdd(g->b, sum, LLVMBuildFPExt(g->b, mag, g->f64, ""), "");
  }
  LLVMBuildStore(g->b, sum, acc);
  loop_end(g, &k);
  LLVMValueRef total = LLVMBuildLoad2(g->b, acc_type, acc, "");
  if (zeros) {
    total = LLVMBuildUIToFP(g->b, total, g->f32, "");
  } else {
    LLVMValueRef rows = LLVMBuildSIToFP(g->b, g->rows, g->f64, "");
    total = LLVMBuildFMul(g->b, total, LLVMConstReal(g->f64, op->coef), "");
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
  LLVMValueRef e = call_intrinsic(g, "llvm.exp.f32", g->f32,
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
  LLVMValueRef nll = LLVMBuildFAdd(g->b, call_intrinsic(g, "llvm.log.f32", g->f32, s),
                                   LLVMBuildFSub(g->b, row_max, target, ""), "nll");
  LLVMValueRef acc = LLVMBuildLoad2(g->b, g->f64, total, "");
  LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, acc, LLVMBuildFPExt(g->b, nll, g->f64, ""), ""), total);
  loop_end(g, &i);

  LLVMValueRef mean = LLVMBuildFDiv(g->b, LLVMBuildLoad2(g->b, g->f64, total, ""),
                                    LLVMBuildSIToFP(g->b, g->rows, g->f64, ""), "");
  store_f32(g, loss, const_i64(g, 0), LLVMBuildFPTrunc(g->b, mean, g->f32, ""));
}

/* dx[i,j] = (probs[i,j] - [j == y_i]) / rows */
static void emit_softmax_nll_grad(Gen *g, const Op *op) {
  int probs = op->in[0], labels = op->in[1], dx = op->out[0];
  LLVMValueRef inv_rows = LLVMBuildFDiv(g->b, const_f32(g, 1.0),
                                        LLVMBuildSIToFP(g->b, g->rows, g->f32, ""), "");
  Loop i = loop_begin(g, rows_of(g, probs), "nll_grad.i");
  LLVMValueRef base = LLVMBuildNUWMul(g->b, i.i, cols_of(g, probs), "");
  LLVMValueRef label = label_of_row(g, labels, i.i);
  Loop j = loop_begin(g, cols_of(g, probs), "nll_grad.j");
  LLVMValueRef k = LLVMBuildNUWAdd(g->b, base, j.i, "");
  LLVMValueRef hot = LLVMBuildUIToFP(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, j.i, label, ""), g->f32, "");
  LLVMValueRef d = LLVMBuildFSub(g->b, load_f32(g, probs, k), hot, "");
  store_f32(g, dx, k, LLVMBuildFMul(g->b, d, inv_rows, ""));
  loop_end(g, &j);
  loop_end(g, &i);
}

void emit_op(Gen *g, const Op *op) {
  switch (op->kind) {
  case OP_MATMUL: emit_matmul(g, op); break;
  case OP_BIAS_ADD: emit_bias_add(g, op); break;
  case OP_SOFTMAX_NLL: emit_softmax_nll(g, op); break;
  case OP_SOFTMAX_NLL_GRAD: emit_softmax_nll_grad(g, op); break;
  case OP_L1:
  case OP_COUNT_ZERO: emit_reduction(g, op); break;
  case OP_BIAS_GRAD: emit_bias_grad(g, op); break;
  default: emit_elementwise(g, op); break;
  }
}
