/* The SrProgramConfig the experiment engine runs (runtime/experiment.h):
 * the spec's train, data and output blocks. For a built program, paths
 * become absolute here, at build time, so that the program finds its data
 * from whatever folder it is run in; `sparsec run` keeps them as the spec
 * has them. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"

/* Keeps the string for the config's lifetime; NULL stays NULL. */
static const char *keep(BuildConfig *b, char *s) {
  if (s && b->nstrings < BUILD_MAX_STRINGS)
    return b->strings[b->nstrings++] = s;
  free(s);
  return NULL;
}

/* realpath when the file exists; otherwise the current folder joined on. */
static char *absolute(const char *path) {
  if (!path)
    return NULL;
  char *real = realpath(path, NULL);
  if (real || path[0] == '/')
    return real ? real : strdup(path);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return strdup(path);
  size_t size = strlen(cwd) + strlen(path) + 2;
  char *joined = malloc(size);
  if (joined)
    snprintf(joined, size, "%s/%s", cwd, path);
  return joined;
}

static const char *keep_path(BuildConfig *b, const char *path, int *missing) {
  const char *kept = keep(b, !path ? NULL : b->absolute ? absolute(path) : strdup(path));
  *missing |= path && !kept;
  return kept;
}

static void data_file(BuildConfig *b, const DataSource *src, SrDataFile *out, int *missing) {
  static const SrDataFormat formats[] = {[DATA_IDX] = SR_DATA_IDX, [DATA_CSV] = SR_DATA_CSV,
                                          [DATA_LIBSVM] = SR_DATA_LIBSVM};
  out->format = formats[src->format];
  out->path = keep_path(b, src->images, missing);
  out->labels = keep_path(b, src->labels, missing);
  if (src->label_column) {
    out->label_column = keep(b, strdup(src->label_column));
    *missing |= !out->label_column;
  }
}

static void train_block(const Spec *spec, SrProgramConfig *c) {
  c->epochs = spec->train.epochs;
  c->batch = spec->train.batch;
  c->patience = spec->train.patience;
  c->seed = spec->train.seed;
  c->seeds = spec->train.seeds;
  c->lr = spec->train.lr;
  c->momentum = spec->train.momentum;
  c->nlrs = spec->train.nlrs;
  for (int i = 0; i < spec->train.nlrs && i < SR_MAX_SWEEP; i++)
    c->lrs[i] = spec->train.lrs[i];
}

/* "h1 1000 relu, h2 1000 relu, out 10 softmax" */
char *spec_structure(const Spec *spec) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f)
    return NULL;
  for (int i = 0; i < spec->nlayers; i++)
    fprintf(f, "%s%s %d %s", i ? ", " : "", spec->layers[i].name, spec->layers[i].units,
            activation_name(spec->layers[i].act));
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

/* The training CSV's feature columns, "x1,x2"; NULL when the file cannot
 * be read now (then predict takes the columns in order, docs/aot.md). */
static char *csv_features(const SrDataFile *train) {
  SrError err;
  return sr_csv_features(train->path, train->label_column, &err);
}

int build_config(const Spec *spec, int max_rows, int absolute_paths, BuildConfig *b) {
  memset(b, 0, sizeof *b); /* also the padding: descriptor.c copies the bytes */
  b->absolute = absolute_paths;
  SrProgramConfig *c = &b->cfg;
  int missing = 0;
  c->name = keep(b, strdup(spec->name));
  c->structure = keep(b, spec_structure(spec));
  c->input = spec->input;
  c->classes = spec->layers[spec->nlayers - 1].units;
  c->max_rows = max_rows;
  train_block(spec, c);
  data_file(b, &spec->data.train, &c->train, &missing);
  data_file(b, &spec->data.test, &c->test, &missing);
  if (c->train.format == SR_DATA_CSV) /* predict matches columns by these names */
    c->features = keep(b, csv_features(&c->train));
  c->scale = spec->data.scale;
  c->validation_fraction = spec->data.validation_fraction;
  c->validation = spec->data.validation;
  c->limit = spec->data.limit;
  c->checkpoint = keep_path(b, spec->output.checkpoint, &missing);
  c->metrics = keep_path(b, spec->output.metrics, &missing);
  c->state = keep_path(b, spec->output.state, &missing);
  c->save_every = spec->output.save_every;
  c->metrics_format = spec->output.metrics_format == METRICS_JSONL ? SR_METRICS_JSONL
                                                                   : SR_METRICS_CSV;
  c->progress = spec->output.progress;
  return missing || !c->name || !c->structure ? -1 : 0;
}

void build_config_free(BuildConfig *b) {
  for (int i = 0; i < b->nstrings; i++)
    free(b->strings[i]);
  memset(b, 0, sizeof *b);
}
