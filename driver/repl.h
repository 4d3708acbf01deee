/* The REPL: `sparsec repl [FILE]`. One file per concern:
 *   repl.c           the loop: lines -> commands or typed spec blocks
 *   repl_input.c     lines from a terminal (libedit: editing, history,
 *                    completion, Ctrl-C) or from a pipe or file
 *   repl_complete.c  what Tab offers: commands, layers, settings, files
 *   repl_commands.c  the command table: name, arguments, help, handler
 * The work itself is the session's (session.h). */
#ifndef SPARSEC_DRIVER_REPL_H
#define SPARSEC_DRIVER_REPL_H

#include <signal.h>

#include "session.h"

/* ---- one line of input, split into words ---------------------------------- */

#define REPL_MAX_WORDS 32

typedef struct ReplLine {
  const char *text;    /* as typed */
  int lineno;          /* in the input, from 1 */
  int nwords;
  char *words[REPL_MAX_WORDS];
  int col[REPL_MAX_WORDS]; /* where each word starts in text, from 0 */
  int len[REPL_MAX_WORDS];
} ReplLine;

/* Splits at blanks; 0, or -1 if the line has too many words. The words
 * are the caller's to free (repl_line_free). */
int repl_line_split(ReplLine *l, const char *text, int lineno);
void repl_line_free(ReplLine *l);
/* The text from word `w` to the end of the line, blanks trimmed. */
const char *repl_line_rest(const ReplLine *l, int w);

/* A message located in the line: "<stdin>:LINE:COL: error: MSG", the
 * line, a caret under word `w` (w = -1: the whole line). */
void repl_error(const ReplLine *l, int w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void repl_note(const ReplLine *l, int w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the REPL -------------------------------------------------------------- */

typedef struct Repl {
  Session session;
  int interactive;     /* stdin is a terminal: prompts, line editing */
  int quit;
  double last_ms;      /* how long the last command took */
  char last_command[256];
  int last_compiled;   /* the last command recompiled the model */
} Repl;

/* ---- repl_commands.c --------------------------------------------------------- */

/* Runs one command line: 0, or -1 after a message. */
int repl_run_command(Repl *r, const ReplLine *l);
/* The commands' names, NULL-terminated. */
const char *const *repl_command_names(void);

/* ---- repl_complete.c ----------------------------------------------------------- */

typedef struct Completion {
  int start;           /* where the word being completed starts in the line */
  char **items;        /* whole words, sorted, without duplicates */
  int n;
} Completion;

/* What may complete the last word of `line` (the text before the cursor). */
void repl_complete(const Session *s, const char *line, Completion *c);
void completion_free(Completion *c);

/* ---- repl_input.c ---------------------------------------------------------------- */

typedef struct ReplInput ReplInput;

/* Set by SIGINT while the REPL reads a terminal; the session's training
 * loops stop at the next minibatch when it is raised. */
extern volatile sig_atomic_t repl_interrupted;

/* Line editing, history (~/.sparsec_history) and completion when
 * `interactive`; else plain lines from stdin. */
ReplInput *repl_input_open(int interactive, const Session *s);
/* The next line without its newline (valid until the next call), or NULL
 * at the end of the input. A line cancelled by Ctrl-C comes back as
 * NULL with *cancelled set. */
const char *repl_input_read(ReplInput *in, const char *prompt, int *cancelled);
/* Adds a line to the history and saves the history file at once, so that
 * no way out of the REPL loses it. */
void repl_input_remember(ReplInput *in, const char *line);
void repl_input_close(ReplInput *in);

#endif
