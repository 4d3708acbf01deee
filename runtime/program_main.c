/* program_main.c: main() of a program built by `sparsec build -o PROG`.
 * It lives in its own library (sparsert_main) so that programs embedding
 * a bundle, which have their own main, never meet it. The object file
 * `sparsec build` emits defines the two functions declared here. */
#include <stdio.h>

#include "program.h"

const SrModel *sparsec_model(void);
const SrProgramConfig *sparsec_config(void);
/* blas.c: under a memory limit, a restart with OPENBLAS_NUM_THREADS=1
 * before OpenBLAS's constructor runs (see sparsec's main) */
void sr_blas_preinit(int argc, char **argv, char **envp);
__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **,
                                                                              char **) =
    sr_blas_preinit;

int main(int argc, char **argv) {
  /* every line as it is printed, into a file or a pipe too (see sparsec's main) */
  setvbuf(stdout, NULL, _IOLBF, 0);
  return sr_program_main(sparsec_model(), sparsec_config(), argc, argv);
}
