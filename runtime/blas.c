/* BLAS settings: the one place the runtime talks to OpenBLAS directly
 * (generated code calls cblas_sgemm itself). */
#include <cblas.h>

#include "sparsert.h"

void sr_blas_threads(int n) {
  openblas_set_num_threads(n < 1 ? 1 : n);
}
