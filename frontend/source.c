/* source.c: a spec file in memory, and the mapping between byte offsets and
 * line/col positions that diagnostics need. */
#include <errno.h>
#include <limits.h>

#include "frontend_internal.h"

static Source *source_new(const char *path, char *text, int len) {
  Source *src = xcalloc(1, sizeof *src);
  src->path = xstrdup(path);
  src->text = text;
  src->len = len;
  return src;
}

/* Read with fread until EOF rather than trusting a file size, so pipes and
 * /dev/stdin work too. */
static char *read_all(FILE *f, int *len) {
  size_t cap = 4096, n = 0;
  char *buf = xrealloc(NULL, cap);
  for (;;) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (ferror(f) || n > INT_MAX - 2) {
      free(buf);
      return NULL;
    }
    if (feof(f))
      break;
    if (n + 1 == cap)
      buf = xrealloc(buf, cap *= 2);
  }
  buf[n] = '\0';
  *len = (int)n;
  return buf;
}

Source *source_read(const char *path, char *err, int errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    return NULL;
  }
  int len = 0;
  errno = 0;
  char *text = read_all(f, &len);
  int saved = errno ? errno : EFBIG;
  fclose(f);
  if (!text) {
    snprintf(err, errlen, "cannot read '%s': %s", path, strerror(saved));
    return NULL;
  }
  return source_new(path, text, len);
}

Source *source_from_string(const char *name, const char *text) {
  return source_new(name, xstrdup(text), (int)strlen(text));
}

void source_free(Source *src) {
  if (!src)
    return;
  free(src->path);
  free(src->text);
  free(src);
}

const char *source_line(const Source *src, int line, int *len) {
  if (line < 1)
    return NULL;
  const char *p = src->text, *end = src->text + src->len;
  for (int i = 1; i < line; i++) {
    const char *nl = memchr(p, '\n', end - p);
    if (!nl)
      return NULL;
    p = nl + 1;
  }
  const char *nl = memchr(p, '\n', end - p);
  *len = (int)((nl ? nl : end) - p);
  return p;
}

int source_offset(const Source *src, int line, int col) {
  int len;
  const char *start = source_line(src, line, &len);
  if (!start)
    return src->len;
  int offset = (int)(start - src->text) + col - 1;
  return offset < src->len ? offset : src->len;
}

Loc source_loc(const Source *src, int offset, int len) {
  Loc loc = {1, 1, len > 0 ? len : 1, NULL};
  for (int i = 0; i < offset && i < src->len; i++) {
    if (src->text[i] == '\n') {
      loc.line++;
      loc.col = 1;
    } else {
      loc.col++;
    }
  }
  return loc;
}
