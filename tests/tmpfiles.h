/* What the data-reader suites (csv, idx, libsvm) share: a scratch folder
 * per test and the files written into it, removed after the test.
 * Header-only: each suite is its own executable. */
#ifndef SPARSEC_TEST_TMPFILES_H
#define SPARSEC_TEST_TMPFILES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];
static char made[32][128]; /* files to remove afterwards */
static int nmade;

/* /tmp/sparsec-SUITE-XXXXXX */
static inline void tmpfiles_make(const char *suite) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/sparsec-%s-XXXXXX", suite);
  cr_assert_not_null(mkdtemp(tmpdir));
  nmade = 0;
}

static inline void tmpfiles_remove(void) {
  for (int i = 0; i < nmade; i++)
    unlink(made[i]);
  rmdir(tmpdir);
}

static inline const char *tmp_path(const char *name) {
  cr_assert_lt(nmade, 32);
  snprintf(made[nmade], sizeof made[nmade], "%s/%s", tmpdir, name);
  return made[nmade++];
}

/* Writes `len` bytes (text with embedded NULs needs the length). */
static inline const char *write_bytes(const char *name, const void *bytes, size_t len) {
  const char *path = tmp_path(name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(bytes, 1, len, f), len);
  fclose(f);
  return path;
}

#endif
