/* sparsec run FILE: check the spec, then run its experiment (experiment.c). */
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "sparsert.h"

/* At small minibatches each product is too thin to pay for handing work to
 * a second thread. Measured on the paper's 784-1000-1000-1000-10 net, batch
 * 10, one epoch of Fashion-MNIST: 23.8 s with 1 OpenBLAS thread, 36.3 s with
 * 2 (and 14 s of system time spent spinning). A --threads option and
 * threaded sparse kernels come with the sparse path. */
#define BLAS_THREADS 1

static int usage(FILE *out, int status) {
  fputs("usage: sparsec run [options] FILE.spn\n"
        "JIT-compiles the model of FILE.spn and trains it as its train block says,\n"
        "printing one line per epoch and the test error at the best validation epoch.\n"
        "  --set PATH=VALUE   override a setting, e.g. --set train.lr=0.05 --set h2.l1=0\n"
        "  --passes none      compile the derived programs without optimising them\n",
        out);
  return status;
}

/* run's own options; the rest go to spec_args_parse. */
static int take_run_option(RunOptions *o, int *argc, char **argv) {
  for (int i = 1; i < *argc; i++) {
    if (strcmp(argv[i], "--passes") != 0)
      continue;
    if (i + 1 >= *argc || strcmp(argv[i + 1], "none") != 0) {
      fputs("sparsec: --passes takes 'none'\n", stderr);
      return -1;
    }
    o->passes.enabled = 0;
    memmove(&argv[i], &argv[i + 2], sizeof *argv * (*argc - i - 2));
    *argc -= 2;
    i--;
  }
  return 0;
}

int cmd_run(int argc, char **argv) {
  RunOptions options = {.passes = {.enabled = 1}};
  if (take_run_option(&options, &argc, argv) != 0)
    return usage(stderr, 2);
  SpecArgs args = {0};
  int parsed = spec_args_parse(&args, argc, argv);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  Spec *spec = spec_load_with(args.path, args.overrides, args.noverrides, stderr);
  if (!spec)
    return 1;
  sr_blas_threads(BLAS_THREADS);
  int rc = run_experiment(spec, &options);
  spec_free(spec);
  return rc;
}
