/* activations.c: each activation's maths as LLVM code, forward and backward
 * side by side (the interpreter's is ir/activations.c, the list
 * frontend/activations.def). x is the pre-activation, y the output, dy the
 * gradient reaching y, v = y, or x for the ACT_GRAD_FROM_X ones; a is the
 * activation's parameter (read from the hyperparameter table), NULL for
 * those that take none. Everything is float. */
#include "gen.h"

static LLVMValueRef fconst(Gen *g, double v) {
  return const_f32(g, v);
}

static LLVMValueRef positive(Gen *g, LLVMValueRef x) {
  return LLVMBuildFCmp(g->b, LLVMRealOGT, x, fconst(g, 0.0), "");
}

/* relu: y = max(x, 0); dx = y > 0 ? dy : 0. A select, not dy * [y > 0]:
 * where the unit is off, dy may be inf and 0 * inf would be NaN. */
static LLVMValueRef emit_RELU_forward(Gen *g, LLVMValueRef x, LLVMValueRef a) {
  (void)a;
  return LLVMBuildSelect(g->b, positive(g, x), x, fconst(g, 0.0), "");
}
static LLVMValueRef emit_RELU_backward(Gen *g, LLVMValueRef dy, LLVMValueRef y, LLVMValueRef a) {
  (void)a;
  return LLVMBuildSelect(g->b, positive(g, y), dy, fconst(g, 0.0), "");
}

/* tanh: y = tanh(x); dx = dy (1 - y^2) */
static LLVMValueRef emit_TANH_forward(Gen *g, LLVMValueRef x, LLVMValueRef a) {
  (void)a;
  return call_unary(g, "tanhf", g->f32, x);
}
static LLVMValueRef emit_TANH_backward(Gen *g, LLVMValueRef dy, LLVMValueRef y, LLVMValueRef a) {
  (void)a;
  LLVMValueRef d = LLVMBuildFSub(g->b, fconst(g, 1.0), LLVMBuildFMul(g->b, y, y, ""), "");
  return LLVMBuildFMul(g->b, dy, d, "");
}

/* softplus: y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), which neither
 * overflows nor loses the small values of very negative x;
 * dx = dy sigmoid(x) = dy (1 - e^-y) = dy * -expm1(-y) */
static LLVMValueRef emit_SOFTPLUS_forward(Gen *g, LLVMValueRef x, LLVMValueRef a) {
  (void)a;
  LLVMValueRef ax = call_unary(g, "llvm.fabs.f32", g->f32, x);
  LLVMValueRef e = call_unary(g, "llvm.exp.f32", g->f32, LLVMBuildFNeg(g->b, ax, ""));
  LLVMValueRef pos = LLVMBuildSelect(g->b, positive(g, x), x, fconst(g, 0.0), "");
  return LLVMBuildFAdd(g->b, pos, call_unary(g, "log1pf", g->f32, e), "");
}
static LLVMValueRef emit_SOFTPLUS_backward(Gen *g, LLVMValueRef dy, LLVMValueRef y,
                                           LLVMValueRef a) {
  (void)a;
  LLVMValueRef d = LLVMBuildFNeg(g->b, call_unary(g, "expm1f", g->f32, LLVMBuildFNeg(g->b, y, "")), "");
  return LLVMBuildFMul(g->b, dy, d, "");
}

/* sigmoid: y = 1 / (1 + e^-x); dx = dy y (1 - y) */
static LLVMValueRef emit_SIGMOID_forward(Gen *g, LLVMValueRef x, LLVMValueRef a) {
  (void)a;
  LLVMValueRef e = call_unary(g, "llvm.exp.f32", g->f32, LLVMBuildFNeg(g->b, x, ""));
  return LLVMBuildFDiv(g->b, fconst(g, 1.0), LLVMBuildFAdd(g->b, fconst(g, 1.0), e, ""), "");
}
static LLVMValueRef emit_SIGMOID_backward(Gen *g, LLVMValueRef dy, LLVMValueRef y,
                                          LLVMValueRef a) {
  (void)a;
  LLVMValueRef d = LLVMBuildFMul(g->b, y, LLVMBuildFSub(g->b, fconst(g, 1.0), y, ""), "");
  return LLVMBuildFMul(g->b, dy, d, "");
}

/* linear: y = x; dx = dy */
static LLVMValueRef emit_LINEAR_forward(Gen *g, LLVMValueRef x, LLVMValueRef a) {
  (void)g, (void)a;
  return x;
}
static LLVMValueRef emit_LINEAR_backward(Gen *g, LLVMValueRef dy, LLVMValueRef y,
                                         LLVMValueRef a) {
  (void)g, (void)y, (void)a;
  return dy;
}

/* leaky_relu(a): y = x > 0 ? x : a x; dx = y > 0 ? dy : a dy */
static LLVMValueRef emit_LEAKY_RELU_forward(Gen *g, LLVMValueRef x, LLVMValueRef a) {
  return LLVMBuildSelect(g->b, positive(g, x), x, LLVMBuildFMul(g->b, a, x, ""), "");
}
static LLVMValueRef emit_LEAKY_RELU_backward(Gen *g, LLVMValueRef dy, LLVMValueRef y,
                                             LLVMValueRef a) {
  return LLVMBuildSelect(g->b, positive(g, y), dy, LLVMBuildFMul(g->b, a, dy, ""), "");
}

/* abs: y = |x|; dx = dy sign(x) (v is x), 0 at x = 0 */
static LLVMValueRef emit_ABS_forward(Gen *g, LLVMValueRef x, LLVMValueRef a) {
  (void)a;
  return call_unary(g, "llvm.fabs.f32", g->f32, x);
}
static LLVMValueRef emit_ABS_backward(Gen *g, LLVMValueRef dy, LLVMValueRef x, LLVMValueRef a) {
  (void)a;
  LLVMValueRef negative = LLVMBuildFCmp(g->b, LLVMRealOLT, x, fconst(g, 0.0), "");
  LLVMValueRef off = LLVMBuildSelect(g->b, negative, LLVMBuildFNeg(g->b, dy, ""), fconst(g, 0.0), "");
  return LLVMBuildSelect(g->b, positive(g, x), dy, off, "");
}

/* softmax is the output head's (OP_SOFTMAX_NLL in kernels.c) */
#define emit_SOFTMAX_forward NULL
#define emit_SOFTMAX_backward NULL

typedef struct Emit {
  LLVMValueRef (*forward)(Gen *g, LLVMValueRef x, LLVMValueRef a);
  LLVMValueRef (*backward)(Gen *g, LLVMValueRef dy, LLVMValueRef v, LLVMValueRef a);
} Emit;

static const Emit emit[ACT_COUNT_] = {
#define ACT(id, keyword, parameter, lo, hi, flags) \
  [ACT_##id] = {emit_##id##_forward, emit_##id##_backward},
#include "activations.def"
#undef ACT
};

LLVMValueRef emit_activation(Gen *g, Activation act, LLVMValueRef x, LLVMValueRef a) {
  return emit[act].forward(g, x, a);
}

LLVMValueRef emit_activation_backward(Gen *g, Activation act, LLVMValueRef dy, LLVMValueRef v,
                                      LLVMValueRef a) {
  return emit[act].backward(g, dy, v, a);
}

int backend_has_activation(Activation act) {
  return (unsigned)act < ACT_COUNT_ && emit[act].forward && emit[act].backward;
}
