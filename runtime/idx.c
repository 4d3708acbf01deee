/* idx.c: IDX files (the MNIST format), gzip'd or raw.
 *
 * Layout, all big-endian: two zero bytes, a type code, the number of
 * dimensions, one u32 per dimension, then the elements. Only unsigned bytes
 * (type 0x08) are supported: that is what image and label files use.
 *
 * Everything in the file is untrusted: each check below turns a malformed
 * file into a message naming the file and the problem. In particular the
 * sizes the header announces are never believed before the data are there:
 *
 *   - a raw file's announced size is compared with the file's size (fstat)
 *     before anything is allocated;
 *   - a gzip'd file cannot say how much it holds, so its data are inflated
 *     into a buffer that grows as they arrive (doubling), and reading stops
 *     at the announced size or at the end of the stream. Memory stays
 *     within a small multiple of what the file really holds, however large
 *     the header's claim (a 40-byte file claiming 2 GB costs kilobytes).
 *
 * The content comes through gzfile.c, which inflates gzip (members read
 * on, trailing garbage refused) and reads raw files as they are. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sparsert_internal.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_DIMS 4
/* Counts and dimensions are stored in ints downstream. */
#define IDX_MAX_ELEMENTS ((uint64_t)INT_MAX)

/* Where a growing data buffer starts (then it doubles). */
#define FIRST_CAP ((size_t)1 << 20)
/* Trailing bytes inside the stream are counted up to this many, no more:
 * the count is for the message, and inflating a bomb to the end would
 * take time for nothing. */
#define TRAILING_COUNT_MAX ((uint64_t)1 << 20)

/* ---- the IDX layout ------------------------------------------------------ */

static uint32_t big_endian_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Parses the magic number and the dimensions into `out`. */
static int read_header(SrGzFile *r, SrIdx *out) {
  const char *path = r->path;
  SrError *err = r->err;
  uint8_t magic[4];
  size_t got;
  if (sr_gzfile_read(r, magic, sizeof magic, &got) < 0)
    return -1;
  if (got < sizeof magic)
    return sr_fail(err, "%s: truncated: file ends inside the header (%zu of 4 bytes)", path, got);
  if (magic[0] != 0 || magic[1] != 0)
    return sr_fail(err,
                   "%s: not an IDX file: bad magic number (first bytes 0x%02x 0x%02x, "
                   "expected 0x00 0x00)",
                   path, magic[0], magic[1]);
  if (magic[2] != IDX_TYPE_UBYTE)
    return sr_fail(err, "%s: unsupported IDX type code 0x%02x (only 0x08, unsigned byte, is supported)",
                   path, magic[2]);
  out->ndim = magic[3];
  if (out->ndim < 1 || out->ndim > IDX_MAX_DIMS)
    return sr_fail(err, "%s: unsupported number of dimensions %d (expected 1 to 4)", path,
                   out->ndim);

  uint8_t dims[4 * IDX_MAX_DIMS];
  size_t want = 4 * (size_t)out->ndim;
  if (sr_gzfile_read(r, dims, want, &got) < 0)
    return -1;
  if (got < want)
    return sr_fail(err, "%s: truncated: file ends inside the header (%zu of %zu bytes)", path,
                   4 + got, 4 + want);

  /* Multiply step by step so that the check happens before any overflow. */
  uint64_t count = 1;
  for (int i = 0; i < out->ndim; i++) {
    uint32_t d = big_endian_u32(dims + 4 * i);
    if (d == 0)
      return sr_fail(err, "%s: dimension %d of %d is zero", path, i + 1, out->ndim);
    count *= d;
    if (count > IDX_MAX_ELEMENTS)
      return sr_fail(err, "%s: too large: the dimensions announce more than 2^31 - 1 elements",
                     path);
    out->dims[i] = (int)d;
  }
  out->count = (size_t)count;
  return 0;
}

static int truncated(const SrGzFile *r, const SrIdx *out, uint64_t have) {
  return sr_fail(r->err, "%s: truncated: header announces %zu bytes of data, file has %llu",
                 r->path, out->count, (unsigned long long)have);
}

static int trailing(const SrGzFile *r, const SrIdx *out, uint64_t extra, int more) {
  return sr_fail(r->err,
                 "%s: trailing garbage: %s%llu bytes after the %zu bytes of data the header "
                 "announces",
                 r->path, more ? "more than " : "", (unsigned long long)extra, out->count);
}

/* A raw regular file: its size says whether the data are all there, before
 * anything is allocated. */
static int read_data_sized(SrGzFile *r, SrIdx *out) {
  uint64_t have = r->size > r->consumed ? r->size - r->consumed : 0;
  if (have < out->count)
    return truncated(r, out, have);
  if (have > out->count)
    return trailing(r, out, have - out->count, 0);
  if (!(out->data = malloc(out->count)))
    return sr_fail(r->err, "%s: out of memory for %zu bytes of data", r->path, out->count);
  size_t got;
  if (sr_gzfile_read(r, out->data, out->count, &got) < 0)
    return -1;
  if (got < out->count) /* it shrank meanwhile */
    return truncated(r, out, got);
  uint8_t one;
  if (sr_gzfile_read(r, &one, 1, &got) < 0)
    return -1;
  if (got > 0) /* it grew meanwhile */
    return trailing(r, out, got, 1);
  return 0;
}

/* A stream (gzip, or a file of unknown size): the buffer grows with the
 * data that arrive, up to the announced size. */
static int read_data_streamed(SrGzFile *r, SrIdx *out) {
  size_t cap = out->count < FIRST_CAP ? out->count : FIRST_CAP, have = 0;
  if (!(out->data = malloc(cap)))
    return sr_fail(r->err, "%s: out of memory for %zu bytes of data", r->path, cap);
  while (have < out->count && !r->ended) {
    if (have == cap) {
      size_t grown = cap <= out->count / 2 ? 2 * cap : out->count;
      uint8_t *data = realloc(out->data, grown);
      if (!data)
        return sr_fail(r->err, "%s: out of memory for %zu bytes of data", r->path, grown);
      out->data = data, cap = grown;
    }
    size_t got;
    if (sr_gzfile_read(r, out->data + have, cap - have, &got) < 0)
      return -1;
    have += got;
  }
  if (have < out->count)
    return truncated(r, out, have);

  /* Count what follows, so the message says how much is wrong. Reading to
   * the end also makes zlib verify each member's checksum. */
  uint8_t rest[4096];
  uint64_t extra = 0;
  while (!r->ended && extra <= TRAILING_COUNT_MAX) {
    size_t got;
    if (sr_gzfile_read(r, rest, sizeof rest, &got) < 0)
      return -1;
    extra += got;
  }
  if (extra > 0)
    return trailing(r, out, extra, !r->ended);
  return 0;
}

int sr_idx_load(const char *path, SrIdx *out, SrError *err) {
  memset(out, 0, sizeof *out);
  SrGzFile r;
  int rc = sr_gzfile_open(&r, path, err);
  if (rc == 0)
    rc = read_header(&r, out);
  if (rc == 0)
    rc = !r.gzip && r.size_known ? read_data_sized(&r, out) : read_data_streamed(&r, out);
  sr_gzfile_close(&r);
  if (rc < 0)
    sr_idx_free(out);
  return rc;
}

void sr_idx_free(SrIdx *idx) {
  free(idx->data);
  memset(idx, 0, sizeof *idx);
}
