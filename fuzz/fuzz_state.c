/* fuzz_state.c: a libFuzzer target for runtime/run_state.c, the loader of
 * a run's state file, through the experiment engine's API
 * (runtime/experiment.h): a run of fuzz_model.h's model on its tiny data
 * in memory (a sweep of two learning rates, pretraining, validation,
 * metrics to a file) is made with sr_run_new and resumed from the input
 * with sr_run_resume.
 *
 * A state the loader accepts must be one the engine can go on from: the
 * run is then taken to its end (sr_run_experiment: a few minibatches of a
 * 6-example set), which saves its state again; that state must in turn be
 * accepted by a fresh run (what the engine writes, it reads). Whether the
 * resumed run succeeds is not checked (a state's finite weights may still
 * overflow); only that it does not crash. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef SPARSEC_LIBFUZZER
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Mutations that keep the file's framing (fuzz_util.h). */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  return fuzz_mutate_safetensors(data, size, max_size, seed);
}
#endif

/* Metrics the "earlier" run wrote: what a resumed run cuts back to the
 * length its state says. */
#define OLD_METRICS "epoch,train_loss,valid_loss\n1,0.5,0.5\n2,0.25,0.25\n"
/* The metrics file may grow by what the resumed run writes, no more. */
#define METRICS_MAX (64 << 10)

static FILE *sink;
static char state_path[4200], metrics_path[4200];
static volatile sig_atomic_t no_stop;

static void setup_once(void) {
  if (sink)
    return;
  sink = fopen("/dev/null", "w");
  if (!sink)
    abort();
  snprintf(state_path, sizeof state_path, "%s/state.safetensors", fuzz_tmpdir());
  snprintf(metrics_path, sizeof metrics_path, "%s/metrics.csv", fuzz_tmpdir());
}

/* A run of the fixed model from its seed, resumed from `path`. */
static int resume(const char *path, SrState *st, SrProgramData *data, SrRun **out, SrError *err) {
  SrProgramConfig cfg = fuzz_model_config(state_path);
  cfg.metrics = metrics_path;
  SrRunSetup setup = fuzz_model_setup(sink, &no_stop);
  fuzz_model_data(data);
  if (sr_state_init(st, &fuzz_model, FUZZ_MODEL_ROWS, cfg.seed, err) < 0)
    fuzz_fail("state: %s", err->msg);
  *out = sr_run_new(st, &cfg, &setup, data, err);
  if (!*out)
    fuzz_fail("run: %s", err->msg);
  err->msg[0] = 0;
  int rc = sr_run_resume(*out, path, err);
  if (rc < 0 && !err->msg[0])
    fuzz_fail("resume: refused without a message");
  return rc;
}

static void write_old_metrics(void) {
  FILE *f = fopen(metrics_path, "w");
  if (!f || fputs(OLD_METRICS, f) < 0 || fclose(f) != 0)
    fuzz_fail("cannot write %s", metrics_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup_once();
  unlink(state_path);
  write_old_metrics();
  fuzz_model_stop_after = 0;
  const char *path = fuzz_file(data, size);
  SrState st;
  SrProgramData d;
  SrRun *r;
  SrError err;
  if (resume(path, &st, &d, &r, &err) == 0) {
    int rc = sr_run_experiment(r, &err);
    struct stat sb;
    if (stat(metrics_path, &sb) == 0 && sb.st_size > METRICS_MAX)
      fuzz_fail("the metrics file is %lld bytes after a resumed run (%zu before it)",
                (long long)sb.st_size, sizeof OLD_METRICS - 1);
    if (rc == 0 && access(state_path, F_OK) == 0) { /* the engine's own state, resumed */
      SrState st2;
      SrProgramData d2;
      SrRun *r2;
      SrError err2;
      if (resume(state_path, &st2, &d2, &r2, &err2) != 0)
        fuzz_fail("a state the engine saved after resuming is refused: %s", err2.msg);
      sr_run_free(r2);
      sr_state_free(&st2);
    }
  }
  sr_run_free(r);
  sr_state_free(&st);
  return 0;
}
