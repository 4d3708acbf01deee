/* options.c: the option parser every command line goes through
 * (options.h). The messages are made here, once, from the table, so that
 * `sparsec run`, `PROG train` and the REPL's `ir` word them alike. */
#include "closest_name.h"
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- looking options up ------------------------------------------------------ */

/* Calls f on each option of the table and its `also` groups, with where
 * its target is; stops when f returns nonzero and returns that. */
typedef int (*Visit)(const SrOption *opt, size_t base, void *ctx);

static int each_option(const SrOptTable *t, Visit f, void *ctx) {
  size_t base = 0;
  for (; t; base += t->also_at, t = t->also)
    for (const SrOption *o = t->options; o && (o->name || o->short_name); o++) {
      int rc = f(o, base, ctx);
      if (rc)
        return rc;
    }
  return 0;
}

typedef struct Lookup {
  const char *word;
  size_t len;          /* of the name part: up to any '=' */
  const SrOption *found;
  size_t base;
} Lookup;

static int matches(const SrOption *o, size_t base, void *ctx) {
  Lookup *l = ctx;
  const char *w = l->word;
  int hit = w[1] == '-' ? o->name && strlen(o->name) == l->len - 2 &&
                              strncmp(o->name, w + 2, l->len - 2) == 0
                        : o->short_name && l->len == 2 && w[1] == o->short_name;
  if (hit)
    l->found = o, l->base = base;
  return hit;
}

static const SrOption *lookup(const SrOptTable *t, const char *word, size_t *base) {
  Lookup l = {.word = word, .len = strcspn(word, "=")};
  if (word[0] != '-' || !each_option(t, matches, &l))
    return NULL;
  *base = l.base;
  return l.found;
}

const SrOption *sr_opt_find(const SrOptTable *t, const char *word) {
  size_t base;
  return lookup(t, word, &base);
}

typedef struct Names {
  const char **items;
  int n;
  char *text;          /* where the spellings are written */
  size_t bytes;        /* counting: what they take */
} Names;

static int count_name(const SrOption *o, size_t base, void *ctx) {
  (void)base;
  Names *n = ctx;
  n->n += (o->name != NULL) + (o->short_name != 0);
  n->bytes += (o->name ? strlen(o->name) + 3 : 0) + (o->short_name ? 3 : 0);
  return 0;
}

static int add_name(const SrOption *o, size_t base, void *ctx) {
  (void)base;
  Names *n = ctx;
  if (o->name) {
    n->items[n->n++] = n->text;
    n->text += sprintf(n->text, "--%s", o->name) + 1;
  }
  if (o->short_name) {
    n->items[n->n++] = n->text;
    n->text += sprintf(n->text, "-%c", o->short_name) + 1;
  }
  return 0;
}

const char **sr_opt_names(const SrOptTable *t) {
  Names size = {0};
  each_option(t, count_name, &size);
  size_t array = (size_t)(size.n + 1) * sizeof(char *);
  char *block = malloc(array + size.bytes);
  if (!block)
    return NULL;
  Names n = {.items = (const char **)(void *)block, .text = block + array};
  each_option(t, add_name, &n);
  n.items[n.n] = NULL;
  return n.items;
}

/* ---- did you mean ------------------------------------------------------------------ */

const char *sr_opt_closest(const char *word, const char *const *known) {
  return sr_closest_name(word, known);
}

/* ---- messages ---------------------------------------------------------------------- */

static int fail(SrOptError *err, int index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(SrOptError *err, int index, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  err->index = index;
  err->note[0] = '\0';
  return -1;
}

/* "--threads" or "-o": how the messages name an option. */
static const char *spelled(const SrOption *o, char *buf, size_t size) {
  if (o->name)
    snprintf(buf, size, "--%s", o->name);
  else
    snprintf(buf, size, "-%c", o->short_name);
  return buf;
}

const char *sr_opt_value(const SrOption *o, int i) {
  if (!o->values)
    return NULL;
  if (!o->values_stride)
    return o->values[i];
  return *(const char *const *)(const void *)((const char *)o->values + (size_t)i * o->values_stride);
}

/* "a, b or c" */
static void list_values(const SrOption *o, char *buf, size_t size) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; sr_opt_value(o, i) && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%s",
                          i == 0 ? "" : sr_opt_value(o, i + 1) ? ", " : " or ",
                          sr_opt_value(o, i));
}

/* What the argument must be, for "needs a value: ..." and "takes ...". */
static void describe(const SrOption *o, char *buf, size_t size) {
  switch (o->kind) {
  case SR_OPT_INT:
    snprintf(buf, size, "a whole number from %lld to %lld", o->min, o->max);
    break;
  case SR_OPT_REAL:
    snprintf(buf, size, "a number from %g to %g", o->rmin, o->rmax);
    break;
  case SR_OPT_ENUM:
    list_values(o, buf, size);
    break;
  default:
    sr_opt_arg_name(o, buf, size);
  }
}

const char *sr_opt_arg_name(const SrOption *o, char *buf, size_t size) {
  if (o->arg)
    return snprintf(buf, size, "%s", o->arg), buf;
  size_t n = 0;
  buf[0] = '\0';
  switch (o->kind) {
  case SR_OPT_FLAG:
    break;
  case SR_OPT_INT:
    snprintf(buf, size, "N");
    break;
  case SR_OPT_REAL:
    snprintf(buf, size, "X");
    break;
  case SR_OPT_ENUM:
    for (int i = 0; sr_opt_value(o, i) && n < size; i++)
      n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "|" : "", sr_opt_value(o, i));
    break;
  case SR_OPT_FILE:
    snprintf(buf, size, "FILE");
    break;
  case SR_OPT_STRING:
    snprintf(buf, size, "VALUE");
    break;
  }
  return buf;
}

void sr_opt_report(const SrOptError *err, const char *prefix, FILE *out) {
  fprintf(out, "%s%s\n", prefix, err->msg);
  if (err->note[0])
    fprintf(out, "%s%s\n", prefix, err->note);
}

/* ---- values ------------------------------------------------------------------------- */

/* Digits only: strtoll would also take " 5", "+5" and "0x10", and read
 * 99999999999999999999 as LLONG_MAX. Past max the number only has to
 * stay past it. */
static int read_integer(const char *text, long long max, long long *out) {
  const char *p = text;
  long long v = 0;
  for (; *p >= '0' && *p <= '9'; p++)
    if (v <= max)
      v = v * 10 + (*p - '0');
  *out = v;
  return p != text && !*p ? 0 : -1;
}

static int read_value(const SrOption *o, const char *text, SrOptValue *v, int index,
                      SrOptError *err) {
  char name[80], what[400];
  v->text = text;
  if (o->kind == SR_OPT_INT) {
    if (read_integer(text, o->max, &v->integer) != 0 || v->integer < o->min ||
        v->integer > o->max) {
      describe(o, what, sizeof what);
      return fail(err, index, "%s takes %s, not '%s'", spelled(o, name, sizeof name), what, text);
    }
  } else if (o->kind == SR_OPT_REAL) {
    char *end;
    errno = 0;
    v->real = strtod(text, &end);
    /* strtod skips leading blanks; a number starts with a sign, digit or '.' */
    int starts = text[0] == '-' || text[0] == '.' || (text[0] >= '0' && text[0] <= '9');
    if (!starts || *end || errno || !isfinite(v->real) || v->real < o->rmin ||
        v->real > o->rmax) {
      describe(o, what, sizeof what);
      return fail(err, index, "%s takes %s, not '%s'", spelled(o, name, sizeof name), what, text);
    }
  } else if (o->kind == SR_OPT_ENUM) {
    int n = 0;
    for (; sr_opt_value(o, n); n++)
      if (strcmp(sr_opt_value(o, n), text) == 0)
        return v->index = n, 0;
    describe(o, what, sizeof what);
    fail(err, index, "%s takes %s, not '%s'", spelled(o, name, sizeof name), what, text);
    const char **known = malloc((size_t)(n + 1) * sizeof *known);
    for (int i = 0; known && i <= n; i++)
      known[i] = sr_opt_value(o, i);
    const char *close = known ? sr_opt_closest(text, known) : NULL;
    if (close)
      snprintf(err->note, sizeof err->note, "did you mean '%s'?", close);
    free(known);
    return -1;
  }
  return 0;
}

static int store(const SrOption *o, char *where, const SrOptValue *v, int index,
                 SrOptError *err) {
  if (o->set) {
    if (o->set(where, o, v, err) == 0)
      return 0;
    err->index = index;
    return -1;
  }
  switch (o->kind) {
  case SR_OPT_FLAG:
    *(int *)(void *)where = 1;
    break;
  case SR_OPT_INT:
    *(int *)(void *)where = (int)v->integer; /* tables give ints a range that fits */
    break;
  case SR_OPT_REAL:
    *(double *)(void *)where = v->real;
    break;
  case SR_OPT_ENUM:
    *(int *)(void *)where = v->index;
    break;
  case SR_OPT_STRING:
  case SR_OPT_FILE:
    *(const char **)(void *)where = v->text;
    break;
  }
  return 0;
}

int sr_opt_set_verbosity(void *where, const SrOption *opt, const SrOptValue *v,
                         SrOptError *err) {
  (void)v;
  int *level = where, want = opt->name[0] == 'q' ? SR_QUIET : SR_VERBOSE;
  if (*level != 0 && *level != want) {
    snprintf(err->msg, sizeof err->msg, "--quiet and --verbose exclude each other");
    return -1;
  }
  *level = want;
  return 0;
}

/* ---- parsing --------------------------------------------------------------------- */

static int unknown(const SrOptTable *t, const char *word, int index, SrOptError *err) {
  char name[128];
  snprintf(name, sizeof name, "%.*s", (int)strcspn(word, "="), word);
  fail(err, index, "unknown option '%s' of %s", name, t->command);
  const char **names = sr_opt_names(t);
  const char *close = sr_opt_closest(name, names);
  if (close)
    snprintf(err->note, sizeof err->note, "did you mean '%s'?", close);
  free(names);
  return -1;
}

static int option(const SrOptTable *t, char *target, int argc, char *const *argv, int *i,
                  SrOptError *err) {
  const char *word = argv[*i];
  size_t base = 0;
  const SrOption *o = lookup(t, word, &base);
  if (!o)
    return unknown(t, word, *i, err);
  char name[80], what[400];
  const char *eq = word[1] == '-' ? strchr(word, '=') : NULL;
  SrOptValue v = {0};
  int at = *i; /* the word a bad value is about */
  if (o->kind == SR_OPT_FLAG) {
    if (eq)
      return fail(err, at, "%s takes no value", spelled(o, name, sizeof name));
  } else if (eq) {
    v.text = eq + 1;
  } else if (*i + 1 < argc) {
    v.text = argv[++*i];
    at = *i;
  } else {
    describe(o, what, sizeof what);
    return fail(err, at, "%s needs a value: %s", spelled(o, name, sizeof name), what);
  }
  if (o->kind != SR_OPT_FLAG && read_value(o, v.text, &v, at, err) != 0)
    return -1;
  return store(o, target + base + o->offset, &v, at, err);
}

typedef struct Required {
  const char *command;
  const char *target;
  SrOptError *err;
} Required;

static int check_required(const SrOption *o, size_t base, void *ctx) {
  Required *r = ctx;
  if (!(o->flags & SR_OPT_REQUIRED) || (o->kind != SR_OPT_STRING && o->kind != SR_OPT_FILE) ||
      *(const char *const *)(const void *)(r->target + base + o->offset))
    return 0;
  char name[80], arg[80];
  return fail(r->err, -1, "%s needs %s %s", r->command, spelled(o, name, sizeof name),
              sr_opt_arg_name(o, arg, sizeof arg));
}

int sr_opt_parse(const SrOptTable *t, void *target, int argc, char *const *argv, int first,
                 SrOptError *err) {
  int options_end = 0;
  memset(err, 0, sizeof *err);
  for (int i = first; i < argc; i++) {
    const char *word = argv[i];
    if (!options_end && strcmp(word, "--") == 0) {
      options_end = 1;
      continue;
    }
    if (!options_end && word[0] == '-' && word[1]) { /* "-" alone is a file: stdin */
      if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)
        return SR_OPT_HELP;
      if (option(t, target, argc, argv, &i, err) != 0)
        return -1;
      continue;
    }
    if (!t->positional)
      return fail(err, i, "unexpected argument '%s'", word);
    if (t->positional(target, word, err) != 0) {
      err->index = i;
      return -1;
    }
  }
  Required r = {.command = t->command, .target = target, .err = err};
  return each_option(t, check_required, &r) ? -1 : 0;
}

/* ---- help ------------------------------------------------------------------------ */

/* "-o PROG", "--threads N", "-x, --name ARG" */
static void left_column(const SrOption *o, char *buf, size_t size) {
  char arg[200];
  sr_opt_arg_name(o, arg, sizeof arg);
  char dash[8] = "";
  if (o->short_name)
    snprintf(dash, sizeof dash, "-%c%s", o->short_name, o->name ? ", " : "");
  snprintf(buf, size, "%s%s%s%s%s", dash, o->name ? "--" : "", o->name ? o->name : "",
           arg[0] ? " " : "", arg);
}

static int widest(const SrOption *o, size_t base, void *ctx) {
  (void)base;
  char left[300];
  left_column(o, left, sizeof left);
  int *width = ctx;
  if ((int)strlen(left) > *width)
    *width = (int)strlen(left);
  return 0;
}

typedef struct Help {
  const char *indent;
  int width;
  FILE *out;
} Help;

static void help_line(const Help *h, const char *left, const char *help) {
  fprintf(h->out, "%s  %-*s  ", h->indent, h->width, left);
  for (const char *line = help ? help : "";;) {
    size_t n = strcspn(line, "\n");
    fprintf(h->out, "%.*s\n", (int)n, line);
    if (!line[n])
      break;
    line += n + 1;
    fprintf(h->out, "%s  %-*s  ", h->indent, h->width, "");
  }
}

static int print_option(const SrOption *o, size_t base, void *ctx) {
  (void)base;
  char left[300];
  left_column(o, left, sizeof left);
  help_line(ctx, left, o->help);
  return 0;
}

void sr_opt_help(const SrOptTable *t, const char *indent, FILE *out) {
  Help h = {.indent = indent, .width = 10, .out = out}; /* "-h, --help" */
  each_option(t, widest, &h.width);
  each_option(t, print_option, &h);
  help_line(&h, "-h, --help", "this help");
}
