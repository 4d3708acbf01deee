/* diag.c: diagnostics in the shape clang and rustc use,
 *
 *   model.spn:3:26: error: unknown activation 'rleu'
 *       3 |   layer h1 = dense(1000, rleu)
 *         |                          ^~~~
 *
 * printed as soon as they are reported, so that a crash later still leaves
 * the messages that explain it. */
#include <unistd.h>

#include "frontend_internal.h"

#define TAB_WIDTH 4  /* tabs are shown as spaces so the caret lines up */

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
  d->last = (Loc){0, 0, 0};
}

static const char *paint(const Diag *d, const char *code) {
  return d->color ? code : "";
}

static void print_header(Diag *d, Severity sev, Loc loc, const char *fmt, va_list ap) {
  static const char *const names[] = {"error", "warning", "note"};
  static const char *const colors[] = {RED, MAGENTA, CYAN};
  fprintf(d->out, "%s%s:", paint(d, BOLD), d->src->path);
  if (loc.line > 0)
    fprintf(d->out, "%d:%d:", loc.line, loc.col);
  fprintf(d->out, " %s%s:%s ", paint(d, colors[sev]), names[sev], paint(d, RESET));
  if (sev != NOTE)
    fputs(paint(d, BOLD), d->out);
  vfprintf(d->out, fmt, ap);
  fprintf(d->out, "%s\n", paint(d, RESET));
}

/* How many screen columns byte `c` takes when it starts at column `x`.
 * UTF-8 continuation bytes take none, so a caret after 'é' still lines up. */
static int width_of(unsigned char c, int x) {
  if (c == '\t')
    return TAB_WIDTH - x % TAB_WIDTH;
  if ((c & 0xC0) == 0x80)
    return 0;
  return 1;
}

static void print_line(Diag *d, const char *text, int len) {
  int x = 0;
  for (int i = 0; i < len; i++) {
    unsigned char c = text[i];
    int w = width_of(c, x);
    if (c == '\t' || c < 0x20 || c == 0x7f)
      fprintf(d->out, "%*s", w, "");
    else
      fputc(c, d->out);
    x += w;
  }
}

/* "^" under the first byte of the span, "~" under the rest of it on this
 * line; columns past the end of the line (end of file) still get a caret. */
static void print_caret(Diag *d, const char *text, int len, Loc loc) {
  int start = loc.col - 1, end = start + (loc.len > 0 ? loc.len : 1);
  int lead = 0, marks = 0;
  for (int i = 0; i < start && i < len; i++)
    lead += width_of(text[i], lead);
  if (start > len)
    lead += start - len;
  for (int i = start; i < end && i < len; i++)
    marks += width_of(text[i], lead + marks);
  if (marks == 0)
    marks = 1;
  fprintf(d->out, "%*s%s^", lead, "", paint(d, GREEN));
  for (int i = 1; i < marks; i++)
    fputc('~', d->out);
  fprintf(d->out, "%s\n", paint(d, RESET));
}

static void print_snippet(Diag *d, Loc loc) {
  int len;
  const char *text = source_line(d->src, loc.line, &len);
  if (!text)
    return;
  if (len > 0 && text[len - 1] == '\r')  /* CRLF files */
    len--;
  int gutter = snprintf(NULL, 0, "%d", loc.line);
  if (gutter < 5)
    gutter = 5;
  fprintf(d->out, "%*d | ", gutter, loc.line);
  print_line(d, text, len);
  fprintf(d->out, "\n%*s | ", gutter, "");
  print_caret(d, text, len, loc);
}

static int same_loc(Loc a, Loc b) {
  return a.line == b.line && a.col == b.col && a.len == b.len;
}

static void report(Diag *d, Severity sev, Loc loc, const char *fmt, va_list ap) {
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
  d->errors++;
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
