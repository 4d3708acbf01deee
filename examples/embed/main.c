/* A C program that embeds a model compiled by `sparsec build --bundle`:
 * the toy XOR classifier of examples/toy_xor.spn (see README.md here).
 *
 *   embed DATA.csv [WEIGHTS.safetensors]
 *
 * DATA.csv has a header row, then one example a line: the model's inputs,
 * optionally followed by the class label. Prints one line per example:
 * the predicted class, then the probability of each class, the format of
 * `PROG predict` (PROG made by `sparsec build -o`); with labels, the error
 * rate goes to stderr. Without WEIGHTS, the weights compiled into the
 * bundle (--embed-weights) are used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toy_xor.h"

enum { MAX_ROWS = 100000 };

typedef struct Data {
  float *x;    /* rows x TOY_XOR_INPUTS */
  int *label;  /* -1 where the line has none */
  int rows;
} Data;

/* One line: the inputs (scaled as the spec scales its data), then
 * perhaps a label. 0 on success, -1 if the line is malformed. */
static int parse_line(char *line, float *x, int *label) {
  char *p = line, *end;
  for (int k = 0; k < TOY_XOR_INPUTS; k++) {
    x[k] = strtof(p, &end) * (float)TOY_XOR_SCALE;
    if (end == p)
      return -1;
    p = end + strspn(end, " \t");
    if (k + 1 < TOY_XOR_INPUTS && *p++ != ',')
      return -1;
  }
  *label = -1;
  if (*p == ',') {
    long v = strtol(p + 1, &end, 10);
    if (end == p + 1 || v < 0 || v >= TOY_XOR_CLASSES)
      return -1;
    *label = (int)v;
  }
  return 0;
}

static int read_data(const char *path, Data *d) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  char line[4096];
  d->x = malloc(sizeof *d->x * TOY_XOR_INPUTS * MAX_ROWS);
  d->label = malloc(sizeof *d->label * MAX_ROWS);
  d->rows = 0;
  int lineno = 1, rc = d->x && d->label && fgets(line, sizeof line, f) ? 0 : -1; /* header */
  while (rc == 0 && fgets(line, sizeof line, f)) {
    lineno++;
    if (line[strspn(line, " \t\r\n")] == '\0')
      continue;
    if (d->rows == MAX_ROWS) {
      fprintf(stderr, "%s: more than %d examples\n", path, MAX_ROWS);
      rc = -1;
      break;
    }
    rc = parse_line(line, d->x + (size_t)d->rows * TOY_XOR_INPUTS, &d->label[d->rows]);
    if (rc != 0)
      fprintf(stderr, "%s:%d: expected %d numbers and perhaps a label\n", path, lineno,
              TOY_XOR_INPUTS);
    d->rows++;
  }
  fclose(f);
  return rc;
}

/* The first index of the largest probability, as sparsec's runtime picks. */
static int argmax(const float *p) {
  int best = 0;
  for (int k = 1; k < TOY_XOR_CLASSES; k++)
    if (p[k] > p[best])
      best = k;
  return best;
}

static void report(const Data *d, const float *probs) {
  int labelled = 0, errors = 0;
  for (int r = 0; r < d->rows; r++) {
    const float *p = probs + (size_t)r * TOY_XOR_CLASSES;
    int c = argmax(p);
    printf("%d", c);
    for (int k = 0; k < TOY_XOR_CLASSES; k++)
      printf(" %.9g", p[k]);
    putchar('\n');
    if (d->label[r] >= 0) {
      labelled++;
      errors += c != d->label[r];
    }
  }
  if (labelled > 0)
    fprintf(stderr, "error: %.2f%% (%d of %d)\n", 100.0 * errors / labelled, errors, labelled);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s DATA.csv [WEIGHTS.safetensors]\n", argv[0]);
    return 2;
  }
  char err[512];
  toy_xor_ctx *model = toy_xor_create(argc == 3 ? argv[2] : NULL, err, sizeof err);
  if (!model) {
    fprintf(stderr, "%s: %s\n", argv[0], err);
    return 1;
  }
  Data d = {0};
  int rc = read_data(argv[1], &d);
  float *probs = rc == 0 ? malloc(sizeof *probs * TOY_XOR_CLASSES * ((size_t)d.rows + 1)) : NULL;
  if (rc == 0 && probs && toy_xor_infer(model, d.x, d.rows, probs) == 0)
    report(&d, probs);
  else
    rc = 1;
  free(probs);
  free(d.x);
  free(d.label);
  toy_xor_free(model);
  return rc == 0 ? 0 : 1;
}
