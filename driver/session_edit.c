/* session_edit.c: the session's spec changed by overrides (`set`,
 * `unset`) and by blocks typed in; each change is a rebuild (session.c)
 * that replaces the session's state only if it succeeds. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "session_internal.h"
#include "spec_text.h"

/* ---- overrides ----------------------------------------------------------------- */

/* PATH of PATH=VALUE without blanks: two overrides of one path are one. */
static void override_key(const char *text, char *key, size_t size) {
  size_t n = 0;
  for (const char *p = text; *p && *p != '=' && n + 1 < size; p++)
    if (!isspace((unsigned char)*p))
      key[n++] = *p;
  key[n] = '\0';
}

static int find_override(const Session *s, const char *key) {
  char other[256];
  for (int i = 0; i < s->noverrides; i++) {
    override_key(s->overrides[i], other, sizeof other);
    if (strcmp(other, key) == 0)
      return i;
  }
  return -1;
}

/* Recompiles with `list`; on success it becomes the session's list (the
 * strings are then the session's; else the caller's). */
static int apply_overrides(Session *s, char **list, int n) {
  if (session_rebuild(s, s->text, s->edited, list, n, 1) != 0)
    return -1;
  memcpy(s->overrides, list, n * sizeof *list);
  s->noverrides = n;
  return 0;
}

int session_set(Session *s, const char *assignment) {
  if (!session_ready(s, s->err))
    return -1;
  char key[256];
  override_key(assignment, key, sizeof key);
  int at = find_override(s, key);
  if (at < 0 && s->noverrides == MAX_OVERRIDES) {
    fprintf(s->err, "sparsec: at most %d overrides; `unset` one first\n", MAX_OVERRIDES);
    return -1;
  }
  char *list[MAX_OVERRIDES], *text = strdup(assignment);
  if (!text)
    return -1;
  memcpy(list, s->overrides, s->noverrides * sizeof *list);
  int n = s->noverrides;
  char *replaced = at >= 0 ? list[at] : NULL;
  list[at >= 0 ? at : n++] = text; /* in its place: the numbers `show` gives stay */
  if (apply_overrides(s, list, n) != 0) {
    free(text);
    return -1;
  }
  free(replaced);
  return 0;
}

int session_unset(Session *s, const char *path) {
  if (!session_ready(s, s->err))
    return -1;
  char key[256];
  override_key(path, key, sizeof key);
  int at = find_override(s, key);
  if (at < 0) {
    fprintf(s->err, "sparsec: no override of '%s'", key);
    for (int i = 0; i < s->noverrides; i++)
      fprintf(s->err, "%s%s", i ? ", " : "; the overrides are ", s->overrides[i]);
    fputc('\n', s->err);
    return -1;
  }
  char *list[MAX_OVERRIDES], *dropped = s->overrides[at];
  int n = 0;
  for (int i = 0; i < s->noverrides; i++)
    if (i != at)
      list[n++] = s->overrides[i];
  if (apply_overrides(s, list, n) != 0)
    return -1;
  free(dropped);
  return 0;
}

/* ---- blocks typed in ----------------------------------------------------------- */

static int is_block_name(const char *name) {
  for (const char *const *b = spec_block_names(); *b; b++)
    if (strcmp(*b, name) == 0)
      return 1;
  return 0;
}

/* Whether an override sets something in block `block`: its first part
 * names the block, or for `model`, one of its layers. */
static int override_in_block(const char *override, const char *block) {
  char key[256];
  override_key(override, key, sizeof key);
  char *dot = strchr(key, '.');
  if (dot)
    *dot = '\0';
  if (strcmp(key, block) == 0)
    return 1;
  return strcmp(block, "model") == 0 && !is_block_name(key);
}

/* The overrides that survive the typed blocks, into keep[]; *dropped
 * lists the others. */
static int surviving_overrides(const Session *s, const TextBlock *blocks, int n, char **keep,
                               char **dropped, int *ndropped) {
  int nkeep = 0;
  *ndropped = 0;
  for (int i = 0; i < s->noverrides; i++) {
    int in_typed = 0;
    for (int b = 0; b < n && !in_typed; b++)
      in_typed = override_in_block(s->overrides[i], blocks[b].name);
    if (in_typed)
      dropped[(*ndropped)++] = s->overrides[i];
    else
      keep[nkeep++] = s->overrides[i];
  }
  return nkeep;
}

/* Before any spec checks, typed blocks are collected even when the whole
 * does not check yet: a spec can be typed one block at a time. */
static int collect_first_blocks(Session *s, char *merged) {
  int rc = session_rebuild(s, merged, 1, NULL, 0, 0);
  free(s->text);
  s->text = merged;
  s->edited = 1;
  if (rc != 0)
    fputs("sparsec: note: the blocks typed so far are kept; the session has a model once they "
          "check\n",
          s->err);
  return rc;
}

int session_define(Session *s, const char *typed) {
  TextBlock blocks[16];
  int bad, n = spec_text_blocks(typed, blocks, 16, &bad);
  if (n <= 0) {
    fputs("sparsec: expected whole blocks, like `train { lr = 0.05 }`\n", s->err);
    return -1;
  }
  char *merged = spec_text_merge(s->text ? s->text : "", typed, blocks, n);
  if (!s->spec)
    return collect_first_blocks(s, merged);
  char *keep[MAX_OVERRIDES], *dropped[MAX_OVERRIDES];
  int ndropped, nkeep = surviving_overrides(s, blocks, n, keep, dropped, &ndropped);
  if (session_rebuild(s, merged, 1, keep, nkeep, 1) != 0) {
    free(merged);
    return -1;
  }
  for (int i = 0; i < ndropped; i++) {
    fprintf(s->out, "dropped override %s: its block was typed in\n", dropped[i]);
    free(dropped[i]);
  }
  memcpy(s->overrides, keep, nkeep * sizeof *keep);
  s->noverrides = nkeep;
  free(s->text);
  s->text = merged;
  s->edited = 1;
  return 0;
}
