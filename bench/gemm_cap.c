/* The dense GEMMs of one training step alone, as the dense path calls them
 * (sparsec ir --passes dense shows them): per layer l with input width
 * K = widths[l] and output width N = widths[l+1], at batch B,
 *   forward        z  = a W            sgemm NN  B x N x K
 *   input gradient da = dz W^T         sgemm NT  B x K x N   (not for the first layer)
 *   update (fused) W  = W - lr a^T dz  sgemm TN  K x N x B, beta = 1
 * No other work: examples/s = B / (time of the 11 calls) is an upper bound
 * on any dense implementation that computes these products with OpenBLAS. */
#include <cblas.h>
#include <stdlib.h>

#include "bench.h"

static float *buffer(size_t n) {
  float *p = malloc(sizeof(float) * n);
  for (size_t i = 0; i < n; i++)
    p[i] = (float)((i * 2654435761u % 1000) / 1000.0 - 0.5);
  return p;
}

double gemm_cap(const int *widths, int nwidths, int batch, int reps) {
  enum { MAX = 16 };
  float *a[MAX], *w[MAX], *dz[MAX], *da[MAX];
  int layers = nwidths - 1;
  for (int l = 0; l < layers; l++) {
    int K = widths[l], N = widths[l + 1];
    a[l] = buffer((size_t)batch * K);
    w[l] = buffer((size_t)K * N);
    dz[l] = buffer((size_t)batch * N);
    da[l] = buffer((size_t)batch * K);
  }
  double t[64];
  for (int r = 0; r < reps + 1 && r < 64; r++) {
    double t0 = bench_now();
    for (int l = 0; l < layers; l++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, widths[l + 1], widths[l], 1,
                  a[l], widths[l], w[l], widths[l + 1], 0, dz[l], widths[l + 1]);
    for (int l = layers - 1; l >= 0; l--) {
      int K = widths[l], N = widths[l + 1];
      if (l > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, K, N, 1, dz[l], N, w[l], N, 0,
                    da[l], K);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, batch, -1e-9f, a[l], K, dz[l], N,
                  1, w[l], N);
    }
    t[r] = bench_now() - t0;
  }
  for (int l = 0; l < layers; l++) {
    free(a[l]);
    free(w[l]);
    free(dz[l]);
    free(da[l]);
  }
  return batch / bench_median(t + 1, reps); /* the first call warms up */
}
