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
 * and step count, so all take the same branch.
 *
 * Overlap (dense exchanges, SPARSEC_BUCKET_KB > 0, the default 1024): the
 * gradients travel in buckets of consecutive gradients, at least that
 * many bytes each, in the order train_grads finishes them (the pass
 * split-updates lists them so and announces each with sr_grad_ready).
 * When a bucket's last gradient is announced, it is packed and its
 * MPI_Iallreduce starts while the backward pass computes the layers
 * below, as PyTorch's DistributedDataParallel does; the last bucket
 * carries the loss and starts when train_grads returns; then one
 * MPI_Waitall. Each float is packed and summed as in the blocking
 * exchange, so the result is the same bit for bit. The sparse exchange
 * stays blocking: its mask needs every gradient before anything can be
 * sent. */
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"

#define AUTO_DENSE_STEPS 64

typedef struct Grad {
  float *data;
  int rows, cols;
} Grad;

static int gradient_slot(const SrState *st, const SrSplitStep *s, int k) {
  return st->model->gradients[s->first + k].slot;
}

static Grad gradient(const SrState *st, const SrSplitStep *s, int k) {
  int slot = gradient_slot(st, s, k);
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

/* Packs weight x the rows that travel of gradients [k0, k1) (all rows
 * when mask is NULL); an idle rank (no rows in this minibatch) sends
 * zeros, whatever its slots hold. */
static size_t pack(float *buf, const SrState *st, const SrSplitStep *s, int k0, int k1,
                   const uint8_t *mask, float weight, int idle) {
  size_t at = 0;
  for (int k = k0; k < k1; k++) {
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

static void add_time(double *sum, double since) {
  *sum += sr_now() - since;
}

/* ---- overlapped: buckets started as their gradients are ready ------------- */

/* The exchange sr_grad_ready reports to; NULL when none is under way.
 * Generated code calls sr_grad_ready without context, and one process
 * runs one split step at a time. */
static SrDist *overlapping;

/* Consecutive gradients, at least d->bucket_bytes a bucket (the last may
 * be smaller): a bias rides with its layer's weights. */
static void plan_buckets(SrDist *d, SrPendingExchange *x) {
  size_t at = 0, from = 0;
  x->nbuckets = x->started = 0;
  x->bucket_at[0] = 0;
  for (int k = 0; k < x->s->count; k++) {
    Grad g = gradient(x->st, x->s, k);
    at += (size_t)g.rows * (size_t)g.cols;
    x->ready[k] = 0;
    if ((at - from) * sizeof(float) >= d->bucket_bytes || k == x->s->count - 1) {
      x->bucket_end[x->nbuckets++] = k + 1;
      x->bucket_at[x->nbuckets] = at;
      from = at;
    }
  }
}

static int bucket_first(const SrPendingExchange *x, int b) {
  return b == 0 ? 0 : x->bucket_end[b - 1];
}

/* Packs bucket b (the last with the loss after it) and starts its sum. */
static void start_bucket(SrDist *d, int b, float loss) {
  SrPendingExchange *x = &d->x;
  float *buf = d->buf + x->bucket_at[b];
  size_t n = pack(buf, x->st, x->s, bucket_first(x, b), x->bucket_end[b], NULL, x->weight,
                  x->idle);
  if (b == x->nbuckets - 1)
    buf[n++] = x->idle ? 0 : x->weight * loss;
  double t0 = sr_now();
  sr_net_start_sum_floats(d, buf, n);
  add_time(&d->stats.wait_seconds, t0);
}

static int bucket_ready(const SrPendingExchange *x, int b) {
  for (int k = bucket_first(x, b); k < x->bucket_end[b]; k++)
    if (!x->ready[k])
      return 0;
  return 1;
}

void sr_grad_ready(int32_t slot) {
  SrDist *d = overlapping;
  if (!d)
    return;
  double t0 = sr_now();
  SrPendingExchange *x = &d->x;
  for (int k = 0; k < x->s->count; k++)
    if (gradient_slot(x->st, x->s, k) == slot)
      x->ready[k] = 1;
  /* in order, so that every rank starts the same sums in the same order;
   * the last waits for the loss */
  while (x->started < x->nbuckets - 1 && bucket_ready(x, x->started))
    start_bucket(d, x->started++, 0);
  double t1 = sr_now();
  sr_net_progress(d);
  add_time(&d->stats.wait_seconds, t1);
  add_time(&d->stats.seconds, t0);
}

/* Starts what is left (all of it on an idle rank, which ran no grads),
 * waits for every bucket, and unpacks. */
static void finish_overlapped(SrDist *d, float *loss) {
  SrPendingExchange *x = &d->x;
  while (x->started < x->nbuckets)
    start_bucket(d, x->started++, *loss);
  double t0 = sr_now();
  sr_net_wait_all(d);
  add_time(&d->stats.wait_seconds, t0);
  unpack(d->buf, x->st, x->s, NULL);
  *loss = d->buf[x->bucket_at[x->nbuckets]];
  d->stats.overlapped_steps++;
  d->stats.buckets += x->nbuckets;
}

/* ---- blocking: one allreduce after the backward pass (and the mask's) ------ */

static void finish_blocking(SrDist *d, float *loss) {
  SrPendingExchange *x = &d->x;
  const uint8_t *mask = NULL;
  if (x->mask) {
    size_t dense = total_floats(x->st, x->s), sparse = exchange_mask(d, x->st, x->s, x->idle);
    mask = d->mask;
    d->stats.bytes += (double)total_rows(x->st, x->s);
    d->stats.sparse_steps++;
    if (d->exchange == SR_EXCHANGE_AUTO && 2 * sparse > dense)
      d->dense_streak = AUTO_DENSE_STEPS;
  }
  size_t n = pack(d->buf, x->st, x->s, 0, x->s->count, mask, x->weight, x->idle);
  d->buf[n++] = x->idle ? 0 : x->weight * *loss;
  double t0 = sr_now();
  sr_net_sum_floats(d, d->buf, n);
  add_time(&d->stats.wait_seconds, t0);
  unpack(d->buf, x->st, x->s, mask);
  *loss = d->buf[n - 1];
  d->stats.bytes += (double)(n - 1) * sizeof(float);
}

/* ---- the exchange ---------------------------------------------------------- */

void sr_dist_exchange_begin(SrDist *d, SrState *st, const SrSplitStep *s, double weight) {
  double t0 = sr_now();
  SrError err;
  if (reserve(d, total_floats(st, s) + 1, total_rows(st, s), &err) != 0)
    sr_dist_abort(d, err.msg);
  SrPendingExchange *x = &d->x;
  x->st = st;
  x->s = s;
  x->weight = (float)weight;
  x->idle = weight == 0;
  x->mask = use_mask(d);
  x->overlap = !x->mask && d->bucket_bytes > 0 && s->count > 0;
  if (x->overlap) {
    plan_buckets(d, x);
    overlapping = d;
  }
  add_time(&d->stats.seconds, t0);
}

void sr_dist_exchange_end(SrDist *d, float *loss) {
  double t0 = sr_now();
  SrPendingExchange *x = &d->x;
  overlapping = NULL;
  if (x->overlap) {
    finish_overlapped(d, loss);
    d->stats.bytes += (double)total_floats(x->st, x->s) * sizeof(float);
  } else {
    finish_blocking(d, loss);
  }
  d->stats.bytes += sizeof(float); /* the loss */
  d->stats.dense_bytes += (double)(total_floats(x->st, x->s) + 1) * sizeof(float);
  d->stats.steps++;
  add_time(&d->stats.seconds, t0);
  x->s = NULL;
}

void sr_dist_exchange(SrDist *d, SrState *st, const SrSplitStep *s, double weight, float *loss) {
  sr_dist_exchange_begin(d, st, s, weight);
  sr_dist_exchange_end(d, loss);
}

/* ---- local SGD: the models averaged ------------------------------------------ */

static int is_noise_counter(const SrModel *m, int slot) {
  for (int i = 0; i < m->npretrain; i++)
    if (m->pretrain[i].slot_noise_step == slot)
      return 1;
  return 0;
}

/* The slots that drift apart between averagings: the parameters `s`
 * trains, and the float optimiser state (momentum velocity; not the noise
 * counters, uint32 and identical everywhere). Returns how many. */
static int drifting_slots(const SrState *st, const SrSplitStep *s, int *out) {
  const SrModel *m = st->model;
  int n = 0;
  for (int k = 0; k < s->count; k++)
    out[n++] = m->gradients[s->first + k].param;
  for (int i = 0; i < m->nslots; i++)
    if (m->slots[i].kind == SR_SLOT_STATE && !is_noise_counter(m, i))
      out[n++] = i;
  return n;
}

void sr_dist_average_model(SrDist *d, SrState *st, const SrSplitStep *s, double *loss_sum) {
  double t0 = sr_now();
  SrError err;
  int *slots = malloc(sizeof *slots * (size_t)(st->model->nslots + s->count));
  if (!slots)
    sr_dist_abort(d, "out of memory for averaging the models");
  int nslots = drifting_slots(st, s, slots);
  size_t floats = 0;
  for (int i = 0; i < nslots; i++)
    floats += st->bytes[slots[i]] / sizeof(float);
  if (reserve(d, floats + 1, 0, &err) != 0)
    sr_dist_abort(d, err.msg);
  size_t at = 0;
  for (int i = 0; i < nslots; i++) {
    memcpy(d->buf + at, st->slots[slots[i]], st->bytes[slots[i]]);
    at += st->bytes[slots[i]] / sizeof(float);
  }
  d->buf[floats] = (float)*loss_sum;
  double t1 = sr_now();
  sr_net_sum_floats(d, d->buf, floats + 1);
  add_time(&d->stats.wait_seconds, t1);
  float mean = 1.0f / (float)d->size;
  at = 0;
  for (int i = 0; i < nslots; i++) {
    float *p = st->slots[slots[i]];
    size_t n = st->bytes[slots[i]] / sizeof(float);
    for (size_t j = 0; j < n; j++)
      p[j] = d->buf[at + j] * mean;
    at += n;
  }
  *loss_sum = d->buf[floats];
  free(slots);
  d->stats.averages++;
  d->stats.average_bytes += (double)(floats + 1) * sizeof(float);
  add_time(&d->stats.seconds, t0);
}
