/* make_seeds.c: `fuzz_make_seeds DIR` writes the seeds of fuzz_state and
 * fuzz_safetensors that only the runtime can make: state files of
 * fuzz_model.h's model saved by the real experiment engine (a fresh run,
 * interrupted in pretraining, in training, in the sweep's second learning
 * rate, at the end) and its checkpoint; then a few damaged copies of them.
 *
 *   DIR/corpus-state/NAME.safetensors, DIR/corpus-safetensors/NAME.safetensors
 *   (those that found bugs, fixed since, are named bug-NAME.safetensors)
 *
 * Run from the fuzz build (fuzz/run.sh does not: the seeds are checked in;
 * run it again after a change to the state format or to fuzz_model.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_model.h"
#include "sparsert_internal.h"

static char state_dir[4096], st_dir[4096];

static void die(const char *what, const SrError *err) {
  fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what, err ? err->msg : strerror(errno));
  exit(1);
}

static const char *in(const char *dir, const char *name) {
  static char path[2][8192];
  static int next;
  char *p = path[next++ % 2];
  snprintf(p, sizeof path[0], "%s/%s", dir, name);
  return p;
}

/* A run of the fixed model that raises its stop flag after `steps` kernel
 * calls (0: never), saving its state at `name`. Returns the state. */
static void run(const char *name, int steps, int save_fresh, SrState *keep) {
  static volatile sig_atomic_t stop;
  SrProgramData data;
  fuzz_model_data(&data);
  SrProgramConfig cfg = fuzz_model_config(in(state_dir, name));
  SrRunSetup setup = fuzz_model_setup(NULL, &stop);
  SrState st;
  SrError err;
  if (sr_state_init(&st, &fuzz_model, FUZZ_MODEL_ROWS, cfg.seed, &err) < 0)
    die("state", &err);
  SrRun *r = sr_run_new(&st, &cfg, &setup, &data, &err);
  if (!r)
    die("run", &err);
  stop = 0;
  fuzz_model_stop = &stop;
  fuzz_model_stop_after = steps;
  int rc = save_fresh ? sr_run_save_state(r, cfg.state, &err) : sr_run_experiment(r, &err);
  if (rc < 0)
    die(name, &err);
  printf("%s: %s\n", name, rc == SR_RUN_INTERRUPTED ? "interrupted" : "saved");
  sr_run_free(r);
  if (keep)
    *keep = st;
  else
    sr_state_free(&st);
}

/* ---- damaged copies ------------------------------------------------------------ */

static unsigned char *slurp(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    die(path, NULL);
  fseek(f, 0, SEEK_END);
  *size = (size_t)ftell(f);
  rewind(f);
  unsigned char *buf = malloc(*size + 1);
  if (!buf || fread(buf, 1, *size, f) != *size)
    die(path, NULL);
  fclose(f);
  return buf;
}

static void spit(const char *path, const void *buf, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0)
    die(path, NULL);
  printf("%s: %zu bytes\n", path, size);
}

/* A copy of state `from` whose metadata value of `key` is `value`: the
 * header rewritten (its length too), the data as they were. */
static void edit(const char *from, const char *key, const char *value, const char *to) {
  size_t size;
  unsigned char *buf = slurp(in(state_dir, from), &size);
  uint64_t n = 0;
  for (int i = 0; i < 8; i++)
    n |= (uint64_t)buf[i] << (8 * i);
  char *json = (char *)buf + 8, pattern[256];
  unsigned char first = buf[8 + n]; /* the first data byte, put back below */
  json[n] = 0;
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  char *at = strstr(json, pattern);
  if (!at) {
    fprintf(stderr, "fuzz_make_seeds: %s has no metadata '%s'\n", from, key);
    exit(1);
  }
  at += strlen(pattern);
  char *end = strchr(at, '"');
  size_t cap = n + strlen(value) + 16;
  char *header = malloc(cap);
  int len = snprintf(header, cap, "%.*s%s%s", (int)(at - json), json, value, end);
  while (len > 0 && header[len - 1] == ' ') /* the old padding */
    len--;
  while (len % 8)
    header[len++] = ' ';
  buf[8 + n] = first;
  size_t out_size = 8 + (size_t)len + (size - 8 - n);
  unsigned char *out = malloc(out_size);
  for (int i = 0; i < 8; i++)
    out[i] = (unsigned char)((uint64_t)len >> (8 * i));
  memcpy(out + 8, header, (size_t)len);
  memcpy(out + 8 + len, buf + 8 + n, size - 8 - n);
  spit(in(state_dir, to), out, out_size);
  free(out);
  free(header);
  free(buf);
}

static void truncated(const char *dir, const char *from, size_t cut, const char *to) {
  size_t size;
  unsigned char *buf = slurp(in(dir, from), &size);
  spit(in(dir, to), buf, size > cut ? size - cut : 0);
  free(buf);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: fuzz_make_seeds DIR (the fuzz folder)\n", stderr);
    return 2;
  }
  snprintf(state_dir, sizeof state_dir, "%s/corpus-state", argv[1]);
  snprintf(st_dir, sizeof st_dir, "%s/corpus-safetensors", argv[1]);
  mkdir(state_dir, 0777);
  mkdir(st_dir, 0777);
  /* Pretraining is 2 epochs of 3 steps, training 2 epochs of 3 steps per
   * learning rate (the second lr starts from the first one's encoders). */
  run("fresh.safetensors", 0, 1, NULL);
  run("pretrain_mid.safetensors", 2, 0, NULL);
  run("train_mid.safetensors", 6 + 4, 0, NULL);
  run("sweep_mid.safetensors", 6 + 6 + 2, 0, NULL);
  SrState end;
  run("end.safetensors", 0, 0, &end);
  SrError err;
  if (sr_checkpoint_save(&end, in(st_dir, "checkpoint.safetensors"), &err) < 0)
    die("checkpoint", &err);
  sr_state_free(&end);

  /* What a hostile or damaged state might say. */
  edit("train_mid.safetensors", "examples", "5", "bad_examples.safetensors");
  edit("train_mid.safetensors", "rng",
       "0000000000000000 0000000000000000 0000000000000000 0000000000000000",
       "bad_rng_zero.safetensors");
  edit("sweep_mid.safetensors", "phase", "done", "bad_phase_done.safetensors");
  edit("sweep_mid.safetensors", "lr_index", "16", "bad_lr_index.safetensors");
  edit("pretrain_mid.safetensors", "stage", "1", "bad_stage.safetensors");
  edit("end.safetensors", "fit_best_valid", "0x1p+0 nan 0 0", "bad_metrics_nan.safetensors");
  edit("fresh.safetensors", "version", "2", "bad_version.safetensors");
  edit("fresh.safetensors", "fingerprint", "0123456789abcdef", "bad_fingerprint.safetensors");
  truncated(state_dir, "train_mid.safetensors", 9, "bad_truncated.safetensors");
  /* Those that found bugs (fuzz/README.md), fixed since. */
  edit("train_mid.safetensors", "step", "1073741824",
            "bug-step-overflow.safetensors");
  edit("pretrain_mid.safetensors", "step", "1073741824",
            "bug-pretrain-step-overflow.safetensors");
  edit("train_mid.safetensors", "epoch", "1073741824",
            "bug-epoch-limit-unreadable-save.safetensors");
  edit("end.safetensors", "metrics_bytes", "9223372036854775807",
            "bug-metrics-bytes-extends-file.safetensors");
  edit("end.safetensors", "metrics_bytes", "30", "metrics_cut.safetensors");
  truncated(st_dir, "checkpoint.safetensors", 3, "bad_truncated.safetensors");
  /* A state is a checkpoint too (its own tensors, named with a '/', ignored). */
  size_t size;
  unsigned char *state = slurp(in(state_dir, "train_mid.safetensors"), &size);
  spit(in(st_dir, "state_train_mid.safetensors"), state, size);
  free(state);
  return 0;
}
