/* sparsert_internal.h: what runtime files share with each other (and with
 * the runtime's tests) but generated code and the driver never call. */
#ifndef SPARSEC_SPARSERT_INTERNAL_H
#define SPARSEC_SPARSERT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "sparsert.h"

/* ---- state.c ------------------------------------------------------------- */

/* Finds the first non-finite element of a PARAM or CONST slot: returns 1
 * and sets *slot and *index, or returns 0 if every value is finite. */
int sr_state_find_nonfinite(const SrState *st, int *slot, size_t *index);

/* "nan", "inf" or "-inf": printf shows a NaN with its sign bit as "-nan",
 * which means nothing to a user. */
const char *sr_nonfinite_name(double x);

/* ---- train.c ------------------------------------------------------------- */

/* Copies the examples perm[0..rows) into the input and label slots. */
void sr_gather_batch(SrState *st, const SrDataset *ds, const int32_t *perm, int rows);
/* Copies the consecutive examples start..start+rows into them. */
void sr_copy_rows(SrState *st, const SrDataset *ds, int start, int rows);
/* The message of a non-finite training loss (train.c) or reconstruction
 * cost (pretrain.c), shared by the one-process and the data-parallel loops;
 * return -1. */
int sr_fail_loss(SrError *err, int epoch, int batch, float loss);
int sr_fail_cost(SrError *err, const char *layer, int epoch, float cost);
double sr_now(void); /* seconds, monotonic */

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

typedef struct SrStHeader {
  SrStTensor *t;       /* in the order of the file */
  int n;
  size_t data_at;      /* file offset of the data: 8 + header length */
} SrStHeader;

/* Parses the length and the JSON header of the file in buf[0..size),
 * size >= 8. Errors name the path (and the byte offset in the file). */
int sr_safetensors_header(const char *path, const uint8_t *buf, size_t size, SrStHeader *h,
                          SrError *err);
void sr_safetensors_free(SrStHeader *h);

/* ---- progress.c ---------------------------------------------------------- */

/* A one-line progress bar for one epoch, redrawn in place with \r. Times
 * are passed in (seconds, any origin) so that tests can script them. */
typedef struct SrProgress {
  FILE *out;
  int epoch;
  int total;           /* examples in the epoch */
  double start;        /* when the epoch began */
  double last_draw;    /* when the bar was last drawn (start if never) */
  int shown;           /* characters of the bar now on the line; 0 = none */
} SrProgress;

void sr_progress_start(SrProgress *p, FILE *out, int epoch, int total, double now);
/* Redraws the bar for `done` examples, at most every SR_PROGRESS_INTERVAL. */
void sr_progress_update(SrProgress *p, int done, double now);
/* Blanks the bar's line so that the next output starts on a clean line. */
void sr_progress_clear(SrProgress *p);

#define SR_PROGRESS_INTERVAL 0.1 /* seconds between redraws */

#endif
