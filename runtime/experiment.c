/* experiment.c: the experiment engine (experiment.h). One run goes through
 * the sweep's learning rates in order; each lr has two phases, greedy
 * pretraining (when the model has stages) and supervised training; after
 * the last, the run is done. Every phase is a loop that can stop between
 * two minibatches and go on, here or in another process from the state
 * file (run_state.c): the run is a position, not a call stack.
 *
 * A sweep pretrains once: pretraining does not depend on the supervised
 * learning rate, so later rates start from a copy of the first one's
 * encoders (the same numbers, none of the cost). Each lr's best epoch is
 * compared with the best of the earlier ones by validation error; the
 * winner's parameters are the run's result.
 *
 * With train.seeds = N > 1 the sweep is followed by N - 1 repeats of the
 * whole run (re-initialisation, pretraining, training with early
 * stopping) at the kept lr, with seed+1 .. seed+N-1; the sweep's run at
 * that lr is the first seed's: it is the run a spec of that lr alone
 * gives (every lr starts from the seed's parameters and the very same
 * pretrained encoders), so it is not run again. The repeats do not pick:
 * the model kept stays the first seed's, the one the sweep picked, and
 * each figure gets a mean and a standard deviation (seed_stats.c). A
 * repeat is a position like any other: seed_index, saved and resumed. */
#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist.h"
#include "run_internal.h"

static int is_root(const SrRun *r) {
  return sr_dist_is_root(r->setup.dist);
}

static int progress_bar(const SrRun *r) {
  if (r->setup.quiet)
    return 0;
  return r->cfg.progress < 0 ? isatty(fileno(stderr)) : r->cfg.progress;
}

/* Where the epoch lines go: nowhere when quiet. */
static FILE *epoch_log(const SrRun *r) {
  return r->setup.quiet ? NULL : r->setup.log;
}

static double current_lr(const SrRun *r) {
  return r->cfg.lrs[r->lr_index < r->cfg.nlrs ? r->lr_index : 0];
}

/* The seed of the run under way: train.seed, or seed + k in the k-th repeat. */
static uint64_t current_seed(const SrRun *r) {
  return r->cfg.seed + (uint64_t)r->seed_index;
}

/* ---- the state file's schedule --------------------------------------------- */

static int save_state(SrRun *r, SrError *err) {
  int rc = is_root(r) ? sr_run_state_write(r, r->state_path, err) : 0;
  if (r->setup.dist) /* rank 0 writes; every rank learns whether it could */
    rc = sr_dist_agree(r->setup.dist, rc, err);
  return rc;
}

/* After each epoch (of training, or of a pretraining stage). */
static int after_epoch(void *ctx, SrError *err) {
  SrRun *r = ctx;
  int epoch = r->phase == PHASE_TRAIN ? r->fit.loop.epoch : r->pre.loop.epoch;
  if (r->cfg.save_every <= 0 || epoch % r->cfg.save_every != 0)
    return 0;
  if (save_state(r, err) < 0)
    return -1;
  r->saved_epoch = epoch;
  if (r->phase == PHASE_TRAIN)
    snprintf(r->saved_at, sizeof r->saved_at, "after epoch %d", epoch);
  else
    snprintf(r->saved_at, sizeof r->saved_at, "after pretraining %s, epoch %d",
             r->m->pretrain[r->pre.stage].layer, epoch);
  return 0;
}

/* Each training epoch's record, kept for sr_run_write_metrics. */
static int keep_record(void *ctx, const SrEpochRecord *rec, SrError *err) {
  SrRun *r = ctx;
  if (r->nhistory == r->history_cap) {
    int cap = r->history_cap ? 2 * r->history_cap : 64;
    SrRunRecord *grown = realloc(r->history, (size_t)cap * sizeof *grown);
    if (!grown)
      return sr_fail(err, "out of memory for the records of %d epochs", cap);
    r->history = grown;
    r->history_cap = cap;
  }
  SrRunRecord *k = &r->history[r->nhistory++];
  k->rec = *rec; /* its run label points into k->run only when written out */
  snprintf(k->run, sizeof k->run, "%s", rec->run ? rec->run : "");
  return 0;
}

int sr_run_write_metrics(SrRun *r, const char *path, SrError *err) {
  size_t n = strlen(path);
  int csv = n >= 4 && strcmp(path + n - 4, ".csv") == 0;
  int jsonl = n >= 6 && strcmp(path + n - 6, ".jsonl") == 0;
  if (!csv && !jsonl)
    return sr_fail(err, "%s: the name says the format: .csv or .jsonl", path);
  SrError why;
  if (sr_output_folder(path, &why) < 0)
    return sr_fail(err, "%s: %s", path, why.msg);
  SrMetricsWriter *w = sr_metrics_open(path, csv ? SR_METRICS_CSV : SR_METRICS_JSONL, r->m, err);
  if (!w)
    return -1;
  int rc = 0;
  for (int i = 0; i < r->nhistory && rc == 0; i++) {
    SrEpochRecord rec = r->history[i].rec;
    rec.run = rec.run ? r->history[i].run : NULL; /* the array may have moved since */
    rc = sr_metrics_write(w, &rec, err);
  }
  if (sr_metrics_close(w, rc < 0 ? NULL : err) != 0)
    rc = -1;
  return rc < 0 ? -1 : r->nhistory;
}

/* ---- the phases' configurations ---------------------------------------------- */

static SrTrainConfig train_config(SrRun *r, char *label, size_t size) {
  snprintf(label, size, "lr=%g", current_lr(r));
  return (SrTrainConfig){.epochs = r->cfg.epochs,
                         .batch = r->cfg.batch,
                         .seed = current_seed(r),
                         .patience = r->cfg.patience,
                         .log = epoch_log(r),
                         .progress = progress_bar(r),
                         .run = r->cfg.nlrs > 1 ? label : NULL,
                         .metrics = r->metrics,
                         .stop = r->stop,
                         .dist = r->setup.dist,
                         .after_epoch = after_epoch,
                         .record = keep_record,
                         .ctx = r};
}

static SrPretrainConfig pretrain_config(SrRun *r) {
  return (SrPretrainConfig){.seed = current_seed(r),
                            .log = epoch_log(r),
                            .progress = progress_bar(r),
                            .stop = r->stop,
                            .dist = r->setup.dist,
                            .after_epoch = after_epoch,
                            .ctx = r};
}

/* ---- a run ------------------------------------------------------------------- */

static int default_state_path(SrRun *r) {
  size_t size = sr_state_path(&r->cfg, NULL, 0) + 1;
  if (!(r->state_path = malloc(size)))
    return -1;
  sr_state_path(&r->cfg, r->state_path, size);
  return 0;
}

static int check_config(const SrProgramConfig *cfg, const SrRunSetup *setup,
                        const SrProgramData *data, SrError *err) {
  if (cfg->nlrs < 1 || cfg->nlrs > SR_MAX_SWEEP)
    return sr_fail(err, "training: %d learning rates (1 to %d)", cfg->nlrs, SR_MAX_SWEEP);
  if (cfg->nlrs > 1 && !setup->use_lr)
    return sr_fail(err, "training: this code trains at one learning rate, not a sweep of %d",
                   cfg->nlrs);
  if (cfg->nlrs > 1 && data->valid.n == 0)
    return sr_fail(err, "a learning-rate sweep picks by validation error: set data.validation");
  if (cfg->seeds < 0 || cfg->seeds > SR_MAX_SEEDS)
    return sr_fail(err, "training: %d seeds (1 to %d)", cfg->seeds, SR_MAX_SEEDS);
  return 0;
}

SrRun *sr_run_new(SrState *st, const SrProgramConfig *cfg, const SrRunSetup *setup,
                  const SrProgramData *data, SrError *err) {
  if (check_config(cfg, setup, data, err) < 0)
    return NULL;
  SrRun *r = calloc(1, sizeof *r);
  if (!r) {
    sr_fail(err, "out of memory");
    return NULL;
  }
  *r = (SrRun){.st = st, .m = st->model, .cfg = *cfg, .setup = *setup, .data = data,
               .stop = setup->stop, .saved_epoch = -1};
  if (r->cfg.seeds < 1) /* 0: a config from before seeds */
    r->cfg.seeds = 1;
  r->seed_results = calloc((size_t)r->cfg.seeds, sizeof *r->seed_results);
  if (default_state_path(r) < 0 || !r->seed_results) {
    sr_fail(err, "out of memory for the state file's name or the seeds' results");
    sr_run_free(r);
    return NULL;
  }
  if (sr_pretrain_start(&r->pre, st, err) < 0) { /* its message names the slot */
    sr_run_free(r);
    return NULL;
  }
  return r;
}

void sr_run_free(SrRun *r) {
  if (!r)
    return;
  sr_pretrain_free(&r->pre);
  sr_fit_free(&r->fit);
  sr_state_free(&r->pretrained);
  sr_state_free(&r->best);
  sr_metrics_close(r->metrics, NULL);
  free(r->history);
  free(r->seed_results);
  free(r->state_path);
  free(r);
}

const char *sr_run_state_path(const SrRun *r) {
  return r->state_path;
}

int sr_run_epochs_done(const SrRun *r) {
  return r->fit_started ? r->fit.loop.epoch : 0;
}

/* A one-row state holding a copy of st's parameters. */
static int keep_params(SrState *copy, const SrState *st, SrError *err) {
  if (!copy->slots && sr_state_init(copy, st->model, 1, 0, err) < 0)
    return -1;
  sr_state_copy_params(copy, st);
  return 0;
}

static int enter_train(SrRun *r, SrError *err) {
  char label[64];
  SrTrainConfig tc = train_config(r, label, sizeof label);
  sr_fit_free(&r->fit);
  if (sr_fit_start(&r->fit, r->st, &tc, r->data->train.n, err) < 0)
    return -1;
  r->fit_started = 1;
  r->phase = PHASE_TRAIN;
  return 0;
}

/* Pretraining from where it is; or, after the sweep's first lr, its
 * encoders again. */
static int pretrain_phase(SrRun *r, SrError *err) {
  if (r->m->npretrain == 0)
    return enter_train(r, err);
  if (r->have_pretrained && r->seed_index == 0 && r->pre.stage == 0 && !r->pre.started) {
    sr_state_copy_params(r->st, &r->pretrained);
    if (epoch_log(r))
      fputs("pretraining: the encoders of the first learning rate's pretraining\n", epoch_log(r));
    return enter_train(r, err);
  }
  SrPretrainConfig pc = pretrain_config(r);
  int rc = sr_pretrain_run(r->st, &pc, &r->data->train, &r->pre, -1, err);
  if (rc != 0)
    return rc;
  if (r->cfg.nlrs > 1 && !r->have_pretrained && r->seed_index == 0) {
    if (keep_params(&r->pretrained, r->st, err) < 0)
      return -1;
    r->have_pretrained = 1;
  }
  return enter_train(r, err);
}

static SrSeedsReport seeds_report(const SrRun *r, FILE *log) {
  return (SrSeedsReport){.log = log, .m = r->m, .has_valid = r->data->valid.n > 0,
                         .has_test = r->data->test.n > 0};
}

/* A seed's run is complete: its result is kept and said. */
static void finish_seed(SrRun *r, const SrFitResult *res) {
  r->seed_results[r->seed_index] = *res; /* next_run then counts it */
  SrSeedsReport rep = seeds_report(r, epoch_log(r));
  sr_seeds_print_one(&rep, current_seed(r), res);
}

/* Where the run goes after a complete lr or seed: the sweep's next lr,
 * then the repeats with the next seeds at the kept lr, then the end. Each
 * starts from its seed's parameters. */
static void next_run(SrRun *r) {
  if (r->seed_index == 0 && ++r->lr_index < r->cfg.nlrs) {
    sr_state_reinit(r->st, r->cfg.seed);
    r->phase = PHASE_PRETRAIN;
    return;
  }
  if (r->cfg.seeds > 1) {
    if (r->seed_index == 0) { /* the sweep is done: it was the first seed */
      finish_seed(r, &r->best_result);
      r->lr_index = r->best_lr;
    }
    if (++r->seed_index < r->cfg.seeds) {
      sr_state_reinit(r->st, current_seed(r));
      r->phase = PHASE_PRETRAIN;
      return;
    }
  }
  r->phase = PHASE_DONE;
}

/* The lr's training is complete: compare it with the best so far (in the
 * sweep) or keep its figures (a repeat), and go on. */
static int finish_lr(SrRun *r, SrError *err) {
  SrFitResult res;
  sr_fit_result(&r->fit, &res);
  if (r->seed_index > 0) {
    finish_seed(r, &res);
  } else {
    if (r->cfg.nlrs > 1 && epoch_log(r))
      fprintf(epoch_log(r), "lr %g: best validation error %.2f%% at epoch %d\n", current_lr(r),
              100 * res.best_valid.error, res.best_epoch);
    if (!r->have_best || res.best_valid.error < r->best_result.best_valid.error) {
      if (keep_params(&r->best, &r->fit.best, err) < 0)
        return -1;
      r->best_result = res;
      r->best_lr = r->lr_index;
      r->have_best = 1;
    }
  }
  sr_fit_free(&r->fit);
  r->fit_started = 0;
  sr_pretrain_free(&r->pre);
  if (sr_pretrain_start(&r->pre, r->st, err) < 0)
    return -1;
  next_run(r);
  return 0;
}

/* The run's last training: the sweep's last lr, or the last seed's repeat. */
static int last_training(const SrRun *r) {
  if (r->cfg.seeds > 1)
    return r->seed_index == r->cfg.seeds - 1;
  return r->lr_index == r->cfg.nlrs - 1;
}

static int run_phases(SrRun *r, SrError *err) {
  int rc = 0;
  while (rc == 0 && r->phase != PHASE_DONE) {
    if (r->cfg.nlrs > 1 && r->setup.use_lr(r->setup.lr_ctx, r->lr_index, err) < 0)
      return -1;
    if (r->phase == PHASE_PRETRAIN)
      rc = pretrain_phase(r, err);
    if (rc == 0 && r->phase == PHASE_TRAIN) {
      char label[64];
      SrTrainConfig tc = train_config(r, label, sizeof label);
      SrFitResult ignored;
      rc = sr_fit_run(r->st, &tc, &r->data->train, &r->data->valid, &r->data->test, &r->fit,
                      &ignored, err);
      /* The run's last state is taken before the last lr is closed: still
       * training, so that resuming it with more epochs trains on. */
      if (rc == 0 && last_training(r))
        rc = save_state(r, err);
      if (rc == 0)
        rc = finish_lr(r, err);
    }
  }
  return rc;
}

/* ---- what is printed ------------------------------------------------------------ */

static void vsay(FILE *log, const char *fmt, va_list ap) {
  if (!log)
    return;
  vfprintf(log, fmt, ap);
  fflush(log);
}

/* A line of the run's account: not when quiet. */
static void say(const SrRun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const SrRun *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(epoch_log(r), fmt, ap);
  va_end(ap);
}

/* A result: printed even when quiet. */
static void tell(const SrRun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell(const SrRun *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(r->setup.log, fmt, ap);
  va_end(ap);
}

static void print_sparsity(const SrRun *r, const SrMetrics *m) {
  for (int i = 0; i < r->m->nhidden; i++)
    say(r, " %s %.1f%%", r->m->hidden_names[i], 100 * m->sparsity[i]);
  say(r, "; mean %.1f%%\n", 100 * m->mean_sparsity);
}

static void print_result(const SrRun *r) {
  const SrFitResult *res = &r->best_result;
  if (r->cfg.nlrs > 1)
    say(r, "sweep: kept lr %g\n", r->cfg.lrs[r->best_lr]);
  if (r->seed_index > 1) { /* results: printed even when quiet */
    SrSeedsReport rep = seeds_report(r, r->setup.log);
    sr_seeds_print_summary(&rep, r->cfg.seed, r->cfg.lrs[r->best_lr], r->seed_results,
                           r->seed_index);
  }
  if (r->data->valid.n > 0)
    say(r, "best validation error at epoch %d%s: valid %.2f%%, test %.2f%%\n", res->best_epoch,
        res->stopped_early ? " (stopped early)" : "", 100 * res->best_valid.error,
        100 * res->best_test.error);
  say(r, "hidden activations exactly zero (test set):");
  print_sparsity(r, &res->best_test);
  tell(r, "test error: %.2f%%\n", 100 * res->best_test.error);
}

/* Where the run stopped, in words: "epoch 3, step 120 of 5500, lr 0.01". */
void sr_run_describe_position(const SrRun *r, char *buf, size_t size) {
  size_t used = 0;
  if (r->phase == PHASE_DONE) {
    snprintf(buf, size, "the end of the run");
    return;
  }
  int stage = r->pre.stage, epoch = r->pre.started ? r->pre.loop.epoch : 0;
  int step = r->pre.started ? r->pre.loop.step : 0;
  if (r->phase == PHASE_PRETRAIN && stage < r->m->npretrain &&
      epoch >= r->m->pretrain[stage].epochs) /* a stage saved at its end: the next one's start */
    stage++, epoch = 0, step = 0;
  if (r->phase == PHASE_PRETRAIN && stage < r->m->npretrain) {
    const SrPretrainStage *s = &r->m->pretrain[stage];
    int steps = (r->data->train.n + s->batch - 1) / s->batch;
    used = (size_t)snprintf(buf, size, "pretraining %s, epoch %d, step %d of %d", s->layer,
                            epoch + 1, step, steps);
  } else {
    int steps = (r->data->train.n + r->cfg.batch - 1) / r->cfg.batch;
    used = (size_t)snprintf(buf, size, "epoch %d, step %d of %d", r->fit.loop.epoch + 1,
                            r->fit.loop.step, steps);
  }
  if (r->cfg.nlrs > 1 && used < size)
    used += (size_t)snprintf(buf + used, size - used, ", lr %g", current_lr(r));
  if (r->seed_index > 0 && used < size)
    snprintf(buf + used, size - used, ", seed %" PRIu64 " (%d of %d)", current_seed(r),
             r->seed_index + 1, r->cfg.seeds);
}

/* The best parameters so far: the finished lrs' best, or the lr under
 * way's best epoch if it is better; NULL when no epoch is complete. In
 * the seeds' repeats: the first seed's, the model kept whatever the
 * others do. */
static const SrState *best_so_far(const SrRun *r, SrFitResult *res) {
  int fit_best = r->fit_started && r->fit.best_epoch > 0 && r->seed_index == 0;
  if (fit_best && (!r->have_best || r->fit.best_valid.error < r->best_result.best_valid.error)) {
    sr_fit_result(&r->fit, res);
    return &r->fit.best;
  }
  *res = r->best_result;
  return r->have_best ? &r->best : NULL;
}

/* The checkpoint holds the best parameters so far (written by rank 0). */
static int write_checkpoint(const SrRun *r, const SrState *params, SrError *err) {
  if (!r->cfg.checkpoint || !params || !is_root(r))
    return 0;
  int rc = sr_checkpoint_save(params, r->cfg.checkpoint, err);
  if (rc == 0)
    say(r, "checkpoint: %s\n", r->cfg.checkpoint);
  return rc;
}

static int interrupted(SrRun *r, SrError *err) {
  char where[200];
  sr_run_describe_position(r, where, sizeof where);
  SrFitResult res;
  const SrState *best = best_so_far(r, &res);
  tell(r, "interrupted in %s: %d epoch%s done", where, r->fit_started ? r->fit.loop.epoch : 0,
       r->fit_started && r->fit.loop.epoch == 1 ? "" : "s");
  if (best && r->data->valid.n > 0)
    tell(r, "; best validation error at epoch %d: valid %.2f%%, test %.2f%%", res.best_epoch,
         100 * res.best_valid.error, 100 * res.best_test.error);
  else if (best)
    tell(r, "; test error at epoch %d: %.2f%%", res.best_epoch, 100 * res.best_test.error);
  tell(r, "\n");
  if (save_state(r, err) < 0 || write_checkpoint(r, best, err) < 0)
    return -1;
  tell(r, "state: %s\n", r->state_path);
  if (r->setup.command)
    tell(r, "to resume: %s --resume %s\n", r->setup.command, r->state_path);
  return SR_RUN_INTERRUPTED;
}

/* Adds to err's message, within its size. */
static void append(SrError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(SrError *err, const char *fmt, ...) {
  size_t used = strlen(err->msg);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg + used, sizeof err->msg - used, fmt, ap);
  va_end(ap);
}

/* Training failed (a non-finite loss, a write error, ...): the state file
 * of the last save and the best parameters so far are what is kept; the
 * message says where they are. */
static int failed(SrRun *r, SrError *err) {
  int slot;
  size_t index;
  int nonfinite = sr_state_find_nonfinite(r->st, &slot, &index);
  if (nonfinite && !strstr(err->msg, "parameter '"))
    append(err, " (first non-finite parameter: '%s', layer %.*s)", r->m->slots[slot].name,
           (int)strcspn(r->m->slots[slot].name, "."), r->m->slots[slot].name);
  else if (!nonfinite && strstr(err->msg, "loss is not finite"))
    append(err, " (every parameter is still finite: the loss overflowed at the output)");
  SrFitResult res;
  const SrState *best = best_so_far(r, &res);
  SrError ignored;
  if (best && write_checkpoint(r, best, &ignored) == 0 && r->cfg.checkpoint)
    append(err, "; the best parameters so far (epoch %d) are in %s", res.best_epoch,
           r->cfg.checkpoint);
  if (r->saved_epoch >= 0) {
    append(err, "; the last good state (%s) is %s", r->saved_at, r->state_path);
    if (r->setup.command)
      append(err, ": resume it with %s --resume %s, e.g. at a smaller learning rate",
             r->setup.command, r->state_path);
  }
  return -1;
}

static int finished(SrRun *r, SrError *err) {
  if (r->have_best)
    sr_state_copy_params(r->st, &r->best);
  print_result(r);
  if (r->phase_at_start == PHASE_DONE && save_state(r, err) < 0)
    return -1; /* a state that was done stays one */
  if (write_checkpoint(r, r->have_best ? &r->best : NULL, err) < 0)
    return -1;
  say(r, "state: %s\n", r->state_path);
  return 0;
}

static int open_metrics(SrRun *r, SrError *err) {
  if (!r->cfg.metrics || !is_root(r) || r->metrics)
    return 0;
  SrMetricsFormat format = r->cfg.metrics_format == SR_METRICS_JSONL ? SR_METRICS_JSONL
                                                                     : SR_METRICS_CSV;
  r->metrics = sr_metrics_open_at(r->cfg.metrics, format, r->m, r->metrics_keep, err);
  return r->metrics ? 0 : -1;
}

int sr_run_experiment(SrRun *r, SrError *err) {
  r->phase_at_start = r->phase;
  if (!r->setup.stop)
    r->stop = sr_interrupt_install();
  int rc = open_metrics(r, err);
  if (r->setup.dist)
    rc = sr_dist_agree(r->setup.dist, rc, err);
  if (rc == 0)
    rc = run_phases(r, err);
  if (rc > 0)
    rc = interrupted(r, err);
  else if (rc < 0)
    rc = failed(r, err);
  else
    rc = finished(r, err);
  if (rc == 0 && r->stop && *r->stop) /* the signal came after the last minibatch */
    say(r, "the run was complete when interrupted: nothing to resume\n");
  SrMetricsWriter *metrics = r->metrics;
  r->metrics = NULL;
  if (sr_metrics_close(metrics, rc < 0 ? NULL : err) != 0 && rc >= 0)
    rc = -1;
  return rc;
}

/* ---- the REPL's steps ------------------------------------------------------------ */

static int find_stage(const SrModel *m, const char *layer) {
  for (int i = 0; i < m->npretrain; i++)
    if (strcmp(m->pretrain[i].layer, layer) == 0)
      return i;
  return -1;
}

int sr_run_pretrain(SrRun *r, const char *layer, SrError *err) {
  SrPretrainConfig pc = pretrain_config(r);
  pc.after_epoch = NULL;
  if (layer) { /* one stage on its own: from its start, beside the run's position */
    int i = find_stage(r->m, layer);
    if (i < 0)
      return sr_fail(err, "no pretraining stage for '%s'", layer);
    SrPretrainRun one;
    if (sr_pretrain_start(&one, r->st, err) < 0)
      return -1;
    int rc = sr_pretrain_run(r->st, &pc, &r->data->train, &one, i, err);
    sr_pretrain_free(&one);
    return rc;
  }
  if (r->pre.stage >= r->m->npretrain && !r->pre.started) { /* done before: again */
    sr_pretrain_free(&r->pre);
    if (sr_pretrain_start(&r->pre, r->st, err) < 0)
      return -1;
  }
  r->phase = PHASE_PRETRAIN;
  return sr_pretrain_run(r->st, &pc, &r->data->train, &r->pre, -1, err);
}

int sr_run_train(SrRun *r, int epochs, SrFitResult *result, SrError *err) {
  if (!r->fit_started && enter_train(r, err) < 0)
    return -1;
  r->phase = PHASE_TRAIN;
  char label[64];
  SrTrainConfig tc = train_config(r, label, sizeof label);
  tc.run = NULL;
  tc.metrics = NULL;
  tc.after_epoch = NULL;
  tc.epochs = r->fit.loop.epoch + epochs;
  r->fit.stopped_early = 0;
  return sr_fit_run(r->st, &tc, &r->data->train, &r->data->valid, &r->data->test, &r->fit, result,
                    err);
}

int sr_run_restore_best(SrRun *r, SrError *err) {
  SrFitResult res;
  const SrState *best = best_so_far(r, &res);
  if (!best)
    return sr_fail(err, "no epoch is complete yet: there is no best epoch to restore");
  sr_state_copy_params(r->st, best);
  return res.best_epoch;
}

int sr_run_save_state(SrRun *r, const char *path, SrError *err) {
  SrError why;
  if (sr_output_folder(path, &why) < 0)
    return sr_fail(err, "%s: %s", path, why.msg);
  return sr_run_state_write(r, path, err);
}

int sr_run_resume(SrRun *r, const char *path, SrError *err) {
  if (sr_run_state_read(r, path, err) < 0)
    return -1;
  char where[200];
  sr_run_describe_position(r, where, sizeof where);
  say(r, "resuming from %s: %s\n", path, r->phase == PHASE_DONE ? "the run is complete" : where);
  return 0;
}

/* The new run of a REPL session whose change left the state's layout and
 * the training set as they were goes on from where the old one was. */
static void repoint(SrState *copy, const SrModel *m) {
  if (copy->slots)
    copy->model = m;
}

void sr_run_take_position(SrRun *r, SrRun *old) {
  SrRun keep = *r;
  SrPretrainRun pre = r->pre;
  r->pre = old->pre;
  old->pre = pre;
  SrFit fit = r->fit;
  r->fit = old->fit;
  old->fit = fit;
  SrState pretrained = r->pretrained, best = r->best;
  r->pretrained = old->pretrained, old->pretrained = pretrained;
  r->best = old->best, old->best = best;
  r->lr_index = 0;
  r->seed_index = 0; /* the REPL trains one seed: it never repeats */
  r->phase = old->phase == PHASE_DONE ? PHASE_TRAIN : old->phase;
  r->fit_started = old->fit_started;
  old->fit_started = 0;
  r->have_pretrained = old->have_pretrained;
  r->have_best = old->have_best;
  r->best_lr = old->best_lr;
  r->best_result = old->best_result;
  r->saved_epoch = old->saved_epoch;
  memcpy(r->saved_at, old->saved_at, sizeof r->saved_at);
  SrRunRecord *history = r->history; /* the records go on with the training */
  int nhistory = r->nhistory, cap = r->history_cap;
  r->history = old->history, r->nhistory = old->nhistory, r->history_cap = old->history_cap;
  old->history = history, old->nhistory = nhistory, old->history_cap = cap;
  repoint(&r->pre.before, keep.m);
  repoint(&r->fit.best, keep.m);
  repoint(&r->pretrained, keep.m);
  repoint(&r->best, keep.m);
}

const char *sr_run_command(const char *prefix, int argc, char **argv, char *buf, size_t size) {
  size_t used = prefix ? (size_t)snprintf(buf, size, "%s", prefix) : 0;
  if (size > 0 && !prefix)
    buf[0] = 0;
  for (int i = 0; i < argc && used < size; i++) {
    if (strcmp(argv[i], "--resume") == 0) {
      i++;
      continue;
    }
    if (strncmp(argv[i], "--resume=", 9) == 0) /* the option parser takes this form too */
      continue;
    int quote = argv[i][strcspn(argv[i], " \t'\"$\\*?;&|<>(){}[]~`#")] != 0;
    used += (size_t)snprintf(buf + used, size - used, "%s%s%s%s", used ? " " : "",
                             quote ? "'" : "", argv[i], quote ? "'" : "");
  }
  return used < size ? buf : NULL;
}
