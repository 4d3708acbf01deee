/* bench: the sparse path against the dense path (every product through
 * cblas_sgemm) and PyTorch, on the paper's 784-1000-1000-1000-10 rectifier
 * net (bench/README.md has the method and the numbers).
 *
 *   bench.c      options, the measurement schedule, the table and ratios
 *   paths.c      the two JIT-compiled paths of one spec, timed
 *   calibrate.c  the sparse/dense threshold: both variants of one layer
 *                across densities and batch sizes
 *   gemm_cap.c   what the dense GEMMs of one training step alone allow
 *   torch.c      bench/torch_bench.py as a child process, its lines parsed
 *   memory.c     peak memory (maxrss) of a child process per path */
#ifndef SPARSEC_BENCH_H
#define SPARSEC_BENCH_H

#include "backend.h"

double bench_now(void);                               /* seconds, monotonic */
double bench_median(double *x, int n);                /* sorts x */

/* ---- paths.c ---------------------------------------------------------------- */

typedef struct BenchPath {
  const char *name;    /* "dense" or "sparse" */
  PreparedModel prep;
  Jit *jit;
  SrState state;
  const char *checkpoint;
} BenchPath;

/* Compiles `spec` with every product dense (dense_only) or with the sparse
 * products, allocates its state for `max_rows` rows and loads the
 * checkpoint. 0, or -1 with a message. */
int path_init(BenchPath *p, const Spec *spec, int dense_only, int max_rows, const char *checkpoint,
              char *err, int errlen);
/* The sparse path's switch for every batch size (0: the defaults), for
 * experiments (bench --threshold T). */
extern double path_threshold;
void path_free(BenchPath *p);
/* Back to the checkpoint's parameters (each timed burst starts there). */
int path_reset(BenchPath *p, char *err, int errlen);
/* Seconds for `steps` training steps of `batch` examples, consecutive in d
 * from example `from` (wrapping). */
double path_train(BenchPath *p, const SrDataset *d, int batch, int steps, int from);
/* `calls` inference calls of `batch` examples: per-call seconds into lat;
 * returns the total seconds. */
double path_infer(BenchPath *p, const SrDataset *d, int batch, int calls, double *lat);
/* Fraction of exact zeros of each hidden layer on d (infer's zero counts). */
void path_sparsity(BenchPath *p, const SrDataset *d, double *zeros);

/* ---- calibrate.c ------------------------------------------------------------ */

/* Times the sparse and dense variants of a K x N layer's forward product
 * and fused backward at each batch size and density, prints the table and
 * the crossover densities, and returns the largest density at which the
 * sparse variants win at every batch size measured (the threshold). */
double calibrate_threshold(int K, int N, int reps, FILE *out);

/* ---- gemm_cap.c ------------------------------------------------------------- */

/* Examples per second that the 11 dense products of one training step of
 * the net `widths` (input first) allow at `batch`: cblas_sgemm alone, the
 * same shapes and transposes as the dense path, median of `reps`. */
double gemm_cap(const int *widths, int nwidths, int batch, int reps);

/* ---- torch.c ---------------------------------------------------------------- */

/* A figure: the median of n bursts and their spread (bench.c). */
typedef struct Stat {
  double med, lo, hi;
  int n;
} Stat;

typedef struct TorchResult {
  int ok;
  Stat train_eps[2][4];     /* [threads-1][batch index] */
  Stat infer_lat[2][4], infer_eps[2][4]; /* seconds, examples/s */
  long maxrss_kb;
  char note[256];           /* why it was skipped */
  char settings[1024];      /* its "torch settings" lines: threads, wait policy, BLAS */
} TorchResult;

/* Runs `python3 bench/torch_bench.py` with the same net, data, checkpoint,
 * batch sizes and threads. */
void torch_run(const char *script, const char *checkpoint, const char *data_dir,
               const int *batches, int nbatches, int reps, int burst, TorchResult *out);

/* ---- memory.c ---------------------------------------------------------------- */

/* Peak resident memory (KB) of a child process `self --memory-child NAME ...`
 * that compiles one path, loads the checkpoint and runs training and
 * inference at batch 128. -1 if it failed. */
long memory_of_child(const char *self, const char *name, const char *spec, const char *checkpoint,
                     const char *data_dir);
/* The child's side. */
int memory_child(const char *name, const char *spec, const char *checkpoint, const char *data_dir);

#endif
