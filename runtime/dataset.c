/* dataset.c: examples in memory, hold-out split, width/label checks.
 *
 * A data set is a dense float matrix plus int32 labels, the layout the
 * generated kernels read, or compressed sparse rows (libsvm.c) that are
 * scattered into that layout a batch at a time (sr_dataset_row). Loading
 * turns an image IDX (n x h x w or n x d) and a label IDX (n) into the
 * dense form, checking that the two files agree. */
#include <stdlib.h>
#include <string.h>

#include "sparsert.h"

/* Images may be n x h x w (MNIST) or already flattened n x d. */
static int image_width(const SrIdx *img, const char *path, int *dim, SrError *err) {
  if (img->ndim == 3)
    *dim = img->dims[1] * img->dims[2]; /* fits: the file's count fits in an int */
  else if (img->ndim == 2)
    *dim = img->dims[1];
  else
    return sr_fail(err, "%s: images must have 2 or 3 dimensions (n x d or n x h x w), file has %d",
                   path, img->ndim);
  return 0;
}

static int check_labels_file(const SrIdx *lab, const char *path, SrError *err) {
  if (lab->ndim != 1)
    return sr_fail(err, "%s: labels must have 1 dimension, file has %d", path, lab->ndim);
  return 0;
}

/* Converts the validated files into floats and int32 labels. */
static int fill_dataset(const char *images, const SrIdx *img, const SrIdx *lab, int dim, float scale,
                        SrDataset *out, SrError *err) {
  out->n = img->dims[0];
  out->dim = dim;
  out->owns = 1;
  out->x = malloc(img->count * sizeof *out->x);
  out->y = malloc((size_t)out->n * sizeof *out->y);
  if (!out->x || !out->y)
    return sr_fail(err, "%s: out of memory for %d examples of %d features (%zu bytes)", images,
                   out->n, dim, img->count * sizeof *out->x + (size_t)out->n * sizeof *out->y);
  for (size_t i = 0; i < img->count; i++)
    out->x[i] = (float)img->data[i] * scale;
  for (int i = 0; i < out->n; i++)
    out->y[i] = lab->data[i];
  return 0;
}

int sr_dataset_load_idx(const char *images, const char *labels, float scale, SrDataset *out,
                        SrError *err) {
  memset(out, 0, sizeof *out);
  SrIdx img, lab = {0};
  int dim = 0;
  int rc = sr_idx_load(images, &img, err);
  if (rc == 0)
    rc = image_width(&img, images, &dim, err);
  if (rc == 0)
    rc = sr_idx_load(labels, &lab, err);
  if (rc == 0)
    rc = check_labels_file(&lab, labels, err);
  if (rc == 0 && img.dims[0] != lab.dims[0])
    rc = sr_fail(err, "%s has %d images but %s has %d labels", images, img.dims[0], labels,
                 lab.dims[0]);
  if (rc == 0)
    rc = fill_dataset(images, &img, &lab, dim, scale, out, err);
  sr_idx_free(&img);
  sr_idx_free(&lab);
  if (rc < 0)
    sr_dataset_free(out);
  return rc;
}

int sr_dataset_check(const SrDataset *ds, int dim, int classes, const char *what, SrError *err) {
  if (ds->n > 0 && ds->dim != dim)
    return sr_fail(err, "%s: examples have %d features, the model's input is %d", what, ds->dim,
                   dim);
  for (int i = 0; i < ds->n; i++)
    if (ds->y[i] < 0 || ds->y[i] >= classes)
      return sr_fail(err, "%s: label %d at example %d is outside 0..%d", what, (int)ds->y[i], i,
                     classes - 1);
  return 0;
}

int sr_dataset_split_tail(const SrDataset *all, int holdout, SrDataset *head, SrDataset *tail,
                          SrError *err) {
  if (holdout < 0 || holdout >= all->n)
    return sr_fail(err,
                   "cannot hold out %d of %d examples: need 0 <= held-out < examples, "
                   "so that training keeps at least one",
                   holdout, all->n);
  int kept = all->n - holdout;
  *head = sr_dataset_view(all, 0, kept);
  *tail = sr_dataset_view(all, kept, holdout);
  return 0;
}

SrDataset sr_dataset_view(const SrDataset *ds, int start, int n) {
  SrDataset v = *ds;
  v.n = n;
  v.owns = 0;
  v.y = ds->y + start;
  if (sr_dataset_is_sparse(ds)) /* the view shares col and val; offsets stay absolute */
    v.row_start = ds->row_start + start;
  else
    v.x = ds->x + (size_t)start * (size_t)ds->dim;
  return v;
}

void sr_dataset_row(const SrDataset *ds, int i, float *dst) {
  size_t dim = (size_t)ds->dim;
  if (!sr_dataset_is_sparse(ds)) {
    memcpy(dst, ds->x + (size_t)i * dim, dim * sizeof *dst);
    return;
  }
  memset(dst, 0, dim * sizeof *dst);
  for (int64_t k = ds->row_start[i]; k < ds->row_start[i + 1]; k++)
    dst[ds->col[k]] = ds->val[k];
}

/* CSR copies of the rows: two passes, the first to size the arrays. */
static int gather_sparse(const SrDataset *ds, const int32_t *rows, int n, SrDataset *out) {
  int64_t nnz = 0;
  for (int i = 0; i < n; i++)
    nnz += ds->row_start[rows[i] + 1] - ds->row_start[rows[i]];
  out->row_start = malloc(((size_t)n + 1) * sizeof *out->row_start);
  out->col = malloc(((size_t)nnz + 1) * sizeof *out->col);
  out->val = malloc(((size_t)nnz + 1) * sizeof *out->val);
  if (!out->row_start || !out->col || !out->val)
    return -1;
  out->row_start[0] = 0;
  for (int i = 0; i < n; i++) {
    int64_t from = ds->row_start[rows[i]], k = ds->row_start[rows[i] + 1] - from;
    memcpy(out->col + out->row_start[i], ds->col + from, (size_t)k * sizeof *out->col);
    memcpy(out->val + out->row_start[i], ds->val + from, (size_t)k * sizeof *out->val);
    out->row_start[i + 1] = out->row_start[i] + k;
  }
  return 0;
}

int sr_dataset_gather(const SrDataset *ds, const int32_t *rows, int n, SrDataset *out,
                      SrError *err) {
  *out = (SrDataset){.n = n, .dim = ds->dim, .owns = 1};
  out->y = malloc(((size_t)n + 1) * sizeof *out->y);
  int rc = out->y ? 0 : -1;
  if (rc == 0 && sr_dataset_is_sparse(ds)) {
    rc = gather_sparse(ds, rows, n, out);
  } else if (rc == 0) {
    out->x = malloc(((size_t)n * (size_t)ds->dim + 1) * sizeof *out->x);
    rc = out->x ? 0 : -1;
    for (int i = 0; rc == 0 && i < n; i++)
      sr_dataset_row(ds, rows[i], out->x + (size_t)i * (size_t)ds->dim);
  }
  for (int i = 0; rc == 0 && i < n; i++)
    out->y[i] = ds->y[rows[i]];
  if (rc < 0) {
    sr_dataset_free(out);
    return sr_fail(err, "out of memory for a copy of %d examples", n);
  }
  return 0;
}

void sr_dataset_free(SrDataset *ds) {
  if (ds->owns) {
    free(ds->x);
    free(ds->y);
    free(ds->row_start);
    free(ds->col);
    free(ds->val);
  }
  memset(ds, 0, sizeof *ds);
}
