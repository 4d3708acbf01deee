/* driver: the `sparsec` command. One file per subcommand; experiment.c runs
 * what a spec describes (data, sweep, training, outputs). */
#ifndef SPARSEC_DRIVER_H
#define SPARSEC_DRIVER_H

#include <stddef.h>

#include "dist.h"
#include "ir.h"
#include "options.h"
#include "program.h"

int cmd_run(int argc, char **argv);
int cmd_ir(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_repl(int argc, char **argv);
int cmd_export(int argc, char **argv); /* export_cmd.c: --onnx (backend/onnx.c) */

/* Options every command that reads a spec takes: `--set PATH=VALUE`.
 * Each command's options are one table (runtime/options.h); the shared
 * ones are the entries below. */
#define MAX_OVERRIDES 64

typedef struct SpecArgs {
  const char *path;
  Override overrides[MAX_OVERRIDES];
  int noverrides;
} SpecArgs;

/* spec_args.c. A command's argument struct starts with its SpecArgs, so
 * that `--set` (SET_OPTION) and the spec file (spec_args_file, a table's
 * positional) find it at the start of the parser's target. */
int spec_args_set(void *where, const SrOption *opt, const SrOptValue *v, SrOptError *err);
int spec_args_file(void *target, const char *arg, SrOptError *err);
#define SET_OPTION(HELP) \
  {"set", 0, SR_OPT_STRING, "PATH=VALUE", HELP, .offset = 0, .set = spec_args_set}

/* Parses a command line whose target starts with SpecArgs and needs a
 * spec file: 0, 1 for --help, -1 after a message on stderr. */
int spec_command_parse(const SrOptTable *t, void *target, int argc, char **argv);

/* exec_options.c: `--passes none|dense` into a PassOptions, `--threads N`
 * (1 to 64) into an int, for the tables of run, ir and repl. use_threads
 * gives OpenBLAS and the sparse kernels that many threads (default 1). */
#define DEFAULT_THREADS 1
#define MAX_THREADS 64
extern const char *const passes_values[];
int passes_set(void *where, const SrOption *opt, const SrOptValue *v, SrOptError *err);
#define PASSES_OPTION(TYPE, MEMBER, HELP)                                          \
  {"passes", 0, SR_OPT_ENUM, NULL, HELP, .values = passes_values,                 \
   .offset = offsetof(TYPE, MEMBER), .set = passes_set}
#define THREADS_OPTION(TYPE, MEMBER)                                                   \
  {"threads", 0, SR_OPT_INT, NULL, "threads for dense products and sparse kernels (default 1)", \
   .min = 1, .max = MAX_THREADS, .offset = offsetof(TYPE, MEMBER)}
void use_threads(int threads);

/* ir_print.c: what `ir` prints, for `sparsec ir` and the REPL. */
typedef struct IrOptions {
  const char *program; /* train, infer, pretrain:LAYER, or NULL for the whole module */
  PassOptions passes;  /* enabled = 1 unless --passes none; stop_after from --after */
  int stats;
} IrOptions;

/* The options of `ir` (--program, --after, --passes, --data-parallel,
 * --stats) into an IrOptions: `sparsec ir` and the REPL's `ir`. */
extern const SrOptTable ir_options;
/* Builds and optimises the spec's module and prints what `o` asks for;
 * 0, or 1 after a message to `err`. */
int ir_print(const Spec *spec, const IrOptions *o, FILE *out, FILE *err);
/* The optimiser's passes (ir.h's pass_table), one a line: name, level and
 * description, for `ir --help` and an unknown --after. */
void ir_list_passes(FILE *out);

/* experiment.c: runs the spec's experiment through the engine
 * (runtime/experiment.h); returns the exit status (130/143 when
 * interrupted by SIGINT/SIGTERM). */
typedef struct RunOptions {
  PassOptions passes;  /* --passes none turns the optimiser off */
  SrDist *dist;        /* under mpirun: the job's ranks (runtime/dist.h); NULL = one process */
  int threads;         /* --threads N: OpenBLAS and the sparse kernels (default 1) */
  int prune_dead;      /* --prune-dead: report the dead units and the pruned size */
  int seeds;           /* --seeds N: train.seeds for this run; 0 = the spec's */
  int verbosity;       /* SR_QUIET: the results only; SR_VERBOSE: where the compile time
                          went, and the cache */
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
