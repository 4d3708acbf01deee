/* activity.c: which hidden units ever fire. A unit that is zero on every
 * example of a data set is dead there: with rectifiers it receives no
 * gradient either, so it stays dead. The infer kernel computes the layer
 * outputs; this file only counts, per unit, the examples where the output
 * is non-zero. The caller names the slots holding the outputs, which must
 * be live outputs of infer (else the memory plan may reuse their bytes
 * before infer returns). */
#include <string.h>

#include "sparsert_internal.h"

static int check_activity_args(const SrState *st, const SrDataset *ds, const int *slots,
                               int nlayers, SrError *err) {
  const SrModel *m = st->model;
  if (!m->infer)
    return sr_fail(err, "model: no inference kernel");
  if (m->slot_x < 0 || m->slot_x >= m->nslots || m->slot_y < 0 || m->slot_y >= m->nslots)
    return sr_fail(err, "model: bad input or label slot");
  if (sr_dataset_check(ds, m->slots[m->slot_x].cols, m->classes, "data", err) < 0 ||
      sr_check_nonfinite_slots(st, err) < 0)
    return -1;
  if (m->slot_probs < 0 || m->slot_probs >= m->nslots)
    return sr_fail(err, "model: bad probabilities slot");
  for (int k = 0; k < nlayers; k++) {
    int s = slots[k];
    if (s < 0 || s >= m->nslots || m->slots[s].rows != -1)
      return sr_fail(err, "model: layer %d's output slot %d is not a batch-sized slot", k + 1, s);
  }
  return 0;
}

/* Adds one batch's non-zero counts of a rows x units output. */
static void count_active(const float *out, int rows, int units, int32_t *active) {
  for (int r = 0; r < rows; r++)
    for (int u = 0; u < units; u++)
      active[u] += out[(size_t)r * (size_t)units + (size_t)u] != 0.0f;
}

int sr_unit_activity(SrState *st, const SrDataset *ds, const int *slots, int nlayers,
                     int32_t *const *active, SrError *err) {
  if (check_activity_args(st, ds, slots, nlayers, err) < 0)
    return -1;
  const SrModel *m = st->model;
  for (int k = 0; k < nlayers; k++)
    memset(active[k], 0, (size_t)m->slots[slots[k]].cols * sizeof(int32_t));
  for (int start = 0; start < ds->n; start += st->max_rows) {
    int rows = ds->n - start < st->max_rows ? ds->n - start : st->max_rows;
    sr_copy_rows(st, ds, start, rows);
    m->infer(st->slots, rows);
    if (sr_check_infer_finite(st, start, rows, 0, err) < 0)
      return -1; /* a unit that is NaN is neither dead nor alive */
    for (int k = 0; k < nlayers; k++)
      count_active(st->slots[slots[k]], rows, m->slots[slots[k]].cols, active[k]);
  }
  return 0;
}
