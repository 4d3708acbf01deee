/* repl_stubs.c: the session (driver/session*.c) and the terminal input
 * (driver/repl_input.c) as fuzz_repl sees them: nothing is loaded,
 * compiled, trained, read or written. Each stand-in checks what the
 * command parsers hand it (what repl_commands.c promises the session),
 * and says what it was asked on the session's output, so that a replay
 * shows what each line did. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "repl.h"

volatile sig_atomic_t repl_interrupted;

static void said(const Session *s, const char *what, const char *arg) {
  if (s->out)
    fprintf(s->out, "[session] %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
}

static const char *text(const char *what, const char *arg) {
  if (!arg)
    fuzz_fail("%s: NULL argument", what);
  return arg;
}

void session_init(Session *s, FILE *out, FILE *err) {
  memset(s, 0, sizeof *s);
  s->out = out;
  s->err = err;
}

void session_free(Session *s) {
  (void)s;
}

int session_ready(const Session *s, FILE *err) {
  (void)s;
  (void)err;
  return 0;
}

int session_load(Session *s, const char *path) {
  said(s, "load", text("load", path));
  return 0;
}

/* `set` builds PATH=VALUE from one word or two. */
int session_set(Session *s, const char *assignment) {
  if (!strchr(text("set", assignment), '='))
    fuzz_fail("set: '%s' has no '='", assignment);
  said(s, "set", assignment);
  return 0;
}

int session_unset(Session *s, const char *path) {
  said(s, "unset", text("unset", path));
  return 0;
}

/* A block reaches the session once its braces balance. */
int session_define(Session *s, const char *typed) {
  said(s, "define", text("define", typed));
  return 0;
}

int session_reset(Session *s) {
  said(s, "reset", NULL);
  return 0;
}

/* 0 (the spec's epochs), or a count of 1 to 10^9 (repl_commands.c's MAX_COUNT). */
int session_train(Session *s, int count, int steps) {
  if (count < 0 || count > 1000000000 || (steps && count == 0) || (steps != 0 && steps != 1))
    fuzz_fail("train: count %d, steps %d", count, steps);
  said(s, steps ? "train steps" : "train", NULL);
  return 0;
}

int session_pretrain(Session *s, const char *layer) {
  said(s, "pretrain", layer);
  return 0;
}

static int part(Session *s, const char *what, DataPart p) {
  if (p != PART_VALID && p != PART_TEST && p != PART_TRAIN)
    fuzz_fail("%s: part %d", what, (int)p);
  said(s, what, NULL);
  return 0;
}

int session_eval(Session *s, DataPart p) {
  return part(s, "eval", p);
}

int session_sparsity(Session *s, DataPart p) {
  return part(s, "sparsity", p);
}

int session_save(Session *s, const char *path) {
  said(s, "save", text("save", path));
  return 0;
}

int session_export_onnx(Session *s, const char *path) {
  said(s, "export --onnx", text("export --onnx", path));
  return 0;
}

int session_save_state(Session *s, const char *path) {
  said(s, "save state", text("save state", path));
  return 0;
}

int session_save_spec(Session *s, const char *path) {
  said(s, "save spec", text("save spec", path));
  return 0;
}

int session_metrics(Session *s, const char *path) {
  said(s, "metrics", text("metrics", path));
  return 0;
}

int session_predict(Session *s, const char *path) {
  said(s, "predict", text("predict", path));
  return 0;
}

int session_restore(Session *s, const char *path) {
  said(s, "restore", text("restore", path));
  return 0;
}

int session_restore_best(Session *s) {
  said(s, "restore best", NULL);
  return 0;
}

int session_save_interrupted(Session *s) {
  said(s, "save interrupted", NULL);
  return 0;
}

void session_show_model(const Session *s) {
  said(s, "show model", NULL);
}

void session_show_spec(const Session *s) {
  said(s, "show spec", NULL);
}

void session_show_times(const Session *s) {
  said(s, "show times", NULL);
}

int session_ir(Session *s, const IrOptions *o) {
  said(s, "ir", o->program);
  return 0;
}

/* The layers of a spec with two hidden layers, for completion. */
const char **session_layer_names(const Session *s, int hidden_only) {
  (void)s;
  const char **names = malloc(4 * sizeof *names);
  if (!names)
    return NULL;
  names[0] = "h1", names[1] = "h2", names[2] = hidden_only ? NULL : "out", names[3] = NULL;
  return names;
}

/* ---- the input: fuzz_repl hands the lines over itself ------------------------------ */

ReplInput *repl_input_open(int interactive, const Session *s) {
  (void)interactive;
  (void)s;
  return NULL;
}

const char *repl_input_read(ReplInput *in, const char *prompt, int *cancelled) {
  (void)in;
  (void)prompt;
  *cancelled = 0;
  return NULL;
}

void repl_input_remember(ReplInput *in, const char *line) {
  (void)in;
  (void)line;
}

void repl_input_close(ReplInput *in) {
  (void)in;
}

double now_ms(void) {
  return 0;
}
