/* activations.c: each activation's maths for the reference interpreter,
 * forward and backward side by side (the LLVM code of the same maths is
 * backend/activations.c; the list is frontend/activations.def).
 *
 * Backward takes dy and v, where v is the activation's output y, or its
 * input x for the ACT_GRAD_FROM_X ones, and returns dx = dy * act'(x):
 * a derivative written in terms of y lets the pre-activation go unstored
 * (ir/passes/fuse_relu.c). `a` is the activation's parameter. */
#include <math.h>

#include "ir.h"

/* relu: y = max(x, 0); y' = [y > 0]. A select, not dy * [y > 0]: where the
 * unit is off, dy may be inf and 0 * inf would be NaN. */
static double act_RELU_forward(double x, double a) {
  (void)a;
  return x > 0 ? x : 0;
}
static double act_RELU_backward(double dy, double y, double a) {
  (void)a;
  return y > 0 ? dy : 0;
}

/* tanh: y = tanh(x); y' = 1 - y^2 */
static double act_TANH_forward(double x, double a) {
  (void)a;
  return tanh(x);
}
static double act_TANH_backward(double dy, double y, double a) {
  (void)a;
  return dy * (1 - y * y);
}

/* softplus: y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|) (no overflow, and
 * the small values of very negative x kept); y' = sigmoid(x) = 1 - e^-y */
static double act_SOFTPLUS_forward(double x, double a) {
  (void)a;
  return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}
static double act_SOFTPLUS_backward(double dy, double y, double a) {
  (void)a;
  return dy * -expm1(-y);
}

/* sigmoid: y = 1 / (1 + e^-x); y' = y (1 - y) */
static double act_SIGMOID_forward(double x, double a) {
  (void)a;
  return 1 / (1 + exp(-x));
}
static double act_SIGMOID_backward(double dy, double y, double a) {
  (void)a;
  return dy * y * (1 - y);
}

/* linear: y = x; y' = 1 (never an op: ACT_IDENTITY; bias_act may carry it) */
static double act_LINEAR_forward(double x, double a) {
  (void)a;
  return x;
}
static double act_LINEAR_backward(double dy, double y, double a) {
  (void)y, (void)a;
  return dy;
}

/* leaky_relu(a), 0 <= a < 1: y = x > 0 ? x : a x; y' = y > 0 ? 1 : a (the
 * sign of y is that of x). Its zeros are not exact: the sparse passes leave
 * it dense. */
static double act_LEAKY_RELU_forward(double x, double a) {
  return x > 0 ? x : a * x;
}
static double act_LEAKY_RELU_backward(double dy, double y, double a) {
  return y > 0 ? dy : a * dy;
}

/* abs (absolute-value rectification): y = |x|; y' = sign(x), which y does
 * not determine: v is x (ACT_GRAD_FROM_X). sign(0) = 0. */
static double act_ABS_forward(double x, double a) {
  (void)a;
  return fabs(x);
}
static double act_ABS_backward(double dy, double x, double a) {
  (void)a;
  return x > 0 ? dy : x < 0 ? -dy : 0;
}

/* softmax is the output head's (OP_SOFTMAX_NLL): no elementwise maths */
#define act_SOFTMAX_forward NULL
#define act_SOFTMAX_backward NULL

typedef struct Maths {
  double (*forward)(double x, double a);
  double (*backward)(double dy, double v, double a);
} Maths;

static const Maths maths[ACT_COUNT_] = {
#define ACT(id, keyword, parameter, lo, hi, flags) \
  [ACT_##id] = {act_##id##_forward, act_##id##_backward},
#include "activations.def"
#undef ACT
};

int act_has_maths(Activation act) {
  return (unsigned)act < ACT_COUNT_ && maths[act].forward && maths[act].backward;
}

double act_forward(Activation act, double x, double a) {
  return maths[act].forward(x, a);
}

double act_backward(Activation act, double dy, double v, double a) {
  return maths[act].backward(dy, v, a);
}
