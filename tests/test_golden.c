/* Golden IR: `sparsec ir` of the examples, unoptimised and after each pass,
 * must match tests/golden/ byte for byte. A deliberate change regenerates
 * them with tests/update-golden.sh; the diff shows what the change did. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(FILE *f) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (size_t n; (n = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
    len += n;
    if (len + 1 == cap)
      buf = realloc(buf, cap *= 2);
  }
  buf[len] = 0;
  return buf;
}

static void expect_golden(const char *example, const char *pass) {
  char cmd[1024], path[512];
  const char *args = strcmp(pass, "none") == 0 ? "--passes none" : "--after";
  snprintf(cmd, sizeof cmd, "%s ir %s %s %s/%s.spn", SPARSEC_BINARY, args,
           strcmp(pass, "none") == 0 ? "" : pass, SPARSEC_EXAMPLES, example);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  char *got = slurp(p);
  cr_assert_eq(pclose(p), 0, "%s failed", cmd);
  snprintf(path, sizeof path, "%s/../golden/%s.%s.ir", SPARSEC_TEST_DATA, example, pass);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "missing %s: run tests/update-golden.sh", path);
  char *want = slurp(f);
  fclose(f);
  cr_expect_str_eq(got, want, "%s differs from %s (tests/update-golden.sh regenerates it)", cmd, path);
  free(got);
  free(want);
}

static const char *const passes[] = {"none", "prune-zero", "fuse-relu", "fuse-sgd",
                                     "schedule-updates", "sparse-products", "dce"};

Test(golden, paper_relu_net_after_each_pass) {
  for (int i = 0; i < 7; i++)
    expect_golden("fashion_mnist_relu", passes[i]);
}

Test(golden, pretraining_programs_after_each_pass) {
  for (int i = 0; i < 7; i++)
    expect_golden("fashion_mnist_relu_pretrain", passes[i]);
}
