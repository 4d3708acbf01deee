/* run_state.c: a run's whole state as one safetensors file, so that a run
 * stopped anywhere (Ctrl-C, kill, a crash after the last save) goes on
 * bit for bit as if it had not stopped. docs/checkpoints.md describes the
 * format; in short:
 *
 *   NAME                 the current parameters (as in a checkpoint: numpy
 *                        and PyTorch read them by layer name)
 *   optimizer/NAME       STATE slots: momentum velocity (F32), noise
 *                        generators' counters (U32)
 *   best/NAME            the best epoch so far of the lr under way
 *   sweep_best/NAME      the best lr's best epoch, once an lr is finished
 *   pretrained/NAME      the sweep's shared pretrained parameters
 *   pretrain_before/NAME the parameters before the pretraining stage under way
 *   run/perm             I32: the example order of the epoch under way
 *   __metadata__         format "sparsec-state", the model's fingerprint,
 *                        the position (lr, phase, stage, epoch, step, the
 *                        seed's repeat), the shuffle stream, running sums,
 *                        best-so-far metrics, the finished seeds' figures,
 *                        the settings, the metrics file's length
 *
 * Versions: 1 is a run without the repeats of train.seeds, or one still in
 * its sweep (the first seed); 2 a state inside the repeats (seed_index >
 * 0). A version-1 reader would resume a version-2 state as the sweep, at
 * the wrong seed: it refuses the version instead. Both are read here; a
 * version-1 state has no seed keys and is the first seed.
 *
 * Floating-point values in the metadata are written with %a (hexadecimal)
 * so that they come back exactly. Loading checks everything (structure,
 * every tensor's presence, shape and finiteness, every metadata field)
 * before it changes anything. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "run_internal.h"

#define STATE_VERSION "1"
#define STATE_VERSION_SEEDS "2" /* inside the seeds' repeats */
#define MAX_META 64
#define META_TEXT 16384
/* The text of one seed's figures: three integers and two metrics of
 * 3 + nhidden %a numbers (at most 24 characters and a space each). */
#define SEED_TEXT(nhidden) (3 * 12 + 2 * (3 + (size_t)(nhidden)) * 25 + 2)

/* ---- the model's fingerprint -------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) {
  return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t fnv_int(uint64_t h, long v) {
  return fnv(h, &v, sizeof v);
}

uint64_t sr_model_fingerprint(const SrModel *m) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *s = &m->slots[i];
    if (!sr_slot_is_model(s->kind) && s->kind != SR_SLOT_STATE)
      continue;
    h = fnv_str(h, s->name);
    h = fnv_int(fnv_int(fnv_int(fnv_int(h, s->kind), s->rows), s->cols), s->init);
  }
  h = fnv_int(fnv_int(h, m->classes), m->nhidden);
  for (int k = 0; k < m->nhidden; k++)
    h = fnv_int(fnv_str(h, m->hidden_names[k]), m->hidden_units[k]);
  for (int k = 0; k < m->npretrain; k++)
    h = fnv_int(fnv_int(fnv_str(h, m->pretrain[k].layer), m->pretrain[k].epochs),
                m->pretrain[k].batch);
  return h;
}

/* "h1 1000 relu, h2 1000 relu, out 10 softmax" (the config's words), or
 * "h1 1000, h2 1000, classes 10" from the slot table alone: what a user
 * compares. */
static void describe_layers(const SrRun *r, char *buf, size_t size) {
  const SrModel *m = r->m;
  size_t used = 0;
  if (r->cfg.structure) {
    snprintf(buf, size, "%s", r->cfg.structure);
    return;
  }
  buf[0] = 0;
  for (int k = 0; k < m->nhidden && used < size; k++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s %d", k ? ", " : "",
                             m->hidden_names[k] ? m->hidden_names[k] : "?", m->hidden_units[k]);
  if (used < size)
    snprintf(buf + used, size - used, "%sclasses %d", m->nhidden ? ", " : "", m->classes);
}

/* The slot table's hash, and the layers' activations, which it cannot see. */
static uint64_t fingerprint(const SrRun *r) {
  return fnv_str(sr_model_fingerprint(r->m), r->cfg.structure);
}

/* ---- metadata: writing ---------------------------------------------------------- */

typedef struct Meta {
  SrStMeta e[MAX_META];
  int n;
  size_t used, size;
  char text[];          /* the values, one after another: META_TEXT and the seeds' */
} Meta;

static void put(Meta *m, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(Meta *m, const char *key, const char *fmt, ...) {
  if (m->n >= MAX_META || m->used >= m->size)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *at = m->text + m->used;
  int len = vsnprintf(at, m->size - m->used, fmt, ap);
  va_end(ap);
  if (len < 0 || (size_t)len >= m->size - m->used)
    return;
  m->used += (size_t)len + 1;
  m->e[m->n++] = (SrStMeta){(char *)key, at};
}

/* loss error mean sparsity... as %a, space-separated */
/* One value per hidden layer of the model, also for metrics never filled
 * in (no epoch done yet: zeros). Like snprintf: the length it needs. */
static size_t metrics_text(char *buf, size_t size, const SrMetrics *x, int nhidden) {
  size_t used = (size_t)snprintf(buf, size, "%a %a %a", x->loss, x->error, x->mean_sparsity);
  for (int k = 0; k < nhidden; k++)
    used += (size_t)snprintf(buf + (used < size ? used : size), used < size ? size - used : 0,
                             " %a", x->sparsity[k]);
  return used;
}

static void put_metrics(Meta *m, const char *key, const SrMetrics *x, int nhidden) {
  char buf[64 * (SR_MAX_HIDDEN + 4)];
  metrics_text(buf, sizeof buf, x, nhidden);
  put(m, key, "%s", buf);
}

/* Each finished seed's figures, "; " between seeds: epochs run, stopped
 * early, best epoch, then its validation and test metrics as put_metrics. */
static void put_seed_results(Meta *m, const SrRun *r) {
  size_t size = (size_t)r->seed_index * SEED_TEXT(r->m->nhidden) + 1, used = 0;
  char *buf = malloc(size);
  if (!buf)
    return; /* the key is then missing: the state is refused when read, not misread */
  buf[0] = 0;
  for (int i = 0; i < r->seed_index && used < size; i++) {
    const SrFitResult *x = &r->seed_results[i];
    used += (size_t)snprintf(buf + used, size - used, "%s%d %d %d ", i ? "; " : "", x->epochs_run,
                             x->stopped_early, x->best_epoch);
    if (used < size)
      used += metrics_text(buf + used, size - used, &x->best_valid, r->m->nhidden);
    if (used < size)
      used += (size_t)snprintf(buf + used, size - used, " ");
    if (used < size)
      used += metrics_text(buf + used, size - used, &x->best_test, r->m->nhidden);
  }
  if (used < size)
    put(m, "seed_results", "%s", buf);
  free(buf);
}

/* The metadata keys of a best-so-far result: the lr under way's, the sweep's. */
typedef const char *const ResultKeys[5];
static ResultKeys fit_keys = {"fit_epochs_run", "fit_stopped_early", "fit_best_epoch",
                              "fit_best_valid", "fit_best_test"};
static ResultKeys sweep_keys = {"sweep_epochs_run", "sweep_stopped_early", "sweep_best_epoch",
                                "sweep_best_valid", "sweep_best_test"};

static void put_result(Meta *m, ResultKeys keys, const SrFitResult *r, int nhidden) {
  put(m, keys[0], "%d", r->epochs_run);
  put(m, keys[1], "%d", r->stopped_early);
  put(m, keys[2], "%d", r->best_epoch);
  put_metrics(m, keys[3], &r->best_valid, nhidden);
  put_metrics(m, keys[4], &r->best_test, nhidden);
}

static const SrLoop *active_loop(const SrRun *r) {
  if (r->phase == PHASE_PRETRAIN && r->pre.started)
    return &r->pre.loop;
  if (r->phase == PHASE_TRAIN && r->fit_started)
    return &r->fit.loop;
  return NULL;
}

static const char *phase_name(RunPhase p) {
  return p == PHASE_PRETRAIN ? "pretrain" : p == PHASE_TRAIN ? "train" : "done";
}

static void put_settings(Meta *m, const SrProgramConfig *c) {
  char lrs[SR_MAX_SWEEP * 32];
  size_t used = 0;
  lrs[0] = 0;
  for (int i = 0; i < c->nlrs && used < sizeof lrs; i++)
    used += (size_t)snprintf(lrs + used, sizeof lrs - used, "%s%.17g", i ? "," : "", c->lrs[i]);
  put(m, "lrs", "%s", lrs);
  put(m, "epochs", "%d", c->epochs);
  put(m, "batch", "%d", c->batch);
  put(m, "patience", "%d", c->patience);
  put(m, "seed", "%" PRIu64, c->seed);
  put(m, "seeds", "%d", c->seeds);
  put(m, "momentum", "%.17g", c->momentum);
}

static void build_meta(const SrRun *r, Meta *m) {
  char layers[2048];
  describe_layers(r, layers, sizeof layers);
  put(m, "format", SR_STATE_FORMAT);
  put(m, "version", "%s", r->seed_index > 0 ? STATE_VERSION_SEEDS : STATE_VERSION);
  put(m, "fingerprint", "%016" PRIx64, fingerprint(r));
  put(m, "layers", "%s", layers);
  put(m, "ranks", "%d", sr_dist_size(r->setup.dist));
  put(m, "phase", "%s", phase_name(r->phase));
  put(m, "lr_index", "%d", r->lr_index);
  put(m, "stage", "%d", r->pre.stage);
  put(m, "stage_started", "%d", r->pre.started);
  const SrLoop *l = active_loop(r);
  if (l) {
    put(m, "examples", "%d", l->n);
    put(m, "epoch", "%d", l->epoch);
    put(m, "step", "%d", l->step);
    put(m, "sum", "%a", l->sum);
    put(m, "input_max", "%a", (double)l->input_max);
    put(m, "rng", "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64, l->rng.s[0],
        l->rng.s[1], l->rng.s[2], l->rng.s[3]);
  }
  if (r->fit_started) {
    SrFitResult f;
    sr_fit_result(&r->fit, &f);
    put_result(m, fit_keys, &f, r->m->nhidden);
  }
  put(m, "have_pretrained", "%d", r->have_pretrained);
  put(m, "have_best", "%d", r->have_best);
  if (r->have_best) {
    put(m, "best_lr", "%d", r->best_lr);
    put_result(m, sweep_keys, &r->best_result, r->m->nhidden);
  }
  put(m, "seed_index", "%d", r->seed_index);
  if (r->seed_index > 0)
    put_seed_results(m, r);
  put(m, "metrics_bytes", "%ld", sr_metrics_bytes(r->metrics));
  put_settings(m, &r->cfg);
}

/* ---- tensors: writing ------------------------------------------------------------ */

static int is_noise_counter(const SrModel *m, int slot) {
  for (int k = 0; k < m->npretrain; k++)
    if (m->pretrain[k].slot_noise_step == slot)
      return 1;
  return 0;
}

typedef struct Tensors {
  SrStOut *t;
  char **names;
  int n, cap;
} Tensors;

static int add_params(Tensors *ts, const SrState *st, const char *prefix) {
  int n = sr_model_tensors(st, prefix, ts->t + ts->n, ts->names + ts->n);
  if (n < 0)
    return -1;
  ts->n += n;
  return 0;
}

static int add_optimizer(Tensors *ts, const SrState *st) {
  const SrModel *m = st->model;
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *s = &m->slots[i];
    if (s->kind != SR_SLOT_STATE)
      continue;
    size_t size = strlen(s->name) + sizeof "optimizer/";
    if (!(ts->names[ts->n] = malloc(size)))
      return -1;
    snprintf(ts->names[ts->n], size, "optimizer/%s", s->name);
    ts->t[ts->n] = (SrStOut){ts->names[ts->n], is_noise_counter(m, i) ? "U32" : "F32", 2,
                             {s->rows, s->cols}, st->slots[i]};
    ts->n++;
  }
  return 0;
}

static int collect(const SrRun *r, Tensors *ts) {
  ts->cap = 6 * r->m->nslots + 2;
  ts->t = calloc((size_t)ts->cap, sizeof *ts->t);
  ts->names = calloc((size_t)ts->cap, sizeof *ts->names);
  if (!ts->t || !ts->names)
    return -1;
  if (add_params(ts, r->st, NULL) < 0 || add_optimizer(ts, r->st) < 0)
    return -1;
  if (r->fit_started && add_params(ts, &r->fit.best, "best/") < 0)
    return -1;
  if (r->have_best && add_params(ts, &r->best, "sweep_best/") < 0)
    return -1;
  if (r->have_pretrained && add_params(ts, &r->pretrained, "pretrained/") < 0)
    return -1;
  if (r->phase == PHASE_PRETRAIN && r->pre.started &&
      add_params(ts, &r->pre.before, "pretrain_before/") < 0)
    return -1;
  const SrLoop *l = active_loop(r);
  if (l)
    ts->t[ts->n++] = (SrStOut){"run/perm", "I32", 1, {l->n > 0 ? l->n : 0}, l->perm};
  return 0;
}

static void tensors_free(Tensors *ts) {
  for (int i = 0; i < ts->cap && ts->names; i++)
    free(ts->names[i]);
  free(ts->names);
  free(ts->t);
}

int sr_run_state_write(const SrRun *r, const char *path, SrError *err) {
  if (sr_check_model_names(r->m, path, err) < 0 || sr_refuse_nonfinite(r->st, path, err) < 0)
    return -1;
  size_t text = META_TEXT + (size_t)r->seed_index * SEED_TEXT(r->m->nhidden);
  Meta *meta = calloc(1, sizeof *meta + text);
  Tensors ts = {0};
  if (meta)
    meta->size = text;
  int rc = !meta || collect(r, &ts) < 0 ? sr_fail(err, "%s: out of memory", path) : 0;
  if (rc == 0) {
    build_meta(r, meta);
    rc = sr_safetensors_write(path, ts.t, ts.n, meta->e, meta->n, err);
  }
  tensors_free(&ts);
  free(meta);
  return rc;
}

/* ---- metadata: reading ------------------------------------------------------------ */

typedef struct Reader {
  const SrStFile *f;
  SrError *err;
  int bad;             /* a field was missing or malformed (err says which) */
} Reader;

static const char *get(Reader *rd, const char *key) {
  const char *v = sr_safetensors_meta(&rd->f->h, key);
  if (!v && !rd->bad) {
    rd->bad = 1;
    sr_fail(rd->err, "%s: not a complete sparsec state: no '%s' in its metadata", rd->f->path, key);
  }
  return v;
}

static void malformed(Reader *rd, const char *key, const char *v) {
  if (!rd->bad)
    sr_fail(rd->err, "%s: metadata '%s' is malformed: '%.100s'", rd->f->path, key, v);
  rd->bad = 1;
}

static long get_int(Reader *rd, const char *key, long lo, long hi) {
  const char *v = get(rd, key);
  if (!v)
    return lo;
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || x < lo || x > hi) {
    malformed(rd, key, v);
    return lo;
  }
  return x;
}

static double get_double(Reader *rd, const char *key) {
  const char *v = get(rd, key);
  if (!v)
    return 0;
  char *end;
  double x = strtod(v, &end);
  if (end == v || *end || !isfinite(x)) {
    malformed(rd, key, v);
    return 0;
  }
  return x;
}

/* nhidden + 3 finite numbers from p, as put_metrics writes them; where
 * they end (spaces after them skipped), or NULL if they are not there. */
static const char *parse_metrics(const char *p, int nhidden, SrMetrics *out) {
  double x[SR_MAX_HIDDEN + 3] = {0};
  int n = 0;
  while (*p && n < nhidden + 3) {
    char *end;
    x[n] = strtod(p, &end);
    if (end == p || !isfinite(x[n]))
      break;
    n++;
    p = end;
    while (*p == ' ')
      p++;
  }
  if (n != nhidden + 3)
    return NULL;
  out->loss = x[0], out->error = x[1], out->mean_sparsity = x[2], out->nhidden = nhidden;
  for (int k = 0; k < nhidden; k++)
    out->sparsity[k] = x[3 + k];
  return p;
}

static void get_metrics(Reader *rd, const char *key, int nhidden, SrMetrics *out) {
  memset(out, 0, sizeof *out);
  const char *v = get(rd, key);
  if (!v)
    return;
  const char *end = parse_metrics(v, nhidden, out);
  if (!end || *end)
    malformed(rd, key, v);
}

/* One seed's figures, as put_seed_results writes them; where they end. */
static const char *parse_seed(const char *p, int nhidden, SrFitResult *r) {
  memset(r, 0, sizeof *r);
  int used = 0;
  if (sscanf(p, "%d %d %d %n", &r->epochs_run, &r->stopped_early, &r->best_epoch, &used) != 3 ||
      used == 0 || r->epochs_run < 0 || r->best_epoch < 0 || r->stopped_early < 0 ||
      r->stopped_early > 1)
    return NULL;
  p = parse_metrics(p + used, nhidden, &r->best_valid);
  return p ? parse_metrics(p, nhidden, &r->best_test) : NULL;
}

/* `n` seeds' figures into out[0..n). */
static void get_seed_results(Reader *rd, int nhidden, SrFitResult *out, int n) {
  const char *v = get(rd, "seed_results");
  const char *p = v;
  for (int i = 0; p && i < n; i++) {
    if (i > 0)
      p = strncmp(p, "; ", 2) == 0 ? p + 2 : NULL;
    if (p)
      p = parse_seed(p, nhidden, &out[i]);
  }
  if (v && (!p || *p))
    malformed(rd, "seed_results", v);
}

static void get_result(Reader *rd, ResultKeys keys, int nhidden, SrFitResult *r) {
  memset(r, 0, sizeof *r);
  r->epochs_run = (int)get_int(rd, keys[0], 0, 1000000000);
  r->stopped_early = (int)get_int(rd, keys[1], 0, 1);
  r->best_epoch = (int)get_int(rd, keys[2], 0, 1000000000);
  get_metrics(rd, keys[3], nhidden, &r->best_valid);
  get_metrics(rd, keys[4], nhidden, &r->best_test);
}

static void get_rng(Reader *rd, SrRng *rng) {
  const char *v = get(rd, "rng");
  if (!v)
    return;
  const char *p = v;
  for (int i = 0; i < 4; i++) {
    char *end;
    errno = 0;
    rng->s[i] = strtoull(p, &end, 16);
    if (errno || end == p || (i < 3 && *end != ' ') || (i == 3 && *end)) {
      malformed(rd, "rng", v);
      return;
    }
    p = end + (i < 3);
  }
  if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]))
    malformed(rd, "rng", v); /* xoshiro's one forbidden state */
}

/* ---- reading: the checks ------------------------------------------------------------ */

/* The file's tensors PREFIX+NAME for every model slot: present, F32, of
 * the slot's shape, finite. */
static int check_params(const SrStFile *f, const SrModel *m, const char *prefix, SrError *err) {
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *s = &m->slots[i];
    if (!sr_slot_is_model(s->kind) && !(s->kind == SR_SLOT_STATE && prefix[0] == 'o'))
      continue;
    if (prefix[0] == 'o' && s->kind != SR_SLOT_STATE)
      continue;
    char name[512];
    snprintf(name, sizeof name, "%s%s", prefix, s->name);
    const SrStTensor *t = sr_safetensors_find(f, name);
    if (!t)
      return sr_fail(err, "%s: state has no tensor '%s'", f->path, name);
    if (t->ndim != 2 || t->shape[0] != (uint64_t)s->rows || t->shape[1] != (uint64_t)s->cols) {
      char have[128];
      sr_safetensors_shape(have, sizeof have, t);
      return sr_fail(err, "%s: tensor '%s' has shape %s, the model expects [%d, %d]", f->path,
                     name, have, s->rows, s->cols);
    }
    int counter = is_noise_counter(m, i);
    if (strcmp(t->dtype, counter ? "U32" : "F32") != 0)
      return sr_fail(err, "%s: tensor '%s' has dtype %s, not %s", f->path, name, t->dtype,
                     counter ? "U32" : "F32");
    if (!counter && sr_check_finite(f, t, err) < 0)
      return -1;
  }
  return 0;
}

static void copy_params(const SrStFile *f, SrState *st, const char *prefix) {
  const SrModel *m = st->model;
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *s = &m->slots[i];
    int want = prefix[0] == 'o' ? s->kind == SR_SLOT_STATE : sr_slot_is_model(s->kind);
    if (!want)
      continue;
    char name[512];
    snprintf(name, sizeof name, "%s%s", prefix, s->name);
    sr_safetensors_words(f, sr_safetensors_find(f, name), st->slots[i]);
  }
}

/* Same structure: else name the first layer, tensor or shape that differs. */
static int check_structure(const SrStFile *f, const SrRun *r, SrError *err) {
  const char *format = sr_safetensors_meta(&f->h, "format");
  if (!format || strcmp(format, SR_STATE_FORMAT) != 0)
    return sr_fail(err, "%s: not a resumable state (its format is '%s'): a state is written to "
                   "output.state during training", f->path, format ? format : "none");
  const char *version = sr_safetensors_meta(&f->h, "version");
  if (!version || (strcmp(version, STATE_VERSION) != 0 && strcmp(version, STATE_VERSION_SEEDS) != 0))
    return sr_fail(err, "%s: state version '%s', this sparsec reads versions %s and %s", f->path,
                   version ? version : "none", STATE_VERSION, STATE_VERSION_SEEDS);
  if (check_params(f, r->m, "", err) < 0 || check_params(f, r->m, "optimizer/", err) < 0)
    return -1;
  char mine[32], layers[2048];
  snprintf(mine, sizeof mine, "%016" PRIx64, fingerprint(r));
  const char *theirs = sr_safetensors_meta(&f->h, "fingerprint");
  const char *their_layers = sr_safetensors_meta(&f->h, "layers");
  describe_layers(r, layers, sizeof layers);
  if (!theirs || strcmp(theirs, mine) != 0)
    return sr_fail(err, "%s: saved by a model of another structure (its layers: %s; this "
                   "model's: %s)", f->path, their_layers ? their_layers : "unknown", layers);
  return 0;
}

/* ---- reading: into the run --------------------------------------------------------- */

/* Everything the metadata says, parsed before anything changes. */
typedef struct Saved {
  RunPhase phase;
  int lr_index, stage, stage_started, have_pretrained, have_best, best_lr, ranks;
  int has_loop, examples, epoch, step;
  double sum, input_max;
  SrRng rng;
  SrFitResult fit, sweep;
  int seed_index;      /* 0 without the key: a version-1 state is the first seed */
  SrFitResult *seed_results; /* [seed_index] */
  long metrics_bytes;
} Saved;

static void read_meta(Reader *rd, const SrRun *r, Saved *s) {
  const char *phase = get(rd, "phase");
  s->phase = !phase ? PHASE_DONE : strcmp(phase, "pretrain") == 0 ? PHASE_PRETRAIN
             : strcmp(phase, "train") == 0                        ? PHASE_TRAIN
                                                                  : PHASE_DONE;
  if (phase && s->phase == PHASE_DONE && strcmp(phase, "done") != 0)
    malformed(rd, "phase", phase);
  s->ranks = (int)get_int(rd, "ranks", 1, 1 << 20);
  s->lr_index = (int)get_int(rd, "lr_index", 0, SR_MAX_SWEEP);
  s->stage = (int)get_int(rd, "stage", 0, r->m->npretrain);
  s->stage_started = (int)get_int(rd, "stage_started", 0, 1);
  s->has_loop = sr_safetensors_meta(&rd->f->h, "epoch") != NULL;
  if (s->has_loop) {
    s->examples = (int)get_int(rd, "examples", 0, 1 << 30);
    s->epoch = (int)get_int(rd, "epoch", 0, 1000000000); /* the settings' limit */
    s->step = (int)get_int(rd, "step", 0, 1 << 30);
    s->sum = get_double(rd, "sum");
    s->input_max = get_double(rd, "input_max");
    get_rng(rd, &s->rng);
  }
  if (sr_safetensors_meta(&rd->f->h, "fit_epochs_run"))
    get_result(rd, fit_keys, r->m->nhidden, &s->fit);
  s->have_pretrained = (int)get_int(rd, "have_pretrained", 0, 1);
  s->have_best = (int)get_int(rd, "have_best", 0, 1);
  if (s->have_best) {
    s->best_lr = (int)get_int(rd, "best_lr", 0, SR_MAX_SWEEP - 1);
    get_result(rd, sweep_keys, r->m->nhidden, &s->sweep);
  }
  if (sr_safetensors_meta(&rd->f->h, "seed_index"))
    s->seed_index = (int)get_int(rd, "seed_index", 0, SR_MAX_SEEDS);
  if (s->seed_index > 0 && !rd->bad) {
    s->seed_results = calloc((size_t)s->seed_index, sizeof *s->seed_results);
    if (!s->seed_results) {
      sr_fail(rd->err, "%s: out of memory for %d seeds' figures", rd->f->path, s->seed_index);
      rd->bad = 1;
    } else {
      get_seed_results(rd, r->m->nhidden, s->seed_results, s->seed_index);
    }
  }
  s->metrics_bytes = get_int(rd, "metrics_bytes", 0, LONG_MAX);
}

/* In the seeds' repeats: the sweep is done (its kept lr is the one
 * trained) and this run has as many seeds at least. */
static int check_seed_position(const SrStFile *f, const SrRun *r, const Saved *s, SrError *err) {
  if (s->seed_index == 0)
    return 0;
  if (!s->have_best || (s->phase != PHASE_DONE && s->lr_index != s->best_lr))
    return sr_fail(err, "%s: saved in the repeat of seed %d without the sweep's kept lr "
                   "(a damaged state)", f->path, s->seed_index + 1);
  int need = s->phase == PHASE_DONE ? s->seed_index : s->seed_index + 1;
  if (need > r->cfg.seeds)
    return sr_fail(err, "%s: saved in the repeats of train.seeds, with %d seed%s done; this run "
                   "has train.seeds = %d: resume it with --seeds %d or more", f->path,
                   s->seed_index, s->seed_index == 1 ? "" : "s", r->cfg.seeds, need);
  return 0;
}

/* The position must fit this run's data and sweep. */
static int check_position(const SrStFile *f, const SrRun *r, const Saved *s, SrError *err) {
  int ranks = sr_dist_size(r->setup.dist);
  if (s->ranks != ranks)
    return sr_fail(err, "%s: saved by a run on %d rank%s; resume it on as many (this run has %d)",
                   f->path, s->ranks, s->ranks == 1 ? "" : "s", ranks);
  if (s->lr_index > r->cfg.nlrs || (s->phase != PHASE_DONE && s->lr_index >= r->cfg.nlrs))
    return sr_fail(err, "%s: saved at learning rate %d of the sweep; this run has %d", f->path,
                   s->lr_index + 1, r->cfg.nlrs);
  int loop_needed = (s->phase == PHASE_TRAIN) || (s->phase == PHASE_PRETRAIN && s->stage_started);
  if (loop_needed && !s->has_loop)
    return sr_fail(err, "%s: not a complete sparsec state: no position in its metadata", f->path);
  if (loop_needed && s->examples != r->data->train.n)
    return sr_fail(err, "%s: saved for %d training examples, this run has %d (the same "
                   "data, data.limit and validation are needed)", f->path, s->examples,
                   r->data->train.n);
  /* a step past the epoch's end would start a minibatch outside the data */
  int batch = s->phase == PHASE_PRETRAIN && s->stage < r->m->npretrain
                  ? r->m->pretrain[s->stage].batch
                  : r->cfg.batch;
  if (loop_needed && s->step > 0 && (long)s->step * batch >= s->examples)
    return sr_fail(err, "%s: saved at minibatch %d of an epoch of %d examples in batches of %d: "
                   "past its end (a damaged state, or another batch size)", f->path, s->step,
                   s->examples, batch);
  const SrStTensor *perm = sr_safetensors_find(f, "run/perm");
  if (loop_needed && (!perm || strcmp(perm->dtype, "I32") != 0 || perm->ndim != 1 ||
                      perm->shape[0] != (uint64_t)s->examples))
    return sr_fail(err, "%s: its tensor 'run/perm' is missing or not I32 [%d]", f->path,
                   s->examples);
  if (s->phase == PHASE_PRETRAIN && s->stage >= r->m->npretrain && r->m->npretrain > 0)
    return sr_fail(err, "%s: saved in pretraining stage %d; the model has %d", f->path,
                   s->stage + 1, r->m->npretrain);
  return check_seed_position(f, r, s, err);
}

static int check_groups(const SrStFile *f, const SrRun *r, const Saved *s, SrError *err) {
  if (s->phase == PHASE_TRAIN && check_params(f, r->m, "best/", err) < 0)
    return -1;
  if (s->have_best && check_params(f, r->m, "sweep_best/", err) < 0)
    return -1;
  if (s->have_pretrained && check_params(f, r->m, "pretrained/", err) < 0)
    return -1;
  if (s->phase == PHASE_PRETRAIN && s->stage_started &&
      check_params(f, r->m, "pretrain_before/", err) < 0)
    return -1;
  return 0;
}

/* A permutation of 0..n-1, each once: anything else would read out of
 * bounds or skip examples. */
static int read_perm(const SrStFile *f, int32_t *perm, int n, SrError *err) {
  sr_safetensors_words(f, sr_safetensors_find(f, "run/perm"), perm);
  char *seen = calloc((size_t)n + 1, 1);
  if (!seen)
    return sr_fail(err, "%s: out of memory", f->path);
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    if (perm[i] < 0 || perm[i] >= n || seen[perm[i]])
      rc = sr_fail(err, "%s: tensor 'run/perm' is not a permutation (element %d is %d)", f->path,
                   i, perm[i]);
    else
      seen[perm[i]] = 1;
  }
  free(seen);
  return rc;
}

static int restore_loop(const SrStFile *f, SrLoop *l, const Saved *s, SrError *err) {
  SrLoop fresh;
  if (sr_loop_init(&fresh, s->examples, 1, err) < 0)
    return -1;
  if (read_perm(f, fresh.perm, s->examples, err) < 0) {
    sr_loop_free(&fresh);
    return -1;
  }
  fresh.rng = s->rng;
  fresh.epoch = s->epoch;
  fresh.step = s->step;
  fresh.sum = s->sum;
  fresh.input_max = (float)s->input_max;
  sr_loop_free(l);
  *l = fresh;
  return 0;
}

/* One line for the settings that differ from the state's. */
static void report_changes(const SrStFile *f, const SrRun *r) {
  if (!r->setup.log)
    return;
  char now[64], line[1024];
  size_t used = 0;
  const char *keys[] = {"epochs", "batch", "patience", "seed", "momentum", "seeds"};
  for (int i = 0; i < 6; i++) {
    const char *then = sr_safetensors_meta(&f->h, keys[i]);
    const SrProgramConfig *c = &r->cfg;
    if (i == 0) snprintf(now, sizeof now, "%d", c->epochs);
    if (i == 1) snprintf(now, sizeof now, "%d", c->batch);
    if (i == 2) snprintf(now, sizeof now, "%d", c->patience);
    if (i == 3) snprintf(now, sizeof now, "%" PRIu64, c->seed);
    if (i == 4) snprintf(now, sizeof now, "%.17g", c->momentum);
    if (i == 5) snprintf(now, sizeof now, "%d", c->seeds);
    if (then && strcmp(then, now) != 0 && used < sizeof line)
      used += (size_t)snprintf(line + used, sizeof line - used, "%s%s %s -> %s",
                               used ? ", " : "", keys[i], then, now);
  }
  char lrs[SR_MAX_SWEEP * 32];
  size_t n = 0;
  lrs[0] = 0;
  for (int i = 0; i < r->cfg.nlrs && n < sizeof lrs; i++)
    n += (size_t)snprintf(lrs + n, sizeof lrs - n, "%s%.17g", i ? "," : "", r->cfg.lrs[i]);
  const char *then = sr_safetensors_meta(&f->h, "lrs");
  if (then && strcmp(then, lrs) != 0 && used < sizeof line)
    used += (size_t)snprintf(line + used, sizeof line - used, "%slr %s -> %s", used ? ", " : "",
                             then, lrs);
  if (used)
    fprintf(r->setup.log, "resuming with changed settings: %s\n", line);
}

static int ensure_copy(SrState *copy, const SrState *st, SrError *err) {
  return copy->slots ? 0 : sr_state_init(copy, st->model, 1, 0, err);
}

/* Everything checked: now the run takes the state. Allocations come
 * first, so that running out of memory also leaves the run as it was. */
static int take(SrRun *r, const SrStFile *f, const Saved *s, SrError *err) {
  SrLoop loop = {0};
  int loop_needed = s->phase == PHASE_TRAIN || (s->phase == PHASE_PRETRAIN && s->stage_started);
  if (loop_needed && restore_loop(f, &loop, s, err) < 0)
    return -1;
  if ((s->phase == PHASE_TRAIN && !r->fit_started && ensure_copy(&r->fit.best, r->st, err) < 0) ||
      (s->have_best && ensure_copy(&r->best, r->st, err) < 0) ||
      (s->have_pretrained && ensure_copy(&r->pretrained, r->st, err) < 0) ||
      sr_checkpoint_load_file(r->st, (SrStFile *)f, err) < 0) {
    sr_loop_free(&loop);
    return -1;
  }
  copy_params(f, r->st, "optimizer/");
  r->phase = s->phase;
  r->lr_index = s->lr_index;
  r->pre.stage = s->stage;
  r->pre.started = s->phase == PHASE_PRETRAIN && s->stage_started;
  if (r->pre.started) {
    copy_params(f, &r->pre.before, "pretrain_before/");
    sr_loop_free(&r->pre.loop);
    r->pre.loop = loop;
  }
  r->fit_started = s->phase == PHASE_TRAIN;
  if (r->fit_started) {
    sr_loop_free(&r->fit.loop);
    r->fit.loop = loop;
    r->fit.best_epoch = s->fit.best_epoch;
    r->fit.best_valid = s->fit.best_valid;
    r->fit.best_test = s->fit.best_test;
    r->fit.stopped_early = s->fit.stopped_early;
    copy_params(f, &r->fit.best, "best/");
  }
  r->have_pretrained = s->have_pretrained;
  if (s->have_pretrained)
    copy_params(f, &r->pretrained, "pretrained/");
  r->have_best = s->have_best;
  if (s->have_best) {
    copy_params(f, &r->best, "sweep_best/");
    r->best_lr = s->best_lr;
    r->best_result = s->sweep;
  }
  r->seed_index = s->seed_index;
  if (s->seed_index > 0)
    memcpy(r->seed_results, s->seed_results, (size_t)s->seed_index * sizeof *s->seed_results);
  r->metrics_keep = s->metrics_bytes;
  r->saved_epoch = loop_needed ? s->epoch : 0;
  snprintf(r->saved_at, sizeof r->saved_at, "the one resumed from");
  return 0;
}

int sr_run_state_read(SrRun *r, const char *path, SrError *err) {
  SrStFile f;
  if (sr_safetensors_read(path, &f, err) < 0)
    return -1;
  Saved s;
  memset(&s, 0, sizeof s);
  Reader rd = {.f = &f, .err = err};
  int rc = check_structure(&f, r, err);
  if (rc == 0) {
    read_meta(&rd, r, &s);
    rc = rd.bad ? -1 : 0;
  }
  if (rc == 0)
    rc = check_position(&f, r, &s, err);
  if (rc == 0)
    rc = check_groups(&f, r, &s, err);
  if (rc == 0)
    rc = take(r, &f, &s, err);
  if (rc == 0)
    report_changes(&f, r);
  free(s.seed_results);
  sr_safetensors_close(&f);
  return rc;
}
