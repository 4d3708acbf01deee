/* Which hidden units a trained model never fires on a data set, for static
 * pruning (ir/passes/prune_dead.c). The counting is sr_unit_activity's;
 * this runs it on a copy of the state whose temporaries each get a buffer
 * of their own (no memory plan), so that every hidden layer's output is
 * still in its slot when infer returns. The kernels are the same: they
 * find their buffers through the slot table. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

int dead_unit_activity(const Module *m, const SrModel *model, const SrState *trained,
                       const SrDataset *ds, int32_t *const *active, SrError *err) {
  SrSlot *slots = malloc(sizeof *slots * (size_t)(model->nslots ? model->nslots : 1));
  if (!slots)
    return sr_fail(err, "out of memory");
  memcpy(slots, model->slots, sizeof *slots * (size_t)model->nslots);
  for (int v = 0; v < model->nslots; v++)
    slots[v].in_arena = 0, slots[v].arena_offset = 0;
  SrModel unplanned = *model;
  unplanned.slots = slots;
  unplanned.arena_bytes = 0;
  SrState st;
  int rc = sr_state_init(&st, &unplanned, trained->max_rows, 0, err);
  if (rc == 0) {
    sr_state_copy_params(&st, trained);
    int outputs[SR_MAX_HIDDEN];
    for (int k = 0; k < m->nhidden && k < SR_MAX_HIDDEN; k++)
      outputs[k] = m->hidden[k].output;
    rc = sr_unit_activity(&st, ds, outputs, m->nhidden, active, err);
    sr_state_free(&st);
  }
  free(slots);
  return rc;
}
