/* exec_options.c: the options of the commands that compile and execute a
 * model, read the same way wherever they are taken: --passes (run, ir,
 * repl) and --threads (run, repl). The tables hold them (driver.h's
 * PASSES_OPTION, THREADS_OPTION); the parser (runtime/options.c) checks
 * the values, so --threads is digits only, 1 to 64. */
#include <stdio.h>

#include "driver.h"
#include "sparsert.h"

const char *const passes_values[] = {"none", "dense", NULL};

int passes_set(void *where, const SrOption *opt, const SrOptValue *v, SrOptError *err) {
  (void)opt, (void)err;
  PassOptions *passes = where;
  if (v->index == 0)
    passes->enabled = 0;
  else /* every product dense: no sparse-products */
    passes->dense_only = 1;
  return 0;
}

/* One thread unless --threads says otherwise: at small minibatches a dense
 * product is too thin to pay for a second thread (measured on the paper's
 * 784-1000-1000-1000-10 net, batch 10, one epoch of Fashion-MNIST: 23.8 s
 * with 1 OpenBLAS thread, 36.3 s with 2), and one thread is deterministic.
 * N threads go to OpenBLAS and to the sparse kernels' pool
 * (runtime/parallel.c); bench/README.md has the measurements. */
void use_threads(int threads) {
  sr_blas_threads(threads);
  sr_set_threads(threads);
}
