/* signal_at.c: signals raised at chosen points, for the tests of interrupts
 * and crashes. SPARSEC_SIGNAL_AT=POINT:N[:SIGNAL] raises SIGNAL (INT, the
 * default, TERM or KILL) at the N-th time the run passes POINT:
 *   step   before a minibatch (pretraining or training)
 *   eval   before a batch of evaluation
 *   write  in the middle of writing a file (after its header)
 * A real Ctrl-C can land anywhere; these make "anywhere" repeatable. Unset,
 * each point costs one branch. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sparsert_internal.h"

static int parsed;
static SrSignalPoint point;
static long countdown;
static int sig = SIGINT;

static void parse(void) {
  parsed = 1;
  const char *spec = getenv("SPARSEC_SIGNAL_AT");
  if (!spec)
    return;
  static const char *const names[] = {"step", "eval", "write"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(names[i]);
    if (strncmp(spec, names[i], n) == 0 && spec[n] == ':') {
      char *end;
      countdown = strtol(spec + n + 1, &end, 10);
      point = (SrSignalPoint)(i + 1);
      sig = strcmp(end, ":KILL") == 0 ? SIGKILL : strcmp(end, ":TERM") == 0 ? SIGTERM : SIGINT;
    }
  }
}

void sr_signal_at(SrSignalPoint p) {
  if (!parsed)
    parse();
  if (p != point || countdown <= 0)
    return;
  if (--countdown == 0)
    raise(sig);
}
