/* program_data.c: the data a compiled program reads: the spec's training
 * and test sets, prepared exactly as `sparsec run` prepares them (so that
 * PROG train repeats run's experiment), and the inputs of `predict`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"

static int load_file(const SrProgramConfig *cfg, const SrDataFile *f, SrDataset *out,
                     SrError *err) {
  float scale = (float)cfg->scale;
  if (!f->path || (f->format == SR_DATA_IDX && !f->labels) ||
      (f->format == SR_DATA_CSV && !f->label_column))
    return sr_fail(err, "the model's data block names no complete data set");
  if (f->format == SR_DATA_CSV)
    return sr_dataset_load_csv(f->path, f->label_column, scale, out, err);
  if (f->format == SR_DATA_LIBSVM) /* the width and the labels are checked line by line */
    return sr_dataset_load_libsvm(f->path, cfg->input, cfg->classes, scale, out, err);
  return sr_dataset_load_idx(f->path, f->labels, scale, out, err);
}

/* The set against the model, each error naming the file and the example:
 * the record of an IDX labels file, the line of a CSV file. */
static int check_set(const SrProgramConfig *cfg, const SrDataFile *f, const char *what,
                     const SrDataset *ds, SrError *err) {
  const char *labels = f->format == SR_DATA_IDX ? f->labels : f->path;
  if (ds->n == 0)
    return sr_fail(err, "%s: the %s has no examples", f->path, what);
  if (ds->dim != cfg->input)
    return sr_fail(err, "%s: the %s's examples have %d features, the model's input is %d", f->path,
                   what, ds->dim, cfg->input);
  if (f->format == SR_DATA_LIBSVM) /* libsvm.c checked every label, naming its line */
    return 0;
  for (int i = 0; i < ds->n; i++) {
    if (ds->y[i] >= 0 && ds->y[i] < cfg->classes)
      continue;
    if (f->format == SR_DATA_IDX)
      return sr_fail(err, "%s: record %d: label %d is outside the model's classes 0..%d", labels,
                     i, (int)ds->y[i], cfg->classes - 1);
    /* csv.c allows blank lines only at the end: row i is line i + 2 */
    return sr_fail(err, "%s:%d: label %d in column '%s' is outside the model's classes 0..%d",
                   labels, i + 2, (int)ds->y[i], f->label_column, cfg->classes - 1);
  }
  return 0;
}

int sr_program_load_set(const SrProgramConfig *cfg, const SrDataFile *f, const char *what,
                        SrDataset *out, SrError *err) {
  memset(out, 0, sizeof *out);
  if (load_file(cfg, f, out, err) == 0 && check_set(cfg, f, what, out, err) == 0)
    return 0;
  sr_dataset_free(out);
  return -1;
}

static int holdout_count(const SrProgramConfig *cfg, int n) {
  if (cfg->validation_fraction > 0)
    return (int)(cfg->validation_fraction * n);
  return cfg->validation;
}

int sr_program_read_data(const SrProgramConfig *cfg, SrProgramData *d, SrError *err) {
  memset(d, 0, sizeof *d);
  SrDataSet failed = SR_SET_NONE;
  if (sr_program_load_set(cfg, &cfg->train, "training set", &d->train_all, err) != 0)
    failed = SR_SET_TRAIN;
  else if (sr_program_load_set(cfg, &cfg->test, "test set", &d->test, err) != 0)
    failed = SR_SET_TEST;
  if (failed != SR_SET_NONE) {
    sr_program_data_free(d);
    d->failed = failed;
    return -1;
  }
  d->train_read = d->train_all.n;
  return 0;
}

int sr_program_split_data(const SrProgramConfig *cfg, SrProgramData *d, SrError *err) {
  d->train_all.n = d->train_read;
  if (cfg->limit > 0 && cfg->limit < d->train_all.n)
    d->train_all.n = cfg->limit; /* the first `limit` examples */
  int holdout = holdout_count(cfg, d->train_all.n);
  d->failed = SR_SET_SPLIT;
  if (holdout >= d->train_all.n)
    return sr_fail(err, "%s: the validation hold-out (%d examples) leaves no training data (%d in "
                   "all%s)", cfg->train.path, holdout, d->train_all.n,
                   d->train_all.n < d->train_read ? ", after data.limit" : "");
  if (sr_dataset_split_tail(&d->train_all, holdout, &d->train, &d->valid, err) != 0)
    return -1;
  d->failed = SR_SET_NONE;
  return 0;
}

int sr_program_load_data(const SrProgramConfig *cfg, SrProgramData *d, SrError *err) {
  if (sr_program_read_data(cfg, d, err) != 0)
    return -1;
  return sr_program_split_data(cfg, d, err);
}

static int same_string(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_file(const SrDataFile *a, const SrDataFile *b) {
  return a->format == b->format && same_string(a->path, b->path) &&
         same_string(a->labels, b->labels) && same_string(a->label_column, b->label_column);
}

int sr_program_same_files(const SrProgramConfig *a, const SrProgramConfig *b) {
  return same_file(&a->train, &b->train) && same_file(&a->test, &b->test) &&
         a->scale == b->scale && a->input == b->input && a->classes == b->classes;
}

void sr_program_data_free(SrProgramData *d) {
  sr_dataset_free(&d->train_all);
  sr_dataset_free(&d->test);
  memset(d, 0, sizeof *d);
}

/* ---- inputs to predict ------------------------------------------------------ */

/* IDX files start with two zero bytes, gzip'd ones with 1f 8b; anything
 * else is taken for CSV. 1 for IDX, 0 for CSV, -1 if unreadable. */
static int looks_like_idx(const char *path, SrError *err) {
  if (strcmp(path, "-") == 0) /* standard input: CSV (it cannot be peeked at and reread) */
    return 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return sr_fail(err, "%s: cannot open: %s", path, strerror(errno));
  unsigned char head[2] = {0xff, 0xff};
  size_t n = fread(head, 1, 2, f);
  fclose(f);
  return n == 2 && ((head[0] == 0 && head[1] == 0) || (head[0] == 0x1f && head[1] == 0x8b));
}

/* Images alone, n x d or n x h x w: predicting needs no labels. */
static int load_idx_images(const SrProgramConfig *cfg, const char *path, SrDataset *out,
                           SrError *err) {
  SrIdx img;
  if (sr_idx_load(path, &img, err) != 0)
    return -1;
  int dim = img.ndim == 3 ? img.dims[1] * img.dims[2] : img.ndim == 2 ? img.dims[1] : -1;
  int rc = 0;
  if (dim != cfg->input)
    rc = sr_fail(err, "%s: %s, the model's input is %d features", path,
                 dim < 0 ? "images must have 2 or 3 dimensions" : "examples have another width",
                 cfg->input);
  if (rc == 0) {
    out->n = img.dims[0];
    out->dim = dim;
    out->owns = 1;
    out->x = malloc(img.count * sizeof *out->x);
    out->y = calloc((size_t)out->n + 1, sizeof *out->y);
    if (!out->x || !out->y)
      rc = sr_fail(err, "%s: out of memory for %d examples (%zu bytes)", path, out->n,
                   img.count * sizeof *out->x + ((size_t)out->n + 1) * sizeof *out->y);
  }
  for (size_t i = 0; rc == 0 && i < img.count; i++)
    out->x[i] = (float)img.data[i] * (float)cfg->scale;
  sr_idx_free(&img);
  return rc;
}

int sr_program_load_inputs(const SrProgramConfig *cfg, const char *path, const char *label_column,
                           int label_required, SrDataset *out, SrError *err) {
  memset(out, 0, sizeof *out);
  if (!label_column) /* the spec's test set's, else "label" */
    label_column = cfg->test.format == SR_DATA_CSV && cfg->test.label_column
                       ? cfg->test.label_column
                       : "label";
  float scale = (float)cfg->scale;
  /* a model trained on sparse rows predicts sparse rows (labels optional: svmlight's 0) */
  if (cfg->train.format == SR_DATA_LIBSVM) {
    /* on failure it leaves `out` empty: nothing to free */
    return sr_dataset_load_libsvm(path, cfg->input, label_required ? cfg->classes : 0, scale,
                                  out, err);
  }
  int idx = looks_like_idx(path, err);
  int rc = idx < 0             ? -1
           : idx               ? load_idx_images(cfg, path, out, err)
           : label_required    ? sr_dataset_load_csv(path, label_column, scale, out, err)
                               : sr_dataset_load_csv_inputs(path, label_column, cfg->features,
                                                            scale, out, err);
  if (rc == 0 && out->dim != cfg->input)
    rc = sr_fail(err, "%s: examples have %d features, the model's input is %d",
                 strcmp(path, "-") == 0 ? "<stdin>" : path, out->dim, cfg->input);
  if (rc != 0)
    sr_dataset_free(out);
  return rc;
}
