/* program.h: what an ahead-of-time compiled object gives the runtime, and
 * what the runtime gives back (docs/aot.md).
 *
 * `sparsec build` emits an object file holding the model's kernels and,
 * as LLVM globals, its SrModel (slot table, roles) and an SrProgramConfig
 * (the spec's schedule, data and outputs). No C is generated: the object
 * exports
 *
 *   const SrModel *PREFIX_model(void);
 *   const SrProgramConfig *PREFIX_config(void);
 *
 * with PREFIX `sparsec` for programs and the bundle's name for bundles,
 * whose object also exports NAME_create/NAME_infer/NAME_error/NAME_free,
 * thin wrappers around sr_bundle_create/_infer/_error/_free.
 *
 *   program.c       PROG's subcommands (sr_program_main)
 *   program_data.c  the spec's data sets and prediction inputs
 *   program_main.c  main() for PROG (library sparsert_main)
 *   bundle.c        a model ready for inference: weights, batching
 */
#ifndef SPARSEC_PROGRAM_H
#define SPARSEC_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "sparsert.h"

/* Bumped whenever SrProgramConfig, SrModel or SrSlot change meaning; the
 * sizes below catch a changed layout as well. */
#define SR_PROGRAM_ABI 5

#define SR_MAX_SWEEP 16 /* learning rates of a sweep (the spec's SPEC_MAX_SWEEP) */
#define SR_MAX_SEEDS 1000 /* repeats of a run (the spec's SPEC_MAX_SEEDS) */

typedef enum SrDataFormat { SR_DATA_IDX, SR_DATA_CSV, SR_DATA_LIBSVM } SrDataFormat;

/* One data set as the spec names it (paths absolute, resolved at build). */
typedef struct SrDataFile {
  const char *path;         /* IDX images, or the CSV or libsvm file */
  const char *labels;       /* IDX labels; NULL for CSV and libsvm */
  const char *label_column; /* CSV; NULL for IDX */
  int format;               /* SrDataFormat */
} SrDataFile;

typedef struct SrProgramConfig {
  int abi;                  /* SR_PROGRAM_ABI */
  int sizeof_config, sizeof_model, sizeof_slot; /* as laid out by the compiler */
  const char *name;         /* the spec's name */
  /* The layers in words, "h1 1000 relu, ..., out 10 softmax": with the
   * slot table, what a resumed state must have been saved by. */
  const char *structure;
  const char *target;       /* triple the code was compiled for */
  const char *cpu;          /* and its CPU: LLVM's name, ", the host's" when chosen so */
  /* What the code may use that a CPU of the target may lack, checked at
   * start (cpu.c): an x86-64 level and the features beyond it, e.g.
   * "x86-64-v4,avx512vnni"; "" when nothing is checked. */
  const char *cpu_features;
  const char *compiler;     /* "sparsec 0.1.0 (LLVM 16.0.6)" */
  int input, classes;
  int max_rows;             /* rows of batch-sized buffers (the memory plan's) */
  int epochs, batch, patience;
  uint64_t seed;            /* parameter init and shuffling, as `sparsec run` */
  /* The whole run repeated with seed+1 .. seed+seeds-1 at the chosen lr, for
   * the mean and sd of each figure (experiment.h); 1 (or 0): once. */
  int seeds;
  double lr, momentum;      /* lr = lrs[0]; the step reads them from its table */
  int nlrs;                 /* a sweep: each lr trained, the best validation kept (>= 1) */
  double lrs[SR_MAX_SWEEP];
  SrDataFile train, test;
  /* CSV data: the training file's feature columns by name, "x1,x2", which
   * predict matches its input's columns to (read at build time); NULL for
   * IDX data. */
  const char *features;
  double scale;             /* multiplies raw feature values */
  double validation_fraction; /* of the training set held out, or 0 */
  int validation;           /* examples held out, when the fraction is 0 */
  int limit;                /* only the first `limit` training examples; 0 = all */
  const char *checkpoint;   /* the best parameters; NULL: none (run), NAME.safetensors (PROG) */
  const char *state;        /* the resumable state; NULL: derived (sr_run_state_path) */
  int save_every;           /* state saved every N epochs; 0 = on interrupt and at the end */
  const char *metrics;      /* per-epoch metrics file, or NULL */
  int metrics_format;       /* SrMetricsFormat */
  int progress;             /* progress bar: -1 on a terminal, 0 off, 1 on */
  /* Weights compiled into the object (--embed-weights): one pointer per
   * slot, NULL for slots that are not PARAM or CONST; NULL when none. */
  const float *const *weights;
} SrProgramConfig;

/* Checks that the object was emitted for this runtime (ABI version and
 * struct sizes) and that its roles name existing slots. */
int sr_program_check(const SrModel *m, const SrProgramConfig *cfg, SrError *err);

/* ---- cpu.c --------------------------------------------------------------- */

/* A name the runtime can test the CPU for: an x86-64 level ("x86-64-v3")
 * or a feature ("avx512f"), with the LLVM features it stands for (a
 * feature stands for itself). */
typedef struct SrCpuFeature {
  const char *name;
  const char *llvm;  /* comma-separated */
} SrCpuFeature;

/* Every name the runtime can test, levels first (lowest first), ended by a
 * NULL name; none where the runtime was not compiled for x86-64. */
const SrCpuFeature *sr_cpu_features(void);
/* 1 if this CPU has the feature or level `name`, 0 if not, -1 if the
 * runtime cannot tell. */
int sr_cpu_has(const char *name);
/* The names of the comma-separated `list` this CPU lacks (or that the
 * runtime cannot test), as "a, b" in out[0..size); returns their count. */
int sr_cpu_missing(const char *list, char *out, size_t size);
/* This CPU's model name ("AMD EPYC ..."), or "" where it cannot be read. */
void sr_cpu_model(char *out, size_t size);
/* 0 if this CPU runs the code of `cfg`, else -1 and a message naming what
 * it lacks and the --cpu to rebuild with. */
int sr_cpu_check(const SrProgramConfig *cfg, SrError *err);

/* ---- program.c ----------------------------------------------------------- */

/* PROG's command line: train, eval, predict, --help. Returns the exit
 * status. */
int sr_program_main(const SrModel *m, const SrProgramConfig *cfg, int argc, char **argv);
/* The option table (options.h) of PROG's command train, eval or predict;
 * NULL for another name. */
struct SrOptTable;
const struct SrOptTable *sr_program_options(const char *command);

/* ---- program_data.c ------------------------------------------------------ */

/* Which part of the data a failure is about, so that a caller with the
 * spec can point at the clause that named it. */
typedef enum SrDataSet { SR_SET_NONE, SR_SET_TRAIN, SR_SET_TEST, SR_SET_SPLIT } SrDataSet;

typedef struct SrProgramData {
  SrDataset train_all, test; /* owned; train_all.n is cut to `limit` */
  int train_read;            /* examples in the training file */
  SrDataset train, valid;    /* views into train_all: the validation hold-out is its tail */
  SrDataSet failed;          /* after a failed read or split: which part */
} SrProgramData;

/* The spec's training set (limited, split into train and validation) and
 * test set, checked against the model (sr_program_data_free even on error):
 * sr_program_read_data, then sr_program_split_data. */
int sr_program_load_data(const SrProgramConfig *cfg, SrProgramData *d, SrError *err);
/* Reads and checks the two files (nothing else). */
int sr_program_read_data(const SrProgramConfig *cfg, SrProgramData *d, SrError *err);
/* Applies limit and validation to what was read: cheap, no reading (the
 * REPL's `set data.limit`). */
int sr_program_split_data(const SrProgramConfig *cfg, SrProgramData *d, SrError *err);
/* Whether two configs read the same examples (the same files, scale and
 * widths): then one's data serve the other after a new split. */
int sr_program_same_files(const SrProgramConfig *a, const SrProgramConfig *b);
/* One data set of the spec, checked; `what` names it in messages. */
int sr_program_load_set(const SrProgramConfig *cfg, const SrDataFile *f, const char *what,
                        SrDataset *out, SrError *err);
void sr_program_data_free(SrProgramData *d);
/* Examples to predict: an IDX images file (gzip'd or raw; no labels
 * needed) or a CSV file with a header, whose column `label_column` (NULL:
 * the spec's test set's label column, else "label"), if
 * there, is not a feature (its values are checked, then ignored); with
 * `label_required` it must be there. Features are multiplied by cfg->scale. */
int sr_program_load_inputs(const SrProgramConfig *cfg, const char *path, const char *label_column,
                           int label_required, SrDataset *out, SrError *err);

/* ---- bundle.c ------------------------------------------------------------ */

typedef struct SrBundle SrBundle;

/* A model ready for inference: weights from the safetensors file
 * `weights`, or (weights == NULL) those embedded in the object. NULL on
 * failure, with a message in err[0..errlen) if err is not NULL. */
SrBundle *sr_bundle_create(const SrModel *m, const SrProgramConfig *cfg, const char *weights,
                           char *err, size_t errlen);
/* What sr_bundle_infer (NAME_infer) returns besides 0. */
#define SR_BUNDLE_BAD_ARGS (-1)   /* b, x or probs NULL, or rows < 0 */
/* An input is not finite, or a value the model computed is not (finite
 * weights can still overflow float: inf, then NaN): sr_bundle_error names
 * the row and input, or the first layer where a value is not finite and
 * the batch's rows (1-based), e.g. "layer h2: 640 of 640 activations are
 * not finite (inf or NaN) in examples 1..64: ...". No probability of that
 * batch or any later one is written. */
#define SR_BUNDLE_NOT_FINITE (-2)
/* This CPU lacks a feature the model's code was compiled for (cpu.c). */
#define SR_BUNDLE_CPU (-3)

/* NAME_check_cpu: 0 if this CPU runs the model's code, else SR_BUNDLE_CPU
 * (or -1 for an object of another runtime) and the reason in
 * err[0..errlen) if err is not NULL. sr_bundle_create checks the same. */
int sr_bundle_check_cpu(const SrProgramConfig *cfg, char *err, size_t errlen);

/* probs[rows * classes] = the model's output for x[rows * inputs]; any
 * number of rows (run in batches of cfg->max_rows). 0, SR_BUNDLE_BAD_ARGS
 * or SR_BUNDLE_NOT_FINITE. */
int sr_bundle_infer(SrBundle *b, const float *x, int rows, float *probs);
/* Why the last sr_bundle_infer on b failed ("" if it did not): the
 * bundle's NAME_error. Valid until the next call on b. */
const char *sr_bundle_error(const SrBundle *b);
void sr_bundle_free(SrBundle *b);

/* The state behind a bundle, e.g. to evaluate it on a data set. */
SrState *sr_bundle_state(SrBundle *b);

/* ---- infer.c -------------------------------------------------------------- */

/* probs[rows * classes] = the output of st's model for x[rows * inputs], in
 * batches of st->max_rows. -1 + err naming the row and input of a
 * non-finite input, or the first layer where a value is not finite; no
 * probability of that batch or a later one is written. */
int sr_infer_rows(SrState *st, const float *x, int rows, float *probs, SrError *err);

/* ---- predict.c ------------------------------------------------------------ */

/* The examples of `input` (IDX images or CSV, or libsvm rows for a model
 * trained on them; "-": CSV or libsvm rows on standard input;
 * label_column as sr_program_load_inputs takes it) through st's model, one
 * line each to `out`: the class, then every class's probability (%.9g:
 * the floats exactly). Nothing is printed unless every prediction is
 * finite; a failed write is an error naming out_name. */
int sr_predict(SrState *st, const SrProgramConfig *cfg, const char *input,
               const char *label_column, int label_required, FILE *out, const char *out_name,
               SrError *err);

#endif
