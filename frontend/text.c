/* text.c: what the REPL needs of a spec besides loading it: the text
 * checked with overrides, the blocks of a text and where they are (to
 * replace one typed at the prompt), how far a typed line opens a block,
 * and the language's names for completion. Spans come from the lexer's
 * own rules (lex_spans), so a spec is lexed the one way everywhere. */
#include "frontend_internal.h"

Spec *spec_load_text_with(const char *name, const char *text, const Override *overrides,
                          int noverrides, FILE *out) {
  return load_source(source_from_string(name, text), overrides, noverrides, out);
}

int spec_text_brace_delta(const char *line) {
  LexSpan *t;
  int n = lex_spans(line, (int)strlen(line), &t), depth = 0;
  for (int i = 0; i < n; i++)
    depth += t[i].kind == '{' ? 1 : t[i].kind == '}' ? -1 : 0;
  free(t);
  return depth;
}

static int skip_semicolons(const LexSpan *t, int n, int i) {
  while (i < n && t[i].kind == ';')
    i++;
  return i;
}

/* One `NAME {...}` at t[i]: the index of its closing '}', or -1. */
static int read_block(const char *text, const LexSpan *t, int n, int i, TextBlock *b) {
  int len = t[i].end - t[i].begin;
  if (t[i].kind != LEX_NAME || len >= (int)sizeof b->name)
    return -1;
  int k = skip_semicolons(t, n, i + 1), depth = 0;
  if (k == n || t[k].kind != '{')
    return -1;
  for (; k < n; k++) {
    depth += t[k].kind == '{' ? 1 : t[k].kind == '}' ? -1 : 0;
    if (depth == 0)
      break;
  }
  if (k == n)
    return -1;
  memcpy(b->name, text + t[i].begin, len);
  b->name[len] = '\0';
  b->begin = t[i].begin;
  b->end = t[k].end;
  return k;
}

int spec_text_blocks(const char *text, TextBlock *out, int max, int *bad) {
  LexSpan *t;
  int nt = lex_spans(text, (int)strlen(text), &t), n = 0;
  for (int i = skip_semicolons(t, nt, 0); i < nt; i = skip_semicolons(t, nt, i + 1)) {
    TextBlock b;
    int last = read_block(text, t, nt, i, &b);
    if (last < 0 || n == max) {
      *bad = t[i].begin;
      n = -1;
      break;
    }
    out[n++] = b;
    i = last;
  }
  free(t);
  return n;
}

/* ---- the language's names ---------------------------------------------- */

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
