/* safetensors.c: the header of a safetensors file, parsed strictly.
 *
 *   u64 little-endian N | N bytes of JSON | tensor data
 *   {"__metadata__": {"k": "v", ...},
 *    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
 *
 * The JSON comes from a file, so it is untrusted. Rather than a general
 * JSON library, a small parser accepts exactly what the format uses:
 * objects, strings (with every JSON escape, surrogate pairs included),
 * non-negative integers and arrays of them, and whitespace. Anything else
 * (floats, true/false/null, duplicate keys, unknown tensor fields, text
 * after the object) is refused with the byte offset in the file. The parse
 * is schema-directed, so nesting is fixed and bounded: no recursion on
 * input depth. Nothing is quadratic in the number of tensors either:
 * duplicate names are found by sorting them once (a header may hold
 * hundreds of thousands), and the sorted order is kept for finding
 * tensors by name (sr_safetensors_find). sr_safetensors_read checks what
 * the tensors say against the data (dtype, offsets tiling it exactly,
 * file size); checkpoint.c and run_state.c check them against the model.
 *
 * Writing goes through a temporary file in the same folder that is
 * fsync'd and then renamed over the target: at every moment the path
 * holds either the old file or the complete new one. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sparsert_internal.h"

#define MAX_HEADER_BYTES 100000000ull /* the limit safetensors itself sets */

typedef SrStTensor Tensor;

typedef struct Parser {
  const char *path;
  const char *s;       /* the JSON text: N bytes, not NUL-terminated */
  size_t len, pos;
  Tensor *t;           /* the tensors so far */
  size_t *t_at;        /* where each tensor's name is (cap entries) */
  int n, cap;
  SrStMeta *meta;      /* the __metadata__ entries so far */
  size_t *meta_at;     /* where each key is (capmeta entries) */
  int nmeta, capmeta;
  SrError *err;
} Parser;

/* ---- tokens -------------------------------------------------------------- */

/* Offsets in messages count from the start of the file. */
static int malformed(Parser *p, const char *what) {
  return sr_fail(p->err, "%s: malformed header JSON at byte %zu: %s", p->path, 8 + p->pos, what);
}

static void skip_ws(Parser *p) {
  while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
    p->pos++;
}

static int peek(Parser *p) {
  skip_ws(p);
  return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int expect(Parser *p, char c) {
  if (peek(p) != c) {
    char what[32];
    snprintf(what, sizeof what, "expected '%c'", c);
    return malformed(p, p->pos < p->len ? what : "unexpected end of the header");
  }
  p->pos++;
  return 0;
}

static int hex4(Parser *p, unsigned *out) {
  *out = 0;
  for (int i = 0; i < 4; i++, p->pos++) {
    char c = p->pos < p->len ? p->s[p->pos] : 0;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0)
      return malformed(p, "\\u needs four hex digits");
    *out = *out << 4 | (unsigned)d;
  }
  return 0;
}

/* \uXXXX, with surrogate pairs, as UTF-8 appended at *o. */
static int unicode_escape(Parser *p, char **o) {
  unsigned c, lo;
  if (hex4(p, &c) < 0)
    return -1;
  if (c >= 0xdc00 && c <= 0xdfff)
    return malformed(p, "lone low surrogate in \\u escape");
  if (c >= 0xd800 && c <= 0xdbff) {
    if (p->pos + 2 > p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
      return malformed(p, "high surrogate not followed by a low one");
    p->pos += 2;
    if (hex4(p, &lo) < 0)
      return -1;
    if (lo < 0xdc00 || lo > 0xdfff)
      return malformed(p, "high surrogate not followed by a low one");
    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
  }
  if (c == 0)
    return malformed(p, "\\u0000 is not allowed in a name");
  char *q = *o;
  if (c < 0x80)
    *q++ = (char)c;
  else if (c < 0x800)
    *q++ = (char)(0xc0 | c >> 6), *q++ = (char)(0x80 | (c & 0x3f));
  else if (c < 0x10000)
    *q++ = (char)(0xe0 | c >> 12), *q++ = (char)(0x80 | (c >> 6 & 0x3f)),
    *q++ = (char)(0x80 | (c & 0x3f));
  else
    *q++ = (char)(0xf0 | c >> 18), *q++ = (char)(0x80 | (c >> 12 & 0x3f)),
    *q++ = (char)(0x80 | (c >> 6 & 0x3f)), *q++ = (char)(0x80 | (c & 0x3f));
  *o = q;
  return 0;
}

/* One escape after a backslash, appended at *o. */
static int escape(Parser *p, char **o) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  char c = p->pos < p->len ? p->s[p->pos] : 0;
  const char *k = c ? strchr(from, c) : NULL;
  p->pos++;
  if (c == 'u')
    return unicode_escape(p, o);
  if (!k) {
    p->pos--;
    return malformed(p, "unknown escape in a string");
  }
  *(*o)++ = to[k - from];
  return 0;
}

/* A string, decoded into a new allocation. Decoding never lengthens the
 * text, so the raw span up to the closing quote is enough room. */
static int parse_string(Parser *p, char **out) {
  *out = NULL;
  if (expect(p, '"') < 0)
    return -1;
  const char *close = p->s + p->pos;
  while (close < p->s + p->len && *close != '"')
    close += *close == '\\' && close + 1 < p->s + p->len ? 2 : 1;
  char *o = *out = malloc((size_t)(close - (p->s + p->pos)) + 1);
  if (!o)
    return sr_fail(p->err, "%s: out of memory for the header", p->path);
  for (;;) {
    if (p->pos >= p->len)
      return malformed(p, "unterminated string");
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '"')
      break;
    if (c < 0x20)
      return malformed(p, "control character in a string");
    p->pos++;
    if (c != '\\')
      *o++ = (char)c;
    else if (escape(p, &o) < 0)
      return -1;
  }
  p->pos++;
  *o = '\0';
  return 0;
}

/* JSON integer syntax (no leading zeros), non-negative, within 64 bits. */
static int parse_uint(Parser *p, uint64_t *out) {
  int c = peek(p);
  if (c == '-')
    return malformed(p, "expected a non-negative integer");
  if (c < '0' || c > '9')
    return malformed(p, "expected an integer");
  size_t start = p->pos;
  uint64_t v = 0;
  for (; p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9'; p->pos++) {
    unsigned d = (unsigned)(p->s[p->pos] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      p->pos = start;
      return malformed(p, "integer too large");
    }
    v = v * 10 + d;
  }
  if (p->s[start] == '0' && p->pos - start > 1) {
    p->pos = start;
    return malformed(p, "leading zero in an integer");
  }
  if (p->pos < p->len && strchr(".eE", p->s[p->pos]) && p->s[p->pos])
    return malformed(p, "only integers are allowed here");
  *out = v;
  return 0;
}

/* After an element or member: the separator, or the closing bracket
 * (then *done is set). */
static int next_or_close(Parser *p, char close, int *done) {
  int c = peek(p);
  *done = c == close;
  if (c == close || c == ',')
    return p->pos++, 0;
  if (c < 0)
    return malformed(p, "unexpected end of the header");
  return malformed(p, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
}

/* [int, ...] with at most `max` elements. */
static int parse_uint_array(Parser *p, uint64_t *v, int max, int *n) {
  *n = 0;
  if (expect(p, '[') < 0)
    return -1;
  if (peek(p) == ']')
    return p->pos++, 0;
  for (int done = 0; !done;) {
    if (*n == max)
      return malformed(p, "too many elements in an array");
    if (parse_uint(p, &v[(*n)++]) < 0 || next_or_close(p, ']', &done) < 0)
      return -1;
  }
  return 0;
}

/* ---- structure ----------------------------------------------------------- */

/* Calls member(p, key, ctx) for each "key": value of an object; the
 * callback parses the value. Duplicate keys are refused by the callers
 * (those of a tensor at once; tensor names and metadata keys, of which
 * there may be many, after the parse: check_duplicates). */
typedef int (*MemberFn)(Parser *p, const char *key, size_t key_at, void *ctx);

static int parse_object(Parser *p, MemberFn member, void *ctx) {
  if (expect(p, '{') < 0)
    return -1;
  if (peek(p) == '}')
    return p->pos++, 0;
  for (int done = 0; !done;) {
    char *key;
    skip_ws(p);
    size_t key_at = p->pos;
    int rc = parse_string(p, &key);
    if (rc == 0)
      rc = expect(p, ':');
    if (rc == 0)
      rc = member(p, key, key_at, ctx);
    free(key);
    if (rc < 0 || next_or_close(p, '}', &done) < 0)
      return -1;
  }
  return 0;
}

/* ---- the safetensors schema --------------------------------------------- */

static int duplicate(Parser *p, size_t key_at, const char *key);

/* Room for one more entry in *items (and its position in *at), doubling. */
static int grow(Parser *p, void **items, size_t size, size_t **at, int n, int *cap) {
  if (n < *cap)
    return 0;
  if (*cap > INT_MAX / 2)
    return sr_fail(p->err, "%s: too many entries in the header", p->path);
  int more = *cap ? 2 * *cap : 16;
  void *bigger = realloc(*items, (size_t)more * size);
  if (bigger)
    *items = bigger;
  size_t *bigger_at = realloc(*at, (size_t)more * sizeof **at);
  if (bigger_at)
    *at = bigger_at;
  if (!bigger || !bigger_at)
    return sr_fail(p->err, "%s: out of memory for the header", p->path);
  *cap = more;
  return 0;
}

/* __metadata__ is a string-to-string map (the safetensors rule). */
static int metadata_member(Parser *p, const char *key, size_t key_at, void *ctx) {
  (void)ctx;
  void *items = p->meta;
  int rc = grow(p, &items, sizeof *p->meta, &p->meta_at, p->nmeta, &p->capmeta);
  p->meta = items;
  if (rc < 0)
    return -1;
  SrStMeta *m = &p->meta[p->nmeta];
  m->value = NULL;
  if (!(m->key = strdup(key)))
    return sr_fail(p->err, "%s: out of memory for the header", p->path);
  p->meta_at[p->nmeta++] = key_at;
  return parse_string(p, &m->value);
}

/* Which of dtype, shape and data_offsets a tensor has had. */
enum { HAS_DTYPE = 1, HAS_SHAPE = 2, HAS_OFFSETS = 4 };
typedef struct TensorCtx {
  Tensor *t;
  int seen;
} TensorCtx;

static int duplicate(Parser *p, size_t key_at, const char *key) {
  char what[160];
  snprintf(what, sizeof what, "duplicate key '%.100s'", key);
  p->pos = key_at;
  return malformed(p, what);
}

static int tensor_member(Parser *p, const char *key, size_t key_at, void *ctx) {
  TensorCtx *c = ctx;
  int bit = strcmp(key, "dtype") == 0          ? HAS_DTYPE
            : strcmp(key, "shape") == 0        ? HAS_SHAPE
            : strcmp(key, "data_offsets") == 0 ? HAS_OFFSETS
                                               : 0;
  if (!bit) {
    char what[160];
    snprintf(what, sizeof what, "unknown key '%.100s' in a tensor", key);
    p->pos = key_at;
    return malformed(p, what);
  }
  if (c->seen & bit)
    return duplicate(p, key_at, key);
  c->seen |= bit;
  if (bit == HAS_DTYPE)
    return parse_string(p, &c->t->dtype);
  if (bit == HAS_SHAPE)
    return parse_uint_array(p, c->t->shape, SR_ST_MAX_DIMS, &c->t->ndim);
  uint64_t off[2];
  int n;
  skip_ws(p);
  size_t at = p->pos;
  if (parse_uint_array(p, off, 2, &n) < 0)
    return -1;
  if (n != 2) {
    p->pos = at;
    return malformed(p, "data_offsets needs two integers");
  }
  c->t->begin = off[0], c->t->end = off[1];
  return 0;
}

static int parse_tensor(Parser *p, Tensor *t) {
  TensorCtx c = {t, 0};
  if (parse_object(p, tensor_member, &c) < 0)
    return -1;
  if (c.seen != (HAS_DTYPE | HAS_SHAPE | HAS_OFFSETS)) {
    p->pos--; /* at the closing brace */
    return malformed(p, !(c.seen & HAS_DTYPE)   ? "tensor without \"dtype\""
                        : !(c.seen & HAS_SHAPE) ? "tensor without \"shape\""
                                                : "tensor without \"data_offsets\"");
  }
  return 0;
}

static int top_member(Parser *p, const char *key, size_t key_at, void *ctx) {
  int *seen_metadata = ctx;
  if (strcmp(key, "__metadata__") == 0) {
    if ((*seen_metadata)++)
      return duplicate(p, key_at, key);
    return parse_object(p, metadata_member, NULL);
  }
  void *items = p->t;
  int rc = grow(p, &items, sizeof *p->t, &p->t_at, p->n, &p->cap);
  p->t = items;
  if (rc < 0)
    return -1;
  Tensor *t = &p->t[p->n];
  *t = (Tensor){.name = strdup(key), .slot = -1};
  if (!t->name)
    return sr_fail(p->err, "%s: out of memory for the header", p->path);
  p->t_at[p->n++] = key_at;
  return parse_tensor(p, t);
}

/* ---- duplicate names ----------------------------------------------------- */

/* A name and where it is in the file. */
typedef struct Key {
  const char *name;
  size_t at;
  int index;
} Key;

static int by_name_then_place(const void *a, const void *b) {
  const Key *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : x->at < y->at ? -1 : x->at > y->at;
}

/* Sorts the keys by name; returns the first repeat in the file (the
 * earliest key whose name came before), or NULL. */
static const Key *first_repeat(Key *keys, int n) {
  qsort(keys, (size_t)n, sizeof *keys, by_name_then_place);
  const Key *first = NULL;
  for (int i = 1; i < n; i++)
    if (strcmp(keys[i - 1].name, keys[i].name) == 0 && (!first || keys[i].at < first->at))
      first = &keys[i];
  return first;
}

/* Tensor names and metadata keys must be unique. They are checked after
 * the parse, in O(n log n), but the outcome is what checking each key as
 * it comes would give: every key recorded was parsed before whatever
 * stopped the parse, so a repeat among them is the first error in the
 * file and replaces the parse's own. On success *order is the tensors'
 * indices sorted by name (for sr_safetensors_find), n of them. */
static int check_duplicates(Parser *p, int parsed, int **order) {
  *order = NULL;
  int most = p->n > p->nmeta ? p->n : p->nmeta;
  Key *keys = malloc(((size_t)most + 1) * sizeof *keys);
  int *sorted = malloc(((size_t)p->n + 1) * sizeof *sorted);
  if (!keys || !sorted) {
    free(keys);
    free(sorted);
    return parsed < 0 ? -1 : sr_fail(p->err, "%s: out of memory for the header", p->path);
  }
  for (int i = 0; i < p->nmeta; i++)
    keys[i] = (Key){p->meta[i].key, p->meta_at[i], i};
  const Key *dup = first_repeat(keys, p->nmeta);
  Key meta_dup = dup ? *dup : (Key){NULL, 0, 0};
  for (int i = 0; i < p->n; i++)
    keys[i] = (Key){p->t[i].name, p->t_at[i], i};
  dup = first_repeat(keys, p->n);
  if (meta_dup.name && (!dup || meta_dup.at < dup->at))
    dup = &meta_dup;
  int rc = dup ? duplicate(p, dup->at, dup->name) : parsed;
  if (rc == 0) {
    for (int i = 0; i < p->n; i++)
      sorted[i] = keys[i].index;
    *order = sorted;
  } else {
    free(sorted);
  }
  free(keys);
  return rc;
}

/* The whole header: one object, then only whitespace (the padding). */
static int parse_header(Parser *p) {
  int seen_metadata = 0;
  if (parse_object(p, top_member, &seen_metadata) < 0)
    return -1;
  if (peek(p) != -1)
    return malformed(p, "unexpected text after the header object");
  return 0;
}



/* ---- the file ------------------------------------------------------------ */

static void free_tensors(Tensor *t, int n) {
  for (int i = 0; i < n; i++) {
    free(t[i].name);
    free(t[i].dtype);
  }
  free(t);
}

static void free_meta(SrStMeta *m, int n) {
  for (int i = 0; i < n; i++) {
    free(m[i].key);
    free(m[i].value);
  }
  free(m);
}

static int read_header(Parser *p, const uint8_t *buf, size_t size, size_t *data_at) {
  uint64_t n = 0;
  for (int i = 0; i < 8; i++)
    n |= (uint64_t)buf[i] << (8 * i);
  if (n > MAX_HEADER_BYTES)
    return sr_fail(p->err, "%s: header length %" PRIu64 " is absurd (safetensors allows at most "
                   "%llu): not a safetensors file?", p->path, n, MAX_HEADER_BYTES);
  if (n > size - 8)
    return sr_fail(p->err, "%s: truncated: the header length is %" PRIu64 " bytes, only %zu "
                   "follow", p->path, n, size - 8);
  p->s = (const char *)buf + 8;
  p->len = (size_t)n;
  *data_at = 8 + (size_t)n;
  return parse_header(p);
}


int sr_safetensors_header(const char *path, const uint8_t *buf, size_t size, SrStHeader *h,
                          SrError *err) {
  Parser p = {.path = path, .err = err};
  memset(h, 0, sizeof *h);
  int *order;
  int rc = check_duplicates(&p, read_header(&p, buf, size, &h->data_at), &order);
  free(p.t_at);
  free(p.meta_at);
  if (rc < 0) {
    free(order);
    free_tensors(p.t, p.n);
    free_meta(p.meta, p.nmeta);
    return -1;
  }
  h->t = p.t;
  h->n = p.n;
  h->meta = p.meta;
  h->nmeta = p.nmeta;
  h->by_name = order;
  return 0;
}

void sr_safetensors_free(SrStHeader *h) {
  free_tensors(h->t, h->n);
  free_meta(h->meta, h->nmeta);
  free(h->by_name);
  memset(h, 0, sizeof *h);
}

const char *sr_safetensors_meta(const SrStHeader *h, const char *key) {
  for (int i = 0; i < h->nmeta; i++)
    if (strcmp(h->meta[i].key, key) == 0)
      return h->meta[i].value;
  return NULL;
}

/* ---- writing a file ------------------------------------------------------- */

/* Every dtype sparsec writes is 4 bytes an element. */
static int known_dtype(const char *dtype) {
  return strcmp(dtype, "F32") == 0 || strcmp(dtype, "I32") == 0 || strcmp(dtype, "U32") == 0;
}

static size_t out_count(const SrStOut *t) {
  size_t count = 1;
  for (int d = 0; d < t->ndim; d++)
    count *= (size_t)t->shape[d];
  return count;
}

/* The JSON header, padded with spaces to a multiple of 8 so that the data
 * that follows is aligned. */
static char *build_header(const SrStOut *t, int n, const SrStMeta *meta, int nmeta, size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f)
    return NULL;
  size_t offset = 0;
  fputs("{\"__metadata__\":{", f);
  for (int i = 0; i < nmeta; i++) {
    fputs(i ? "," : "", f);
    sr_json_string(f, meta[i].key);
    fputc(':', f);
    sr_json_string(f, meta[i].value);
  }
  fputc('}', f);
  for (int i = 0; i < n; i++) {
    size_t bytes = out_count(&t[i]) * 4;
    fputc(',', f);
    sr_json_string(f, t[i].name);
    fprintf(f, ":{\"dtype\":\"%s\",\"shape\":[", t[i].dtype);
    for (int d = 0; d < t[i].ndim; d++)
      fprintf(f, "%s%zu", d ? "," : "", (size_t)t[i].shape[d]);
    fprintf(f, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
    offset += bytes;
  }
  fputc('}', f);
  while (ftell(f) % 8 != 0)
    fputc(' ', f);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

#define CHUNK_WORDS 16384 /* 4-byte values converted per fwrite */

/* Little-endian whatever the host: each 4-byte word byte by byte. */
static int write_words(FILE *f, const uint32_t *w, size_t count) {
  uint8_t buf[4 * CHUNK_WORDS];
  for (size_t i = 0; i < count; i += CHUNK_WORDS) {
    size_t n = count - i < CHUNK_WORDS ? count - i : CHUNK_WORDS;
    for (size_t k = 0; k < n; k++) {
      uint32_t u = w[i + k];
      buf[4 * k] = (uint8_t)u, buf[4 * k + 1] = (uint8_t)(u >> 8);
      buf[4 * k + 2] = (uint8_t)(u >> 16), buf[4 * k + 3] = (uint8_t)(u >> 24);
    }
    if (fwrite(buf, 4, n, f) != n)
      return -1;
  }
  return 0;
}

static int write_contents(FILE *f, const SrStOut *t, int n, const char *header, size_t hlen) {
  uint8_t len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  if (fwrite(len, 1, 8, f) != 8 || fwrite(header, 1, hlen, f) != hlen || fflush(f) != 0)
    return -1;
  sr_signal_at(SR_AT_WRITE);
  for (int i = 0; i < n; i++)
    if (write_words(f, t[i].data, out_count(&t[i])) < 0)
      return -1;
  return 0;
}

/* mkstemp creates files 0600; a plain fopen would have given 0666 minus
 * the umask, which is what users expect of a checkpoint. umask can only be
 * read by setting it, briefly; the runtime creates no other files
 * meanwhile. */
static void usual_permissions(int fd) {
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask); /* failing leaves 0600: safe, merely private */
}

/* The temporary file being written, for sr_safetensors_abandon: a second
 * Ctrl-C ends the process from a signal handler, which may only unlink. */
static char pending_tmp[4096];
static volatile sig_atomic_t pending;

void sr_safetensors_abandon(void) {
  if (pending)
    unlink(pending_tmp);
}

/* Writes everything to the temporary file `tmp` (a mkstemp template,
 * filled in) and makes it durable. *created says whether the file exists,
 * i.e. must be removed on failure. */
static int write_temp(const char *path, char *tmp, const SrStOut *t, int n, const char *header,
                      size_t hlen, int *created, SrError *err) {
  int fd = mkstemp(tmp);
  *created = fd >= 0;
  if (fd < 0) {
    char *folder = strdup(path);
    int rc = sr_fail(err, "%s: cannot create a temporary file in '%s': %s", path,
                     folder ? dirname(folder) : "its folder", strerror(errno));
    free(folder);
    return rc;
  }
  if (strlen(tmp) < sizeof pending_tmp) {
    memcpy(pending_tmp, tmp, strlen(tmp) + 1);
    pending = 1;
  }
  usual_permissions(fd);
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd);
    return sr_fail(err, "%s: cannot write: %s", path, strerror(e));
  }
  errno = 0;
  int bad = write_contents(f, t, n, header, hlen) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0;
  int e = errno;
  if (fclose(f) != 0 && !bad)
    bad = 1, e = errno;
  if (bad)
    return sr_fail(err, "%s: write error: %s", path, strerror(e ? e : EIO));
  return 0;
}

/* The rename is durable only once the folder itself is synced. Some
 * file systems cannot sync a folder (EINVAL); the file is then as safe as
 * they allow. */
static int sync_folder(const char *path, SrError *err) {
  char *copy = strdup(path);
  if (!copy)
    return sr_fail(err, "%s: out of memory", path);
  const char *folder = dirname(copy);
  int fd = open(folder, O_RDONLY | O_DIRECTORY);
  int rc = 0;
  if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
    rc = sr_fail(err, "%s: saved, but syncing the folder '%s' failed: %s", path, folder,
                 strerror(errno));
  if (fd >= 0)
    close(fd);
  free(copy);
  return rc;
}

int sr_safetensors_write(const char *path, const SrStOut *t, int n, const SrStMeta *meta,
                         int nmeta, SrError *err) {
  for (int i = 0; i < n; i++)
    if (!known_dtype(t[i].dtype) || t[i].ndim < 1 || t[i].ndim > SR_ST_MAX_DIMS)
      return sr_fail(err, "%s: tensor '%s': cannot write dtype %s with %d dimensions", path,
                     t[i].name, t[i].dtype, t[i].ndim);
  size_t hlen = 0;
  char *header = build_header(t, n, meta, nmeta, &hlen);
  char *tmp = malloc(strlen(path) + sizeof ".tmp.XXXXXX");
  if (!header || !tmp) {
    free(header);
    free(tmp);
    return sr_fail(err, "%s: out of memory for the checkpoint header", path);
  }
  sprintf(tmp, "%s.tmp.XXXXXX", path); /* fits: allocated for exactly this */
  int created;
  int rc = write_temp(path, tmp, t, n, header, hlen, &created, err);
  if (rc == 0 && rename(tmp, path) != 0)
    rc = sr_fail(err, "%s: cannot replace with the new checkpoint: %s", path, strerror(errno));
  if (rc < 0 && created)
    unlink(tmp);
  pending = 0;
  if (rc == 0)
    rc = sync_folder(path, err);
  free(tmp);
  free(header);
  return rc;
}

/* ---- reading a file ------------------------------------------------------- */

#define MAX_FILE_BYTES (4ull << 30)

static void format_shape(char *buf, size_t size, const uint64_t *shape, int ndim) {
  size_t used = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < ndim && used < size; d++)
    used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu64, d ? ", " : "", shape[d]);
  if (used < size)
    snprintf(buf + used, size - used, "]");
}

void sr_safetensors_shape(char *buf, size_t size, const SrStTensor *t) {
  format_shape(buf, size, t->shape, t->ndim);
}

/* Bytes the shape needs at 4 bytes an element, or UINT64_MAX if that overflows. */
static uint64_t shape_bytes(const SrStTensor *t) {
  uint64_t bytes = 4;
  for (int d = 0; d < t->ndim; d++) {
    if (t->shape[d] != 0 && bytes > UINT64_MAX / t->shape[d])
      return UINT64_MAX;
    bytes *= t->shape[d];
  }
  return bytes;
}

static int check_tensor(const SrStFile *l, const SrStTensor *t, SrError *err) {
  if (!known_dtype(t->dtype))
    return sr_fail(err, "%s: tensor '%s' has dtype %s, only F32 is supported", l->path, t->name,
                   t->dtype);
  if (t->begin > t->end)
    return sr_fail(err, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64 "] that end "
                   "before they begin", l->path, t->name, t->begin, t->end);
  uint64_t need = shape_bytes(t);
  if (t->end - t->begin != need) {
    char shape[128];
    format_shape(shape, sizeof shape, t->shape, t->ndim);
    return sr_fail(err, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64 "] (%" PRIu64
                   " bytes) but its shape %s needs %" PRIu64, l->path, t->name, t->begin, t->end,
                   t->end - t->begin, shape, need);
  }
  return 0;
}

static int by_begin(const void *a, const void *b) {
  const SrStTensor *x = *(SrStTensor *const *)a, *y = *(SrStTensor *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The tensors must tile the data exactly: sorted by offset, each begins
 * where the previous ends, and the last ends where the file does. */
static int check_tiling(const SrStFile *l, SrStTensor **order, SrError *err) {
  int n = l->h.n;
  uint64_t data = l->size - l->h.data_at, at = 0;
  qsort(order, (size_t)n, sizeof *order, by_begin);
  for (int i = 0; i < n; i++) {
    const SrStTensor *t = order[i];
    if (t->begin < at)
      return sr_fail(err, "%s: tensors '%s' and '%s' overlap (data_offsets [%" PRIu64 ", %" PRIu64
                     "] and [%" PRIu64 ", %" PRIu64 "])", l->path, order[i - 1]->name, t->name,
                     order[i - 1]->begin, order[i - 1]->end, t->begin, t->end);
    if (t->begin > at)
      return sr_fail(err, "%s: data bytes [%" PRIu64 ", %" PRIu64 ") belong to no tensor",
                     l->path, at, t->begin);
    at = t->end;
  }
  if (at > data)
    return sr_fail(err, "%s: truncated: the header describes %" PRIu64 " bytes of tensor data, "
                   "the file has %" PRIu64, l->path, at, data);
  if (at < data)
    return sr_fail(err, "%s: trailing garbage: %" PRIu64 " bytes after the tensor data", l->path,
                   data - at);
  return 0;
}

static int check_layout(const SrStFile *l, SrError *err) {
  for (int k = 0; k < l->h.n; k++)
    if (check_tensor(l, &l->h.t[k], err) < 0)
      return -1;
  SrStTensor **order = malloc(((size_t)l->h.n + 1) * sizeof *order);
  if (!order)
    return sr_fail(err, "%s: out of memory", l->path);
  for (int k = 0; k < l->h.n; k++)
    order[k] = &l->h.t[k];
  int rc = check_tiling(l, order, err);
  free(order);
  return rc;
}

static int read_bytes(SrStFile *l, SrError *err) {
  int fd = open(l->path, O_RDONLY);
  if (fd < 0)
    return sr_fail(err, "%s: cannot open: %s", l->path, strerror(errno));
  struct stat sb;
  int rc = 0;
  if (fstat(fd, &sb) != 0)
    rc = sr_fail(err, "%s: cannot stat: %s", l->path, strerror(errno));
  else if (!S_ISREG(sb.st_mode))
    rc = sr_fail(err, "%s: not a regular file", l->path);
  else if ((uint64_t)sb.st_size > MAX_FILE_BYTES)
    rc = sr_fail(err, "%s: too large: %jd bytes (checkpoints are limited to 4 GiB)", l->path,
                 (intmax_t)sb.st_size);
  else if (sb.st_size < 8)
    rc = sr_fail(err, "%s: truncated: %jd bytes, but a safetensors file starts with an 8-byte "
                 "header length", l->path, (intmax_t)sb.st_size);
  else if (!(l->buf = malloc((size_t)sb.st_size)))
    rc = sr_fail(err, "%s: out of memory for %jd bytes", l->path, (intmax_t)sb.st_size);
  while (rc == 0 && l->size < (size_t)sb.st_size) {
    ssize_t n = read(fd, l->buf + l->size, (size_t)sb.st_size - l->size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      rc = sr_fail(err, "%s: read error: %s", l->path, n < 0 ? strerror(errno) : "file shrank");
    else
      l->size += (size_t)n;
  }
  close(fd);
  return rc;
}

int sr_safetensors_read(const char *path, SrStFile *l, SrError *err) {
  memset(l, 0, sizeof *l);
  l->path = path;
  int rc = read_bytes(l, err);
  if (rc == 0)
    rc = sr_safetensors_header(path, l->buf, l->size, &l->h, err);
  if (rc == 0)
    rc = check_layout(l, err);
  if (rc != 0)
    sr_safetensors_close(l);
  return rc;
}

void sr_safetensors_close(SrStFile *l) {
  sr_safetensors_free(&l->h);
  free(l->buf);
  memset(l, 0, sizeof *l);
}

/* Binary search in the name order sr_safetensors_header attached. */
const SrStTensor *sr_safetensors_find(const SrStFile *l, const char *name) {
  const int *order = l->h.by_name;
  int lo = 0, hi = l->h.n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    const SrStTensor *t = &l->h.t[order[mid]];
    int c = strcmp(name, t->name);
    if (c == 0)
      return t;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

void sr_safetensors_words(const SrStFile *l, const SrStTensor *t, void *out) {
  const uint8_t *p = l->buf + l->h.data_at + t->begin;
  uint32_t *w = out;
  size_t count = (size_t)(t->end - t->begin) / 4;
  for (size_t i = 0; i < count; i++, p += 4)
    w[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
