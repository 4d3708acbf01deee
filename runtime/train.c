/* train.c: minibatch loop, evaluation, best-validation tracking, early
 * stopping.
 *
 * The runtime moves data in and out of slots and keeps score; all the
 * arithmetic happens in the generated kernels. Slot indices and sizes come
 * from generated code, but they are checked against the data before any
 * copy so that a mismatch is an error message, not memory corruption.
 *
 * Each epoch may also draw a progress bar (progress.c) and write a metrics
 * record (metrics.c); the log line, the bar and the record all describe
 * the same epoch. A caller's stop flag (SrTrainConfig.stop, raised by
 * Ctrl-C in the REPL) ends the loop between two minibatches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist_internal.h"
#include "sparsert_internal.h"

/* Distinguishes the shuffling stream from the init stream (see start_fit). */
#define SHUFFLE_STREAM 0x53485546464c45u /* "SHUFFLE" */

double sr_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static float read_scalar(SrState *st, int slot) {
  return *(const float *)st->slots[slot];
}

/* ---- checking the model's slots against the data ------------------------- */

/* `slot` must exist and hold at least `elements` 4-byte values. */
static int check_slot(const SrState *st, const char *role, int slot, size_t elements,
                      SrError *err) {
  const SrModel *m = st->model;
  if (slot < 0 || slot >= m->nslots)
    return sr_fail(err, "model: %s slot %d does not exist (model has %d slots)", role, slot,
                   m->nslots);
  if (st->bytes[slot] < elements * 4)
    return sr_fail(err, "model: %s slot %d (%s) holds %zu bytes, needs %zu", role, slot,
                   m->slots[slot].name ? m->slots[slot].name : "?", st->bytes[slot], elements * 4);
  return 0;
}

/* The slots sr_evaluate touches, for batches of st->max_rows rows. */
static int check_infer_slots(const SrState *st, int dim, SrError *err) {
  const SrModel *m = st->model;
  size_t rows = (size_t)st->max_rows;
  if (!m->infer)
    return sr_fail(err, "model: no inference kernel");
  if (m->classes < 1)
    return sr_fail(err, "model: %d classes", m->classes);
  if (m->nhidden < 0 || m->nhidden > SR_MAX_HIDDEN)
    return sr_fail(err, "model: %d hidden layers (at most %d)", m->nhidden, SR_MAX_HIDDEN);
  if (check_slot(st, "input", m->slot_x, rows * (size_t)dim, err) < 0 ||
      check_slot(st, "labels", m->slot_y, rows, err) < 0 ||
      check_slot(st, "loss", m->slot_loss, 1, err) < 0 ||
      check_slot(st, "probabilities", m->slot_probs, rows * (size_t)m->classes, err) < 0)
    return -1;
  for (int k = 0; k < m->nhidden; k++) {
    if (m->hidden_units[k] < 1)
      return sr_fail(err, "model: hidden layer %d has %d units", k + 1, m->hidden_units[k]);
    if (check_slot(st, "zero count", m->slot_zeros[k], 1, err) < 0)
      return -1;
  }
  return sr_check_nonfinite_slots(st, err);
}

int sr_check_nonfinite_slots(const SrState *st, SrError *err) {
  const SrModel *m = st->model;
  if (m->nhidden < 0 || m->nhidden > SR_MAX_HIDDEN)
    return sr_fail(err, "model: %d hidden layers (at most %d)", m->nhidden, SR_MAX_HIDDEN);
  for (int k = 0; k < m->nhidden; k++)
    if (check_slot(st, "non-finite count", m->slot_nonfinite[k], 1, err) < 0)
      return -1;
  return 0;
}

/* The model's input width is the input slot's column count. */
static int model_dim(const SrState *st) {
  const SrModel *m = st->model;
  return m->slot_x >= 0 && m->slot_x < m->nslots ? m->slots[m->slot_x].cols : 0;
}

/* ---- evaluation ---------------------------------------------------------- */

/* Index of the largest probability; ties go to the lowest class. */
static int argmax(const float *p, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (p[i] > p[best])
      best = i;
  return best;
}

static int count_errors(SrState *st, const int32_t *labels, int rows) {
  const float *probs = st->slots[st->model->slot_probs];
  int classes = st->model->classes;
  int errors = 0;
  for (int r = 0; r < rows; r++)
    errors += argmax(probs + (size_t)r * (size_t)classes, classes) != labels[r];
  return errors;
}

/* Running sums over batches, turned into SrMetrics at the end. */
typedef struct Totals {
  double loss;
  long errors;
  double zeros[SR_MAX_HIDDEN];
} Totals;

static void finish_metrics(const SrModel *m, const Totals *t, int n, SrMetrics *out) {
  memset(out, 0, sizeof *out);
  out->nhidden = m->nhidden;
  if (n == 0)
    return;
  out->loss = t->loss / n;
  out->error = (double)t->errors / n;
  double zeros = 0, units = 0;
  for (int k = 0; k < m->nhidden; k++) {
    out->sparsity[k] = t->zeros[k] / ((double)n * m->hidden_units[k]);
    zeros += t->zeros[k];
    units += m->hidden_units[k];
  }
  out->mean_sparsity = units > 0 ? zeros / ((double)n * units) : 0;
}

int sr_fail_loss(SrError *err, int epoch, int batch, float loss) {
  return sr_fail(err,
                 "epoch %d, batch %d: training loss is not finite (%s); try a smaller learning rate",
                 epoch, batch, sr_nonfinite_name(loss));
}

void sr_copy_rows(SrState *st, const SrDataset *ds, int start, int rows) {
  const SrModel *m = st->model;
  float *x = st->slots[m->slot_x];
  size_t dim = (size_t)ds->dim;
  if (sr_dataset_is_sparse(ds)) /* each row scattered into its zeros */
    for (int r = 0; r < rows; r++)
      sr_dataset_row(ds, start + r, x + (size_t)r * dim);
  else /* consecutive rows: one copy */
    memcpy(x, ds->x + (size_t)start * dim, (size_t)rows * dim * sizeof *x);
  memcpy(st->slots[m->slot_y], ds->y + start, (size_t)rows * sizeof(int32_t));
}

/* Fails, with the metrics zeroed, on the first batch with a value that is
 * not finite (sr_check_infer_finite). */
static int evaluate_batches(SrState *st, const SrDataset *ds, SrMetrics *out, SrError *err) {
  const SrModel *m = st->model;
  Totals t = {0};
  for (int start = 0; start < ds->n; start += st->max_rows) {
    int rows = ds->n - start < st->max_rows ? ds->n - start : st->max_rows;
    sr_signal_at(SR_AT_EVAL);
    sr_copy_rows(st, ds, start, rows);
    m->infer(st->slots, rows);
    if (sr_check_infer_finite(st, start, rows, 1, err) < 0) {
      memset(out, 0, sizeof *out);
      return -1;
    }
    t.loss += (double)read_scalar(st, m->slot_loss) * rows;
    t.errors += count_errors(st, ds->y + start, rows);
    for (int k = 0; k < m->nhidden; k++)
      t.zeros[k] += read_scalar(st, m->slot_zeros[k]);
  }
  finish_metrics(m, &t, ds->n, out);
  return 0;
}

int sr_evaluate(SrState *st, const SrDataset *ds, SrMetrics *out, SrError *err) {
  memset(out, 0, sizeof *out);
  int dim = model_dim(st);
  if (check_infer_slots(st, dim, err) < 0 ||
      sr_dataset_check(ds, dim, st->model->classes, "data", err) < 0)
    return -1;
  return evaluate_batches(st, ds, out, err);
}

/* ---- training ------------------------------------------------------------ */

static int check_fit_args(const SrState *st, const SrTrainConfig *cfg, const SrDataset *train,
                          const SrDataset *valid, const SrDataset *test, SrError *err) {
  const SrModel *m = st->model;
  int dim = model_dim(st);
  if (!m->train_step)
    return sr_fail(err, "model: no training kernel");
  if (cfg->epochs < 1 || cfg->batch < 1)
    return sr_fail(err, "training: epochs (%d) and batch size (%d) must be at least 1",
                   cfg->epochs, cfg->batch);
  if (cfg->patience < 0)
    return sr_fail(err, "training: patience must be 0 (off) or more, got %d", cfg->patience);
  if (st->max_rows < cfg->batch)
    return sr_fail(err, "training: the model state holds %d rows, fewer than the batch size %d",
                   st->max_rows, cfg->batch);
  if (train->n < 1)
    return sr_fail(err, "train data: no examples");
  if (check_infer_slots(st, dim, err) < 0 ||
      check_slot(st, "training loss", m->slot_train_loss, 1, err) < 0)
    return -1;
  if (sr_dataset_check(train, dim, m->classes, "train data", err) < 0)
    return -1;
  if (valid && sr_dataset_check(valid, dim, m->classes, "validation data", err) < 0)
    return -1;
  if (test && sr_dataset_check(test, dim, m->classes, "test data", err) < 0)
    return -1;
  return 0;
}

void sr_gather_batch(SrState *st, const SrDataset *ds, const int32_t *perm, int rows) {
  const SrModel *m = st->model;
  float *x = st->slots[m->slot_x];
  int32_t *y = st->slots[m->slot_y];
  for (int r = 0; r < rows; r++) {
    sr_dataset_row(ds, perm[r], x + (size_t)r * (size_t)ds->dim);
    y[r] = ds->y[perm[r]];
  }
}

/* ---- a loop over shuffled minibatches, resumable ------------------------- */

int sr_loop_init(SrLoop *l, int n, uint64_t seed, SrError *err) {
  memset(l, 0, sizeof *l);
  sr_rng_seed(&l->rng, seed);
  l->n = n;
  if (!(l->perm = malloc(((size_t)n + 1) * sizeof *l->perm)))
    return sr_fail(err, "training: out of memory for a permutation of %d examples", n);
  for (int i = 0; i < n; i++)
    l->perm[i] = i;
  return 0;
}

void sr_loop_free(SrLoop *l) {
  free(l->perm);
  memset(l, 0, sizeof *l);
}

/* Starts the epoch under way if it has not begun: its shuffle is drawn
 * here, once, so that a loop resumed mid-epoch keeps the order it had. */
void sr_loop_begin_epoch(SrLoop *l) {
  if (l->step > 0)
    return;
  sr_rng_shuffle(&l->rng, l->perm, l->n);
  l->sum = 0;
  l->input_max = 0;
}

void sr_loop_end_epoch(SrLoop *l) {
  l->epoch++;
  l->step = 0;
}

/* ---- training: the epochs of one learning rate ----------------------------- */

/* Everything sr_fit_run needs for one call. */
typedef struct Fit {
  SrState *st;
  const SrTrainConfig *cfg;
  const SrDataset *train, *valid, *test; /* valid is NULL when empty */
  SrFit *fit;
  SrProgress bar;   /* within the current epoch, if cfg->progress */
} Fit;

/* The bar shares stderr with the log and error messages: it must be gone
 * before anything else is printed, on every way out of an epoch. */
static void clear_bar(Fit *f) {
  sr_progress_clear(&f->bar);
}

/* The caller's stop flag (Ctrl-C): read once per minibatch, which is as
 * soon as training can stop with the parameters in one piece. */
static int stop_requested(const SrTrainConfig *cfg) {
  return cfg->stop && *cfg->stop;
}

/* The rest of the epoch under way; *mean_loss gets the epoch's mean
 * training loss. Fails on the first non-finite batch loss; returns 1 if
 * the stop flag was raised before the epoch ended: the loop then holds
 * the position of the next minibatch. With ranks an epoch is not cut:
 * they agree to stop between epochs (sr_fit_run). */
static int train_epoch(Fit *f, double *mean_loss, SrError *err) {
  const SrModel *m = f->st->model;
  SrLoop *l = &f->fit->loop;
  int n = f->train->n, batch = f->cfg->batch, epoch = l->epoch + 1;
  sr_loop_begin_epoch(l);
  char label[96];
  snprintf(label, sizeof label, "%s%sepoch %d", f->cfg->run ? f->cfg->run : "",
           f->cfg->run ? " " : "", epoch);
  sr_progress_start(&f->bar, f->cfg->progress ? stderr : NULL, label, "loss", n, sr_now());
  if (f->cfg->dist) /* minibatches shared by ranks (dist_train.c) */
    return sr_dist_train_epoch(f->cfg->dist, f->st, f->train, l->perm, batch, epoch, &f->bar,
                               mean_loss, err);
  for (int start = l->step * batch; start < n; start += batch) {
    sr_signal_at(SR_AT_STEP);
    if (stop_requested(f->cfg))
      return 1;
    int rows = n - start < batch ? n - start : batch;
    sr_gather_batch(f->st, f->train, l->perm + start, rows);
    m->train_step(f->st->slots, rows);
    float loss = read_scalar(f->st, m->slot_train_loss);
    if (!isfinite(loss))
      return sr_fail_loss(err, epoch, l->step + 1, loss);
    l->sum += (double)loss * rows;
    l->step++;
    sr_progress_update(&f->bar, start + rows, l->sum, sr_now());
  }
  *mean_loss = l->sum / n;
  return 0;
}

/* Hidden layer sparsity is reported for validation, else test data. */
static void log_epoch(const Fit *f, int epoch, double loss, const SrMetrics *valid,
                      const SrMetrics *test, double seconds) {
  FILE *log = f->cfg->log;
  if (!log)
    return;
  const SrModel *m = f->st->model;
  if (f->cfg->run)
    fprintf(log, "%s  ", f->cfg->run);
  fprintf(log, "epoch %3d  loss %6.4f", epoch, loss);
  if (f->valid)
    fprintf(log, "  valid %5.2f%%", 100 * valid->error);
  if (f->test)
    fprintf(log, "  test %5.2f%%", 100 * test->error);
  const SrMetrics *zeros = f->valid ? valid : f->test ? test : NULL;
  if (zeros && m->nhidden > 0) {
    fprintf(log, "  zeros");
    for (int k = 0; k < m->nhidden; k++) {
      const char *name = m->hidden_names[k];
      if (name)
        fprintf(log, " %s %4.1f%%", name, 100 * zeros->sparsity[k]);
      else
        fprintf(log, " h%d %4.1f%%", k + 1, 100 * zeros->sparsity[k]);
    }
  }
  fprintf(log, "  %5.1f s\n", seconds);
  fflush(log);
}

/* Without validation data every epoch counts as the best so far, so the
 * last one is kept. Ties keep the earlier epoch. */
static void track_best(Fit *f, int epoch, const SrMetrics *valid, const SrMetrics *test) {
  SrFit *fit = f->fit;
  if (f->valid && fit->best_epoch > 0 && valid->error >= fit->best_valid.error)
    return;
  fit->best_epoch = epoch;
  fit->best_valid = *valid;
  fit->best_test = *test;
  sr_state_copy_params(&fit->best, f->st);
}

/* A relu written as fmaxf(x, 0) turns a NaN pre-activation into 0, so a
 * non-finite parameter does not always show in the loss. It must never
 * become the best epoch's, or be left behind: it is caught here. */
static int check_params(const Fit *f, int epoch, SrError *err) {
  int slot;
  size_t index;
  if (!sr_state_find_nonfinite(f->st, &slot, &index))
    return 0;
  float x = ((const float *)f->st->slots[slot])[index];
  return sr_fail(err,
                 "epoch %d: parameter '%s' element %zu is not finite (%s); "
                 "try a smaller learning rate",
                 epoch, f->st->model->slots[slot].name ? f->st->model->slots[slot].name : "?",
                 index, sr_nonfinite_name(x));
}

static int write_metrics(const Fit *f, int epoch, double loss, const SrMetrics *valid,
                         const SrMetrics *test, double seconds, SrError *err) {
  if (!f->cfg->metrics && !f->cfg->record)
    return 0;
  SrEpochRecord rec = {.run = f->cfg->run,
                       .seed = f->cfg->seed,
                       .epoch = epoch,
                       .train_loss = loss,
                       .has_valid = f->valid != NULL,
                       .has_test = f->test != NULL,
                       .valid = *valid,
                       .test = *test,
                       .seconds = seconds};
  if (f->cfg->metrics && sr_metrics_write(f->cfg->metrics, &rec, err) < 0)
    return -1;
  return f->cfg->record ? f->cfg->record(f->cfg->ctx, &rec, err) : 0;
}

/* `patience` epochs in a row without a lower validation error end the
 * run. Without validation data every epoch is the best, so this never
 * fires; and running out on the last epoch is not stopping early. */
static int out_of_patience(const Fit *f, int epoch, int last) {
  int patience = f->cfg->patience;
  return patience > 0 && f->valid && epoch < last && epoch - f->fit->best_epoch >= patience;
}

static void log_early_stop(const Fit *f, int epoch) {
  FILE *log = f->cfg->log;
  if (!log)
    return;
  if (f->cfg->run)
    fprintf(log, "%s  ", f->cfg->run);
  fprintf(log, "stopping early after epoch %d: no better validation error for %d epochs "
          "(best: epoch %d)\n", epoch, epoch - f->fit->best_epoch, f->fit->best_epoch);
  fflush(log);
}

/* With ranks, each evaluates its part of the set and the sums are reduced.
 * A value that is not finite fails the epoch, naming the data and the
 * layer (with ranks, on every rank). */
static int evaluate_set(const Fit *f, int epoch, const SrDataset *ds, const char *what,
                        SrMetrics *out, SrError *err) {
  if (!ds)
    return 0;
  SrError why;
  if (f->cfg->dist ? sr_dist_evaluate(f->cfg->dist, f->st, ds, out, &why) == 0
                   : evaluate_batches(f->st, ds, out, &why) == 0)
    return 0;
  return sr_fail(err, "epoch %d: evaluating on the %s data: %s", epoch, what, why.msg);
}

/* With ranks: all stop here together, or go on with identical weights. */
static int end_epoch_dist(const Fit *f, int epoch, int rc, SrError *err) {
  char when[32];
  snprintf(when, sizeof when, "epoch %d", epoch);
  return sr_dist_end_epoch(f->cfg->dist, f->st, when, rc, err);
}

/* One epoch (or what is left of it): train, check, evaluate, keep score,
 * report. 1 if it was interrupted: then it is neither counted nor
 * reported, and the loop holds the position to go on from. */
static int run_epoch(Fit *f, SrError *err) {
  SrMetrics valid = {0}, test = {0};
  SrLoop *l = &f->fit->loop;
  int epoch = l->epoch + 1;
  double t0 = sr_now(), loss = 0;
  int trained = train_epoch(f, &loss, err);
  if (trained > 0)
    return trained;
  if (trained < 0 || check_params(f, epoch, err) < 0)
    trained = -1;
  if (f->cfg->dist)
    trained = end_epoch_dist(f, epoch, trained, err);
  if (trained < 0)
    return -1;
  if (evaluate_set(f, epoch, f->valid, "validation", &valid, err) < 0 ||
      evaluate_set(f, epoch, f->test, "test", &test, err) < 0)
    return -1;
  sr_loop_end_epoch(l);
  track_best(f, epoch, &valid, &test);
  double seconds = sr_now() - t0;
  clear_bar(f);
  log_epoch(f, epoch, loss, &valid, &test, seconds);
  int rc = write_metrics(f, epoch, loss, &valid, &test, seconds, err);
  if (f->cfg->dist)
    rc = sr_dist_agree(f->cfg->dist, rc, err); /* rank 0 writes */
  if (rc == 0 && out_of_patience(f, epoch, f->cfg->epochs)) {
    f->fit->stopped_early = 1;
    log_early_stop(f, epoch);
  }
  if (rc == 0 && f->cfg->after_epoch)
    rc = f->cfg->after_epoch(f->cfg->ctx, err);
  return rc;
}

/* Ranks stop together: the flag of any rank stops them all, between two
 * epochs, where no rank is inside a collective. */
static int stop_agreed(const Fit *f) {
  if (!f->cfg->dist)
    return stop_requested(f->cfg);
  SrError ignored;
  return sr_dist_agree(f->cfg->dist, stop_requested(f->cfg) ? -1 : 0, &ignored) != 0;
}

void sr_fit_result(const SrFit *fit, SrFitResult *out) {
  memset(out, 0, sizeof *out);
  out->epochs_run = fit->loop.epoch;
  out->stopped_early = fit->stopped_early;
  out->best_epoch = fit->best_epoch;
  out->best_valid = fit->best_valid;
  out->best_test = fit->best_test;
}

int sr_fit_start(SrFit *fit, const SrState *st, const SrTrainConfig *cfg, int n, SrError *err) {
  memset(fit, 0, sizeof *fit);
  /* Callers often pass the init seed here too; a fixed tweak keeps the
   * shuffle from replaying the stream that drew the initial weights. */
  if (sr_loop_init(&fit->loop, n, cfg->seed ^ SHUFFLE_STREAM, err) < 0)
    return -1;
  /* A one-row state is enough to hold parameters. Starting it as a copy
   * of the initial parameters gives a failure in epoch 1 something sane
   * to restore. */
  if (sr_state_init(&fit->best, st->model, 1, 0, err) < 0) {
    sr_loop_free(&fit->loop);
    return -1;
  }
  sr_state_copy_params(&fit->best, st);
  return 0;
}

void sr_fit_free(SrFit *fit) {
  sr_loop_free(&fit->loop);
  sr_state_free(&fit->best);
  memset(fit, 0, sizeof *fit);
}

int sr_fit_done(const SrFit *fit, const SrTrainConfig *cfg) {
  return fit->stopped_early || (fit->loop.epoch >= cfg->epochs && fit->loop.step == 0);
}

int sr_fit_run(SrState *st, const SrTrainConfig *cfg, const SrDataset *train,
               const SrDataset *valid, const SrDataset *test, SrFit *fit, SrFitResult *out,
               SrError *err) {
  memset(out, 0, sizeof *out);
  int ok = check_fit_args(st, cfg, train, valid, test, err);
  if (ok == 0 && fit->loop.n != train->n)
    ok = sr_fail(err, "training: the run was started on %d examples, the data has %d",
                 fit->loop.n, train->n);
  if (cfg->dist) /* every rank starts, or none; from identical weights */
    ok = sr_dist_start(cfg->dist, st, &st->model->train_split, "training", ok, err);
  if (ok < 0)
    return -1;
  Fit f = {.st = st, .cfg = cfg, .train = train, .test = test, .fit = fit};
  f.valid = valid && valid->n > 0 ? valid : NULL;
  double t0 = sr_now();
  int rc = 0;
  while (rc == 0 && !sr_fit_done(fit, cfg)) {
    if (stop_agreed(&f)) {
      rc = 1;
      break;
    }
    rc = run_epoch(&f, err);
    clear_bar(&f);
  }
  sr_fit_result(fit, out);
  out->interrupted = rc > 0;
  out->seconds = sr_now() - t0;
  return rc;
}

int sr_fit(SrState *st, const SrTrainConfig *cfg, const SrDataset *train, const SrDataset *valid,
           const SrDataset *test, SrFitResult *out, SrError *err) {
  memset(out, 0, sizeof *out);
  SrFit fit;
  if (sr_fit_start(&fit, st, cfg, train->n > 0 ? train->n : 0, err) < 0)
    return -1;
  int rc = sr_fit_run(st, cfg, train, valid, test, &fit, out, err);
  sr_state_copy_params(st, &fit.best); /* the best epoch's, or the start's */
  sr_fit_free(&fit);
  return rc < 0 ? -1 : 0;
}
