/* check_data.c: where the examples come from and how they are split.
 * idx("IMAGES", "LABELS") reads MNIST-like IDX files; csv("FILE", label =
 * "COLUMN") reads a table with a header row; libsvm("FILE") reads sparse
 * rows (svmlight's `label index:value ...`), kept sparse in memory. Relative
 * paths are relative to the spec's folder. */
#include <limits.h>
#include <math.h>

#include "check_internal.h"

#define IDX_USAGE "idx(\"IMAGES\", \"LABELS\")"
#define CSV_USAGE "csv(\"FILE\", label = \"COLUMN\")"
#define LIBSVM_USAGE "libsvm(\"FILE\")"
#define DATA_USAGE IDX_USAGE ", " CSV_USAGE " or " LIBSVM_USAGE

static void check_idx(Checker *c, const Expr *e, const char *what, DataSource *out) {
  static const char *const roles[] = {"images", "labels"};
  if (e->nargs != 2 || e->args[0].key || e->args[1].key) {
    diag_error(c->diag, e->loc, "idx needs two paths: " IDX_USAGE);
    return;
  }
  char *paths[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    char role[WHAT_LEN + 16];
    snprintf(role, sizeof role, "the %s of %s", roles[i], what);
    check_path(c, e->args[i].value, role, &paths[i]);
  }
  if (!paths[0] || !paths[1]) {
    free(paths[0]);
    free(paths[1]);
    return;
  }
  *out = (DataSource){.format = DATA_IDX, .images = paths[0], .labels = paths[1], .loc = e->loc};
}

/* The label column, from `label = "COLUMN"`; the only keyword csv takes. */
static int check_csv_keywords(Checker *c, const Expr *e, const char *what, const char **label) {
  static const char *const keys[] = {"label", NULL};
  const Arg *seen = NULL;
  int ok = 1;
  for (int i = 0; i < e->nargs; i++) {
    const Arg *arg = &e->args[i];
    if (!arg->key)
      continue;
    if (strcmp(arg->key, "label") != 0) {
      diag_error(c->diag, arg->key_loc, "unknown argument '%s' to csv", arg->key);
      diag_suggest(c->diag, arg->key_loc, arg->key, keys);
      ok = 0;
    } else if (seen) {
      diag_error(c->diag, arg->key_loc, "duplicate argument 'label'");
      diag_note(c->diag, seen->key_loc, "first defined here");
      ok = 0;
    } else {
      seen = arg;
    }
  }
  if (!ok)
    return 0;
  if (!seen) {
    diag_error(c->diag, e->loc, "csv needs the label column: " CSV_USAGE);
    return 0;
  }
  char role[WHAT_LEN + 32];
  snprintf(role, sizeof role, "the label column of %s", what);
  if (seen->value->kind != EXPR_STRING) {
    type_error(c, seen->value, "a column name string", role);
    return 0;
  }
  if (!seen->value->text[0]) {
    diag_error(c->diag, seen->value->loc, "empty name for %s", role);
    return 0;
  }
  *label = seen->value->text;
  return 1;
}

static void check_csv(Checker *c, const Expr *e, const char *what, DataSource *out) {
  const Expr *file = NULL;
  int npos = 0;
  for (int i = 0; i < e->nargs; i++)
    if (!e->args[i].key && npos++ == 0)
      file = e->args[i].value;
  if (npos != 1) {
    diag_error(c->diag, e->loc, "csv needs one file: " CSV_USAGE);
    return;
  }
  const char *label = NULL;
  char *path = NULL;
  char role[WHAT_LEN + 16];
  snprintf(role, sizeof role, "the file of %s", what);
  int ok = check_path(c, file, role, &path);
  ok &= check_csv_keywords(c, e, what, &label);
  if (!ok) {
    free(path);
    return;
  }
  *out = (DataSource){.format = DATA_CSV, .images = path, .label_column = xstrdup(label),
                      .loc = e->loc};
}

/* One file, no keywords: the labels are the first field of each line and
 * the width is the model's input. */
static void check_libsvm(Checker *c, const Expr *e, const char *what, DataSource *out) {
  for (int i = 0; i < e->nargs; i++)
    if (e->args[i].key) {
      diag_error(c->diag, e->args[i].key_loc, "libsvm takes no argument '%s': " LIBSVM_USAGE,
                 e->args[i].key);
      return;
    }
  if (e->nargs != 1) {
    diag_error(c->diag, e->loc, "libsvm needs one file: " LIBSVM_USAGE);
    return;
  }
  char *path = NULL;
  char role[WHAT_LEN + 16];
  snprintf(role, sizeof role, "the file of %s", what);
  if (check_path(c, e->args[0].value, role, &path))
    *out = (DataSource){.format = DATA_LIBSVM, .images = path, .loc = e->loc};
  else
    free(path);
}

static void check_dataset(Checker *c, const Stmt *s, const char *what, DataSource *out) {
  static const char *const formats[] = {"idx", "csv", "libsvm", NULL};
  const Expr *e = s->value;
  if (e->kind != EXPR_CALL) {
    type_error(c, e, DATA_USAGE, what);
    return;
  }
  if (strcmp(e->text, "idx") == 0) {
    check_idx(c, e, what, out);
  } else if (strcmp(e->text, "csv") == 0) {
    check_csv(c, e, what, out);
  } else if (strcmp(e->text, "libsvm") == 0) {
    check_libsvm(c, e, what, out);
  } else {
    diag_error(c->diag, callee_loc(e), "unknown data format '%s'", e->text);
    diag_suggest(c->diag, callee_loc(e), e->text, formats);
  }
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

/* A count (an integer) or a fraction of the training set (0 < x < 1). A
 * number written with '.' or an exponent is never a count: 1.0 and 1e3 are
 * refused rather than read as 1 and 1000, and 1.5 is neither. */
static void check_validation(Checker *c, const Stmt *s, const char *what) {
  const Expr *e = s->value;
  Number n;
  if (!check_numeric(c, e, what, &n))
    return;
  char shown[64];
  number_text(c, e, &n, shown, sizeof shown);
  if (n.is_integer && !n.overflow && n.integer >= 0 && n.integer <= INT_MAX) {
    c->spec->data.validation = (int)n.integer;
    c->data.validation_loc = e->loc;
  } else if (n.is_integer && (n.overflow || n.integer > INT_MAX)) {
    long long count;
    check_int_value(c, e, &n, "a 'validation' count", 0, INT_MAX, &count);
  } else if (!n.is_integer && n.value > 0 && n.value < 1) {
    c->spec->data.validation_fraction = n.value;
    if (n.value >= 0.5)
      diag_warning(c->diag, e->loc,
                   "validation fraction %.15g holds out most of the training set", n.value);
  } else {
    diag_error(c->diag, e->loc, "%s must be a count (an integer >= 0) or a fraction between 0 "
               "and 1, not %s", what, shown);
    if (!n.is_integer && n.value >= 0 && n.value <= INT_MAX && n.value == floor(n.value))
      diag_note(c->diag, e->loc, "a count is written without '.' or an exponent: %.0f", n.value);
  }
}

static void check_limit(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 1, INT_MAX, &v)) {
    c->spec->data.limit = (int)v;
    c->data.limit_loc = s->value->loc;
  }
}

static const Setting data_settings[] = {
  {"train", check_train_set, REQUIRED | TAKES_FILES},
  {"test", check_test_set, REQUIRED | TAKES_FILES},
  {"scale", check_scale, 0},
  {"validation", check_validation, 0},
  {"limit", check_limit, 0},
  {NULL, NULL, 0},
};

const BlockRules data_rules = {"data", data_settings, NULL, NULL};

void check_data(Checker *c, const Block *b) {
  check_statements(c, b, &data_rules);
  const Spec *spec = c->spec;
  /* with both counts known, holding out everything is certain to fail later */
  if (spec->data.limit && c->data.validation_loc.line &&
      spec->data.validation >= spec->data.limit) {
    diag_error(c->diag, c->data.validation_loc,
               "'validation' holds out %d examples, leaving none of the %d that 'limit' keeps",
               spec->data.validation, spec->data.limit);
    diag_note(c->diag, c->data.limit_loc, "the limit is set here");
  }
}
