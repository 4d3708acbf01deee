/* check_pretrain.c: greedy layer-wise pretraining with denoising
 * autoencoders (paper, section 3.2). The block's settings apply to every
 * listed layer; a nested block named after a layer overrides them for that
 * layer's stage:
 *
 *   pretrain {
 *     layers = {h1, h2}
 *     noise = masking(0.25)
 *     h2 { epochs = 5 }
 *   }
 *
 * Settings that must agree (targets = before and the linear decoder) are
 * checked per stage once every override is in.
 *
 * Settings go to c->pretrain.target: first the template every stage starts
 * from, then each stage in turn. */
#include <limits.h>

#include "check_internal.h"

static const char *const noise_kinds[] = {"masking", "salt_pepper", "gaussian", NULL};
static const char *const noise_usage[] = {"masking(P)", "salt_pepper(P)", "gaussian(SIGMA)"};

/* ---- layers ------------------------------------------------------------------- */

static int layer_index(const Spec *spec, const char *name) {
  for (int i = 0; i < spec->nlayers; i++)
    if (strcmp(spec->layers[i].name, name) == 0)
      return i;
  return -1;
}

static void unknown_layer(Checker *c, Loc loc, const char *name) {
  const char *names[SPEC_MAX_LAYERS + 1];
  for (int i = 0; i < c->spec->nlayers; i++)
    names[i] = c->spec->layers[i].name;
  names[c->spec->nlayers] = NULL;
  diag_error(c->diag, loc, "unknown layer '%s'", name);
  diag_suggest(c->diag, loc, name, names);
}

/* One element of `layers`: 1 if it is added to the list. */
static int list_layer(Checker *c, const Expr *e, const char *what) {
  const Spec *spec = c->spec;
  if (e->kind != EXPR_IDENT) {
    type_error(c, e, "a layer name", what);
    return 0;
  }
  int i = layer_index(spec, e->text);
  if (i < 0) {
    unknown_layer(c, e->loc, e->text);
    return 0;
  }
  if (i == spec->nlayers - 1) {
    diag_error(c->diag, e->loc, "the output layer '%s' cannot be pretrained", e->text);
    diag_note(c->diag, spec->layers[i].loc, "the output layer is declared here");
    return 0;
  }
  for (int k = 0; k < c->pretrain.nlisted; k++) {
    const Listed *seen = &c->pretrain.listed[k];
    if (seen->layer == i) {
      diag_error(c->diag, e->loc, "layer '%s' is listed twice", e->text);
      diag_note(c->diag, seen->loc, "first listed here");
      return 0;
    }
  }
  int n = c->pretrain.nlisted;
  if (n > 0 && c->pretrain.listed[n - 1].layer > i) {
    diag_error(c->diag, e->loc, "pretrain layers must be in network order: '%s' comes before '%s'",
               e->text, spec->layers[c->pretrain.listed[n - 1].layer].name);
    return 0;
  }
  c->pretrain.listed[c->pretrain.nlisted++] = (Listed){i, e->loc};
  return 1;
}

static void check_layers(Checker *c, const Stmt *s, const char *what) {
  const Expr *e = s->value;
  c->pretrain.layers_loc = s->name_loc;
  if (e->kind != EXPR_SET) {
    type_error(c, e, "a set of layer names like {h1, h2}", what);
    c->pretrain.layers_bad = 1;
    return;
  }
  if (!c->have_model)
    return;  /* nothing to look the names up in */
  for (int i = 0; i < e->nargs; i++)
    if (!list_layer(c, e->args[i].value, what))
      c->pretrain.layers_bad = 1;
}

static void layers_per_layer(Checker *c, const Stmt *s, const char *what) {
  (void)what;
  diag_error(c->diag, s->name_loc,
             "'layers' belongs to the 'pretrain' block, not to one layer's settings");
}

/* ---- settings of a stage --------------------------------------------------------- */

static int check_probability(Checker *c, const Expr *e, const char *what, double *out) {
  double p;
  if (!check_number(c, e, what, &p))
    return 0;
  if (p >= 0 && p < 1) {
    *out = p;
    return 1;
  }
  diag_error(c->diag, e->loc, "%s must be at least 0 and less than 1, not %.15g", what, p);
  return 0;
}

/* masking(P) | salt_pepper(P) | gaussian(SIGMA) */
static int check_noise(Checker *c, const Expr *e, const char *what, NoiseSpec *out) {
  if (e->kind != EXPR_IDENT && e->kind != EXPR_CALL) {
    type_error(c, e, "a noise like masking(0.25)", what);
    return 0;
  }
  Loc name_loc = e->kind == EXPR_CALL ? callee_loc(e) : e->loc;
  int kind = find_name(e->text, noise_kinds);
  if (kind < 0) {
    diag_error(c->diag, name_loc, "unknown noise '%s'", e->text);
    diag_suggest(c->diag, name_loc, e->text, noise_kinds);
    return 0;
  }
  if (e->kind != EXPR_CALL) {
    diag_error(c->diag, e->loc, "%s noise needs its parameter: %s", e->text, noise_usage[kind]);
    return 0;
  }
  const Expr *arg;
  if (!check_one_argument(c, e, noise_usage[kind], &arg))
    return 0;
  char param[WHAT_LEN + 32];
  double p;
  if (kind == NOISE_GAUSSIAN) {
    snprintf(param, sizeof param, "the sigma of gaussian noise");
    if (!check_non_negative(c, arg, param, &p))
      return 0;
  } else {
    snprintf(param, sizeof param, "the probability of %s noise", e->text);
    if (!check_probability(c, arg, param, &p))
      return 0;
  }
  if (kind == NOISE_MASKING && p >= 0.9)
    diag_warning(c->diag, arg->loc, "masking noise with p = %.15g: most inputs will be zeroed", p);
  *out = (NoiseSpec){kind, p, e->loc};
  return 1;
}

static void check_noise_setting(Checker *c, const Stmt *s, const char *what) {
  check_noise(c, s->value, what, &c->pretrain.target->noise);
}

static void check_reconstruction(Checker *c, const Stmt *s, const char *what) {
  const char *names[RECON_COUNT_ + 1];
  for (int r = 0; r < RECON_COUNT_; r++)
    names[r] = reconstruction_name((Reconstruction)r);
  names[RECON_COUNT_] = NULL;
  int r;
  if (check_choice(c, s->value, "reconstruction", what, names, &r)) {
    c->pretrain.target->recon = r;
    c->pretrain.target->recon_loc = s->value->loc;
  }
}

/* Whether it fits the reconstruction is known once every override is in
 * (check_targets_fit). */
static void check_targets(Checker *c, const Stmt *s, const char *what) {
  const char *names[TARGETS_COUNT_ + 1];
  for (int t = 0; t < TARGETS_COUNT_; t++)
    names[t] = targets_name((ReconTargets)t);
  names[TARGETS_COUNT_] = NULL;
  int t;
  if (check_choice(c, s->value, "reconstruction target", what, names, &t)) {
    c->pretrain.target->targets = t;
    c->pretrain.target->targets_loc = s->value->loc;
  }
}

static void check_decoder(Checker *c, const Stmt *s, const char *what) {
  static const char *const names[] = {"untied", "tied", NULL};
  int tied;
  if (check_choice(c, s->value, "decoder", what, names, &tied))
    c->pretrain.target->tied = tied;
}

static void check_stage_epochs(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 1, MAX_EPOCHS, &v))
    c->pretrain.target->epochs = (int)v;
}

static void check_stage_batch(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 1, MAX_BATCH, &v))
    c->pretrain.target->batch = (int)v;
}

static void check_stage_lr(Checker *c, const Stmt *s, const char *what) {
  if (check_positive(c, s->value, what, &c->pretrain.target->lr))
    warn_large_lr(c, s->value, c->pretrain.target->lr);
}

static void check_stage_l1(Checker *c, const Stmt *s, const char *what) {
  check_non_negative(c, s->value, what, &c->pretrain.target->l1);
}

/* Nested blocks are checked once the stages exist (check_layer_blocks). */
static void checked_later(Checker *c, const Stmt *s) {
  (void)c;
  (void)s;
}

static const Setting pretrain_settings[] = {
  {"layers", check_layers, 0},
  {"noise", check_noise_setting, 0},
  {"reconstruction", check_reconstruction, 0},
  {"targets", check_targets, 0},
  {"decoder", check_decoder, 0},
  {"epochs", check_stage_epochs, 0},
  {"lr", check_stage_lr, 0},
  {"batch", check_stage_batch, 0},
  {"l1", check_stage_l1, 0},
  {NULL, NULL, 0},
};

static const Setting pretrain_layer_settings[] = {
  {"layers", layers_per_layer, 0},
  {"noise", check_noise_setting, 0},
  {"reconstruction", check_reconstruction, 0},
  {"targets", check_targets, 0},
  {"decoder", check_decoder, 0},
  {"epochs", check_stage_epochs, 0},
  {"lr", check_stage_lr, 0},
  {"batch", check_stage_batch, 0},
  {"l1", check_stage_l1, 0},
  {NULL, NULL, 0},
};

const BlockRules pretrain_rules = {"pretrain", pretrain_settings, NULL, checked_later};
const BlockRules pretrain_layer_rules = {"pretrain layer", pretrain_layer_settings, NULL, NULL};

/* ---- stages ---------------------------------------------------------------------- */

/* One stage a listed layer (by default every hidden layer), each a copy of
 * the block's settings. */
static void build_stages(Checker *c, const Block *b, const PretrainStage *template) {
  Spec *spec = c->spec;
  if (!c->pretrain.layers_loc.line) {
    for (int i = 0; i < spec->nlayers - 1; i++)
      c->pretrain.listed[c->pretrain.nlisted++] = (Listed){i, b->loc};
  }
  int n = c->pretrain.nlisted;
  spec->pretrain.stages = xcalloc(n, sizeof *spec->pretrain.stages);
  spec->pretrain.nstages = n;
  for (int k = 0; k < n; k++) {
    spec->pretrain.stages[k] = *template;
    spec->pretrain.stages[k].layer = c->pretrain.listed[k].layer;
    spec->pretrain.stages[k].loc = c->pretrain.listed[k].loc;
  }
}

/* The stage of the layer a nested block names; -1 (reported) if none. */
static int stage_of(Checker *c, const Stmt *s) {
  const Spec *spec = c->spec;
  if (!c->have_model || c->pretrain.layers_bad)
    return -1;  /* the names cannot be resolved soundly: the cause was reported */
  int i = layer_index(spec, s->name);
  if (i < 0) {
    unknown_layer(c, s->name_loc, s->name);
    return -1;
  }
  for (int k = 0; k < spec->pretrain.nstages; k++)
    if (spec->pretrain.stages[k].layer == i)
      return k;
  diag_error(c->diag, s->name_loc, "layer '%s' is not pretrained: it is not in 'layers'",
             s->name);
  if (c->pretrain.layers_loc.line)
    diag_note(c->diag, c->pretrain.layers_loc, "the layers to pretrain are listed here");
  return -1;
}

static void check_layer_blocks(Checker *c, const Block *b) {
  const Stmt **seen = xcalloc(c->spec->pretrain.nstages, sizeof *seen);
  for (int i = 0; i < b->nstmts; i++) {
    const Stmt *s = &b->stmts[i];
    if (s->kind != STMT_BLOCK)
      continue;
    PretrainStage scratch = {0};
    int k = stage_of(c, s);
    if (k >= 0 && seen[k]) {
      diag_error(c->diag, s->name_loc, "duplicate settings for layer '%s'", s->name);
      diag_note(c->diag, seen[k]->name_loc, "first defined here");
    }
    if (k >= 0)
      seen[k] = s;
    /* checked even when the layer is wrong, so typos inside still show */
    c->pretrain.target = k >= 0 ? &c->spec->pretrain.stages[k] : &scratch;
    check_statements(c, s->block, &pretrain_layer_rules);
  }
  free(seen);
}

static int same_loc(Loc a, Loc b) {
  return a.line == b.line && a.col == b.col && a.src == b.src;
}

/* 1 when an earlier stage above the first layer drew the same targets and
 * reconstruction from the same statements: its error was the one to
 * report. */
static int reported_before(const Spec *spec, int k) {
  const PretrainStage *st = &spec->pretrain.stages[k];
  for (int j = 0; j < k; j++) {
    const PretrainStage *o = &spec->pretrain.stages[j];
    if (o->layer > 0 && o->targets == st->targets && o->recon == st->recon &&
        same_loc(o->targets_loc, st->targets_loc) && same_loc(o->recon_loc, st->recon_loc))
      return 1;
  }
  return 0;
}

/* Targets before the rectifier are pre-activations, of any sign: only the
 * linear decoder can reach them (the paper offers the choice for strategy 3
 * alone). `name`: the layer whose stage it is, NULL for the block's. */
static void before_needs_linear(Checker *c, const PretrainStage *st, const char *name) {
  char whose[160] = "the block";
  if (name)
    snprintf(whose, sizeof whose, "layer '%s'", name);
  diag_error(c->diag, st->targets_loc,
             "'targets = before' needs 'reconstruction = linear_quadratic', but %s "
             "reconstructs with %s%s",
             whose, st->recon_loc.line ? "" : "the default ", reconstruction_name(st->recon));
  if (st->recon_loc.line)
    diag_note(c->diag, st->recon_loc, "the reconstruction of %s is set here", whose);
}

/* The first hidden layer has no layer below: it reconstructs the input
 * whatever the setting, so a `before` written for it alone is a mistake.
 * The block's `before` is meant for the layers above it. */
static void first_layer_before(Checker *c, const PretrainStage *st) {
  diag_error(c->diag, st->targets_loc,
             "'targets = before' takes the pre-activations of the layer below, and '%s' is the "
             "first hidden layer: its target is the input",
             c->spec->layers[st->layer].name);
}

/* The block's `before` when no stage has a layer below: it would be taken
 * for something and do nothing. */
static void block_before_unused(Checker *c, const PretrainStage *template) {
  if (template->recon != RECON_LINEAR_QUADRATIC) {
    before_needs_linear(c, template, NULL);
    return;
  }
  diag_warning(c->diag, template->targets_loc,
               "'targets = before' changes nothing: the only layer pretrained, '%s', is the "
               "first hidden layer, and its target is the input",
               c->spec->layers[c->spec->pretrain.stages[0].layer].name);
}

static void check_targets_fit(Checker *c, const PretrainStage *template) {
  const Spec *spec = c->spec;
  int above_first = 0;
  for (int k = 0; k < spec->pretrain.nstages; k++) {
    const PretrainStage *st = &spec->pretrain.stages[k];
    above_first |= st->layer > 0;
    if (st->targets != TARGETS_BEFORE || reported_before(spec, k))
      continue;
    if (st->layer > 0 && st->recon != RECON_LINEAR_QUADRATIC)
      before_needs_linear(c, st, spec->layers[st->layer].name);
    else if (st->layer == 0 && !same_loc(st->targets_loc, template->targets_loc))
      first_layer_before(c, st);
  }
  if (spec->pretrain.nstages > 0 && !above_first && template->targets == TARGETS_BEFORE)
    block_before_unused(c, template);
}

void check_pretrain(Checker *c, const Block *b) {
  PretrainStage template = {
    .noise = {NOISE_MASKING, 0.25, {0, 0, 0, NULL}},
    .recon = RECON_SOFTPLUS_QUADRATIC,
    .targets = TARGETS_AFTER,
    .tied = 1,
    .epochs = 10,
    .batch = 10,
    .lr = 0.01,
  };
  c->spec->pretrain.present = 1;
  c->spec->pretrain.loc = b->loc;
  c->pretrain.target = &template;
  check_statements(c, b, &pretrain_rules);
  if (c->have_model && !c->pretrain.layers_bad)
    build_stages(c, b, &template);
  check_layer_blocks(c, b);
  check_targets_fit(c, &template);
  c->pretrain.target = NULL;
}
