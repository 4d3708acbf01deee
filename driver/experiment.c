/* What `run` does with a checked spec: load and split the data, compile and
 * train the model once per learning rate of the sweep (a single lr is a
 * sweep of one), keep the run with the best validation error, report it and
 * write the outputs the spec asks for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "driver.h"

/* Evaluation runs in batches of this many rows; batch-sized buffers are
 * allocated for max(train batch, this). */
#define EVAL_ROWS 500

typedef struct Data {
  SrDataset train_all, test;
  SrDataset train, valid; /* views into train_all */
} Data;

/* One compiled and trained model. */
typedef struct Trained {
  double lr;
  Module *m;
  Jit *jit;
  SrSlot *slots;
  SrModel model;
  SrState state;
  SrFitResult result;
} Trained;

static int load_source(const DataSource *src, float scale, SrDataset *out, SrError *err) {
  if (src->format == DATA_CSV)
    return sr_dataset_load_csv(src->images, src->label_column, scale, out, err);
  return sr_dataset_load_idx(src->images, src->labels, scale, out, err);
}

static int holdout_count(const Spec *spec, int n) {
  if (spec->data.validation_fraction > 0)
    return (int)(spec->data.validation_fraction * n);
  return spec->data.validation;
}

static int load_data(const Spec *spec, int classes, Data *d, SrError *err) {
  float scale = (float)spec->data.scale;
  if (load_source(&spec->data.train, scale, &d->train_all, err) != 0 ||
      load_source(&spec->data.test, scale, &d->test, err) != 0 ||
      sr_dataset_check(&d->train_all, spec->input, classes, "train data", err) != 0 ||
      sr_dataset_check(&d->test, spec->input, classes, "test data", err) != 0)
    return -1;
  if (spec->data.limit > 0 && spec->data.limit < d->train_all.n)
    d->train_all.n = spec->data.limit; /* the first `limit` examples */
  int holdout = holdout_count(spec, d->train_all.n);
  if (holdout >= d->train_all.n)
    return sr_fail(err, "the validation hold-out (%d examples) leaves no training data (%d in all)",
                   holdout, d->train_all.n);
  return sr_dataset_split_tail(&d->train_all, holdout, &d->train, &d->valid, err);
}

/* A data set from a Debian package names the package that brings it. */
static void hint_missing_package(const Spec *spec) {
  const char *fashion = "/usr/share/datasets/fashion-mnist/";
  const DataSource *sources[] = {&spec->data.train, &spec->data.test};
  for (int i = 0; i < 2; i++)
    if (strncmp(sources[i]->images, fashion, strlen(fashion)) == 0 &&
        access(sources[i]->images, R_OK) != 0) {
      fputs("sparsec: note: Fashion-MNIST comes from Debian's dataset-fashion-mnist package; "
            "scripts/install-deps.sh installs it\n",
            stderr);
      return;
    }
}

static void trained_free(Trained *t) {
  sr_state_free(&t->state);
  free(t->slots);
  jit_free(t->jit);
  module_free(t->m);
  memset(t, 0, sizeof *t);
}

/* Batch-sized buffers hold the largest batch any program runs. */
static int eval_rows(const Spec *spec) {
  int rows = spec->train.batch > EVAL_ROWS ? spec->train.batch : EVAL_ROWS;
  for (int i = 0; i < spec->pretrain.nstages; i++)
    if (spec->pretrain.stages[i].batch > rows)
      rows = spec->pretrain.stages[i].batch;
  return rows;
}

/* Builds the module, optimises it, plans its memory and JIT-compiles it. */
static int compile(const Spec *spec, double lr, const PassOptions *passes, Trained *t) {
  Spec at_lr = *spec; /* module_build reads the spec; only the lr differs */
  at_lr.train.lr = lr;
  char err[1024];
  t->lr = lr;
  t->m = module_build(&at_lr, err, sizeof err);
  if (t->m && optimise_module(t->m, passes, err, sizeof err) != 0) {
    module_free(t->m);
    t->m = NULL;
  }
  t->jit = t->m ? jit_compile(t->m, err, sizeof err) : NULL;
  if (!t->jit) {
    fprintf(stderr, "sparsec: %s\n", err);
    return -1;
  }
  JitTimes times = jit_times(t->jit);
  printf("sparsec: %s: %d layers, lr %g, compiled in %.0f ms (codegen %.1f, optimise %.1f, "
         "machine code %.1f)\n",
         spec->name, spec->nlayers, lr, times.codegen_ms + times.optimise_ms + times.compile_ms,
         times.codegen_ms, times.optimise_ms, times.compile_ms);
  fflush(stdout);
  t->slots = calloc(t->m->nvalues, sizeof *t->slots);
  if (!t->slots) {
    fputs("sparsec: out of memory\n", stderr);
    return -1;
  }
  abi_describe(t->m, t->slots, jit_train_step(t->jit), jit_infer(t->jit), &t->model);
  abi_describe_pretrain(t->m, jit_pretrain(t->jit), &t->model);
  if (passes->enabled) {
    MemoryPlan plan;
    if (plan_memory(t->m, eval_rows(spec), &plan) != 0) {
      fputs("sparsec: out of memory\n", stderr);
      return -1;
    }
    abi_use_plan(&plan, eval_rows(spec), t->slots, &t->model);
    memory_plan_free(&plan);
  }
  return 0;
}

static int train_at(const Spec *spec, const RunOptions *o, double lr, const Data *d,
                    SrMetricsWriter *metrics, Trained *t) {
  if (compile(spec, lr, &o->passes, t) != 0)
    return -1;
  char run[64];
  snprintf(run, sizeof run, "lr=%g", lr);
  int rows = eval_rows(spec);
  int progress = spec->output.progress < 0 ? isatty(fileno(stderr)) : spec->output.progress;
  SrTrainConfig cfg = {.epochs = spec->train.epochs,
                       .batch = spec->train.batch,
                       .seed = spec->train.seed,
                       .patience = spec->train.patience,
                       .log = stdout,
                       .progress = progress,
                       .run = spec->train.nlrs > 1 ? run : NULL,
                       .metrics = metrics};
  SrPretrainConfig pre = {.seed = spec->train.seed, .log = stdout, .progress = progress};
  SrError err = {{0}};
  if (sr_state_init(&t->state, &t->model, rows, spec->train.seed, &err) != 0 ||
      (t->model.npretrain > 0 && sr_pretrain(&t->state, &pre, &d->train, &err) != 0) ||
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

static void print_result(const Trained *best, const Data *d) {
  const SrFitResult *r = &best->result;
  if (d->valid.n > 0)
    printf("best validation error at epoch %d%s: valid %.2f%%, test %.2f%%\n", r->best_epoch,
           r->stopped_early ? " (stopped early)" : "", 100 * r->best_valid.error,
           100 * r->best_test.error);
  printf("hidden activations exactly zero (test set):");
  print_sparsity(&best->model, &r->best_test);
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
static int sweep(const Spec *spec, const RunOptions *o, const Data *d, SrMetricsWriter *metrics,
                 Trained *best) {
  for (int i = 0; i < spec->train.nlrs; i++) {
    Trained t = {0};
    if (train_at(spec, o, spec->train.lrs[i], d, metrics, &t) != 0) {
      trained_free(&t);
      return -1;
    }
    if (spec->train.nlrs > 1)
      printf("lr %g: best validation error %.2f%% at epoch %d\n", t.lr,
             100 * t.result.best_valid.error, t.result.best_epoch);
    if (i == 0 || t.result.best_valid.error < best->result.best_valid.error) {
      trained_free(best);
      *best = t;
      best->state.model = &best->model; /* the state points at its model: move it too */
    } else {
      trained_free(&t);
    }
  }
  if (spec->train.nlrs > 1)
    printf("sweep: kept lr %g\n", best->lr);
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
  Data d = {0};
  SrError err = {{0}};
  if (load_data(spec, classes, &d, &err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    hint_missing_package(spec);
    sr_dataset_free(&d.train_all);
    sr_dataset_free(&d.test);
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
  if (rc == 0 && spec->output.metrics) {
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
    rc = write_outputs(spec, &best);
  }
  if (metrics && sr_metrics_close(metrics, &err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    rc = -1;
  }
  trained_free(&best);
  sr_dataset_free(&d.train_all);
  sr_dataset_free(&d.test);
  return rc == 0 ? 0 : 1;
}
