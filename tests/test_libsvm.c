/* Tests for libsvm.c: each test writes its libsvm text (raw or gzip'd) to
 * a fresh temporary directory; good files must load into exactly the CSR
 * arrays they describe, and every broken one must fail with exactly the
 * message naming the file, the line and the problem. Also the CSR form
 * through dataset.c (hold-out split, width and label checks). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sparsert.h"
#include "tmpfiles.h"
#include "time_limit.h"

static void make_tmpdir(void) {
  tmpfiles_make("libsvm");
}

static void remove_tmpdir(void) {
  tmpfiles_remove();
}

TestSuite(libsvm, .init = make_tmpdir, .fini = remove_tmpdir);


static const char *write_svm(const char *text) {
  return write_bytes("train.svm", text, strlen(text));
}

/* One gzip member per text (several: a concatenated file). */
static const char *write_gz(const char *name, const char *const *members, int n) {
  const char *path = tmp_path(name);
  for (int i = 0; i < n; i++) {
    gzFile gz = gzopen(path, i == 0 ? "wb" : "ab");
    cr_assert_not_null(gz);
    unsigned len = (unsigned)strlen(members[i]);
    cr_assert_eq(gzwrite(gz, members[i], len), (int)len);
    cr_assert_eq(gzclose(gz), Z_OK);
  }
  return path;
}

static SrDataset load_ok(const char *path, int dim, int classes, float scale) {
  SrDataset ds;
  SrError err = {{0}};
  cr_assert_eq(sr_dataset_load_libsvm(path, dim, classes, scale, &ds, &err), 0, "%s", err.msg);
  cr_assert_eq(ds.owns, 1);
  cr_assert_null(ds.x);
  cr_assert(sr_dataset_is_sparse(&ds));
  cr_assert_eq(ds.dim, dim);
  return ds;
}

/* The load of `path` must fail with exactly "<path><rest>" and leave out empty. */
static void assert_path_fails(const char *path, int dim, int classes, const char *rest) {
  SrDataset ds;
  SrError err = {{0}};
  cr_assert_eq(sr_dataset_load_libsvm(path, dim, classes, 1.0f, &ds, &err), -1, "%s loaded",
               path);
  char want[1024];
  snprintf(want, sizeof want, "%s%s", path, rest);
  cr_assert_str_eq(err.msg, want);
  cr_assert_null(ds.y);
  cr_assert_null(ds.row_start);
  cr_assert_null(ds.col);
  cr_assert_null(ds.val);
  cr_assert_eq(ds.n, 0);
}

static void assert_fails(const char *text, int dim, int classes, const char *rest) {
  assert_path_fails(write_svm(text), dim, classes, rest);
}

/* Row i holds exactly cols[i][..] / vals[i][..] (-1 ends a row's columns). */
static void assert_csr(const SrDataset *ds, int n, const int32_t *labels, const int64_t *starts,
                       const int32_t *cols, const float *vals) {
  cr_assert_eq(ds->n, n);
  for (int i = 0; i < n; i++)
    cr_assert_eq(ds->y[i], labels[i], "label of row %d", i);
  for (int i = 0; i <= n; i++)
    cr_assert_eq(ds->row_start[i], starts[i], "row_start[%d] %lld", i, (long long)ds->row_start[i]);
  for (int64_t k = 0; k < starts[n]; k++) {
    cr_assert_eq(ds->col[k], cols[k], "col[%lld]", (long long)k);
    cr_assert_float_eq(ds->val[k], vals[k], 1e-6, "val[%lld] %g", (long long)k, ds->val[k]);
  }
}

/* ---- good files ---------------------------------------------------------- */

static const char *const small =
    "2 1:0.5 3:1 10:-2\n"
    "0 4:1e-1\n"
    "1\n"
    "3 2:+.25 10:3.5e+2\n";

static void check_small(const SrDataset *ds, float scale) {
  assert_csr(ds, 4, (int32_t[]){2, 0, 1, 3}, (int64_t[]){0, 3, 4, 4, 6},
             (int32_t[]){0, 2, 9, 3, 1, 9},
             (float[]){0.5f * scale, 1 * scale, -2 * scale, 0.1f * scale, 0.25f * scale,
                       350 * scale});
}

Test(libsvm, loads_raw_file) {
  SrDataset ds = load_ok(write_svm(small), 10, 4, 1);
  check_small(&ds, 1);
  sr_dataset_free(&ds);
  cr_assert_null(ds.row_start);
}

Test(libsvm, loads_gzip_file) {
  SrDataset ds = load_ok(write_gz("train.svm.gz", &small, 1), 10, 4, 1);
  check_small(&ds, 1);
  sr_dataset_free(&ds);
}

Test(libsvm, loads_concatenated_gzip_members) {
  /* the cut falls inside a line: members are one stream of content */
  const char *members[] = {"2 1:0.5 3:1 10", ":-2\n0 4:1e-1\n1\n", "3 2:+.25 10:3.5e+2\n"};
  SrDataset ds = load_ok(write_gz("train.svm.gz", members, 3), 10, 4, 1);
  check_small(&ds, 1);
  sr_dataset_free(&ds);
}

Test(libsvm, values_are_scaled) {
  SrDataset ds = load_ok(write_svm(small), 10, 4, 1.0f / 255);
  check_small(&ds, 1.0f / 255);
  sr_dataset_free(&ds);
}

Test(libsvm, crlf_tabs_comments_blank_lines_no_final_newline) {
  SrDataset ds = load_ok(write_svm("# a header comment\r\n"
                                   "\r\n"
                                   "2\t1:0.5  3:1\t \t10:-2   # after the features\r\n"
                                   "   \t\r\n"
                                   "0 4:1e-1#no space before it\r\n"
                                   "# comment between examples\n"
                                   "1 \r\n"
                                   "\n"
                                   "3 2:+.25 10:3.5e+2"),
                         10, 4, 1);
  check_small(&ds, 1);
  sr_dataset_free(&ds);
}

Test(libsvm, examples_without_features) {
  SrDataset ds = load_ok(write_svm("1\n0\n1 # just a label\n"), 5, 2, 1);
  assert_csr(&ds, 3, (int32_t[]){1, 0, 1}, (int64_t[]){0, 0, 0, 0}, NULL, NULL);
  cr_assert_not_null(ds.col); /* never NULL in a loaded set, even with no nonzeros */
  cr_assert_not_null(ds.val);
  sr_dataset_free(&ds);
}

Test(libsvm, zeros_are_not_stored) {
  /* their index still counts for the order */
  SrDataset ds = load_ok(write_svm("0 1:0 2:0.0 3:-0 4:1 5:0e5\n1 2:0\n"), 5, 2, 1);
  assert_csr(&ds, 2, (int32_t[]){0, 1}, (int64_t[]){0, 1, 1}, (int32_t[]){3}, (float[]){1});
  sr_dataset_free(&ds);
  assert_fails("0 3:0 2:1\n", 5, 2, ":1: indices must be strictly ascending: 2 after 3");
  assert_fails("0 3:0 3:1\n", 5, 2, ":1: index 3 appears twice");
}

Test(libsvm, labels_and_indices_at_their_bounds) {
  SrDataset ds = load_ok(write_svm("4 5000:1\n0 1:1\n003 0002:1\n"), 5000, 5, 1);
  assert_csr(&ds, 3, (int32_t[]){4, 0, 3}, (int64_t[]){0, 1, 2, 3},
             (int32_t[]){4999, 0, 1}, (float[]){1, 1, 1});
  sr_dataset_free(&ds);
}

Test(libsvm, any_label_when_classes_is_zero) {
  SrDataset ds = load_ok(write_svm("2147483647 1:1\n0\n99\n"), 3, 0, 1);
  assert_csr(&ds, 3, (int32_t[]){2147483647, 0, 99}, (int64_t[]){0, 1, 1, 1}, (int32_t[]){0},
             (float[]){1});
  sr_dataset_free(&ds);
  assert_fails("2147483648\n", 3, 0,
               ":1: label 2147483648 is too large (labels must be below 2^31)");
}

/* More than the line buffer's first size and the arrays' first capacity:
 * every growth path. */
Test(libsvm, many_rows_and_long_lines) {
  enum { rows = 3000, per_row = 50, dim = 100000 };
  char *text = malloc((size_t)rows * per_row * 16 + 1), *p = text;
  for (int r = 0; r < rows; r++) {
    p += sprintf(p, "%d", r % 7);
    for (int k = 0; k < per_row; k++)
      p += sprintf(p, " %d:%d", k * 1999 + r % 1999 + 1, k + 1);
    *p++ = '\n';
  }
  *p = '\0';
  SrDataset ds = load_ok(write_svm(text), dim, 7, 1);
  free(text);
  cr_assert_eq(ds.n, rows);
  cr_assert_eq(ds.row_start[rows], (int64_t)rows * per_row);
  for (int r = 0; r < rows; r += 997) {
    cr_assert_eq(ds.y[r], r % 7);
    for (int k = 0; k < per_row; k++) {
      int64_t at = (int64_t)r * per_row + k;
      cr_assert_eq(ds.col[at], k * 1999 + r % 1999);
      cr_assert_eq(ds.val[at], (float)(k + 1));
    }
  }
  sr_dataset_free(&ds);
}

/* ---- malformed files: the exact message ---------------------------------- */

Test(libsvm, index_out_of_range) {
  assert_fails("0 1:1\n1 5001:2\n", 5000, 2,
               ":2: index 5001 is out of range 1..5000 (the model's input width)");
  assert_fails("0 0:1\n", 5000, 2, ":1: index 0 is out of range 1..5000 (the model's input width)");
  assert_fails("0 99999999999999999999999999:1\n", 5000, 2,
               ":1: index 99999999999999999999999999 is out of range 1..5000 (the model's input "
               "width)");
}

Test(libsvm, indices_not_ascending) {
  assert_fails("0 1:1\n1 2:1\n0 40:1 12:2\n", 50, 2,
               ":3: indices must be strictly ascending: 12 after 40");
  assert_fails("0 1:1\n1 2:1\n0 12:1 12:2\n", 50, 2, ":3: index 12 appears twice");
}

Test(libsvm, labels_outside_the_classes) {
  const char *text = "0\n1\n2\n3\n4\n0\n1\n2\n7 1:1\n";
  assert_fails(text, 5, 5, ":9: label 7 is outside 0..4");
  SrDataset ds = load_ok(write_svm(text), 5, 8, 1); /* with 8 classes, 7 is fine */
  cr_assert_eq(ds.y[8], 7);
  sr_dataset_free(&ds);
}

Test(libsvm, signed_labels_need_mapping) {
  const char *hint = "is not a class number: labels must be 0..1 (K-1 for K classes); map "
                     "svmlight's binary labels -1/+1 to 0/1";
  char want[512];
  snprintf(want, sizeof want, ":1: label -1 %s", hint);
  assert_fails("-1 1:1\n+1 2:1\n", 5, 2, want);
  snprintf(want, sizeof want, ":2: label +1 %s", hint);
  assert_fails("0 1:1\n+1 2:1\n", 5, 2, want);
}

Test(libsvm, labels_not_integers) {
  assert_fails("1.0 1:1\n", 5, 3,
               ":1: label \"1.0\" is not an integer (labels are class numbers 0..2)");
  assert_fails("cat 1:1\n", 5, 3,
               ":1: label \"cat\" is not an integer (labels are class numbers 0..2)");
  assert_fails("0\n1:0.5 2:1\n", 5, 3, ":2: expected a label before the features, found \"1:0.5\"");
}

Test(libsvm, features_not_index_value) {
  assert_fails("0 1:1\n1 12-3\n", 50, 2, ":2: expected INDEX:VALUE, found \"12-3\"");
  assert_fails("0 :1\n", 50, 2, ":1: expected INDEX:VALUE, found \":1\"");
  assert_fails("0 3:\n", 50, 2, ":1: expected INDEX:VALUE, found \"3:\"");
  assert_fails("0 3 : 1\n", 50, 2, ":1: expected INDEX:VALUE, found \"3\"");
  assert_fails("0 a:1\n", 50, 2, ":1: index \"a\" is not a whole number 1..50");
  assert_fails("0 -3:1\n", 50, 2, ":1: index \"-3\" is not a whole number 1..50");
}

Test(libsvm, qid_is_refused) {
  assert_fails("0 qid:3 1:1\n", 50, 2,
               ":1: \"qid:3\": svmlight's query ids (qid:) are not supported (they are for "
               "ranking); remove them");
}

Test(libsvm, values_not_finite_decimals) {
  assert_fails("0 1:1\n0\n1\n0\n1 3:nan\n", 5, 2,
               ":5: value \"nan\" is not a finite decimal number");
  const char *bad[] = {"inf", "-Infinity", "0x10", "1e39", "1.5.2", "1e", ".", "", "1,5", "3:4"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[64], want[128];
    snprintf(text, sizeof text, "0 2:%s\n", bad[i]);
    snprintf(want, sizeof want, ":1: value \"%s\" is not a finite decimal number", bad[i]);
    if (!bad[i][0])
      snprintf(want, sizeof want, ":1: expected INDEX:VALUE, found \"2:\"");
    assert_fails(text, 5, 2, want);
  }
}

Test(libsvm, value_overflows_the_scale) {
  const char *path = write_svm("0 1:1e38\n");
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_libsvm(path, 5, 2, 1000, &ds, &err), -1);
  char want[256];
  snprintf(want, sizeof want, "%s:1: value 1e38 times the scale 1000 is not a finite float", path);
  cr_assert_str_eq(err.msg, want);
}

Test(libsvm, quoted_text_is_cut_and_escaped) {
  assert_fails("0 1:1\x1b[2J\n", 5, 2,
               ":1: value \"1\\x1b[2J\" is not a finite decimal number");
  char text[256] = "0 ";
  memset(text + 2, 'x', 100);
  strcpy(text + 102, "\n");
  assert_fails(text, 5, 2,
               ":1: expected INDEX:VALUE, found \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"");
}

Test(libsvm, nul_byte) {
  assert_path_fails(write_bytes("train.svm", "0 1:1\n1 2\0:1\n", 13), 5, 2,
                    ":2: contains a NUL byte: not a text file");
}

Test(libsvm, no_examples) {
  assert_fails("", 5, 2, ": no examples");
  assert_fails("\n# only comments\r\n  \t\n", 5, 2, ": no examples");
  assert_path_fails(write_gz("empty.svm.gz", (const char *const[]){""}, 1), 5, 2, ": no examples");
}

Test(libsvm, missing_file_and_folder) {
  assert_path_fails(tmp_path("absent.svm"), 5, 2, ": cannot open: No such file or directory");
  assert_path_fails(tmpdir, 5, 2, ": read error: Is a directory");
}

Test(libsvm, gzip_damage) {
  const char *path = write_gz("train.svm.gz", &small, 1);
  FILE *f = fopen(path, "ab"); /* trailing garbage after the stream */
  fputs("junk", f);
  fclose(f);
  assert_path_fails(path, 10, 4,
                    ": trailing garbage: 4 bytes after the end of the gzip stream (not another "
                    "gzip member)");

  uint8_t buf[256];
  f = fopen(write_gz("cut.svm.gz", &small, 1), "rb");
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  assert_path_fails(write_bytes("cut2.svm.gz", buf, len - 10), 10, 4,
                    ": corrupt gzip stream: unexpected end of file");
  buf[len - 6] ^= 0xff; /* the CRC */
  assert_path_fails(write_bytes("crc.svm.gz", buf, len), 10, 4,
                    ": corrupt gzip stream: incorrect data check");
}

Test(libsvm, errors_in_gzip_files_are_located) {
  assert_path_fails(write_gz("train.svm.gz", (const char *const[]){"0 1:1\n1 7:1\n"}, 1), 5, 2,
                    ":2: index 7 is out of range 1..5 (the model's input width)");
}

Test(libsvm, bad_width_or_classes) {
  const char *path = write_svm(small);
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_libsvm(path, 0, 2, 1, &ds, &err), -1);
  cr_assert_not_null(strstr(err.msg, "input width of 0"), "%s", err.msg);
  cr_assert_eq(sr_dataset_load_libsvm(path, 5, -1, 1, &ds, &err), -1);
}

/* ---- hostile input: time and memory linear in the file ------------------- */

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* Loading `path` fails with "<path><rest>" in well under the time limit. */
static void assert_fails_quickly(const char *path, int dim, const char *rest) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_path_fails(path, dim, 2, rest);
  double took = seconds_since(&t0);
  cr_assert_lt(took, TIME_LIMIT, "took %.2f s", took);
}

/* `head`, then `fill` repeated to `size` bytes, then `tail`: it fails
 * quickly (above). */
static void assert_quick_failure(const char *head, char fill, size_t size, const char *tail,
                                 int dim, const char *rest) {
  size_t hlen = strlen(head), tlen = strlen(tail);
  char *text = malloc(hlen + size + tlen + 1);
  cr_assert_not_null(text);
  memcpy(text, head, hlen);
  memset(text + hlen, fill, size);
  memcpy(text + hlen + size, tail, tlen + 1);
  const char *path = write_bytes("hostile.svm", text, hlen + size + tlen);
  free(text);
  assert_fails_quickly(path, dim, rest);
}

Test(libsvm, huge_index_fails_quickly) {
  /* 20 MB of digits: the index is out of range, nothing is sized by it
   * (quadratic work would take hours at this size, so 20 MB show it) */
  assert_quick_failure("0 1:1\n1 9", '9', 20u << 20, ":1\n", 5000,
                       ":2: index 9999999999999999999999999999999999999999... is out of range "
                       "1..5000 (the model's input width)");
}

Test(libsvm, long_line_of_blanks_fails_quickly) {
  /* 40 MB of spaces in one line, then a bad feature */
  assert_quick_failure("0 1:1\n1 2:1", ' ', 40u << 20, "3:1 2:1\n", 5000,
                       ":2: indices must be strictly ascending: 2 after 3");
}

Test(libsvm, gzip_bomb_of_blanks_fails_quickly) {
  /* 40 MB of spaces from a file of about 40 KB: memory follows the
   * inflated line, and the error is located all the same */
  size_t size = 40u << 20;
  char *text = malloc(size + 32);
  cr_assert_not_null(text);
  strcpy(text, "0 1:1\n1");
  memset(text + 7, ' ', size);
  strcpy(text + 7 + size, "x\n");
  const char *path = write_gz("bomb.svm.gz", (const char *const[]){text}, 1);
  free(text);
  assert_fails_quickly(path, 5, ":2: expected INDEX:VALUE, found \"x\"");
}

Test(libsvm, long_value_fails_quickly) {
  /* 20 MB of digits after a decimal point, then a letter */
  assert_quick_failure("0 1:0.", '1', 20u << 20, "x\n", 5000,
                       ":1: value \"0.11111111111111111111111111111111111111...\" is not a "
                       "finite decimal number");
}

Test(libsvm, long_valid_line_loads) {
  /* 2 MB of digits in one value: still a number, and linear */
  size_t size = 2u << 20;
  char *text = malloc(size + 32);
  strcpy(text, "1 3:0.");
  memset(text + 6, '5', size);
  strcpy(text + 6 + size, "\n0\n");
  const char *path = write_svm(text);
  free(text);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  SrDataset ds = load_ok(path, 5, 2, 1);
  cr_assert_lt(seconds_since(&t0), TIME_LIMIT);
  assert_csr(&ds, 2, (int32_t[]){1, 0}, (int64_t[]){0, 1, 1}, (int32_t[]){2},
             (float[]){0.5555556f});
  sr_dataset_free(&ds);
}

/* ---- the CSR form in dataset.c ------------------------------------------- */

Test(libsvm, split_tail_of_a_csr_set) {
  SrDataset all = load_ok(write_svm(small), 10, 4, 1), head, tail;
  SrError err;
  cr_assert_eq(sr_dataset_split_tail(&all, 2, &head, &tail, &err), 0, "%s", err.msg);
  cr_assert_eq(head.n, 2);
  cr_assert_eq(tail.n, 2);
  cr_assert_eq(head.owns, 0);
  cr_assert_eq(tail.owns, 0);
  cr_assert_null(head.x);
  cr_assert_null(tail.x);
  /* views into the same arrays: offsets stay absolute */
  cr_assert_eq(head.row_start, all.row_start);
  cr_assert_eq(tail.row_start, all.row_start + 2);
  cr_assert_eq(head.col, all.col);
  cr_assert_eq(tail.col, all.col);
  cr_assert_eq(tail.val, all.val);
  cr_assert_eq(tail.y, all.y + 2);
  cr_assert_eq(tail.y[0], 1);
  cr_assert_eq(tail.y[1], 3);
  cr_assert_eq(tail.row_start[0], 4); /* row 2 (no features) starts at nonzero 4 */
  cr_assert_eq(tail.row_start[1], 4);
  cr_assert_eq(tail.row_start[2], 6);
  cr_assert_eq(tail.col[tail.row_start[1]], 1);
  cr_assert_eq(head.row_start[head.n], 4);
  sr_dataset_free(&tail); /* views: nothing freed */
  sr_dataset_free(&head);
  cr_assert_eq(all.row_start[4], 6);
  cr_assert_eq(sr_dataset_split_tail(&all, 4, &head, &tail, &err), -1); /* keeps at least one */
  cr_assert_eq(sr_dataset_split_tail(&all, 0, &head, &tail, &err), 0);
  cr_assert_eq(tail.n, 0);
  cr_assert_eq(tail.row_start, all.row_start + 4);
  sr_dataset_free(&all);
}

Test(libsvm, check_of_a_csr_set) {
  SrDataset ds = load_ok(write_svm(small), 10, 4, 1);
  SrError err;
  cr_assert_null(ds.x); /* check reads only dim and y */
  cr_assert_eq(sr_dataset_check(&ds, 10, 4, "train data", &err), 0, "%s", err.msg);
  cr_assert_eq(sr_dataset_check(&ds, 11, 4, "train data", &err), -1);
  cr_assert_str_eq(err.msg, "train data: examples have 10 features, the model's input is 11");
  cr_assert_eq(sr_dataset_check(&ds, 10, 3, "train data", &err), -1);
  cr_assert_str_eq(err.msg, "train data: label 3 at example 3 is outside 0..2");
  sr_dataset_free(&ds);
}
