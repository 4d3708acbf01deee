/* fuzz_libsvm.c: a libFuzzer target for runtime/libsvm.c's
 * sr_dataset_load_libsvm.
 *
 * Each input is loaded as a regular file (raw, or gzip when it starts
 * with the gzip magic number) for 64 features and 10 classes, and once
 * more gzip'd here first (the text through the inflating reader), for 3
 * features and any label (classes 0) with a scale that overflows large
 * values. Whatever a load accepts must be well-formed CSR: row_start
 * starting at 0 and never decreasing, columns strictly ascending within
 * a row and below dim, every value finite and non-zero, every label in
 * range; and the two loads of the same text must agree when both accept. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sparsert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_row(const SrDataset *ds, int i, const char *how) {
  for (int64_t k = ds->row_start[i]; k < ds->row_start[i + 1]; k++) {
    if (ds->col[k] < 0 || ds->col[k] >= ds->dim)
      fuzz_fail("%s: row %d: column %d of %d", how, i, (int)ds->col[k], ds->dim);
    if (k > ds->row_start[i] && ds->col[k] <= ds->col[k - 1])
      fuzz_fail("%s: row %d: column %d after %d", how, i, (int)ds->col[k], (int)ds->col[k - 1]);
    if (!isfinite(ds->val[k]) || ds->val[k] == 0)
      fuzz_fail("%s: row %d: value %g stored", how, i, (double)ds->val[k]);
  }
}

static void check(const SrDataset *ds, int dim, int classes, const char *how) {
  if (ds->n < 1 || ds->dim != dim || ds->x || !ds->y || !ds->row_start || !ds->col || !ds->val ||
      !ds->owns)
    fuzz_fail("%s: accepted %d rows of %d features (x %p, y %p, row_start %p, owns %d)", how,
              ds->n, ds->dim, (void *)ds->x, (void *)ds->y, (void *)ds->row_start, ds->owns);
  if (ds->row_start[0] != 0)
    fuzz_fail("%s: row_start[0] is %lld", how, (long long)ds->row_start[0]);
  for (int i = 0; i < ds->n; i++) {
    if (ds->row_start[i + 1] < ds->row_start[i])
      fuzz_fail("%s: row_start[%d] %lld < row_start[%d] %lld", how, i + 1,
                (long long)ds->row_start[i + 1], i, (long long)ds->row_start[i]);
    if (ds->y[i] < 0 || (classes > 0 && ds->y[i] >= classes))
      fuzz_fail("%s: label %d of row %d (%d classes)", how, (int)ds->y[i], i, classes);
    check_row(ds, i, how);
  }
}

/* Loads `path`: 1 with `ds` filled (checked) when accepted, else 0. */
static int load(const char *path, int dim, int classes, float scale, SrDataset *ds,
                const char *how) {
  SrError err;
  err.msg[0] = 0;
  if (sr_dataset_load_libsvm(path, dim, classes, scale, ds, &err) == 0) {
    check(ds, dim, classes, how);
    return 1;
  }
  if (!err.msg[0])
    fuzz_fail("%s: refused without a message", how);
  if (ds->y || ds->row_start || ds->col || ds->val || ds->n)
    fuzz_fail("%s: refused but left arrays in the data set", how);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  SrDataset a, b;
  int got_a = load(fuzz_file(data, size), 64, 10, 1.0f, &a, "file");
  size_t zsize;
  uint8_t *z = fuzz_gzip(data, size, &zsize);
  int got_b = z && load(fuzz_file(z, zsize), 64, 10, 1.0f, &b, "gzip'd");
  free(z);
  int gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (!gzip && got_a != got_b) /* the same text, raw or gzip'd */
    fuzz_fail("the raw text was %s, gzip'd %s", got_a ? "accepted" : "refused",
              got_b ? "accepted" : "refused");
  if (got_a && got_b && (a.n != b.n || a.row_start[a.n] != b.row_start[b.n]))
    fuzz_fail("raw and gzip'd differ: %d rows, %lld nonzeros vs %d, %lld", a.n,
              (long long)a.row_start[a.n], b.n, (long long)b.row_start[b.n]);
  if (got_a)
    sr_dataset_free(&a);
  if (got_b)
    sr_dataset_free(&b);
  SrDataset c;
  if (load(fuzz_file(data, size), 3, 0, 1e30f, &c, "3 features, any label"))
    sr_dataset_free(&c);
  return 0;
}
