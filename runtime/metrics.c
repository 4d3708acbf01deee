/* metrics.c: per-epoch metrics as CSV or JSON lines.
 *
 * One record per epoch, for plotting and for comparing the runs of a sweep
 * (the `run` label tells them apart). Both formats have the same fields:
 *   run, epoch, train_loss, valid_data_loss, valid_error, test_data_loss, test_error,
 *   zeros per hidden layer, mean_zeros, seed, seconds (that epoch's wall time)
 * `seed` is the training run's seed: with train.seeds the run is repeated
 * with seed, seed+1, ... and the column tells the repeats apart. It came
 * after the others, before the seconds, which stay last (readers drop the
 * last column to compare runs).
 * A set that is absent leaves its fields empty (CSV) or null (JSON). The
 * zeros (fraction of exactly-zero activations) are measured on the
 * validation set, or on the test set when there is none, as in the log.
 *
 * Each record is flushed as it is written: a run that is killed keeps the
 * epochs it finished, and a full disk is reported at the epoch it happens. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sparsert_internal.h"

struct SrMetricsWriter {
  FILE *f;
  char *path;
  SrMetricsFormat format;
  int nhidden;
  char *names[SR_MAX_HIDDEN]; /* copies: the model may go before the writer */
  long records;               /* written so far; the CSV header comes with the first */
  int error;                  /* errno of the first failed write, 0 if none */
};

/* ---- quoting ------------------------------------------------------------- */

/* RFC 4180: a field with a comma, quote or line break is quoted, its
 * quotes doubled. Run labels such as "lr=0.01,l1=1e-4" need it. */
static void csv_string(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

void sr_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* JSON has no NaN or infinity: those become null. CSV readers (pandas,
 * R) understand nan and inf. */
static void number(const SrMetricsWriter *w, double x) {
  if (isfinite(x))
    fprintf(w->f, "%.6g", x);
  else if (w->format == SR_METRICS_JSONL)
    fputs("null", w->f);
  else
    fputs(sr_nonfinite_name(x), w->f);
}

/* A field that may be absent: empty in CSV, null in JSON. */
static void maybe_number(const SrMetricsWriter *w, int present, double x) {
  if (present)
    number(w, x);
  else if (w->format == SR_METRICS_JSONL)
    fputs("null", w->f);
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_header(SrMetricsWriter *w) {
  fputs("run,epoch,train_loss,valid_data_loss,valid_error,test_data_loss,test_error", w->f);
  for (int k = 0; k < w->nhidden; k++) {
    fputs(",", w->f);
    char column[256];
    snprintf(column, sizeof column, "zeros_%s", w->names[k]);
    csv_string(w->f, column);
  }
  fputs(",mean_zeros,seed,seconds\n", w->f);
}

static void csv_record(SrMetricsWriter *w, const SrEpochRecord *r, const SrMetrics *zeros) {
  if (w->records == 0)
    csv_header(w);
  csv_string(w->f, r->run ? r->run : "");
  fprintf(w->f, ",%d,", r->epoch);
  number(w, r->train_loss);
  const double *sets[][2] = {{&r->valid.loss, &r->valid.error}, {&r->test.loss, &r->test.error}};
  int present[] = {r->has_valid, r->has_test};
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 2; i++) {
      fputc(',', w->f);
      maybe_number(w, present[s], *sets[s][i]);
    }
  for (int k = 0; k < w->nhidden; k++) {
    fputc(',', w->f);
    maybe_number(w, zeros != NULL, zeros ? zeros->sparsity[k] : 0);
  }
  fputc(',', w->f);
  maybe_number(w, zeros != NULL, zeros ? zeros->mean_sparsity : 0);
  fprintf(w->f, ",%" PRIu64 ",", r->seed);
  number(w, r->seconds);
  fputc('\n', w->f);
}

/* ---- JSON lines ---------------------------------------------------------- */

static void json_field(SrMetricsWriter *w, const char *key, int present, double x) {
  fprintf(w->f, ",\"%s\":", key);
  maybe_number(w, present, x);
}

static void json_zeros(SrMetricsWriter *w, const SrMetrics *zeros) {
  fputs(",\"zeros\":", w->f);
  if (!zeros) {
    fputs("null", w->f);
    return;
  }
  fputc('{', w->f);
  for (int k = 0; k < w->nhidden; k++) {
    if (k > 0)
      fputc(',', w->f);
    sr_json_string(w->f, w->names[k]);
    fputc(':', w->f);
    number(w, zeros->sparsity[k]);
  }
  fputc('}', w->f);
}

static void json_record(SrMetricsWriter *w, const SrEpochRecord *r, const SrMetrics *zeros) {
  fputs("{\"run\":", w->f);
  if (r->run)
    sr_json_string(w->f, r->run);
  else
    fputs("null", w->f);
  fprintf(w->f, ",\"epoch\":%d", r->epoch);
  json_field(w, "train_loss", 1, r->train_loss);
  json_field(w, "valid_data_loss", r->has_valid, r->valid.loss);
  json_field(w, "valid_error", r->has_valid, r->valid.error);
  json_field(w, "test_data_loss", r->has_test, r->test.loss);
  json_field(w, "test_error", r->has_test, r->test.error);
  json_zeros(w, zeros);
  json_field(w, "mean_zeros", zeros != NULL, zeros ? zeros->mean_sparsity : 0);
  fprintf(w->f, ",\"seed\":%" PRIu64, r->seed);
  json_field(w, "seconds", 1, r->seconds);
  fputs("}\n", w->f);
}

/* ---- the writer ---------------------------------------------------------- */

static void free_writer(SrMetricsWriter *w) {
  for (int k = 0; k < SR_MAX_HIDDEN; k++)
    free(w->names[k]);
  free(w->path);
  free(w);
}

/* Layers without a name are called h1, h2, ... as in the training log. */
static int copy_names(SrMetricsWriter *w, const SrModel *model) {
  for (int k = 0; k < w->nhidden; k++) {
    char fallback[16];
    snprintf(fallback, sizeof fallback, "h%d", k + 1);
    const char *name = model->hidden_names[k] ? model->hidden_names[k] : fallback;
    if (!(w->names[k] = strdup(name)))
      return -1;
  }
  return 0;
}

/* A resumed run keeps the records its state had seen: the file is cut
 * back to that length (records written after the state are written
 * again) and appended to; the CSV header is already there. */
static FILE *open_at(const char *path, long keep) {
  if (keep <= 0)
    return fopen(path, "w");
  struct stat sb;
  if (stat(path, &sb) != 0)
    return NULL;
  if (sb.st_size < keep) { /* truncate would extend it: the state or the file is damaged */
    errno = EINVAL;
    return NULL;
  }
  if (truncate(path, (off_t)keep) != 0)
    return NULL;
  return fopen(path, "a");
}

SrMetricsWriter *sr_metrics_open(const char *path, SrMetricsFormat format, const SrModel *model,
                                 SrError *err) {
  return sr_metrics_open_at(path, format, model, 0, err);
}

long sr_metrics_bytes(const SrMetricsWriter *w) {
  return w ? ftell(w->f) : 0;
}

SrMetricsWriter *sr_metrics_open_at(const char *path, SrMetricsFormat format,
                                    const SrModel *model, long keep, SrError *err) {
  if (format != SR_METRICS_CSV && format != SR_METRICS_JSONL) {
    sr_fail(err, "%s: unknown metrics format %d", path, (int)format);
    return NULL;
  }
  if (model->nhidden < 0 || model->nhidden > SR_MAX_HIDDEN) {
    sr_fail(err, "%s: model has %d hidden layers (at most %d)", path, model->nhidden,
            SR_MAX_HIDDEN);
    return NULL;
  }
  SrMetricsWriter *w = calloc(1, sizeof *w);
  if (!w) {
    sr_fail(err, "%s: out of memory for the metrics writer", path);
    return NULL;
  }
  w->format = format;
  w->nhidden = model->nhidden;
  if (!(w->path = strdup(path)) || copy_names(w, model) < 0) {
    sr_fail(err, "%s: out of memory for the metrics writer", path);
    free_writer(w);
    return NULL;
  }
  if (!(w->f = open_at(path, keep))) {
    sr_fail(err, "%s: cannot open for writing: %s", path, strerror(errno));
    free_writer(w);
    return NULL;
  }
  w->records = keep > 0; /* the header is there */
  return w;
}

int sr_metrics_write(SrMetricsWriter *w, const SrEpochRecord *rec, SrError *err) {
  const SrMetrics *zeros = rec->has_valid ? &rec->valid : rec->has_test ? &rec->test : NULL;
  errno = 0; /* so that a failure below is not blamed on an older errno */
  if (w->format == SR_METRICS_CSV)
    csv_record(w, rec, zeros);
  else
    json_record(w, rec, zeros);
  w->records++;
  if ((fflush(w->f) != 0 || ferror(w->f)) && w->error == 0)
    w->error = errno ? errno : EIO;
  if (w->error)
    return sr_fail(err, "%s: write error: %s", w->path, strerror(w->error));
  return 0;
}

/* Reports any write failure, including one sr_metrics_write already
 * reported, so that checking the close alone is enough. */
int sr_metrics_close(SrMetricsWriter *w, SrError *err) {
  if (!w)
    return 0;
  errno = 0;
  if (fclose(w->f) != 0 && w->error == 0)
    w->error = errno ? errno : EIO;
  int rc = w->error ? sr_fail(err, "%s: write error: %s", w->path, strerror(w->error)) : 0;
  free_writer(w);
  return rc;
}
