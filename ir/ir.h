/* ir: a small typed tensor IR, the programs derived from a spec, and the
 * reference interpreter that is the oracle for generated code.
 *
 *   ir.c        values, ops, programs: construction and lookup
 *   build.c     checked Spec -> forward program + loss terms
 *   autodiff.c  forward program -> training step (forward, backward, SGD)
 *   verify.c    shape and use-before-definition checks
 *   print.c     the textual form (docs/ir.md)
 *   interp.c    reference interpreter in plain C
 *   passes/     one optimisation pass per file (dce.c)
 *
 * Every value is a 2-D tensor: rows x cols floats, where rows is either a
 * constant or the batch size (ROWS_BATCH), known only when a program runs.
 * Labels are a rows x 1 tensor of int32. A module holds the values of all its
 * programs, so the training step and the inference function share parameters
 * and slot numbers: value id == slot number in the runtime ABI.
 */
#ifndef SPARSEC_IR_H
#define SPARSEC_IR_H

#include "frontend.h"

#define ROWS_BATCH (-1)

typedef enum ValueKind {
  VAL_INPUT,   /* batch features */
  VAL_LABELS,  /* batch class labels, int32 */
  VAL_PARAM,   /* trained parameter */
  VAL_TEMP,    /* computed by an op */
} ValueKind;

typedef enum ParamInit {
  INIT_ZERO,
  INIT_GLOROT_UNIFORM,
} ParamInit;

typedef struct Value {
  char *name;
  ValueKind kind;
  int rows;            /* ROWS_BATCH or a constant */
  int cols;
  ParamInit init;      /* params */
  int fan_in, fan_out; /* params */
} Value;

/* Each op's maths is written next to its code in interp.c and in
 * backend/kernels.c; docs/ir.md has the table. */
typedef enum OpKind {
  OP_MATMUL,           /* out = op(a) op(b); op(t) = t or t^T by the flags */
  OP_BIAS_ADD,         /* out[i,j] = x[i,j] + b[0,j] */
  OP_RELU,             /* out = max(x, 0) */
  OP_SOFTMAX_NLL,      /* probs = softmax(logits) by row; loss = mean_i -log probs[i, y_i] */
  OP_L1,               /* loss = coef * (1/rows) * sum |x| */
  OP_COUNT_ZERO,       /* out = number of x[i,j] == 0 */
  OP_ADD,              /* out = a + b, same shapes */
  OP_SOFTMAX_NLL_GRAD, /* dlogits = (probs - onehot(y)) / rows */
  OP_RELU_GRAD,        /* dx = dy * [y > 0], y the relu's output */
  OP_L1_GRAD,          /* dx = coef * (1/rows) * sign(x) */
  OP_BIAS_GRAD,        /* db[0,j] = sum_i dy[i,j] */
  OP_SGD_UPDATE,       /* p -= coef * g, in place: the only op with an effect */
  OP_COUNT_
} OpKind;

#define OP_MAX_IN 3
#define OP_MAX_OUT 2

typedef struct Op {
  OpKind kind;
  int nin, nout;
  int in[OP_MAX_IN];
  int out[OP_MAX_OUT];
  int trans_a, trans_b; /* matmul */
  double coef;          /* l1 lambda, l1_grad lambda, sgd learning rate */
} Op;

typedef struct Program {
  char *name;
  Op *ops;
  int nops, cap;
} Program;

typedef struct HiddenLayer {
  char *name;
  int units;
  int output;          /* its activation value */
  int zeros;           /* 1x1 count of exact zeros, in the infer program */
} HiddenLayer;

typedef struct Module {
  Value *values;
  int nvalues, cap;
  Program forward;     /* everything the spec computes, before any derivation */
  Program train;       /* forward + backward + SGD: outputs train_loss, updates params */
  Program infer;       /* outputs probs, loss, zeros of each hidden layer */
  int x, y;            /* input and labels */
  int probs;           /* softmax output */
  int nll;             /* mean nll of the batch (infer's loss) */
  int train_loss;      /* nll + penalties: the objective SGD minimises */
  int nloss_terms;
  int loss_terms[SPEC_MAX_LAYERS + 1]; /* ops of the forward program whose outputs sum to the objective */
  HiddenLayer hidden[SPEC_MAX_LAYERS];
  int nhidden;
  int classes;
  double lr;
} Module;

/* ---- ir.c ---------------------------------------------------------------- */

int value_new(Module *m, const char *name, ValueKind kind, int rows, int cols);
int param_new(Module *m, const char *name, int rows, int cols, ParamInit init, int fan_in,
              int fan_out);
Op *op_emit(Program *p, OpKind kind); /* appends a zeroed op */
Op *op_emit2(Program *p, OpKind kind, int out, int a, int b); /* out = kind(a, b); b may be -1 */
void program_copy(Program *dst, const Program *src, const char *name);
void module_free(Module *m);
const char *op_name(OpKind kind);
int op_is_effect(const Op *op);

/* ---- build.c / autodiff.c ------------------------------------------------ */

/* Builds the whole module: forward, then train (autodiff) and infer, each
 * cleaned by dce. Returns NULL with a message in err on failure. */
Module *module_build(const Spec *spec, char *err, int errlen);

/* Appends to `train` the gradient of the objective (sum of the loss terms)
 * with respect to every parameter, and an SGD update of each. */
void autodiff_append(Module *m, Program *train);

/* ---- verify.c ------------------------------------------------------------ */

/* 0 if every op has the arity and shapes its kind demands and every input is
 * defined before use; otherwise -1 with a message naming the op. */
int verify_program(const Module *m, const Program *p, char *err, int errlen);

/* ---- print.c ------------------------------------------------------------- */

void print_module(const Module *m, FILE *out);
void print_program(const Module *m, const Program *p, FILE *out);

/* ---- interp.c ------------------------------------------------------------ */

/* Runs `p` on a slot table laid out like the runtime's (value id = slot),
 * with `rows` rows in batch-sized values. Plain C, no BLAS: the oracle. */
void interp_run(const Module *m, const Program *p, void **slots, int rows);

/* ---- passes/ ------------------------------------------------------------- */

/* Removes ops whose outputs nothing live reads; `live` lists the values the
 * program must produce (effects are always live). */
void pass_dce(const Module *m, Program *p, const int *live, int nlive);

#endif
