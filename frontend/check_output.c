/* check_output.c: what a run writes besides its summary: per-epoch metrics
 * (CSV or JSON lines), the best model as safetensors, the resumable state of
 * the run (safetensors too) and how often, a progress bar. The paths' value
 * locations are kept in the Spec so that the driver can point at them when
 * a file cannot be written. */
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
    c->spec->output.metrics_loc = s->value->loc;
}

static void check_format(Checker *c, const Stmt *s, const char *what) {
  int f;
  if (check_choice(c, s->value, "metrics format", what, formats, &f)) {
    c->spec->output.metrics_format = f;
    c->output.format_given = 1;
    c->output.format_loc = s->value->loc;
  }
}

/* A safetensors file under another name still works, but is easy to mistake
 * for something else: a warning, not an error. `kind` starts the message. */
static void warn_not_safetensors(Checker *c, const Expr *e, const char *kind) {
  if (!ends_with(e->text, ".safetensors"))
    diag_warning(c->diag, e->loc,
                 "%s '%s' does not end in .safetensors, the format it is written in", kind,
                 e->text);
}

static void check_checkpoint(Checker *c, const Stmt *s, const char *what) {
  if (!check_path(c, s->value, what, &c->spec->output.checkpoint))
    return;
  c->spec->output.checkpoint_loc = s->value->loc;
  warn_not_safetensors(c, s->value, "checkpoint");
}

static void check_state(Checker *c, const Stmt *s, const char *what) {
  if (!check_path(c, s->value, what, &c->spec->output.state))
    return;
  c->spec->output.state_loc = s->value->loc;
  warn_not_safetensors(c, s->value, "state");
}

/* The bound keeps it an int with room to spare for epoch arithmetic; no run
 * is a million epochs long. */
static void check_save_every(Checker *c, const Stmt *s, const char *what) {
  long long v;
  if (check_int(c, s->value, what, 0, SPEC_MAX_SAVE_EVERY, &v))
    c->spec->output.save_every = (int)v;
}

static void check_progress(Checker *c, const Stmt *s, const char *what) {
  static const char *const names[] = {"off", "on", "auto", NULL};
  int p;
  if (check_choice(c, s->value, "progress mode", what, names, &p))
    c->spec->output.progress = p == 2 ? -1 : p;
}

static const Setting output_settings[] = {
  {"metrics", check_metrics, TAKES_STRING},
  {"format", check_format, 0},
  {"checkpoint", check_checkpoint, TAKES_STRING},
  {"state", check_state, TAKES_STRING},
  {"save_every", check_save_every, 0},
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
    diag_error(c->diag, spec->output.metrics_loc,
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
