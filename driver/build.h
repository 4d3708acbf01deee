/* driver: `sparsec build` (build_cmd.c) and the config it compiles into a
 * program (build_config.c). */
#ifndef SPARSEC_DRIVER_BUILD_H
#define SPARSEC_DRIVER_BUILD_H

#include "frontend.h"
#include "program.h"

int cmd_build(int argc, char **argv);

#define BUILD_MAX_STRINGS 16

/* An SrProgramConfig and the strings it points to. */
typedef struct BuildConfig {
  SrProgramConfig cfg;
  char *strings[BUILD_MAX_STRINGS];
  int nstrings;
} BuildConfig;

/* The spec's train, data and output blocks, paths made absolute; -1 if out
 * of memory. Free with build_config_free either way. */
int build_config(const Spec *spec, int max_rows, BuildConfig *b);
void build_config_free(BuildConfig *b);

#endif
