/* Spec -> module: the forward program as the spec states it, then the
 * training step (autodiff) and the inference function derived from it.
 *
 * A dense layer `name = dense(units, act)` on an input x of width k becomes
 *   name.z = matmul x, name.w        name.w: [k x units], Glorot uniform
 *   name.a = bias_add name.z, name.b name.b: [1 x units], zero
 *   name   = relu name.a             (hidden)   or
 *   probs, nll = softmax_nll name.a, y  (output)
 * plus, for hidden layers, an L1 penalty term and a zero count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static int temp(Module *m, const char *layer, const char *suffix, int rows, int cols) {
  char name[256];
  snprintf(name, sizeof name, "%s%s", layer, suffix);
  return value_new(m, name, VAL_TEMP, rows, cols);
}

/* Emits matmul + bias_add; returns the pre-activation value. */
static int build_affine(Module *m, const LayerSpec *l, int in, int in_width) {
  char name[256];
  snprintf(name, sizeof name, "%s.w", l->name);
  int w = param_new(m, name, in_width, l->units, INIT_GLOROT_UNIFORM, in_width, l->units);
  snprintf(name, sizeof name, "%s.b", l->name);
  int b = param_new(m, name, 1, l->units, INIT_ZERO, in_width, l->units);
  int z = temp(m, l->name, ".z", ROWS_BATCH, l->units);
  op_emit2(&m->forward, OP_MATMUL, z, in, w);
  int a = temp(m, l->name, ".a", ROWS_BATCH, l->units);
  op_emit2(&m->forward, OP_BIAS_ADD, a, z, b);
  return a;
}

static int build_hidden(Module *m, const LayerSpec *l, int in, int in_width) {
  int a = build_affine(m, l, in, in_width);
  int h = temp(m, l->name, "", ROWS_BATCH, l->units);
  op_emit2(&m->forward, OP_RELU, h, a, -1);
  if (l->l1 > 0) {
    int pen = temp(m, l->name, ".l1", 1, 1);
    op_emit2(&m->forward, OP_L1, pen, h, -1)->coef = l->l1;
    m->loss_terms[m->nloss_terms++] = m->forward.nops - 1;
  }
  HiddenLayer *hl = &m->hidden[m->nhidden++];
  hl->name = strdup(l->name);
  hl->units = l->units;
  hl->output = h;
  hl->zeros = temp(m, l->name, ".zeros", 1, 1);
  op_emit2(&m->forward, OP_COUNT_ZERO, hl->zeros, h, -1);
  return h;
}

static void build_output(Module *m, const LayerSpec *l, int in, int in_width) {
  int a = build_affine(m, l, in, in_width);
  m->probs = value_new(m, "probs", VAL_TEMP, ROWS_BATCH, l->units);
  m->nll = value_new(m, "nll", VAL_TEMP, 1, 1);
  Op *op = op_emit2(&m->forward, OP_SOFTMAX_NLL, m->probs, a, m->y);
  op->out[op->nout++] = m->nll;
  m->loss_terms[m->nloss_terms++] = m->forward.nops - 1;
  m->classes = l->units;
}

static int loss_term_value(const Module *m, int k) {
  const Op *op = &m->forward.ops[m->loss_terms[k]];
  return op->kind == OP_SOFTMAX_NLL ? op->out[1] : op->out[0];
}

/* The objective is the sum of the loss terms' outputs: nll + the penalties. */
static void build_objective(Module *m) {
  int sum = m->nll;
  for (int k = 0; k < m->nloss_terms; k++) {
    int term = loss_term_value(m, k);
    if (term == m->nll)
      continue;
    int next = value_new(m, "loss", VAL_TEMP, 1, 1);
    op_emit2(&m->forward, OP_ADD, next, sum, term);
    sum = next;
  }
  m->train_loss = sum;
}

static void derive_programs(Module *m) {
  program_copy(&m->train, &m->forward, "train");
  autodiff_append(m, &m->train);
  pass_dce(m, &m->train, &m->train_loss, 1);

  program_copy(&m->infer, &m->forward, "infer");
  int live[SPEC_MAX_LAYERS + 2], nlive = 0;
  live[nlive++] = m->probs;
  live[nlive++] = m->nll;
  for (int i = 0; i < m->nhidden; i++)
    live[nlive++] = m->hidden[i].zeros;
  pass_dce(m, &m->infer, live, nlive);
}

Module *module_build(const Spec *spec, char *err, int errlen) {
  Module *m = calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  m->forward.name = strdup("forward");
  m->lr = spec->train.lr;
  m->x = value_new(m, "x", VAL_INPUT, ROWS_BATCH, spec->input);
  m->y = value_new(m, "y", VAL_LABELS, ROWS_BATCH, 1);
  int in = m->x, width = spec->input;
  for (int i = 0; i < spec->nlayers - 1; i++) {
    in = build_hidden(m, &spec->layers[i], in, width);
    width = spec->layers[i].units;
  }
  build_output(m, &spec->layers[spec->nlayers - 1], in, width);
  build_objective(m);
  derive_programs(m);

  const Program *programs[] = {&m->forward, &m->train, &m->infer};
  for (int i = 0; i < 3; i++) {
    if (verify_program(m, programs[i], err, errlen) != 0) {
      module_free(m);
      return NULL;
    }
  }
  return m;
}
