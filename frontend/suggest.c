/* suggest.c: names from a list: looking them up, and "did you mean" notes
 * when they are not there. Shared by the checker (unknown settings,
 * activations, layers) and the --set path resolver (unknown components). */
#include <limits.h>

#include "frontend_internal.h"

int find_name(const char *name, const char *const *names) {
  for (int i = 0; names[i]; i++)
    if (strcmp(name, names[i]) == 0)
      return i;
  return -1;
}

#define MAX_SUGGEST_LEN 64  /* longer names are not typos of anything we know */

static int min3(int a, int b, int c) {
  int m = a < b ? a : b;
  return m < c ? m : c;
}

/* Levenshtein distance with two rows on the stack. */
static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > MAX_SUGGEST_LEN || lb > MAX_SUGGEST_LEN)
    return INT_MAX;
  int prev[MAX_SUGGEST_LEN + 1], cur[MAX_SUGGEST_LEN + 1];
  for (int j = 0; j <= lb; j++)
    prev[j] = j;
  for (int i = 1; i <= la; i++) {
    cur[0] = i;
    for (int j = 1; j <= lb; j++)
      cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]));
    memcpy(prev, cur, sizeof cur);
  }
  return prev[lb];
}

/* The closest name at most two edits away, and not a complete rewrite of a
 * very short name ("x" is not a typo of "lr"); NULL if none. */
const char *closest_name(const char *name, const char *const *known) {
  const char *best = NULL;
  int best_distance = 3;
  for (; *known; known++) {
    int distance = edit_distance(name, *known);
    if (distance < best_distance && distance < (int)strlen(name)) {
      best = *known;
      best_distance = distance;
    }
  }
  return best;
}

void diag_suggest(Diag *d, Loc loc, const char *name, const char *const *known) {
  const char *best = closest_name(name, known);
  if (best)
    diag_note(d, loc, "did you mean '%s'?", best);
}
