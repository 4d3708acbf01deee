/* Tests for scripts/mnist_json.c, the reader and IDX writer behind
 * scripts/get-data.sh's MNIST-10k. The converter is an executable of its
 * own, not a project library, so its source is compiled into this suite
 * (tests/CMakeLists.txt links only the project libraries). The written IDX
 * files are read back with the runtime's own loader. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../scripts/mnist_json.c"
#include "sparsert.h"

/* {"data":[...]} with `samples` samples; sample s has pixel p = ((s + p) % 5) / 4. */
static char *doc(int samples) {
  size_t cap = 64 + (size_t)samples * MJ_PIXELS * 8;
  char *s = malloc(cap);
  size_t len = (size_t)sprintf(s, "{ \"data\" : [");
  for (int i = 0; i < samples * MJ_PIXELS; i++) {
    int q = (i / MJ_PIXELS + i % MJ_PIXELS) % 5;
    len += (size_t)sprintf(s + len, "%s%g", i ? "," : "", q / 4.0);
  }
  sprintf(s + len, "]}\n");
  return s;
}

static uint8_t expected_byte(int sample, int pixel) {
  static const uint8_t b[5] = {0, 64, 128, 191, 255}; /* round(q / 4 * 255) */
  return b[(sample + pixel) % 5];
}

static int parse(const char *text, MjDigits *d, char *err) {
  return mj_parse(text, strlen(text), "t.json", 7, d, err, 256);
}

Test(mnist_json, reads_samples_and_rounds_to_bytes) {
  char *text = doc(3), err[256];
  MjDigits d = {0};
  cr_assert_eq(parse(text, &d, err), 0, "%s", err);
  cr_assert_eq(d.n, 3);
  for (int s = 0; s < 3; s++) {
    cr_assert_eq(d.labels[s], 7);
    for (int p = 0; p < MJ_PIXELS; p++)
      cr_assert_eq(d.pixels[s * MJ_PIXELS + p], expected_byte(s, p));
  }
  cr_assert_eq(parse(text, &d, err), 0, "%s", err); /* appends */
  cr_assert_eq(d.n, 6);
  cr_assert_eq(d.pixels[5 * MJ_PIXELS + 1], expected_byte(2, 1));
  mj_free(&d);
  free(text);
}

/* Each damage gives an error naming the file and the offset of the fault. */
static void assert_fails(const char *text, const char *message) {
  MjDigits d = {0};
  char err[256] = "";
  cr_assert_eq(parse(text, &d, err), -1, "accepted: %s", text);
  cr_assert_str_eq(err, message);
  cr_assert_eq(d.n, 0);
  mj_free(&d);
}

Test(mnist_json, rejects_bad_structure) {
  assert_fails("", "t.json: offset 0: expected '{', found the end of the file");
  assert_fails("{\"pixels\":[0]}", "t.json: offset 1: expected '\"data\"', found '\"'");
  assert_fails("{\"data\":[0,]}", "t.json: offset 11: expected a number, found ']'");
  assert_fails("{\"data\":[0 0]}", "t.json: offset 11: expected ']', found '0'");
  assert_fails("{\"data\":[0]} x", "t.json: offset 13: expected the end of the file, found 'x'");
  assert_fails("{\"data\":[0", "t.json: offset 10: expected ']', found the end of the file");
  assert_fails("{\"data\":[\x01]}", "t.json: offset 9: expected a number, found byte 1");
}

Test(mnist_json, rejects_bad_numbers) {
  assert_fails("{\"data\":[1.5]}", "t.json: offset 9: pixel value 1.5 is outside [0, 1]");
  assert_fails("{\"data\":[-0.1]}", "t.json: offset 9: pixel value -0.1 is outside [0, 1]");
  assert_fails("{\"data\":[1e400]}", "t.json: offset 9: pixel value 1e400 is outside [0, 1]");
  assert_fails("{\"data\":[.5]}", "t.json: offset 9: expected a number, found '.'");
  assert_fails("{\"data\":[1.]}", "t.json: offset 11: expected a digit after '.'");
  assert_fails("{\"data\":[1e]}", "t.json: offset 11: expected a digit in the exponent");
  assert_fails("{\"data\":[NaN]}", "t.json: offset 9: expected a number, found 'N'");
  assert_fails("{\"data\":[01]}", "t.json: offset 10: expected ']', found '1'");
}

Test(mnist_json, rejects_counts_that_are_not_whole_images) {
  assert_fails("{\"data\":[]}", "t.json: offset 8: the array holds 0 numbers, not a positive "
                                "multiple of 784");
  assert_fails("{\"data\":[0,1]}", "t.json: offset 8: the array holds 2 numbers, not a positive "
                                   "multiple of 784");
}

Test(mnist_json, accepts_json_number_forms) {
  char *text = doc(1);
  /* replace the first three numbers ("0,0.25,0.5") by other spellings of the same values */
  const char *head = "{\"data\":[0e5,2.5E-1,5e-1";
  char *rest = strchr(strchr(strchr(text + 10, ',') + 1, ',') + 1, ',');
  char *mixed = malloc(strlen(head) + strlen(rest) + 1);
  strcat(strcpy(mixed, head), rest);
  MjDigits d = {0};
  char err[256];
  cr_assert_eq(parse(mixed, &d, err), 0, "%s", err);
  cr_assert_eq(d.pixels[0], 0);
  cr_assert_eq(d.pixels[1], 64);
  cr_assert_eq(d.pixels[2], 128);
  mj_free(&d);
  free(mixed);
  free(text);
}

/* 50 samples labelled by index: a shuffle is a permutation that carries each
 * sample's pixels with its label, the same for the same seed. */
static void numbered(MjDigits *d) {
  d->n = 50;
  d->pixels = malloc(50 * MJ_PIXELS);
  d->labels = malloc(50);
  for (int s = 0; s < 50; s++) {
    d->labels[s] = (uint8_t)s;
    memset(d->pixels + s * MJ_PIXELS, s, MJ_PIXELS);
  }
}

Test(mnist_json, shuffle_is_a_deterministic_permutation) {
  MjDigits a = {0}, b = {0};
  numbered(&a);
  numbered(&b);
  mj_shuffle(&a, 42);
  mj_shuffle(&b, 42);
  int seen[50] = {0}, moved = 0;
  for (int s = 0; s < 50; s++) {
    cr_assert_eq(a.labels[s], b.labels[s]);
    cr_assert_eq(a.pixels[s * MJ_PIXELS + 100], a.labels[s]);
    seen[a.labels[s]]++;
    moved += a.labels[s] != s;
  }
  for (int s = 0; s < 50; s++)
    cr_assert_eq(seen[s], 1);
  cr_assert_gt(moved, 40);
  mj_free(&a);
  mj_free(&b);
}

Test(mnist_json, written_idx_reads_back_with_the_runtime_loader) {
  char dir[] = "/tmp/sparsec-mnist-XXXXXX", images[64], labels[64], err[256];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(images, sizeof images, "%s/img", dir);
  snprintf(labels, sizeof labels, "%s/lab", dir);
  MjDigits d = {0};
  numbered(&d);
  cr_assert_eq(mj_write_idx(&d, 10, 30, images, labels, err, sizeof err), 0, "%s", err);
  SrDataset ds = {0};
  SrError e = {{0}};
  cr_assert_eq(sr_dataset_load_idx(images, labels, 1.0f, &ds, &e), 0, "%s", e.msg);
  cr_assert_eq(ds.n, 30);
  cr_assert_eq(ds.dim, MJ_PIXELS);
  cr_assert_eq(ds.y[0], 10);
  cr_assert_float_eq(ds.x[29 * MJ_PIXELS + 5], 39.0f, 0);
  cr_assert_eq(mj_write_idx(&d, 40, 11, images, labels, err, sizeof err), -1);
  sr_dataset_free(&ds);
  mj_free(&d);
  unlink(images);
  unlink(labels);
  rmdir(dir);
}
