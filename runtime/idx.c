/* idx.c: IDX files (the MNIST format), gzip'd or raw.
 *
 * Layout, all big-endian: two zero bytes, a type code, the number of
 * dimensions, one u32 per dimension, then the elements. Only unsigned bytes
 * (type 0x08) are supported: that is what image and label files use.
 *
 * zlib's gz* functions read raw files transparently, so one code path
 * serves both. Everything in the file is untrusted: each check below turns
 * a malformed file into a message naming the file and the problem. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sparsert.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_DIMS 4
/* Counts and dimensions are stored in ints downstream. */
#define IDX_MAX_ELEMENTS ((uint64_t)INT_MAX)

/* gzread takes an unsigned count; stay far below its limit. */
#define GZ_CHUNK (1u << 30)

/* gzerror prefixes its message with the path, which ours already has. */
static const char *without_path(const char *msg, const char *path) {
  size_t len = strlen(path);
  if (strncmp(msg, path, len) == 0 && strncmp(msg + len, ": ", 2) == 0)
    return msg + len + 2;
  return msg;
}

/* Reads up to `want` bytes, stopping early only at end of file. A stream
 * error (corrupt or cut-off gzip data) is reported rather than mistaken
 * for a short file. */
static int read_bytes(gzFile gz, const char *path, uint8_t *buf, size_t want, size_t *got,
                      SrError *err) {
  *got = 0;
  while (*got < want) {
    size_t left = want - *got;
    unsigned chunk = left < GZ_CHUNK ? (unsigned)left : GZ_CHUNK;
    int n = gzread(gz, buf + *got, chunk);
    if (n <= 0)
      break;
    *got += (size_t)n;
  }
  int errnum = Z_OK;
  const char *why = gzerror(gz, &errnum);
  if (errnum == Z_ERRNO)
    return sr_fail(err, "%s: read error: %s", path, strerror(errno));
  if (errnum != Z_OK)
    return sr_fail(err, "%s: corrupt gzip stream: %s", path, without_path(why, path));
  return 0;
}

static uint32_t big_endian_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Parses the magic number and the dimensions into `out`. */
static int read_header(gzFile gz, const char *path, SrIdx *out, SrError *err) {
  uint8_t magic[4];
  size_t got;
  if (read_bytes(gz, path, magic, sizeof magic, &got, err) < 0)
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
  if (read_bytes(gz, path, dims, want, &got, err) < 0)
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

/* Reads exactly out->count bytes, then insists the file ends there. */
static int read_data(gzFile gz, const char *path, SrIdx *out, SrError *err) {
  out->data = malloc(out->count);
  if (!out->data)
    return sr_fail(err, "%s: out of memory for %zu bytes of data", path, out->count);
  size_t got;
  if (read_bytes(gz, path, out->data, out->count, &got, err) < 0)
    return -1;
  if (got < out->count)
    return sr_fail(err, "%s: truncated: header announces %zu bytes of data, file has %zu", path,
                   out->count, got);

  /* Count what follows, so the message says how much is wrong. Reading to
   * the end also makes zlib verify the gzip checksum. */
  uint8_t rest[4096];
  size_t extra = 0;
  do {
    if (read_bytes(gz, path, rest, sizeof rest, &got, err) < 0)
      return -1;
    extra += got;
  } while (got == sizeof rest);
  if (extra > 0)
    return sr_fail(err, "%s: trailing garbage: %zu bytes after the %zu bytes of data the header announces",
                   path, extra, out->count);
  return 0;
}

int sr_idx_load(const char *path, SrIdx *out, SrError *err) {
  memset(out, 0, sizeof *out);
  errno = 0;
  gzFile gz = gzopen(path, "rb");
  if (!gz)
    /* gzopen leaves errno at 0 when only its own allocation failed. */
    return sr_fail(err, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");

  int rc = read_header(gz, path, out, err);
  if (rc == 0)
    rc = read_data(gz, path, out, err);
  gzclose(gz);
  if (rc < 0)
    sr_idx_free(out);
  return rc;
}

void sr_idx_free(SrIdx *idx) {
  free(idx->data);
  memset(idx, 0, sizeof *idx);
}
