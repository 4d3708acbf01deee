/* check_train.c: supervised training by minibatch SGD. The paper picks a
 * constant learning rate from {0.1, 0.01, 0.001, 0.0001} by validation
 * error: `lr in {...}` says exactly that, and every value is trained. */
#include <limits.h>

#include "check_internal.h"

/* `lr in {0.1, 0.01}`: 1..SPEC_MAX_SWEEP distinct positive values. */
static void check_sweep(Checker *c, const Expr *set, const char *what) {
  Spec *spec = c->spec;
  const Expr *first[SPEC_MAX_SWEEP];
  int n = 0;
  for (int i = 0; i < set->nargs; i++) {
    const Expr *e = set->args[i].value;
    if (n == SPEC_MAX_SWEEP) {
      diag_error(c->diag, e->loc, "too many learning rates: at most %d", SPEC_MAX_SWEEP);
      return;
    }
    double lr;
    if (!check_positive(c, e, what, &lr))
      continue;
    int dup = -1;
    for (int k = 0; k < n && dup < 0; k++)
      if (spec->train.lrs[k] == lr)
        dup = k;
    if (dup >= 0) {
      diag_error(c->diag, e->loc, "learning rate %.15g is listed twice", lr);
      diag_note(c->diag, first[dup]->loc, "first listed here");
      continue;
    }
    warn_large_lr(c, e, lr);
    first[n] = e;
    spec->train.lrs[n++] = lr;
  }
  if (n > 0) {
    spec->train.nlrs = n;
    spec->train.lr = spec->train.lrs[0];
  }
}

static void check_lr(Checker *c, const Stmt *s, const char *what) {
  Spec *spec = c->spec;
  const Expr *e = s->value;
  spec->train.lr_loc = e->loc;
  if (s->kind == STMT_IN) {
    if (e->kind == EXPR_SET)
      check_sweep(c, e, what);
    else
      diag_error(c->diag, e->loc, "expected a set of learning rates after 'in', like "
                 "{0.1, 0.01}");
    return;
  }
  if (e->kind == EXPR_SET) {
    type_error(c, e, "a number", what);
    diag_note(c->diag, e->loc, "to try several learning rates, write 'lr in {...}'");
    return;
  }
  if (!check_positive(c, e, what, &spec->train.lr))
    return;
  warn_large_lr(c, e, spec->train.lr);
  spec->train.lrs[0] = spec->train.lr;
  spec->train.nlrs = 1;
}

static void check_momentum(Checker *c, const Stmt *s, const char *what) {
  double m;
  if (!check_number(c, s->value, what, &m))
    return;
  if (m >= 0 && m < 1)
    c->spec->train.momentum = m;
  else
    diag_error(c->diag, s->value->loc, "%s must be at least 0 and less than 1, not %.15g", what,
               m);
}

static void check_batch(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 1, MAX_BATCH, &v))
    c->spec->train.batch = (int)v;
}

static void check_epochs(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 1, MAX_EPOCHS, &v))
    c->spec->train.epochs = (int)v;
}

static void check_patience(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 0, INT_MAX, &v))
    c->spec->train.patience = (int)v;
}

/* 0 .. 2^53: the documented range, which every reader of a spec (a double
 * in JSON, say) holds exactly. */
static void check_seed(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 0, MAX_SEED, &v))
    c->spec->train.seed = (uint64_t)v;
}

/* 1 .. SPEC_MAX_SEEDS: how many seeds the whole run is repeated with, for
 * a mean and a standard deviation of each figure (experiment.c). */
static void check_seeds(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 1, SPEC_MAX_SEEDS, &v))
    c->spec->train.seeds = (int)v;
}

static const Setting train_settings[] = {
  {"lr", check_lr, REQUIRED | TAKES_SET},
  {"momentum", check_momentum, 0},
  {"batch", check_batch, REQUIRED},
  {"epochs", check_epochs, REQUIRED},
  {"patience", check_patience, 0},
  {"seed", check_seed, 0},
  {"seeds", check_seeds, 0},
  {NULL, NULL, 0},
};

const BlockRules train_rules = {"train", train_settings, NULL, NULL};

void check_train(Checker *c, const Block *b) {
  check_statements(c, b, &train_rules);
}
