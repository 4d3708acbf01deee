/* The REPL's way into the frontend: a text with overrides, and typed
 * blocks spliced into the session's text at the places the frontend
 * finds (spec_text_blocks). Only frontend.h is used: the lexing is the
 * frontend's. */
#include <stdlib.h>
#include <string.h>

#include "spec_text.h"

Spec *spec_text_check(const char *name, const char *text, char *const *overrides, int n,
                      FILE *out) {
  Override sets[64];
  if (n > 64)
    n = 64;
  for (int i = 0; i < n; i++)
    sets[i].text = overrides[i];
  return spec_load_text_with(name, text, sets, n, out);
}

static const TextBlock *find_block(const TextBlock *blocks, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(blocks[i].name, name) == 0)
      return &blocks[i];
  return NULL;
}

/* Out of memory while editing: as the frontend does, stop at once. */
static void *must(void *p) {
  if (!p) {
    fputs("sparsec: out of memory\n", stderr);
    exit(1);
  }
  return p;
}

/* text with [begin, end) replaced by `with` (len bytes). */
static char *splice(const char *text, int begin, int end, const char *with, int len) {
  size_t tail = strlen(text + end);
  char *out = must(malloc((size_t)begin + (size_t)len + tail + 1));
  memcpy(out, text, begin);
  memcpy(out + begin, with, len);
  memcpy(out + begin + len, text + end, tail + 1);
  return out;
}

char *spec_text_merge(const char *text, const char *typed, const TextBlock *blocks, int n) {
  char *merged = must(strdup(text));
  for (int k = 0; k < n; k++) {
    TextBlock old[64];
    int bad, nold = spec_text_blocks(merged, old, 64, &bad);
    const TextBlock *at = nold > 0 ? find_block(old, nold, blocks[k].name) : NULL;
    const char *with = typed + blocks[k].begin;
    int len = blocks[k].end - blocks[k].begin;
    char *next;
    if (at) {
      next = splice(merged, at->begin, at->end, with, len);
    } else { /* appended on a line of its own */
      int m = (int)strlen(merged);
      int newline = m > 0 && merged[m - 1] != '\n';
      next = splice(merged, m, m, "\n", newline);
      free(merged);
      merged = next;
      m += newline;
      next = splice(merged, m, m, with, len);
      free(merged);
      merged = next;
      m += len;
      next = splice(merged, m, m, "\n", 1);
    }
    free(merged);
    merged = next;
  }
  return merged;
}
