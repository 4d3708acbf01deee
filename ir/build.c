/* Spec -> module: the forward program as the spec states it, then the
 * training step (autodiff) and the inference function derived from it.
 *
 * A dense layer `name = dense(units, act)` on an input x of width k becomes
 *   name.z = matmul x, name.w          name.w: [k x units], its init
 *   name.a = bias_add name.z, name.b   name.b: [1 x units], zero or a constant
 *   name   = act name.a                hidden (no op for linear), then with the
 *   name   = scale_cols name.act, name.signs   sign trick (a const of +-1)
 * plus, for hidden layers, an L1 penalty term, a count of the output's zeros
 * and one of the pre-activation's values that are not finite (inf, NaN:
 * the runtime names the layer where an overflow starts), and for any
 * layer with l2 > 0 an L2 term on its weights. The output layer ends in the
 * head: softmax_nll, sigmoid_ce or squared_error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "ir.h"

static int temp(Module *m, const char *layer, const char *suffix, int rows, int cols) {
  char name[256];
  snprintf(name, sizeof name, "%s%s", layer, suffix);
  return value_new(m, name, VAL_TEMP, rows, cols);
}

static void add_loss_term(Module *m) {
  m->loss_terms[m->nloss_terms++] = m->forward.nops - 1;
}

static ParamInit weight_init(InitKind kind) {
  switch (kind) {
  case INIT_HE_NORMAL: return PINIT_HE_NORMAL;
  case INIT_UNIFORM: return PINIT_UNIFORM;
  default: return PINIT_GLOROT_UNIFORM;
  }
}

static LayerParams create_params(Module *m, const LayerSpec *l, int in_width) {
  LayerParams lp = {.signs = -1, .in_width = in_width};
  char name[256];
  snprintf(name, sizeof name, "%s.w", l->name);
  lp.w = param_new(m, name, in_width, l->units, weight_init(l->init.kind), in_width, l->units);
  m->values[lp.w].init_arg = l->init.a;
  snprintf(name, sizeof name, "%s.b", l->name);
  lp.b = param_new(m, name, 1, l->units, l->bias != 0 ? PINIT_CONSTANT : PINIT_ZERO, in_width,
                   l->units);
  m->values[lp.b].init_arg = l->bias;
  if (l->sign_trick) {
    snprintf(name, sizeof name, "%s.signs", l->name);
    lp.signs = value_new(m, name, VAL_CONST, 1, l->units);
    m->values[lp.signs].init = PINIT_SIGNS;
  }
  return lp;
}

int emit_dense(Module *m, Program *p, const LayerSpec *l, const LayerParams *lp, int in,
               const char *prefix, int *pre_activation) {
  char name[200]; /* names are at most 128 bytes (the frontend checks) */
  snprintf(name, sizeof name, "%s%s", prefix, l->name);
  int z = temp(m, name, ".z", ROWS_BATCH, l->units);
  op_emit2(p, OP_MATMUL, z, in, lp->w);
  int a = temp(m, name, ".a", ROWS_BATCH, l->units);
  op_emit2(p, OP_BIAS_ADD, a, z, lp->b);
  if (pre_activation)
    *pre_activation = a;
  int h = a;
  /* linear is no op; softmax is the output head's (OP_SOFTMAX_NLL) */
  if (act_has_maths(l->act) && !activation_has(l->act, ACT_IDENTITY)) {
    h = temp(m, name, lp->signs >= 0 ? ".act" : "", ROWS_BATCH, l->units);
    Op *op = op_emit2(p, OP_ACT, h, a, -1);
    op->act = l->act;
    op->coef = isnan(l->act_param) ? 0 : l->act_param; /* NAN: it takes none */
  }
  if (lp->signs >= 0) {
    int out = temp(m, name, "", ROWS_BATCH, l->units);
    op_emit2(p, OP_SCALE_COLS, out, h, lp->signs);
    h = out;
  }
  return h;
}

static void build_l2(Module *m, const LayerSpec *l, const LayerParams *lp) {
  if (l->l2 > 0 || l->l2_loc.line > 0) { /* a written 0 is emitted: prune-zero removes it */
    int pen = temp(m, l->name, ".l2", 1, 1);
    op_emit2(&m->forward, OP_L2, pen, lp->w, -1)->coef = l->l2;
    add_loss_term(m);
  }
}

static int build_hidden(Module *m, int index, const LayerSpec *l, int in, int in_width) {
  LayerParams *lp = &m->layers[index];
  *lp = create_params(m, l, in_width);
  build_l2(m, l, lp);
  int a;
  int h = emit_dense(m, &m->forward, l, lp, in, "", &a);
  if (l->l1 > 0 || l->l1_loc.line > 0) {
    int pen = temp(m, l->name, ".l1", 1, 1);
    op_emit2(&m->forward, OP_L1, pen, h, -1)->coef = l->l1;
    add_loss_term(m);
  }
  HiddenLayer *hl = &m->hidden[m->nhidden++];
  hl->name = strdup(l->name);
  hl->units = l->units;
  hl->output = h;
  hl->zeros = temp(m, l->name, ".zeros", 1, 1);
  op_emit2(&m->forward, OP_COUNT_ZERO, hl->zeros, h, -1);
  /* before the activation: a relu turns a NaN into 0 */
  hl->nonfinite = temp(m, l->name, ".nonfinite", 1, 1);
  op_emit2(&m->forward, OP_COUNT_NONFINITE, hl->nonfinite, a, -1);
  return h;
}

/* The head: predictions in m->probs, the batch's mean loss in m->head_loss. */
static void build_output(Module *m, const Spec *spec, int index, int in, int in_width) {
  const LayerSpec *l = &spec->layers[index];
  LayerParams *lp = &m->layers[index];
  *lp = create_params(m, l, in_width);
  build_l2(m, l, lp);
  int a;
  emit_dense(m, &m->forward, l, lp, in, "", &a); /* the head applies the output activation */
  m->head_loss = value_new(m, loss_name(spec->loss), VAL_TEMP, 1, 1);
  if (spec->loss == LOSS_SQUARED_ERROR) {
    m->probs = a; /* a linear output is its own prediction */
    op_emit2(&m->forward, OP_SQUARED_ERROR, m->head_loss, a, m->y);
  } else {
    m->probs = value_new(m, "probs", VAL_TEMP, ROWS_BATCH, l->units);
    OpKind kind = spec->loss == LOSS_NLL ? OP_SOFTMAX_NLL : OP_SIGMOID_CE;
    Op *op = op_emit2(&m->forward, kind, m->probs, a, m->y);
    op->out[op->nout++] = m->head_loss;
  }
  add_loss_term(m);
  m->classes = l->units;
  m->output_name = strdup(l->name);
}

static int loss_term_value(const Module *m, int k) {
  const Op *op = &m->forward.ops[m->loss_terms[k]];
  return op->out[op->nout - 1]; /* heads output (probs, loss): the loss is last */
}

/* The objective is the sum of the loss terms' outputs: head + penalties. */
static void build_objective(Module *m) {
  int sum = m->head_loss;
  for (int k = 0; k < m->nloss_terms; k++) {
    int term = loss_term_value(m, k);
    if (term == m->head_loss)
      continue;
    int next = value_new(m, "loss", VAL_TEMP, 1, 1);
    op_emit2(&m->forward, OP_ADD, next, sum, term);
    sum = next;
  }
  m->train_loss = sum;
}

/* train's only output is the objective (its updates are effects); infer's
 * are the predictions, the head's loss and each hidden layer's counts of
 * zeros and of non-finite values. */
static void derive_programs(Module *m) {
  program_copy(&m->train, &m->forward, "train");
  Objective o = {m->loss_terms, m->nloss_terms, NULL, m->lr, m->momentum};
  autodiff_append(m, &m->train, &o);
  m->train.live[m->train.nlive++] = m->train_loss;
  pass_dce(m, &m->train);

  program_copy(&m->infer, &m->forward, "infer");
  m->infer.live[m->infer.nlive++] = m->probs;
  m->infer.live[m->infer.nlive++] = m->head_loss;
  for (int i = 0; i < m->nhidden; i++) {
    m->infer.live[m->infer.nlive++] = m->hidden[i].zeros;
    m->infer.live[m->infer.nlive++] = m->hidden[i].nonfinite;
  }
  pass_dce(m, &m->infer);
}

Module *module_build(const Spec *spec, char *err, int errlen) {
  Module *m = calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  m->forward.name = strdup("forward");
  m->lr = spec->train.lr;
  m->momentum = spec->train.momentum;
  m->x = value_new(m, "x", VAL_INPUT, ROWS_BATCH, spec->input);
  m->y = value_new(m, "y", VAL_LABELS, ROWS_BATCH, 1);
  int in = m->x, width = spec->input;
  for (int i = 0; i < spec->nlayers - 1; i++) {
    in = build_hidden(m, i, &spec->layers[i], in, width);
    width = spec->layers[i].units;
  }
  build_output(m, spec, spec->nlayers - 1, in, width);
  build_objective(m);
  derive_programs(m);
  if (pretrain_build(m, spec, err, errlen) != 0) {
    module_free(m);
    return NULL;
  }
  const Program *programs[3 + SPEC_MAX_LAYERS];
  int n = module_programs(m, programs);
  programs[n++] = &m->forward;
  for (int i = 0; i < n; i++) {
    if (verify_program(m, programs[i], err, errlen) != 0) {
      module_free(m);
      return NULL;
    }
  }
  return m;
}
