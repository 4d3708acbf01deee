/* dist_train.c: the minibatch loops of sr_fit and sr_pretrain when the
 * work is shared by ranks, and evaluation shared the same way.
 *
 * Every rank holds the same shuffled permutation (same seed, same stream),
 * so a global minibatch needs no communication to be agreed on: minibatch
 * b covers perm[b G, b G + G), G = ranks x batch, and rank r takes the
 * r-th slice of `batch` examples of it. The last minibatch of an epoch may
 * be short: slices are then cut from its start, and a rank whose slice is
 * empty contributes nothing (weight 0). Each rank's gradient is a mean
 * over its slice; weighting it by slice / minibatch rows makes the sum
 * over ranks the mean over the minibatch, exactly what one process with
 * batch G computes (up to float rounding). */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"

/* This rank's part of a global minibatch of `rows` examples. */
typedef struct Slice {
  int start, rows;
} Slice;

static Slice my_slice(const SrDist *d, int rows, int batch) {
  long start = (long)d->rank * batch;
  if (start > rows)
    start = rows;
  long n = rows - start < batch ? rows - start : batch;
  return (Slice){(int)start, (int)n};
}

/* SPARSEC_MPI_FAULT=kill:R: the rank dies between two collectives, as a
 * crashed node would, to show that the job ends rather than hangs. */
static void maybe_die(const SrDist *d, int epoch, int b) {
  if (d->fault == SR_FAULT_KILL && d->rank == d->fault_rank && epoch == 1 && b == 2)
    raise(SIGKILL);
}

int sr_dist_check_split(const SrState *st, const SrSplitStep *s, const char *what, SrError *err) {
  if (!s->grads || !s->apply)
    return sr_fail(err, "%s: the model was not compiled for data parallelism (no split step)",
                   what);
  if (s->first < 0 || s->count < 0 || s->first + s->count > st->model->ngradients)
    return sr_fail(err, "%s: the split step names gradients the model does not have", what);
  for (int k = 0; k < s->count; k++) {
    const SrGradient *g = &st->model->gradients[s->first + k];
    if (g->slot < 0 || g->slot >= st->model->nslots || g->param < 0 ||
        g->param >= st->model->nslots || st->model->slots[g->slot].rows < 1)
      return sr_fail(err, "%s: gradient %d names a slot the model does not have", what, k);
  }
  return 0;
}

int sr_dist_start(SrDist *d, const SrState *st, const SrSplitStep *s, const char *what, int rc,
                  SrError *err) {
  if (rc == 0 && s)
    rc = sr_dist_check_split(st, s, what, err);
  if (sr_dist_agree(d, rc, err) != 0)
    return -1;
  return sr_dist_check_weights(d, st, "before training", err);
}

/* This rank's share of the global minibatch: the weight of its gradients
 * in the average (0 for a rank with no rows this time). */
static double share(Slice mine, int rows) {
  return (double)mine.rows / rows;
}

/* After `grads`: the gradients averaged over the ranks (*loss in and out
 * as sr_dist_exchange_end's), then the update. */
static void finish_step(SrDist *d, SrState *st, const SrSplitStep *s, Slice mine, float *loss) {
  sr_dist_exchange_end(d, loss);
  s->apply(st->slots, mine.rows > 0 ? mine.rows : 1); /* updates read no batch-sized value */
}

/* One minibatch of exact data parallelism: the exchange begins before
 * `grads`, whose grad_ready calls start its buckets. */
static float exact_step(SrDist *d, SrState *st, const SrDataset *train, const int32_t *slice,
                        Slice mine, int rows) {
  const SrModel *m = st->model;
  float loss = 0;
  sr_dist_exchange_begin(d, st, &m->train_split, share(mine, rows));
  if (mine.rows > 0) {
    sr_gather_batch(st, train, slice, mine.rows);
    m->train_split.grads(st->slots, mine.rows);
    loss = *(const float *)st->slots[m->slot_train_loss];
  }
  finish_step(d, st, &m->train_split, mine, &loss);
  return loss;
}

/* Local SGD: this rank's own step on its slice, nothing exchanged; the
 * loss summed over its rows for the next averaging. */
static void local_step(SrState *st, const SrDataset *train, const int32_t *slice, Slice mine,
                       double *loss_sum) {
  const SrModel *m = st->model;
  if (mine.rows == 0)
    return;
  sr_gather_batch(st, train, slice, mine.rows);
  m->train_split.grads(st->slots, mine.rows);
  *loss_sum += (double)*(const float *)st->slots[m->slot_train_loss] * mine.rows;
  m->train_split.apply(st->slots, mine.rows);
}

/* Local SGD's averaging after minibatch b: the models, and the loss summed
 * over every rank's rows since the last one (added to *sum); then the
 * checksum, as the ranks hold the same weights again only now. */
static int average(SrDist *d, SrState *st, int epoch, int b, double *local, double *sum,
                   SrError *err) {
  sr_dist_average_model(d, st, &st->model->train_split, local);
  if (!isfinite(*local))
    return sr_fail_loss(err, epoch, b, (float)*local);
  *sum += *local;
  *local = 0;
  char when[64];
  snprintf(when, sizeof when, "epoch %d, averaging after minibatch %d", epoch, b);
  return sr_dist_check_weights(d, st, when, err);
}

int sr_dist_train_epoch(SrDist *d, SrState *st, const SrDataset *train, const int32_t *perm,
                        int batch, int epoch, SrProgress *bar, double *mean_loss, SrError *err) {
  int n = train->n, global = batch * d->size, k = d->local_steps;
  double sum = 0, local = 0;
  for (int start = 0, b = 1; start < n; start += global, b++) {
    int rows = n - start < global ? n - start : global;
    Slice mine = my_slice(d, rows, batch);
    const int32_t *slice = perm + start + mine.start;
    maybe_die(d, epoch, b);
    if (k == 1) {
      float loss = exact_step(d, st, train, slice, mine, rows);
      if (!isfinite(loss))
        return sr_fail_loss(err, epoch, b, loss);
      sum += (double)loss * rows;
    } else {
      local_step(st, train, slice, mine, &local);
      /* every k minibatches, and at the end of the epoch */
      if ((b % k == 0 || start + global >= n) && average(d, st, epoch, b, &local, &sum, err) != 0)
        return -1;
    }
    if (d->rank == 0) /* one bar for the job */
      sr_progress_update(bar, start + rows, sum, sr_now());
  }
  *mean_loss = sum / n;
  return 0;
}

/* The noise of a stage is keyed by its step counter and the element's
 * index in the batch. Ranks see different examples at the same step, so
 * each runs its slice with the counter at step x ranks + rank: noise that
 * differs from rank to rank and repeats from run to run (with one rank,
 * exactly the single-process noise). The logical counter, which every
 * rank keeps identical, is restored after. */
static void pretrain_grads(SrDist *d, SrState *st, const SrPretrainStage *stage, int rows) {
  uint32_t *counter =
      stage->slot_noise_step >= 0 ? (uint32_t *)st->slots[stage->slot_noise_step] : NULL;
  uint32_t logical = counter ? *counter : 0;
  if (counter)
    *counter = logical * (uint32_t)d->size + (uint32_t)d->rank;
  if (rows > 0)
    stage->split.grads(st->slots, rows);
  if (counter)
    *counter = logical + 1;
}

int sr_dist_pretrain_epoch(SrDist *d, SrState *st, const SrPretrainStage *stage,
                           const SrDataset *train, const int32_t *perm, int epoch, SrProgress *bar,
                           double *cost, float *input_max, SrError *err) {
  int n = train->n, batch = stage->batch, global = batch * d->size;
  double sum = 0;
  float max = 0;
  for (int start = 0; start < n; start += global) {
    int rows = n - start < global ? n - start : global;
    Slice mine = my_slice(d, rows, batch);
    float c = 0;
    sr_dist_exchange_begin(d, st, &stage->split, share(mine, rows));
    if (mine.rows > 0)
      sr_gather_batch(st, train, perm + start + mine.start, mine.rows);
    pretrain_grads(d, st, stage, mine.rows);
    if (mine.rows > 0) {
      c = *(const float *)st->slots[stage->slot_cost];
      float mx = *(const float *)st->slots[stage->slot_input_max];
      max = mx > max ? mx : max;
    }
    finish_step(d, st, &stage->split, mine, &c);
    if (!isfinite(c))
      return sr_fail_cost(err, stage->layer, epoch, c);
    sum += (double)c * rows;
    if (d->rank == 0)
      sr_progress_update(bar, start + rows, sum, sr_now());
  }
  sr_net_max_float(d, &max);
  *cost = sum / n;
  *input_max = max;
  return 0;
}

int sr_dist_end_epoch(SrDist *d, SrState *st, const char *when, int rc, SrError *err) {
  if (sr_dist_agree(d, rc, err) != 0)
    return -1;
  if (d->fault == SR_FAULT_PERTURB && d->rank == d->fault_rank) {
    float *w = st->slots[st->model->gradients[0].param];
    w[0] += 1e-3f; /* the smallest kind of drift: one weight, once */
    d->fault = SR_FAULT_NONE;
  }
  return sr_dist_check_weights(d, st, when, err);
}

/* ---- evaluation ---------------------------------------------------------------- */

/* Sums a rank's metrics stand for: loss, errors, then zeros per layer. */
enum { SUM_LOSS, SUM_ERRORS, SUM_ZEROS };

static void to_sums(const SrModel *m, const SrMetrics *r, int n, double *sums) {
  sums[SUM_LOSS] = r->loss * n;
  sums[SUM_ERRORS] = round(r->error * n);
  for (int k = 0; k < m->nhidden; k++)
    sums[SUM_ZEROS + k] = round(r->sparsity[k] * n * (double)m->hidden_units[k]);
}

/* As train.c turns its running sums into metrics. */
static void from_sums(const SrModel *m, const double *sums, int n, SrMetrics *out) {
  memset(out, 0, sizeof *out);
  out->nhidden = m->nhidden;
  if (n == 0)
    return;
  out->loss = sums[SUM_LOSS] / n;
  out->error = sums[SUM_ERRORS] / n;
  double zeros = 0, units = 0;
  for (int k = 0; k < m->nhidden; k++) {
    out->sparsity[k] = sums[SUM_ZEROS + k] / ((double)n * m->hidden_units[k]);
    zeros += sums[SUM_ZEROS + k];
    units += m->hidden_units[k];
  }
  out->mean_sparsity = units > 0 ? zeros / ((double)n * units) : 0;
}

int sr_dist_evaluate(SrDist *d, SrState *st, const SrDataset *ds, SrMetrics *out,
                     SrError *err) {
  const SrModel *m = st->model;
  long lo = (long)ds->n * d->rank / d->size, hi = (long)ds->n * (d->rank + 1) / d->size;
  SrDataset part = sr_dataset_view(ds, (int)lo, (int)(hi - lo));
  double sums[SUM_ZEROS + SR_MAX_HIDDEN] = {0};
  SrMetrics mine;
  SrError why = {{0}};
  /* sr_fit checked the data and the model; what can fail is a value that
   * is not finite, and then a NaN sum makes every rank fail together */
  if (part.n > 0) {
    if (sr_evaluate(st, &part, &mine, &why) == 0)
      to_sums(m, &mine, part.n, sums);
    else
      sums[0] = NAN;
  }
  sr_net_sum_doubles(d, sums, (size_t)(SUM_ZEROS + m->nhidden));
  if (isnan(sums[0]))
    return why.msg[0] ? sr_fail(err, "rank %d: examples %ld..%ld of the set: %s", d->rank,
                                lo + 1, hi, why.msg)
                      : sr_fail(err, "another rank found values that are not finite");
  from_sums(m, sums, ds->n, out);
  return 0;
}
