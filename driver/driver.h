/* driver: the `sparsec` command. One file per subcommand; experiment.c runs
 * what a spec describes (data, sweep, training, outputs). */
#ifndef SPARSEC_DRIVER_H
#define SPARSEC_DRIVER_H

#include "dist.h"
#include "ir.h"
#include "program.h"

int cmd_run(int argc, char **argv);
int cmd_ir(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_repl(int argc, char **argv);

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

/* An argument that is not an option: the spec file, unless there is one
 * already (or it looks like an option); 0, or -1 after printing an error. */
int spec_args_file(SpecArgs *a, const char *arg);

/* `[--set PATH=VALUE]... FILE`: 0 when parsed, 1 if --help was asked, -1
 * after printing an error. */
int spec_args_parse(SpecArgs *a, int argc, char **argv);

/* exec_options.c: `--passes none|dense` into *passes, `--threads N` (1 to
 * 64) into *threads: 0, or -1 after a message to `err`. use_threads gives
 * OpenBLAS and the sparse kernels that many threads (the default is 1). */
#define DEFAULT_THREADS 1
int passes_option(const char *value, PassOptions *passes, FILE *err);
int threads_option(const char *value, int *threads, FILE *err);
void use_threads(int threads);

/* ir_print.c: what `ir` prints, for `sparsec ir` and the REPL. */
typedef struct IrOptions {
  const char *program; /* train, infer, pretrain:LAYER, or NULL for the whole module */
  PassOptions passes;  /* enabled = 1 unless --passes none; stop_after from --after */
  int stats;
} IrOptions;

/* Consumes argv[*i] (and its value) if it is an ir option (--program,
 * --after, --passes, --stats): 1 if consumed, 0 if not an ir option, -1
 * after printing an error to `err`. */
int ir_option_take(IrOptions *o, int argc, char *const *argv, int *i, FILE *err);
/* Builds and optimises the spec's module and prints what `o` asks for;
 * 0, or 1 after a message to `err`. */
int ir_print(const Spec *spec, const IrOptions *o, FILE *out, FILE *err);

/* experiment.c: runs the spec's experiment through the engine
 * (runtime/experiment.h); returns the exit status (130/143 when
 * interrupted by SIGINT/SIGTERM). */
typedef struct RunOptions {
  PassOptions passes;  /* --passes none turns the optimiser off */
  SrDist *dist;        /* under mpirun: the job's ranks (runtime/dist.h); NULL = one process */
  int threads;         /* --threads N: OpenBLAS and the sparse kernels (default 1) */
  int prune_dead;      /* --prune-dead: report the dead units and the pruned size */
  const char *resume;  /* --resume STATE: go on from a saved state */
  const char *command; /* the command line without --resume, for the resume line */
} RunOptions;
int run_experiment(const Spec *spec, const RunOptions *o);
/* After a data error: a note at the spec's clause that named the set it is
 * about (file:line:col and the caret). */
void data_note(const Spec *spec, SrDataSet part, FILE *out);

/* prune_report.c: the kept model's units dead on the training set, and the
 * inference weights before and after cutting them (ir/passes/prune_dead.c). */
int report_dead_units(const Spec *spec, const Module *m, const SrModel *model,
                      const SrState *trained, const SrDataset *train);

#endif
