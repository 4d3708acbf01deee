/* check_output.c: what a run writes besides its summary: per-epoch metrics
 * (CSV or JSON lines), the best model as safetensors, a progress bar. */
#include "check_internal.h"

static const char *const formats[] = {"csv", "jsonl", NULL};

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* METRICS_CSV or METRICS_JSONL from a path's extension; -1 if neither. */
static int format_of(const char *path) {
  if (ends_with(path, ".csv"))
    return METRICS_CSV;
  if (ends_with(path, ".jsonl"))
    return METRICS_JSONL;
  return -1;
}

static void check_metrics(Checker *c, const Stmt *s, const char *what) {
  if (check_path(c, s->value, what, &c->spec->output.metrics))
    c->output.metrics_loc = s->value->loc;
}

static void check_format(Checker *c, const Stmt *s, const char *what) {
  int f;
  if (check_choice(c, s->value, "metrics format", what, formats, &f)) {
    c->spec->output.metrics_format = f;
    c->output.format_given = 1;
    c->output.format_loc = s->value->loc;
  }
}

static void check_checkpoint(Checker *c, const Stmt *s, const char *what) {
  if (!check_path(c, s->value, what, &c->spec->output.checkpoint))
    return;
  if (!ends_with(c->spec->output.checkpoint, ".safetensors"))
    diag_warning(c->diag, s->value->loc,
                 "checkpoint '%s' does not end in .safetensors, the format it is written in",
                 s->value->text);
}

static void check_progress(Checker *c, const Stmt *s, const char *what) {
  static const char *const names[] = {"off", "on", "auto", NULL};
  int p;
  if (check_choice(c, s->value, "progress mode", what, names, &p))
    c->spec->output.progress = p == 2 ? -1 : p;
}

static const Setting output_settings[] = {
  {"metrics", check_metrics, 0},
  {"format", check_format, 0},
  {"checkpoint", check_checkpoint, 0},
  {"progress", check_progress, 0},
  {NULL, NULL, 0},
};

const BlockRules output_rules = {"output", output_settings, NULL, NULL};

/* The metrics format: `format` if given, else the file's extension. */
static void settle_format(Checker *c) {
  Spec *spec = c->spec;
  if (!spec->output.metrics) {
    if (c->output.format_given)
      diag_warning(c->diag, c->output.format_loc, "'format' has no effect without 'metrics'");
    return;
  }
  int from_name = format_of(spec->output.metrics);
  if (c->output.format_given) {
    if (from_name >= 0 && from_name != (int)spec->output.metrics_format)
      diag_warning(c->diag, c->output.format_loc,
                   "metrics are written as %s although the file name ends in .%s",
                   formats[spec->output.metrics_format], formats[from_name]);
    return;
  }
  if (from_name < 0) {
    diag_error(c->diag, c->output.metrics_loc,
               "cannot tell the metrics format from the file name: end it in .csv or .jsonl, "
               "or add format = csv or format = jsonl");
    return;
  }
  spec->output.metrics_format = from_name;
}

void check_output(Checker *c, const Block *b) {
  check_statements(c, b, &output_rules);
  settle_format(c);
}
