/* sparsec run FILE: check the spec, then run its experiment (experiment.c).
 * Under `mpirun -np N`, every rank runs this; they train data-parallel
 * (runtime/dist.h, docs/parallel.md) and rank 0 alone prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "experiment.h"

typedef struct RunArgs {
  SpecArgs spec; /* first: see driver.h */
  RunOptions run;
} RunArgs;

static const SrOption run_options[] = {
    SET_OPTION("override a setting, e.g. --set train.lr=0.05 --set h2.l1=0"),
    PASSES_OPTION(RunArgs, run.passes,
                  "none: compile the derived programs without optimising them;\n"
                  "dense: optimise, but keep every product dense (cblas_sgemm)"),
    THREADS_OPTION(RunArgs, run.threads),
    {"prune-dead", 0, SR_OPT_FLAG, NULL,
     "after training, report the units dead on the training set\n"
     "and the inference weights' size without them",
     .offset = offsetof(RunArgs, run.prune_dead)},
    SR_OPT_VERBOSITY(RunArgs, run.verbosity,
                     "only the results: the test error (and, interrupted, where\n"
                     "and how to resume); no compile, data or epoch lines, no bar",
                     "also where the compile time went (codegen, optimise, machine\n"
                     "code, the object cache) and what the cache did"),
    SR_SEEDS_OPTION(RunArgs, run.seeds),
    {"resume", 0, SR_OPT_FILE, "STATE",
     "go on from a state saved by an earlier run (output.state):\n"
     "the same numbers as if that run had not stopped",
     .offset = offsetof(RunArgs, run.resume)},
    {0}};

static const SrOptTable run_table = {.command = "run", .options = run_options,
                                     .positional = spec_args_file};

static int usage(FILE *out, int status) {
  fputs("usage: sparsec run [options] FILE.spn\n"
        "JIT-compiles the model of FILE.spn and trains it as its train block says,\n"
        "printing one line per epoch and the test error at the best validation epoch.\n",
        out);
  sr_opt_help(&run_table, "", out);
  return status;
}

/* Joins the MPI job if mpirun started this process as one of several
 * ranks, runs the experiment, leaves the job: cleanly when every rank
 * agreed on the outcome, else by ending the job (sr_dist_close). */
static int run_parallel(const Spec *spec, RunOptions *options) {
  SrError err = {{0}};
  if (sr_dist_open(&options->dist, &err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    return 1;
  }
  if (options->dist) {
    options->passes.data_parallel = 1;
    sr_dist_silence_others(options->dist);
  }
  int rc = run_experiment(spec, options);
  if (rc == 0)
    sr_dist_print_stats(options->dist, stdout);
  sr_dist_close(options->dist, rc != 0);
  return rc;
}

int cmd_run(int argc, char **argv) {
  RunArgs args = {.run = {.passes = {.enabled = 1}, .threads = DEFAULT_THREADS}};
  char line[4096];
  args.run.command = sr_run_command("sparsec", argc, argv, line, sizeof line);
  int parsed = spec_command_parse(&run_table, &args, argc, argv);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  Spec *spec = spec_load_with(args.spec.path, args.spec.overrides, args.spec.noverrides, stderr);
  if (!spec)
    return 1;
  use_threads(args.run.threads);
  int rc = run_parallel(spec, &args.run);
  spec_free(spec);
  return rc;
}
