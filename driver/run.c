/* sparsec run FILE: spec -> IR -> JIT, then the experiment: load the data,
 * train with the spec's schedule, report the best-validation epoch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "driver.h"

/* Evaluation runs in batches of this many rows; batch-sized buffers are
 * allocated for max(train batch, this). */
#define EVAL_ROWS 500

/* At small minibatches each product is too thin to pay for handing work to
 * a second thread. Measured on the paper's 784-1000-1000-1000-10 net, batch
 * 10, one epoch of Fashion-MNIST: 23.8 s with 1 OpenBLAS thread, 36.3 s with
 * 2 (and 14 s of system time spent spinning). A --threads option and
 * threaded sparse kernels come with the sparse path (issue 8). */
#define BLAS_THREADS 1

typedef struct Data {
  SrDataset train_all, test;
  SrDataset train, valid; /* views into train_all */
} Data;

static int load_data(const Spec *spec, int classes, Data *d, SrError *err) {
  float scale = (float)spec->data.scale;
  if (sr_dataset_load_idx(spec->data.train.images, spec->data.train.labels, scale, &d->train_all,
                          err) != 0 ||
      sr_dataset_load_idx(spec->data.test.images, spec->data.test.labels, scale, &d->test, err) != 0 ||
      sr_dataset_check(&d->train_all, spec->input, classes, "train data", err) != 0 ||
      sr_dataset_check(&d->test, spec->input, classes, "test data", err) != 0)
    return -1;
  return sr_dataset_split_tail(&d->train_all, spec->data.validation, &d->train, &d->valid, err);
}

/* A data set from a Debian package names the package that brings it. */
static void hint_missing_package(const Spec *spec, FILE *out) {
  const char *fashion = "/usr/share/datasets/fashion-mnist/";
  if (strncmp(spec->data.train.images, fashion, strlen(fashion)) == 0 ||
      strncmp(spec->data.test.images, fashion, strlen(fashion)) == 0)
    fputs("sparsec: note: Fashion-MNIST comes from Debian's dataset-fashion-mnist package; "
          "scripts/install-deps.sh installs it\n",
          out);
}

static void print_result(const SrFitResult *r, const SrModel *model) {
  printf("best validation error at epoch %d: valid %.2f%%, test %.2f%%\n", r->best_epoch,
         100 * r->best_valid.error, 100 * r->best_test.error);
  printf("hidden activations exactly zero (test set):");
  for (int i = 0; i < model->nhidden; i++)
    printf(" %s %.1f%%", model->hidden_names[i], 100 * r->best_test.sparsity[i]);
  printf("; mean %.1f%%\n", 100 * r->best_test.mean_sparsity);
  printf("test error: %.2f%%\n", 100 * r->best_test.error);
}

static int experiment(const Spec *spec, const Module *m, const Jit *jit) {
  SrSlot *slots = calloc(m->nvalues, sizeof *slots);
  if (!slots) {
    fputs("sparsec: out of memory\n", stderr);
    return 1;
  }
  SrModel model;
  abi_describe(m, slots, jit_train_step(jit), jit_infer(jit), &model);
  Data data = {0};
  SrState state = {0};
  SrError err = {{0}};
  SrFitResult result;
  int rows = spec->train.batch > EVAL_ROWS ? spec->train.batch : EVAL_ROWS;
  int rc = load_data(spec, m->classes, &data, &err);
  if (rc == 0) {
    printf("data: %d train, %d validation, %d test examples\n", data.train.n, data.valid.n,
           data.test.n);
    fflush(stdout);
    rc = sr_state_init(&state, &model, rows, spec->train.seed, &err);
  }
  if (rc == 0) {
    SrTrainConfig cfg = {.epochs = spec->train.epochs, .batch = spec->train.batch,
                         .seed = spec->train.seed, .log = stdout};
    rc = sr_fit(&state, &cfg, &data.train, &data.valid, &data.test, &result, &err);
  }
  if (rc == 0) {
    print_result(&result, &model);
  } else {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    if (!data.train_all.x || !data.test.x)
      hint_missing_package(spec, stderr);
  }
  sr_state_free(&state);
  sr_dataset_free(&data.train_all);
  sr_dataset_free(&data.test);
  free(slots);
  return rc == 0 ? 0 : 1;
}

int cmd_run(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    int help = argc == 2 && strcmp(argv[1], "--help") == 0;
    fputs("usage: sparsec run FILE.spn\n"
          "JIT-compiles the model of FILE.spn and trains it as its train block says,\n"
          "printing one line per epoch and the test error at the best validation epoch.\n",
          help ? stdout : stderr);
    return help ? 0 : 2;
  }
  Spec *spec = spec_load(argv[1], stderr);
  if (!spec)
    return 1;
  sr_blas_threads(BLAS_THREADS);
  char err[1024];
  Module *m = module_build(spec, err, sizeof err);
  Jit *jit = m ? jit_compile(m, err, sizeof err) : NULL;
  int rc = 1;
  if (jit) {
    JitTimes t = jit_times(jit);
    printf("sparsec: %s: %d layers, compiled in %.0f ms (codegen %.1f, optimise %.1f, "
           "machine code %.1f)\n",
           spec->name, spec->nlayers, t.codegen_ms + t.optimise_ms + t.compile_ms, t.codegen_ms,
           t.optimise_ms, t.compile_ms);
    fflush(stdout);
    rc = experiment(spec, m, jit);
  } else {
    fprintf(stderr, "sparsec: %s\n", err);
  }
  jit_free(jit);
  module_free(m);
  spec_free(spec);
  return rc;
}
