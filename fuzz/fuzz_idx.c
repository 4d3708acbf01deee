/* fuzz_idx.c: a libFuzzer target for runtime/idx.c's sr_idx_load.
 *
 * Each input is loaded three ways, so that every path of the reader sees
 * it: as a regular file (raw, or gzip when it starts with the gzip magic
 * number: framing, members, trailing garbage), through a pipe (a file
 * whose size is unknown: the streamed reader) and gzip'd here first (the
 * IDX layout through the inflating reader). Whatever a load accepts must
 * be exactly what the bytes say: dimensions 1 to 4 that multiply to the
 * count, and data equal to the bytes after the header. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sparsert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* `raw` is the content the load saw once inflated (NULL: not known here). */
static void check(const SrIdx *idx, const uint8_t *raw, size_t size, const char *how) {
  if (idx->ndim < 1 || idx->ndim > 4 || !idx->data)
    fuzz_fail("%s: accepted with %d dimensions, data %p", how, idx->ndim, (void *)idx->data);
  size_t count = 1;
  for (int i = 0; i < idx->ndim; i++) {
    if (idx->dims[i] < 1)
      fuzz_fail("%s: accepted dimension %d of %d", how, i + 1, idx->dims[i]);
    count *= (size_t)idx->dims[i];
  }
  if (count != idx->count)
    fuzz_fail("%s: dimensions multiply to %zu, count says %zu", how, count, idx->count);
  if (!raw)
    return;
  size_t header = 4 + 4 * (size_t)idx->ndim;
  if (size != header + idx->count)
    fuzz_fail("%s: accepted %zu bytes of data from a file of %zu (header %zu)", how, idx->count,
              size, header);
  if (memcmp(idx->data, raw + header, idx->count) != 0)
    fuzz_fail("%s: the data differ from the file's", how);
}

static void load(const char *path, const uint8_t *raw, size_t size, const char *how) {
  SrIdx idx;
  SrError err;
  err.msg[0] = 0;
  if (sr_idx_load(path, &idx, &err) == 0) {
    check(&idx, raw, size, how);
    sr_idx_free(&idx);
  } else if (!err.msg[0]) {
    fuzz_fail("%s: refused without a message", how);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  load(fuzz_file(data, size), gzip ? NULL : data, size, "file");
  const char *pipe = fuzz_pipe(data, size);
  if (pipe)
    load(pipe, gzip ? NULL : data, size, "pipe");
  fuzz_pipe_close();
  size_t zsize;
  uint8_t *z = fuzz_gzip(data, size, &zsize);
  if (z)
    load(fuzz_file(z, zsize), data, size, "gzip'd");
  free(z);
  return 0;
}
