/* predict.c: a model's probabilities for a file of examples, printed one
 * line per example: the class, then every class's probability. `PROG
 * predict` and the REPL's `predict` both print through here, from any
 * state whose parameters are loaded (a bundle's, or the session's). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "sparsert_internal.h"

/* Whether some x[i] is inf or NaN: its exponent bits are all ones, and
 * adding one to them carries into bit 31. One branch-free pass, four
 * elements a step (an and, an add and an or): under one instruction an
 * element, where a test with a branch costs eight, 1% of a batch of one
 * through the paper's network. */
typedef uint32_t Words __attribute__((vector_size(16)));

static int any_nonfinite(const float *x, size_t n) {
  const uint32_t exponent = 0x7f800000u, carry = 0x00800000u;
  Words acc = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    Words w;
    memcpy(&w, x + i, sizeof w);
    acc |= (w & exponent) + carry;
  }
  uint32_t bad = acc[0] | acc[1] | acc[2] | acc[3];
  for (; i < n; i++) {
    uint32_t w;
    memcpy(&w, x + i, sizeof w);
    bad |= (w & exponent) + carry;
  }
  return (bad & 0x80000000u) != 0;
}

/* Every input is finite: a NaN would not show in the outputs (a relu turns
 * it into 0), and an inf would be blamed on the first layer. `first` is the
 * batch's first row in the caller's x. */
static int check_inputs(const float *x, int rows, int inputs, long first, SrError *err) {
  size_t n = (size_t)rows * (size_t)inputs;
  if (!any_nonfinite(x, n))
    return 0;
  size_t i = 0;
  while (isfinite(x[i]))
    i++;
  return sr_fail(err, "row %ld, input %zu is not finite (%s)", first + (long)(i / (size_t)inputs),
                 i % (size_t)inputs, sr_nonfinite_name(x[i]));
}

/* One batch of at most max_rows rows. The labels only feed the loss that
 * infer also computes (class 0 is always a valid label; the loss is not
 * checked). */
static int infer_batch(SrState *st, const float *x, int rows, long first, float *probs,
                       SrError *err) {
  const SrModel *m = st->model;
  int inputs = m->slots[m->slot_x].cols;
  if (check_inputs(x, rows, inputs, first, err) < 0)
    return -1;
  memcpy(st->slots[m->slot_x], x, (size_t)rows * (size_t)inputs * sizeof *x);
  memset(st->slots[m->slot_y], 0, (size_t)rows * sizeof(int32_t));
  m->infer(st->slots, rows);
  if (sr_check_infer_finite(st, first, rows, 0, err) < 0)
    return -1;
  memcpy(probs, st->slots[m->slot_probs], (size_t)rows * (size_t)m->classes * sizeof *probs);
  return 0;
}

int sr_infer_rows(SrState *st, const float *x, int rows, float *probs, SrError *err) {
  const SrModel *m = st->model;
  size_t inputs = (size_t)m->slots[m->slot_x].cols, classes = (size_t)m->classes;
  for (int done = 0; done < rows; done += st->max_rows) {
    int n = rows - done < st->max_rows ? rows - done : st->max_rows;
    if (infer_batch(st, x + (size_t)done * inputs, n, done, probs + (size_t)done * classes, err) <
        0)
      return -1;
  }
  return 0;
}

/* The class is the first of the largest probabilities, as in evaluation;
 * %.9g gives each float back exactly. */
static void print_predictions(FILE *out, const float *probs, int rows, int classes) {
  for (int r = 0; r < rows; r++) {
    const float *p = probs + (size_t)r * (size_t)classes;
    int best = 0;
    for (int k = 1; k < classes; k++)
      if (p[k] > p[best])
        best = k;
    fprintf(out, "%d", best);
    for (int k = 0; k < classes; k++)
      fprintf(out, " %.9g", p[k]);
    fputc('\n', out);
  }
}

int sr_predict(SrState *st, const SrProgramConfig *cfg, const char *input,
               const char *label_column, int label_required, FILE *out, const char *out_name,
               SrError *err) {
  SrDataset in = {0};
  float *probs = NULL;
  const char *name = strcmp(input, "-") == 0 ? "standard input" : input;
  size_t bytes = 0;
  int rc = sr_program_load_inputs(cfg, input, label_column, label_required, &in, err);
  if (rc == 0) {
    bytes = ((size_t)in.n + 1) * (size_t)cfg->classes * sizeof *probs;
    if (!(probs = malloc(bytes)))
      rc = sr_fail(err, "%s: out of memory for %d predictions (%zu bytes)", name, in.n, bytes);
  }
  SrError why;
  /* nothing is printed unless every prediction is finite */
  if (rc == 0 && sr_infer_rows(st, in.x, in.n, probs, &why) != 0)
    rc = sr_fail(err, "%s: %s", name, why.msg);
  if (rc == 0)
    print_predictions(out, probs, in.n, cfg->classes);
  if (rc == 0 && (fflush(out) != 0 || ferror(out)))
    rc = sr_fail(err, "writing the predictions to %s: %s", out_name, strerror(errno));
  free(probs);
  sr_dataset_free(&in);
  return rc;
}
