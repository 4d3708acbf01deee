/* The REPL's spec: text (a file, with blocks typed in) plus `--set`-style
 * overrides, checked by the frontend exactly like a file. Where a text's
 * blocks are, where a typed block ends and the language's names for
 * completion come from the frontend too (frontend.h, text.c). */
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

/* A copy of `text` where each block of `typed` (blocks: spec_text_blocks
 * of typed) replaces the block of the same name (or is appended). The
 * caller frees. */
char *spec_text_merge(const char *text, const char *typed, const TextBlock *blocks, int n);

#endif
