/* repl.c: `sparsec repl [--strict] [--passes P] [--set PATH=VALUE]... [FILE]`. Reads
 * lines (repl_input.c); a line that opens a spec block (`train {`)
 * starts collecting lines until its braces balance, then the block
 * replaces the session's block of that name; any other line is a command
 * (repl_commands.c). With --strict the first error ends the REPL with
 * status 1; otherwise errors are reported and the session goes on as it
 * was. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repl.h"
#include "spec_text.h"

#define PROMPT "sparsec> "
#define MORE_PROMPT "   ...> "

/* ---- lines and located messages -------------------------------------------- */

int repl_line_split(ReplLine *l, const char *text, int lineno) {
  memset(l, 0, sizeof *l);
  l->text = text;
  l->lineno = lineno;
  for (int i = 0; text[i];) {
    while (isspace((unsigned char)text[i]))
      i++;
    if (!text[i])
      break;
    int begin = i;
    while (text[i] && !isspace((unsigned char)text[i]))
      i++;
    if (l->nwords == REPL_MAX_WORDS)
      return -1;
    l->col[l->nwords] = begin;
    l->len[l->nwords] = i - begin;
    l->words[l->nwords++] = strndup(text + begin, i - begin);
  }
  return 0;
}

void repl_line_free(ReplLine *l) {
  for (int i = 0; i < l->nwords; i++)
    free(l->words[i]);
  l->nwords = 0;
}

const char *repl_line_rest(const ReplLine *l, int w) {
  return w < l->nwords ? l->text + l->col[w] : "";
}

static void vmessage(const ReplLine *l, int w, const char *kind, const char *fmt, va_list ap) {
  int col = w >= 0 && w < l->nwords ? l->col[w] : 0;
  int len = w >= 0 && w < l->nwords ? l->len[w] : (int)strlen(l->text);
  fprintf(stderr, "<stdin>:%d:%d: %s: ", l->lineno, col + 1, kind);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n%5d | %s\n      | %*s^", l->lineno, l->text, col, "");
  for (int i = 1; i < len; i++)
    fputc('~', stderr);
  fputc('\n', stderr);
}

void repl_error(const ReplLine *l, int w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmessage(l, w, "error", fmt, ap);
  va_end(ap);
}

/* A note after an error at the same place shows no source again. */
void repl_note(const ReplLine *l, int w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int col = w >= 0 && w < l->nwords ? l->col[w] : 0;
  fprintf(stderr, "<stdin>:%d:%d: note: ", l->lineno, col + 1);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- the loop ------------------------------------------------------------------ */

/* A spec block being typed: its lines so far and its brace depth. */
typedef struct Pending {
  char *text;
  size_t size;
  FILE *buf;
  int depth;
  int first_line;
} Pending;

typedef struct Loop {
  Repl *r;
  ReplInput *in;
  int strict;
  int lineno;
  int failed;          /* an error, with --strict: stop */
  int interrupted;     /* Ctrl-C with commands from a pipe: end like `run` (130) */
  Pending block;
} Loop;

static int is_block_start(const ReplLine *l) {
  if (l->nwords == 0)
    return 0;
  for (const char *const *b = spec_block_names(); *b; b++) {
    if (strncmp(l->words[0], *b, strlen(*b)) != 0)
      continue;
    const char *after = l->text + l->col[0] + strlen(*b);
    while (isspace((unsigned char)*after))
      after++;
    if (*after == '{')
      return 1;
  }
  return 0;
}

static void pending_discard(Pending *p) {
  if (p->buf)
    fclose(p->buf);
  free(p->text);
  memset(p, 0, sizeof *p);
}

/* Commands from a script, and SIGINT or SIGTERM: save the state, leave
 * with 130 or 143. A second signal ends the process at once (interrupt.c). */
static void end_interrupted(Loop *lp) {
  if (lp->interrupted)
    return;
  session_save_interrupted(&lp->r->session);
  lp->interrupted = 1;
  lp->r->quit = 1;
}

/* How long a command took, for `time`. */
static void timed(Loop *lp, const char *what, int (*run)(Loop *, const void *), const void *arg) {
  Repl *r = lp->r;
  CompileTimes before = r->session.times;
  double t0 = now_ms();
  repl_interrupted = 0;
  int rc = run(lp, arg);
  fflush(stdout);
  r->last_ms = now_ms() - t0;
  snprintf(r->last_command, sizeof r->last_command, "%s", what);
  r->last_compiled = memcmp(&before, &r->session.times, sizeof before) != 0;
  if (rc != 0 && lp->strict)
    lp->failed = 1;
  /* At a terminal Ctrl-C returns to the prompt; a script cannot answer
   * one, so it ends the process as it would `run`: the state saved. */
  if (!r->interactive && *r->session.stop)
    end_interrupted(lp);
}

static int define_block(Loop *lp, const void *text) {
  return session_define(&lp->r->session, text);
}

static void finish_block(Loop *lp) {
  Pending *p = &lp->block;
  fclose(p->buf);
  p->buf = NULL;
  timed(lp, "(a spec block)", define_block, p->text);
  pending_discard(p);
}

static void add_block_line(Loop *lp, const ReplLine *l) {
  Pending *p = &lp->block;
  if (!p->buf) {
    p->buf = open_memstream(&p->text, &p->size);
    p->first_line = l->lineno;
    if (!p->buf)
      return;
  }
  fprintf(p->buf, "%s\n", l->text);
  p->depth += spec_text_brace_delta(l->text);
  if (p->depth < 0) {
    repl_error(l, -1, "unmatched '}'");
    pending_discard(p);
    lp->failed = lp->strict;
  } else if (p->depth == 0) {
    finish_block(lp);
  }
}

static int run_command(Loop *lp, const void *line) {
  return repl_run_command(lp->r, line);
}

static void handle_line(Loop *lp, const char *text) {
  ReplLine l;
  if (repl_line_split(&l, text, lp->lineno) != 0) {
    repl_error(&l, -1, "too many words: at most %d", REPL_MAX_WORDS);
    lp->failed = lp->strict;
  } else if (lp->block.buf || is_block_start(&l) || (l.nwords > 0 && l.words[0][0] == '}')) {
    add_block_line(lp, &l); /* a stray '}' is reported there */
  } else if (l.nwords > 0 && strcmp(l.words[0], "time") == 0) {
    if (run_command(lp, &l) != 0) /* not timed: it reports the command before */
      lp->failed = lp->strict;
  } else if (l.nwords > 0 && l.words[0][0] != '#') {
    timed(lp, text, run_command, &l);
  }
  repl_line_free(&l);
}

static void end_of_input(Loop *lp) {
  if (!lp->block.buf)
    return;
  fprintf(stderr, "<stdin>:%d: error: the input ended inside a block opened at line %d\n",
          lp->lineno, lp->block.first_line);
  pending_discard(&lp->block);
  lp->failed = lp->strict;
}

static void loop(Loop *lp) {
  while (!lp->r->quit && !lp->failed) {
    int cancelled = 0;
    const char *text =
        repl_input_read(lp->in, lp->block.buf ? MORE_PROMPT : PROMPT, &cancelled);
    if (cancelled) { /* Ctrl-C at the prompt: the line (and any block) is dropped */
      pending_discard(&lp->block);
      continue;
    }
    if (!text) {
      end_of_input(lp);
      break;
    }
    lp->lineno++;
    if (lp->r->interactive)
      repl_input_remember(lp->in, text);
    handle_line(lp, text);
  }
}

/* ---- the command line -------------------------------------------------------------- */

/* The command line of `repl`: the spec arguments, and what else it sets. */
typedef struct ReplArgs {
  SpecArgs spec; /* first: see driver.h */
  int strict;
  PassOptions passes;
  int threads;
  int verbosity;
} ReplArgs;

static const SrOption repl_options[] = {
    {"strict", 0, SR_OPT_FLAG, NULL, "exit with status 1 at the first error",
     .offset = offsetof(ReplArgs, strict)},
    PASSES_OPTION(ReplArgs, passes,
                  "none: compile the derived programs without optimising them;\n"
                  "dense: optimise, but keep every product dense (compiles faster)"),
    THREADS_OPTION(ReplArgs, threads),
    SET_OPTION("an override applied after loading FILE"),
    SR_OPT_VERBOSITY(ReplArgs, verbosity, "no compile or data lines: the commands' results only",
                     "also the model's layers after each compile"),
    {0}};

static const SrOptTable repl_table = {.command = "repl", .options = repl_options,
                                      .positional = spec_args_file};

static int usage(FILE *out, int status) {
  fputs("usage: sparsec repl [--strict] [--passes none|dense] [--threads N] [--set PATH=VALUE]...\n"
        "                    [--quiet|--verbose] [FILE.spn]\n"
        "An interactive session: load a spec, change its settings, train, evaluate and\n"
        "look at sparsity, with the model recompiled after every change. Commands come\n"
        "from the terminal (line editing, history in ~/.sparsec_history, Tab completion)\n"
        "or from a pipe or file: `sparsec repl < script.sr`. `help` lists the commands.\n",
        out);
  sr_opt_help(&repl_table, "", out);
  return status;
}

/* The spec file is optional here. */
static int parse(int argc, char **argv, ReplArgs *o) {
  SrOptError err;
  int rc = sr_opt_parse(&repl_table, o, argc, argv, 1, &err);
  if (rc < 0)
    sr_opt_report(&err, "sparsec: ", stderr);
  if (rc != 0)
    return rc;
  if (o->spec.noverrides > 0 && !o->spec.path) {
    fputs("sparsec: --set needs a spec file to apply to\n", stderr);
    return -1;
  }
  return 0;
}

/* FILE and --set from the command line, as if typed first. */
static int start(Repl *r, const SpecArgs *a) {
  if (!a->path)
    return 0;
  if (session_load(&r->session, a->path) != 0)
    return -1;
  for (int i = 0; i < a->noverrides; i++)
    if (session_set(&r->session, a->overrides[i].text) != 0)
      return -1;
  return 0;
}

int cmd_repl(int argc, char **argv) {
  ReplArgs o = {.passes = {.enabled = 1}, .threads = DEFAULT_THREADS};
  int parsed = parse(argc, argv, &o);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  Repl r = {.interactive = isatty(STDIN_FILENO)};
  setvbuf(stdout, NULL, _IOLBF, 0); /* results and messages (stderr) stay in order in a log */
  session_init(&r.session, stdout, stderr);
  r.session.passes = o.passes;
  r.session.verbosity = o.verbosity;
  /* a terminal's Ctrl-C returns to the prompt (repl_input.c); a script's
   * ends the REPL like `run` (runtime/interrupt.c) */
  r.session.stop = r.interactive ? &repl_interrupted : sr_interrupt_install();
  use_threads(o.threads);
  Loop lp = {.r = &r, .strict = o.strict};
  if (start(&r, &o.spec) != 0 && o.strict)
    lp.failed = 1;
  if (!lp.failed && !(lp.in = repl_input_open(r.interactive, &r.session)))
    lp.failed = 1;
  if (!lp.failed)
    loop(&lp);
  if (!r.interactive && *r.session.stop) /* e.g. while reading the next line */
    end_interrupted(&lp);
  repl_input_close(lp.in);
  pending_discard(&lp.block);
  session_free(&r.session);
  return lp.interrupted ? 128 + sr_interrupt_signal() : lp.failed ? 1 : 0;
}
