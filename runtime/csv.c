/* csv.c: CSV data sets with a header row and a named label column (which
 * inputs to predict may leave out).
 *
 *   x1,x2,label
 *   0.5,1.25,2
 *
 * Fields are separated by commas, lines end in LF or CRLF, blank lines may
 * trail the data, and spaces around a field are ignored. Quoted fields are
 * not supported: numeric data never needs them, and a quote most likely
 * means the file is not the numeric table it should be, so it is refused
 * with that message rather than misread. The file is streamed line by line
 * (getline), so its size is limited only by memory.
 *
 * Every line is checked: field count, features decimal numbers (optional
 * sign, digits with an optional point, optional exponent: no hexadecimal,
 * inf or nan; decimal.c) that are finite as floats, labels non-negative
 * integers below 2^31. Messages name the file and line ("data.csv:17:
 * expected 3 fields, found 2").
 *
 * The work is linear in the file: each line is scanned a fixed number of
 * times, the label column is found in one pass over the header, and the
 * row arrays grow by doubling from a size bounded by what a row holds, so
 * that memory follows the data actually read, not the column count alone. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sparsert_internal.h"

/* The list of columns in "no column named ..." stops near this length. */
#define COLUMN_LIST_MAX 600
/* The row arrays start with room for this many floats at most (at least
 * one row), then double: a wide header with a single row costs that row. */
#define FIRST_FLOATS (1 << 18)
/* Far more than any real table; keeps field counts safely inside an int. */
#define MAX_COLUMNS (1 << 24)

typedef struct Csv {
  const char *path;
  float scale;
  char *header;        /* the header line, split in place: names point into it */
  char **names;        /* column names, from the header */
  int fields;          /* per line, the label column included */
  int label;           /* index of the label column; -1: none (inputs only) */
  int label_optional;  /* a missing label column is not an error */
  int features;        /* fields, without the label column */
  const char *expect;  /* the features by name, "x1,x2" (NULL: every non-label column, in order) */
  int *slot;           /* column -> its feature's index in a row of x; -1: the label, unused */
  char **cells;        /* scratch: one data line split into fields */
  int n;               /* rows read */
  size_t cap;          /* rows allocated in x and y */
  float *x;
  int32_t *y;
} Csv;

/* ---- lines and fields ---------------------------------------------------- */

/* Drops the line ending (LF or CRLF); returns the new length. */
static size_t strip_eol(char *line, size_t len) {
  if (len > 0 && line[len - 1] == '\n')
    line[--len] = '\0';
  if (len > 0 && line[len - 1] == '\r')
    line[--len] = '\0';
  return len;
}

static int is_blank(const char *s) {
  return s[strspn(s, " \t")] == '\0';
}

static char *trim(char *s) {
  s += strspn(s, " \t");
  size_t len = strlen(s);
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    s[--len] = '\0';
  return s;
}

/* Counts up to MAX_COLUMNS + 1: any more is already too many. */
static int count_fields(const char *line) {
  int n = 1;
  for (const char *p = line; n <= MAX_COLUMNS && (p = strchr(p, ',')); p++)
    n++;
  return n;
}

/* Splits `line` at commas in place into cells[0..n), trimmed. */
static void split(char *line, char **cells, int n) {
  for (int i = 0; i < n; i++) {
    char *comma = strchr(line, ',');
    if (comma)
      *comma = '\0';
    cells[i] = trim(line);
    line = comma ? comma + 1 : line + strlen(line);
  }
}

/* What no line may contain, whatever its role. */
static int check_line(const Csv *c, long lineno, const char *line, size_t len, SrError *err) {
  if (strlen(line) != len)
    return sr_fail(err, "%s:%ld: contains a NUL byte: not a text file", c->path, lineno);
  if (strchr(line, '"'))
    return sr_fail(err, "%s:%ld: quoted fields are not supported (found '\"')", c->path, lineno);
  return 0;
}

/* ---- the header ---------------------------------------------------------- */

/* "x1, x2, y", cut short with the column count if it gets long. */
static void column_list(const Csv *c, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < c->fields; i++) {
    size_t need = strlen(c->names[i]) + 2;
    if (used + need > COLUMN_LIST_MAX) {
      snprintf(buf + used, size - used, "... (%d columns)", c->fields);
      return;
    }
    used += (size_t)snprintf(buf + used, size - used, "%s%s", c->names[i],
                             i + 1 < c->fields ? ", " : "");
  }
}

static int find_label(Csv *c, const char *label_column, SrError *err) {
  c->label = -1;
  for (int i = 0; i < c->fields; i++) {
    if (strcmp(c->names[i], label_column) != 0)
      continue;
    if (c->label >= 0)
      return sr_fail(err, "%s:1: the label column '%s' appears twice (columns %d and %d)",
                     c->path, label_column, c->label + 1, i + 1);
    c->label = i;
  }
  if (c->label < 0 && !c->label_optional) {
    char list[COLUMN_LIST_MAX + 32];
    column_list(c, list, sizeof list);
    return sr_fail(err, "%s:1: no column named '%s' for the labels (columns: %s)", c->path,
                   label_column, list);
  }
  return 0;
}

/* After matching: the header's columns that are no feature (extra = 1),
 * or the expected names no column has (extra = 0), as "'a', 'b'" in out;
 * their count. */
static int names_in(const Csv *c, int extra, char *out, size_t size) {
  int n = 0;
  size_t used = 0;
  out[0] = '\0';
  if (extra) {
    for (int i = 0; i < c->fields; i++)
      if (i != c->label && c->slot[i] < 0 && used < size)
        n++, used += (size_t)snprintf(out + used, size - used, "%s'%s'", n > 1 ? ", " : "",
                                      c->names[i]);
    return n;
  }
  const char *name = c->expect;
  for (int k = 0; *name; k++) {
    size_t len = strcspn(name, ",");
    int found = 0;
    for (int i = 0; i < c->fields && !found; i++)
      found = c->slot[i] == k;
    if (!found && used < size)
      n++, used += (size_t)snprintf(out + used, size - used, "%s'%.*s'", n > 1 ? ", " : "",
                                    (int)len, name);
    name += len + (name[len] == ',');
  }
  return n;
}

/* Columns matched to the model's features by name, in any order: each
 * expected name must be a column, and every column but the label one of
 * them. */
static int match_names(Csv *c, SrError *err) {
  int k = 0;
  for (int i = 0; i < c->fields; i++)
    c->slot[i] = -1;
  for (const char *name = c->expect; *name; k++) {
    size_t len = strcspn(name, ",");
    for (int i = 0; i < c->fields; i++)
      if (i != c->label && strlen(c->names[i]) == len && strncmp(c->names[i], name, len) == 0)
        c->slot[i] = c->slot[i] < 0 ? k : c->slot[i];
    name += len + (name[len] == ',');
  }
  char list[COLUMN_LIST_MAX + 32];
  int n = names_in(c, 0, list, sizeof list);
  if (n > 0)
    return sr_fail(err, "%s:1: no column for the feature%s %s (the model's features: %s)", c->path,
                   n > 1 ? "s" : "", list, c->expect);
  if ((n = names_in(c, 1, list, sizeof list)) > 0)
    return sr_fail(err, "%s:1: the column%s %s %s of the model (its features: %s)", c->path,
                   n > 1 ? "s" : "", list, n > 1 ? "are not features" : "is not a feature",
                   c->expect);
  c->features = k;
  return 0;
}

/* Takes ownership of `line`, whose cells the names point into. */
static int read_header(Csv *c, char *line, const char *label_column, SrError *err) {
  c->header = line;
  /* Spreadsheets often start UTF-8 files with a byte order mark. */
  if (strncmp(line, "\xef\xbb\xbf", 3) == 0)
    line += 3;
  c->fields = count_fields(line);
  if (c->fields > MAX_COLUMNS)
    return sr_fail(err, "%s:1: more than %d columns", c->path, MAX_COLUMNS);
  c->names = malloc((size_t)c->fields * sizeof *c->names);
  c->cells = malloc((size_t)c->fields * sizeof *c->cells);
  if (!c->names || !c->cells)
    return sr_fail(err, "%s: out of memory for %d columns", c->path, c->fields);
  split(line, c->names, c->fields);
  for (int i = 0; i < c->fields; i++)
    if (c->names[i][0] == '\0')
      return sr_fail(err, "%s:1: column %d of the header has no name", c->path, i + 1);
  if (find_label(c, label_column, err) < 0)
    return -1;
  c->features = c->fields - (c->label >= 0);
  if (c->features < 1)
    return sr_fail(err, "%s:1: no feature columns: the header has only the label column '%s'",
                   c->path, label_column);
  if (!(c->slot = malloc((size_t)c->fields * sizeof *c->slot)))
    return sr_fail(err, "%s: out of memory for %d columns", c->path, c->fields);
  for (int i = 0, k = 0; i < c->fields; i++)
    c->slot[i] = i == c->label ? -1 : k++;
  return c->expect ? match_names(c, err) : 0;
}

/* ---- data rows ----------------------------------------------------------- */

/* Why `text`, not decimal, is refused: strtof would take some of it. */
static int not_decimal(const Csv *c, long lineno, const char *name, const char *text,
                       SrError *err) {
  char *end;
  float v = strtof(text, &end);
  int whole = *end == '\0';
  if (whole && sr_is_hexadecimal(text))
    return sr_fail(err, "%s:%ld: column '%s': '%s' is hexadecimal (only decimal numbers are "
                   "accepted)", c->path, lineno, name, text);
  if (whole && !isfinite(v)) /* inf, nan, their spellings */
    return sr_fail(err, "%s:%ld: column '%s': '%s' is not a finite float", c->path, lineno, name,
                   text);
  return sr_fail(err, "%s:%ld: column '%s': '%s' is not a number", c->path, lineno, name, text);
}

static int parse_feature(const Csv *c, long lineno, int col, float *out, SrError *err) {
  const char *text = c->cells[col], *name = c->names[col];
  if (text[0] == '\0')
    return sr_fail(err, "%s:%ld: column '%s' is empty", c->path, lineno, name);
  if (!sr_is_decimal(text))
    return not_decimal(c, lineno, name, text, err);
  float v = strtof(text, NULL); /* underflow gives 0 or a subnormal: fine */
  if (!isfinite(v))
    return sr_fail(err, "%s:%ld: column '%s': '%s' is not a finite float", c->path, lineno, name,
                   text);
  *out = v * c->scale;
  if (!isfinite(*out))
    return sr_fail(err, "%s:%ld: column '%s': %s times the scale %g is not a finite float",
                   c->path, lineno, name, text, (double)c->scale);
  return 0;
}

/* Digits only: no sign, no fraction ("3.0" is refused rather than
 * guessed), at most 2^31 - 1 so that it fits the int32 label slot. */
static int parse_label(const Csv *c, long lineno, int32_t *out, SrError *err) {
  const char *text = c->cells[c->label], *name = c->names[c->label];
  if (!sr_is_digits(text))
    return sr_fail(err, "%s:%ld: label column '%s': '%s' is not a non-negative integer", c->path,
                   lineno, name, text);
  errno = 0;
  unsigned long long v = strtoull(text, NULL, 10);
  if (errno == ERANGE || v > INT32_MAX)
    return sr_fail(err, "%s:%ld: label column '%s': %s is too large (labels must be below 2^31)",
                   c->path, lineno, name, text);
  *out = (int32_t)v;
  return 0;
}

/* Makes room for one more row, doubling. */
static int grow(Csv *c, SrError *err) {
  if ((size_t)c->n < c->cap)
    return 0;
  size_t dim = (size_t)c->features;
  size_t first = FIRST_FLOATS / dim;
  size_t cap = c->cap ? 2 * c->cap : first < 1 ? 1 : first < 1024 ? first : 1024;
  if (cap > INT_MAX)
    cap = INT_MAX;
  if ((size_t)c->n >= cap || cap > SIZE_MAX / sizeof(float) / dim)
    return sr_fail(err, "%s: too many rows (at most %d)", c->path, INT_MAX);
  float *x = realloc(c->x, cap * dim * sizeof *x);
  if (x)
    c->x = x;
  int32_t *y = realloc(c->y, cap * sizeof *y);
  if (y)
    c->y = y;
  if (!x || !y)
    return sr_fail(err, "%s: out of memory after %d rows (growing to %zu bytes)", c->path, c->n,
                   cap * (dim * sizeof *x + sizeof *y));
  c->cap = cap;
  return 0;
}

static int read_row(Csv *c, char *line, long lineno, SrError *err) {
  int found = count_fields(line);
  if (found > MAX_COLUMNS)
    return sr_fail(err, "%s:%ld: expected %d fields, found more than %d", c->path, lineno,
                   c->fields, MAX_COLUMNS);
  if (found != c->fields)
    return sr_fail(err, "%s:%ld: expected %d fields, found %d", c->path, lineno, c->fields, found);
  if (grow(c, err) < 0)
    return -1;
  split(line, c->cells, c->fields);
  float *x = c->x + (size_t)c->n * (size_t)c->features;
  for (int col = 0; col < c->fields; col++)
    if (c->slot[col] >= 0 && parse_feature(c, lineno, col, &x[c->slot[col]], err) < 0)
      return -1;
  c->y[c->n] = 0; /* no label column: inputs to predict, whose labels nothing reads */
  if (c->label >= 0 && parse_label(c, lineno, &c->y[c->n], err) < 0)
    return -1;
  c->n++;
  return 0;
}

/* ---- the file ------------------------------------------------------------ */

/* Reads every line; the first non-blank one is the header. Blank lines
 * are fine only at the end, so one is remembered until the next line with
 * content shows it was not. */
static int read_lines(Csv *c, FILE *f, const char *label_column, SrError *err) {
  char *line = NULL;
  size_t size = 0;
  ssize_t len;
  long lineno = 0, blank = 0;
  int rc = 0;
  while (rc == 0 && (len = getline(&line, &size, f)) >= 0) {
    lineno++;
    size_t n = strip_eol(line, (size_t)len);
    if ((rc = check_line(c, lineno, line, n, err)) < 0)
      break;
    if (is_blank(line)) {
      blank = blank ? blank : lineno;
    } else if (blank) {
      rc = sr_fail(err, "%s:%ld: blank line (blank lines are allowed only at the end)", c->path,
                   blank);
    } else if (!c->header) {
      rc = read_header(c, line, label_column, err);
      line = NULL, size = 0; /* now owned by c->header */
    } else {
      rc = read_row(c, line, lineno, err);
    }
  }
  /* getline's -1 means end of file or a failure: a read error (EISDIR
   * for a folder) or a line too long for memory (ENOMEM, which need not
   * set the stream's error flag, hence the test for end of file). */
  if (rc == 0 && !feof(f))
    rc = sr_fail(err, "%s: read error: %s", c->path, strerror(errno));
  free(line);
  return rc;
}

static void free_csv(Csv *c) {
  free(c->header);
  free(c->names);
  free(c->slot);
  free(c->cells);
  free(c->x);
  free(c->y);
}

/* Gives the rows to `out` (trimming the arrays to size). */
static void finish(Csv *c, SrDataset *out) {
  size_t dim = (size_t)c->features;
  float *x = realloc(c->x, (size_t)c->n * dim * sizeof *x);
  int32_t *y = realloc(c->y, (size_t)c->n * sizeof *y);
  *out = (SrDataset){.n = c->n, .dim = (int)dim, .x = x ? x : c->x, .y = y ? y : c->y, .owns = 1};
  c->x = NULL;
  c->y = NULL;
}

static int load(const char *path, const char *label_column, int label_optional,
                const char *features, float scale, SrDataset *out, SrError *err) {
  memset(out, 0, sizeof *out);
  int from_stdin = strcmp(path, "-") == 0;
  FILE *f = from_stdin ? stdin : fopen(path, "r");
  if (from_stdin)
    path = "<stdin>"; /* messages read <stdin>:LINE */
  if (!f)
    return sr_fail(err, "%s: cannot open: %s", path, strerror(errno));
  Csv c = {.path = path, .scale = scale, .label_optional = label_optional, .expect = features};
  int rc = read_lines(&c, f, label_column, err);
  if (rc == 0 && !c.header)
    rc = sr_fail(err, "%s: empty file: expected a header row naming the columns", path);
  else if (rc == 0 && c.n == 0)
    rc = sr_fail(err, "%s: no data rows after the header", path);
  if (!from_stdin)
    fclose(f);
  if (rc == 0)
    finish(&c, out);
  free_csv(&c);
  return rc;
}

int sr_dataset_load_csv(const char *path, const char *label_column, float scale,
                        SrDataset *out, SrError *err) {
  return load(path, label_column, 0, NULL, scale, out, err);
}

int sr_dataset_load_csv_inputs(const char *path, const char *label_column, const char *features,
                               float scale, SrDataset *out, SrError *err) {
  return load(path, label_column, 1, features && *features ? features : NULL, scale, out, err);
}

char *sr_csv_features(const char *path, const char *label_column, SrError *err) {
  FILE *f = fopen(path, "r");
  if (!f)
    return sr_fail(err, "%s: cannot open: %s", path, strerror(errno)), NULL;
  Csv c = {.path = path, .label_optional = 0};
  char *line = NULL, *joined = NULL;
  size_t size = 0;
  ssize_t len;
  int rc = -1;
  while ((len = getline(&line, &size, f)) >= 0) { /* the first line with content */
    strip_eol(line, (size_t)len);
    if (!is_blank(line)) {
      rc = read_header(&c, line, label_column, err);
      line = NULL;
      break;
    }
  }
  if (rc < 0 && len < 0)
    sr_fail(err, "%s: empty file: expected a header row naming the columns", path);
  size_t total = 1;
  for (int i = 0; rc == 0 && i < c.fields; i++)
    total += strlen(c.names[i]) + 1;
  if (rc == 0 && (joined = malloc(total))) {
    joined[0] = '\0';
    for (int i = 0; i < c.fields; i++)
      if (i != c.label)
        strcat(strcat(joined, joined[0] ? "," : ""), c.names[i]);
  } else if (rc == 0) {
    sr_fail(err, "%s: out of memory for the header", path);
  }
  free(line);
  free_csv(&c);
  fclose(f);
  return joined;
}
