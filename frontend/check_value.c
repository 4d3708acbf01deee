/* check_value.c: the values settings take. Numbers may be written as
 * constant arithmetic (`scale = 1/255`), folded here; the rest are names,
 * strings and the small calls of the language (uniform(A)). */
#include <limits.h>
#include <math.h>

#include "check_internal.h"

Loc loc_head(Loc loc, int len) {
  loc.len = len > 0 ? len : 1;
  return loc;
}

Loc callee_loc(const Expr *call) {
  return loc_head(call->loc, (int)strlen(call->text));
}

void type_error(Checker *c, const Expr *e, const char *expected, const char *what) {
  const char *found = NULL;
  switch (e->kind) {
  case EXPR_NUMBER:
    found = e->is_integer ? "an integer" : "a number";
    break;
  case EXPR_STRING:
    found = "a string";
    break;
  case EXPR_IDENT:
    diag_error(c->diag, e->loc, "expected %s for %s, found identifier '%s'", expected, what,
               e->text);
    return;
  case EXPR_CALL:
    diag_error(c->diag, e->loc, "expected %s for %s, found a call to '%s'", expected, what,
               e->text);
    return;
  case EXPR_SET:
    found = "a set";
    break;
  case EXPR_BINARY:
  case EXPR_NEG:
    found = "an arithmetic expression";
    break;
  }
  diag_error(c->diag, e->loc, "expected %s for %s, found %s", expected, what, found);
}

/* ---- numbers --------------------------------------------------------------- */

typedef struct Value {
  double number;
  int is_integer;  /* integer literals combined by + - * only */
} Value;

/* The operator of `a / b` is not in the AST; find it between the operands,
 * skipping any comment there. */
static Loc operator_loc(const Checker *c, const Expr *e) {
  const Source *src = loc_source(e->loc, c->src);
  const Loc *lhs = &e->lhs->loc;
  const char *text = src->text;
  int at = source_offset(src, lhs->line, lhs->col) + lhs->len;
  while (at < src->len && text[at] != e->op) {
    if (text[at] == '#')
      while (at < src->len && text[at] != '\n')
        at++;
    else
      at++;
  }
  Loc loc = source_loc(src, at, 1);
  loc.src = e->loc.src;
  return loc;
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
    diag_error(c->diag, e->loc, "number out of range");
    return 0;
  }
  return 1;
}

/* Constant-folds arithmetic on numbers. Reports every non-number leaf as a
 * type error against `expected`/`what`. The parser bounds the depth. */
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

/* -0 prints as "-0" in messages and means 0. */
static double plain_zero(double x) {
  return x == 0 ? 0 : x;
}

int check_number_kind(Checker *c, const Expr *e, const char *what, double *out, int *is_integer) {
  Value v;
  if (!fold(c, e, "a number", what, &v))
    return 0;
  *out = plain_zero(v.number);
  *is_integer = v.is_integer;
  return 1;
}

int check_number(Checker *c, const Expr *e, const char *what, double *out) {
  int is_integer;
  return check_number_kind(c, e, what, out, &is_integer);
}

/* An integer in [min, max]. */
int check_int(Checker *c, const Expr *e, const char *what, double min, double max, double *out) {
  Value v;
  if (!fold(c, e, "an integer", what, &v))
    return 0;
  v.number = plain_zero(v.number);
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

int check_positive(Checker *c, const Expr *e, const char *what, double *out) {
  double v;
  if (!check_number(c, e, what, &v))
    return 0;
  if (v > 0) {
    *out = v;
    return 1;
  }
  diag_error(c->diag, e->loc, "%s must be greater than 0, not %.15g", what, v);
  return 0;
}

int check_non_negative(Checker *c, const Expr *e, const char *what, double *out) {
  double v;
  if (!check_number(c, e, what, &v))
    return 0;
  if (v >= 0) {
    *out = v;
    return 1;
  }
  diag_error(c->diag, e->loc, "%s must be at least 0, not %.15g", what, v);
  return 0;
}

/* ---- names and strings ------------------------------------------------------ */

int check_choice(Checker *c, const Expr *e, const char *kind, const char *what,
                 const char *const *names, int *out) {
  if (e->kind != EXPR_IDENT) {
    char expected[64];
    snprintf(expected, sizeof expected, "%s %s", strchr("aeiou", kind[0]) ? "an" : "a", kind);
    type_error(c, e, expected, what);
    return 0;
  }
  int i = find_name(e->text, names);
  if (i >= 0) {
    *out = i;
    return 1;
  }
  diag_error(c->diag, e->loc, "unknown %s '%s'", kind, e->text);
  diag_suggest(c->diag, e->loc, e->text, names);
  return 0;
}

int check_bool(Checker *c, const Expr *e, const char *what, int *out) {
  static const char *const names[] = {"false", "true", NULL};
  if (e->kind == EXPR_IDENT && find_name(e->text, names) >= 0) {
    *out = find_name(e->text, names);
    return 1;
  }
  type_error(c, e, "true or false", what);
  if (e->kind == EXPR_IDENT)
    diag_suggest(c->diag, e->loc, e->text, names);
  return 0;
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

int check_path(Checker *c, const Expr *e, const char *what, char **out) {
  if (e->kind != EXPR_STRING) {
    type_error(c, e, "a path string", what);
    return 0;
  }
  if (!e->text[0]) {
    diag_error(c->diag, e->loc, "empty path for %s", what);
    return 0;
  }
  *out = resolve_path(c, e->text);
  return 1;
}

/* ---- small calls ------------------------------------------------------------ */

int check_one_argument(Checker *c, const Expr *call, const char *usage, const Expr **arg) {
  if (call->nargs != 1 || call->args[0].key) {
    diag_error(c->diag, call->loc, "%s takes one number: %s", call->text, usage);
    return 0;
  }
  *arg = call->args[0].value;
  return 1;
}

int check_init(Checker *c, const Expr *e, const char *what, InitSpec *out) {
  static const char *const names[] = {"glorot_uniform", "he_normal", "uniform", NULL};
  const char *name = e->kind == EXPR_IDENT || e->kind == EXPR_CALL ? e->text : NULL;
  int kind = name ? find_name(name, names) : -1;
  Loc name_loc = e->kind == EXPR_CALL ? callee_loc(e) : e->loc;
  if (!name) {
    type_error(c, e, "glorot_uniform, he_normal or uniform(A)", what);
    return 0;
  }
  if (kind < 0) {
    diag_error(c->diag, name_loc, "unknown initialisation '%s'", name);
    diag_suggest(c->diag, name_loc, name, names);
    return 0;
  }
  if (kind == INIT_UNIFORM && e->kind != EXPR_CALL) {
    diag_error(c->diag, e->loc, "uniform needs its bound: uniform(A)");
    return 0;
  }
  if (kind != INIT_UNIFORM && e->kind == EXPR_CALL) {
    diag_error(c->diag, e->loc, "%s takes no arguments", name);
    return 0;
  }
  InitSpec init = {.kind = kind, .loc = e->loc};
  if (kind == INIT_UNIFORM) {
    const Expr *a;
    char bound[WHAT_LEN + 32];
    snprintf(bound, sizeof bound, "the bound of uniform in %s", what);
    if (!check_one_argument(c, e, "uniform(A)", &a) || !check_positive(c, a, bound, &init.a))
      return 0;
  }
  *out = init;
  return 1;
}

void warn_large_lr(Checker *c, const Expr *e, double lr) {
  if (lr >= 1)
    diag_warning(c->diag, e->loc,
                 "learning rate %.15g is unusually large; SGD usually diverges when lr >= 1", lr);
}
