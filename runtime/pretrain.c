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
  SrLoop *loop;
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

/* The rest of the epoch under way: *cost gets the mean reconstruction
 * cost, *input_max the largest input code seen. 1 when the stop flag was
 * raised first: the loop then holds the next minibatch. With ranks an
 * epoch is not cut (they agree to stop between epochs). */
static int run_epoch(Stage *s, double *cost, float *input_max, SrError *err) {
  SrLoop *l = s->loop;
  int n = s->train->n, batch = s->stage->batch, epoch = l->epoch + 1;
  sr_loop_begin_epoch(l);
  char label[96];
  snprintf(label, sizeof label, "pretrain %s epoch %d", s->stage->layer, epoch);
  sr_progress_start(&s->bar, s->cfg->progress ? stderr : NULL, label, "cost", n, sr_now());
  if (s->cfg->dist) { /* minibatches shared by ranks (dist_train.c) */
    int rc = sr_dist_pretrain_epoch(s->cfg->dist, s->st, s->stage, s->train, l->perm, epoch,
                                    &s->bar, cost, input_max, err);
    sr_progress_clear(&s->bar);
    return rc;
  }
  for (int start = l->step * batch; start < n; start += batch) {
    sr_signal_at(SR_AT_STEP);
    if (s->cfg->stop && *s->cfg->stop) { /* Ctrl-C: checked once per minibatch */
      sr_progress_clear(&s->bar);
      return 1;
    }
    int rows = n - start < batch ? n - start : batch;
    sr_gather_batch(s->st, s->train, l->perm + start, rows);
    s->stage->step(s->st->slots, rows);
    float c = *(const float *)s->st->slots[s->stage->slot_cost];
    float mx = *(const float *)s->st->slots[s->stage->slot_input_max];
    if (!isfinite(c)) {
      sr_progress_clear(&s->bar);
      return sr_fail_cost(err, s->stage->layer, epoch, c);
    }
    l->sum += (double)c * rows;
    l->input_max = mx > l->input_max ? mx : l->input_max;
    l->step++;
    sr_progress_update(&s->bar, start + rows, l->sum, sr_now());
  }
  sr_progress_clear(&s->bar);
  *cost = l->sum / n;
  *input_max = l->input_max;
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

/* Ranks stop together, between epochs (see train.c). */
static int stop_agreed(const Stage *s) {
  int stop = s->cfg->stop && *s->cfg->stop;
  if (!s->cfg->dist)
    return stop;
  SrError ignored;
  return sr_dist_agree(s->cfg->dist, stop ? -1 : 0, &ignored) != 0;
}

static int run_stage(Stage *s, SrError *err) {
  SrLoop *l = s->loop;
  while (l->epoch < s->stage->epochs) {
    if (stop_agreed(s))
      return 1;
    int epoch = l->epoch + 1;
    double t0 = sr_now(), cost = 0;
    float input_max = 0;
    int rc = run_epoch(s, &cost, &input_max, err);
    if (rc > 0)
      return 1;
    if (rc == 0)
      rc = check_epoch(s, epoch, input_max, err);
    if (s->cfg->dist) /* all ranks stop here together, or go on with identical weights */
      rc = end_epoch_dist(s, epoch, rc, err);
    if (rc < 0)
      return -1;
    sr_loop_end_epoch(l);
    if (s->cfg->log) {
      fprintf(s->cfg->log, "pretrain %s  epoch %3d  cost %.4f  %6.1f s\n", s->stage->layer, epoch,
              cost, sr_now() - t0);
      fflush(s->cfg->log);
    }
    if (s->cfg->after_epoch && s->cfg->after_epoch(s->cfg->ctx, err) < 0)
      return -1;
  }
  return 0;
}

static int check_stages(SrState *st, const SrPretrainConfig *cfg, const SrDataset *train,
                        SrError *err) {
  const SrModel *m = st->model;
  int ok = train->n < 1 ? sr_fail(err, "pretraining: the training set is empty") : 0;
  for (int i = 0; i < m->npretrain && ok == 0; i++) {
    ok = check_stage(st, &m->pretrain[i], err);
    if (ok == 0 && cfg->dist)
      ok = sr_dist_check_split(st, &m->pretrain[i].split, m->pretrain[i].layer, err);
  }
  if (cfg->dist) /* every rank starts, or none; from identical weights */
    ok = sr_dist_start(cfg->dist, st, NULL, "pretraining", ok, err);
  return ok;
}

int sr_pretrain_start(SrPretrainRun *p, const SrState *st, SrError *err) {
  memset(p, 0, sizeof *p);
  return sr_state_init(&p->before, st->model, 1, 0, err);
}

void sr_pretrain_free(SrPretrainRun *p) {
  sr_loop_free(&p->loop);
  sr_state_free(&p->before);
  memset(p, 0, sizeof *p);
}

/* Stage i's loop: its own shuffle stream, the examples in order. */
static int begin_stage(SrPretrainRun *p, const SrState *st, const SrPretrainConfig *cfg, int i,
                       int n, SrError *err) {
  sr_loop_free(&p->loop);
  if (sr_loop_init(&p->loop, n, cfg->seed ^ PRETRAIN_STREAM ^ (uint64_t)i, err) < 0)
    return -1;
  p->started = 1;
  sr_state_copy_params(&p->before, st);
  return 0;
}

int sr_pretrain_run(SrState *st, const SrPretrainConfig *cfg, const SrDataset *train,
                    SrPretrainRun *p, int only, SrError *err) {
  const SrModel *m = st->model;
  if (check_stages(st, cfg, train, err) < 0)
    return -1;
  Stage s = {.st = st, .cfg = cfg, .train = train, .loop = &p->loop};
  int first = only >= 0 ? only : p->stage, last = only >= 0 ? only + 1 : m->npretrain;
  if (only >= 0)
    p->started = 0; /* one stage on its own starts afresh */
  int rc = 0;
  for (int i = first; i < last && rc == 0; i++) {
    if (!p->started && begin_stage(p, st, cfg, i, train->n, err) < 0)
      return -1;
    if (p->loop.n != train->n)
      return sr_fail(err, "pretraining: the run was started on %d examples, the data has %d",
                     p->loop.n, train->n);
    s.stage = &m->pretrain[i];
    rc = run_stage(&s, err);
    if (rc < 0)
      sr_state_copy_params(st, &p->before); /* nothing non-finite survives */
    if (rc == 0) {
      p->started = 0;
      if (only < 0)
        p->stage = i + 1;
    }
  }
  return rc;
}

int sr_pretrain(SrState *st, const SrPretrainConfig *cfg, const SrDataset *train, SrError *err) {
  SrPretrainRun p;
  if (sr_pretrain_start(&p, st, err) < 0)
    return -1;
  int rc = sr_pretrain_run(st, cfg, train, &p, -1, err);
  if (rc > 0) { /* interrupted: the stage under way is abandoned */
    sr_state_copy_params(st, &p.before);
    rc = sr_fail(err,
                 "pretraining %s interrupted in epoch %d: its parameters are as they were "
                 "before the stage",
                 st->model->pretrain[p.stage].layer, p.loop.epoch + 1);
  }
  sr_pretrain_free(&p);
  return rc;
}
