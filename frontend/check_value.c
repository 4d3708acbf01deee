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

/* Skips blanks, comments and the brackets `skip` names ("(" or ")"). */
static int skip_around(const char *text, int i, int end, char skip) {
  while (i < end) {
    if (text[i] == '#')
      while (i < end && text[i] != '\n')
        i++;
    else if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n' ||
             text[i] == skip)
      i++;
    else
      break;
  }
  return i;
}

/* The digits of an integer literal in the source, within its location,
 * which brackets around it widen: `(5)`, `( # five\n 5 )`. NULL if the
 * location holds something else (an expression replaced by 0 after an
 * error). */
static const char *literal_digits(const Checker *c, const Expr *e, int *len) {
  const Source *src = loc_source(e->loc, c->src);
  int at = source_offset(src, e->loc.line, e->loc.col);
  if (e->loc.line < 1 || e->loc.len < 1 || at + e->loc.len > src->len)
    return NULL;
  const char *text = src->text;
  int end = at + e->loc.len;
  int first = skip_around(text, at, end, '('), last = first;
  while (last < end && text[last] >= '0' && text[last] <= '9')
    last++;
  if (last == first || skip_around(text, last, end, ')') != end)
    return NULL;
  *len = last - first;
  return text + first;
}

/* An integer literal's exact value, read from its digits: the double the
 * lexer made of it is rounded past 2^53. */
static void literal_integer(const Checker *c, const Expr *e, Number *out) {
  int len;
  const char *digits = literal_digits(c, e, &len);
  long long v = 0;
  int overflow = 0;
  for (int i = 0; digits && i < len && !overflow; i++)
    overflow = __builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, digits[i] - '0', &v);
  if (digits) {
    out->overflow = overflow;
    out->integer = overflow ? 0 : v;
    return;
  }
  /* a placeholder whose error is reported: 0, or trusted no further than 2^53 */
  out->overflow = !(fabs(e->number) < 0x1p53);
  out->integer = out->overflow ? 0 : (long long)e->number;
}

static int apply_integer(int op, long long l, long long r, long long *out) {
  switch (op) {
  case '+': return __builtin_add_overflow(l, r, out);
  case '-': return __builtin_sub_overflow(l, r, out);
  default: return __builtin_mul_overflow(l, r, out);
  }
}

static int apply(Checker *c, const Expr *e, Number l, Number r, Number *out) {
  *out = (Number){0};
  out->is_integer = l.is_integer && r.is_integer && e->op != '/';
  switch (e->op) {
  case '+': out->value = l.value + r.value; break;
  case '-': out->value = l.value - r.value; break;
  case '*': out->value = l.value * r.value; break;
  default:
    if (r.value == 0) {
      diag_error(c->diag, operator_loc(c, e), "division by zero");
      return 0;
    }
    out->value = l.value / r.value;
    break;
  }
  if (!isfinite(out->value)) {
    diag_error(c->diag, e->loc, "number out of range");
    return 0;
  }
  if (out->is_integer) {
    out->overflow = l.overflow || r.overflow ||
                    apply_integer(e->op, l.integer, r.integer, &out->integer);
    if (out->overflow)
      out->integer = 0;
    else
      out->value = (double)out->integer;
  }
  return 1;
}

/* Constant-folds arithmetic on numbers. Reports every non-number leaf as a
 * type error against `expected`/`what`. The parser bounds the depth. */
static int fold(Checker *c, const Expr *e, const char *expected, const char *what, Number *out) {
  Number l, r;
  switch (e->kind) {
  case EXPR_NUMBER:
    *out = (Number){.value = e->number, .is_integer = e->is_integer};
    if (e->is_integer)
      literal_integer(c, e, out);
    return 1;
  case EXPR_NEG:
    if (!fold(c, e->lhs, expected, what, out))
      return 0;
    out->value = -out->value;
    if (out->is_integer && !out->overflow &&
        __builtin_sub_overflow(0LL, out->integer, &out->integer))
      out->overflow = 1, out->integer = 0;
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

int check_numeric(Checker *c, const Expr *e, const char *what, Number *out) {
  if (!fold(c, e, "a number", what, out))
    return 0;
  out->value = plain_zero(out->value);
  return 1;
}

int check_number(Checker *c, const Expr *e, const char *what, double *out) {
  Number v;
  if (!check_numeric(c, e, what, &v))
    return 0;
  *out = v.value;
  return 1;
}

/* The literal of `5` or `-5`. */
static const Expr *literal_lhs(const Expr *e) {
  return e->kind == EXPR_NEG ? e->lhs : e;
}

/* A literal in a message: its first digits if it is very long. */
#define SHOWN_LEN 32

void number_text(const Checker *c, const Expr *e, const Number *v, char *buf, size_t size) {
  int negated = e->kind == EXPR_NEG && e->lhs->kind == EXPR_NUMBER;
  const char *sign = negated ? "-" : "";
  const Expr *lit = negated ? e->lhs : e;
  int len = 0;
  const char *digits = lit->kind == EXPR_NUMBER && lit->is_integer ? literal_digits(c, lit, &len)
                                                                    : NULL;
  if (v->is_integer && v->overflow && digits) {
    snprintf(buf, size, "%s%.*s%s", sign, len > SHOWN_LEN ? SHOWN_LEN : len, digits,
             len > SHOWN_LEN ? "..." : "");
  } else if (v->is_integer && !v->overflow) {
    snprintf(buf, size, "%lld", v->integer);
  } else {
    snprintf(buf, size, "%.15g", plain_zero(v->value));
  }
}

/* Upper bounds this large go unsaid when a value is below the lower one. */
#define FAR_BOUND 1000000000

/* "must be between MIN and MAX, not V", or "at least MIN". */
static void range_error(Checker *c, const Expr *e, const Number *v, const char *what,
                        long long min, long long max) {
  int below = v->is_integer && !v->overflow ? v->integer < min : v->value < (double)min;
  char shown[SHOWN_LEN + 8];
  int literal = e->kind == EXPR_NUMBER || (e->kind == EXPR_NEG && e->lhs->kind == EXPR_NUMBER);
  int len;
  if (v->is_integer && v->overflow && (!literal || !literal_digits(c, literal_lhs(e), &len))) {
    diag_error(c->diag, e->loc, "%s must be between %lld and %lld; this arithmetic overflows "
               "a 64-bit integer", what, min, max);
    return;
  }
  number_text(c, e, v, shown, sizeof shown);
  if (below && max >= FAR_BOUND)
    diag_error(c->diag, e->loc, "%s must be at least %lld, not %s", what, min, shown);
  else
    diag_error(c->diag, e->loc, "%s must be between %lld and %lld, not %s", what, min, max,
               shown);
}

int check_int_value(Checker *c, const Expr *e, const Number *v, const char *what, long long min,
                    long long max, long long *out) {
  if (v->overflow || v->integer < min || v->integer > max) {
    range_error(c, e, v, what, min, max);
    return 0;
  }
  *out = v->integer;
  return 1;
}

int check_int(Checker *c, const Expr *e, const char *what, long long min, long long max,
              long long *out) {
  Number v;
  if (!fold(c, e, "an integer", what, &v))
    return 0;
  if (v.is_integer)
    return check_int_value(c, e, &v, what, min, max, out);
  /* 1e10 is a number, but what is wrong with it is its size */
  int whole = v.value == floor(v.value);
  if (whole && (v.value < (double)min || v.value > (double)max)) {
    range_error(c, e, &v, what, min, max);
    return 0;
  }
  diag_error(c->diag, e->loc, "expected an integer for %s, found a number", what);
  if (whole)
    diag_note(c->diag, e->loc, "an integer is written without '.' or an exponent: %.0f",
              plain_zero(v.value));
  return 0;
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
