/* repl_commands.c: the REPL's commands. Each checks its arguments (a
 * located message for a wrong one) and hands the work to the session. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repl.h"
#include "spec_text.h"

typedef struct Command {
  const char *name;
  const char *args;
  const char *help;
  int (*run)(Repl *r, const ReplLine *l);
  int min_args, max_args; /* words after the name; -1: any */
} Command;

static const Command *find_command(const char *name);

/* ---- arguments -------------------------------------------------------------------- */

#define MAX_COUNT 1000000000 /* epochs or steps at a time: done + more stays an int */

/* A count in 1..MAX_COUNT from word w, in digits: not 1.5, 1e3, +3 or 0x10,
 * and 99999999999999999999 is too many rather than LONG_MAX. */
static int count_arg(const ReplLine *l, int w, const char *what, int *out) {
  const char *word = l->words[w];
  const char *digits = word + (word[0] == '-'), *p = digits;
  long v = 0;
  for (; *p >= '0' && *p <= '9'; p++)
    if (v <= MAX_COUNT) /* once past it, v only has to stay past it */
      v = v * 10 + (*p - '0');
  if (p == digits || *p) {
    repl_error(l, w, "expected a whole number of %s (1 or more), not '%s'", what, word);
    return -1;
  }
  if (word[0] == '-' || v < 1) {
    repl_error(l, w, "the number of %s must be at least 1, not '%s'", what, word);
    return -1;
  }
  if (v > MAX_COUNT) {
    repl_error(l, w, "at most %d %s at a time, not '%s'", MAX_COUNT, what, word);
    return -1;
  }
  *out = (int)v;
  return 0;
}

/* valid, test or train in word w (default valid: no word). */
static int part_arg(const ReplLine *l, int w, DataPart *out) {
  static const char *const parts[] = {"valid", "test", "train", NULL};
  if (w >= l->nwords) {
    *out = PART_VALID;
    return 0;
  }
  for (int i = 0; parts[i]; i++)
    if (strcmp(l->words[w], parts[i]) == 0) {
      *out = (DataPart)i;
      return 0;
    }
  repl_error(l, w, "expected valid, test or train, not '%s'", l->words[w]);
  const char *close = closest_name(l->words[w], parts);
  if (close)
    repl_note(l, w, "did you mean '%s'?", close);
  return -1;
}

/* The rest of the line as a file name; quotes around it are dropped. */
static char *file_arg(const ReplLine *l, int w) {
  const char *rest = repl_line_rest(l, w);
  size_t n = strlen(rest);
  while (n > 0 && (rest[n - 1] == ' ' || rest[n - 1] == '\t'))
    n--;
  if (n >= 2 && rest[0] == '"' && rest[n - 1] == '"')
    return strndup(rest + 1, n - 2);
  return strndup(rest, n);
}

/* ---- the commands --------------------------------------------------------------------- */

/* A file the command is to read: a located message if it cannot be. */
static int readable(const ReplLine *l, const char *path) {
  if (access(path, R_OK) == 0)
    return 1;
  repl_error(l, 1, "cannot read '%s': %s", path, strerror(errno));
  return 0;
}

static int do_load(Repl *r, const ReplLine *l) {
  char *path = file_arg(l, 1);
  int rc = path && readable(l, path) ? session_load(&r->session, path) : -1;
  free(path);
  return rc;
}

static int do_show(Repl *r, const ReplLine *l) {
  const char *what = l->nwords > 1 ? l->words[1] : "model";
  if (strcmp(what, "model") == 0) {
    session_show_model(&r->session);
    return r->session.spec ? 0 : -1;
  }
  if (strcmp(what, "spec") == 0) {
    session_show_spec(&r->session);
    return r->session.text ? 0 : -1;
  }
  static const char *const things[] = {"model", "spec", NULL};
  repl_error(l, 1, "show model or show spec, not '%s'", what);
  const char *close = closest_name(what, things);
  if (close)
    repl_note(l, 1, "did you mean '%s'?", close);
  return -1;
}

/* set PATH VALUE, or set PATH=VALUE: given to the frontend as PATH=VALUE. */
static int do_set(Repl *r, const ReplLine *l) {
  const char *rest = repl_line_rest(l, 1);
  const char *eq = strchr(l->words[1], '=');
  char *assignment;
  if (eq) {
    assignment = strdup(rest);
  } else if (l->nwords < 3) {
    repl_error(l, -1, "set needs a value: set PATH VALUE, like set train.lr 0.05");
    return -1;
  } else {
    size_t n = strlen(l->words[1]) + strlen(repl_line_rest(l, 2)) + 2;
    if ((assignment = malloc(n)))
      snprintf(assignment, n, "%s=%s", l->words[1], repl_line_rest(l, 2));
  }
  int rc = assignment ? session_set(&r->session, assignment) : -1;
  free(assignment);
  return rc;
}

/* ---- the session's messages, located ------------------------------------- */

/* The session reports in plain lines ("sparsec: no override of 'x'"); a
 * command captures them and shows its first error at the word it is
 * about, with the caret, like every other REPL error. */
typedef struct Captured {
  FILE *saved, *m;
  char *text;
  size_t size;
} Captured;

static void capture(Repl *r, Captured *c) {
  *c = (Captured){.saved = r->session.err};
  if ((c->m = open_memstream(&c->text, &c->size)))
    r->session.err = c->m;
}

/* On failure the first line becomes an error at word w; the rest, and
 * everything on success (warnings), pass through as they were. */
static int release(Repl *r, Captured *c, const ReplLine *l, int w, int rc) {
  if (!c->m)
    return rc;
  fclose(c->m);
  r->session.err = c->saved;
  char *text = c->text;
  if (rc != 0 && text && *text) {
    char *rest = strchr(text, '\n');
    if (rest)
      *rest++ = '\0';
    repl_error(l, w, "%s", strncmp(text, "sparsec: ", 9) == 0 ? text + 9 : text);
    if (rest && *rest)
      fputs(rest, c->saved);
  } else if (text) {
    fputs(text, c->saved);
  }
  free(text);
  return rc;
}

static int do_unset(Repl *r, const ReplLine *l) {
  Captured c;
  capture(r, &c);
  return release(r, &c, l, 1, session_unset(&r->session, l->words[1]));
}

/* train [N] [epochs|steps] */
static int do_train(Repl *r, const ReplLine *l) {
  int count = 0, steps = 0;
  if (l->nwords > 1 && count_arg(l, 1, "epochs or steps", &count) != 0)
    return -1;
  if (l->nwords > 2) {
    steps = strcmp(l->words[2], "steps") == 0 || strcmp(l->words[2], "step") == 0;
    if (!steps && strcmp(l->words[2], "epochs") != 0 && strcmp(l->words[2], "epoch") != 0) {
      repl_error(l, 2, "expected epochs or steps, not '%s'", l->words[2]);
      return -1;
    }
  }
  Captured c;
  capture(r, &c);
  return release(r, &c, l, 0, session_train(&r->session, count, steps));
}

static int do_pretrain(Repl *r, const ReplLine *l) {
  Captured c;
  capture(r, &c);
  int rc = session_pretrain(&r->session, l->nwords > 1 ? l->words[1] : NULL);
  return release(r, &c, l, l->nwords > 1 ? 1 : 0, rc);
}

static int do_eval(Repl *r, const ReplLine *l) {
  DataPart part;
  if (part_arg(l, 1, &part) != 0)
    return -1;
  Captured c;
  capture(r, &c);
  return release(r, &c, l, l->nwords > 1 ? 1 : 0, session_eval(&r->session, part));
}

static int do_sparsity(Repl *r, const ReplLine *l) {
  DataPart part;
  if (part_arg(l, 1, &part) != 0)
    return -1;
  Captured c;
  capture(r, &c);
  return release(r, &c, l, l->nwords > 1 ? 1 : 0, session_sparsity(&r->session, part));
}

/* A table's options in one line: "--program, --after, ...". */
static void list_options(const SrOptTable *t, char *buf, size_t size) {
  const char **names = sr_opt_names(t);
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; names && names[i] && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", names[i]);
  free(names);
}

/* ir [--program P] [--after PASS] [--passes none|dense] [--stats], as
 * `sparsec ir`, from the same table: a located message at the word a
 * problem is about. */
static int do_ir(Repl *r, const ReplLine *l) {
  IrOptions o = {.passes = {.enabled = 1}};
  SrOptError err;
  int rc = sr_opt_parse(&ir_options, &o, l->nwords, l->words, 1, &err);
  if (rc == SR_OPT_HELP) {
    sr_opt_help(&ir_options, "", stdout);
    puts("The passes, in the order they run:");
    ir_list_passes(stdout);
    return 0;
  }
  if (rc < 0) {
    repl_error(l, err.index, "%s", err.msg);
    if (err.note[0]) {
      repl_note(l, err.index, "%s", err.note);
    } else if (strncmp(err.msg, "unknown option", 14) == 0) {
      char names[512];
      list_options(&ir_options, names, sizeof names);
      repl_note(l, err.index, "ir takes %s", names);
    }
    return -1;
  }
  Captured c;
  capture(r, &c);
  return release(r, &c, l, 0, session_ir(&r->session, &o));
}

/* save FILE: the weights; save state FILE: everything `restore` needs to
 * go on training exactly where the session is. */
/* save FILE (the weights), save state FILE, save spec FILE. */
static int do_save(Repl *r, const ReplLine *l) {
  int state = l->nwords > 2 && strcmp(l->words[1], "state") == 0;
  int spec = l->nwords > 2 && strcmp(l->words[1], "spec") == 0;
  char *path = file_arg(l, state || spec ? 2 : 1);
  if (!path)
    return -1;
  Captured c;
  capture(r, &c);
  int rc = state ? session_save_state(&r->session, path)
           : spec ? session_save_spec(&r->session, path)
                  : session_save(&r->session, path);
  free(path);
  return release(r, &c, l, state || spec ? 2 : 1, rc);
}

/* A command whose one argument is a file: the rest of the line. */
static int with_file(Repl *r, const ReplLine *l, int (*act)(Session *, const char *)) {
  char *path = file_arg(l, 1);
  if (!path)
    return -1;
  Captured c;
  capture(r, &c);
  int rc = act(&r->session, path);
  free(path);
  return release(r, &c, l, 1, rc);
}

static int do_predict(Repl *r, const ReplLine *l) {
  return with_file(r, l, session_predict);
}

static int do_metrics(Repl *r, const ReplLine *l) {
  return with_file(r, l, session_metrics);
}

/* export --onnx FILE: the inference function with the current weights.
 * --onnx is the format, as in `sparsec export`, the only one for now. */
static int do_export(Repl *r, const ReplLine *l) {
  if (strcmp(l->words[1], "--onnx") != 0) {
    repl_error(l, 1, "expected --onnx FILE.onnx, not '%s'", l->words[1]);
    return -1;
  }
  if (l->nwords < 3) {
    repl_error(l, -1, "export --onnx needs a file: export --onnx model.onnx");
    return -1;
  }
  char *path = file_arg(l, 2);
  if (!path)
    return -1;
  Captured c;
  capture(r, &c);
  int rc = session_export_onnx(&r->session, path);
  free(path);
  return release(r, &c, l, 2, rc);
}

/* restore FILE (weights, or a saved state), or restore best. */
static int do_restore(Repl *r, const ReplLine *l) {
  Captured c;
  if (l->nwords == 2 && strcmp(l->words[1], "best") == 0) {
    capture(r, &c);
    return release(r, &c, l, 1, session_restore_best(&r->session));
  }
  char *path = file_arg(l, 1);
  if (!path || !readable(l, path)) {
    free(path);
    return -1;
  }
  capture(r, &c);
  int rc = session_restore(&r->session, path);
  free(path);
  return release(r, &c, l, 1, rc);
}

static int do_reset(Repl *r, const ReplLine *l) {
  (void)l;
  return session_reset(&r->session);
}

static int do_time(Repl *r, const ReplLine *l) {
  (void)l;
  if (!r->last_command[0]) {
    fputs("no command yet\n", stdout);
    return 0;
  }
  printf("%s: %.1f ms\n", r->last_command, r->last_ms);
  if (r->last_compiled)
    session_show_times(&r->session);
  return 0;
}

static int do_quit(Repl *r, const ReplLine *l) {
  (void)l;
  r->quit = 1;
  return 0;
}

static int do_help(Repl *r, const ReplLine *l);

static const Command commands[] = {
    {"load", "FILE.spn", "load a spec (drops the overrides and typed blocks)", do_load, 1, -1},
    {"show", "[model|spec]", "the model, settings and training so far; or the spec's text",
     do_show, 0, 1},
    {"set", "PATH VALUE", "change a setting and recompile: set train.lr 0.05, set h2.l1 0",
     do_set, 1, -1},
    {"unset", "PATH", "drop the override of PATH and recompile", do_unset, 1, 1},
    {"train", "[N [epochs|steps]]", "N more epochs from where training is (default: the spec's)",
     do_train, 0, 2},
    {"pretrain", "[LAYER]", "run LAYER's pretraining stage (default: every stage)", do_pretrain, 0,
     1},
    {"eval", "[valid|test|train]", "data loss, error and zeros (default: valid)", do_eval, 0, 1},
    {"sparsity", "[valid|test|train]", "zeros and dead units per hidden layer (default: valid)",
     do_sparsity, 0, 1},
    {"ir", "[OPTIONS]", "the IR: --program P, --after PASS, --passes none, --stats",
     do_ir, 0, -1},
    {"predict", "FILE", "each example's class and probabilities (IDX images, or CSV)",
     do_predict, 1, -1},
    {"metrics", "FILE.csv|FILE.jsonl", "every epoch's record so far, as a metrics file",
     do_metrics, 1, -1},
    {"save", "[state|spec] FILE",
     "save the weights, the whole resumable state, or the settings as a .spn", do_save, 1, -1},
    {"restore", "FILE.safetensors|best",
     "load saved weights, or a saved state (train goes on from it); best: the best epoch's",
     do_restore, 1, -1},
    {"export", "--onnx FILE.onnx", "the inference function with the current weights, as ONNX",
     do_export, 1, -1},
    {"reset", "", "initialise the weights again from the spec's seed", do_reset, 0, 0},
    {"time", "", "how long the last command took, and its compile", do_time, 0, 0},
    {"help", "[COMMAND]", "this list, or one command", do_help, 0, 1},
    {"quit", "", "leave (so does Ctrl-D)", do_quit, 0, 0},
    {"exit", "", "leave", do_quit, 0, 0},
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void help_line(const Command *c) {
  char usage[80];
  snprintf(usage, sizeof usage, "%s %s", c->name, c->args);
  printf("  %-28s %s\n", usage, c->help);
}

static int do_help(Repl *r, const ReplLine *l) {
  (void)r;
  if (l->nwords > 1) {
    const Command *c = find_command(l->words[1]);
    if (!c) {
      repl_error(l, 1, "unknown command '%s'", l->words[1]);
      return -1;
    }
    help_line(c);
    return 0;
  }
  puts("commands:");
  for (int i = 0; i < NCOMMANDS; i++)
    help_line(&commands[i]);
  puts("spec blocks typed or pasted (`train { lr = 0.05 batch = 20 }`, several lines are fine)\n"
       "replace the block of that name and recompile. Ctrl-C stops training at the next\n"
       "minibatch; Ctrl-D or quit leaves. docs/repl.md has the details.");
  return 0;
}

/* ---- dispatch -------------------------------------------------------------------------- */

static const Command *find_command(const char *name) {
  for (int i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

const char *const *repl_command_names(void) {
  static const char *names[NCOMMANDS + 1];
  for (int i = 0; i < NCOMMANDS; i++)
    names[i] = commands[i].name;
  return names;
}

static int is_block_name(const char *name) {
  for (const char *const *b = spec_block_names(); *b; b++)
    if (strcmp(*b, name) == 0)
      return 1;
  return 0;
}

static int unknown_command(const ReplLine *l) {
  repl_error(l, 0, "unknown command '%s'", l->words[0]);
  const char *close = closest_name(l->words[0], repl_command_names());
  if (is_block_name(l->words[0]))
    repl_note(l, 0, "a spec block is typed with its brace on the first line: %s { ... }",
              l->words[0]);
  else if (close)
    repl_note(l, 0, "did you mean '%s'?", close);
  else
    repl_note(l, 0, "`help` lists the commands");
  return -1;
}

static int wrong_count(const ReplLine *l, const Command *c) {
  int extra = l->nwords - 1 > c->max_args && c->max_args >= 0;
  repl_error(l, extra ? c->max_args + 1 : -1, "%s: usage: %s %s", extra ? "too many arguments"
                                                                        : "missing argument",
             c->name, c->args);
  return -1;
}

int repl_run_command(Repl *r, const ReplLine *l) {
  const Command *c = find_command(l->words[0]);
  if (!c)
    return unknown_command(l);
  int nargs = l->nwords - 1;
  if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args))
    return wrong_count(l, c);
  return c->run(r, l);
}

