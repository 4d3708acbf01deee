/* What the end-to-end suites share: a scratch folder per test, and the
 * files they write into it (IDX data, specs). Header-only: each suite is
 * its own executable. */
#ifndef SPARSEC_TEST_WORKDIR_H
#define SPARSEC_TEST_WORKDIR_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sparsert.h"

static char dir[64]; /* the test's scratch folder */

/* /tmp/sparsec-SUITE-XXXXXX, made for the test and removed after it (made
 * writable first: some tests take the write permission away). */
static inline void workdir_make(const char *suite) {
  snprintf(dir, sizeof dir, "/tmp/sparsec-%s-XXXXXX", suite);
  cr_assert_not_null(mkdtemp(dir));
}

static inline void workdir_remove(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", dir, dir);
  cr_expect_eq(system(cmd), 0);
}

/* `cd DIR && CMD > DIR/out.txt 2>&1`: the exit status (-1: killed by a
 * signal), the output (its first 64 KB) in *out, which the caller frees. */
static inline int workdir_run(const char *cmd, char **out) {
  char log[128];
  snprintf(log, sizeof log, "%s/out.txt", dir);
  size_t size = strlen(cmd) + 2 * sizeof log;
  char *line = malloc(size);
  cr_assert_not_null(line);
  snprintf(line, size, "cd %s && %s > %s 2>&1", dir, cmd, log);
  int status = system(line);
  free(line);
  FILE *f = fopen(log, "r");
  cr_assert_not_null(f);
  *out = calloc(1, 1 << 16);
  size_t n = fread(*out, 1, (1 << 16) - 1, f);
  (*out)[n] = 0;
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#ifdef SPARSEC_BINARY
/* `sparsec ARGS` in the test's folder, as workdir_run. */
static inline int workdir_sparsec(const char *args, char **out) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s %s", SPARSEC_BINARY, args);
  return workdir_run(cmd, out);
}
#endif

/* workdir_run, expecting no sanitizer report in what the command printed. */
static inline int workdir_run_clean(const char *cmd, char **out) {
  int status = workdir_run(cmd, out);
  cr_expect(strstr(*out, "Sanitizer") == NULL && strstr(*out, "runtime error:") == NULL,
            "sanitizer report from '%s':\n%s", cmd, *out);
  return status;
}

static inline void put_be32(FILE *f, uint32_t v) {
  uint8_t b[4] = {v >> 24, v >> 16, v >> 8, v};
  fwrite(b, 1, 4, f);
}

static inline void write_idx(const char *name, const uint8_t *data, int ndim, const int *dims) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  uint8_t magic[4] = {0, 0, 8, (uint8_t)ndim};
  fwrite(magic, 1, 4, f);
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    put_be32(f, (uint32_t)dims[i]);
    count *= (size_t)dims[i];
  }
  fwrite(data, 1, count, f);
  fclose(f);
}

/* PREFIX-x.idx, PREFIX-y.idx: n examples of three classes whose centres lie
 * far apart in the first two of 16 features (learnable to near 0% error in
 * a few epochs); the labels are also copied to `labels` unless NULL. */
static inline void write_blobs(const char *prefix, int n, uint64_t seed, uint8_t *labels) {
  enum { D = 16 };
  uint8_t *x = calloc((size_t)n * D, 1), *y = malloc(n);
  SrRng rng;
  sr_rng_seed(&rng, seed);
  const int centre[3][2] = {{50, 50}, {200, 60}, {120, 200}};
  for (int i = 0; i < n; i++) {
    int c = (int)sr_rng_below(&rng, 3);
    y[i] = (uint8_t)c;
    for (int k = 0; k < 2; k++)
      x[i * D + k] = (uint8_t)(centre[c][k] + (int)sr_rng_below(&rng, 41) - 20);
  }
  char name[64];
  int xdims[2] = {n, D}, ydims[1] = {n};
  snprintf(name, sizeof name, "%s-x.idx", prefix);
  write_idx(name, x, 2, xdims);
  snprintf(name, sizeof name, "%s-y.idx", prefix);
  write_idx(name, y, 1, ydims);
  if (labels)
    memcpy(labels, y, (size_t)n);
  free(x);
  free(y);
}

/* The suites' data set: train-{x,y}.idx, 600 examples, and test-{x,y}.idx,
 * 200, whose labels also go to `test_labels` unless NULL. */
static inline void write_blob_data(uint8_t *test_labels) {
  write_blobs("train", 600, 1, NULL);
  write_blobs("test", 200, 2, test_labels);
}

/* Lines "class p_0 .. p_(classes-1)" of PROG predict in a and b: `lines`
 * of each, every probability within 1e-5 (a BLAS-free bundle's loops sum
 * in another order than OpenBLAS's sgemm). */
static inline void expect_close_predictions(const char *a, const char *b, int classes, int lines) {
  int n = 0;
  while (*a && *b) {
    char *end_a, *end_b;
    strtol(a, &end_a, 10), strtol(b, &end_b, 10);
    for (int k = 0; k < classes; k++) {
      double p = strtod(end_a, &end_a), q = strtod(end_b, &end_b);
      cr_expect(p - q <= 1e-5 && q - p <= 1e-5, "line %d, class %d: %.9g vs %.9g", n + 1, k, p, q);
    }
    a = end_a + strspn(end_a, "\n"), b = end_b + strspn(end_b, "\n");
    n++;
  }
  cr_expect(!*a && !*b && n == lines, "%d lines of %d; left: [%.40s] [%.40s]", n, lines, a, b);
}

static inline void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

#endif
