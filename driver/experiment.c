/* What `run` does with a checked spec: fill the experiment engine's
 * configuration (runtime/experiment.h) from it, compile the model, check
 * the outputs, load the data, and let the engine run the experiment;
 * what is left here is choosing the output and where errors point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "driver.h"
#include "experiment.h"
#include "model.h"

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

void data_note(const Spec *spec, SrDataSet part, FILE *out) {
  const DataSource *src = part == SR_SET_TEST ? &spec->data.test : &spec->data.train;
  if (part == SR_SET_NONE || src->loc.line == 0)
    return;
  Diag d;
  diag_init(&d, spec->src, out);
  diag_note(&d, src->loc, "%s", part == SR_SET_TEST  ? "the test set is named here"
                                : part == SR_SET_SPLIT ? "the training set, split by data.limit "
                                                         "and data.validation, is named here"
                                                       : "the training set is named here");
}

/* ---- the sweep: one compilation, a table of coefficients per lr --------------- */

/* Every lr of a sweep is the same code (the learning rate is read from the
 * hyperparameter table, ir/hyper.c), so the model is compiled once and
 * each lr's module only writes its values into the shared code's table. */
typedef struct Sweep {
  const Spec *spec;
  const PassOptions *passes;
  int verbosity; /* run --quiet, --verbose */
  CompiledModel models[SPEC_MAX_SWEEP]; /* [0] compiled; the others share its code */
} Sweep;

/* `compiled in N ms`, `(cached)` when the object cache had the machine
 * code; --verbose adds where the time went and what the cache did. */
static void print_compiled(const Spec *spec, const CompiledModel *c, int verbosity) {
  if (verbosity == SR_QUIET)
    return;
  static const char *const cache_use[] = {
      [JIT_CACHE_OFF] = "off", [JIT_CACHE_HIT] = "hit",
      [JIT_CACHE_STORED] = "miss, stored", [JIT_CACHE_FAILED] = "miss, not writable"};
  JitTimes t = model_jit_times(c);
  printf("sparsec: %s: %d layers, lr %g, compiled in %.0f ms%s", spec->name, spec->nlayers, c->lr,
         model_compile_ms(c), t.cache == JIT_CACHE_HIT ? " (cached)" : "");
  if (verbosity == SR_VERBOSE)
    printf(" (build %.1f, codegen %.1f, optimise %.1f, machine code %.1f, cache %.1f: %s)",
           c->prepare_ms, t.codegen_ms, t.optimise_ms, t.compile_ms, t.cache_ms,
           cache_use[t.cache]);
  printf("\n");
  fflush(stdout);
}

static int compile_lr(Sweep *w, int i, char *err, int errlen) {
  CompiledModel *c = &w->models[i];
  if (c->jit) {
    model_use_hyper(c);
    return 0;
  }
  CompileOptions o = {.passes = *w->passes, .reuse = i > 0 ? &w->models[0] : NULL};
  if (model_compile(w->spec, w->spec->train.lrs[i], &o, c, err, errlen) != 0)
    return -1;
  if (i > 0 && !c->reused) {
    snprintf(err, (size_t)errlen, "lr %g compiles to other code than lr %g", c->lr,
             w->models[0].lr);
    return -1;
  }
  model_use_hyper(c);
  if (i == 0)
    print_compiled(w->spec, c, w->verbosity);
  return 0;
}

/* The engine's hook: train at lrs[i] from now on. */
static int use_lr(void *ctx, int i, SrError *err) {
  return compile_lr(ctx, i, err->msg, sizeof err->msg);
}

static void sweep_free(Sweep *w) {
  for (int i = 0; i < SPEC_MAX_SWEEP; i++)
    model_free(&w->models[i]);
}

/* ---- outputs ------------------------------------------------------------------- */

/* An output that cannot be written, pointed at where the spec names it. */
static void output_error(const Spec *spec, const char *setting, const SrError *err) {
  Loc loc = {0};
  if (strcmp(setting, "output.checkpoint") == 0)
    loc = spec->output.checkpoint_loc;
  else if (strcmp(setting, "output.state") == 0)
    loc = spec->output.state_loc;
  else if (strcmp(setting, "output.metrics") == 0)
    loc = spec->output.metrics_loc;
  if (loc.line == 0) {
    fprintf(stderr, "sparsec: %s: %s\n", setting, err->msg);
    return;
  }
  Diag d;
  diag_init(&d, spec->src, stderr);
  diag_error(&d, loc, "%s: %s", setting, err->msg);
}

/* ---- the run ------------------------------------------------------------------- */

typedef struct Run {
  const Spec *spec;
  const RunOptions *o;
  BuildConfig config;
  Sweep sweep;
  SrProgramData data;
  SrState state;
} Run;

static int check_outputs(Run *r);

static int load_data(Run *r) {
  SrError err = {{0}};
  int loaded = sr_program_load_data(&r->config.cfg, &r->data, &err);
  if (r->o->dist) /* every rank has its data, or every rank stops (none waits for another) */
    loaded = sr_dist_agree(r->o->dist, loaded, &err);
  if (loaded != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    data_note(r->spec, r->data.failed, stderr);
    hint_missing_package(r->spec);
    return -1;
  }
  if (r->o->verbosity != SR_QUIET)
    printf("data: %d train, %d validation, %d test examples\n", r->data.train.n,
           r->data.valid.n, r->data.test.n);
  fflush(stdout);
  return 0;
}

static int prepare(Run *r) {
  char err[1024];
  if (build_config(r->spec, prepare_max_rows(r->spec), 0, &r->config) != 0) {
    fputs("sparsec: out of memory\n", stderr);
    return -1;
  }
  if (r->o->seeds > 0)
    r->config.cfg.seeds = r->o->seeds;
  if (check_outputs(r) != 0)
    return -1;
  r->sweep = (Sweep){.spec = r->spec, .passes = &r->o->passes, .verbosity = r->o->verbosity};
  if (compile_lr(&r->sweep, 0, err, sizeof err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err);
    return -1;
  }
  r->config.cfg.max_rows = r->sweep.models[0].max_rows;
  return 0;
}

/* The outputs are checked (and their folders made) before compiling and
 * training: rank 0 writes them all. */
static int check_outputs(Run *r) {
  SrError err = {{0}};
  const char *setting = NULL;
  int rc = sr_dist_is_root(r->o->dist) ? sr_outputs_check(&r->config.cfg, &setting, &err) : 0;
  if (rc != 0)
    output_error(r->spec, setting, &err);
  if (r->o->dist)
    rc = sr_dist_agree(r->o->dist, rc, &err);
  return rc;
}

static int run_engine(Run *r) {
  SrError err = {{0}};
  CompiledModel *c = &r->sweep.models[0];
  SrRunSetup setup = {.log = stdout,
                      .quiet = r->o->verbosity == SR_QUIET,
                      .dist = r->o->dist,
                      .command = r->o->command,
                      .use_lr = use_lr,
                      .lr_ctx = &r->sweep};
  if (sr_state_init(&r->state, &c->model, c->max_rows, r->spec->train.seed, &err) != 0) {
    fprintf(stderr, "sparsec: %s\n", err.msg);
    return -1;
  }
  SrRun *run = sr_run_new(&r->state, &r->config.cfg, &setup, &r->data, &err);
  int rc = run ? 0 : -1;
  if (rc == 0 && r->o->resume) {
    rc = sr_run_resume(run, r->o->resume, &err);
    if (r->o->dist)
      rc = sr_dist_agree(r->o->dist, rc, &err);
  }
  if (rc == 0 || !run)
    rc = run ? sr_run_experiment(run, &err) : -1;
  if (rc < 0 && err.msg[0])
    fprintf(stderr, "sparsec: %s\n", err.msg);
  sr_run_free(run);
  return rc;
}

int run_experiment(const Spec *spec, const RunOptions *o) {
  Run r = {.spec = spec, .o = o};
  int rc = prepare(&r);
  if (rc == 0)
    rc = load_data(&r);
  if (rc == 0)
    rc = run_engine(&r);
  /* the kept parameters are in r.state; the code is the first lr's */
  if (rc == 0 && o->prune_dead && sr_dist_is_root(o->dist))
    rc = report_dead_units(spec, r.sweep.models[0].m, &r.sweep.models[0].model, &r.state,
                           &r.data.train);
  sr_state_free(&r.state);
  sr_program_data_free(&r.data);
  sweep_free(&r.sweep);
  build_config_free(&r.config);
  if (rc == SR_RUN_INTERRUPTED)
    return 128 + sr_interrupt_signal();
  return rc == 0 ? 0 : 1;
}
