/* Tests for csv.c: each test writes its CSV text to a fresh temporary
 * directory; good files must load exactly, and every broken one must fail
 * with a message naming the file, the line and the problem. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sparsert.h"
#include "tmpfiles.h"

static void make_tmpdir(void) {
  tmpfiles_make("csv");
}

static void remove_tmpdir(void) {
  tmpfiles_remove();
}

TestSuite(csv, .init = make_tmpdir, .fini = remove_tmpdir);


static const char *write_csv(const char *text) {
  return write_bytes("data.csv", text, strlen(text));
}

static SrDataset load_ok(const char *path, const char *label, float scale) {
  SrDataset ds;
  SrError err = {{0}};
  cr_assert_eq(sr_dataset_load_csv(path, label, scale, &ds, &err), 0, "%s", err.msg);
  cr_assert_eq(ds.owns, 1);
  return ds;
}

/* The load must fail with exactly "<path><rest>" and leave out empty. */
static void assert_fails(const char *text, const char *label, const char *rest) {
  const char *path = write_csv(text);
  SrDataset ds;
  SrError err = {{0}};
  cr_assert_eq(sr_dataset_load_csv(path, label, 1.0f, &ds, &err), -1, "loaded:\n%s", text);
  char want[1024];
  snprintf(want, sizeof want, "%s%s", path, rest);
  cr_assert_str_eq(err.msg, want);
  cr_assert_null(ds.x);
  cr_assert_null(ds.y);
  cr_assert_eq(ds.n, 0);
}

/* ---- good files ---------------------------------------------------------- */

Test(csv, loads_label_last_with_scale) {
  SrDataset ds = load_ok(write_csv("x1,x2,label\n1,2,0\n-3.5,4e2,2\n0.25,0,1\n"), "label", 0.5f);
  cr_assert_eq(ds.n, 3);
  cr_assert_eq(ds.dim, 2);
  float x[] = {0.5f, 1, -1.75f, 200, 0.125f, 0};
  int32_t y[] = {0, 2, 1};
  cr_assert_arr_eq(ds.x, x, sizeof x);
  cr_assert_arr_eq(ds.y, y, sizeof y);
  sr_dataset_free(&ds);
}

/* CRLF endings, a byte order mark, spaces around fields, the label in the
 * middle, no newline after the last row, then trailing blank lines. */
Test(csv, tolerates_crlf_bom_spaces_and_trailing_blank_lines) {
  const char *text = "\xef\xbb\xbf a , class ,b\r\n 1 , 7 ,2\r\n3,0,4\r\n\r\n  \r\n\n";
  SrDataset ds = load_ok(write_csv(text), "class", 1);
  cr_assert_eq(ds.n, 2);
  cr_assert_eq(ds.dim, 2);
  float x[] = {1, 2, 3, 4};
  int32_t y[] = {7, 0};
  cr_assert_arr_eq(ds.x, x, sizeof x);
  cr_assert_arr_eq(ds.y, y, sizeof y);
  sr_dataset_free(&ds);
  ds = load_ok(write_csv("f,y\n1.5,3"), "y", 1); /* no final newline */
  cr_assert_eq(ds.n, 1);
  cr_assert_eq(ds.x[0], 1.5f);
  cr_assert_eq(ds.y[0], 3);
  sr_dataset_free(&ds);
}

/* Inputs to predict: the label column may be missing (every column is then
 * a feature, every label 0); when there, it is still not a feature. */
/* Columns matched to the model's features by name: any order, the label
 * column ignored; a missing or extra column named. */
Test(csv, inputs_matched_by_name) {
  SrDataset ds;
  SrError err = {{0}};
  const char *path = write_csv("x3,label,x1,x2\n3,9,1,2\n6,9,4,5\n");
  cr_assert_eq(sr_dataset_load_csv_inputs(path, "label", "x1,x2,x3", 1, &ds, &err), 0, "%s",
               err.msg);
  float x[] = {1, 2, 3, 4, 5, 6};
  cr_assert_eq(ds.dim, 3);
  cr_assert_arr_eq(ds.x, x, sizeof x);
  sr_dataset_free(&ds);
  path = write_csv("x2,x1\n1,2\n");
  cr_assert_eq(sr_dataset_load_csv_inputs(path, "label", "x1,x2,x3", 1, &ds, &err), -1);
  cr_expect(strstr(err.msg, ":1: no column for the feature 'x3' (the model's features: x1,x2,x3)"),
            "%s", err.msg);
  path = write_csv("x2,x1,x3,x4,x5\n1,2,3,4,5\n");
  cr_assert_eq(sr_dataset_load_csv_inputs(path, "label", "x1,x2,x3", 1, &ds, &err), -1);
  cr_expect(strstr(err.msg, ":1: the columns 'x4', 'x5' are not features of the model"), "%s",
            err.msg);
  char *names = sr_csv_features(path, "x3", &err);
  cr_expect_str_eq(names, "x2,x1,x4,x5");
  free(names);
  cr_expect_null(sr_csv_features(path, "label", &err));
  cr_expect(strstr(err.msg, "no column named 'label'"), "%s", err.msg);
}

Test(csv, inputs_without_the_label_column) {
  SrDataset ds;
  SrError err = {{0}};
  const char *path = write_csv("x1,x2\n1,2\n3,4\n");
  cr_assert_eq(sr_dataset_load_csv_inputs(path, "label", NULL, 2, &ds, &err), 0, "%s", err.msg);
  cr_assert_eq(ds.n, 2);
  cr_assert_eq(ds.dim, 2);
  float x[] = {2, 4, 6, 8};
  int32_t y[] = {0, 0};
  cr_assert_arr_eq(ds.x, x, sizeof x);
  cr_assert_arr_eq(ds.y, y, sizeof y);
  sr_dataset_free(&ds);
  path = write_csv("x1,label,x2\n1,5,2\n");
  cr_assert_eq(sr_dataset_load_csv_inputs(path, "label", NULL, 1, &ds, &err), 0, "%s", err.msg);
  cr_assert_eq(ds.dim, 2);
  cr_assert_eq(ds.x[1], 2.0f);
  cr_assert_eq(ds.y[0], 5);
  sr_dataset_free(&ds);
  path = write_csv("label\n1\n");
  cr_assert_eq(sr_dataset_load_csv_inputs(path, "label", NULL, 1, &ds, &err), -1);
  cr_assert_not_null(strstr(err.msg, "no feature columns"), "%s", err.msg);
}

Test(csv, largest_label) {
  SrDataset ds = load_ok(write_csv("x,y\n0,2147483647\n"), "y", 1);
  cr_assert_eq(ds.y[0], 2147483647);
  sr_dataset_free(&ds);
}

/* Enough rows to make the arrays grow several times; long lines too. */
Test(csv, streams_many_rows) {
  enum { rows = 5000, cols = 40 };
  char *text = malloc(rows * cols * 8 + 1024), *p = text;
  for (int c = 0; c < cols; c++)
    p += sprintf(p, "f%d,", c);
  p += sprintf(p, "label\n");
  for (int r = 0; r < rows; r++) {
    for (int c = 0; c < cols; c++)
      p += sprintf(p, "%d,", (r + c) % 1000);
    p += sprintf(p, "%d\n", r % 10);
  }
  SrDataset ds = load_ok(write_csv(text), "label", 1);
  free(text);
  cr_assert_eq(ds.n, rows);
  cr_assert_eq(ds.dim, cols);
  cr_assert_eq(ds.x[(size_t)4999 * cols + 39], (float)((4999 + 39) % 1000));
  cr_assert_eq(ds.y[4999], 9);
  sr_dataset_free(&ds);
}

/* Loads `path` in a child process that may map only `mb` megabytes more
 * than it already has; returns the message ("" on success). */
static void load_with_little_memory(const char *path, const char *label, int mb, char *msg,
                                    size_t size, int *n, int *dim) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    close(fds[0]);
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld", &pages) != 1)
      _exit(3);
    fclose(f);
    rlim_t now = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
    struct rlimit limit = {now + ((rlim_t)mb << 20), now + ((rlim_t)mb << 20)};
    if (setrlimit(RLIMIT_AS, &limit) != 0)
      _exit(4);
    SrDataset ds;
    SrError err = {{0}};
    int shape[2] = {0, 0};
    if (sr_dataset_load_csv(path, label, 1, &ds, &err) == 0) {
      err.msg[0] = '\0';
      shape[0] = ds.n, shape[1] = ds.dim;
    }
    if (write(fds[1], shape, sizeof shape) < 0 ||
        write(fds[1], err.msg, strlen(err.msg) + 1) < 0)
      _exit(2);
    _exit(0);
  }
  close(fds[1]);
  int shape[2] = {-1, -1};
  cr_assert_eq(read(fds[0], shape, sizeof shape), (ssize_t)sizeof shape);
  size_t got = 0;
  ssize_t r;
  while (got + 1 < size && (r = read(fds[0], msg + got, size - 1 - got)) > 0)
    got += (size_t)r;
  msg[got] = '\0';
  close(fds[0]);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  *n = shape[0], *dim = shape[1];
}

#include "time_limit.h"

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* 300,000 columns and two rows: linear in the columns, and memory for
 * the rows there are, not for a thousand rows of 300,000 floats (1.2 GB). */
Test(csv, three_hundred_thousand_columns) {
  enum { cols = 300000 };
  char *text = malloc((size_t)cols * 12 + 64), *p = text;
  for (int c = 0; c < cols; c++)
    p += sprintf(p, "c%d,", c);
  p += sprintf(p, "label\n");
  for (int r = 0; r < 2; r++) {
    for (int c = 0; c < cols; c++)
      *p++ = (char)('0' + (c + r) % 10), *p++ = ',';
    p += sprintf(p, "%d\n", r);
  }
  *p = '\0';
  const char *path = write_csv(text);
  free(text);
  char msg[512];
  int n, dim;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  load_with_little_memory(path, "label", 128, msg, sizeof msg, &n, &dim);
  double took = seconds_since(&t0);
  cr_assert_str_eq(msg, "");
  cr_assert_eq(n, 2);
  cr_assert_eq(dim, cols);
  cr_assert_lt(took, TIME_LIMIT, "took %.2f s", took);
  /* the label column twice, far apart */
  text = malloc((size_t)cols * 12 + 64), p = text;
  p += sprintf(p, "label");
  for (int c = 1; c < cols; c++)
    p += sprintf(p, ",c%d", c);
  p += sprintf(p, ",label\n1,2\n");
  char want[128];
  snprintf(want, sizeof want, ":1: the label column 'label' appears twice (columns 1 and %d)",
           cols + 1);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_fails(text, "label", want);
  took = seconds_since(&t0);
  cr_assert_lt(took, TIME_LIMIT, "took %.2f s", took);
  free(text);
}

/* ---- the header ---------------------------------------------------------- */

Test(csv, missing_file) {
  const char *path = tmp_path("absent.csv");
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_csv(path, "y", 1, &ds, &err), -1);
  char want[256];
  snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
  cr_assert_str_eq(err.msg, want);
}

Test(csv, folder_instead_of_file) {
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_csv(tmpdir, "y", 1, &ds, &err), -1);
  char want[256];
  snprintf(want, sizeof want, "%s: read error: Is a directory", tmpdir);
  cr_assert_str_eq(err.msg, want);
}

Test(csv, empty_file) {
  assert_fails("", "y", ": empty file: expected a header row naming the columns");
  assert_fails("\n\r\n  \n", "y", ": empty file: expected a header row naming the columns");
}

Test(csv, header_only) {
  assert_fails("x,y\n", "y", ": no data rows after the header");
  assert_fails("x,y\r\n\r\n\n", "y", ": no data rows after the header");
}

Test(csv, missing_label_column_lists_the_columns) {
  assert_fails("x1,x2,y\n1,2,3\n", "label",
               ":1: no column named 'label' for the labels (columns: x1, x2, y)");
}

Test(csv, long_column_list_is_cut_short) {
  char text[4096], *p = text;
  for (int c = 0; c < 300; c++)
    p += sprintf(p, "%scolumn%d", c ? "," : "", c);
  strcpy(p, "\n");
  const char *path = write_csv(text);
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_csv(path, "label", 1, &ds, &err), -1);
  cr_assert_not_null(strstr(err.msg, "(columns: column0, column1, "), "%s", err.msg);
  cr_assert_not_null(strstr(err.msg, "... (300 columns))"), "%s", err.msg);
  cr_assert_lt(strlen(err.msg), 900);
}

Test(csv, label_column_twice) {
  assert_fails("y,x,y\n1,2,3\n", "y", ":1: the label column 'y' appears twice (columns 1 and 3)");
}

Test(csv, unnamed_column) {
  assert_fails("x, ,y\n1,2,3\n", "y", ":1: column 2 of the header has no name");
  assert_fails("x,y,\n1,2,\n", "y", ":1: column 3 of the header has no name");
}

Test(csv, only_the_label_column) {
  assert_fails("y\n1\n", "y", ":1: no feature columns: the header has only the label column 'y'");
}

/* ---- rows ---------------------------------------------------------------- */

Test(csv, wrong_field_count) {
  assert_fails("a,b,y\n1,2,0\n1,2\n", "y", ":3: expected 3 fields, found 2");
  assert_fails("a,b,y\n1,2,0,4\n", "y", ":2: expected 3 fields, found 4");
}

Test(csv, feature_not_a_number) {
  assert_fails("x1,x2,y\n1,2,0\n1,abc,0\n", "y", ":3: column 'x2': 'abc' is not a number");
  assert_fails("x1,x2,y\n1.5x,2,0\n", "y", ":2: column 'x1': '1.5x' is not a number");
  assert_fails("x1,x2,y\n1 2,2,0\n", "y", ":2: column 'x1': '1 2' is not a number");
}

Test(csv, empty_feature) {
  assert_fails("x1,x2,y\n,2,0\n", "y", ":2: column 'x1' is empty");
}

Test(csv, feature_not_finite) {
  assert_fails("x1,y\nnan,0\n", "y", ":2: column 'x1': 'nan' is not a finite float");
  assert_fails("x1,y\n-inf,0\n", "y", ":2: column 'x1': '-inf' is not a finite float");
  assert_fails("x1,y\n1e39,0\n", "y", ":2: column 'x1': '1e39' is not a finite float");
}

/* strtof reads hexadecimal; a data file holding it is not what it seems. */
Test(csv, hexadecimal_is_refused) {
  assert_fails("x1,x2,y\n1,2,0\n1,0x10,0\n", "y",
               ":3: column 'x2': '0x10' is hexadecimal (only decimal numbers are accepted)");
  assert_fails("x1,y\n0x1p3,0\n", "y",
               ":2: column 'x1': '0x1p3' is hexadecimal (only decimal numbers are accepted)");
  assert_fails("x1,y\n-0X1.8P-2,0\n", "y",
               ":2: column 'x1': '-0X1.8P-2' is hexadecimal (only decimal numbers are accepted)");
  assert_fails("x1,y\n0x1p200,0\n", "y",
               ":2: column 'x1': '0x1p200' is hexadecimal (only decimal numbers are accepted)");
  assert_fails("x1,y\n0x,0\n", "y", ":2: column 'x1': '0x' is not a number");
}

/* The other spellings strtof takes, and decimal forms at the edges. */
Test(csv, decimal_syntax) {
  assert_fails("x1,y\nInfinity,0\n", "y", ":2: column 'x1': 'Infinity' is not a finite float");
  assert_fails("x1,y\nNAN(123),0\n", "y", ":2: column 'x1': 'NAN(123)' is not a finite float");
  const char *bad[] = {".", "1e", "e1", ".e1", "1e+", "--1", "+-1", "1..2", "1e2.5", "\v1", "1f"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[64], rest[128];
    snprintf(text, sizeof text, "x,y\n%s,0\n", bad[i]);
    snprintf(rest, sizeof rest, ":2: column 'x': '%s' is not a number", bad[i]);
    assert_fails(text, "y", rest);
  }
  SrDataset ds = load_ok(write_csv("a,b,c,d,e,f,y\n1.,.5,+2E1,-3e-2,007,1e-50,0\n"), "y", 1);
  float x[] = {1, 0.5f, 20, -0.03f, 7, 0};
  cr_assert_arr_eq(ds.x, x, sizeof x);
  sr_dataset_free(&ds);
}

Test(csv, feature_not_finite_after_scaling) {
  const char *path = write_csv("x1,y\n1e30,0\n");
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_csv(path, "y", 1e10f, &ds, &err), -1);
  char want[256];
  snprintf(want, sizeof want, "%s:2: column 'x1': 1e30 times the scale 1e+10 is not a finite float",
           path);
  cr_assert_str_eq(err.msg, want);
}

Test(csv, bad_labels) {
  const char *not_int = ":2: label column 'y': '%s' is not a non-negative integer";
  const char *bad[] = {"-1", "2.0", "abc", "+3", "1e2"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[64], rest[128];
    snprintf(text, sizeof text, "x,y\n1,%s\n", bad[i]);
    snprintf(rest, sizeof rest, not_int, bad[i]);
    assert_fails(text, "y", rest);
  }
  assert_fails("x,y\n1,\n", "y", ":2: label column 'y': '' is not a non-negative integer");
}

Test(csv, label_too_large) {
  assert_fails("x,y\n1,2147483648\n", "y",
               ":2: label column 'y': 2147483648 is too large (labels must be below 2^31)");
  assert_fails("x,y\n1,99999999999999999999999\n", "y",
               ":2: label column 'y': 99999999999999999999999 is too large (labels must be below "
               "2^31)");
}

Test(csv, quotes_are_refused) {
  assert_fails("x,y\n\"1\",0\n", "y", ":2: quoted fields are not supported (found '\"')");
  assert_fails("\"x\",y\n1,0\n", "y", ":1: quoted fields are not supported (found '\"')");
}

Test(csv, blank_line_inside_the_data) {
  assert_fails("x,y\n1,0\n\n2,1\n", "y", ":3: blank line (blank lines are allowed only at the end)");
  assert_fails("\nx,y\n1,0\n", "y", ":1: blank line (blank lines are allowed only at the end)");
}

Test(csv, nul_byte) {
  const char *path = write_bytes("nul.csv", "x,y\n1\0,0\n", 9);
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_csv(path, "y", 1, &ds, &err), -1);
  char want[256];
  snprintf(want, sizeof want, "%s:2: contains a NUL byte: not a text file", path);
  cr_assert_str_eq(err.msg, want);
}
