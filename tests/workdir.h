/* What the end-to-end suites share: a scratch folder per test, and the
 * files they write into it (IDX data, specs). Header-only: each suite is
 * its own executable. */
#ifndef SPARSEC_TEST_WORKDIR_H
#define SPARSEC_TEST_WORKDIR_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>

static char dir[64]; /* the test's scratch folder */

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

static inline void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

#endif
