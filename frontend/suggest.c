/* suggest.c: names from a list: looking them up, and "did you mean" notes
 * when they are not there. Shared by the checker (unknown settings,
 * activations, layers) and the --set path resolver (unknown components). */
#include "closest_name.h" /* runtime/: plain C, shared with the options parser */
#include "frontend_internal.h"

int find_name(const char *name, const char *const *names) {
  for (int i = 0; names[i]; i++)
    if (strcmp(name, names[i]) == 0)
      return i;
  return -1;
}

const char *closest_name(const char *name, const char *const *known) {
  return sr_closest_name(name, known);
}

void diag_suggest(Diag *d, Loc loc, const char *name, const char *const *known) {
  const char *best = closest_name(name, known);
  if (best)
    diag_note(d, loc, "did you mean '%s'?", best);
}
