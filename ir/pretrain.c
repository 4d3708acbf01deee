/* Greedy layer-wise pretraining (Glorot et al. 2011, section 3.2): for each
 * stage, a program that trains one hidden layer as a denoising autoencoder.
 *
 *   h  = codes of the layer below, clean (x itself for the first layer),
 *        computed with the network's current weights, which this stage
 *        does not train
 *   h  = h / max(h)                  scaled_sigmoid_cross_entropy only (to [0,1])
 *   t  = h                           targets = after (the default)
 *      | a, the pre-activation x W + b of the layer below   targets = before
 *                                    (linear_quadratic, layers above the first)
 *   x~ = noise(h)                    masking, salt-and-pepper or Gaussian
 *   c  = layer(x~)                   the network's own encoder: W, b, act, signs
 *   z  = c W^T + b'  (tied)   or  c W' + b'  (untied; W', b' are new parameters)
 *   cost = 1/2 |softplus(z) - t|^2   softplus_quadratic
 *        | CE(t, sigmoid(z))         scaled_sigmoid_cross_entropy
 *        | 1/2 |z - t|^2             linear_quadratic
 *        | 1/2 |relu(z) - t|^2       relu_quadratic
 *   objective = cost + l1 * mean_i |c_i|_1
 *
 * The max is treated as a constant (no gradient flows through the scaling),
 * and so are the codes h and the targets t: only W, b and the decoder are
 * trained, by SGD with the stage's learning rate. The max is of the
 * encoder's input h whatever the targets: it tells whether the layer below
 * is dead. A step counter (state) makes every minibatch's noise different
 * and the whole run repeatable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct Stage {
  Module *m;
  const Spec *spec;
  const PretrainStage *st;
  PretrainProgram *pp;
  Program *p;
  char prefix[160];    /* "pt.h2." */
  int loss_ops[2];
  int nloss;
} Stage;

static int temp(Stage *s, const char *what, int rows, int cols) {
  char name[256];
  snprintf(name, sizeof name, "%s%s", s->prefix, what);
  return value_new(s->m, name, VAL_TEMP, rows, cols);
}

/* The clean input codes: the network's layers below, as in inference;
 * *pre the pre-activation of the layer just below (-1 for the first). */
static int clean_codes(Stage *s, int *pre) {
  int in = s->m->x;
  *pre = -1;
  for (int i = 0; i < s->st->layer; i++)
    in = emit_dense(s->m, s->p, &s->spec->layers[i], &s->m->layers[i], in, s->prefix, pre);
  return in;
}

static int width_below(const Stage *s) {
  return s->m->layers[s->st->layer].in_width;
}

/* What the encoder reads before the noise: the codes, scaled to [0, 1]
 * for the sigmoid decoder. */
static int encoder_input(Stage *s, int codes) {
  int d = width_below(s);
  s->pp->input_max = temp(s, "input_max", 1, 1);
  op_emit2(s->p, OP_MAX_ABS, s->pp->input_max, codes, -1);
  if (s->st->recon != RECON_SCALED_SIGMOID_CE)
    return codes;
  int scaled = temp(s, "target", ROWS_BATCH, d);
  op_emit2(s->p, OP_DIV_SCALAR, scaled, codes, s->pp->input_max);
  return scaled;
}

/* What the decoder must reproduce: the encoder's clean input, or with
 * targets = before the pre-activation of the layer below (the checker
 * allows it with linear_quadratic only; the first layer has none and
 * reconstructs the input). */
static int target_of(const Stage *s, int input, int pre) {
  if (s->st->targets == TARGETS_BEFORE && pre >= 0)
    return pre;
  return input;
}

static int corrupt(Stage *s, int input, int step) {
  int noisy = temp(s, "noisy", ROWS_BATCH, width_below(s));
  Op *op = op_emit2(s->p, OP_NOISE, noisy, input, step);
  op->noise = s->st->noise.kind;
  op->coef = s->st->noise.p;
  op->coef2 = (double)((s->spec->train.seed * 1000003u + (uint64_t)s->st->layer) & 0xffffffffu);
  return noisy;
}

/* z = c W^T + b' (tied) or c W' + b' (untied) */
static int decode(Stage *s, int code, const LayerSpec *l) {
  int d = width_below(s);
  const LayerParams *lp = &s->m->layers[s->st->layer];
  char name[256];
  int w = lp->w, tied = s->st->tied;
  if (!tied) {
    snprintf(name, sizeof name, "%s.decoder.w", l->name);
    w = param_new(s->m, name, l->units, d, PINIT_GLOROT_UNIFORM, l->units, d);
  }
  snprintf(name, sizeof name, "%s.decoder.b", l->name);
  int b = param_new(s->m, name, 1, d, PINIT_ZERO, l->units, d);
  int zw = temp(s, "decoder.z", ROWS_BATCH, d);
  op_emit2(s->p, OP_MATMUL, zw, code, w)->trans_b = tied;
  int z = temp(s, "decoder.a", ROWS_BATCH, d);
  op_emit2(s->p, OP_BIAS_ADD, z, zw, b);
  return z;
}

static void reconstruction_cost(Stage *s, int z, int target) {
  int d = width_below(s);
  s->pp->cost = temp(s, "cost", 1, 1);
  if (s->st->recon == RECON_SCALED_SIGMOID_CE) {
    int r = temp(s, "reconstruction", ROWS_BATCH, d);
    Op *op = op_emit2(s->p, OP_SIGMOID_CE, r, z, target);
    op->out[op->nout++] = s->pp->cost;
  } else {
    int r = z;
    if (s->st->recon == RECON_SOFTPLUS_QUADRATIC || s->st->recon == RECON_RELU_QUADRATIC) {
      r = temp(s, "reconstruction", ROWS_BATCH, d);
      op_emit2(s->p, OP_ACT, r, z, -1)->act =
          s->st->recon == RECON_RELU_QUADRATIC ? ACT_RELU : ACT_SOFTPLUS;
    }
    op_emit2(s->p, OP_SQUARED_ERROR, s->pp->cost, r, target);
  }
  s->loss_ops[s->nloss++] = s->p->nops - 1;
}

static void code_penalty(Stage *s, int code) {
  if (s->st->l1 <= 0)
    return;
  int pen = temp(s, "l1", 1, 1);
  op_emit2(s->p, OP_L1, pen, code, -1)->coef = s->st->l1;
  s->loss_ops[s->nloss++] = s->p->nops - 1;
}

static void derive_updates(Stage *s, int first_new_value) {
  char *trainable = calloc(s->m->nvalues, 1);
  const LayerParams *lp = &s->m->layers[s->st->layer];
  trainable[lp->w] = trainable[lp->b] = 1;
  for (int v = first_new_value; v < s->m->nvalues; v++) /* the decoder's own parameters */
    trainable[v] |= s->m->values[v].kind == VAL_PARAM;
  Objective o = {s->loss_ops, s->nloss, trainable, s->st->lr, 0};
  autodiff_append(s->m, s->p, &o);
  free(trainable);
}

static void build_stage(Module *m, const Spec *spec, const PretrainStage *st, int step) {
  PretrainProgram *pp = &m->pretrain[m->npretrain++];
  const LayerSpec *l = &spec->layers[st->layer];
  Stage s = {.m = m, .spec = spec, .st = st, .pp = pp, .p = &pp->program};
  snprintf(s.prefix, sizeof s.prefix, "pt.%s.", l->name);
  char name[160];
  snprintf(name, sizeof name, "pretrain_%s", l->name);
  pp->program.name = strdup(name);
  pp->layer = st->layer;
  pp->epochs = st->epochs;
  pp->batch = st->batch;
  pp->lr = st->lr;
  int first_new = m->nvalues;
  int pre;
  int input = encoder_input(&s, clean_codes(&s, &pre));
  int target = target_of(&s, input, pre);
  int code = emit_dense(m, s.p, l, &m->layers[st->layer], corrupt(&s, input, step), s.prefix, NULL);
  code_penalty(&s, code);
  reconstruction_cost(&s, decode(&s, code, l), target);
  derive_updates(&s, first_new);
  Op *tick = op_emit(s.p, OP_STEP);
  tick->nin = 1;
  tick->in[0] = step;
  s.p->live[s.p->nlive++] = pp->cost;
  s.p->live[s.p->nlive++] = pp->input_max;
  pass_dce(m, s.p);
}

int pretrain_build(Module *m, const Spec *spec, char *err, int errlen) {
  if (!spec->pretrain.present)
    return 0;
  int step = value_new(m, "noise.step", VAL_STATE, 1, 1);
  for (int i = 0; i < spec->pretrain.nstages; i++) {
    const PretrainStage *st = &spec->pretrain.stages[i];
    if (st->layer < 0 || st->layer >= spec->nlayers - 1) {
      snprintf(err, errlen, "pretrain stage %d names no hidden layer", i + 1);
      return -1;
    }
    build_stage(m, spec, st, step);
  }
  return 0;
}
