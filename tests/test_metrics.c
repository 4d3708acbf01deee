/* Tests for metrics.c: the exact bytes of CSV and JSON-lines files for
 * records with and without validation and test sets, quoting, and write
 * errors (/dev/full). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sparsert.h"

static char path[64];

static void make_file(void) {
  strcpy(path, "/tmp/sparsec-metrics-XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
}

static void remove_file(void) {
  unlink(path);
}

TestSuite(metrics, .init = make_file, .fini = remove_file);

/* Two hidden layers, the second unnamed (called h2, as in the log). */
static const SrModel model = {.nhidden = 2, .hidden_names = {"h1", NULL}};

static char *slurp(void) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  static char text[4096];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* With validation data; with only test data (zeros come from it); with
 * neither, a label that needs quoting and a non-finite loss. */
static void write_three(SrMetricsWriter *w) {
  SrEpochRecord r1 = {.run = "lr=0.01", .epoch = 1, .train_loss = 0.5, .has_valid = 1,
                      .valid = {.loss = 0.25, .error = 0.125, .nhidden = 2,
                                .sparsity = {0.82, 0.9}, .mean_sparsity = 0.86},
                      .seconds = 1.5};
  SrEpochRecord r2 = {.epoch = 2, .seed = 9007199254740993ull, .train_loss = 0.123456789,
                      .has_test = 1,
                      .test = {.loss = 1.0 / 3, .error = 0.1, .nhidden = 2,
                               .sparsity = {0.5, 0.25}, .mean_sparsity = 0.375},
                      .seconds = 2};
  SrEpochRecord r3 = {.run = "a,b\"c", .epoch = 3, .train_loss = NAN, .seconds = 3};
  SrError err;
  cr_assert_eq(sr_metrics_write(w, &r1, &err), 0, "%s", err.msg);
  cr_assert_eq(sr_metrics_write(w, &r2, &err), 0, "%s", err.msg);
  cr_assert_eq(sr_metrics_write(w, &r3, &err), 0, "%s", err.msg);
}

Test(metrics, csv_exact_content) {
  SrError err;
  SrMetricsWriter *w = sr_metrics_open(path, SR_METRICS_CSV, &model, &err);
  cr_assert_not_null(w, "%s", err.msg);
  write_three(w);
  cr_assert_eq(sr_metrics_close(w, &err), 0, "%s", err.msg);
  cr_assert_str_eq(slurp(),
                   "run,epoch,train_loss,valid_data_loss,valid_error,test_data_loss,test_error,"
                   "zeros_h1,zeros_h2,mean_zeros,seed,seconds\n"
                   "lr=0.01,1,0.5,0.25,0.125,,,0.82,0.9,0.86,0,1.5\n"
                   ",2,0.123457,,,0.333333,0.1,0.5,0.25,0.375,9007199254740993,2\n"
                   "\"a,b\"\"c\",3,nan,,,,,,,,0,3\n");
}

Test(metrics, jsonl_exact_content) {
  SrError err;
  SrMetricsWriter *w = sr_metrics_open(path, SR_METRICS_JSONL, &model, &err);
  cr_assert_not_null(w, "%s", err.msg);
  write_three(w);
  cr_assert_eq(sr_metrics_close(w, &err), 0, "%s", err.msg);
  cr_assert_str_eq(
      slurp(),
      "{\"run\":\"lr=0.01\",\"epoch\":1,\"train_loss\":0.5,\"valid_data_loss\":0.25,"
      "\"valid_error\":0.125,\"test_data_loss\":null,\"test_error\":null,"
      "\"zeros\":{\"h1\":0.82,\"h2\":0.9},\"mean_zeros\":0.86,\"seed\":0,\"seconds\":1.5}\n"
      "{\"run\":null,\"epoch\":2,\"train_loss\":0.123457,\"valid_data_loss\":null,"
      "\"valid_error\":null,\"test_data_loss\":0.333333,\"test_error\":0.1,"
      "\"zeros\":{\"h1\":0.5,\"h2\":0.25},\"mean_zeros\":0.375,\"seed\":9007199254740993,"
      "\"seconds\":2}\n"
      "{\"run\":\"a,b\\\"c\",\"epoch\":3,\"train_loss\":null,\"valid_data_loss\":null,"
      "\"valid_error\":null,\"test_data_loss\":null,\"test_error\":null,\"zeros\":null,"
      "\"mean_zeros\":null,\"seed\":0,\"seconds\":3}\n");
}

/* Control characters and backslashes in labels and layer names. */
Test(metrics, jsonl_escapes_strings) {
  SrModel odd = {.nhidden = 1, .hidden_names = {"a\\b"}};
  SrError err;
  SrMetricsWriter *w = sr_metrics_open(path, SR_METRICS_JSONL, &odd, &err);
  cr_assert_not_null(w, "%s", err.msg);
  SrEpochRecord r = {.run = "tab\there", .epoch = 1, .has_valid = 1,
                     .valid = {.nhidden = 1, .sparsity = {1}, .mean_sparsity = 1}};
  cr_assert_eq(sr_metrics_write(w, &r, &err), 0, "%s", err.msg);
  cr_assert_eq(sr_metrics_close(w, &err), 0, "%s", err.msg);
  cr_assert_str_eq(slurp(), "{\"run\":\"tab\\u0009here\",\"epoch\":1,\"train_loss\":0,"
                            "\"valid_data_loss\":0,\"valid_error\":0,\"test_data_loss\":null,"
                            "\"test_error\":null,\"zeros\":{\"a\\\\b\":1},\"mean_zeros\":1,"
                            "\"seed\":0,\"seconds\":0}\n");
}

Test(metrics, no_hidden_layers) {
  SrModel none = {.nhidden = 0};
  SrError err;
  SrMetricsWriter *w = sr_metrics_open(path, SR_METRICS_CSV, &none, &err);
  cr_assert_not_null(w, "%s", err.msg);
  SrEpochRecord r = {.run = "r", .epoch = 7, .train_loss = 1e-7, .has_valid = 1,
                     .valid = {.loss = 1234567, .error = 0}, .seconds = 0.25};
  cr_assert_eq(sr_metrics_write(w, &r, &err), 0, "%s", err.msg);
  cr_assert_eq(sr_metrics_close(w, &err), 0, "%s", err.msg);
  cr_assert_str_eq(slurp(), "run,epoch,train_loss,valid_data_loss,valid_error,test_data_loss,test_error,"
                            "mean_zeros,seed,seconds\n"
                            "r,7,1e-07,1.23457e+06,0,,,0,0,0.25\n");
}

/* The header comes with the first record: no records, empty file. */
Test(metrics, nothing_written_without_records) {
  SrError err;
  SrMetricsWriter *w = sr_metrics_open(path, SR_METRICS_CSV, &model, &err);
  cr_assert_not_null(w, "%s", err.msg);
  cr_assert_eq(sr_metrics_close(w, &err), 0, "%s", err.msg);
  cr_assert_str_eq(slurp(), "");
  cr_assert_eq(sr_metrics_close(NULL, &err), 0);
}

/* Each record reaches the file when written, not at close. */
Test(metrics, records_are_flushed_as_written) {
  SrError err;
  SrMetricsWriter *w = sr_metrics_open(path, SR_METRICS_JSONL, &model, &err);
  cr_assert_not_null(w, "%s", err.msg);
  SrEpochRecord r = {.epoch = 1};
  cr_assert_eq(sr_metrics_write(w, &r, &err), 0, "%s", err.msg);
  cr_assert_not_null(strstr(slurp(), "\"epoch\":1"), "%s", slurp());
  cr_assert_eq(sr_metrics_close(w, &err), 0, "%s", err.msg);
}

Test(metrics, open_truncates) {
  FILE *f = fopen(path, "w");
  fputs("old contents\n", f);
  fclose(f);
  SrError err;
  SrMetricsWriter *w = sr_metrics_open(path, SR_METRICS_CSV, &model, &err);
  cr_assert_not_null(w, "%s", err.msg);
  cr_assert_eq(sr_metrics_close(w, &err), 0, "%s", err.msg);
  cr_assert_str_eq(slurp(), "");
}

Test(metrics, write_error_on_full_device) {
  SrError err;
  SrMetricsWriter *w = sr_metrics_open("/dev/full", SR_METRICS_CSV, &model, &err);
  cr_assert_not_null(w, "%s", err.msg);
  SrEpochRecord r = {.epoch = 1};
  cr_assert_eq(sr_metrics_write(w, &r, &err), -1);
  cr_assert_str_eq(err.msg, "/dev/full: write error: No space left on device");
  cr_assert_eq(sr_metrics_write(w, &r, &err), -1);
  cr_assert_str_eq(err.msg, "/dev/full: write error: No space left on device");
  memset(&err, 0, sizeof err);
  cr_assert_eq(sr_metrics_close(w, &err), -1);
  cr_assert_str_eq(err.msg, "/dev/full: write error: No space left on device");
}

Test(metrics, cannot_open) {
  SrError err;
  cr_assert_null(sr_metrics_open("/nonexistent-folder/m.csv", SR_METRICS_CSV, &model, &err));
  cr_assert_str_eq(err.msg,
                   "/nonexistent-folder/m.csv: cannot open for writing: No such file or directory");
}

Test(metrics, refuses_bad_arguments) {
  SrError err;
  cr_assert_null(sr_metrics_open(path, (SrMetricsFormat)7, &model, &err));
  cr_assert_not_null(strstr(err.msg, "unknown metrics format 7"), "%s", err.msg);
  SrModel many = {.nhidden = SR_MAX_HIDDEN + 1};
  cr_assert_null(sr_metrics_open(path, SR_METRICS_CSV, &many, &err));
  cr_assert_not_null(strstr(err.msg, "model has 65 hidden layers (at most 64)"), "%s", err.msg);
}
