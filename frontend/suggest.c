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

/* One note after an unknown name: the closest known name, if one is close,
 * and every allowed one, from the same table the check used. */
void diag_suggest(Diag *d, Loc loc, const char *name, const char *const *known) {
  char choices[512] = "";
  size_t used = 0;
  for (int i = 0; known[i] && used < sizeof choices; i++) {
    int n = snprintf(choices + used, sizeof choices - used, "%s%s", i ? ", " : "", known[i]);
    used += n > 0 ? (size_t)n : 0;
  }
  if (used >= sizeof choices) /* cut: say so */
    memcpy(choices + sizeof choices - 5, ", ...", 5);
  const char *best = closest_name(name, known);
  if (!known[0])
    return;
  if (best)
    diag_note(d, loc, "did you mean '%s'? (one of: %s)", best, choices);
  else
    diag_note(d, loc, "one of: %s", choices);
}
