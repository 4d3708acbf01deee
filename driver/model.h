/* What `run` and the REPL's session share: a spec's data read and split,
 * and its model compiled by the JIT (backend/prepare.c, as `sparsec build`
 * prepares it, then jit_compile). */
#ifndef SPARSEC_DRIVER_MODEL_H
#define SPARSEC_DRIVER_MODEL_H

#include "backend.h"

/* ---- data ---------------------------------------------------------------- */

typedef struct ExperimentData {
  SrDataset train_file, test; /* as read; owned */
  SrDataset train_all;        /* view: the first data.limit examples of train_file */
  SrDataset train, valid;     /* views into train_all: the validation hold-out is its tail */
} ExperimentData;

/* Reads the spec's train and test files (nothing else). */
int data_read(const Spec *spec, ExperimentData *d, SrError *err);
/* Checks the width and labels against the model (`classes`), then applies
 * data.limit and data.validation to make the views. Cheap: no reading. */
int data_split(const Spec *spec, int classes, ExperimentData *d, SrError *err);
/* Both, as `run` does. */
int data_load(const Spec *spec, int classes, ExperimentData *d, SrError *err);
/* Whether two specs read the same files the same way (data_read would
 * give the same examples). */
int data_same_files(const Spec *a, const Spec *b);
void data_free(ExperimentData *d);

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
double model_compile_ms(const CompiledModel *c); /* prepare + codegen + optimise + machine code */
void model_free(CompiledModel *c);

double now_ms(void); /* monotonic */

#endif
