/* pretrain.c: greedy layer-wise pretraining, one stage after another. The
 * arithmetic (noise, encoder, decoder, cost, updates) is in each stage's
 * generated step; this file feeds it minibatches and keeps watch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"
#include "sparsert_internal.h"

#define PRETRAIN_STREAM 0x5052455452414eull /* "PRETRAN" */

typedef struct Stage {
  SrState *st;
  const SrPretrainConfig *cfg;
  const SrPretrainStage *stage;
  const SrDataset *train;
  SrRng rng;
  int32_t *perm;
  SrProgress bar;
} Stage;

int sr_fail_cost(SrError *err, const char *layer, int epoch, float cost) {
  return sr_fail(err,
                 "pretraining %s, epoch %d: the reconstruction cost is not finite (%s); "
                 "try a smaller learning rate",
                 layer, epoch, sr_nonfinite_name(cost));
}

static int check_stage(const SrState *st, const SrPretrainStage *s, SrError *err) {
  const SrModel *m = st->model;
  if (!s->step)
    return sr_fail(err, "pretraining %s: no step kernel", s->layer);
  if (s->epochs < 1 || s->batch < 1)
    return sr_fail(err, "pretraining %s: epochs (%d) and batch (%d) must be at least 1", s->layer,
                   s->epochs, s->batch);
  if (s->batch > st->max_rows)
    return sr_fail(err, "pretraining %s: batch %d exceeds the %d rows the state holds", s->layer,
                   s->batch, st->max_rows);
  if (s->slot_cost < 0 || s->slot_cost >= m->nslots || s->slot_input_max < 0 ||
      s->slot_input_max >= m->nslots)
    return sr_fail(err, "pretraining %s: bad slots", s->layer);
  return 0;
}

/* One epoch: *cost gets the mean reconstruction cost, *input_max the
 * largest input code seen. */
static int run_epoch(Stage *s, int epoch, double *cost, float *input_max, SrError *err) {
  int n = s->train->n, batch = s->stage->batch;
  double sum = 0;
  *input_max = 0;
  sr_rng_shuffle(&s->rng, s->perm, n);
  sr_progress_start(&s->bar, s->cfg->progress ? stderr : NULL, epoch, n, sr_now());
  if (s->cfg->dist) { /* minibatches shared by ranks (dist_train.c) */
    int rc = sr_dist_pretrain_epoch(s->cfg->dist, s->st, s->stage, s->train, s->perm, epoch,
                                    &s->bar, cost, input_max, err);
    sr_progress_clear(&s->bar);
    return rc;
  }
  for (int start = 0; start < n; start += batch) {
    if (s->cfg->stop && *s->cfg->stop) { /* Ctrl-C: checked once per minibatch */
      sr_progress_clear(&s->bar);
      return sr_fail(err,
                     "pretraining %s interrupted in epoch %d: its parameters are as they were "
                     "before the stage",
                     s->stage->layer, epoch);
    }
    int rows = n - start < batch ? n - start : batch;
    sr_gather_batch(s->st, s->train, s->perm + start, rows);
    s->stage->step(s->st->slots, rows);
    float c = *(const float *)s->st->slots[s->stage->slot_cost];
    float mx = *(const float *)s->st->slots[s->stage->slot_input_max];
    if (!isfinite(c)) {
      sr_progress_clear(&s->bar);
      return sr_fail_cost(err, s->stage->layer, epoch, c);
    }
    sum += (double)c * rows;
    *input_max = mx > *input_max ? mx : *input_max;
    sr_progress_update(&s->bar, start + rows, sr_now());
  }
  sr_progress_clear(&s->bar);
  *cost = sum / n;
  return 0;
}

static int check_epoch(const Stage *s, int epoch, float input_max, SrError *err) {
  int slot;
  size_t index;
  if (input_max == 0)
    return sr_fail(err,
                   "pretraining %s, epoch %d: its input codes are zero on every example: "
                   "the layer below is dead",
                   s->stage->layer, epoch);
  if (sr_state_find_nonfinite(s->st, &slot, &index))
    return sr_fail(err, "pretraining %s, epoch %d: parameter '%s' element %zu is not finite",
                   s->stage->layer, epoch, s->st->model->slots[slot].name, index);
  return 0;
}

static int end_epoch_dist(const Stage *s, int epoch, int rc, SrError *err) {
  char when[160];
  snprintf(when, sizeof when, "pretraining %s, epoch %d", s->stage->layer, epoch);
  return sr_dist_end_epoch(s->cfg->dist, s->st, when, rc, err);
}

static int run_stage(Stage *s, int index, SrError *err) {
  sr_rng_seed(&s->rng, s->cfg->seed ^ PRETRAIN_STREAM ^ (uint64_t)index);
  for (int i = 0; i < s->train->n; i++)
    s->perm[i] = i;
  for (int epoch = 1; epoch <= s->stage->epochs; epoch++) {
    double t0 = sr_now(), cost = 0;
    float input_max;
    int rc = run_epoch(s, epoch, &cost, &input_max, err);
    if (rc == 0)
      rc = check_epoch(s, epoch, input_max, err);
    if (s->cfg->dist) /* all ranks stop here together, or go on with identical weights */
      rc = end_epoch_dist(s, epoch, rc, err);
    if (rc < 0)
      return -1;
    if (s->cfg->log) {
      fprintf(s->cfg->log, "pretrain %s  epoch %3d  cost %.4f  %6.1f s\n", s->stage->layer, epoch,
              cost, sr_now() - t0);
      fflush(s->cfg->log);
    }
  }
  return 0;
}

int sr_pretrain(SrState *st, const SrPretrainConfig *cfg, const SrDataset *train, SrError *err) {
  const SrModel *m = st->model;
  if (train->n < 1)
    return sr_fail(err, "pretraining: the training set is empty");
  int ok = 0;
  for (int i = 0; i < m->npretrain && ok == 0; i++) {
    ok = check_stage(st, &m->pretrain[i], err);
    if (ok == 0 && cfg->dist)
      ok = sr_dist_check_split(st, &m->pretrain[i].split, m->pretrain[i].layer, err);
  }
  if (cfg->dist) /* every rank starts, or none; from identical weights */
    ok = sr_dist_start(cfg->dist, st, NULL, "pretraining", ok, err);
  if (ok < 0)
    return -1;
  Stage s = {.st = st, .cfg = cfg, .train = train};
  s.perm = malloc((size_t)train->n * sizeof *s.perm);
  SrState before; /* the parameters as they were before the running stage */
  if (!s.perm || sr_state_init(&before, m, 1, 0, err) < 0) {
    free(s.perm);
    return s.perm ? -1 : sr_fail(err, "pretraining: out of memory");
  }
  int rc = 0;
  for (int i = 0; i < m->npretrain && rc == 0; i++) {
    s.stage = &m->pretrain[i];
    sr_state_copy_params(&before, st);
    rc = run_stage(&s, i, err);
    if (rc != 0)
      sr_state_copy_params(st, &before); /* nothing non-finite survives */
  }
  sr_state_free(&before);
  free(s.perm);
  return rc;
}
