/* dist_exchange.c: averaging a split step's gradients across ranks.
 *
 * Each rank packs weight x gradient (weight = its share of the global
 * minibatch's rows) and the weighted loss into one buffer; one
 * MPI_Allreduce sums the buffers; unpacking copies the sums back into the
 * gradient slots. One collective per step, however many parameters.
 *
 * Sparse exchange: row i of a weight gradient x^T d is zero when input i
 * was zero on every example of the slice (a pixel that is always black, a
 * word absent from every document, a rectifier unit silent on the whole
 * slice). Ranks first OR a one-byte-per-row mask of the rows they touched
 * (a small allreduce), then pack only rows that some rank touched: a row
 * no rank touched is zero everywhere, so it needs no sending. It costs a
 * scan of the gradients and a second, small collective; it pays when few
 * enough rows are touched. In auto mode the mask says, each time it is
 * exchanged, whether it did: when sparse would not have halved the bytes,
 * the next AUTO_DENSE_STEPS exchanges are dense (no scan, no mask), then
 * the mask is tried again. Every rank decides from the same reduced mask
 * and step count, so all take the same branch. */
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"

#define AUTO_DENSE_STEPS 64

typedef struct Grad {
  float *data;
  int rows, cols;
} Grad;

static Grad gradient(const SrState *st, const SrSplitStep *s, int k) {
  int slot = st->model->gradients[s->first + k].slot;
  const SrSlot *sl = &st->model->slots[slot];
  return (Grad){st->slots[slot], sl->rows, sl->cols};
}

static size_t total_rows(const SrState *st, const SrSplitStep *s) {
  size_t rows = 0;
  for (int k = 0; k < s->count; k++)
    rows += (size_t)gradient(st, s, k).rows;
  return rows;
}

static size_t total_floats(const SrState *st, const SrSplitStep *s) {
  size_t n = 0;
  for (int k = 0; k < s->count; k++) {
    Grad g = gradient(st, s, k);
    n += (size_t)g.rows * (size_t)g.cols;
  }
  return n;
}

static int reserve(SrDist *d, size_t floats, size_t mask_bytes, SrError *err) {
  if (floats > d->buf_cap) {
    float *b = realloc(d->buf, floats * sizeof *b);
    if (!b)
      return sr_fail(err, "out of memory for the gradient exchange (%zu floats)", floats);
    d->buf = b;
    d->buf_cap = floats;
  }
  if (mask_bytes > d->mask_cap) {
    uint8_t *m = realloc(d->mask, mask_bytes);
    if (!m)
      return sr_fail(err, "out of memory for the gradient exchange's row mask");
    d->mask = m;
    d->mask_cap = mask_bytes;
  }
  return 0;
}

static int row_touched(const float *row, int cols) {
  for (int j = 0; j < cols; j++)
    if (row[j] != 0)
      return 1;
  return 0;
}

/* This rank's touched rows, ORed over the ranks: mask[i] = 1 if some rank
 * touched row i. Returns the floats those rows hold. */
static size_t exchange_mask(SrDist *d, const SrState *st, const SrSplitStep *s, int idle) {
  uint8_t *mask = d->mask;
  for (int k = 0; k < s->count; k++) {
    Grad g = gradient(st, s, k);
    for (int i = 0; i < g.rows; i++)
      *mask++ = !idle && row_touched(g.data + (size_t)i * g.cols, g.cols);
  }
  size_t nmask = (size_t)(mask - d->mask);
  double t0 = sr_now();
  sr_net_max_bytes(d, d->mask, nmask);
  d->stats.wait_seconds += sr_now() - t0;
  size_t floats = 0;
  mask = d->mask;
  for (int k = 0; k < s->count; k++) {
    Grad g = gradient(st, s, k);
    for (int i = 0; i < g.rows; i++)
      floats += *mask++ ? (size_t)g.cols : 0;
  }
  return floats;
}

/* Packs weight x the rows that travel (all when mask is NULL); an idle
 * rank (no rows in this minibatch) sends zeros, whatever its slots hold. */
static size_t pack(float *buf, const SrState *st, const SrSplitStep *s, const uint8_t *mask,
                   float weight, int idle) {
  size_t at = 0;
  for (int k = 0; k < s->count; k++) {
    Grad g = gradient(st, s, k);
    for (int i = 0; i < g.rows; i++) {
      if (mask && !*mask++)
        continue;
      const float *row = g.data + (size_t)i * g.cols;
      for (int j = 0; j < g.cols; j++)
        buf[at + j] = idle ? 0 : weight * row[j];
      at += (size_t)g.cols;
    }
  }
  return at;
}

static void unpack(const float *buf, const SrState *st, const SrSplitStep *s, const uint8_t *mask) {
  size_t at = 0;
  for (int k = 0; k < s->count; k++) {
    Grad g = gradient(st, s, k);
    for (int i = 0; i < g.rows; i++) {
      if (mask && !*mask++)
        continue; /* untouched on every rank, this one included: zero already */
      memcpy(g.data + (size_t)i * g.cols, buf + at, (size_t)g.cols * sizeof *buf);
      at += (size_t)g.cols;
    }
  }
}

/* Whether this exchange sends a mask first; auto's bookkeeping. */
static int use_mask(SrDist *d) {
  if (d->exchange == SR_EXCHANGE_DENSE)
    return 0;
  if (d->exchange == SR_EXCHANGE_SPARSE)
    return 1;
  if (d->dense_streak > 0) {
    d->dense_streak--;
    return 0;
  }
  return 1;
}

int sr_dist_exchange(SrDist *d, SrState *st, const SrSplitStep *s, double weight, float *loss) {
  double t0 = sr_now();
  SrError err;
  size_t dense = total_floats(st, s), nmask = total_rows(st, s);
  if (reserve(d, dense + 1, nmask, &err) != 0)
    sr_dist_abort(d, err.msg); /* the other ranks are already in the allreduce */
  int idle = weight == 0;
  const uint8_t *mask = NULL;
  if (use_mask(d)) {
    size_t sparse = exchange_mask(d, st, s, idle);
    mask = d->mask;
    d->stats.bytes += (double)nmask;
    d->stats.sparse_steps++;
    if (d->exchange == SR_EXCHANGE_AUTO && 2 * sparse > dense)
      d->dense_streak = AUTO_DENSE_STEPS;
  }
  size_t n = pack(d->buf, st, s, mask, (float)weight, idle);
  d->buf[n++] = idle ? 0 : (float)weight * *loss;
  double t1 = sr_now();
  sr_net_sum_floats(d, d->buf, n);
  d->stats.wait_seconds += sr_now() - t1;
  unpack(d->buf, st, s, mask);
  *loss = d->buf[n - 1];
  d->stats.steps++;
  d->stats.bytes += (double)n * sizeof(float);
  d->stats.dense_bytes += (double)(dense + 1) * sizeof(float);
  d->stats.seconds += sr_now() - t0;
  return 0;
}
