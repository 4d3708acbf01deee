/* driver: the `sparsec` command. One file per subcommand; experiment.c runs
 * what a spec describes (data, sweep, training, outputs). */
#ifndef SPARSEC_DRIVER_H
#define SPARSEC_DRIVER_H

#include "ir.h"

int cmd_run(int argc, char **argv);
int cmd_ir(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* Options every command that reads a spec takes: `--set PATH=VALUE`. */
#define MAX_OVERRIDES 64

typedef struct SpecArgs {
  const char *path;
  Override overrides[MAX_OVERRIDES];
  int noverrides;
} SpecArgs;

/* Consumes argv[*i] (and its value) if it is a spec option: 1 if consumed,
 * 0 if not a spec option, -1 after printing an error. */
int spec_args_take(SpecArgs *a, int argc, char **argv, int *i);

/* `[--set PATH=VALUE]... FILE`: 0 when parsed, 1 if --help was asked, -1
 * after printing an error. */
int spec_args_parse(SpecArgs *a, int argc, char **argv);

/* experiment.c: trains the spec's model (every lr of a sweep) and writes its
 * outputs; returns the exit status. */
typedef struct RunOptions {
  PassOptions passes;  /* --passes none turns the optimiser off */
} RunOptions;
int run_experiment(const Spec *spec, const RunOptions *o);

#endif
