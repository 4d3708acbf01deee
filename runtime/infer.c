/* infer.c: a compiled model's probabilities for rows in memory, checked
 * for values that are not finite: all a bundle (bundle.c) needs of the
 * runtime besides its state and checkpoint loader. Kept apart from
 * predict.c (files, printing) and train.c so that linking a bundle pulls
 * in neither the data readers (zlib) nor the training engine: a BLAS-free
 * bundle links with this archive and libm alone (docs/aot.md). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sparsert_internal.h"

/* ---- non-finite values after infer ---------------------------------------- */

/* Finite weights and inputs can still overflow float in the forward pass
 * (a product or a sum beyond 3.4e38 is inf; inf - inf is NaN, which a relu
 * turns into 0 and softmax spreads to a whole row). Layers run in order, so
 * the first one whose count is not zero is where it began. */

static const char *hidden_name(const SrModel *m, int k, char *buf, size_t size) {
  if (m->hidden_names[k])
    return m->hidden_names[k];
  snprintf(buf, size, "h%d", k + 1);
  return buf;
}

/* "examples 5..8" or "example 5", 1-based */
static const char *examples(long start, int rows, char *buf, size_t size) {
  if (rows == 1)
    snprintf(buf, size, "example %ld", start + 1);
  else
    snprintf(buf, size, "examples %ld..%ld", start + 1, start + rows);
  return buf;
}

int sr_check_infer_finite(const SrState *st, long start, int rows, int with_loss, SrError *err) {
  const SrModel *m = st->model;
  char where[64], name[32];
  for (int k = 0; k < m->nhidden; k++) {
    float bad = *(const float *)st->slots[m->slot_nonfinite[k]];
    if (bad != 0)
      return sr_fail(err,
                     "layer %s: %.0f of %ld activations are not finite (inf or NaN) in %s: "
                     "the values overflow float (weights or inputs too large)",
                     hidden_name(m, k, name, sizeof name), (double)bad,
                     (long)rows * m->hidden_units[k], examples(start, rows, where, sizeof where));
  }
  const char *out = m->output_name ? m->output_name : "output";
  const float *probs = st->slots[m->slot_probs];
  size_t n = (size_t)rows * (size_t)m->classes, bad = 0, first = 0;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(probs[i]) && bad++ == 0)
      first = i;
  if (bad)
    return sr_fail(err,
                   "layer %s: %zu of %zu outputs are not finite (%s, first in example %ld) in %s, "
                   "though every hidden activation is finite: the values overflow float "
                   "(weights too large)",
                   out, bad, n, sr_nonfinite_name(probs[first]),
                   start + 1 + (long)(first / (size_t)m->classes),
                   examples(start, rows, where, sizeof where));
  float loss = with_loss ? *(const float *)st->slots[m->slot_loss] : 0;
  if (!isfinite(loss))
    return sr_fail(err,
                   "layer %s: the loss is not finite (%s) in %s, though every output is: the "
                   "outputs are too large for it (weights too large)",
                   out, sr_nonfinite_name(loss), examples(start, rows, where, sizeof where));
  return 0;
}

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

/* One batch of at most max_rows rows, rows first.. of the caller's set,
 * already in the input slot. The labels only feed the loss that infer also
 * computes (class 0 is always a valid label; the loss is not checked). */
static int infer_batch(SrState *st, int rows, long first, float *probs, SrError *err) {
  const SrModel *m = st->model;
  const float *x = st->slots[m->slot_x];
  if (check_inputs(x, rows, m->slots[m->slot_x].cols, first, err) < 0)
    return -1;
  memset(st->slots[m->slot_y], 0, (size_t)rows * sizeof(int32_t));
  m->infer(st->slots, rows);
  if (sr_check_infer_finite(st, first, rows, 0, err) < 0)
    return -1;
  memcpy(probs, st->slots[m->slot_probs], (size_t)rows * (size_t)m->classes * sizeof *probs);
  return 0;
}

int sr_infer_batches(SrState *st, SrFillInput fill, const void *set, int rows, float *probs,
                     SrError *err) {
  size_t classes = (size_t)st->model->classes;
  for (int done = 0; done < rows; done += st->max_rows) {
    int n = rows - done < st->max_rows ? rows - done : st->max_rows;
    fill(st->slots[st->model->slot_x], set, done, n);
    if (infer_batch(st, n, done, probs + (size_t)done * classes, err) < 0)
      return -1;
  }
  return 0;
}

typedef struct {
  const float *x;
  size_t inputs;
} DenseRows;

static void copy_dense_rows(float *slot, const void *set, int first, int rows) {
  const DenseRows *d = set;
  memcpy(slot, d->x + (size_t)first * d->inputs, (size_t)rows * d->inputs * sizeof *slot);
}

int sr_infer_rows(SrState *st, const float *x, int rows, float *probs, SrError *err) {
  const SrModel *m = st->model;
  DenseRows d = {x, (size_t)m->slots[m->slot_x].cols};
  return sr_infer_batches(st, copy_dense_rows, &d, rows, probs, err);
}
