/* session.c: changing the session's spec. A change (a file loaded here,
 * an override set or dropped, blocks typed in: session_edit.c) becomes a
 * candidate: the spec
 * checked, the model compiled, the data read (only if its files changed)
 * and split, a state allocated. Only a complete candidate replaces the
 * session's. The weights then carry over: the whole state when the slot
 * table did not change, else each tensor whose name, shape and init did
 * not. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "session_internal.h"
#include "spec_text.h"

typedef struct Candidate {
  Spec *spec;
  CompiledModel c;
  SrState state;
  BuildConfig config;  /* the spec as the engine takes it (runtime/experiment.h) */
  SrProgramData data;
  int read_data;       /* data holds files read for it; else it shares the session's */
  int same_state;      /* the session's state fits it as it is: no new state */
  CompileTimes times;
} Candidate;

void session_init(Session *s, FILE *out, FILE *err) {
  memset(s, 0, sizeof *s);
  s->out = out;
  s->err = err;
  s->passes.enabled = 1;
}

void session_free_overrides(char **overrides, int n) {
  for (int i = 0; i < n; i++)
    free(overrides[i]);
}

void session_free(Session *s) {
  sr_run_free(s->run);
  sr_state_free(&s->state);
  model_free(&s->c);
  sr_program_data_free(&s->data);
  spec_free(s->spec);
  build_config_free(&s->config);
  free(s->path);
  free(s->text);
  session_free_overrides(s->overrides, s->noverrides);
  memset(s, 0, sizeof *s);
}

int session_ready(const Session *s, FILE *err) {
  if (s->spec)
    return 1;
  fputs("sparsec: no model yet: `load FILE.spn`, or type the spec's blocks\n", err);
  return 0;
}

/* ---- building a candidate -------------------------------------------------- */

static void candidate_free(Candidate *k) {
  sr_state_free(&k->state);
  model_free(&k->c);
  if (k->read_data)
    sr_program_data_free(&k->data);
  build_config_free(&k->config);
  spec_free(k->spec);
  memset(k, 0, sizeof *k);
}

/* The session's data when the files are the same (only the split is
 * redone), else the new spec's files, read now. */
static int candidate_data(Session *s, Candidate *k) {
  SrError e = {{0}};
  if (build_config(k->spec, k->c.max_rows, 0, &k->config) != 0) {
    fputs("sparsec: out of memory\n", s->err);
    return -1;
  }
  k->config.cfg.nlrs = 1; /* the session trains at the sweep's first lr */
  if (s->spec && sr_program_same_files(&s->config.cfg, &k->config.cfg)) {
    k->data = s->data;
  } else {
    double t0 = now_ms();
    if (sr_program_read_data(&k->config.cfg, &k->data, &e) != 0) {
      fprintf(s->err, "sparsec: %s\n", e.msg);
      data_note(k->spec, k->data.failed, s->err);
      return -1;
    }
    k->read_data = 1;
    if (s->verbosity != SR_QUIET)
      fprintf(s->out, "data: read in %.0f ms\n", now_ms() - t0);
  }
  if (sr_program_split_data(&k->config.cfg, &k->data, &e) != 0) {
    fprintf(s->err, "sparsec: %s\n", e.msg);
    data_note(k->spec, k->data.failed, s->err);
    return -1;
  }
  return 0;
}

static int candidate_compile(Session *s, Candidate *k) {
  char msg[1024];
  CompileOptions o = {
      .passes = s->passes, .keep_hidden_outputs = 1, .reuse = s->spec ? &s->c : NULL};
  if (model_compile(k->spec, k->spec->train.lr, &o, &k->c, msg, sizeof msg) != 0) {
    fprintf(s->err, "sparsec: %s\n", msg);
    return -1;
  }
  k->times.prepare = k->c.prepare_ms;
  k->times.reused = k->c.reused;
  if (!k->c.reused) { /* else LLVM did not run: no time in it */
    JitTimes j = model_jit_times(&k->c);
    k->times.codegen = j.codegen_ms;
    k->times.optimise = j.optimise_ms;
    k->times.machine = j.compile_ms;
    k->times.cache = j.cache_ms;
    k->times.cached = j.cache == JIT_CACHE_HIT;
  }
  return 0;
}

static int candidate_state(Session *s, Candidate *k) {
  SrError e = {{0}};
  double t0 = now_ms();
  if (sr_state_init(&k->state, &k->c.model, k->c.max_rows, k->spec->train.seed, &e) != 0) {
    fprintf(s->err, "sparsec: %s\n", e.msg);
    return -1;
  }
  k->times.state = now_ms() - t0;
  return 0;
}

static int same_name(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

static int same_slot_layout(const SrSlot *a, const SrSlot *b) {
  return same_name(a->name, b->name) && a->kind == b->kind && a->rows == b->rows &&
         a->cols == b->cols && a->init == b->init && a->init_arg == b->init_arg &&
         a->in_arena == b->in_arena && a->arena_offset == b->arena_offset;
}

/* Whether the state of `old` serves `new` as it is: the same slots, each
 * the same size, init and place (a change of lr or l1 only changes code).
 * Then the weights and the optimiser's state stay, and nothing is copied. */
static int same_layout(const CompiledModel *new, const CompiledModel *old) {
  const SrModel *a = &new->model, *b = &old->model;
  if (a->nslots != b->nslots || a->arena_bytes != b->arena_bytes || new->max_rows != old->max_rows)
    return 0;
  for (int i = 0; i < a->nslots; i++)
    if (!same_slot_layout(&a->slots[i], &b->slots[i]))
      return 0;
  return 1;
}

/* text + overrides -> a complete candidate, or -1 with nothing changed.
 * With `carry`, the session's state is kept when it fits. */
static int build(Session *s, const char *name, const char *text, char *const *overrides, int n,
                 int carry, Candidate *k) {
  memset(k, 0, sizeof *k);
  double t0 = now_ms();
  k->spec = spec_text_check(name, text, overrides, n, s->err);
  k->times.check = now_ms() - t0;
  if (!k->spec || candidate_compile(s, k) != 0 || candidate_data(s, k) != 0) {
    candidate_free(k);
    return -1;
  }
  k->same_state = carry && s->spec && same_layout(&k->c, &s->c);
  if (!k->same_state && candidate_state(s, k) != 0) {
    candidate_free(k);
    return -1;
  }
  CompileTimes *t = &k->times; /* the data's reading is not compiling: it is reported apart */
  t->total = t->check + t->prepare + t->codegen + t->optimise + t->machine + t->cache + t->state;
  return 0;
}

/* ---- carrying the weights over --------------------------------------------- */

/* The PARAM or CONST slot of `m` named like `want`, with its shape and
 * its initialisation: a changed init (h2.bias, h1.init) asks for new
 * values, so that tensor is drawn afresh. */
static int same_slot(const SrModel *m, const SrSlot *want) {
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *slot = &m->slots[i];
    if (sr_slot_is_model(slot->kind) && same_name(slot->name, want->name) &&
        slot->rows == want->rows && slot->cols == want->cols && slot->init == want->init &&
        slot->init_arg == want->init_arg)
      return i;
  }
  return -1;
}

/* Copies every tensor whose name, shape and init are unchanged; says
 * which were drawn afresh when some were not. Returns how many were kept. */
static int carry_weights(SrState *dst, const SrState *src, FILE *out) {
  const SrModel *m = dst->model;
  int kept = 0, total = 0;
  char fresh[512] = "";
  for (int i = 0; i < m->nslots; i++) {
    if (!sr_slot_is_model(m->slots[i].kind))
      continue;
    total++;
    int from = same_slot(src->model, &m->slots[i]);
    if (from >= 0) {
      memcpy(dst->slots[i], src->slots[from],
             (size_t)m->slots[i].rows * (size_t)m->slots[i].cols * sizeof(float));
      kept++;
    } else if (strlen(fresh) + strlen(m->slots[i].name) + 3 < sizeof fresh) {
      snprintf(fresh + strlen(fresh), sizeof fresh - strlen(fresh), "%s%s", *fresh ? ", " : "",
               m->slots[i].name);
    }
  }
  if (kept < total)
    fprintf(out, "weights: kept %d of %d tensors; initialised afresh: %s\n", kept, total, fresh);
  return kept;
}

/* ---- replacing the session's state ------------------------------------------ */

static void print_times(const Session *s) {
  const CompileTimes *t = &s->times;
  if (s->verbosity == SR_QUIET)
    return;
  if (s->verbosity == SR_VERBOSE) {
    char *layers = spec_structure(s->spec);
    fprintf(s->out, "model: %s\n", layers ? layers : "?");
    free(layers);
  }
  if (t->reused) {
    fprintf(s->out,
            "compiled in %.1f ms (check %.1f, build %.1f, state %.1f): the same code, kept\n",
            t->total, t->check, t->prepare, t->state);
    return;
  }
  fprintf(s->out,
          "compiled in %.0f ms (check %.1f, build %.1f, codegen %.1f, optimise %.1f, "
          "machine code %.1f, cache %.1f, state %.1f)%s\n",
          t->total, t->check, t->prepare, t->codegen, t->optimise, t->machine, t->cache, t->state,
          t->cached ? " (cached)" : "");
}

/* The engine's run for the session's spec, state and data; it goes on from
 * where the old one was when the change kept the state's layout and the
 * training set. -1 (with a message) leaves the old run. */
static int new_run(Session *s, int keep_position) {
  SrError e = {{0}};
  SrRunSetup setup = {.log = s->out, .stop = s->stop};
  SrRun *run = sr_run_new(&s->state, &s->config.cfg, &setup, &s->data, &e);
  if (!run) {
    fprintf(s->err, "sparsec: %s\n", e.msg);
    return -1;
  }
  if (keep_position && s->run)
    sr_run_take_position(run, s->run);
  sr_run_free(s->run);
  s->run = run;
  return 0;
}

/* The candidate becomes the session's; with `carry` the weights that fit
 * come along (and the training counts, if any did). */
static void commit(Session *s, Candidate *k, int carry) {
  int same_train = !k->read_data && s->spec && k->data.train.x == s->data.train.x &&
                   k->data.train.n == s->data.train.n;
  int keep_position = k->same_state && same_train;
  if (!keep_position) { /* its copies of the weights are of the old model's layout */
    sr_run_free(s->run);
    s->run = NULL;
  }
  if (k->same_state) {
    k->state = s->state;
    memset(&s->state, 0, sizeof s->state);
  } else if ((carry && s->spec ? carry_weights(&k->state, &s->state, s->out) : 0) == 0) {
    s->epochs = s->steps = s->runs = 0; /* the counts describe the weights */
  }
  sr_state_free(&s->state);
  model_free(&s->c);
  if (k->read_data)
    sr_program_data_free(&s->data);
  spec_free(s->spec);
  build_config_free(&s->config);
  s->config = k->config;
  s->spec = k->spec;
  s->c = k->c;
  s->state = k->state;
  s->state.model = &s->c.model; /* the state points at its model: it moved */
  s->data = k->data;
  s->times = k->times;
  memset(k, 0, sizeof *k);
  model_use_hyper(&s->c); /* a kept JIT runs with the new learning rates and penalties */
  if (new_run(s, keep_position) != 0) { /* only out of memory: `train` then says so */
    sr_run_free(s->run);
    s->run = NULL;
  }
  print_times(s);
}

/* The name messages give the session's text: the file's path while it is
 * the file's text. Relative data paths resolve against its folder. */
static char *text_name(const char *path, int edited) {
  const char *base = path ? path : "<repl>";
  size_t n = strlen(base) + 16;
  char *name = malloc(n);
  if (name)
    snprintf(name, n, "%s%s", base, edited && path ? " (session)" : "");
  return name;
}

int session_rebuild(Session *s, const char *text, int edited, char *const *overrides, int n,
                    int carry) {
  char *name = text_name(s->path, edited);
  Candidate k;
  int rc = name ? build(s, name, text, overrides, n, carry, &k) : -1;
  free(name);
  if (rc == 0)
    commit(s, &k, carry);
  return rc;
}

/* ---- loading a file ------------------------------------------------------------ */

static char *read_text(const char *path, FILE *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(err, "sparsec: cannot read '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  char *text = NULL;
  size_t size = 0;
  FILE *buf = open_memstream(&text, &size);
  char chunk[4096];
  size_t got;
  while (buf && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
    fwrite(chunk, 1, got, buf);
  int failed = ferror(f) || !buf;
  fclose(f);
  if (buf)
    fclose(buf);
  if (failed) {
    fprintf(err, "sparsec: cannot read '%s'\n", path);
    free(text);
    return NULL;
  }
  return text;
}

int session_load(Session *s, const char *path) {
  char *text = read_text(path, s->err);
  char *copy = strdup(path);
  if (!text || !copy) {
    free(text);
    free(copy);
    return -1;
  }
  char *old_path = s->path;
  s->path = copy; /* names the text while it is checked */
  if (session_rebuild(s, text, 0, NULL, 0, 0) != 0) {
    s->path = old_path;
    free(copy);
    free(text);
    return -1;
  }
  free(old_path);
  free(s->text);
  s->text = text;
  s->edited = 0;
  session_free_overrides(s->overrides, s->noverrides);
  s->noverrides = 0;
  return 0;
}

int session_reset(Session *s) {
  if (!session_ready(s, s->err))
    return -1;
  SrState fresh;
  SrError e = {{0}};
  if (sr_state_init(&fresh, &s->c.model, s->c.max_rows, s->spec->train.seed, &e) != 0) {
    fprintf(s->err, "sparsec: %s\n", e.msg);
    return -1;
  }
  sr_state_free(&s->state);
  s->state = fresh;
  s->epochs = s->steps = s->runs = 0;
  if (new_run(s, 0) != 0)
    return -1;
  fprintf(s->out, "weights initialised from seed %llu\n",
          (unsigned long long)s->spec->train.seed);
  return 0;
}
