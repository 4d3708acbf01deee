/* fuzz_csv.c: a libFuzzer target for runtime/csv.c: sr_dataset_load_csv
 * (the label column "label" required, scale 1/255) and
 * sr_dataset_load_csv_inputs (the label column optional, scale 1e20, so
 * that large values overflow the scale) on the input as a file.
 *
 * Whatever a load accepts must be what csv.c promises: at least one row
 * and one feature, every feature finite, every label in 0..2^31-1 (0 for
 * inputs without a label column). */
#include <math.h>
#include <string.h>

#include "fuzz_util.h"
#include "sparsert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const SrDataset *ds, const char *how) {
  if (ds->n < 1 || ds->dim < 1 || !ds->x || !ds->y || !ds->owns)
    fuzz_fail("%s: accepted %d rows of %d features (x %p, y %p, owns %d)", how, ds->n, ds->dim,
              (void *)ds->x, (void *)ds->y, ds->owns);
  for (size_t i = 0; i < (size_t)ds->n * (size_t)ds->dim; i++)
    if (!isfinite(ds->x[i]))
      fuzz_fail("%s: feature %zu is not finite", how, i);
  for (int i = 0; i < ds->n; i++)
    if (ds->y[i] < 0)
      fuzz_fail("%s: label %d of row %d", how, (int)ds->y[i], i);
}

static void load(const char *path, int inputs) {
  SrDataset ds;
  SrError err;
  err.msg[0] = 0;
  int rc = inputs ? sr_dataset_load_csv_inputs(path, "label", NULL, 1e20f, &ds, &err)
                  : sr_dataset_load_csv(path, "label", 1.0f / 255, &ds, &err);
  const char *how = inputs ? "inputs" : "data";
  if (rc == 0) {
    check(&ds, how);
    sr_dataset_free(&ds);
  } else if (!err.msg[0]) {
    fuzz_fail("%s: refused without a message", how);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size);
  load(path, 0);
  load(path, 1);
  return 0;
}
