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
 * The gzip stream is inflated here with zlib's inflate rather than gzread,
 * which silently drops whatever follows the last gzip member. Concatenated
 * members are valid gzip (what `cat a.gz b.gz` gives) and are read on;
 * anything else after the stream is refused as trailing garbage. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sparsert.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_DIMS 4
/* Counts and dimensions are stored in ints downstream. */
#define IDX_MAX_ELEMENTS ((uint64_t)INT_MAX)

/* Compressed bytes read from the file at a time. */
#define IN_CHUNK (64u << 10)
/* Where a growing data buffer starts (then it doubles). */
#define FIRST_CAP ((size_t)1 << 20)
/* Trailing bytes inside the stream are counted up to this many, no more:
 * the count is for the message, and inflating a bomb to the end would
 * take time for nothing. */
#define TRAILING_COUNT_MAX ((uint64_t)1 << 20)

typedef struct Reader {
  const char *path;
  SrError *err;
  int fd;
  int size_known;      /* a regular file: size is its length */
  uint64_t size;
  uint64_t consumed;   /* bytes read from the file so far */
  int gzip;            /* the file starts with the gzip magic number */
  int zlive;           /* inflateInit2 done: inflateEnd needed */
  int member_done;     /* inflate reported the end of a gzip member */
  int at_eof;          /* read() returned 0 */
  int ended;           /* no more data: end of file, or of the last member */
  z_stream z;
  uint8_t *in;         /* IN_CHUNK bytes of compressed input (gzip only) */
  uint8_t head[2];     /* the first bytes, read to look for the gzip magic */
  int nhead, headpos;  /* raw files: how many, how many handed out */
} Reader;

/* ---- the file, raw or inflated ------------------------------------------- */

/* read(2) until `want` bytes or end of file. */
static int read_raw(Reader *r, uint8_t *buf, size_t want, size_t *got) {
  *got = 0;
  while (*got < want && !r->at_eof) {
    ssize_t n = read(r->fd, buf + *got, want - *got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return sr_fail(r->err, "%s: read error: %s", r->path, strerror(errno));
    if (n == 0)
      r->at_eof = 1;
    *got += (size_t)n;
    r->consumed += (size_t)n;
  }
  return 0;
}

/* Refills the compressed input, keeping the `avail_in` bytes not yet used
 * (moved to the front). */
static int refill(Reader *r) {
  if (r->z.avail_in > 0)
    memmove(r->in, r->z.next_in, r->z.avail_in);
  size_t got;
  if (read_raw(r, r->in + r->z.avail_in, IN_CHUNK - r->z.avail_in, &got) < 0)
    return -1;
  r->z.next_in = r->in;
  r->z.avail_in += (unsigned)got;
  return 0;
}

/* After the end of a gzip member: another member, or the end of the
 * file. Anything else is trailing garbage. */
static int next_member(Reader *r) {
  if (r->z.avail_in < 2 && !r->at_eof && refill(r) < 0)
    return -1;
  if (r->z.avail_in == 0) {
    r->ended = 1;
    return 0;
  }
  if (r->z.avail_in >= 2 && r->z.next_in[0] == 0x1f && r->z.next_in[1] == 0x8b) {
    if (inflateReset(&r->z) != Z_OK)
      return sr_fail(r->err, "%s: corrupt gzip stream: %s", r->path, "cannot restart inflate");
    r->member_done = 0;
    return 0;
  }
  /* How much follows: the file's size says, or reading to the end. */
  uint64_t extra = r->z.avail_in;
  if (r->size_known && r->size >= r->consumed) {
    extra += r->size - r->consumed;
  } else {
    while (!r->at_eof) {
      r->z.avail_in = 0;
      if (refill(r) < 0)
        return -1;
      extra += r->z.avail_in;
    }
  }
  return sr_fail(r->err,
                 "%s: trailing garbage: %llu bytes after the end of the gzip stream "
                 "(not another gzip member)",
                 r->path, (unsigned long long)extra);
}

/* Inflates up to `want` bytes into buf. */
static int read_gzip(Reader *r, uint8_t *buf, size_t want, size_t *got) {
  *got = 0;
  while (*got < want && !r->ended) {
    if (r->member_done) {
      if (next_member(r) < 0)
        return -1;
      continue;
    }
    if (r->z.avail_in == 0) {
      if (r->at_eof)
        return sr_fail(r->err, "%s: corrupt gzip stream: unexpected end of file", r->path);
      if (refill(r) < 0)
        return -1;
      continue;
    }
    size_t left = want - *got;
    r->z.next_out = buf + *got;
    r->z.avail_out = left < UINT_MAX ? (unsigned)left : UINT_MAX;
    unsigned before = r->z.avail_out;
    int rc = inflate(&r->z, Z_NO_FLUSH);
    *got += before - r->z.avail_out;
    if (rc == Z_STREAM_END)
      r->member_done = 1;
    else if (rc == Z_MEM_ERROR)
      return sr_fail(r->err, "%s: out of memory for gzip decompression", r->path);
    else if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR)
      return sr_fail(r->err, "%s: corrupt gzip stream: %s", r->path,
                     r->z.msg ? r->z.msg : "invalid data");
    /* Z_OK, or Z_BUF_ERROR: the input ran out inside the member (refilled
     * above on the next turn). */
  }
  return 0;
}

/* Reads up to `want` bytes of content (raw, or inflated); fewer only at the
 * end. A stream error (corrupt or cut-off gzip data) is reported rather
 * than mistaken for a short file. */
static int read_bytes(Reader *r, uint8_t *buf, size_t want, size_t *got) {
  if (!r->gzip) {
    /* First the bytes open_reader looked at. */
    size_t from_head = 0;
    while (r->headpos < r->nhead && from_head < want)
      buf[from_head++] = r->head[r->headpos++];
    int rc = read_raw(r, buf + from_head, want - from_head, got);
    *got += from_head;
    r->ended = r->at_eof;
    return rc;
  }
  return read_gzip(r, buf, want, got);
}

/* Opens the file and looks at its first two bytes for the gzip magic. */
static int open_reader(Reader *r, const char *path, SrError *err) {
  *r = (Reader){.path = path, .err = err, .fd = -1};
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0)
    return sr_fail(err, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(r->fd, &sb) != 0)
    return sr_fail(err, "%s: cannot stat: %s", path, strerror(errno));
  r->size_known = S_ISREG(sb.st_mode);
  r->size = r->size_known ? (uint64_t)sb.st_size : 0;

  size_t got;
  if (read_raw(r, r->head, sizeof r->head, &got) < 0)
    return -1;
  r->gzip = got == 2 && r->head[0] == 0x1f && r->head[1] == 0x8b;
  if (!r->gzip) {
    r->nhead = (int)got; /* the raw reader hands them out first */
    return 0;
  }
  if (!(r->in = malloc(IN_CHUNK)))
    return sr_fail(err, "%s: out of memory", path);
  memcpy(r->in, r->head, 2);
  r->z.next_in = r->in;
  r->z.avail_in = 2;
  if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK) /* the gzip wrapper only */
    return sr_fail(err, "%s: out of memory for gzip decompression", path);
  r->zlive = 1;
  return 0;
}

static void close_reader(Reader *r) {
  if (r->zlive)
    inflateEnd(&r->z);
  free(r->in);
  if (r->fd >= 0)
    close(r->fd);
}

/* ---- the IDX layout ------------------------------------------------------ */

static uint32_t big_endian_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Parses the magic number and the dimensions into `out`. */
static int read_header(Reader *r, SrIdx *out) {
  const char *path = r->path;
  SrError *err = r->err;
  uint8_t magic[4];
  size_t got;
  if (read_bytes(r, magic, sizeof magic, &got) < 0)
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
  if (read_bytes(r, dims, want, &got) < 0)
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

static int truncated(const Reader *r, const SrIdx *out, uint64_t have) {
  return sr_fail(r->err, "%s: truncated: header announces %zu bytes of data, file has %llu",
                 r->path, out->count, (unsigned long long)have);
}

static int trailing(const Reader *r, const SrIdx *out, uint64_t extra, int more) {
  return sr_fail(r->err,
                 "%s: trailing garbage: %s%llu bytes after the %zu bytes of data the header "
                 "announces",
                 r->path, more ? "more than " : "", (unsigned long long)extra, out->count);
}

/* A raw regular file: its size says whether the data are all there, before
 * anything is allocated. */
static int read_data_sized(Reader *r, SrIdx *out) {
  uint64_t have = r->size > r->consumed ? r->size - r->consumed : 0;
  if (have < out->count)
    return truncated(r, out, have);
  if (have > out->count)
    return trailing(r, out, have - out->count, 0);
  if (!(out->data = malloc(out->count)))
    return sr_fail(r->err, "%s: out of memory for %zu bytes of data", r->path, out->count);
  size_t got;
  if (read_bytes(r, out->data, out->count, &got) < 0)
    return -1;
  if (got < out->count) /* it shrank meanwhile */
    return truncated(r, out, got);
  uint8_t one;
  if (read_bytes(r, &one, 1, &got) < 0)
    return -1;
  if (got > 0) /* it grew meanwhile */
    return trailing(r, out, got, 1);
  return 0;
}

/* A stream (gzip, or a file of unknown size): the buffer grows with the
 * data that arrive, up to the announced size. */
static int read_data_streamed(Reader *r, SrIdx *out) {
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
    if (read_bytes(r, out->data + have, cap - have, &got) < 0)
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
    if (read_bytes(r, rest, sizeof rest, &got) < 0)
      return -1;
    extra += got;
  }
  if (extra > 0)
    return trailing(r, out, extra, !r->ended);
  return 0;
}

int sr_idx_load(const char *path, SrIdx *out, SrError *err) {
  memset(out, 0, sizeof *out);
  Reader r;
  int rc = open_reader(&r, path, err);
  if (rc == 0)
    rc = read_header(&r, out);
  if (rc == 0)
    rc = !r.gzip && r.size_known ? read_data_sized(&r, out) : read_data_streamed(&r, out);
  close_reader(&r);
  if (rc < 0)
    sr_idx_free(out);
  return rc;
}

void sr_idx_free(SrIdx *idx) {
  free(idx->data);
  memset(idx, 0, sizeof *idx);
}
