/* session_run.c: what the session does with its model: train, pretrain,
 * evaluate, count zeros and dead units, save and restore the weights. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

#define SAMPLE_STREAM 0x53544550ull /* "STEP": the examples `train N steps` draws */

static int progress_bar(const Session *s) {
  int p = s->spec->output.progress;
  return p < 0 ? isatty(fileno(stderr)) : p;
}

/* Each train command shuffles with a stream of its own, so that two
 * `train 1` differ; the first is the one `run` uses. */
static uint64_t shuffle_seed(const Session *s) {
  return s->spec->train.seed + (uint64_t)s->runs;
}

static int fail(const Session *s, const SrError *e) {
  fprintf(s->err, "sparsec: %s\n", e->msg);
  return -1;
}

static void print_zeros(FILE *out, const SrModel *m, const SrMetrics *metrics) {
  fputs("zeros", out);
  for (int k = 0; k < m->nhidden; k++)
    fprintf(out, " %s %.1f%%", m->hidden_names[k], 100 * metrics->sparsity[k]);
  fprintf(out, ", mean %.1f%%\n", 100 * metrics->mean_sparsity);
}

/* ---- train N epochs ----------------------------------------------------------- */

/* The engine's run: there unless memory ran out when it was made. */
static SrRun *run_of(const Session *s) {
  if (!s->run)
    fputs("sparsec: out of memory for the training run: `reset` to try again\n", s->err);
  return s->run;
}

static void report_fit(const Session *s, const SrFitResult *r, int rc) {
  FILE *out = s->out;
  char where[200];
  if (rc == SR_RUN_INTERRUPTED) {
    sr_run_describe_position(s->run, where, sizeof where);
    fprintf(out, "interrupted in %s: `train` goes on from there\n", where);
  } else if (r->stopped_early) {
    fprintf(out, "stopped early after epoch %d\n", r->epochs_run);
  }
  if (r->best_epoch == 0)
    return;
  fprintf(out, "%d epoch%s done; best epoch %d: ", r->epochs_run, r->epochs_run == 1 ? "" : "s",
          r->best_epoch);
  if (s->data.valid.n > 0) /* without validation data the last epoch is the best */
    fprintf(out, "valid %.2f%%, ", 100 * r->best_valid.error);
  fprintf(out, "test %.2f%% (`restore best` takes its weights)\n", 100 * r->best_test.error);
}

/* `epochs` more epochs from where the run is: the session's weights, the
 * shuffle stream's position, the epoch count and the best so far all go
 * on, so `train 1` twice is `train 2`. */
static int train_epochs(Session *s, int epochs) {
  SrRun *run = run_of(s);
  if (!run)
    return -1;
  if (s->spec->train.nlrs > 1)
    fprintf(s->out, "note: the session trains at lr %g, the first of the sweep\n", s->spec->train.lr);
  SrFitResult r;
  SrError e = {{0}};
  int before = sr_run_epochs_done(run);
  int rc = sr_run_train(run, epochs, &r, &e);
  s->epochs += sr_run_epochs_done(run) - before;
  if (rc < 0)
    return fail(s, &e);
  report_fit(s, &r, rc);
  return 0;
}

/* ---- train N steps -------------------------------------------------------------- */

/* count examples of the training set, in random order (each pass over it
 * a new shuffle), copied into *sample. */
static int draw_sample(const Session *s, long count, SrDataset *sample, SrError *e) {
  const SrDataset *train = &s->data.train;
  if (train->n < 1)
    return sr_fail(e, "train data: no examples");
  if (count * train->dim > (1L << 31))
    return sr_fail(e, "%ld examples at once is too many; train by epochs instead", count);
  int n = (int)count;
  int32_t *perm = malloc((size_t)train->n * sizeof *perm);
  int32_t *rows = malloc((size_t)n * sizeof *rows);
  if (!perm || !rows) {
    free(perm), free(rows);
    return sr_fail(e, "out of memory for %d examples", n);
  }
  SrRng rng;
  sr_rng_seed(&rng, shuffle_seed(s) ^ SAMPLE_STREAM);
  for (int i = 0; i < n; i++) {
    int at = i % train->n;
    if (at == 0) {
      for (int k = 0; k < train->n; k++)
        perm[k] = k;
      sr_rng_shuffle(&rng, perm, train->n);
    }
    rows[i] = perm[at];
  }
  int rc = sr_dataset_gather(train, rows, n, sample, e);
  free(perm);
  free(rows);
  return rc;
}

/* sr_fit over exactly steps * batch examples: one epoch of a sample. */
static int train_steps(Session *s, int steps) {
  int batch = s->spec->train.batch;
  SrDataset sample;
  SrError e = {{0}};
  if (draw_sample(s, (long)steps * batch, &sample, &e) != 0)
    return fail(s, &e);
  SrTrainConfig cfg = {.epochs = 1,
                       .batch = batch,
                       .seed = shuffle_seed(s),
                       .progress = progress_bar(s),
                       .stop = s->stop};
  SrFitResult r;
  SrMetrics m;
  int rc = sr_fit(&s->state, &cfg, &sample, NULL, NULL, &r, &e);
  s->runs++;
  if (rc == 0 && r.interrupted)
    fputs("interrupted: the weights are as they were before `train`\n", s->out);
  if (rc == 0 && !r.interrupted && (rc = sr_evaluate(&s->state, &sample, &m, &e)) == 0) {
    s->steps += steps;
    fprintf(s->out, "%d steps (%d examples) in %.1f s: data loss %.4f, error %.2f%% on those examples\n",
            steps, sample.n, r.seconds, m.loss, 100 * m.error);
  }
  sr_dataset_free(&sample);
  return rc == 0 ? 0 : fail(s, &e);
}

int session_train(Session *s, int count, int steps) {
  if (!session_ready(s, s->err))
    return -1;
  if (steps)
    return train_steps(s, count);
  return train_epochs(s, count > 0 ? count : s->spec->train.epochs);
}

/* ---- pretrain ------------------------------------------------------------------- */

static int no_stage(const Session *s, const char *layer) {
  const SrModel *m = &s->c.model;
  if (m->npretrain == 0) {
    fputs("sparsec: the spec has no pretraining: type a pretrain block, or "
          "`set pretrain.layers {h1}`\n",
          s->err);
    return -1;
  }
  fprintf(s->err, "sparsec: no pretraining stage for '%s'; the stages are", layer);
  for (int i = 0; i < m->npretrain; i++)
    fprintf(s->err, "%s%s", i ? ", " : " ", m->pretrain[i].layer);
  fputc('\n', s->err);
  return -1;
}

static int has_stage(const SrModel *m, const char *layer) {
  for (int i = 0; i < m->npretrain; i++)
    if (strcmp(m->pretrain[i].layer, layer) == 0)
      return 1;
  return 0;
}

/* Every stage from where pretraining is (as `run` does), or `layer`'s
 * stage alone from its start. */
int session_pretrain(Session *s, const char *layer) {
  if (!session_ready(s, s->err))
    return -1;
  if (s->c.model.npretrain == 0 || (layer && !has_stage(&s->c.model, layer)))
    return no_stage(s, layer ? layer : "");
  SrRun *run = run_of(s);
  SrError e = {{0}};
  int rc = run ? sr_run_pretrain(run, layer, &e) : -1;
  if (rc == SR_RUN_INTERRUPTED) {
    char where[200];
    sr_run_describe_position(run, where, sizeof where);
    fprintf(s->out, "interrupted in %s: `pretrain` goes on from there\n", where);
  }
  return rc < 0 ? (run ? fail(s, &e) : -1) : 0;
}

/* ---- evaluate, sparsity ----------------------------------------------------------- */

static const char *part_name(DataPart part) {
  return part == PART_VALID ? "valid" : part == PART_TEST ? "test" : "train";
}

static const SrDataset *part_data(const Session *s, DataPart part) {
  if (part == PART_VALID && s->data.valid.n == 0) {
    fputs("sparsec: there is no validation set: `set data.validation N` holds out the last N "
          "training examples\n",
          s->err);
    return NULL;
  }
  return part == PART_VALID ? &s->data.valid : part == PART_TEST ? &s->data.test : &s->data.train;
}

int session_eval(Session *s, DataPart part) {
  if (!session_ready(s, s->err))
    return -1;
  const SrDataset *ds = part_data(s, part);
  SrMetrics m;
  SrError e = {{0}};
  if (!ds)
    return -1;
  if (sr_evaluate(&s->state, ds, &m, &e) != 0) {
    SrError why = e; /* e.g. a layer whose values are not finite */
    sr_fail(&e, "%s data: %s", part == PART_VALID ? "validation" : part_name(part), why.msg);
    return fail(s, &e);
  }
  fprintf(s->out, "%s (%d examples): data loss %.4f, error %.2f%%; ", part_name(part), ds->n, m.loss,
          100 * m.error);
  print_zeros(s->out, &s->c.model, &m);
  return 0;
}

/* Dead units of each hidden layer, or -1 where the output is not kept. */
static int count_dead(Session *s, const SrDataset *ds, int *dead, SrError *e) {
  const SrModel *m = &s->c.model;
  int32_t *active[SR_MAX_HIDDEN];
  int slots[SR_MAX_HIDDEN], n = 0, rc = 0;
  for (int k = 0; k < m->nhidden; k++) {
    dead[k] = -1;
    if (s->c.hidden_outputs[k] >= 0) {
      slots[n] = s->c.hidden_outputs[k];
      active[n++] = calloc((size_t)m->hidden_units[k], sizeof(int32_t));
      rc |= active[n - 1] == NULL;
    }
  }
  if (rc == 0)
    rc = sr_unit_activity(&s->state, ds, slots, n, active, e);
  else
    sr_fail(e, "out of memory");
  for (int k = 0, j = 0; k < m->nhidden; k++) {
    if (s->c.hidden_outputs[k] < 0)
      continue;
    dead[k] = 0;
    for (int u = 0; rc == 0 && u < m->hidden_units[k]; u++)
      dead[k] += active[j][u] == 0;
    free(active[j++]);
  }
  return rc;
}

static void print_sparsity_row(FILE *out, const char *name, int units, double zeros, int dead) {
  fprintf(out, "  %-10s %7d %7.1f%% ", name, units, 100 * zeros);
  if (dead >= 0)
    fprintf(out, "%6d (%.1f%%)\n", dead, 100.0 * dead / units);
  else
    fputs("  not available\n", out);
}

int session_sparsity(Session *s, DataPart part) {
  if (!session_ready(s, s->err))
    return -1;
  const SrDataset *ds = part_data(s, part);
  const SrModel *m = &s->c.model;
  SrMetrics metrics;
  SrError e = {{0}};
  int dead[SR_MAX_HIDDEN], all_dead = 0, units = 0;
  if (!ds)
    return -1;
  if (sr_evaluate(&s->state, ds, &metrics, &e) != 0 || count_dead(s, ds, dead, &e) != 0)
    return fail(s, &e);
  fprintf(s->out, "%s (%d examples): activations exactly zero, and dead units (zero on every "
                  "example)\n  %-10s %7s %8s %s\n",
          part_name(part), ds->n, "layer", "units", "zeros", "  dead");
  for (int k = 0; k < m->nhidden; k++) {
    print_sparsity_row(s->out, m->hidden_names[k], m->hidden_units[k], metrics.sparsity[k],
                       dead[k]);
    units += m->hidden_units[k];
    all_dead = all_dead < 0 || dead[k] < 0 ? -1 : all_dead + dead[k];
  }
  print_sparsity_row(s->out, "all", units, metrics.mean_sparsity, all_dead);
  return 0;
}

/* ---- weights -------------------------------------------------------------------- */

int session_save(Session *s, const char *path) {
  SrError e = {{0}};
  if (!session_ready(s, s->err))
    return -1;
  if (sr_checkpoint_save(&s->state, path, &e) != 0)
    return fail(s, &e);
  fprintf(s->out, "saved the weights to %s\n", path);
  return 0;
}

int session_export_onnx(Session *s, const char *path) {
  if (!session_ready(s, s->err))
    return -1;
  char err[1024];
  if (onnx_export(s->spec, &s->state, path, err, sizeof err) != 0) {
    fprintf(s->err, "sparsec: %s\n", err);
    return -1;
  }
  fprintf(s->out, "exported the inference function to %s (ONNX)\n", path);
  return 0;
}

int session_save_state(Session *s, const char *path) {
  SrError e = {{0}};
  if (!session_ready(s, s->err) || !run_of(s))
    return -1;
  if (sr_run_save_state(s->run, path, &e) != 0)
    return fail(s, &e);
  fprintf(s->out, "saved the state to %s\n", path);
  return 0;
}

/* The real path of the folder of `file` ("." when it has none); NULL when
 * it does not exist. The caller frees. */
static char *real_folder(const char *file) {
  const char *slash = file ? strrchr(file, '/') : NULL;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - file) + (slash == file) : 1,
           slash ? file : ".");
  return realpath(dir, NULL);
}

int session_save_spec(Session *s, const char *path) {
  if (!session_ready(s, s->err))
    return -1;
  SrError e = {{0}};
  if (sr_output_folder(path, &e) < 0)
    return fail(s, &e);
  /* the text's relative paths are relative to its folder: joined to it when
   * the saved text lives elsewhere */
  char *from = real_folder(s->path), *to = real_folder(path);
  const char *paths_from = from && to && strcmp(from, to) != 0 ? from : NULL;
  Override sets[MAX_OVERRIDES];
  for (int i = 0; i < s->noverrides; i++)
    sets[i].text = s->overrides[i];
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  int rc = out ? spec_print_with(s->path ? s->path : "<repl>", s->text, sets, s->noverrides,
                                 paths_from, out, s->err)
               : -1;
  if (out)
    fclose(out);
  char why[512];
  if (rc == 0 && write_file_atomic(path, text, size, 0, why, sizeof why) != 0) {
    fprintf(s->err, "sparsec: %s\n", why);
    rc = -1;
  }
  if (rc == 0)
    fprintf(s->out, "saved the spec to %s (%s)\n", path,
            paths_from ? "its relative paths made absolute" : "paths as written");
  free(text), free(from), free(to);
  return rc;
}

int session_metrics(Session *s, const char *path) {
  SrError e = {{0}};
  if (!session_ready(s, s->err) || !run_of(s))
    return -1;
  int n = sr_run_write_metrics(s->run, path, &e);
  if (n < 0)
    return fail(s, &e);
  fprintf(s->out, "wrote %d epoch record%s to %s\n", n, n == 1 ? "" : "s", path);
  return 0;
}

int session_predict(Session *s, const char *path) {
  SrError e = {{0}};
  if (!session_ready(s, s->err))
    return -1;
  if (strcmp(path, "-") == 0) {
    fputs("sparsec: predict reads a file: standard input is the REPL's\n", s->err);
    return -1;
  }
  if (sr_predict(&s->state, &s->config.cfg, path, NULL, 0, s->out, "the REPL's output", &e) != 0)
    return fail(s, &e);
  return 0;
}

/* A state file says so in its metadata; anything else is weights. */
static int is_state_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char head[256] = {0};
  size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0;
  if (f)
    fclose(f);
  return n > 8 && strstr(head + 8, "\"format\":\"sparsec-state\"") != NULL; /* no NUL in JSON */
}

int session_restore(Session *s, const char *path) {
  SrError e = {{0}};
  if (!session_ready(s, s->err))
    return -1;
  if (is_state_file(path)) {
    if (!run_of(s) || sr_run_resume(s->run, path, &e) != 0)
      return s->run ? fail(s, &e) : -1;
    s->epochs = sr_run_epochs_done(s->run);
    return 0;
  }
  if (sr_checkpoint_load(&s->state, path, &e) != 0)
    return fail(s, &e);
  fprintf(s->out, "restored the weights from %s\n", path);
  return 0;
}

int session_restore_best(Session *s) {
  SrError e = {{0}};
  if (!session_ready(s, s->err) || !run_of(s))
    return -1;
  int epoch = sr_run_restore_best(s->run, &e);
  if (epoch < 0)
    return fail(s, &e);
  fprintf(s->out, "restored the weights of epoch %d, the best so far\n", epoch);
  return 0;
}

int session_save_interrupted(Session *s) {
  if (!s->spec || !s->run)
    return 0;
  return session_save_state(s, sr_run_state_path(s->run));
}
