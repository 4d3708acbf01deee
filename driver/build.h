/* driver: `sparsec build` (build_cmd.c) and the config it compiles into a
 * program (build_config.c). */
#ifndef SPARSEC_DRIVER_BUILD_H
#define SPARSEC_DRIVER_BUILD_H

#include "backend.h"
#include "frontend.h"
#include "program.h"

int cmd_build(int argc, char **argv);

#define BUILD_MAX_STRINGS 24

/* An SrProgramConfig and the strings it points to. */
typedef struct BuildConfig {
  SrProgramConfig cfg;
  char *strings[BUILD_MAX_STRINGS];
  int nstrings;
  int absolute;        /* paths made absolute */
} BuildConfig;

/* The spec's train, data and output blocks (paths made absolute if asked:
 * a built program runs anywhere); -1 if out of memory. Free with
 * build_config_free either way. `sparsec run` and the REPL fill the
 * engine's config here too. */
int build_config(const Spec *spec, int max_rows, int absolute_paths, BuildConfig *b);
/* The layers in words, "h1 1000 relu, ..., out 10 softmax" (malloc'd;
 * NULL when out of memory). */
char *spec_structure(const Spec *spec);
void build_config_free(BuildConfig *b);

/* build_prune.c: --prune-dead. Counts each hidden unit's activity for the
 * weights `w` on the spec's training data and replaces `p` and `w` by the
 * model without the units that never fire, printing what was cut to `out`.
 * On failure (-1, message in err) `p` and `w` are as they were. */
int build_prune_dead(const Spec *spec, PreparedModel *p, SrState *w, FILE *out, char *err,
                     int errlen);

#endif
