/* exec_options.c: the options of the commands that compile and execute a
 * model, read the same way wherever they are taken: --passes (run, ir,
 * repl) and --threads (run, repl). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "sparsert.h"

#define MAX_THREADS 64

int passes_option(const char *value, PassOptions *passes, FILE *err) {
  if (value && strcmp(value, "none") == 0) {
    passes->enabled = 0;
  } else if (value && strcmp(value, "dense") == 0) { /* every product dense: no sparse-products */
    passes->dense_only = 1;
  } else {
    fputs("sparsec: --passes takes 'none' or 'dense'\n", err);
    return -1;
  }
  return 0;
}

/* A whole number from 1 to MAX_THREADS, in digits only: strtol would also
 * take " 4" and "+4", and read 99999999999999999999 as LONG_MAX. */
int threads_option(const char *value, int *threads, FILE *err) {
  if (!value) {
    fprintf(err, "sparsec: --threads takes a number from 1 to %d\n", MAX_THREADS);
    return -1;
  }
  int n = 0;
  const char *p = value;
  for (; *p >= '0' && *p <= '9'; p++)
    if (n <= MAX_THREADS) /* once past it, n only has to stay past it */
      n = n * 10 + (*p - '0');
  if (p == value || *p || n < 1 || n > MAX_THREADS) {
    fprintf(err, "sparsec: --threads takes a number from 1 to %d, not '%s'\n", MAX_THREADS,
            value);
    return -1;
  }
  *threads = n;
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
