/* check_model.c: the network. `input`, the layers in order (the last one is
 * the output), model-wide defaults for the layers, and the output head: the
 * output activation and the loss must fit each other (softmax + nll,
 * sigmoid + cross_entropy, linear + squared_error). */
#include <math.h>

#include "check_internal.h"

enum { KW_L1, KW_L2, KW_INIT, KW_BIAS, KW_SIGN_TRICK };
const char *const dense_keywords[] = {"l1", "l2", "init", "bias", "sign_trick", NULL};

#define DENSE_USAGE "dense(UNITS, ACTIVATION, KEY = VALUE...)"

static int check_bias(Checker *c, const Expr *e, const char *what, double *out) {
  return check_number(c, e, what, out);  /* folding already refuses inf and nan */
}

/* ---- one layer ---------------------------------------------------------------- */

/* relu, or leaky_relu(0.1) for one that takes a parameter (activations.def):
 * without one, the default. */
static void check_activation(Checker *c, const Expr *e, const char *what, LayerSpec *layer,
                             LayerWritten *w) {
  const char *names[ACT_COUNT_ + 1];
  for (int a = 0; a < ACT_COUNT_; a++)
    names[a] = activation_name(a);
  names[ACT_COUNT_] = NULL;
  Expr name = e->kind == EXPR_CALL ? (Expr){.kind = EXPR_IDENT, .loc = callee_loc(e), .text = e->text} : *e;
  int a;
  if (!check_choice(c, &name, "activation", what, names, &a))
    return;
  const ActivationInfo *info = activation_info(a);
  double param = info->parameter;
  if (e->kind == EXPR_CALL) {
    if (isnan(info->parameter)) {
      diag_error(c->diag, e->loc, "activation '%s' takes no parameter", info->keyword);
      return;
    }
    char usage[64], param_what[WHAT_LEN];
    snprintf(usage, sizeof usage, "%s(%g)", info->keyword, info->parameter);
    const Expr *arg;
    snprintf(param_what, sizeof param_what, "the parameter of %s", info->keyword);
    if (!check_one_argument(c, e, usage, &arg) || !check_number(c, arg, param_what, &param))
      return;
    if (!(param >= info->lo && param < info->hi)) {
      diag_error(c->diag, arg->loc, "%s must be at least %g and less than %g, not %.15g",
                 param_what, info->lo, info->hi, param);
      return;
    }
  }
  layer->act = a;
  layer->act_param = param;
  layer->act_loc = e->loc;
  w->act = e->loc;
}

static void check_dense_value(Checker *c, int key, const Expr *e, const char *what,
                              LayerSpec *layer, LayerWritten *w) {
  switch (key) {
  case KW_L1:
    if (check_non_negative(c, e, what, &layer->l1))
      w->l1 = layer->l1_loc = e->loc;
    return;
  case KW_L2:
    if (check_non_negative(c, e, what, &layer->l2))
      w->l2 = layer->l2_loc = e->loc;
    return;
  case KW_INIT:
    if (check_init(c, e, what, &layer->init))
      w->init = e->loc;
    return;
  case KW_BIAS:
    if (check_bias(c, e, what, &layer->bias))
      w->bias = e->loc;
    return;
  case KW_SIGN_TRICK:
    if (check_bool(c, e, what, &layer->sign_trick))
      w->sign_trick = e->loc;
    return;
  }
}

static void check_dense_keyword(Checker *c, const Arg *arg, const Arg **seen, LayerSpec *layer,
                                LayerWritten *w) {
  int key = find_name(arg->key, dense_keywords);
  if (key < 0) {
    diag_error(c->diag, arg->key_loc, "unknown argument '%s' to dense", arg->key);
    diag_suggest(c->diag, arg->key_loc, arg->key, dense_keywords);
    return;
  }
  if (seen[key]) {
    diag_error(c->diag, arg->key_loc, "duplicate argument '%s'", arg->key);
    diag_note(c->diag, seen[key]->key_loc, "first defined here");
    return;
  }
  seen[key] = arg;
  char what[WHAT_LEN];
  snprintf(what, sizeof what, "'%s' of layer '%s'", arg->key, layer->name);
  check_dense_value(c, key, arg->value, what, layer, w);
}

/* The width and activation; `pos` are the positional arguments. */
static void check_dense_positional(Checker *c, const Expr *call, const Expr **pos, int npos,
                                   LayerSpec *layer, LayerWritten *w) {
  /* dense(relu) is the likely mistake: the width is what is missing. */
  if (npos == 0 || (npos == 1 && pos[0]->kind == EXPR_IDENT)) {
    diag_error(c->diag, call->loc, "layer '%s' needs a width: dense(UNITS, ACTIVATION)",
               layer->name);
    return;
  }
  char what[WHAT_LEN];
  snprintf(what, sizeof what, "the width of layer '%s'", layer->name);
  long long units;
  if (check_int(c, pos[0], what, 1, SPEC_MAX_UNITS, &units))
    layer->units = (int)units;
  if (npos == 1) {
    diag_error(c->diag, call->loc, "layer '%s' needs an activation: dense(UNITS, ACTIVATION)",
               layer->name);
    return;
  }
  snprintf(what, sizeof what, "layer '%s'", layer->name);
  check_activation(c, pos[1], what, layer, w);
}

/* dense(UNITS, ACTIVATION, KEY = VALUE...): positional arguments first, then
 * keyword ones, which is also the order they are checked in. */
static void check_dense(Checker *c, const Expr *call, LayerSpec *layer, LayerWritten *w) {
  const Expr *pos[2];
  int npos = 0, nkeys = 0, too_many = 0;
  for (int i = 0; i < call->nargs; i++) {
    const Arg *arg = &call->args[i];
    if (arg->key) {
      nkeys++;
    } else if (nkeys > 0) {
      diag_error(c->diag, arg->value->loc, "positional argument after keyword argument");
    } else if (npos == 2) {
      if (!too_many++)
        diag_error(c->diag, arg->value->loc, "too many arguments: " DENSE_USAGE);
    } else {
      pos[npos++] = arg->value;
    }
  }
  check_dense_positional(c, call, pos, npos, layer, w);
  const Arg *seen[5] = {NULL};
  for (int i = 0; i < call->nargs; i++)
    if (call->args[i].key)
      check_dense_keyword(c, &call->args[i], seen, layer, w);
}

static void check_layer_value(Checker *c, const Stmt *s, LayerSpec *layer, LayerWritten *w) {
  static const char *const kinds[] = {"dense", NULL};
  const Expr *e = s->value;
  if (e->kind != EXPR_CALL) {
    char what[WHAT_LEN];
    snprintf(what, sizeof what, "layer '%s'", s->name);
    type_error(c, e, "dense(UNITS, ACTIVATION)", what);
  } else if (strcmp(e->text, "dense") != 0) {
    diag_error(c->diag, callee_loc(e), "unknown layer type '%s'", e->text);
    diag_suggest(c->diag, callee_loc(e), e->text, kinds);
  } else {
    check_dense(c, e, layer, w);
  }
}

/* A name is unique, and not a block's: `--set NAME.key` must mean one thing. */
static void check_layer_name(Checker *c, const Stmt *s) {
  const Spec *spec = c->spec;
  if (find_name(s->name, language_blocks) >= 0)
    diag_error(c->diag, s->name_loc, "'%s' names a block; choose another layer name", s->name);
  for (int i = 0; i < spec->nlayers; i++) {
    if (strcmp(spec->layers[i].name, s->name) == 0) {
      diag_error(c->diag, s->name_loc, "duplicate layer '%s'", s->name);
      diag_note(c->diag, spec->layers[i].loc, "first defined here");
      return;
    }
  }
}

static void check_layer(Checker *c, const Stmt *s) {
  Spec *spec = c->spec;
  if (spec->nlayers == SPEC_MAX_LAYERS) {
    if (!c->too_many_layers++)
      diag_error(c->diag, s->name_loc, "too many layers: at most %d are supported",
                 SPEC_MAX_LAYERS);
    return;
  }
  check_layer_name(c, s);
  LayerSpec layer = {.name = xstrdup(s->name), .loc = s->name_loc, .act = ACT_RELU,
                     .act_param = ACT_NO_PARAM};
  LayerWritten *w = &c->written[spec->nlayers];
  check_layer_value(c, s, &layer, w);
  spec->layers = xrealloc(spec->layers, (spec->nlayers + 1) * sizeof *spec->layers);
  spec->layers[spec->nlayers++] = layer;
}

/* ---- model-wide settings -------------------------------------------------------- */

static void check_input(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 1, SPEC_MAX_UNITS, &v)) {
    c->spec->input = (int)v;
    c->spec->input_loc = s->value->loc;
  }
}

static void check_loss(Checker *c, const Stmt *s, const char *what) {
  const char *names[LOSS_COUNT_ + 1];
  for (int l = 0; l < LOSS_COUNT_; l++)
    names[l] = loss_name(l);
  names[LOSS_COUNT_] = NULL;
  int l;
  if (check_choice(c, s->value, "loss", what, names, &l)) {
    c->spec->loss = l;
    c->model.loss_loc = s->value->loc;
  }
}

static void check_default_l1(Checker *c, const Stmt *s, const char *what) {
  if (check_non_negative(c, s->value, what, &c->model.l1))
    c->model.l1_loc = s->value->loc;
}

static void check_default_l2(Checker *c, const Stmt *s, const char *what) {
  if (check_non_negative(c, s->value, what, &c->model.l2))
    c->model.l2_loc = s->value->loc;
}

static void check_default_init(Checker *c, const Stmt *s, const char *what) {
  check_init(c, s->value, what, &c->model.init);
}

static void check_default_bias(Checker *c, const Stmt *s, const char *what) {
  if (check_bias(c, s->value, what, &c->model.bias))
    c->model.bias_loc = s->value->loc;
}

static void check_default_sign_trick(Checker *c, const Stmt *s, const char *what) {
  if (check_bool(c, s->value, what, &c->model.sign_trick))
    c->model.sign_trick_loc = s->value->loc;
}

static const Setting model_settings[] = {
  {"input", check_input, REQUIRED},
  {"loss", check_loss, 0},
  {"l1", check_default_l1, 0},
  {"l2", check_default_l2, 0},
  {"init", check_default_init, 0},
  {"bias", check_default_bias, 0},
  {"sign_trick", check_default_sign_trick, 0},
  {NULL, NULL, 0},
};

const BlockRules model_rules = {"model", model_settings, check_layer, NULL};

/* ---- the layers as a whole ----------------------------------------------------- */

/* What a layer did not write comes from the model's defaults. l1 and the
 * sign trick are about hidden codes, so the output layer keeps 0 / false. */
static void apply_defaults(Checker *c) {
  const ModelDefaults *d = &c->model;
  for (int i = 0; i < c->spec->nlayers; i++) {
    LayerSpec *layer = &c->spec->layers[i];
    const LayerWritten *w = &c->written[i];
    int hidden = i < c->spec->nlayers - 1;
    if (!w->l1.line && hidden) {
      layer->l1 = d->l1;
      layer->l1_loc = d->l1_loc;
    }
    if (!w->l2.line) {
      layer->l2 = d->l2;
      layer->l2_loc = d->l2_loc;
    }
    if (!w->init.line)
      layer->init = d->init;
    if (!w->bias.line)
      layer->bias = d->bias;
    if (!w->sign_trick.line && hidden)
      layer->sign_trick = d->sign_trick;
  }
}

static void check_hidden_softmax(Checker *c) {
  for (int i = 0; i < c->spec->nlayers - 1; i++) {
    Loc act = c->written[i].act;
    if (!act.line || c->spec->layers[i].act != ACT_SOFTMAX)
      continue;
    diag_warning(c->diag, act, "softmax on a hidden layer");
    diag_error(c->diag, act,
               "softmax is only supported on the output layer: a hidden softmax has no "
               "derivative implemented");
  }
}

static Loss loss_for(Activation act) {
  switch (act) {
  case ACT_SOFTMAX: return LOSS_NLL;
  case ACT_SIGMOID: return LOSS_CROSS_ENTROPY;
  case ACT_LINEAR: return LOSS_SQUARED_ERROR;
  default: return LOSS_COUNT_;
  }
}

/* The output activation and the loss: the loss is inferred when omitted. */
static void check_head(Checker *c) {
  Spec *spec = c->spec;
  const LayerSpec *out = &spec->layers[spec->nlayers - 1];
  const LayerWritten *w = &c->written[spec->nlayers - 1];
  if (w->sign_trick.line && out->sign_trick)
    diag_error(c->diag, w->sign_trick, "sign_trick is not allowed on the output layer '%s'",
               out->name);
  if (!w->act.line)
    return;  /* a bad activation was reported */
  Loss fits = loss_for(out->act);
  if (fits == LOSS_COUNT_) {
    diag_error(c->diag, w->act, "output layer '%s' must be softmax, sigmoid or linear, not %s",
               out->name, activation_name(out->act));
    return;
  }
  if (!c->model.loss_loc.line) {
    spec->loss = fits;
    return;
  }
  if (spec->loss == fits)
    return;
  diag_error(c->diag, c->model.loss_loc, "loss '%s' does not match the output activation '%s'",
             loss_name(spec->loss), activation_name(out->act));
  diag_note(c->diag, w->act, "the output layer '%s' is declared %s here, which goes with "
            "'loss = %s'", out->name, activation_name(out->act), loss_name(fits));
}

void check_model(Checker *c, const Block *b) {
  c->model.init = (InitSpec){.kind = INIT_GLOROT_UNIFORM};
  check_statements(c, b, &model_rules);
  Spec *spec = c->spec;
  if (c->too_many_layers)
    return;  /* the real output layer was not kept: nothing sound to say */
  if (spec->nlayers == 0) {
    diag_error(c->diag, b->loc,
               "the model has no layers: it needs at least one hidden layer and an output layer");
    return;
  }
  if (spec->nlayers == 1)
    diag_error(c->diag, spec->layers[0].loc,
               "the model needs a hidden layer before its output layer '%s'",
               spec->layers[0].name);
  apply_defaults(c);
  check_hidden_softmax(c);
  check_head(c);
}
