/* What `run` and the REPL's session share: a spec's model compiled by the
 * JIT (backend/prepare.c, as `sparsec build` prepares it, then
 * jit_compile). */
#ifndef SPARSEC_DRIVER_MODEL_H
#define SPARSEC_DRIVER_MODEL_H

#include "backend.h"

/* ---- the compiled model -------------------------------------------------- */

typedef struct CompiledModel {
  double lr;
  Module *m;
  Jit *jit;
  SrSlot *slots;
  SrModel model;       /* kernels filled in */
  int max_rows;        /* batch-sized slots hold this many rows */
  int hidden_outputs[SR_MAX_HIDDEN]; /* keep_hidden_outputs: each hidden layer's output slot */
  double prepare_ms;   /* module_build + passes + description + memory plan */
  int reused;          /* the code is CompileOptions.reuse's: LLVM did not run */
} CompiledModel;

typedef struct CompileOptions {
  PassOptions passes;
  /* Makes each hidden layer's output a live output of infer, so that it
   * is still there when infer returns (for sr_unit_activity). It costs
   * those outputs' memory; the generated code is the same. */
  int keep_hidden_outputs;
  /* When the new module is the same code as this model's (ir/compare.c:
   * the change was to data or schedule only), its JIT is shared instead
   * of compiled again. May be NULL. */
  const CompiledModel *reuse;
} CompileOptions;

/* The spec at learning rate `lr`, JIT-compiled. 0, or -1 with a message. */
int model_compile(const Spec *spec, double lr, const CompileOptions *o, CompiledModel *out,
                  char *err, int errlen);
JitTimes model_jit_times(const CompiledModel *c);
/* The model's learning rates and penalties into its code's table: needed
 * when the code was reused (CompileOptions.reuse) from a model with others;
 * until then the code runs with the values of the model it came from. */
void model_use_hyper(CompiledModel *c);
double model_compile_ms(const CompiledModel *c); /* prepare + codegen + optimise + machine code + cache */
void model_free(CompiledModel *c);

double now_ms(void); /* monotonic */

#endif
