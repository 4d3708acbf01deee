/* fuzz_repl.c: a libFuzzer target for the REPL's command line: the lines
 * of `sparsec repl` as driver/repl.c reads them (repl_line_split, spec
 * blocks collected until their braces balance, comments, `time`), the
 * commands' dispatch and argument parsing (repl_commands.c: word counts,
 * counts, data parts, file names, `set` assignments, ir options) and Tab
 * completion of each line (repl_complete.c).
 *
 * The session behind the commands is not there: repl_stubs.c stands in
 * for it, so that nothing trains, compiles, reads or writes, and checks
 * that what reaches it is what the parsers promise. Each line of the input
 * is a line typed at the prompt (at most MAX_LINES). driver/repl.c is
 * included, not linked, for its static line handler. */
#include "../driver/repl.c"

#include "fuzz_util.h"

#define MAX_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile sig_atomic_t no_stop;

static void complete_line(Repl *r, const char *line) {
  Completion c;
  repl_complete(&r->session, line, &c);
  size_t len = strlen(line);
  if (c.start < 0 || (size_t)c.start > len)
    fuzz_fail("completion starts at %d in a line of %zu", c.start, len);
  for (int i = 0; i < c.n; i++)
    if (!c.items[i] || (i > 0 && strcmp(c.items[i - 1], c.items[i]) >= 0))
      fuzz_fail("completion items not sorted and unique at %d", i);
  completion_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0'; /* a line ends at a NUL as it does at a newline: getline's C string */
  Repl r;
  memset(&r, 0, sizeof r);
  r.session.out = stdout;
  r.session.err = stderr;
  r.session.stop = &no_stop;
  Loop lp = {.r = &r, .strict = 0};
  char *line = text;
  for (int n = 0; line && n < MAX_LINES && !r.quit; n++) {
    char *newline = strchr(line, '\n');
    if (newline)
      *newline = '\0';
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\r') /* as repl_input.c's read_plain */
      line[--len] = '\0';
    lp.lineno++;
    handle_line(&lp, line);
    complete_line(&r, line);
    line = newline ? newline + 1 : NULL;
  }
  end_of_input(&lp);
  pending_discard(&lp.block);
  free(text);
  return 0;
}
