/* runtime_stubs.c: the few runtime functions the REPL's driver files name
 * but fuzz_repl never reaches (threads, signals: `sparsec repl` itself),
 * so that the fuzzer build need not link OpenBLAS for them. Only in the
 * standalone fuzzer build: the main build's replayer links the runtime. */
#include "experiment.h"

void sr_blas_threads(int n) {
  (void)n;
}

int sr_set_threads(int n) {
  return n;
}

volatile sig_atomic_t *sr_interrupt_install(void) {
  static volatile sig_atomic_t flag;
  return &flag;
}

int sr_interrupt_signal(void) {
  return 0;
}
