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
  const char *names[] = {reconstruction_name(RECON_SOFTPLUS_QUADRATIC),
                         reconstruction_name(RECON_SCALED_SIGMOID_CE),
                         reconstruction_name(RECON_LINEAR_QUADRATIC), NULL};
  int r;
  if (check_choice(c, s->value, "reconstruction", what, names, &r))
    c->pretrain.target->recon = r;
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

void check_pretrain(Checker *c, const Block *b) {
  PretrainStage template = {
    .noise = {NOISE_MASKING, 0.25, {0, 0, 0, NULL}},
    .recon = RECON_SOFTPLUS_QUADRATIC,
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
  c->pretrain.target = NULL;
}
