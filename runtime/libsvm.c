/* libsvm.c: libsvm (svmlight) text files of sparse examples, gzip'd or
 * raw, read straight into compressed sparse rows (CSR).
 *
 *   # 4 classes, 5000 features
 *   3 12:0.5 40:1 4999:0.25
 *   0 7:1e-3    # svmlight allows a comment after the features
 *   2
 *
 * One example a line: its label, then INDEX:VALUE pairs, all separated by
 * spaces or tabs (any number of them). Lines end in LF or CRLF; the last
 * one may lack its end.
 *
 *   - `#` starts a comment that runs to the end of the line. Lines that
 *     are blank or only a comment are skipped wherever they are: files
 *     often start with a commented header, and skipping costs nothing.
 *   - LABEL: a class number, digits only, in 0..classes-1 (classes 0: any
 *     integer 0..2^31-1). Signed labels are refused with a hint: svmlight's
 *     binary files label with -1/+1, which must be mapped to 0/1 first;
 *     guessing the mapping would silently decide which class is which.
 *   - INDEX: digits only, 1..dim (svmlight counts from 1; col holds
 *     INDEX - 1), strictly ascending within a line. svmlight's `qid:N`
 *     (query ids, for ranking) is refused.
 *   - VALUE: a decimal number (decimal.c, as in CSV files: no hexadecimal,
 *     inf or nan), finite as a float, and finite once multiplied by the
 *     scale. Values that are 0 (once scaled) are not stored: CSR holds the
 *     nonzeros only, and a stored 0 would cost the kernels work for nothing.
 *     Their index still counts for the ascending order.
 *   - A line with a label and no features is an example whose features
 *     are all 0.
 *
 * Messages name the file and line ("train.svm:17: index 5001 is out of
 * range 1..5000 (the model's input width)"); quoted text from the file is
 * cut short and its unprintable bytes escaped.
 *
 * Time and memory are linear in the (inflated) content, whatever it says:
 * lines are assembled in a buffer that doubles up to the longest line,
 * each byte is scanned a fixed number of times, the CSR arrays double as
 * rows and nonzeros arrive, and nothing is sized by `dim` or by an index
 * the file names. The content comes through gzfile.c (gzip detected from
 * the magic number, members read on, trailing garbage refused). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sparsert_internal.h"

#define BLANKS " \t"
/* The line buffer starts at this size, then doubles. */
#define FIRST_LINE_CAP ((size_t)64 << 10)
/* The CSR arrays start with room for this many rows and nonzeros. */
#define FIRST_ROWS 1024
#define FIRST_NONZEROS 4096
/* Text quoted from the file in a message is cut after this many bytes. */
#define SHOW_MAX 40

typedef struct Svm {
  const char *path;
  int dim, classes;
  float scale;
  SrError *err;
  SrGzFile f;
  char *buf;           /* content read: buf[start..len) not yet consumed */
  size_t cap, len, start;
  size_t scan;         /* where the search for the current line's end resumes */
  long lineno;
  int n;               /* examples so far */
  size_t rows_cap;     /* y holds rows_cap, row_start rows_cap + 1 */
  int32_t *y;
  int64_t *row_start;
  int64_t nnz;         /* nonzeros so far */
  size_t nz_cap;
  int32_t *col;
  float *val;
} Svm;

/* ---- messages ------------------------------------------------------------ */

/* `s` for a message: at most SHOW_MAX bytes then "...", unprintable bytes
 * as \xNN (a binary file's line is no terminal control sequence). */
static const char *show(char *out, size_t size, const char *s) {
  size_t used = 0, i = 0;
  for (; s[i] && i < SHOW_MAX && used + 8 < size; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out[used++] = (char)c;
    else
      used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
  }
  snprintf(out + used, size - used, "%s", s[i] ? "..." : "");
  return out;
}

#define SHOW_SIZE (4 * SHOW_MAX + 8)

/* ---- lines --------------------------------------------------------------- */

/* Moves the unconsumed bytes to the front (each byte moves at most once:
 * they are the start of a line not yet ended), doubles the buffer when it
 * is full, and reads more content. */
static int fill(Svm *s) {
  if (s->start > 0) {
    memmove(s->buf, s->buf + s->start, s->len - s->start);
    s->len -= s->start, s->scan -= s->start, s->start = 0;
  }
  if (s->len == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : FIRST_LINE_CAP;
    char *buf = cap > s->cap ? realloc(s->buf, cap) : NULL;
    if (!buf)
      return sr_fail(s->err, "%s:%ld: out of memory for a line of more than %zu bytes", s->path,
                     s->lineno + 1, s->len);
    s->buf = buf, s->cap = cap;
  }
  size_t got;
  if (sr_gzfile_read(&s->f, s->buf + s->len, s->cap - s->len, &got) < 0)
    return -1;
  s->len += got;
  return 0;
}

/* The next line, its end (LF) replaced by a NUL: 1, or 0 at the end of
 * the content, -1 on a read error. */
static int next_line(Svm *s, char **line, size_t *len) {
  for (;;) {
    char *end = s->len > s->scan ? memchr(s->buf + s->scan, '\n', s->len - s->scan) : NULL;
    if (!end && s->f.ended && s->start == s->len)
      return 0;
    if (!end && s->f.ended && s->len < s->cap)
      end = s->buf + s->len++; /* the last line, without its LF: room for the NUL */
    if (end) {
      *end = '\0';
      *line = s->buf + s->start;
      *len = (size_t)(end - *line);
      s->start = s->scan = (size_t)(end - s->buf) + 1;
      s->lineno++;
      return 1;
    }
    s->scan = s->len;
    if (fill(s) < 0)
      return -1;
  }
}

/* ---- the CSR arrays ------------------------------------------------------ */

/* Room for example n (and row_start[n + 1]), doubling. */
static int grow_rows(Svm *s) {
  if ((size_t)s->n < s->rows_cap)
    return 0;
  size_t cap = s->rows_cap ? 2 * s->rows_cap : FIRST_ROWS;
  if (cap > INT_MAX)
    cap = INT_MAX;
  if ((size_t)s->n >= cap)
    return sr_fail(s->err, "%s:%ld: too many examples (at most %d)", s->path, s->lineno, INT_MAX);
  int32_t *y = realloc(s->y, cap * sizeof *y);
  if (y)
    s->y = y;
  int64_t *row_start = realloc(s->row_start, (cap + 1) * sizeof *row_start);
  if (row_start)
    s->row_start = row_start;
  if (!y || !row_start)
    return sr_fail(s->err, "%s:%ld: out of memory for %zu examples", s->path, s->lineno, cap);
  s->rows_cap = cap;
  return 0;
}

/* Room for one more nonzero, doubling. */
static int grow_nonzeros(Svm *s) {
  if ((size_t)s->nnz < s->nz_cap)
    return 0;
  size_t cap = s->nz_cap ? 2 * s->nz_cap : FIRST_NONZEROS;
  if (cap > SIZE_MAX / sizeof(float))
    return sr_fail(s->err, "%s:%ld: too many nonzeros", s->path, s->lineno);
  int32_t *col = realloc(s->col, cap * sizeof *col);
  if (col)
    s->col = col;
  float *val = realloc(s->val, cap * sizeof *val);
  if (val)
    s->val = val;
  if (!col || !val)
    return sr_fail(s->err, "%s:%ld: out of memory for %zu nonzeros", s->path, s->lineno, cap);
  s->nz_cap = cap;
  return 0;
}

/* ---- one example --------------------------------------------------------- */

/* Cuts the token at *p (ended by a blank or the line's end) and moves *p
 * past it; NULL when only blanks are left. */
static char *next_token(char **p) {
  char *tok = *p + strspn(*p, BLANKS);
  if (!*tok)
    return NULL;
  char *end = tok + strcspn(tok, BLANKS);
  *p = *end ? end + 1 : end;
  *end = '\0';
  return tok;
}

/* Digits only, saturating just above `limit` (so that a thousand digits
 * cost a thousand steps and no overflow). */
static int64_t parse_digits(const char *s, int64_t limit) {
  int64_t v = 0;
  for (; *s; s++)
    if (v <= limit)
      v = 10 * v + (*s - '0');
  return v;
}

static int bad_label(const Svm *s, const char *tok) {
  char text[SHOW_SIZE];
  show(text, sizeof text, tok);
  int top = s->classes > 0 ? s->classes - 1 : INT32_MAX;
  if ((tok[0] == '-' || tok[0] == '+') && sr_is_digits(tok + 1))
    return sr_fail(s->err,
                   "%s:%ld: label %s is not a class number: labels must be 0..%d (K-1 for K "
                   "classes); map svmlight's binary labels -1/+1 to 0/1",
                   s->path, s->lineno, text, top);
  if (strchr(tok, ':'))
    return sr_fail(s->err, "%s:%ld: expected a label before the features, found \"%s\"", s->path,
                   s->lineno, text);
  return sr_fail(s->err, "%s:%ld: label \"%s\" is not an integer (labels are class numbers 0..%d)",
                 s->path, s->lineno, text, top);
}

static int parse_label(const Svm *s, const char *tok, int32_t *out) {
  if (!sr_is_digits(tok))
    return bad_label(s, tok);
  char text[SHOW_SIZE];
  int64_t v = parse_digits(tok, INT32_MAX);
  if (s->classes > 0 && v >= s->classes)
    return sr_fail(s->err, "%s:%ld: label %s is outside 0..%d", s->path, s->lineno,
                   show(text, sizeof text, tok), s->classes - 1);
  if (v > INT32_MAX)
    return sr_fail(s->err, "%s:%ld: label %s is too large (labels must be below 2^31)", s->path,
                   s->lineno, show(text, sizeof text, tok));
  *out = (int32_t)v;
  return 0;
}

/* INDEX as a number in 1..dim, in order after `last` (0: the first). */
static int parse_index(const Svm *s, const char *tok, int last, int *out) {
  char text[SHOW_SIZE];
  if (!sr_is_digits(tok))
    return sr_fail(s->err, "%s:%ld: index \"%s\" is not a whole number 1..%d", s->path, s->lineno,
                   show(text, sizeof text, tok), s->dim);
  int64_t v = parse_digits(tok, s->dim);
  if (v < 1 || v > s->dim)
    return sr_fail(s->err, "%s:%ld: index %s is out of range 1..%d (the model's input width)",
                   s->path, s->lineno, show(text, sizeof text, tok), s->dim);
  if (v == last)
    return sr_fail(s->err, "%s:%ld: index %d appears twice", s->path, s->lineno, last);
  if (v < last)
    return sr_fail(s->err, "%s:%ld: indices must be strictly ascending: %d after %d", s->path,
                   s->lineno, (int)v, last);
  *out = (int)v;
  return 0;
}

static int parse_value(const Svm *s, const char *tok, float *out) {
  char text[SHOW_SIZE];
  float v = sr_is_decimal(tok) ? strtof(tok, NULL) : NAN; /* underflow: 0 or subnormal, fine */
  if (!isfinite(v))
    return sr_fail(s->err, "%s:%ld: value \"%s\" is not a finite decimal number", s->path,
                   s->lineno, show(text, sizeof text, tok));
  *out = v * s->scale;
  if (!isfinite(*out))
    return sr_fail(s->err, "%s:%ld: value %s times the scale %g is not a finite float", s->path,
                   s->lineno, show(text, sizeof text, tok), (double)s->scale);
  return 0;
}

/* One INDEX:VALUE token, after the index `*last`; stored unless 0. */
static int parse_feature(Svm *s, char *tok, int *last) {
  char text[SHOW_SIZE];
  if (strncmp(tok, "qid:", 4) == 0)
    return sr_fail(s->err,
                   "%s:%ld: \"%s\": svmlight's query ids (qid:) are not supported (they are "
                   "for ranking); remove them",
                   s->path, s->lineno, show(text, sizeof text, tok));
  char *colon = strchr(tok, ':');
  if (!colon || colon == tok || !colon[1])
    return sr_fail(s->err, "%s:%ld: expected INDEX:VALUE, found \"%s\"", s->path, s->lineno,
                   show(text, sizeof text, tok));
  *colon = '\0';
  int index = 0;
  float v = 0;
  if (parse_index(s, tok, *last, &index) < 0 || parse_value(s, colon + 1, &v) < 0)
    return -1;
  *last = index;
  if (v == 0.0f)
    return 0;
  if (grow_nonzeros(s) < 0)
    return -1;
  s->col[s->nnz] = index - 1;
  s->val[s->nnz++] = v;
  return 0;
}

/* One line: an example, or nothing (blank, comment). */
static int parse_line(Svm *s, char *line, size_t len) {
  if (strlen(line) != len)
    return sr_fail(s->err, "%s:%ld: contains a NUL byte: not a text file", s->path, s->lineno);
  if (len > 0 && line[len - 1] == '\r')
    line[len - 1] = '\0';
  line[strcspn(line, "#")] = '\0';
  char *p = line, *tok = next_token(&p);
  if (!tok)
    return 0;
  if (grow_rows(s) < 0 || parse_label(s, tok, &s->y[s->n]) < 0)
    return -1;
  int last = 0;
  while ((tok = next_token(&p)))
    if (parse_feature(s, tok, &last) < 0)
      return -1;
  s->row_start[++s->n] = s->nnz;
  return 0;
}

/* ---- the file ------------------------------------------------------------ */

/* Gives the arrays to `out`, trimmed to size (at least one element each,
 * so that no pointer of a loaded set is NULL). */
static void finish(Svm *s, SrDataset *out) {
  size_t rows = (size_t)s->n, nnz = s->nnz > 0 ? (size_t)s->nnz : 1;
  int32_t *y = realloc(s->y, rows * sizeof *y);
  int64_t *row_start = realloc(s->row_start, (rows + 1) * sizeof *row_start);
  int32_t *col = realloc(s->col, nnz * sizeof *col);
  float *val = realloc(s->val, nnz * sizeof *val);
  *out = (SrDataset){.n = s->n, .dim = s->dim, .owns = 1, .y = y ? y : s->y,
                     .row_start = row_start ? row_start : s->row_start,
                     .col = col ? col : s->col, .val = val ? val : s->val};
  s->y = NULL, s->row_start = NULL, s->col = NULL, s->val = NULL;
}

static int read_examples(Svm *s) {
  if (grow_rows(s) < 0 || grow_nonzeros(s) < 0)
    return -1;
  s->row_start[0] = 0;
  char *line;
  size_t len;
  int rc;
  while ((rc = next_line(s, &line, &len)) > 0)
    if (parse_line(s, line, len) < 0)
      return -1;
  if (rc == 0 && s->n == 0)
    return sr_fail(s->err, "%s: no examples", s->path);
  return rc;
}

int sr_dataset_load_libsvm(const char *path, int dim, int classes, float scale, SrDataset *out,
                           SrError *err) {
  memset(out, 0, sizeof *out);
  if (dim < 1 || classes < 0)
    return sr_fail(err, "%s: cannot read for an input width of %d and %d classes", path, dim,
                   classes);
  Svm s = {.path = path, .dim = dim, .classes = classes, .scale = scale, .err = err};
  int rc = sr_gzfile_open(&s.f, path, err);
  s.path = s.f.path; /* "-" is <stdin> */
  if (rc == 0)
    rc = read_examples(&s);
  if (rc == 0)
    finish(&s, out);
  sr_gzfile_close(&s.f);
  free(s.buf);
  free(s.y);
  free(s.row_start);
  free(s.col);
  free(s.val);
  return rc;
}
