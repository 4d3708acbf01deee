/* split-updates: data parallelism needs a gap in the training step, after
 * the gradients and before the updates, where the runtime averages the
 * gradients across ranks (runtime/dist_exchange.c). Each training program
 * (train, and every pretraining stage's) gets a SplitStep of two programs
 * that together do what it does:
 *
 *   train_grads       everything but the updates; its live outputs are the
 *   (pretrain_h1_grads)  objective and each parameter's gradient
 *   apply_updates     the updates, reading the gradients (carried in from
 *   (pretrain_h1_apply)  the first program, averaged in between)
 *
 * The L2 term of a gradient (l2_grad w, then add) moves to apply: it
 * depends on the weights alone, which every rank holds identically, so it
 * needs no averaging, and what is exchanged stays the data term, whose
 * rows are zero where an input was zero on the whole batch (the sparse
 * exchange sends only the others). Momentum updates move as they are: the
 * velocity is state that only ever sees averaged gradients, so it stays
 * identical on every rank too.
 *
 * Each gradient is announced by a grad_ready right after the op that
 * defines it, and the gradients are listed in that order: the runtime can
 * start averaging the last layer's while the backward pass computes the
 * first's (overlap, as PyTorch's DistributedDataParallel does).
 *
 * The original program is not touched: fuse-sgd still fuses it, and a
 * single process keeps that faster step. fuse-sgd leaves the split
 * programs alone by construction: in apply no gradient product sits next
 * to its update. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static int is_update(OpKind k) {
  return k == OP_SGD_UPDATE || k == OP_MOMENTUM_UPDATE;
}

static int defined_as(const Program *p, int value, OpKind kind) {
  int def = program_def(p, value);
  return def >= 0 && p->ops[def].kind == kind ? def : -1;
}

/* The gradient update u reads, with its L2 term peeled off: returns the
 * data term; marks the l2_grad and add ops (if any) to move with u. */
static int data_term(const Program *p, int u, char *to_apply) {
  const Op *op = &p->ops[u];
  int w = op->in[0], g = op->in[op->nin - 1];
  int add = defined_as(p, g, OP_ADD);
  if (add < 0 || program_uses(p, g) != 1)
    return g;
  for (int k = 0; k < 2; k++) {
    int l2 = defined_as(p, p->ops[add].in[k], OP_L2_GRAD);
    if (l2 >= 0 && p->ops[l2].in[0] == w && program_uses(p, p->ops[l2].out[0]) == 1) {
      to_apply[add] = to_apply[l2] = 1;
      return p->ops[add].in[1 - k];
    }
  }
  return g;
}

static void add_gradient(SplitStep *s, int grad, int param) {
  for (int k = 0; k < s->ngrads; k++)
    if (s->grad[k] == grad)
      return; /* averaged once, whoever reads it */
  s->grad[s->ngrads] = grad;
  s->param[s->ngrads++] = param;
}

/* Gradients in the order train_grads finishes them (their definitions'
 * order: the backward pass's, last layer first), so that the runtime's
 * buckets of consecutive gradients fill one after the other and every rank
 * starts their exchanges in the same order (runtime/dist_exchange.c). */
static void order_by_definition(const Program *p, SplitStep *s) {
  for (int k = 1; k < s->ngrads; k++) /* insertion sort: stable, a dozen entries */
    for (int j = k; j > 0 && program_def(p, s->grad[j - 1]) > program_def(p, s->grad[j]); j--) {
      int g = s->grad[j], w = s->param[j];
      s->grad[j] = s->grad[j - 1], s->param[j] = s->param[j - 1];
      s->grad[j - 1] = g, s->param[j - 1] = w;
    }
}

static void start_program(Program *p, const char *name) {
  memset(p, 0, sizeof *p);
  p->name = strdup(name);
}

static void append(Program *p, const Op *op) {
  *op_emit(p, op->kind) = *op;
}

/* After op i, a grad_ready for each gradient it defines: from there on
 * the runtime may average it while the backward pass goes on. */
static void announce_gradients(const Program *p, int i, SplitStep *s) {
  for (int k = 0; k < s->ngrads; k++)
    if (program_def(p, s->grad[k]) == i) {
      Op *ready = op_emit(&s->grads, OP_GRAD_READY);
      ready->in[ready->nin++] = s->grad[k];
    }
}

static void split(const Program *p, SplitStep *s, const char *grads_name, const char *apply_name) {
  char *to_apply = calloc(p->nops ? p->nops : 1, 1);
  if (!to_apply) {
    fputs("sparsec: out of memory\n", stderr);
    exit(1);
  }
  memset(s, 0, sizeof *s);
  for (int i = 0; i < p->nops; i++)
    if (is_update(p->ops[i].kind)) {
      to_apply[i] = 1;
      add_gradient(s, data_term(p, i, to_apply), p->ops[i].in[0]);
    }
  order_by_definition(p, s);
  start_program(&s->grads, grads_name);
  start_program(&s->apply, apply_name);
  for (int i = 0; i < p->nops; i++) {
    append(to_apply[i] ? &s->apply : &s->grads, &p->ops[i]);
    announce_gradients(p, i, s);
  }
  s->grads.nlive = p->nlive;
  memcpy(s->grads.live, p->live, sizeof(int) * p->nlive);
  for (int k = 0; k < s->ngrads; k++) {
    s->grads.live[s->grads.nlive++] = s->grad[k];
    s->apply.carried[s->apply.ncarried++] = s->grad[k];
  }
  s->present = 1;
  free(to_apply);
}

void pass_split_updates(Module *m) {
  if (!m->train_split.present)
    split(&m->train, &m->train_split, "train_grads", "apply_updates");
  for (int i = 0; i < m->npretrain; i++) {
    PretrainProgram *pp = &m->pretrain[i];
    char grads[160], apply[160];
    snprintf(grads, sizeof grads, "%s_grads", pp->program.name);
    snprintf(apply, sizeof apply, "%s_apply", pp->program.name);
    if (!pp->split.present)
      split(&pp->program, &pp->split, grads, apply);
  }
}
