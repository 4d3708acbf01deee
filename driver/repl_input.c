/* repl_input.c: where the REPL's lines come from.
 *
 * From a terminal: libedit (emacs keys, ~/.editrc), history loaded from
 * and saved to ~/.sparsec_history after every line, Tab completion
 * (repl_complete.c). SIGINT is caught: while a command runs it raises
 * repl_interrupted, which stops training at the next minibatch; at the
 * prompt it cancels the line. libedit's own read function retries a read
 * interrupted by a signal once, so it would take two Ctrl-C to cancel, and
 * a Ctrl-C between the prompt and the read would be lost; this file reads
 * the characters itself to cancel on the first, whenever it came.
 *
 * From a pipe or a file: plain lines, no prompt, no history, and SIGINT
 * keeps its default (it ends the process). */
#include <errno.h>
#include <histedit.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>
#include <wchar.h>

#include "repl.h"

#define HISTORY_SIZE 1000

volatile sig_atomic_t repl_interrupted;

struct ReplInput {
  int interactive;
  const Session *session;
  EditLine *el;
  History *history;
  char *history_path;  /* NULL: no history file (no HOME) */
  char *line;          /* the last line read (getline's buffer, or a copy of libedit's) */
  size_t cap;
};

static const char *current_prompt = "";

static char *prompt_text(EditLine *el) {
  (void)el;
  return (char *)current_prompt;
}

static void on_sigint(int sig) {
  (void)sig;
  repl_interrupted = 1;
}

/* Without SA_RESTART, so that a read at the prompt returns EINTR. */
static void catch_sigint(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

/* Waits until stdin has input: 1, or 0 once Ctrl-C was pressed. SIGINT is
 * blocked but during pselect, so that a Ctrl-C just before the wait (after
 * the prompt was printed) is not lost while the read blocks. */
static int wait_for_input(void) {
  sigset_t sigint, unblocked;
  sigemptyset(&sigint);
  sigaddset(&sigint, SIGINT);
  sigprocmask(SIG_BLOCK, &sigint, &unblocked);
  int ready = 0;
  while (!repl_interrupted && !ready) {
    fd_set in;
    FD_ZERO(&in);
    FD_SET(STDIN_FILENO, &in);
    int n = pselect(STDIN_FILENO + 1, &in, NULL, NULL, NULL, &unblocked);
    ready = n > 0 || (n < 0 && errno != EINTR); /* an error: let read report it */
  }
  sigprocmask(SIG_SETMASK, &unblocked, NULL);
  return ready && !repl_interrupted;
}

/* libedit's character reader: one character, UTF-8 decoded; -1 (errno
 * EINTR) as soon as Ctrl-C was pressed, 0 at the end of the input. */
static int read_char(EditLine *el, wchar_t *out) {
  (void)el;
  char bytes[MB_LEN_MAX];
  size_t n = 0;
  for (;;) {
    if (!wait_for_input()) {
      errno = EINTR;
      return -1;
    }
    ssize_t got = read(STDIN_FILENO, bytes + n, 1);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return got < 0 ? -1 : 0;
    n++;
    mbstate_t state;
    memset(&state, 0, sizeof state);
    size_t r = mbrtowc(out, bytes, n, &state);
    if (r == (size_t)-2 && n < MB_LEN_MAX)
      continue; /* the rest of a multibyte character */
    if (r == (size_t)-1 || r == (size_t)-2)
      *out = (unsigned char)bytes[n - 1]; /* not valid here: the byte as it is */
    return 1;
  }
}

/* ---- completion ------------------------------------------------------------------- */

static size_t common_prefix(const Completion *c) {
  size_t n = strlen(c->items[0]);
  for (int i = 1; i < c->n; i++) {
    size_t k = 0;
    while (k < n && c->items[i][k] == c->items[0][k])
      k++;
    n = k;
  }
  return n;
}

/* The candidates in columns under the line; libedit then redraws it. */
static void list_items(const Completion *c) {
  size_t width = 0;
  for (int i = 0; i < c->n; i++)
    width = strlen(c->items[i]) > width ? strlen(c->items[i]) : width;
  int columns = (int)(80 / (width + 2));
  columns = columns < 1 ? 1 : columns;
  fputc('\n', stdout);
  for (int i = 0; i < c->n; i++)
    printf("%-*s%s", (int)width + 2, c->items[i], (i + 1) % columns == 0 ? "\n" : "");
  if (c->n % columns != 0)
    fputc('\n', stdout);
  fflush(stdout);
}

/* Ends a single candidate: a space unless more of it is to come. */
static int open_ended(const char *item) {
  size_t n = strlen(item);
  return n > 0 && (item[n - 1] == '/' || item[n - 1] == '(' || item[n - 1] == '.');
}

static unsigned char complete(EditLine *el, int ch) {
  (void)ch;
  ReplInput *in;
  el_get(el, EL_CLIENTDATA, &in);
  const LineInfo *li = el_line(el);
  char *before = strndup(li->buffer, (size_t)(li->cursor - li->buffer));
  if (!before)
    return CC_ERROR;
  Completion c;
  repl_complete(in->session, before, &c);
  size_t typed = strlen(before) - (size_t)c.start;
  unsigned char rc = CC_REFRESH;
  if (c.n == 0) {
    rc = CC_REFRESH_BEEP;
  } else if (c.n == 1) {
    el_insertstr(el, c.items[0] + typed);
    if (!open_ended(c.items[0]))
      el_insertstr(el, " ");
  } else if (common_prefix(&c) > typed) {
    char *more = strndup(c.items[0] + typed, common_prefix(&c) - typed);
    if (more)
      el_insertstr(el, more);
    free(more);
  } else {
    list_items(&c);
    rc = CC_REDISPLAY;
  }
  completion_free(&c);
  free(before);
  return rc;
}

/* ---- opening --------------------------------------------------------------------- */

static void open_history(ReplInput *in) {
  HistEvent ev;
  in->history = history_init();
  if (!in->history)
    return;
  history(in->history, &ev, H_SETSIZE, HISTORY_SIZE);
  history(in->history, &ev, H_SETUNIQUE, 1);
  const char *home = getenv("HOME");
  size_t n = home ? strlen(home) + sizeof "/.sparsec_history" : 0;
  if (home && *home && (in->history_path = malloc(n)))
    snprintf(in->history_path, n, "%s/.sparsec_history", home);
  if (in->history_path)
    history(in->history, &ev, H_LOAD, in->history_path); /* none yet is fine */
}

static int open_editline(ReplInput *in) {
  setlocale(LC_CTYPE, "");
  in->el = el_init("sparsec", stdin, stdout, stderr);
  if (!in->el)
    return -1;
  el_set(in->el, EL_EDITOR, "emacs");
  el_set(in->el, EL_PROMPT, prompt_text);
  el_set(in->el, EL_GETCFN, read_char);
  el_set(in->el, EL_CLIENTDATA, in);
  /* The wide calls: el_set's EL_ADDFN copies the names and never frees them. */
  el_wset(in->el, EL_ADDFN, L"sparsec-complete", L"complete a command, setting or name",
          complete);
  el_wset(in->el, EL_BIND, L"^I", L"sparsec-complete", NULL);
  open_history(in);
  if (in->history)
    el_set(in->el, EL_HIST, history, in->history);
  el_source(in->el, NULL); /* ~/.editrc */
  catch_sigint();
  return 0;
}

ReplInput *repl_input_open(int interactive, const Session *s) {
  ReplInput *in = calloc(1, sizeof *in);
  if (!in) {
    fputs("sparsec: out of memory\n", stderr);
    return NULL;
  }
  in->interactive = interactive;
  in->session = s;
  if (interactive && open_editline(in) != 0) {
    fputs("sparsec: cannot set up line editing on this terminal\n", stderr);
    repl_input_close(in);
    return NULL;
  }
  return in;
}

void repl_input_close(ReplInput *in) {
  if (!in)
    return;
  if (in->el)
    el_end(in->el);
  if (in->history)
    history_end(in->history);
  free(in->history_path);
  free(in->line);
  free(in);
}

/* ---- reading ----------------------------------------------------------------------- */

static const char *read_plain(ReplInput *in) {
  ssize_t n = getline(&in->line, &in->cap, stdin);
  if (n < 0)
    return NULL;
  while (n > 0 && (in->line[n - 1] == '\n' || in->line[n - 1] == '\r'))
    in->line[--n] = '\0';
  return in->line;
}

static const char *read_edited(ReplInput *in, const char *prompt, int *cancelled) {
  int count = 0;
  current_prompt = prompt;
  repl_interrupted = 0;
  /* The terminal in editing mode before the prompt shows: keys typed as
   * soon as it does must not meet the line discipline's cooked mode. */
  el_set(in->el, EL_PREP_TERM, 1);
  const char *text = el_gets(in->el, &count);
  if (!text && repl_interrupted) {
    *cancelled = 1;
    fputc('\n', stdout);
    return NULL;
  }
  if (!text)
    return NULL;
  free(in->line);
  in->line = strdup(text);
  size_t n = in->line ? strlen(in->line) : 0;
  while (n > 0 && (in->line[n - 1] == '\n' || in->line[n - 1] == '\r'))
    in->line[--n] = '\0';
  return in->line;
}

const char *repl_input_read(ReplInput *in, const char *prompt, int *cancelled) {
  *cancelled = 0;
  if (!in->interactive)
    return read_plain(in);
  const char *line = read_edited(in, prompt, cancelled);
  if (!line && !*cancelled)
    fputc('\n', stdout); /* Ctrl-D: leave the shell's prompt on a line of its own */
  return line;
}

/* Without the blanks around it (Tab leaves one at the end); blank lines
 * are not remembered. */
void repl_input_remember(ReplInput *in, const char *line) {
  HistEvent ev;
  line += strspn(line, " \t");
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
    n--;
  char *trimmed = strndup(line, n);
  if (in->history && trimmed && n > 0)
    history(in->history, &ev, H_ENTER, trimmed);
  free(trimmed);
  if (!in->history || n == 0)
    return;
  if (in->history_path)
    history(in->history, &ev, H_SAVE, in->history_path);
}
