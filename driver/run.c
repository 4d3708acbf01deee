/* sparsec run FILE: check the spec, then run its experiment (experiment.c).
 * Under `mpirun -np N`, every rank runs this; they train data-parallel
 * (runtime/dist.h, docs/parallel.md) and rank 0 alone prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "experiment.h"

static int usage(FILE *out, int status) {
  fputs("usage: sparsec run [options] FILE.spn\n"
        "JIT-compiles the model of FILE.spn and trains it as its train block says,\n"
        "printing one line per epoch and the test error at the best validation epoch.\n"
        "  --set PATH=VALUE   override a setting, e.g. --set train.lr=0.05 --set h2.l1=0\n"
        "  --passes none      compile the derived programs without optimising them\n"
        "  --passes dense     optimise, but keep every product dense (cblas_sgemm)\n"
        "  --threads N        threads for dense products and sparse kernels (default 1)\n"
        "  --prune-dead       after training, report the units dead on the training set\n"
        "                     and the inference weights' size without them\n"
        "  --resume STATE     go on from a state saved by an earlier run (output.state):\n"
        "                     the same numbers as if that run had not stopped\n",
        out);
  return status;
}

/* run's own options; the rest go to spec_args_parse. */
static int take_run_option(RunOptions *o, int *argc, char **argv) {
  for (int i = 1; i < *argc; i++) {
    if (strcmp(argv[i], "--prune-dead") == 0) {
      o->prune_dead = 1;
      memmove(&argv[i], &argv[i + 1], sizeof *argv * (*argc - i - 1));
      (*argc)--;
      i--;
      continue;
    }
    if (strcmp(argv[i], "--resume") == 0) {
      if (i + 1 >= *argc) {
        fputs("sparsec: --resume needs a state file\n", stderr);
        return -1;
      }
      o->resume = argv[i + 1];
      memmove(&argv[i], &argv[i + 2], sizeof *argv * (*argc - i - 2));
      *argc -= 2;
      i--;
      continue;
    }
    int passes = strcmp(argv[i], "--passes") == 0;
    if (!passes && strcmp(argv[i], "--threads") != 0)
      continue;
    const char *value = i + 1 < *argc ? argv[i + 1] : NULL;
    if (passes ? passes_option(value, &o->passes, stderr) != 0
               : threads_option(value, &o->threads, stderr) != 0)
      return -1;
    memmove(&argv[i], &argv[i + 2], sizeof *argv * (*argc - i - 2));
    *argc -= 2;
    i--;
  }
  return 0;
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
  RunOptions options = {.passes = {.enabled = 1}, .threads = DEFAULT_THREADS};
  char line[4096];
  options.command = sr_run_command("sparsec", argc, argv, line, sizeof line);
  if (take_run_option(&options, &argc, argv) != 0)
    return usage(stderr, 2);
  SpecArgs args = {0};
  int parsed = spec_args_parse(&args, argc, argv);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  Spec *spec = spec_load_with(args.path, args.overrides, args.noverrides, stderr);
  if (!spec)
    return 1;
  use_threads(options.threads);
  int rc = run_parallel(spec, &options);
  spec_free(spec);
  return rc;
}
