/* gzfile.c: a file's bytes as they are or, when it starts with the gzip
 * magic number, inflated (sparsert_internal.h). The readers of data files
 * (idx.c, libsvm.c) take their content from here, so that both accept
 * the same gzip and refuse the same damage.
 *
 * The stream is inflated with zlib's inflate rather than gzread, which
 * silently drops whatever follows the last gzip member. Concatenated
 * members are valid gzip (what `cat a.gz b.gz` gives) and are read on;
 * anything else after the stream is refused as trailing garbage. A
 * corrupt or cut-off stream is an error, never mistaken for a short file.
 * Nothing here allocates more than the fixed input chunk: how much
 * inflated content is held is the caller's choice. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sparsert_internal.h"

/* Compressed bytes read from the file at a time. */
#define IN_CHUNK (64u << 10)

/* read(2) until `want` bytes or end of file. */
static int read_raw(SrGzFile *r, uint8_t *buf, size_t want, size_t *got) {
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
static int refill(SrGzFile *r) {
  z_stream *z = r->z;
  if (z->avail_in > 0)
    memmove(r->in, z->next_in, z->avail_in);
  size_t got;
  if (read_raw(r, r->in + z->avail_in, IN_CHUNK - z->avail_in, &got) < 0)
    return -1;
  z->next_in = r->in;
  z->avail_in += (unsigned)got;
  return 0;
}

/* After the end of a gzip member: another member, or the end of the
 * file. Anything else is trailing garbage. */
static int next_member(SrGzFile *r) {
  z_stream *z = r->z;
  if (z->avail_in < 2 && !r->at_eof && refill(r) < 0)
    return -1;
  if (z->avail_in == 0) {
    r->ended = 1;
    return 0;
  }
  if (z->avail_in >= 2 && z->next_in[0] == 0x1f && z->next_in[1] == 0x8b) {
    if (inflateReset(z) != Z_OK)
      return sr_fail(r->err, "%s: corrupt gzip stream: %s", r->path, "cannot restart inflate");
    r->member_done = 0;
    return 0;
  }
  /* How much follows: the file's size says, or reading to the end. */
  uint64_t extra = z->avail_in;
  if (r->size_known && r->size >= r->consumed) {
    extra += r->size - r->consumed;
  } else {
    while (!r->at_eof) {
      z->avail_in = 0;
      if (refill(r) < 0)
        return -1;
      extra += z->avail_in;
    }
  }
  return sr_fail(r->err,
                 "%s: trailing garbage: %llu bytes after the end of the gzip stream "
                 "(not another gzip member)",
                 r->path, (unsigned long long)extra);
}

/* Inflates up to `want` bytes into buf. */
static int read_gzip(SrGzFile *r, uint8_t *buf, size_t want, size_t *got) {
  z_stream *z = r->z;
  *got = 0;
  while (*got < want && !r->ended) {
    if (r->member_done) {
      if (next_member(r) < 0)
        return -1;
      continue;
    }
    if (z->avail_in == 0) {
      if (r->at_eof)
        return sr_fail(r->err, "%s: corrupt gzip stream: unexpected end of file", r->path);
      if (refill(r) < 0)
        return -1;
      continue;
    }
    size_t left = want - *got;
    z->next_out = buf + *got;
    z->avail_out = left < UINT_MAX ? (unsigned)left : UINT_MAX;
    unsigned before = z->avail_out;
    int rc = inflate(z, Z_NO_FLUSH);
    *got += before - z->avail_out;
    if (rc == Z_STREAM_END)
      r->member_done = 1;
    else if (rc == Z_MEM_ERROR)
      return sr_fail(r->err, "%s: out of memory for gzip decompression", r->path);
    else if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR)
      return sr_fail(r->err, "%s: corrupt gzip stream: %s", r->path,
                     z->msg ? z->msg : "invalid data");
    /* Z_OK, or Z_BUF_ERROR: the input ran out inside the member (refilled
     * above on the next turn). */
  }
  return 0;
}

int sr_gzfile_read(SrGzFile *r, void *buf, size_t want, size_t *got) {
  uint8_t *out = buf;
  if (!r->gzip) {
    /* First the bytes sr_gzfile_open looked at. */
    size_t from_head = 0;
    while (r->headpos < r->nhead && from_head < want)
      out[from_head++] = r->head[r->headpos++];
    int rc = read_raw(r, out + from_head, want - from_head, got);
    *got += from_head;
    r->ended = r->at_eof && r->headpos == r->nhead;
    return rc;
  }
  return read_gzip(r, out, want, got);
}

/* The gzip magic number was seen: the inflater, given those two bytes. */
static int start_inflate(SrGzFile *r) {
  r->in = malloc(IN_CHUNK);
  r->z = calloc(1, sizeof *r->z);
  if (!r->in || !r->z)
    return sr_fail(r->err, "%s: out of memory", r->path);
  memcpy(r->in, r->head, 2);
  r->z->next_in = r->in;
  r->z->avail_in = 2;
  if (inflateInit2(r->z, 16 + MAX_WBITS) != Z_OK) /* the gzip wrapper only */
    return sr_fail(r->err, "%s: out of memory for gzip decompression", r->path);
  r->zlive = 1;
  return 0;
}

int sr_gzfile_open(SrGzFile *r, const char *path, SrError *err) {
  int from_stdin = strcmp(path, "-") == 0;
  if (from_stdin)
    path = "<stdin>"; /* messages read <stdin>:LINE, as for CSV */
  *r = (SrGzFile){.path = path, .err = err, .fd = -1};
  /* a copy of standard input's descriptor, so that closing it leaves stdin */
  r->fd = from_stdin ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0) : open(path, O_RDONLY | O_CLOEXEC);
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
  if (r->gzip)
    return start_inflate(r);
  r->nhead = (int)got; /* the raw reader hands them out first */
  r->ended = r->at_eof && got == 0;
  return 0;
}

void sr_gzfile_close(SrGzFile *r) {
  if (r->zlive)
    inflateEnd(r->z);
  free(r->z);
  free(r->in);
  if (r->fd >= 0)
    close(r->fd);
  r->z = NULL, r->in = NULL, r->fd = -1, r->zlive = 0;
}
