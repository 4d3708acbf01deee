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
 * input depth. checkpoint.c checks what the tensors say against the data
 * and the model. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sparsert_internal.h"

#define MAX_HEADER_BYTES 100000000ull /* the limit safetensors itself sets */

typedef SrStTensor Tensor;

typedef struct Parser {
  const char *path;
  const char *s;       /* the JSON text: N bytes, not NUL-terminated */
  size_t len, pos;
  Tensor *t;           /* the tensors so far */
  int n, cap;
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
 * callback parses the value. Duplicate keys are refused by the callers. */
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

/* __metadata__ is a string-to-string map (the safetensors rule). */
static int metadata_member(Parser *p, const char *key, size_t key_at, void *ctx) {
  (void)key, (void)key_at, (void)ctx;
  char *value;
  int rc = parse_string(p, &value);
  free(value);
  return rc;
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
  for (int i = 0; i < p->n; i++)
    if (strcmp(p->t[i].name, key) == 0)
      return duplicate(p, key_at, key);
  if (p->n == p->cap) {
    int cap = p->cap ? 2 * p->cap : 16;
    Tensor *t = realloc(p->t, (size_t)cap * sizeof *t);
    if (!t)
      return sr_fail(p->err, "%s: out of memory for the header", p->path);
    p->t = t, p->cap = cap;
  }
  Tensor *t = &p->t[p->n++];
  *t = (Tensor){.name = strdup(key), .slot = -1};
  if (!t->name)
    return sr_fail(p->err, "%s: out of memory for the header", p->path);
  return parse_tensor(p, t);
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
  int rc = read_header(&p, buf, size, &h->data_at);
  if (rc < 0) {
    free_tensors(p.t, p.n);
    return -1;
  }
  h->t = p.t;
  h->n = p.n;
  return 0;
}

void sr_safetensors_free(SrStHeader *h) {
  free_tensors(h->t, h->n);
  memset(h, 0, sizeof *h);
}
