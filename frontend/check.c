/* check.c: AST -> Spec. All meaning lives here: which blocks and settings
 * exist, their types, ranges and defaults, and the rules that tie layers
 * together. Every problem is reported (not just the first) so that one run
 * of sparsec shows everything wrong with a spec. */
#include <limits.h>
#include <math.h>

#include "frontend_internal.h"

#define ACT_COUNT (ACT_SOFTMAX + 1)  /* keep in step with Activation */
#define LOSS_COUNT (LOSS_NLL + 1)    /* keep in step with Loss */
#define MAX_SEED 9007199254740992.0  /* 2^53: larger integers lose digits in a double */

typedef struct Checker {
  Diag *diag;
  const Source *src;
  const char *spec_dir;
  Spec *spec;
  Loc act_loc[SPEC_MAX_LAYERS];  /* each layer's activation; line 0 if it was bad */
  int too_many_layers;           /* reported once */
} Checker;

/* ---- did you mean ------------------------------------------------------- */

#define MAX_SUGGEST_LEN 64

static int min3(int a, int b, int c) {
  int m = a < b ? a : b;
  return m < c ? m : c;
}

static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > MAX_SUGGEST_LEN || lb > MAX_SUGGEST_LEN)
    return INT_MAX;
  int prev[MAX_SUGGEST_LEN + 1], cur[MAX_SUGGEST_LEN + 1];
  for (int j = 0; j <= lb; j++)
    prev[j] = j;
  for (int i = 1; i <= la; i++) {
    cur[0] = i;
    for (int j = 1; j <= lb; j++)
      cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]));
    memcpy(prev, cur, sizeof cur);
  }
  return prev[lb];
}

/* A note naming the closest of `known` (a NULL-terminated list), if it is at
 * most two edits away and not a complete rewrite of a very short name. */
static void suggest(Checker *c, Loc loc, const char *name, const char *const *known) {
  const char *best = NULL;
  int best_distance = 3;
  for (; *known; known++) {
    int d = edit_distance(name, *known);
    if (d < best_distance && d < (int)strlen(name)) {
      best = *known;
      best_distance = d;
    }
  }
  if (best)
    diag_note(c->diag, loc, "did you mean '%s'?", best);
}

static int find_name(const char *name, const char *const *names) {
  for (int i = 0; names[i]; i++)
    if (strcmp(name, names[i]) == 0)
      return i;
  return -1;
}

/* ---- values -------------------------------------------------------------- */

static void type_error(Checker *c, const Expr *e, const char *expected, const char *what) {
  const char *found = NULL;
  switch (e->kind) {
  case EXPR_NUMBER:
    found = e->is_integer ? "an integer" : "a number";
    break;
  case EXPR_STRING:
    found = "a string";
    break;
  case EXPR_IDENT:
    diag_error(c->diag, e->loc, "expected %s for %s, found identifier '%s'", expected, what, e->text);
    return;
  case EXPR_CALL:
    diag_error(c->diag, e->loc, "expected %s for %s, found a call to '%s'", expected, what, e->text);
    return;
  case EXPR_BINARY:
  case EXPR_NEG:
    found = "an arithmetic expression";
    break;
  }
  diag_error(c->diag, e->loc, "expected %s for %s, found %s", expected, what, found);
}

typedef struct Value {
  double number;
  int is_integer;  /* integer literals combined by + - * only */
} Value;

/* The '/' of `a / b` is not in the AST; find it between the operands,
 * skipping any comment there. */
static Loc operator_loc(const Checker *c, const Expr *e) {
  const Loc *lhs = &e->lhs->loc;
  const char *text = c->src->text;
  int at = source_offset(c->src, lhs->line, lhs->col) + lhs->len;
  while (at < c->src->len && text[at] != e->op) {
    if (text[at] == '#')
      while (at < c->src->len && text[at] != '\n')
        at++;
    else
      at++;
  }
  return source_loc(c->src, at, 1);
}

static int apply(Checker *c, const Expr *e, Value l, Value r, Value *out) {
  out->is_integer = l.is_integer && r.is_integer && e->op != '/';
  switch (e->op) {
  case '+': out->number = l.number + r.number; break;
  case '-': out->number = l.number - r.number; break;
  case '*': out->number = l.number * r.number; break;
  default:
    if (r.number == 0) {
      diag_error(c->diag, operator_loc(c, e), "division by zero");
      return 0;
    }
    out->number = l.number / r.number;
    break;
  }
  if (!isfinite(out->number)) {
    diag_error(c->diag, e->loc, "number too large");
    return 0;
  }
  return 1;
}

/* Constant-folds arithmetic on numbers, so `scale = 1/255` works. Reports
 * every non-number leaf as a type error against `expected`/`what`. */
static int fold(Checker *c, const Expr *e, const char *expected, const char *what, Value *out) {
  Value l, r;
  switch (e->kind) {
  case EXPR_NUMBER:
    *out = (Value){e->number, e->is_integer};
    return 1;
  case EXPR_NEG:
    if (!fold(c, e->lhs, expected, what, out))
      return 0;
    out->number = -out->number;
    return 1;
  case EXPR_BINARY: {
    int ok = fold(c, e->lhs, expected, what, &l);
    ok &= fold(c, e->rhs, expected, what, &r);
    return ok && apply(c, e, l, r, out);
  }
  default:
    type_error(c, e, expected, what);
    return 0;
  }
}

static int check_number(Checker *c, const Expr *e, const char *what, double *out) {
  Value v;
  if (!fold(c, e, "a number", what, &v))
    return 0;
  *out = v.number;
  return 1;
}

/* An integer in [min, max]. `what` reads like "'batch'" or "the width of
 * layer 'h1'". */
static int check_int(Checker *c, const Expr *e, const char *what, double min, double max,
                     double *out) {
  Value v;
  if (!fold(c, e, "an integer", what, &v))
    return 0;
  if (!v.is_integer) {
    diag_error(c->diag, e->loc, "expected an integer for %s, found a number", what);
    return 0;
  }
  if (v.number < min || v.number > max) {
    if (v.number < min && max >= INT_MAX)
      diag_error(c->diag, e->loc, "%s must be at least %.15g, not %.15g", what, min, v.number);
    else
      diag_error(c->diag, e->loc, "%s must be between %.15g and %.15g, not %.15g", what, min,
                 max, v.number);
    return 0;
  }
  *out = v.number;
  return 1;
}

/* Positive and non-negative numbers, the two ranges real settings need. */
static int check_positive(Checker *c, const Expr *e, const char *what, double *out) {
  if (!check_number(c, e, what, out))
    return 0;
  if (*out > 0)
    return 1;
  diag_error(c->diag, e->loc, "%s must be greater than 0, not %.15g", what, *out);
  return 0;
}

static int check_non_negative(Checker *c, const Expr *e, const char *what, double *out) {
  if (!check_number(c, e, what, out))
    return 0;
  if (*out >= 0)
    return 1;
  diag_error(c->diag, e->loc, "%s must be at least 0, not %.15g", what, *out);
  return 0;
}

static Loc callee_loc(const Expr *call) {
  return (Loc){call->loc.line, call->loc.col, (int)strlen(call->text)};
}

/* ---- model: layers -------------------------------------------------------- */

static int check_activation(Checker *c, const Expr *e, const char *what, Activation *out) {
  static const char *const unsupported[] = {"tanh", "softplus", "sigmoid", "linear", NULL};
  const char *known[ACT_COUNT + 1] = {NULL};
  for (int a = 0; a < ACT_COUNT; a++)
    known[a] = activation_name(a);
  if (e->kind != EXPR_IDENT) {
    type_error(c, e, "an activation", what);
    return 0;
  }
  int i = find_name(e->text, known);
  if (i >= 0) {
    *out = (Activation)i;
    return 1;
  }
  if (find_name(e->text, unsupported) >= 0) {
    diag_error(c->diag, e->loc, "activation '%s' is not supported yet", e->text);
  } else {
    diag_error(c->diag, e->loc, "unknown activation '%s'", e->text);
    suggest(c, e->loc, e->text, known);
  }
  return 0;
}

/* The keyword arguments of dense(); only l1 so far. */
static void check_dense_keyword(Checker *c, const Arg *arg, const Arg **l1, LayerSpec *layer) {
  static const char *const keys[] = {"l1", NULL};
  if (strcmp(arg->key, "l1") != 0) {
    diag_error(c->diag, arg->key_loc, "unknown argument '%s' to dense", arg->key);
    suggest(c, arg->key_loc, arg->key, keys);
    return;
  }
  if (*l1) {
    diag_error(c->diag, arg->key_loc, "duplicate argument 'l1'");
    diag_note(c->diag, (*l1)->key_loc, "first defined here");
    return;
  }
  *l1 = arg;
  char what[300];
  snprintf(what, sizeof what, "'l1' of layer '%s'", layer->name);
  check_non_negative(c, arg->value, what, &layer->l1);
}

/* The width and activation of dense(); `pos` are its positional arguments. */
static void check_dense_positional(Checker *c, const Expr *call, const Expr **pos, int npos,
                                   LayerSpec *layer, Loc *act_loc) {
  char what[300];
  snprintf(what, sizeof what, "layer '%s'", layer->name);
  /* dense(relu) is the likely mistake: the width is what is missing. */
  if (npos == 0 || (npos == 1 && pos[0]->kind == EXPR_IDENT)) {
    diag_error(c->diag, call->loc, "layer '%s' needs a width: dense(UNITS, ACTIVATION)",
               layer->name);
    return;
  }
  char width_what[320];
  snprintf(width_what, sizeof width_what, "the width of %s", what);
  double units;
  if (check_int(c, pos[0], width_what, 1, SPEC_MAX_UNITS, &units))
    layer->units = (int)units;
  if (npos == 1) {
    diag_error(c->diag, call->loc, "layer '%s' needs an activation: dense(UNITS, ACTIVATION)",
               layer->name);
    return;
  }
  if (check_activation(c, pos[1], what, &layer->act))
    *act_loc = pos[1]->loc;
}

/* dense(UNITS, ACTIVATION [, l1 = NUMBER]): positional arguments first, then
 * keyword ones, which is also the order they are checked in. */
static void check_dense(Checker *c, const Expr *call, LayerSpec *layer, Loc *act_loc) {
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
        diag_error(c->diag, arg->value->loc,
                   "too many arguments: dense(UNITS, ACTIVATION [, l1 = NUMBER])");
    } else {
      pos[npos++] = arg->value;
    }
  }
  check_dense_positional(c, call, pos, npos, layer, act_loc);
  const Arg *l1 = NULL;
  for (int i = 0; i < call->nargs; i++)
    if (call->args[i].key)
      check_dense_keyword(c, &call->args[i], &l1, layer);
}

static void check_layer_value(Checker *c, const Stmt *s, LayerSpec *layer, Loc *act_loc) {
  static const char *const kinds[] = {"dense", NULL};
  const Expr *e = s->value;
  if (e->kind != EXPR_CALL) {
    char what[300];
    snprintf(what, sizeof what, "layer '%s'", s->name);
    type_error(c, e, "dense(UNITS, ACTIVATION)", what);
  } else if (strcmp(e->text, "dense") != 0) {
    diag_error(c->diag, callee_loc(e), "unknown layer type '%s'", e->text);
    suggest(c, callee_loc(e), e->text, kinds);
  } else {
    check_dense(c, e, layer, act_loc);
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
  for (int i = 0; i < spec->nlayers; i++) {
    if (strcmp(spec->layers[i].name, s->name) == 0) {
      diag_error(c->diag, s->name_loc, "duplicate layer '%s'", s->name);
      diag_note(c->diag, spec->layers[i].loc, "first defined here");
      break;
    }
  }
  LayerSpec layer = {.name = xstrdup(s->name), .loc = s->name_loc, .act = ACT_RELU};
  Loc act_loc = {0, 0, 0};
  check_layer_value(c, s, &layer, &act_loc);
  spec->layers = xrealloc(spec->layers, (spec->nlayers + 1) * sizeof *spec->layers);
  c->act_loc[spec->nlayers] = act_loc;
  spec->layers[spec->nlayers++] = layer;
}

/* Rules about the layers as a whole: hidden layers then one softmax output,
 * which is what the nll loss needs. */
static void finish_model(Checker *c, const Block *b) {
  const Spec *spec = c->spec;
  int n = spec->nlayers;
  if (c->too_many_layers)
    return;  /* the real output layer was not kept: nothing sound to say */
  if (n == 0) {
    diag_error(c->diag, b->loc,
               "the model has no layers: it needs at least one hidden layer and an output layer");
    return;
  }
  const LayerSpec *out = &spec->layers[n - 1];
  if (n == 1)
    diag_error(c->diag, out->loc,
               "the model needs a hidden layer before its output layer '%s'", out->name);
  for (int i = 0; i < n - 1; i++)
    if (c->act_loc[i].line > 0 && spec->layers[i].act == ACT_SOFTMAX)
      diag_error(c->diag, c->act_loc[i], "softmax is only supported on the output layer");
  if (c->act_loc[n - 1].line > 0 && out->act != ACT_SOFTMAX)
    diag_error(c->diag, c->act_loc[n - 1],
               "the output layer '%s' must use softmax, which the '%s' loss needs", out->name,
               loss_name(spec->loss));
}

/* ---- settings, block by block ------------------------------------------- */

typedef void CheckSetting(Checker *c, const Stmt *s, const char *what);

static void check_input(Checker *c, const Stmt *s, const char *what) {
  double v;
  if (check_int(c, s->value, what, 1, SPEC_MAX_UNITS, &v)) {
    c->spec->input = (int)v;
    c->spec->input_loc = s->value->loc;
  }
}

static void check_loss(Checker *c, const Stmt *s, const char *what) {
  const char *known[LOSS_COUNT + 1] = {NULL};
  for (int l = 0; l < LOSS_COUNT; l++)
    known[l] = loss_name(l);
  const Expr *e = s->value;
  if (e->kind != EXPR_IDENT) {
    type_error(c, e, "a loss name", what);
    return;
  }
  int i = find_name(e->text, known);
  if (i >= 0) {
    c->spec->loss = (Loss)i;
    return;
  }
  diag_error(c->diag, e->loc, "unknown loss '%s'", e->text);
  suggest(c, e->loc, e->text, known);
}

static void check_lr(Checker *c, const Stmt *s, const char *what) {
  if (!check_positive(c, s->value, what, &c->spec->train.lr))
    return;
  if (c->spec->train.lr >= 1)
    diag_warning(c->diag, s->value->loc,
                 "learning rate %.15g is unusually large; SGD usually diverges when lr >= 1",
                 c->spec->train.lr);
}

static void check_batch(Checker *c, const Stmt *s, const char *what) {
  double v;
  if (check_int(c, s->value, what, 1, INT_MAX, &v))
    c->spec->train.batch = (int)v;
}

static void check_epochs(Checker *c, const Stmt *s, const char *what) {
  double v;
  if (check_int(c, s->value, what, 1, INT_MAX, &v))
    c->spec->train.epochs = (int)v;
}

static void check_seed(Checker *c, const Stmt *s, const char *what) {
  double v;
  if (check_int(c, s->value, what, 0, MAX_SEED, &v))
    c->spec->train.seed = (uint64_t)v;
}

static char *resolve_path(const Checker *c, const char *path) {
  const char *dir = c->spec_dir;
  if (path[0] == '/' || !dir || !dir[0])
    return xstrdup(path);
  size_t n = strlen(dir);
  const char *sep = dir[n - 1] == '/' ? "" : "/";
  size_t size = n + strlen(sep) + strlen(path) + 1;
  char *out = xrealloc(NULL, size);
  snprintf(out, size, "%s%s%s", dir, sep, path);
  return out;
}

/* idx("IMAGES", "LABELS") */
static void check_dataset(Checker *c, const Stmt *s, const char *what, DataSource *out) {
  static const char *const formats[] = {"idx", NULL};
  const Expr *e = s->value;
  if (e->kind != EXPR_CALL) {
    type_error(c, e, "idx(\"IMAGES\", \"LABELS\")", what);
    return;
  }
  if (strcmp(e->text, "idx") != 0) {
    diag_error(c->diag, callee_loc(e), "unknown data format '%s'", e->text);
    suggest(c, callee_loc(e), e->text, formats);
    return;
  }
  if (e->nargs != 2 || e->args[0].key || e->args[1].key) {
    diag_error(c->diag, e->loc, "idx needs two paths: idx(\"IMAGES\", \"LABELS\")");
    return;
  }
  static const char *const roles[] = {"images", "labels"};
  const char *paths[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    const Expr *arg = e->args[i].value;
    char role[300];
    snprintf(role, sizeof role, "the %s of %s", roles[i], what);
    if (arg->kind != EXPR_STRING)
      type_error(c, arg, "a path string", role);
    else if (!arg->text[0])
      diag_error(c->diag, arg->loc, "empty path for %s", role);
    else
      paths[i] = arg->text;
  }
  if (!paths[0] || !paths[1])
    return;
  out->images = resolve_path(c, paths[0]);
  out->labels = resolve_path(c, paths[1]);
  out->loc = e->loc;
}

static void check_train_set(Checker *c, const Stmt *s, const char *what) {
  check_dataset(c, s, what, &c->spec->data.train);
}

static void check_test_set(Checker *c, const Stmt *s, const char *what) {
  check_dataset(c, s, what, &c->spec->data.test);
}

static void check_scale(Checker *c, const Stmt *s, const char *what) {
  check_positive(c, s->value, what, &c->spec->data.scale);
}

static void check_validation(Checker *c, const Stmt *s, const char *what) {
  double v;
  if (check_int(c, s->value, what, 0, INT_MAX, &v))
    c->spec->data.validation = (int)v;
}

typedef struct Setting {
  const char *key;
  CheckSetting *check;
  int required;
} Setting;

#define MAX_SETTINGS 8

static const Setting model_settings[] = {
  {"input", check_input, 1},
  {"loss", check_loss, 1},
  {NULL, NULL, 0},
};

static const Setting train_settings[] = {
  {"lr", check_lr, 1},
  {"batch", check_batch, 1},
  {"epochs", check_epochs, 1},
  {"seed", check_seed, 0},
  {NULL, NULL, 0},
};

static const Setting data_settings[] = {
  {"train", check_train_set, 1},
  {"test", check_test_set, 1},
  {"scale", check_scale, 0},
  {"validation", check_validation, 0},
  {NULL, NULL, 0},
};

typedef struct BlockKind {
  const char *name;
  const Setting *settings;
  int has_layers;
  void (*finish)(Checker *c, const Block *b);  /* rules across statements */
} BlockKind;

static const BlockKind block_kinds[] = {
  {"model", model_settings, 1, finish_model},
  {"train", train_settings, 0, NULL},
  {"data", data_settings, 0, NULL},
};

#define NUM_BLOCK_KINDS (int)(sizeof block_kinds / sizeof *block_kinds)

static void check_setting(Checker *c, const Block *b, const Setting *table, const Stmt *s,
                          const Stmt **seen) {
  const char *keys[MAX_SETTINGS + 1] = {NULL};
  for (int i = 0; table[i].key; i++)
    keys[i] = table[i].key;
  int i = find_name(s->name, keys);
  if (i < 0) {
    diag_error(c->diag, s->name_loc, "unknown setting '%s' in '%s' block", s->name, b->name);
    suggest(c, s->name_loc, s->name, keys);
  } else if (seen[i]) {
    diag_error(c->diag, s->name_loc, "duplicate setting '%s'", s->name);
    diag_note(c->diag, seen[i]->name_loc, "first defined here");
  } else {
    seen[i] = s;
    char what[300];
    snprintf(what, sizeof what, "'%s'", s->name);
    table[i].check(c, s, what);
  }
}

/* Statements in source order, so messages come out in reading order. */
static void check_block(Checker *c, const Block *b, const BlockKind *kind) {
  const Stmt *seen[MAX_SETTINGS] = {NULL};
  for (int i = 0; i < b->nstmts; i++) {
    const Stmt *s = &b->stmts[i];
    if (!s->keyword)
      check_setting(c, b, kind->settings, s, seen);
    else if (kind->has_layers)
      check_layer(c, s);
    else
      diag_error(c->diag, (Loc){s->loc.line, s->loc.col, (int)strlen(s->keyword)},
                 "layers belong in the 'model' block");
  }
  for (int i = 0; kind->settings[i].key; i++)
    if (kind->settings[i].required && !seen[i])
      diag_error(c->diag, b->loc, "missing setting '%s' in '%s' block", kind->settings[i].key,
                 b->name);
  if (kind->finish)
    kind->finish(c, b);
}

/* ---- whole spec ---------------------------------------------------------- */

/* "runs/mnist.spn" -> "mnist" */
static char *spec_name(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 4 && strcmp(base + n - 4, ".spn") == 0)
    n -= 4;
  char *name = xrealloc(NULL, n + 1);
  memcpy(name, base, n);
  name[n] = '\0';
  return name;
}

static Spec *spec_new(Source *src) {
  Spec *spec = xcalloc(1, sizeof *spec);
  spec->src = src;
  spec->name = spec_name(src->path);
  spec->loss = LOSS_NLL;
  spec->train.seed = 1;
  spec->data.scale = 1;
  spec->data.validation = 0;
  return spec;
}

static int block_kind(const char *name) {
  for (int k = 0; k < NUM_BLOCK_KINDS; k++)
    if (strcmp(name, block_kinds[k].name) == 0)
      return k;
  return -1;
}

static void check_blocks(Checker *c, const Ast *ast) {
  const char *names[NUM_BLOCK_KINDS + 1] = {NULL};
  for (int k = 0; k < NUM_BLOCK_KINDS; k++)
    names[k] = block_kinds[k].name;
  const Block *seen[NUM_BLOCK_KINDS] = {NULL};
  for (int i = 0; i < ast->nblocks; i++) {
    const Block *b = &ast->blocks[i];
    int k = block_kind(b->name);
    if (k < 0) {
      diag_error(c->diag, b->loc, "unknown block '%s'", b->name);
      suggest(c, b->loc, b->name, names);
    } else if (seen[k]) {
      diag_error(c->diag, b->loc, "duplicate '%s' block", b->name);
      diag_note(c->diag, seen[k]->loc, "first defined here");
    } else {
      seen[k] = b;
      check_block(c, b, &block_kinds[k]);
    }
  }
  for (int k = 0; k < NUM_BLOCK_KINDS; k++)
    if (!seen[k])
      diag_error(c->diag, (Loc){1, 1, 1}, "missing '%s' block", names[k]);
}

Spec *check_ast(const Ast *ast, Source *src, const char *spec_dir, Diag *diag) {
  Checker c = {.diag = diag, .src = src, .spec_dir = spec_dir, .spec = spec_new(src)};
  check_blocks(&c, ast);
  if (diag->errors == 0)
    return c.spec;
  c.spec->src = NULL;  /* the caller still owns it */
  spec_free(c.spec);
  return NULL;
}
