/* closest_name.h: "did you mean" for every list of names sparsec knows: the
 * settings of a spec (frontend/suggest.c) and the options of every command
 * (runtime/options.c). Plain C in a header, so that the frontend, which
 * links nothing of the runtime, and built programs, which link only the
 * runtime, share the one rule. */
#ifndef SPARSEC_CLOSEST_NAME_H
#define SPARSEC_CLOSEST_NAME_H

#include <limits.h>
#include <string.h>

#define SR_MAX_SUGGEST_LEN 64 /* longer words are not typos of anything we know */

/* Levenshtein distance with two rows on the stack. */
static inline int sr_edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > SR_MAX_SUGGEST_LEN || lb > SR_MAX_SUGGEST_LEN)
    return INT_MAX;
  int prev[SR_MAX_SUGGEST_LEN + 1], cur[SR_MAX_SUGGEST_LEN + 1];
  for (int j = 0; j <= lb; j++)
    prev[j] = j;
  for (int i = 1; i <= la; i++) {
    cur[0] = i;
    for (int j = 1; j <= lb; j++) {
      int best = prev[j] + 1 < cur[j - 1] + 1 ? prev[j] + 1 : cur[j - 1] + 1;
      int change = prev[j - 1] + (a[i - 1] != b[j - 1]);
      cur[j] = change < best ? change : best;
    }
    memcpy(prev, cur, sizeof cur);
  }
  return prev[lb];
}

/* The closest of the NULL-terminated `known` at most two edits away, and
 * not a complete rewrite of a very short word ("x" is not a typo of "lr");
 * NULL if none. */
static inline const char *sr_closest_name(const char *word, const char *const *known) {
  const char *best = NULL;
  int best_distance = 3;
  for (; known && *known; known++) {
    int distance = sr_edit_distance(word, *known);
    if (distance < best_distance && distance < (int)strlen(word)) {
      best = *known;
      best_distance = distance;
    }
  }
  return best;
}

#endif
