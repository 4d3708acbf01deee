/* The REPL's spec: text (a file, with blocks typed in) plus `--set`-style
 * overrides, checked by the frontend exactly like a file; and the names
 * of the language's blocks and settings, for completion. */
#ifndef SPARSEC_DRIVER_SPEC_TEXT_H
#define SPARSEC_DRIVER_SPEC_TEXT_H

#include <stdio.h>

#include "frontend.h"

/* Parses `text` (named `name` in messages; relative data paths are taken
 * from the folder of `name`), applies the overrides (PATH=VALUE texts, as
 * `--set` takes them) and checks the result. Messages go to `out`; NULL
 * on any error. */
Spec *spec_text_check(const char *name, const char *text, char *const *overrides, int n,
                      FILE *out);

/* The language's top-level blocks (model, pretrain, train, data, output),
 * NULL-terminated. */
const char *const *spec_block_names(void);
/* The settings of a block, or with per_layer of a pretrain layer's block,
 * into names[max] (NULL-terminated); the count, 0 if there is no such block. */
int spec_block_settings(const char *block, int per_layer, const char **names, int max);
/* What LAYER.KEY may name: units, activation, then dense()'s keywords. */
const char *const *spec_layer_keys(void);

/* ---- the text of a spec, read without the parser ------------------------- */

/* `NAME { ... }` at the top level of a spec text: from the name to just
 * after the closing brace. */
typedef struct TextBlock {
  char name[64];
  int begin, end;
} TextBlock;

/* The top-level blocks of `text` in order, at most `max`; returns the
 * count, or -1 if the text holds anything else (then *bad is the offset
 * of the first thing that is not a block). Comments, strings and ';'
 * between blocks are understood. */
int spec_text_blocks(const char *text, TextBlock *out, int max, int *bad);

/* '{' minus '}' in one line, outside strings and comments: how much a
 * line typed at the prompt opens a block. */
int spec_text_brace_delta(const char *line);

/* A copy of `text` where each block of `typed` replaces the block of the
 * same name (or is appended). The caller frees. */
char *spec_text_merge(const char *text, const char *typed, const TextBlock *blocks, int n);

#endif
