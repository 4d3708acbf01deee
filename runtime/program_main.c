/* program_main.c: main() of a program built by `sparsec build -o PROG`.
 * It lives in its own library (sparsert_main) so that programs embedding
 * a bundle, which have their own main, never meet it. The object file
 * `sparsec build` emits defines the two functions declared here. */
#include "program.h"

const SrModel *sparsec_model(void);
const SrProgramConfig *sparsec_config(void);
__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **,
                                                                              char **) =
    sr_blas_preinit;

int main(int argc, char **argv) {
  sr_process_start();
  return sr_program_main(sparsec_model(), sparsec_config(), argc, argv);
}
