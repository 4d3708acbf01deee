/* What `run` does with a checked spec: load and split the data, compile and
 * train the model once per learning rate of the sweep (a single lr is a
 * sweep of one), keep the run with the best validation error, report it and
 * write the outputs the spec asks for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "model.h"

/* One compiled and trained model. */
typedef struct Trained {
  CompiledModel c;
  SrState state;
  SrFitResult result;
} Trained;

/* Whether the path is in one of the folders scripts/get-data.sh fills:
 * data/fashion-mnist/ or data/mnist10k/, relative or not. */
static int from_get_data(const char *path) {
  const char *folders[] = {"data/fashion-mnist/", "data/mnist10k/"};
  for (int i = 0; i < 2; i++) {
    const char *at = strstr(path, folders[i]);
    if (at && (at == path || at[-1] == '/'))
      return 1;
  }
  return 0;
}

/* A data set that is missing names the command that brings it: Debian's
 * package for /usr/share/datasets, scripts/get-data.sh for data/. */
static void hint_missing_package(const Spec *spec) {
  const char *fashion = "/usr/share/datasets/fashion-mnist/";
  const DataSource *sources[] = {&spec->data.train, &spec->data.test};
  for (int i = 0; i < 2; i++) {
    const char *paths[] = {sources[i]->images, sources[i]->labels};
    for (int k = 0; k < 2; k++) {
      const char *p = paths[k];
      if (!p || access(p, R_OK) == 0)
        continue;
      if (strncmp(p, fashion, strlen(fashion)) == 0)
        fputs("sparsec: note: Fashion-MNIST comes from Debian's dataset-fashion-mnist package; "
              "scripts/install-deps.sh installs it\n",
              stderr);
      else if (from_get_data(p))
        fputs("sparsec: note: scripts/get-data.sh (or `make data`) fetches the data sets of "
              "examples/paper/ into data/\n",
              stderr);
      else
        continue;
      return;
    }
  }
}

/* The parameters right after pretraining. Pretraining does not depend on the
 * supervised learning rate, so a sweep pretrains once and every later lr
 * starts fine-tuning from a copy: the same numbers as pretraining again, at
 * none of the cost (pretraining is most of a Fashion-MNIST run's time). */
typedef struct Pretrained {
  int nslots;    /* 0: not taken yet */
  void **params; /* per slot: a copy of a PARAM or CONST slot, or NULL */
} Pretrained;

static int pretrained_take(Pretrained *p, const SrState *st) {
  const SrModel *m = st->model;
  if (!(p->params = calloc((size_t)m->nslots, sizeof *p->params)))
    return -1;
  p->nslots = m->nslots;
  for (int i = 0; i < m->nslots; i++) {
    if (!sr_slot_is_model(m->slots[i].kind))
      continue;
    if (!(p->params[i] = malloc(st->bytes[i])))
      return -1;
    memcpy(p->params[i], st->slots[i], st->bytes[i]);
  }
  return 0;
}

/* Every lr compiles the same spec, so the slot tables agree. */
static void pretrained_restore(const Pretrained *p, SrState *st) {
  for (int i = 0; i < p->nslots; i++)
    if (p->params[i])
      memcpy(st->slots[i], p->params[i], st->bytes[i]);
}

static void pretrained_free(Pretrained *p) {
  for (int i = 0; i < p->nslots; i++)
    free(p->params[i]);
  free(p->params);
  memset(p, 0, sizeof *p);
}

/* Pretrains the fresh state, or restores what an earlier lr's pretraining left. */
static int pretrain_once(SrState *st, const SrPretrainConfig *cfg, const SrDataset *train,
                         Pretrained *done, SrError *err) {
  if (done->nslots > 0) {
    pretrained_restore(done, st);
    fputs("pretraining: the encoders of the first learning rate's pretraining\n", cfg->log);
    return 0;
  }
  if (sr_pretrain(st, cfg, train, err) != 0)
    return -1;
  if (pretrained_take(done, st) != 0) {
    pretrained_free(done); /* costs time only: the next lr pretrains again */
    fputs("sparsec: warning: out of memory keeping the pretrained encoders\n", stderr);
  }
  return 0;
}

static void trained_free(Trained *t) {
  sr_state_free(&t->state);
  model_free(&t->c);
  memset(t, 0, sizeof *t);
}

/* The module as `sparsec build` prepares it too (backend/prepare.c), then
 * JIT-compiled (model.c): run and build execute the same code. */
static int compile(const Spec *spec, double lr, const PassOptions *passes, Trained *t) {
  char err[1024];
  CompileOptions o = {.passes = *passes};
  if (model_compile(spec, lr, &o, &t->c, err, sizeof err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err);
    return -1;
  }
  JitTimes times = model_jit_times(&t->c);
  printf("sparsec: %s: %d layers, lr %g, compiled in %.0f ms (codegen %.1f, optimise %.1f, "
         "machine code %.1f)\n",
         spec->name, spec->nlayers, lr, times.codegen_ms + times.optimise_ms + times.compile_ms,
         times.codegen_ms, times.optimise_ms, times.compile_ms);
  fflush(stdout);
  return 0;
}

static int train_at(const Spec *spec, const RunOptions *o, double lr, const ExperimentData *d,
                    SrMetricsWriter *metrics, Pretrained *pretrained, Trained *t) {
  if (compile(spec, lr, &o->passes, t) != 0)
    return -1;
  char run[64];
  snprintf(run, sizeof run, "lr=%g", lr);
  int rows = prepare_max_rows(spec);
  int progress = spec->output.progress < 0 ? isatty(fileno(stderr)) : spec->output.progress;
  SrTrainConfig cfg = {.epochs = spec->train.epochs,
                       .batch = spec->train.batch,
                       .seed = spec->train.seed,
                       .patience = spec->train.patience,
                       .log = stdout,
                       .progress = progress,
                       .run = spec->train.nlrs > 1 ? run : NULL,
                       .metrics = metrics,
                       .dist = o->dist};
  SrPretrainConfig pre = {
      .seed = spec->train.seed, .log = stdout, .progress = progress, .dist = o->dist};
  SrError err = {{0}};
  if (sr_state_init(&t->state, &t->c.model, rows, spec->train.seed, &err) != 0 ||
      (t->c.model.npretrain > 0 &&
       pretrain_once(&t->state, &pre, &d->train, pretrained, &err) != 0) ||
      sr_fit(&t->state, &cfg, &d->train, &d->valid, &d->test, &t->result, &err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static void print_sparsity(const SrModel *model, const SrMetrics *m) {
  for (int i = 0; i < model->nhidden; i++)
    printf(" %s %.1f%%", model->hidden_names[i], 100 * m->sparsity[i]);
  printf("; mean %.1f%%\n", 100 * m->mean_sparsity);
}

static void print_result(const Trained *best, const ExperimentData *d) {
  const SrFitResult *r = &best->result;
  if (d->valid.n > 0)
    printf("best validation error at epoch %d%s: valid %.2f%%, test %.2f%%\n", r->best_epoch,
           r->stopped_early ? " (stopped early)" : "", 100 * r->best_valid.error,
           100 * r->best_test.error);
  printf("hidden activations exactly zero (test set):");
  print_sparsity(&best->c.model, &r->best_test);
  printf("test error: %.2f%%\n", 100 * r->best_test.error);
}

static int write_outputs(const Spec *spec, Trained *best) {
  if (!spec->output.checkpoint)
    return 0;
  SrError err = {{0}};
  if (sr_checkpoint_save(&best->state, spec->output.checkpoint, &err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    return -1;
  }
  printf("checkpoint: %s\n", spec->output.checkpoint);
  return 0;
}

/* Trains every lr of the sweep; the best stays in *best. */
static int sweep(const Spec *spec, const RunOptions *o, const ExperimentData *d,
                 SrMetricsWriter *metrics, Trained *best) {
  Pretrained pretrained = {0};
  for (int i = 0; i < spec->train.nlrs; i++) {
    Trained t = {0};
    if (train_at(spec, o, spec->train.lrs[i], d, metrics, &pretrained, &t) != 0) {
      trained_free(&t);
      pretrained_free(&pretrained);
      return -1;
    }
    if (spec->train.nlrs > 1)
      printf("lr %g: best validation error %.2f%% at epoch %d\n", t.c.lr,
             100 * t.result.best_valid.error, t.result.best_epoch);
    if (i == 0 || t.result.best_valid.error < best->result.best_valid.error) {
      trained_free(best);
      *best = t;
      best->state.model = &best->c.model; /* the state points at its model: move it too */
    } else {
      trained_free(&t);
    }
  }
  pretrained_free(&pretrained);
  if (spec->train.nlrs > 1)
    printf("sweep: kept lr %g\n", best->c.lr);
  return 0;
}

static void describe_hidden(const Spec *spec, SrModel *out) {
  memset(out, 0, sizeof *out);
  out->classes = spec->layers[spec->nlayers - 1].units;
  out->nhidden = spec->nlayers - 1;
  for (int i = 0; i < out->nhidden; i++) {
    out->hidden_names[i] = spec->layers[i].name;
    out->hidden_units[i] = spec->layers[i].units;
  }
}

int run_experiment(const Spec *spec, const RunOptions *o) {
  int classes = spec->layers[spec->nlayers - 1].units;
  ExperimentData d = {0};
  SrError err = {{0}};
  int loaded = data_load(spec, classes, &d, &err);
  if (o->dist) /* every rank has its data, or every rank stops (none waits for another) */
    loaded = sr_dist_agree(o->dist, loaded, &err);
  if (loaded != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    hint_missing_package(spec);
    data_free(&d);
    return 1;
  }
  printf("data: %d train, %d validation, %d test examples\n", d.train.n, d.valid.n, d.test.n);
  int rc = 0;
  if (spec->train.nlrs > 1 && d.valid.n == 0) {
    fputs("sparsec: a learning-rate sweep picks by validation error: set data.validation\n",
          stderr);
    rc = -1;
  }
  SrMetricsWriter *metrics = NULL;
  SrModel names; /* what the metrics writer reads: the hidden layers, named by the spec */
  if (rc == 0 && spec->output.metrics && sr_dist_is_root(o->dist)) { /* rank 0 writes files */
    describe_hidden(spec, &names);
    SrMetricsFormat format = spec->output.metrics_format == METRICS_JSONL ? SR_METRICS_JSONL
                                                                          : SR_METRICS_CSV;
    if (!(metrics = sr_metrics_open(spec->output.metrics, format, &names, &err))) {
      fprintf(stderr, "sparsec: %s\n", err.msg);
      rc = -1;
    }
  }
  Trained best = {0};
  if (rc == 0)
    rc = sweep(spec, o, &d, metrics, &best);
  if (rc == 0) {
    print_result(&best, &d);
    if (o->prune_dead && sr_dist_is_root(o->dist))
      rc = report_dead_units(spec, best.c.m, &best.c.model, &best.state, &d.train);
    if (rc == 0)
      rc = sr_dist_is_root(o->dist) ? write_outputs(spec, &best) : 0;
  }
  if (metrics && sr_metrics_close(metrics, &err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    rc = -1;
  }
  trained_free(&best);
  data_free(&d);
  return rc == 0 ? 0 : 1;
}
