/* The REPL's way into the frontend. frontend.h offers a file with
 * overrides (spec_load_with) or a text without (spec_load_string); the
 * REPL needs a text with overrides, and the language's names for tab
 * completion. Both exist in the frontend's internal header, so this one
 * file includes it and nothing else in the driver does. (Exporting
 * load_source and language_settings in frontend.h would remove this.) */
#include <ctype.h>

#include "frontend_internal.h"
#include "spec_text.h"

Spec *spec_text_check(const char *name, const char *text, char *const *overrides, int n,
                      FILE *out) {
  Override sets[64];
  if (n > 64)
    n = 64;
  for (int i = 0; i < n; i++)
    sets[i].text = overrides[i];
  return load_source(source_from_string(name, text), sets, n, out);
}

const char *const *spec_block_names(void) {
  return language_blocks;
}

int spec_block_settings(const char *block, int per_layer, const char **names, int max) {
  const char *all[MAX_SETTINGS + 1];
  if (max < 1 || !language_settings(block, per_layer, all))
    return 0;
  int n = 0;
  while (all[n] && n < max - 1) {
    names[n] = all[n];
    n++;
  }
  names[n] = NULL;
  return n;
}

const char *const *spec_layer_keys(void) {
  static const char *keys[16];
  if (!keys[0]) {
    int n = 0;
    keys[n++] = "units";
    keys[n++] = "activation";
    for (int i = 0; dense_keywords[i] && n < 15; i++)
      keys[n++] = dense_keywords[i];
  }
  return keys;
}

/* ---- the text, without the parser ---------------------------------------- */

/* Past a comment or a string starting at text[i] (else i unchanged). A
 * string runs to its closing quote or the end of the line. */
static int skip_comment_or_string(const char *text, int i) {
  if (text[i] == '#') {
    while (text[i] && text[i] != '\n')
      i++;
  } else if (text[i] == '"') {
    i++;
    while (text[i] && text[i] != '"' && text[i] != '\n')
      i += text[i] == '\\' && text[i + 1] && text[i + 1] != '\n' ? 2 : 1;
    if (text[i] == '"')
      i++;
  }
  return i;
}

int spec_text_brace_delta(const char *line) {
  int depth = 0;
  for (int i = 0; line[i];) {
    int next = skip_comment_or_string(line, i);
    if (next != i) {
      i = next;
      continue;
    }
    depth += line[i] == '{' ? 1 : line[i] == '}' ? -1 : 0;
    i++;
  }
  return depth;
}

/* Past blanks, comments and ';'. */
static int skip_filler(const char *text, int i) {
  for (;;) {
    if (isspace((unsigned char)text[i]) || text[i] == ';') {
      i++;
    } else if (text[i] == '#') {
      i = skip_comment_or_string(text, i);
    } else {
      return i;
    }
  }
}

/* The matching '}' of the '{' at text[i]: the offset after it, or -1. */
static int block_end(const char *text, int i) {
  int depth = 0;
  while (text[i]) {
    int next = skip_comment_or_string(text, i);
    if (next != i) {
      i = next;
      continue;
    }
    depth += text[i] == '{' ? 1 : text[i] == '}' ? -1 : 0;
    i++;
    if (depth == 0)
      return i;
  }
  return -1;
}

/* One `NAME {...}` at text[i]: its end, or -1 if it is not one. */
static int read_block(const char *text, int i, TextBlock *b) {
  int begin = i;
  while (isalnum((unsigned char)text[i]) || text[i] == '_')
    i++;
  int len = i - begin;
  if (len == 0 || len >= (int)sizeof b->name || isdigit((unsigned char)text[begin]))
    return -1;
  i = skip_filler(text, i);
  if (text[i] != '{')
    return -1;
  int end = block_end(text, i);
  if (end < 0)
    return -1;
  memcpy(b->name, text + begin, len);
  b->name[len] = '\0';
  b->begin = begin;
  b->end = end;
  return end;
}

int spec_text_blocks(const char *text, TextBlock *out, int max, int *bad) {
  int n = 0;
  for (int i = skip_filler(text, 0); text[i]; i = skip_filler(text, i)) {
    TextBlock b;
    int end = read_block(text, i, &b);
    if (end < 0 || n == max) {
      *bad = i;
      return -1;
    }
    out[n++] = b;
    i = end;
  }
  return n;
}

static const TextBlock *find_block(const TextBlock *blocks, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(blocks[i].name, name) == 0)
      return &blocks[i];
  return NULL;
}

/* text with [begin, end) replaced by `with` (len bytes). */
static char *splice(const char *text, int begin, int end, const char *with, int len) {
  size_t tail = strlen(text + end);
  char *out = xrealloc(NULL, (size_t)begin + (size_t)len + tail + 1);
  memcpy(out, text, begin);
  memcpy(out + begin, with, len);
  memcpy(out + begin + len, text + end, tail + 1);
  return out;
}

char *spec_text_merge(const char *text, const char *typed, const TextBlock *blocks, int n) {
  char *merged = xstrdup(text);
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
