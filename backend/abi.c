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
  case VAL_STATE: s.kind = SR_SLOT_STATE; break;
  case VAL_CONST: s.kind = SR_SLOT_CONST; break;
  }
  static const SrInit inits[] = {
      [PINIT_ZERO] = SR_INIT_ZERO,         [PINIT_CONSTANT] = SR_INIT_CONSTANT,
      [PINIT_GLOROT_UNIFORM] = SR_INIT_GLOROT_UNIFORM, [PINIT_HE_NORMAL] = SR_INIT_HE_NORMAL,
      [PINIT_UNIFORM] = SR_INIT_UNIFORM,   [PINIT_SIGNS] = SR_INIT_SIGNS,
  };
  s.init = inits[v->init];
  s.init_arg = v->init_arg;
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
  out->slot_loss = m->head_loss;
  out->slot_probs = m->probs;
  out->classes = m->classes;
  out->nhidden = m->nhidden;
  for (int i = 0; i < m->nhidden && i < SR_MAX_HIDDEN; i++) {
    out->hidden_names[i] = m->hidden[i].name;
    out->hidden_units[i] = m->hidden[i].units;
    out->slot_zeros[i] = m->hidden[i].zeros;
    out->slot_nonfinite[i] = m->hidden[i].nonfinite;
  }
  out->output_name = m->output_name;
}

void abi_describe_pretrain(const Module *m, const SrKernel *steps, SrModel *out) {
  out->npretrain = m->npretrain;
  for (int i = 0; i < m->npretrain && i < SR_MAX_PRETRAIN; i++) {
    const PretrainProgram *pp = &m->pretrain[i];
    SrPretrainStage *s = &out->pretrain[i];
    s->layer = m->hidden[pp->layer].name;
    s->step = steps ? steps[i] : NULL;
    s->slot_cost = pp->cost;
    s->slot_input_max = pp->input_max;
    s->epochs = pp->epochs;
    s->batch = pp->batch;
  }
}

void abi_use_plan(const MemoryPlan *plan, int rows, SrSlot *slots, SrModel *out) {
  for (int v = 0; v < out->nslots; v++) {
    slots[v].in_arena = plan->offset[v] >= 0;
    slots[v].arena_offset = plan->offset[v] >= 0 ? plan->offset[v] : 0;
  }
  out->arena_bytes = plan->arena_bytes;
  out->arena_rows = rows;
}

/* ---- data parallelism --------------------------------------------------- */

/* The counter a pretraining program's noise is keyed by (its `step` op's
 * operand), or -1: the runtime gives each rank a counter of its own. */
static int noise_step_slot(const Program *p) {
  for (int i = 0; i < p->nops; i++)
    if (p->ops[i].kind == OP_STEP)
      return p->ops[i].in[0];
  return -1;
}

static void describe_split(const SplitStep *s, SrSplitStep *out, SrModel *model) {
  out->first = model->ngradients;
  out->count = 0;
  for (int k = 0; s->present && k < s->ngrads && model->ngradients < SR_MAX_GRADIENTS; k++) {
    model->gradients[model->ngradients++] = (SrGradient){s->grad[k], s->param[k]};
    out->count++;
  }
}

void abi_describe_split(const Module *m, SrModel *out) {
  out->ngradients = 0;
  describe_split(&m->train_split, &out->train_split, out);
  for (int i = 0; i < m->npretrain && i < SR_MAX_PRETRAIN; i++) {
    describe_split(&m->pretrain[i].split, &out->pretrain[i].split, out);
    out->pretrain[i].slot_noise_step = noise_step_slot(&m->pretrain[i].program);
  }
}
