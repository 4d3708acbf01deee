/* sparsert: the runtime that generated code links.
 *
 * No LLVM here, only libc, libm, zlib and OpenBLAS, so that ahead-of-time
 * compiled programs carry nothing else. One concern per file:
 *   blas.c     OpenBLAS settings
 *   parallel.c the thread pool of the sparse kernels (sr_parallel)
 *   error.c    SrError formatting
 *   idx.c      IDX files (gzip'd or raw), validated
 *   gzfile.c   a data file's bytes, raw or inflated (gzip), for idx.c and libsvm.c
 *   dataset.c  examples in memory, hold-out split, width/label checks
 *   libsvm.c   libsvm (svmlight) text files of sparse rows, gzip'd or raw, into CSR
 *   rng.c      deterministic RNG (xoshiro256** seeded by splitmix64), shuffling
 *   init.c     parameter initialisation
 *   state.c    the memory behind a compiled model's slots
 *   csv.c      CSV data sets (a header row, a named label column), validated
 *   decimal.c  the syntax of numbers in CSV and libsvm files
 *   infer.c    probabilities of rows in memory, checked finite (all a bundle
 *              calls besides state.c and checkpoint.c: no zlib, no BLAS)
 *   train.c    minibatch loop, evaluation, best-validation tracking, early stopping
 *   progress.c the progress bar within an epoch (terminals only)
 *   metrics.c  per-epoch metrics as CSV or JSON lines
 *   checkpoint.c  parameters as safetensors, written atomically, validated on load
 *   dist*.c    data-parallel training across MPI ranks (dist.h)
 *   activity.c per-unit activity of the hidden layers over a data set (dead units)
 *
 * Every function that reads outside data validates it and reports through
 * SrError; nothing here aborts on bad input.
 */
#ifndef SPARSEC_SPARSERT_H
#define SPARSEC_SPARSERT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- error.c ------------------------------------------------------------- */

typedef struct SrError {
  char msg[1024];
} SrError;

/* Formats into err (if not NULL) and returns -1, so callers can write
 * `return sr_fail(err, "...", ...);`. */
int sr_fail(SrError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- idx.c --------------------------------------------------------------- */

/* An IDX file of unsigned bytes (type code 0x08), e.g. MNIST images/labels. */
typedef struct SrIdx {
  int ndim;            /* 1..4 */
  int dims[4];
  size_t count;        /* product of dims */
  uint8_t *data;       /* count bytes, malloc'd */
} SrIdx;

/* Reads `path`, gzip'd or raw (detected from the content). Checks the magic
 * number, the type code, the dimensions (non-zero, product fits), and that
 * the file holds exactly the announced bytes: a truncated file or trailing
 * garbage is an error naming the file and what is wrong. */
int sr_idx_load(const char *path, SrIdx *out, SrError *err);
void sr_idx_free(SrIdx *idx);

/* ---- dataset.c ----------------------------------------------------------- */

/* Examples: dense (x, n * dim floats) or, for sparse rows (libsvm files),
 * compressed sparse rows (CSR: x == NULL; row i's nonzeros are
 * val[row_start[i] .. row_start[i+1]-1] at columns col[...], ascending).
 * A CSR data set is never expanded to n * dim floats: batches are
 * scattered into the model's input slot row by row (sr_copy_rows). */
typedef struct SrDataset {
  int n;               /* examples */
  int dim;             /* features per example */
  float *x;            /* n * dim, row-major; NULL for CSR */
  int32_t *y;          /* n labels */
  int owns;            /* 1 if x, y and the CSR arrays are freed with the dataset */
  int64_t *row_start;  /* CSR: n + 1 offsets into col and val (row_start[0] may be > 0 in a view) */
  int32_t *col;        /* CSR: 0-based columns, strictly ascending within a row */
  float *val;          /* CSR: the nonzero values (value * scale) */
} SrDataset;

/* 1 if the data set is held as compressed sparse rows */
static inline int sr_dataset_is_sparse(const SrDataset *ds) {
  return ds->row_start != NULL;
}

/* Images IDX (n x h x w, or n x d) and labels IDX (n); x = byte * scale. */
int sr_dataset_load_idx(const char *images, const char *labels, float scale,
                        SrDataset *out, SrError *err);
/* Checks width and label range; `what` names the data in messages
 * (e.g. "train data"). */
int sr_dataset_check(const SrDataset *ds, int dim, int classes, const char *what, SrError *err);
/* A CSV file with a header row: one column (named `label_column`) holds
 * integer class labels >= 0, every other column a feature; x = value * scale.
 * Errors name the file and line. */
int sr_dataset_load_csv(const char *path, const char *label_column, float scale,
                        SrDataset *out, SrError *err);
/* The same for inputs to predict: the label column may be missing (every
 * label is then 0). With `features` ("x1,x2", the training file's feature
 * columns), the columns are matched by name, in any order, and a missing
 * or extra column is an error naming it; NULL or "": every column but the
 * label is a feature, in order. */
int sr_dataset_load_csv_inputs(const char *path, const char *label_column, const char *features,
                               float scale, SrDataset *out, SrError *err);
/* The feature columns of a CSV file's header, "x1,x2" (every column but
 * `label_column`, which must be there), malloc'd; NULL + err. */
char *sr_csv_features(const char *path, const char *label_column, SrError *err);
/* A libsvm (svmlight) text file, gzip'd or raw: one example a line,
 * `LABEL INDEX:VALUE INDEX:VALUE ...`, indices from 1 and strictly
 * ascending, at most `dim` (the model's input width); labels integers in
 * 0..classes-1 (classes 0: any label >= 0). Read straight into CSR form
 * (x = NULL), values times `scale`. Errors name the file, line and what is
 * wrong ("train.svm:17: index 5001 is out of range 1..5000"); time and
 * memory are linear in the file. */
int sr_dataset_load_libsvm(const char *path, int dim, int classes, float scale, SrDataset *out,
                           SrError *err);
/* Splits off the last `holdout` examples as views into `all` (no copies). */
int sr_dataset_split_tail(const SrDataset *all, int holdout, SrDataset *head, SrDataset *tail,
                          SrError *err);
/* Example i as dim dense floats into dst (a CSR row is scattered: zeros,
 * then its nonzeros). */
void sr_dataset_row(const SrDataset *ds, int i, float *dst);
/* A copy of the examples rows[0..n-1] (repeats allowed), in ds's form:
 * dense rows, or CSR holding only their nonzeros. */
int sr_dataset_gather(const SrDataset *ds, const int32_t *rows, int n, SrDataset *out,
                      SrError *err);
/* Examples start .. start+n-1 as a view into ds (no copies). */
SrDataset sr_dataset_view(const SrDataset *ds, int start, int n);
void sr_dataset_free(SrDataset *ds);

/* ---- rng.c --------------------------------------------------------------- */

typedef struct SrRng {
  uint64_t s[4];
} SrRng;

void sr_rng_seed(SrRng *rng, uint64_t seed);
uint64_t sr_rng_next(SrRng *rng);
double sr_rng_uniform(SrRng *rng);            /* [0, 1) with 53 random bits */
uint32_t sr_rng_below(SrRng *rng, uint32_t n); /* uniform in [0, n), unbiased */
void sr_rng_shuffle(SrRng *rng, int32_t *idx, int n); /* Fisher-Yates */

/* ---- blas.c -------------------------------------------------------------- */

/* Threads OpenBLAS may use for each dense product. */
void sr_blas_threads(int n);
/* Under a memory limit (ulimit -v), restarts the process with
 * OPENBLAS_NUM_THREADS=1 before OpenBLAS's library constructor runs, so
 * that no OpenBLAS worker starts before main (each takes a 128 MiB buffer,
 * and spins for ever when it cannot); --threads sets the count later. Only
 * an executable's .preinit_array runs that early: sparsec's and built
 * programs' mains put it there. */
void sr_blas_preinit(int argc, char **argv, char **envp);

/* ---- interrupt.c ----------------------------------------------------------- */

/* What every executable (sparsec, built programs) does first: stdout
 * written line by line, into a file or a pipe too (`tail -f` on a log
 * follows a run, and an interrupted run's log is whole), and SIGXFSZ
 * ignored, so that a file-size limit is a write error (EFBIG) reported
 * with the file's name, not a signal that kills the process and leaves a
 * temporary file. */
void sr_process_start(void);

/* ---- parallel.c: the thread pool of the sparse kernels -------------------- */

/* One part of a sparse kernel: generated code splits its work into nparts
 * pieces that write disjoint memory; part runs on thread `part`. */
typedef void (*SrPartKernel)(void **slots, int64_t rows, int64_t part, int64_t nparts);

/* Threads the sparse kernels use (1..64, the caller included; default 1);
 * returns the number set. Workers start on first use. */
int sr_set_threads(int n);
int sr_threads(void);
/* Runs fn for parts 0..sr_threads()-1, part 0 on the calling thread, and
 * returns when all are done; or fn(slots, rows, 0, 1) alone when `work`
 * (multiply-adds) is below the minimum, where waking threads costs more
 * than it saves. Called by generated code; one caller at a time. */
void sr_parallel(SrPartKernel fn, void **slots, int64_t rows, int64_t work);
/* That minimum (default 1 << 17: about 10 us of work); tests set 0. */
void sr_set_parallel_min_work(int64_t work);

/* ---- the ABI between generated code and the runtime ---------------------- */

/* A compiled model is a table of slots (buffers) and kernels that read and
 * write them. Slot numbers are fixed at compile time; the runtime owns the
 * memory. Kernels take the slot table and the number of rows in this batch. */
typedef void (*SrKernel)(void **slots, int64_t rows);

typedef enum SrSlotKind {
  SR_SLOT_PARAM,   /* trained parameter: initialised, kept across batches */
  SR_SLOT_INPUT,   /* rows x cols floats: the batch's features */
  SR_SLOT_LABELS,  /* rows int32 class labels */
  SR_SLOT_TEMP,    /* scratch written by kernels */
  SR_SLOT_STATE,   /* optimiser state (momentum velocity): zero at start, not saved */
  SR_SLOT_CONST,   /* fixed after initialisation (sign-trick signs): saved, never trained */
} SrSlotKind;

/* The slots that make up a trained model (PARAM and CONST): copied when the
 * best epoch is kept, saved in checkpoints, checked for non-finite values. */
static inline int sr_slot_is_model(SrSlotKind kind) {
  return kind == SR_SLOT_PARAM || kind == SR_SLOT_CONST;
}

typedef enum SrInit {
  SR_INIT_ZERO,
  SR_INIT_GLOROT_UNIFORM, /* U[-sqrt(6/(fan_in+fan_out)), +sqrt(6/(fan_in+fan_out))] */
  SR_INIT_CONSTANT,       /* every element = init_arg */
  SR_INIT_HE_NORMAL,      /* N(0, 2/fan_in) */
  SR_INIT_UNIFORM,        /* U[-init_arg, +init_arg] */
  SR_INIT_SIGNS,          /* +1 or -1: a random half (floor(count/2)) of the elements are -1 */
} SrInit;

/* init.c: fills count floats of a parameter as `init` says (state.c uses it). */
void sr_init_param(float *w, size_t count, SrInit init, double arg, int fan_in, int fan_out,
                   SrRng *rng);
double sr_rng_normal(SrRng *rng); /* N(0, 1) */

typedef struct SrSlot {
  const char *name;
  SrSlotKind kind;
  int rows;            /* -1: one per example in the batch */
  int cols;
  SrInit init;         /* params and consts */
  double init_arg;     /* SR_INIT_CONSTANT, SR_INIT_UNIFORM */
  int fan_in, fan_out; /* params only */
  int in_arena;        /* temps: placed in the model's shared arena (a memory plan) */
  long arena_offset;   /* byte offset there, 64-byte aligned */
} SrSlot;

#define SR_MAX_HIDDEN 64

#define SR_MAX_PRETRAIN SR_MAX_HIDDEN

/* A training step cut in two for data parallelism (dist.h): `grads` leaves
 * the loss and each parameter's gradient in their slots, parameters
 * untouched; the runtime averages the gradients across ranks in place;
 * `apply` updates the parameters from them (SGD or momentum, L2 decay).
 * Its gradients are SrModel.gradients[first .. first + count). */
typedef struct SrSplitStep {
  SrKernel grads;      /* NULL: not compiled for data parallelism */
  SrKernel apply;
  int first, count;
} SrSplitStep;

/* Called by a split step's `grads` kernel (the IR's grad_ready) as soon as
 * the gradient in `slot` is final: under mpirun the runtime may start
 * averaging it across ranks while the backward pass goes on
 * (dist_exchange.c). A cheap no-op in one process and in programs built
 * without MPI. */
void sr_grad_ready(int32_t slot);

/* A gradient the ranks exchange: a float slot of its parameter's shape. */
typedef struct SrGradient {
  int slot;
  int param;           /* the parameter slot it is the gradient of */
} SrGradient;

/* Weights and biases of every layer, plus each pretraining stage's
 * encoder and decoder. */
#define SR_MAX_GRADIENTS (2 * (SR_MAX_HIDDEN + 1) + 4 * SR_MAX_PRETRAIN)

/* One greedy pretraining stage: a denoising autoencoder for one hidden layer. */
typedef struct SrPretrainStage {
  const char *layer;   /* the hidden layer whose encoder it trains */
  SrKernel step;       /* x -> cost, input_max; updates encoder and decoder */
  int slot_cost;       /* 1x1: mean reconstruction cost of the batch */
  int slot_input_max;  /* 1x1: largest |input code| of the batch (0: layer below dead) */
  int epochs, batch;
  SrSplitStep split;   /* its step cut in two (data parallelism) */
  int slot_noise_step; /* uint32 counter of its noise generator, or -1 */
} SrPretrainStage;

typedef struct SrModel {
  const SrSlot *slots;
  int nslots;
  SrKernel train_step; /* x, y -> loss; updates the params in place */
  SrKernel infer;      /* x, y -> probs, loss, zero and non-finite counts */
  int slot_x, slot_y;
  int slot_train_loss; /* 1x1: mean loss of the batch, train_step */
  int slot_loss;       /* 1x1: mean loss of the batch, infer */
  int slot_probs;      /* rows x classes, infer */
  int classes;
  int nhidden;
  const char *hidden_names[SR_MAX_HIDDEN];
  int hidden_units[SR_MAX_HIDDEN];
  int slot_zeros[SR_MAX_HIDDEN]; /* 1x1: exact zeros in that layer's batch output, infer */
  /* 1x1: values of that layer's batch output that are not finite (inf,
   * NaN), infer: the runtime names the first layer where one appears. */
  int slot_nonfinite[SR_MAX_HIDDEN];
  const char *output_name;       /* the output layer's name (slot_probs is its output) */
  int npretrain;
  SrPretrainStage pretrain[SR_MAX_PRETRAIN];
  long arena_bytes;    /* size of the shared arena of planned temps (0: none) */
  int arena_rows;      /* the batch size the plan was made for */
  SrSplitStep train_split;  /* train_step cut in two (data parallelism) */
  int ngradients;
  SrGradient gradients[SR_MAX_GRADIENTS];
} SrModel;

/* ---- state.c ------------------------------------------------------------- */

typedef struct SrState {
  const SrModel *model;
  int max_rows;        /* batch-sized slots hold this many rows */
  void **slots;        /* nslots pointers, 64-byte aligned buffers */
  void *arena;         /* the planned temps' shared memory, or NULL */
  size_t *bytes;       /* size of each buffer */
} SrState;

/* Allocates every slot (batch-sized ones for max_rows rows) and initialises
 * the parameters from `seed`, in slot order. */
int sr_state_init(SrState *st, const SrModel *m, int max_rows, uint64_t seed, SrError *err);
void sr_state_free(SrState *st);
/* Copies the PARAM and CONST slots from src to dst (same model); STATE
 * (optimiser velocity) stays as it is in dst. */
void sr_state_copy_params(SrState *dst, const SrState *src);

/* ---- train.c: evaluation ------------------------------------------------- */

typedef struct SrMetrics {
  double loss;         /* mean over examples */
  double error;        /* fraction misclassified */
  int nhidden;
  double sparsity[SR_MAX_HIDDEN]; /* fraction of exactly-zero activations */
  double mean_sparsity;           /* over all hidden units and examples */
} SrMetrics;

/* Runs `infer` over the whole data set in batches of at most st->max_rows. */
int sr_evaluate(SrState *st, const SrDataset *ds, SrMetrics *out, SrError *err);

/* ---- metrics.c ----------------------------------------------------------- */

typedef enum SrMetricsFormat { SR_METRICS_CSV, SR_METRICS_JSONL } SrMetricsFormat;

typedef struct SrEpochRecord {
  const char *run;     /* label of this training run, e.g. "lr=0.01" in a sweep */
  uint64_t seed;       /* the run's seed: tells the repeats of train.seeds apart */
  int epoch;
  double train_loss;   /* mean objective over the epoch's minibatches */
  int has_valid, has_test;
  SrMetrics valid, test;
  double seconds;
} SrEpochRecord;

typedef struct SrMetricsWriter SrMetricsWriter;

/* Opens (truncates) `path`; the header (CSV) is written with the first
 * record, whose hidden-layer names come from the model. */
SrMetricsWriter *sr_metrics_open(const char *path, SrMetricsFormat format, const SrModel *model,
                                 SrError *err);
/* The same for a resumed run: the file is cut to its first `keep` bytes
 * (what sr_metrics_bytes said when the state was saved) and appended to. */
SrMetricsWriter *sr_metrics_open_at(const char *path, SrMetricsFormat format,
                                    const SrModel *model, long keep, SrError *err);
/* Bytes written so far (every record is flushed). 0 for NULL. */
long sr_metrics_bytes(const SrMetricsWriter *w);
int sr_metrics_write(SrMetricsWriter *w, const SrEpochRecord *rec, SrError *err);
int sr_metrics_close(SrMetricsWriter *w, SrError *err); /* reports a failed flush/close */

/* ---- checkpoint.c -------------------------------------------------------- */

/* Saves every PARAM and CONST slot, by slot name, as float32 safetensors.
 * Written to a temporary file in the same folder, fsync'd, then renamed over
 * `path`: a failure leaves no partial file and the old checkpoint intact.
 * Refuses non-finite values. */
int sr_checkpoint_save(const SrState *st, const char *path, SrError *err);
/* Loads into st's PARAM and CONST slots after validating the whole file
 * (header JSON, names, dtypes, shapes, offsets, size): on any error st is
 * unchanged and the message names what differs. */
int sr_checkpoint_load(SrState *st, const char *path, SrError *err);

/* ---- pretrain.c ---------------------------------------------------------- */

/* The ranks of a data-parallel job (dist.h); NULL = one process. */
typedef struct SrDist SrDist;

typedef struct SrPretrainConfig {
  uint64_t seed;       /* shuffling (a stream of its own per stage) */
  FILE *log;           /* one line per stage and epoch; NULL = quiet */
  int progress;        /* a progress bar on stderr within each epoch */
  /* Checked before every minibatch; when it is non-zero the running stage
   * stops (a signal handler sets it: Ctrl-C in the REPL). NULL = never. */
  volatile sig_atomic_t *stop;
  SrDist *dist;        /* data parallelism across ranks (dist.h); NULL = one process */
  /* Called after each complete epoch of a stage (logged): the experiment
   * engine saves its state there. NULL = nothing. */
  int (*after_epoch)(void *ctx, SrError *err);
  void *ctx;
} SrPretrainConfig;

/* Runs every stage of the model in order: per epoch, shuffled minibatches
 * of the stage's size through its step, the mean reconstruction cost
 * logged. Stops with an error naming the layer and epoch if the cost or a
 * parameter becomes non-finite (the parameters from before the stage are
 * restored, so nothing non-finite survives) or if the stage's input codes
 * are zero on every example of an epoch (the layer below is dead).
 * When *cfg->stop becomes non-zero the running stage is abandoned: its
 * parameters are restored to what they were before it (earlier stages
 * keep theirs) and sr_pretrain fails with a message saying so. */
int sr_pretrain(SrState *st, const SrPretrainConfig *cfg, const SrDataset *train, SrError *err);

/* ---- train.c: the minibatch loop ----------------------------------------- */

typedef struct SrTrainConfig {
  int epochs;
  int batch;
  uint64_t seed;       /* shuffling; a different stream from init */
  int patience;        /* stop after this many epochs without a better validation error; 0 = never */
  FILE *log;           /* one line per epoch; NULL = quiet */
  int progress;        /* draw a progress bar on stderr within each epoch */
  const char *run;     /* label for log lines and metrics (NULL = none) */
  SrMetricsWriter *metrics; /* NULL = none */
  /* Checked before every minibatch; when it is non-zero training stops
   * there (a signal handler sets it: Ctrl-C in the REPL). NULL = never. */
  volatile sig_atomic_t *stop;
  SrDist *dist;        /* data parallelism across ranks (dist.h); NULL = one process */
  /* Called after each complete epoch (logged, metrics written): the
   * experiment engine saves its state there. NULL = nothing. */
  int (*after_epoch)(void *ctx, SrError *err);
  /* Called with each epoch's record, as the metrics file gets it (the
   * REPL's `metrics FILE` writes them later). NULL = nothing. */
  int (*record)(void *ctx, const SrEpochRecord *rec, SrError *err);
  void *ctx;
} SrTrainConfig;

typedef struct SrFitResult {
  int epochs_run;
  int stopped_early;   /* patience ran out */
  int interrupted;     /* *cfg->stop was set: the epoch under way was abandoned */
  int best_epoch;      /* 1-based epoch of lowest validation error */
  SrMetrics best_valid, best_test; /* at best_epoch */
  double seconds;
} SrFitResult;

/* Trains for cfg->epochs epochs: shuffle, minibatches through train_step,
 * then evaluation on valid and test. Keeps the parameters of the epoch with
 * the lowest validation error and restores them at the end. A non-finite
 * training loss stops training with an error naming the epoch. `valid` may
 * have n == 0 (then the last epoch is kept); `test` may be NULL.
 * When *cfg->stop becomes non-zero, the epoch under way is abandoned at
 * the next minibatch, out->interrupted is set and, as at the end of any
 * run, the best complete epoch's parameters (or, before any epoch
 * completed, the parameters sr_fit started from) are restored; that is
 * not an error. */
int sr_fit(SrState *st, const SrTrainConfig *cfg, const SrDataset *train,
           const SrDataset *valid, const SrDataset *test, SrFitResult *out, SrError *err);

/* ---- activity.c ---------------------------------------------------------- */

/* Runs `infer` over the data set in batches of at most st->max_rows and
 * counts, for each of `nlayers` layers, on how many examples each unit is
 * non-zero: active[k][u] for unit u of layer k. Slot slots[k] must hold
 * that layer's output (rows x units) still intact when `infer` returns,
 * i.e. be a live output of the inference program (a unit whose count is 0
 * is dead on this data set). */
int sr_unit_activity(SrState *st, const SrDataset *ds, const int *slots, int nlayers,
                     int32_t *const *active, SrError *err);

#endif
