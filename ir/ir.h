/* ir: a small typed tensor IR, the programs derived from a spec, and the
 * reference interpreter that is the oracle for generated code.
 *
 *   ops.h       every operation, one row each (name, arity, flags, maths)
 *   ir.c        values, ops, programs: construction and lookup
 *   activations.c  each activation's maths, forward and backward (the
 *               interpreter's; frontend/activations.def lists them)
 *   build.c     checked Spec -> forward program + loss terms
 *   pretrain.c  the denoising autoencoders of a pretrain block
 *   autodiff.c  forward program -> training step (forward, backward, SGD)
 *   verify.c    shape and use-before-definition checks
 *   print.c     the textual form (docs/ir.md)
 *   compare.c   whether two modules compile to the same code
 *   hyper.c     the coefficients generated code reads from a table
 *   interp.c    reference interpreter in plain C
 *   passes/     one optimisation pass per file; pipeline.c's pass_table
 *               lists them in order
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
  VAL_STATE,   /* optimiser state (momentum velocity), zero at start */
  VAL_CONST,   /* drawn once at initialisation, never trained (sign-trick signs) */
} ValueKind;

typedef enum ParamInit {
  PINIT_ZERO,
  PINIT_CONSTANT,        /* init_arg */
  PINIT_GLOROT_UNIFORM,  /* U[-a, a], a = sqrt(6/(fan_in+fan_out)) */
  PINIT_HE_NORMAL,       /* N(0, 2/fan_in) */
  PINIT_UNIFORM,         /* U[-init_arg, init_arg] */
  PINIT_SIGNS,           /* a random half -1, the rest +1 */
} ParamInit;

typedef struct Value {
  char *name;
  ValueKind kind;
  int rows;            /* ROWS_BATCH or a constant */
  int cols;
  ParamInit init;      /* params and consts */
  double init_arg;
  int fan_in, fan_out; /* params */
} Value;

/* Every operation: ops.h, one row each with its maths. */
typedef enum OpKind {
#define OP(id, name, nin, nout, flags) OP_##id,
#include "ops.h"
#undef OP
  OP_COUNT_
} OpKind;

enum { OPF_EFFECT = 1, OPF_HYPER_COEF = 2, OPF_HYPER_COEF2 = 4 }; /* ops.h's flags */

typedef struct OpInfo {
  const char *name;
  int nin, nout;
  int flags;
} OpInfo;
const OpInfo *op_info(OpKind kind);

#define OP_MAX_IN 4 /* sparse_backward_sgd */
#define OP_MAX_OUT 4 /* bias_act */

typedef struct Op {
  OpKind kind;
  int nin, nout;
  int in[OP_MAX_IN];
  int out[OP_MAX_OUT];
  int trans_a, trans_b; /* matmul */
  Activation act;       /* act, act_grad, bias_act(_grad): the activation */
  NoiseKind noise;      /* noise */
  double coef;          /* l1/l2 lambda, learning rate */
  double coef2;         /* momentum */
  double max_density[4]; /* sparse products: the largest density (nonzeros / (n K)) run
                            sparse, for batches of 1, <= 10, <= 32, more rows (SPARSE_CLASS_ROWS) */
} Op;

/* Enough for the objective (or cost and input max), in a split step's
 * gradient program (passes/split_updates.c) a gradient per parameter, and
 * in infer the probabilities, the loss, two counts per hidden layer and
 * (driver/model.c) the hidden outputs. */
#define PROGRAM_MAX_LIVE (3 * SPEC_MAX_LAYERS + 4)

typedef struct Program {
  char *name;
  Op *ops;
  int nops, cap;
  int live[PROGRAM_MAX_LIVE]; /* values the runtime reads after a run */
  int nlive;
  /* Temporaries another program left in their slots for this one to read
   * (a split step's gradients): defined on entry. */
  int carried[PROGRAM_MAX_LIVE];
  int ncarried;
} Program;

/* A training program cut in two for data parallelism (passes/split_updates.c):
 * `grads` computes the objective and leaves each parameter's gradient in
 * its slot, parameters untouched; the runtime averages the gradients across
 * ranks; `apply` updates the parameters from them. grad[k] is the gradient
 * of param[k]. */
typedef struct SplitStep {
  int present;
  Program grads, apply;
  int ngrads;
  int grad[PROGRAM_MAX_LIVE];
  int param[PROGRAM_MAX_LIVE];
} SplitStep;

typedef struct HiddenLayer {
  char *name;
  int units;
  int output;          /* its activation value */
  int zeros;           /* 1x1 count of exact zeros, in the infer program */
  int nonfinite;       /* 1x1 count of pre-activation values that are not finite (inf,
                          NaN), in the infer program: a relu would hide a NaN as 0 */
} HiddenLayer;

/* The parameters of each dense layer, so that programs other than the
 * forward one (pretraining) compute with the same weights. */
typedef struct LayerParams {
  int w, b;            /* weights [in x units], bias [1 x units] */
  int signs;           /* sign-trick constant [1 x units], or -1 */
  int in_width;
} LayerParams;

/* One greedy denoising-autoencoder stage (ir/pretrain.c): its program
 * trains one hidden layer's encoder (and its decoder) to reconstruct the
 * clean codes of the layer below from a corrupted copy. */
typedef struct PretrainProgram {
  Program program;     /* named pretrain_<layer> */
  int layer;           /* index into the spec's layers (a hidden layer) */
  int cost;            /* 1x1: mean reconstruction cost of the batch */
  int input_max;       /* 1x1: largest clean input code (0: the layer below is dead) */
  int epochs, batch;
  double lr;
  SplitStep split;     /* with data parallelism: pretrain_<layer>_grads/_apply */
} PretrainProgram;

typedef struct Module {
  Value *values;
  int nvalues, cap;
  Program forward;     /* everything the spec computes, before any derivation */
  Program train;       /* forward + backward + SGD: outputs train_loss, updates params */
  Program infer;       /* outputs probs, loss, zeros and nonfinite of each hidden layer */
  int x, y;            /* input and labels */
  int probs;           /* softmax output */
  int head_loss;       /* mean loss of the output head over the batch (infer's loss) */
  int train_loss;      /* nll + penalties: the objective SGD minimises */
  int nloss_terms;
  int loss_terms[2 * SPEC_MAX_LAYERS + 1]; /* ops of the forward program whose outputs sum to the objective */
  HiddenLayer hidden[SPEC_MAX_LAYERS];
  int nhidden;
  LayerParams layers[SPEC_MAX_LAYERS];
  PretrainProgram pretrain[SPEC_MAX_LAYERS];
  int npretrain;
  int classes;
  char *output_name;   /* the output layer's name (the spec's last layer) */
  double lr, momentum;
  SplitStep train_split; /* with data parallelism: train_grads, apply_updates */
} Module;

/* ---- ir.c ---------------------------------------------------------------- */

int value_new(Module *m, const char *name, ValueKind kind, int rows, int cols);
int param_new(Module *m, const char *name, int rows, int cols, ParamInit init, int fan_in,
              int fan_out);
const char *value_kind_name(ValueKind kind);
Op *op_emit(Program *p, OpKind kind); /* appends a zeroed op */
Op *op_emit2(Program *p, OpKind kind, int out, int a, int b); /* out = kind(a, b); b may be -1 */
void program_copy(Program *dst, const Program *src, const char *name);
/* The programs the backend compiles: train, infer, then each pretraining
 * stage's. `out` must hold 2 + SPEC_MAX_LAYERS; returns the count. */
int module_programs(const Module *m, const Program **out);
/* The split steps' programs, when the module was optimised for data
 * parallelism: train_grads, apply_updates, then each pretraining stage's
 * grads and apply. `out` must hold MODULE_MAX_SPLIT_PROGRAMS. */
#define MODULE_MAX_SPLIT_PROGRAMS (2 + 2 * SPEC_MAX_LAYERS)
int module_split_programs(const Module *m, const Program **out);
void module_free(Module *m);
const char *op_name(OpKind kind);
/* `sparsec ir`'s name of the op: act and act_grad print as relu, relu_grad. */
void op_print_name(const Op *op, FILE *out);
int op_is_effect(const Op *op);

/* ---- build.c / autodiff.c ------------------------------------------------ */

/* Builds the whole module: forward, then train (autodiff) and infer, each
 * cleaned by dce, and a pretraining program per stage of the spec's pretrain
 * block. Returns NULL with a message in err on failure. */
Module *module_build(const Spec *spec, char *err, int errlen);

/* Emits dense layer `l` with parameters `lp` on input `in` into `p`: matmul,
 * bias_add, the activation (none for linear and for softmax, which the head
 * applies) and the sign trick; temporaries are named prefix + layer name.
 * Returns the layer's output; *pre_activation (if not NULL) gets the
 * bias_add's result. */
int emit_dense(Module *m, Program *p, const LayerSpec *l, const LayerParams *lp, int in,
               const char *prefix, int *pre_activation);

/* Appends to `p` the gradient of an objective, the sum of the outputs of the
 * ops at indices `loss_ops` (each a loss term: its gradient seed is 1), with
 * respect to the parameters marked in `trainable` (NULL: every parameter),
 * and an update of each: SGD with `lr`, with momentum if momentum > 0. */
typedef struct Objective {
  const int *loss_ops;
  int nloss;
  const char *trainable;
  double lr, momentum;
} Objective;
void autodiff_append(Module *m, Program *p, const Objective *o);

/* ---- pretrain.c ---------------------------------------------------------- */

/* Adds one PretrainProgram per stage of spec->pretrain (after the forward
 * program and its parameters exist). 0, or -1 with a message. */
int pretrain_build(Module *m, const Spec *spec, char *err, int errlen);

/* ---- verify.c ------------------------------------------------------------ */

/* 0 if every op has the arity and shapes its kind demands and every input is
 * defined before use; otherwise -1 with a message naming the op. */
int verify_program(const Module *m, const Program *p, char *err, int errlen);

/* ---- print.c ------------------------------------------------------------- */

void print_module(const Module *m, FILE *out);
void print_value_decl(const Value *v, FILE *out);
void print_program(const Module *m, const Program *p, FILE *out);

/* ---- hyper.c ------------------------------------------------------------- */

/* Which of an op's coefficients the code reads from the hyperparameter
 * table (learning rates, momenta, penalties), as HYPER_COEF | HYPER_COEF2. */
#define HYPER_COEF 1
#define HYPER_COEF2 2
int op_hyper_fields(const Op *op);

/* ---- activations.c: the interpreter's maths of each activation ------------ */

/* Whether `act` has elementwise maths (every activation but the head's softmax). */
int act_has_maths(Activation act);
/* y = act(x) with parameter a */
double act_forward(Activation act, double x, double a);
/* dx = dy act'(x), v being y, or x for ACT_GRAD_FROM_X (activations.def) */
double act_backward(Activation act, double dy, double v, double a);
/* The table: its size, and its values into `values` unless NULL. */
int module_hyper_values(const Module *m, double *values);
/* The entry of `field` of `op` in program `p`, or -1 if it has none. */
int module_hyper_index(const Module *m, const Program *p, const Op *op, int field);

/* ---- compare.c ----------------------------------------------------------- */

/* 1 if a and b compile to the same code (values, programs, coefficients,
 * pretraining stages all equal), else 0. */
int module_same_code(const Module *a, const Module *b);

/* ---- interp.c ------------------------------------------------------------ */

/* Runs `p` on a slot table laid out like the runtime's (value id = slot),
 * with `rows` rows in batch-sized values. Plain C, no BLAS: the oracle. */
void interp_run(const Module *m, const Program *p, void **slots, int rows);

/* ---- uses.c: def-use queries the passes share ------------------------------ */

int program_def(const Program *p, int value);         /* op index defining value, or -1 */
int program_uses(const Program *p, int value);        /* how many operands read value */
/* Makes every operand that reads `from` read `to`, and the program's live
 * outputs and the module's roles that name `from` name `to`. */
void program_replace_uses(Module *m, Program *p, int from, int to);
void program_remove_op(Program *p, int index);

/* ---- passes/ ------------------------------------------------------------- */

/* dce.c: removes ops whose outputs nothing reads and that are not among the
 * program's live outputs (effects are always kept). */
void pass_dce(const Module *m, Program *p);

/* prune_zero.c: ops scaled by a zero coefficient (an l1/l2 penalty or its
 * gradient with lambda 0) are removed; their results are known zeros, and
 * `add` of a known zero becomes its other operand (constant folding). */
void pass_prune_zero(Module *m, Program *p);

/* fold.c: constant folding: `add` of a value and a known-zero value is the
 * value. `zero[v]` marks known zeros (from prune_zero). */
void pass_fold(Module *m, Program *p, char *zero);

/* fuse_relu.c: bias_add + activation (+ l1_penalty + count_zero) -> bias_act;
 * (add of l1_grad +) activation grad + bias_grad -> bias_act_grad, for every
 * activation. For relu no pre-activation is kept: the mask is h > 0. */
void pass_fuse_relu(Module *m, Program *p);

/* plan_memory.c: liveness-based placement of each program's temporaries in
 * one arena shared by all programs (they never run at the same time).
 * Batch-sized buffers are planned for max_rows rows. */
typedef struct MemoryPlan {
  long *offset;        /* per value: byte offset in the arena, or -1 if not placed */
  long arena_bytes;
  long unplanned_bytes; /* what the same temporaries take with a buffer each */
} MemoryPlan;
int plan_memory(const Module *m, int max_rows, MemoryPlan *out);
void memory_plan_free(MemoryPlan *plan);

/* fuse_sgd.c: a weight gradient read only by its plain SGD update (possibly
 * through the add of an L2 term) becomes one matmul_sgd: sgemm into the
 * weights with alpha = -lr, beta = 1 - lr * lambda. */
void pass_fuse_sgd(Module *m, Program *p);

/* split_updates.c: with data parallelism, train and each pretraining
 * program also get a SplitStep (the program itself is left as it is, so
 * one process keeps its fused step). The L2 term of a gradient moves to
 * `apply`, so that what is exchanged is the data term alone. */
void pass_split_updates(Module *m);

/* schedule.c: each update moves up to just after its gradient is ready and
 * the parameter's last reader, so gradient buffers die early (plan-memory
 * reuses them) and are updated while still in cache. */
void pass_schedule_updates(Module *m, Program *p);

/* sparse_products.c: products whose left operand is a relu output or the
 * input get sparse variants (active_units + sparse_matmul, and
 * sparse_backward_sgd for the fused weight update, fused in turn with the
 * masked input gradient); each switches to the dense product at run time
 * when the batch's density exceeds its threshold: `threshold` for every
 * batch size, or 0 for the defaults found by benchmark (bench/README.md),
 * one per kind of op and class of batch size. */
#define SPARSE_CLASSES 4
#define SPARSE_CLASS_ROWS {1, 10, 32} /* the last class: any larger batch */
extern const double sparse_forward_max_density[SPARSE_CLASSES];  /* sparse_matmul */
extern const double sparse_backward_max_density[SPARSE_CLASSES]; /* sparse_backward_sgd */
extern const double sparse_update_max_density[SPARSE_CLASSES];   /* ... without da */
void pass_sparse_products(Module *m, Program *p, double threshold);

/* prune_dead.c: static pruning for deployment. The spec's module built
 * again without the hidden units whose activity count is 0 (dead on the
 * data the counts came from: active[l][u] = examples where unit u of
 * hidden layer l is nonzero), and the map that copies the original
 * parameters into the smaller ones. */
typedef struct PruneCopy {
  int dst, src;        /* value ids: pruned module <- original */
  int *rows, *cols;    /* source rows / columns kept, in order; NULL = all */
  int nrows, ncols;    /* the destination's shape */
} PruneCopy;

typedef struct PrunedModule {
  Module *m;           /* unoptimised: run optimise_module before compiling */
  int nhidden;
  int dead[SPEC_MAX_LAYERS];   /* units removed per hidden layer */
  PruneCopy *copies;
  int ncopies;
  long bytes_before, bytes_after; /* parameter bytes: original, pruned */
} PrunedModule;
int prune_dead_units(const Spec *spec, const Module *orig, const int32_t *const *active,
                     PrunedModule *out, char *err, int errlen);
/* Fills the pruned module's parameter slots from the original's. */
void prune_copy_weights(const PrunedModule *p, const Module *orig, void *const *src_slots,
                        void **dst_slots);
void pruned_module_free(PrunedModule *p);

/* pipeline.c: the optimiser. The passes of pass_table run in its order on
 * every program; plan-memory is then done for a batch size by whoever
 * allocates. `stop_after` (a pass name or NULL) stops the pipeline after
 * that pass, for `sparsec ir --after`. */
typedef struct PassOptions {
  int enabled;         /* 0: --passes none */
  const char *stop_after;
  int data_parallel;   /* split-updates adds the split steps (mpirun) */
  int dense_only;      /* 1: skip sparse-products: every product through cblas_sgemm */
  double sparse_threshold; /* sparse-products' switch for every batch size; 0: the
                              benchmarked defaults (sparse_forward/backward_max_density) */
} PassOptions;
typedef enum PassLevel {
  PASS_PROGRAM,        /* rewrites each program (p), verified after */
  PASS_MODULE,         /* runs once on the module (p NULL): may add programs */
  PASS_PLACEMENT,      /* no rewrite (run NULL): a place to stop, for --after */
} PassLevel;
typedef struct Pass {
  const char *name;    /* as --after takes it */
  void (*run)(Module *m, Program *p, const PassOptions *o);
  PassLevel level;
  const char *description; /* one line: --help, docs/ir.md */
} Pass;
extern const Pass pass_table[]; /* in order; ends with a NULL name */
const Pass *pass_find(const char *name); /* NULL if there is no such pass */
const char *pass_level_name(PassLevel level);
int optimise_module(Module *m, const PassOptions *o, char *err, int errlen);

/* stats.c: what `sparsec ir --stats` prints. */
typedef struct ProgramStats {
  int kernels;         /* ops: each is one loop nest or one BLAS call */
  int dense_products;
  int sparse_products; /* sparse_matmul, sparse_backward_sgd (each with its dense variant) */
  int activation_passes; /* reads + writes of batch-sized tensors outside matmul */
  int hidden_passes[SPEC_MAX_LAYERS]; /* non-matmul ops touching each hidden output */
  long temp_bytes;     /* every batch-sized and scalar temporary, one buffer each */
} ProgramStats;
void program_stats(const Module *m, const Program *p, int rows, ProgramStats *out);

#endif
