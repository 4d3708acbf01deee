/* diag.c: diagnostics in the shape clang and rustc use,
 *
 *   model.spn:3:26: error: unknown activation 'rleu'
 *       3 |   layer h1 = dense(1000, rleu)
 *         |                          ^~~~
 *
 * printed as soon as they are reported, so that a crash later still leaves
 * the messages that explain it. A location may point into another source
 * than the spec file (a --set override); it is then shown from there.
 * After DIAG_MAX_ERRORS errors the rest are counted but not shown: a
 * binary file would otherwise flood the terminal. */
#include <unistd.h>

#include "frontend_internal.h"

#define TAB_WIDTH 4  /* tabs are shown as spaces so the caret lines up */
#define MAX_SHOWN 160 /* longer lines are shown as a window around the caret */
#define SHOWN_BEFORE 60

#define BOLD "\033[1m"
#define RED "\033[1;31m"
#define MAGENTA "\033[1;35m"
#define CYAN "\033[1;36m"
#define GREEN "\033[1;32m"
#define RESET "\033[0m"

typedef enum Severity { ERROR, WARNING, NOTE } Severity;

void diag_init(Diag *d, const Source *src, FILE *out) {
  d->src = src;
  d->out = out ? out : stderr;
  int fd = fileno(d->out);  /* -1 for memory streams: no colour there */
  d->color = fd >= 0 && isatty(fd) && !getenv("NO_COLOR");
  d->errors = 0;
  d->warnings = 0;
  d->last = (Loc){0, 0, 0, NULL};
}

static const char *paint(const Diag *d, const char *code) {
  return d->color ? code : "";
}

static void print_header(Diag *d, Severity sev, Loc loc, const char *fmt, va_list ap) {
  static const char *const names[] = {"error", "warning", "note"};
  static const char *const colors[] = {RED, MAGENTA, CYAN};
  fprintf(d->out, "%s%s:", paint(d, BOLD), loc_source(loc, d->src)->path);
  if (loc.line > 0)
    fprintf(d->out, "%d:%d:", loc.line, loc.col);
  fprintf(d->out, " %s%s:%s ", paint(d, colors[sev]), names[sev], paint(d, RESET));
  if (sev != NOTE)
    fputs(paint(d, BOLD), d->out);
  vfprintf(d->out, fmt, ap);
  fprintf(d->out, "%s\n", paint(d, RESET));
}

/* Bytes in the well-formed UTF-8 sequence at s (at most n bytes), or 0. */
static int utf8_length(const unsigned char *s, int n) {
  int len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
          : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
  if (len == 0 || len > n)
    return 0;
  for (int i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  return len;
}

/* One character of a source line as shown: `*bytes` of the text starting
 * at text[i], taking the returned number of screen columns at column x.
 * Tabs become spaces to the next stop, control bytes a space, and bytes
 * that are not UTF-8 a '?', so that the caret below lines up. */
static int shown_width(const char *text, int len, int i, int x, int *bytes) {
  const unsigned char *c = (const unsigned char *)text + i;
  *bytes = 1;
  if (*c == '\t')
    return TAB_WIDTH - x % TAB_WIDTH;
  if (*c >= 0x80) {
    int n = utf8_length(c, len - i);
    *bytes = n ? n : 1;
    if (n == 3 && c[0] == 0xEF && c[1] == 0xBB && c[2] == 0xBF)
      return 0;  /* a byte order mark: invisible */
  }
  return 1;
}

static void print_line(Diag *d, const char *text, int len) {
  int x = 0, n;
  for (int i = 0; i < len; i += n) {
    unsigned char c = text[i];
    int w = shown_width(text, len, i, x, &n);
    if (c == '\t' || c < 0x20 || c == 0x7f || w == 0)
      fprintf(d->out, "%*s", w, "");
    else if (c >= 0x80 && n == 1)
      fputc('?', d->out);
    else
      fwrite(text + i, 1, n, d->out);
    x += w;
  }
}

/* "^" under the first byte of the span, "~" under the rest of it on this
 * line; columns past the end of the line (end of file) still get a caret. */
static void print_caret(Diag *d, const char *text, int len, Loc loc) {
  int start = loc.col - 1, end = start + (loc.len > 0 ? loc.len : 1);
  int lead = 0, marks = 0, n;
  for (int i = 0; i < start && i < len; i += n)
    lead += shown_width(text, len, i, lead, &n);
  if (start > len)
    lead += start - len;
  for (int i = start; i < end && i < len; i += n)
    marks += shown_width(text, len, i, lead + marks, &n);
  if (marks == 0)
    marks = 1;
  fprintf(d->out, "%*s%s^", lead, "", paint(d, GREEN));
  for (int i = 1; i < marks; i++)
    fputc('~', d->out);
  fprintf(d->out, "%s\n", paint(d, RESET));
}

/* The part of a long line that is shown: [*from, *to), around byte `at`,
 * not starting inside a UTF-8 sequence. */
static void window(const char *text, int len, int at, int *from, int *to) {
  *from = 0;
  *to = len;
  if (len <= MAX_SHOWN)
    return;
  *from = at > SHOWN_BEFORE ? at - SHOWN_BEFORE : 0;
  if (*from > len)
    *from = len;
  while (*from > 0 && *from < len && (text[*from] & 0xC0) == 0x80)
    (*from)--;
  *to = *from + MAX_SHOWN < len ? *from + MAX_SHOWN : len;
}

static void print_snippet(Diag *d, Loc loc) {
  int len;
  const char *text = source_line(loc_source(loc, d->src), loc.line, &len);
  if (!text)
    return;
  if (len > 0 && text[len - 1] == '\r')  /* CRLF files */
    len--;
  int from, to;
  window(text, len, loc.col - 1, &from, &to);
  const char *dots = from > 0 ? "..." : "";
  int gutter = snprintf(NULL, 0, "%d", loc.line);
  if (gutter < 5)
    gutter = 5;
  fprintf(d->out, "%*d | %s", gutter, loc.line, dots);
  print_line(d, text + from, to - from);
  fprintf(d->out, "%s\n%*s | %s", to < len ? "..." : "", gutter, "", from > 0 ? "   " : "");
  loc.col -= from;
  print_caret(d, text + from, to - from, loc);
}

static int same_loc(Loc a, Loc b) {
  return a.line == b.line && a.col == b.col && a.len == b.len && a.src == b.src;
}

static void report(Diag *d, Severity sev, Loc loc, const char *fmt, va_list ap) {
  if (d->errors >= DIAG_MAX_ERRORS)
    return;
  print_header(d, sev, loc, fmt, ap);
  /* "did you mean" sits right under the snippet it is about */
  int repeat = sev == NOTE && same_loc(loc, d->last);
  if (loc.line > 0 && !repeat)
    print_snippet(d, loc);
  d->last = loc;
  fflush(d->out);
}

void diag_error(Diag *d, Loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(d, ERROR, loc, fmt, ap);
  va_end(ap);
  if (++d->errors == DIAG_MAX_ERRORS) {
    fprintf(d->out, "%s: too many errors; stopping here\n", d->src->path);
    fflush(d->out);
  }
}

void diag_warning(Diag *d, Loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(d, WARNING, loc, fmt, ap);
  va_end(ap);
  d->warnings++;
}

void diag_note(Diag *d, Loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(d, NOTE, loc, fmt, ap);
  va_end(ap);
}
