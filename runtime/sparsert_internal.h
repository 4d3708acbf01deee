/* sparsert_internal.h: what runtime files share with each other (and with
 * the runtime's tests) but generated code and the driver never call. */
#ifndef SPARSEC_SPARSERT_INTERNAL_H
#define SPARSEC_SPARSERT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "sparsert.h"

/* ---- decimal.c ----------------------------------------------------------- */

/* s is [+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)?: what strtof reads, less
 * hexadecimal, inf, infinity, nan and leading white space of any kind. */
int sr_is_decimal(const char *s);
/* s is one or more digits, nothing else (a label, an index). */
int sr_is_digits(const char *s);
/* s starts like a hexadecimal number, [+-]?0[xX] (for messages). */
int sr_is_hexadecimal(const char *s);

/* ---- gzfile.c ------------------------------------------------------------ */

struct z_stream_s; /* zlib's, kept out of this header */

/* A data file's content: its bytes as they are, or inflated when the file
 * starts with the gzip magic number (concatenated members are read on;
 * trailing garbage, a corrupt or cut-off stream are errors naming the
 * file). Read with sr_gzfile_read, in pieces of any size. */
typedef struct SrGzFile {
  const char *path;
  SrError *err;        /* where every failure is reported */
  int fd;
  int size_known;      /* a regular file: size is its length */
  uint64_t size;
  uint64_t consumed;   /* bytes read from the file so far (compressed, for gzip) */
  int gzip;            /* the file starts with the gzip magic number */
  int ended;           /* no more content: end of file, or of the last member */
  /* the reader's own */
  int zlive, member_done, at_eof;
  struct z_stream_s *z;
  uint8_t *in;         /* compressed input (gzip only) */
  uint8_t head[2];     /* the first bytes, read to look for the gzip magic */
  int nhead, headpos;  /* raw files: how many, how many handed out */
} SrGzFile;

/* Opens `path` ("PATH: cannot open: REASON"; "-": standard input, named
 * <stdin> in messages) and looks for the gzip magic. */
int sr_gzfile_open(SrGzFile *f, const char *path, SrError *err);
/* Up to `want` bytes of content into buf; fewer only at the end (then
 * f->ended is set). */
int sr_gzfile_read(SrGzFile *f, void *buf, size_t want, size_t *got);
/* Safe after a failed open too. */
void sr_gzfile_close(SrGzFile *f);

/* ---- state.c ------------------------------------------------------------- */

/* Finds the first non-finite element of a PARAM or CONST slot: returns 1
 * and sets *slot and *index, or returns 0 if every value is finite. */
int sr_state_find_nonfinite(const SrState *st, int *slot, size_t *index);
/* The parameters drawn again from `seed` (as sr_state_init does), the
 * optimiser state zeroed: a fresh start in the same memory. */
void sr_state_reinit(SrState *st, uint64_t seed);

/* "nan", "inf" or "-inf": printf shows a NaN with its sign bit as "-nan",
 * which means nothing to a user. */
const char *sr_nonfinite_name(double x);

/* ---- train.c ------------------------------------------------------------- */

/* Copies the examples perm[0..rows) into the input and label slots. */
void sr_gather_batch(SrState *st, const SrDataset *ds, const int32_t *perm, int rows);
/* Copies the consecutive examples start..start+rows into them. */
void sr_copy_rows(SrState *st, const SrDataset *ds, int start, int rows);
/* (infer.c) After `infer` ran on a batch of `rows` examples, the first of them
 * example `start` (0-based) of the caller's data: 0 if every hidden
 * pre-activation (the model's slot_nonfinite counts), every probability
 * and, with `with_loss`, the loss are finite; else -1 with a message that
 * names the first layer where a value is not finite and the batch's
 * examples (1-based), e.g. "layer h2: 640 of 640 activations are not
 * finite (inf or NaN) in examples 1..64: ...". The model's count slots
 * must have been checked (sr_check_nonfinite_slots). */
int sr_check_infer_finite(const SrState *st, long start, int rows, int with_loss, SrError *err);
/* (infer.c) sr_infer_rows (program.h) with each batch's rows [first,
 * first + rows) of `set` put into the input slot by `fill`, e.g. sparse
 * rows scattered into zeros. */
typedef void (*SrFillInput)(float *slot, const void *set, int first, int rows);
int sr_infer_batches(SrState *st, SrFillInput fill, const void *set, int rows, float *probs,
                     SrError *err);
/* The model's slot_nonfinite slots exist and hold a float each. */
int sr_check_nonfinite_slots(const SrState *st, SrError *err);
/* The message of a non-finite training loss (train.c) or reconstruction
 * cost (pretrain.c), shared by the one-process and the data-parallel loops;
 * return -1. */
int sr_fail_loss(SrError *err, int epoch, int batch, float loss);
int sr_fail_cost(SrError *err, const char *layer, int epoch, float cost);
double sr_now(void); /* seconds, monotonic */

/* A loop over shuffled minibatches that can stop between two of them and
 * go on later, also in another process (run_state.c saves it): the
 * training epochs of one learning rate, or one pretraining stage. */
typedef struct SrLoop {
  SrRng rng;           /* the shuffle stream */
  int32_t *perm;       /* n: the order of the epoch under way */
  int n;
  int epoch;           /* epochs completed */
  int step;            /* minibatches done of the epoch under way; 0: not begun, not shuffled */
  double sum;          /* loss (pretraining: cost) times rows, over those minibatches */
  float input_max;     /* pretraining: the largest input code of those minibatches */
} SrLoop;

int sr_loop_init(SrLoop *l, int n, uint64_t seed, SrError *err); /* perm = identity */
void sr_loop_free(SrLoop *l);
void sr_loop_begin_epoch(SrLoop *l); /* draws the shuffle unless the epoch has begun */
void sr_loop_end_epoch(SrLoop *l);

/* The supervised training of one learning rate, between calls. */
typedef struct SrFit {
  SrLoop loop;
  int best_epoch;      /* 0: none yet */
  SrMetrics best_valid, best_test;
  int stopped_early;
  SrState best;        /* the best epoch's parameters (one row) */
} SrFit;

/* A fresh run: the shuffle stream of cfg->seed, best = st's parameters. */
int sr_fit_start(SrFit *fit, const SrState *st, const SrTrainConfig *cfg, int n, SrError *err);
/* Trains on from where `fit` is until cfg->epochs are complete, patience
 * runs out, or the stop flag is raised (then 1, with `fit` at the next
 * minibatch; st keeps its parameters). 0 when done, -1 on error. The
 * parameters are not restored to the best epoch's: the caller decides. */
int sr_fit_run(SrState *st, const SrTrainConfig *cfg, const SrDataset *train,
               const SrDataset *valid, const SrDataset *test, SrFit *fit, SrFitResult *out,
               SrError *err);
int sr_fit_done(const SrFit *fit, const SrTrainConfig *cfg);
/* What `fit` has done so far, as an SrFitResult (seconds and interrupted 0). */
void sr_fit_result(const SrFit *fit, SrFitResult *out);
void sr_fit_free(SrFit *fit);

/* Greedy pretraining between calls: stages done, and the stage under way. */
typedef struct SrPretrainRun {
  int stage;           /* stages completed */
  int started;         /* loop is the stage under way's */
  SrLoop loop;
  SrState before;      /* the parameters before the stage under way (one row) */
} SrPretrainRun;

int sr_pretrain_start(SrPretrainRun *p, const SrState *st, SrError *err);
/* Runs the stages from where `p` is: every remaining one (only < 0) or
 * stage `only` alone, from its start. 0 when done, 1 when the stop flag
 * was raised (p holds the next minibatch), -1 on error (the stage's
 * parameters restored to what they were before it). */
int sr_pretrain_run(SrState *st, const SrPretrainConfig *cfg, const SrDataset *train,
                    SrPretrainRun *p, int only, SrError *err);
void sr_pretrain_free(SrPretrainRun *p);

/* ---- checkpoint.c -------------------------------------------------------- */

#define SR_STATE_FORMAT "sparsec-state" /* run_state.c's files */

int sr_check_model_names(const SrModel *m, const char *path, SrError *err);
int sr_refuse_nonfinite(const SrState *st, const char *path, SrError *err);

/* ---- metrics.c ----------------------------------------------------------- */

/* Writes s as a JSON string: quotes, backslashes and control characters
 * escaped, other bytes (UTF-8) as they are. checkpoint.c uses it too. */
void sr_json_string(FILE *f, const char *s);

/* ---- safetensors.c ------------------------------------------------------- */

#define SR_ST_MAX_DIMS 8

/* One tensor as the header describes it (nothing checked but syntax). */
typedef struct SrStTensor {
  char *name;
  char *dtype;
  int ndim;
  uint64_t shape[SR_ST_MAX_DIMS];
  uint64_t begin, end; /* data_offsets: relative to the start of the data */
  int slot;            /* -1; checkpoint.c sets the model slot it matches */
} SrStTensor;

/* One entry of __metadata__ (a string-to-string map). */
typedef struct SrStMeta {
  char *key, *value;
} SrStMeta;

typedef struct SrStHeader {
  SrStTensor *t;       /* in the order of the file */
  int n;
  SrStMeta *meta;      /* __metadata__, in the order of the file */
  int nmeta;
  int *by_name;        /* n indices into t, sorted by name (sr_safetensors_find) */
  size_t data_at;      /* file offset of the data: 8 + header length */
} SrStHeader;

/* Parses the length and the JSON header of the file in buf[0..size),
 * size >= 8. Errors name the path (and the byte offset in the file). */
int sr_safetensors_header(const char *path, const uint8_t *buf, size_t size, SrStHeader *h,
                          SrError *err);
void sr_safetensors_free(SrStHeader *h);
/* The metadata value of `key`, or NULL. */
const char *sr_safetensors_meta(const SrStHeader *h, const char *key);

/* A whole file read and checked against itself: every tensor's dtype is
 * one of F32, I32, U32, its offsets match its shape, and the tensors tile
 * the data exactly (nothing overlaps, nothing is left over, nothing is
 * missing). Errors name the path and what is wrong. */
typedef struct SrStFile {
  const char *path;
  uint8_t *buf;
  size_t size;
  SrStHeader h;
} SrStFile;

int sr_safetensors_read(const char *path, SrStFile *f, SrError *err);
void sr_safetensors_close(SrStFile *f);
const SrStTensor *sr_safetensors_find(const SrStFile *f, const char *name);
/* Copies the tensor's elements (4-byte little-endian words) to out. */
void sr_safetensors_words(const SrStFile *f, const SrStTensor *t, void *out);
/* "[2, 3]" */
void sr_safetensors_shape(char *buf, size_t size, const SrStTensor *t);

/* A tensor to write: ndim dimensions, 4-byte elements (F32, I32 or U32). */
typedef struct SrStOut {
  const char *name;
  const char *dtype;
  int ndim;
  int64_t shape[SR_ST_MAX_DIMS];
  const void *data;
} SrStOut;

/* Writes the tensors and the metadata atomically: a temporary file in the
 * same folder, fsync'd, renamed over `path`, the folder synced. A failure
 * leaves the old file as it was and no temporary file. */
int sr_safetensors_write(const char *path, const SrStOut *t, int n, const SrStMeta *meta,
                         int nmeta, SrError *err);
/* Removes the temporary file of a write under way, if any: for a signal
 * handler that ends the process in the middle of one (async-signal-safe). */
void sr_safetensors_abandon(void);

/* The model's PARAM and CONST slots as tensors to write, named
 * PREFIX+slot name (prefix NULL: the slot's name; else names[i] are
 * malloc'd, for the caller to free). Returns the count, -1 out of memory. */
int sr_model_tensors(const SrState *st, const char *prefix, SrStOut *out, char **names);
/* Loads the model's tensors of a file read by sr_safetensors_read. */
int sr_checkpoint_load_file(SrState *st, SrStFile *f, SrError *err);
/* Every element of the F32 tensor t is finite; else an error naming it. */
int sr_check_finite(const SrStFile *f, const SrStTensor *t, SrError *err);

/* ---- signal_at.c ---------------------------------------------------------- */

typedef enum SrSignalPoint { SR_AT_NONE, SR_AT_STEP, SR_AT_EVAL, SR_AT_WRITE } SrSignalPoint;
/* Raises the signal SPARSEC_SIGNAL_AT asks for at its point (tests only). */
void sr_signal_at(SrSignalPoint p);

/* ---- progress.c ---------------------------------------------------------- */

/* A one-line progress bar for one epoch, redrawn in place with \r. Times
 * are passed in (seconds, any origin) so that tests can script them. */
typedef struct SrProgress {
  FILE *out;
  char label[96];      /* the phase: "epoch 3", "lr=0.1 epoch 3", "pretrain h1 epoch 2" */
  const char *loss_name; /* "loss" or "cost" (pretraining), as the epoch lines say */
  int total;           /* examples in the epoch */
  double start;        /* when the epoch began */
  double last_draw;    /* when the bar was last drawn (start if never) */
  int shown;           /* characters of the bar now on the line; 0 = none */
} SrProgress;

void sr_progress_start(SrProgress *p, FILE *out, const char *label, const char *loss_name,
                       int total, double now);
/* Redraws the bar for `done` examples whose losses sum to loss_sum (the
 * running mean is shown), at most every SR_PROGRESS_INTERVAL. */
void sr_progress_update(SrProgress *p, int done, double loss_sum, double now);
/* Blanks the bar's line so that the next output starts on a clean line. */
void sr_progress_clear(SrProgress *p);

#define SR_PROGRESS_INTERVAL 0.1 /* seconds between redraws */

#endif
