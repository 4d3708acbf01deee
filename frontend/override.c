/* override.c: `--set PATH=VALUE` from the command line. Each override is
 * applied to the AST before checking, so its value is checked exactly like
 * one written in the file. Its text is a Source of its own, named "--set N",
 * and every location made from it points there (Loc.src): a bad value or a
 * misspelt path is shown in the override, with a caret under it.
 *
 * Paths:
 *   BLOCK.SETTING           train.lr, data.limit, output.metrics, model.l1
 *   LAYER.KEY               h2.l1, h1.init, h1.units, h1.activation
 *   pretrain.LAYER.SETTING  pretrain.h1.epochs
 * A statement or argument that is not in the file is added. */
#include <ctype.h>

#include "frontend_internal.h"

#define MAX_PARTS 3

typedef struct Part {
  char name[MAX_NAME_LEN + 1];
  Loc loc;
} Part;

typedef struct Path {
  Part parts[MAX_PARTS];
  int n;
} Path;

typedef struct Setter {
  Ast *ast;
  const Source *src;
  Diag *diag;
  Loc whole;  /* the override's text: where added statements are */
} Setter;

static Loc span(const Source *src, int begin, int len) {
  Loc loc = source_loc(src, begin, len);
  loc.src = src;
  return loc;
}

/* ---- the path ------------------------------------------------------------------ */

static int is_name(const char *s, int len) {
  if (len == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
    return 0;
  for (int i = 1; i < len; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
      return 0;
  return 1;
}

/* One part of the path between `begin` and `end`, blanks trimmed. */
static int read_part(Setter *st, int begin, int end, Part *part) {
  const char *text = st->src->text;
  while (begin < end && isspace((unsigned char)text[begin]))
    begin++;
  while (end > begin && isspace((unsigned char)text[end - 1]))
    end--;
  int len = end - begin;
  if (len == 0) {
    diag_error(st->diag, span(st->src, begin, 1), "missing name in the path");
    return 0;
  }
  if (len > MAX_NAME_LEN) {
    diag_error(st->diag, span(st->src, begin, len), "name too long: %d bytes, at most %d", len,
               MAX_NAME_LEN);
    return 0;
  }
  if (!is_name(text + begin, len)) {
    diag_error(st->diag, span(st->src, begin, len), "'%.*s' is not a name", len, text + begin);
    return 0;
  }
  memcpy(part->name, text + begin, len);
  part->name[len] = '\0';
  part->loc = span(st->src, begin, len);
  return 1;
}

/* PATH of PATH=VALUE: `eq` is the offset of the '='. */
static int read_path(Setter *st, int eq, Path *path) {
  const char *text = st->src->text;
  int begin = 0;
  path->n = 0;
  for (;;) {
    const char *dot = memchr(text + begin, '.', eq - begin);
    int end = dot ? (int)(dot - text) : eq;
    if (path->n == MAX_PARTS) {
      diag_error(st->diag, span(st->src, begin, end - begin),
                 "too many parts in the path: BLOCK.SETTING, LAYER.KEY or "
                 "pretrain.LAYER.SETTING");
      return 0;
    }
    if (!read_part(st, begin, end, &path->parts[path->n++]))
      return 0;
    if (!dot)
      break;
    begin = end + 1;
  }
  if (path->n == 1) {
    diag_error(st->diag, path->parts[0].loc,
               "the path needs a block or layer and a setting, like train.lr");
    return 0;
  }
  return 1;
}

/* ---- finding and adding in the AST ------------------------------------------------- */

static Block *find_block(Ast *ast, const char *name) {
  for (int i = 0; i < ast->nblocks; i++)
    if (strcmp(ast->blocks[i].name, name) == 0)
      return &ast->blocks[i];
  return NULL;
}

/* A block that is not in the file is added, with no location of its own. */
static Block *block_named(Ast *ast, const char *name) {
  Block *b = find_block(ast, name);
  if (b)
    return b;
  b = block_new();
  b->name = xstrdup(name);
  ast_add_block(ast, b);
  return &ast->blocks[ast->nblocks - 1];
}

static Stmt *find_stmt(Block *b, const char *name, int want_block, int want_layer) {
  for (int i = 0; i < b->nstmts; i++) {
    Stmt *s = &b->stmts[i];
    int is_block = s->kind == STMT_BLOCK, is_layer = s->keyword != NULL;
    if (is_block == want_block && is_layer == want_layer && strcmp(s->name, name) == 0)
      return s;
  }
  return NULL;
}

static Stmt *find_layer(Ast *ast, const char *name) {
  for (int i = 0; i < ast->nblocks; i++) {
    if (strcmp(ast->blocks[i].name, "model") != 0)
      continue;
    Stmt *s = find_stmt(&ast->blocks[i], name, 0, 1);
    if (s)
      return s;
  }
  return NULL;
}

/* The names of every layer, after `first` (NULL-terminated); the caller frees. */
static const char **layer_names(const Ast *ast, const char *const *first) {
  int n = 0, m = 0;
  while (first[m])
    m++;
  for (int i = 0; i < ast->nblocks; i++)
    n += ast->blocks[i].nstmts;
  const char **names = xcalloc(m + n + 1, sizeof *names);
  memcpy(names, first, m * sizeof *names);
  for (int i = 0; i < ast->nblocks; i++) {
    const Block *b = &ast->blocks[i];
    for (int j = 0; strcmp(b->name, "model") == 0 && j < b->nstmts; j++)
      if (b->stmts[j].keyword)
        names[m++] = b->stmts[j].name;
  }
  return names;
}

static void unknown(Setter *st, const Part *part, const char *what, const char *const *known) {
  diag_error(st->diag, part->loc, "unknown %s '%s'", what, part->name);
  diag_suggest(st->diag, part->loc, part->name, known);
}

/* `key = value` in b, replacing the value of one that is there. */
static void set_statement(Setter *st, Block *b, const Part *key, Expr *value, StmtKind kind) {
  Stmt *s = find_stmt(b, key->name, 0, 0);
  if (s) {
    expr_free(s->value);
    s->value = value;
    s->kind = kind;
    return;
  }
  block_add_stmt(b, stmt_new(kind, st->whole, NULL, xstrdup(key->name), key->loc, value));
}

/* ---- the three kinds of path ------------------------------------------------------- */

/* BLOCK.SETTING */
static int set_in_block(Setter *st, const Path *path, Expr *value) {
  const char *block = path->parts[0].name;
  const Part *key = &path->parts[1];
  const char *names[MAX_SETTINGS + 1];
  language_settings(block, 0, names);
  if (path->n > 2) {
    diag_error(st->diag, path->parts[2].loc,
               "too many parts in the path: '%s.%s' already names a setting", block, key->name);
    return 0;
  }
  if (find_name(key->name, names) < 0) {
    diag_error(st->diag, key->loc, "unknown setting '%s' in '%s' block", key->name, block);
    if (strcmp(block, "pretrain") == 0 && find_layer(st->ast, key->name))
      diag_note(st->diag, key->loc, "a layer's pretraining settings are pretrain.%s.SETTING",
                key->name);
    else
      diag_suggest(st->diag, key->loc, key->name, names);
    return 0;
  }
  StmtKind kind = value->kind == EXPR_SET && language_takes_set(block, key->name) ? STMT_IN
                                                                                  : STMT_ASSIGN;
  set_statement(st, block_named(st->ast, block), key, value, kind);
  return 1;
}

/* pretrain.LAYER.SETTING: into the nested block named after the layer. */
static int set_in_pretrain_layer(Setter *st, const Path *path, Expr *value) {
  const Part *layer = &path->parts[1], *key = &path->parts[2];
  static const char *const none[] = {NULL};
  if (!find_layer(st->ast, layer->name)) {
    const char **names = layer_names(st->ast, none);
    unknown(st, layer, "layer", names);
    free(names);
    return 0;
  }
  const char *names[MAX_SETTINGS + 1];
  language_settings("pretrain", 1, names);
  if (find_name(key->name, names) < 0) {
    diag_error(st->diag, key->loc, "unknown pretrain setting '%s'", key->name);
    diag_suggest(st->diag, key->loc, key->name, names);
    return 0;
  }
  Block *pretrain = block_named(st->ast, "pretrain");
  Stmt *nested = find_stmt(pretrain, layer->name, 1, 0);
  if (!nested) {
    Block *b = block_new();
    b->name = xstrdup(layer->name);
    b->loc = layer->loc;
    block_add_stmt(pretrain, stmt_block(st->whole, b));
    nested = &pretrain->stmts[pretrain->nstmts - 1];
  }
  set_statement(st, nested->block, key, value, STMT_ASSIGN);
  return 1;
}

/* Positional argument `at` of a call (0 = units, 1 = activation). */
static int set_positional(Setter *st, const Part *key, Expr *call, int at, Expr *value) {
  int npos = 0;
  while (npos < call->nargs && !call->args[npos].key)
    npos++;
  if (at < npos) {
    expr_free(call->args[at].value);
    call->args[at].value = value;
    call->depth = call->depth > value->depth + 1 ? call->depth : value->depth + 1;
    return 1;
  }
  if (at > npos) {
    diag_error(st->diag, key->loc, "the layer has no width to put an activation after");
    return 0;
  }
  call_insert_arg(call, at, arg_new(NULL, (Loc){0, 0, 0, NULL}, value));
  return 1;
}

/* A keyword argument's value, replaced or added. */
static void set_keyword(Expr *call, const Part *key, Expr *value) {
  for (int i = 0; i < call->nargs; i++) {
    if (call->args[i].key && strcmp(call->args[i].key, key->name) == 0) {
      expr_free(call->args[i].value);
      call->args[i].value = value;
      call->depth = call->depth > value->depth + 1 ? call->depth : value->depth + 1;
      return;
    }
  }
  call_add_arg(call, arg_new(xstrdup(key->name), key->loc, value));
}

/* LAYER.KEY: an argument of the layer's dense(...). */
static int set_in_layer(Setter *st, const Path *path, Stmt *layer, Expr *value) {
  static const char *const positional[] = {"units", "activation", NULL};
  const Part *key = &path->parts[1];
  const char *keys[8] = {"units", "activation"};
  for (int i = 0; dense_keywords[i] && i < 5; i++)
    keys[2 + i] = dense_keywords[i];
  int ok = 0;
  if (path->n > 2) {
    diag_error(st->diag, path->parts[2].loc,
               "too many parts in the path: '%s.%s' already names a setting", layer->name,
               key->name);
  } else if (find_name(key->name, keys) < 0) {
    diag_error(st->diag, key->loc, "unknown setting '%s' of layer '%s'", key->name, layer->name);
    diag_suggest(st->diag, key->loc, key->name, keys);
  } else if (layer->value->kind != EXPR_CALL) {
    diag_error(st->diag, key->loc, "layer '%s' is not a call like dense(...)", layer->name);
  } else if (find_name(key->name, positional) >= 0) {
    ok = set_positional(st, key, layer->value, find_name(key->name, positional), value);
  } else {
    set_keyword(layer->value, key, value);
    ok = 1;
  }
  return ok;
}

/* Takes value on success. */
static int apply_path(Setter *st, const Path *path, Expr *value) {
  const Part *first = &path->parts[0];
  if (strcmp(first->name, "pretrain") == 0 && path->n == 3)
    return set_in_pretrain_layer(st, path, value);
  if (find_name(first->name, language_blocks) >= 0)
    return set_in_block(st, path, value);
  Stmt *layer = find_layer(st->ast, first->name);
  if (layer)
    return set_in_layer(st, path, layer, value);
  const char **names = layer_names(st->ast, language_blocks);
  unknown(st, first, "block or layer", names);
  free(names);
  return 0;
}

/* A string setting's value written without quotes (output.metrics=runs/m.csv,
 * as a shell passes it) is taken literally, blanks at its ends trimmed;
 * NULL when the setting is not a string or the value is quoted (then it is
 * parsed as in a file, escapes and all). */
static Expr *bare_string(Setter *st, const Path *path, int begin) {
  const char *text = st->src->text;
  int end = st->src->len;
  while (begin < end && isspace((unsigned char)text[begin]))
    begin++;
  while (end > begin && isspace((unsigned char)text[end - 1]))
    end--;
  if (path->n != 2 || begin == end || text[begin] == '"' ||
      !language_takes_string(path->parts[0].name, path->parts[1].name))
    return NULL;
  char *value = xrealloc(NULL, (size_t)(end - begin) + 1);
  memcpy(value, text + begin, (size_t)(end - begin));
  value[end - begin] = 0;
  return expr_string(span(st->src, begin, end - begin), value);
}

/* ---- entry point ------------------------------------------------------------------ */

static void apply_one(Ast *ast, const char *text, int index, Source **out, Diag *diag) {
  char name[32];
  snprintf(name, sizeof name, "--set %d", index + 1);
  Source *src = source_from_string(name, text);
  *out = src;
  Setter st = {.ast = ast, .src = src, .diag = diag, .whole = span(src, 0, src->len)};
  const char *eq = strchr(src->text, '=');
  if (!eq) {
    diag_error(diag, st.whole, "expected PATH=VALUE, like train.lr=0.01");
    return;
  }
  Path path;
  if (!read_path(&st, (int)(eq - src->text), &path))
    return;
  Expr *value = bare_string(&st, &path, (int)(eq - src->text) + 1);
  if (!value)
    value = parse_expression(src, (int)(eq - src->text) + 1, diag);
  if (value && !apply_path(&st, &path, value))
    expr_free(value);
}

int apply_overrides(Ast *ast, const Override *overrides, int n, Source **sources, Diag *diag) {
  int errors = diag->errors;
  for (int i = 0; i < n; i++)
    apply_one(ast, overrides[i].text ? overrides[i].text : "", i, &sources[i], diag);
  return diag->errors - errors;
}
