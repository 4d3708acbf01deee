/* The runtime's description of a compiled module: the slot table (value id =
 * slot number) and which slots play which role. This is the whole contract
 * between generated code and runtime/: the runtime never sees the IR. */
#include <string.h>

#include "backend.h"

static SrSlot describe_value(const Value *v) {
  SrSlot s = {.name = v->name, .rows = v->rows == ROWS_BATCH ? -1 : v->rows, .cols = v->cols};
  switch (v->kind) {
  case VAL_INPUT: s.kind = SR_SLOT_INPUT; break;
  case VAL_LABELS: s.kind = SR_SLOT_LABELS; break;
  case VAL_PARAM: s.kind = SR_SLOT_PARAM; break;
  case VAL_TEMP: s.kind = SR_SLOT_TEMP; break;
  }
  s.init = v->init == INIT_GLOROT_UNIFORM ? SR_INIT_GLOROT_UNIFORM : SR_INIT_ZERO;
  s.fan_in = v->fan_in;
  s.fan_out = v->fan_out;
  return s;
}

void abi_describe(const Module *m, SrSlot *slots, SrKernel train_step, SrKernel infer,
                  SrModel *out) {
  memset(out, 0, sizeof *out);
  for (int v = 0; v < m->nvalues; v++)
    slots[v] = describe_value(&m->values[v]);
  out->slots = slots;
  out->nslots = m->nvalues;
  out->train_step = train_step;
  out->infer = infer;
  out->slot_x = m->x;
  out->slot_y = m->y;
  out->slot_train_loss = m->train_loss;
  out->slot_loss = m->nll;
  out->slot_probs = m->probs;
  out->classes = m->classes;
  out->nhidden = m->nhidden;
  for (int i = 0; i < m->nhidden && i < SR_MAX_HIDDEN; i++) {
    out->hidden_names[i] = m->hidden[i].name;
    out->hidden_units[i] = m->hidden[i].units;
    out->slot_zeros[i] = m->hidden[i].zeros;
  }
}
