/* Inference speed of a bundle (sparsec build --bundle), for
 * bench/bundle_blas.sh: the BLAS-free bundle against the OpenBLAS one.
 * Compiled once per bundle with its header and names:
 *
 *   cc -O2 -DBUNDLE=NAME -DINPUTS=NAME_INPUTS -DCLASSES=NAME_CLASSES \
 *      -DSCALE=NAME_SCALE -include DIR/NAME.h bundle_bench.c DIR/NAME.o ...
 *
 *   bundle_bench BATCH [BYTES]
 *
 * BYTES: a file of examples, INPUTS bytes each (an IDX file's data without
 * its header), scaled by SCALE as the spec's data; without it, uniform
 * random inputs in [0, 1). Runs the embedded weights over the examples in
 * batches of BATCH rows, for at least 0.3 s a burst, 7 bursts; prints the
 * median, min and max microseconds per example. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PASTE(a, b) a##b
#define NAMED(a, b) PASTE(a, b)
#define FN(suffix) NAMED(BUNDLE, suffix)

enum { BURSTS = 7, RANDOM_ROWS = 4096 };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The examples as floats: from the file, or random. */
static float *examples(const char *path, long *rows) {
  unsigned char *raw = NULL;
  long n = RANDOM_ROWS;
  if (path) {
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
      perror(path);
      exit(1);
    }
    n = ftell(f) / INPUTS;
    rewind(f);
    raw = malloc((size_t)n * INPUTS);
    if (!raw || fread(raw, INPUTS, (size_t)n, f) != (size_t)n) {
      fprintf(stderr, "%s: cannot read %ld examples\n", path, n);
      exit(1);
    }
    fclose(f);
  }
  float *x = malloc(sizeof *x * (size_t)n * INPUTS);
  for (long i = 0; x && i < n * INPUTS; i++)
    x[i] = raw ? raw[i] * (float)SCALE : (float)rand() / ((float)RAND_MAX + 1.0f);
  free(raw);
  *rows = n;
  return x;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BATCH [BYTES]\n", argv[0]);
    return 2;
  }
  int batch = atoi(argv[1]);
  long rows;
  float *x = examples(argc > 2 ? argv[2] : NULL, &rows);
  float *probs = malloc(sizeof *probs * (size_t)batch * CLASSES);
  char err[512];
  FN(_ctx) *m = FN(_create)(NULL, err, sizeof err);
  if (!m || !x || !probs || batch < 1 || batch > rows) {
    fprintf(stderr, "%s\n", m ? "bad batch or out of memory" : err);
    return 1;
  }
  double us[BURSTS];
  long at = 0;
  for (int b = 0; b < BURSTS; b++) {
    long done = 0;
    double t0 = now_s(), t;
    do {
      if (at + batch > rows)
        at = 0;
      if (FN(_infer)(m, x + at * INPUTS, batch, probs) != 0) {
        fprintf(stderr, "%s\n", FN(_error)(m));
        return 1;
      }
      at += batch;
      done += batch;
    } while ((t = now_s() - t0) < 0.3);
    us[b] = t * 1e6 / (double)done;
  }
  qsort(us, BURSTS, sizeof *us, by_value);
  printf("batch %d: %.2f us/example (min %.2f, max %.2f, %d bursts)\n", batch, us[BURSTS / 2],
         us[0], us[BURSTS - 1], BURSTS);
  FN(_free)(m);
  free(x);
  free(probs);
  return 0;
}
