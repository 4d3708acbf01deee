/* session_show.c: the session described: the model, its settings, the
 * spec's text and overrides, the last compilation, the IR. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

static long layer_params(const Spec *spec, int i) {
  long in = i == 0 ? spec->input : spec->layers[i - 1].units;
  return in * spec->layers[i].units + spec->layers[i].units;
}

/* printf at the end of buf, truncating. */
__attribute__((format(printf, 3, 4))) static void append(char *buf, size_t size,
                                                         const char *fmt, ...) {
  size_t len = strlen(buf);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, size - len, fmt, ap);
  va_end(ap);
}

/* The layer as it would be written, with the settings that differ from
 * the defaults, and its weight count. */
static void print_layer(FILE *out, const Spec *spec, int i) {
  const LayerSpec *l = &spec->layers[i];
  char text[256] = "", act[64];
  append(text, sizeof text, "dense(%d, %s", l->units,
         activation_text(l->act, l->act_param, act, sizeof act));
  if (l->l1 > 0)
    append(text, sizeof text, ", l1 = %g", l->l1);
  if (l->l2 > 0)
    append(text, sizeof text, ", l2 = %g", l->l2);
  if (l->init.kind == INIT_HE_NORMAL)
    append(text, sizeof text, ", init = he_normal");
  else if (l->init.kind == INIT_UNIFORM)
    append(text, sizeof text, ", init = uniform(%g)", l->init.a);
  if (l->bias != 0)
    append(text, sizeof text, ", bias = %g", l->bias);
  if (l->sign_trick)
    append(text, sizeof text, ", sign_trick = true");
  append(text, sizeof text, ")");
  fprintf(out, "  %-8s %-44s %10ld weights\n", l->name, text, layer_params(spec, i));
}

static long total_params(const SrModel *m) {
  long n = 0;
  for (int i = 0; i < m->nslots; i++)
    if (m->slots[i].kind == SR_SLOT_PARAM)
      n += (long)m->slots[i].rows * m->slots[i].cols;
  return n;
}

static void print_pretrain(FILE *out, const Spec *spec) {
  if (spec->pretrain.nstages == 0) {
    fputs("pretrain: none\n", out);
    return;
  }
  for (int i = 0; i < spec->pretrain.nstages; i++) {
    const PretrainStage *st = &spec->pretrain.stages[i];
    fprintf(out, "%s %s: %s(%g), %s, %s, %d epochs, lr %g, batch %d", i ? "         " : "pretrain:",
            spec->layers[st->layer].name, noise_name(st->noise.kind), st->noise.p,
            reconstruction_name(st->recon), st->tied ? "tied" : "untied", st->epochs, st->lr,
            st->batch);
    if (st->targets == TARGETS_BEFORE && st->layer > 0) /* the first reconstructs the input */
      fputs(", targets before", out);
    if (st->l1 > 0)
      fprintf(out, ", l1 %g", st->l1);
    fputc('\n', out);
  }
}

static void print_train(FILE *out, const Spec *spec) {
  fputs("train:    lr ", out);
  for (int i = 0; i < spec->train.nlrs; i++)
    fprintf(out, "%s%g", i ? ", " : spec->train.nlrs > 1 ? "in {" : "", spec->train.lrs[i]);
  fprintf(out, "%s, batch %d, epochs %d, seed %llu", spec->train.nlrs > 1 ? "}" : "",
          spec->train.batch, spec->train.epochs, (unsigned long long)spec->train.seed);
  if (spec->train.momentum > 0)
    fprintf(out, ", momentum %g", spec->train.momentum);
  if (spec->train.patience > 0)
    fprintf(out, ", patience %d", spec->train.patience);
  if (spec->train.seeds > 1) /* `run` repeats; the session's `train` trains one seed */
    fprintf(out, ", seeds %d (run only)", spec->train.seeds);
  fputc('\n', out);
}

static void print_data(FILE *out, const Session *s) {
  const Spec *spec = s->spec;
  fprintf(out, "data:     %d train, %d validation, %d test examples", s->data.train.n,
          s->data.valid.n, s->data.test.n);
  if (spec->data.limit > 0)
    fprintf(out, " (limit %d)", spec->data.limit);
  fputc('\n', out);
}

static void print_overrides(FILE *out, const Session *s) {
  if (s->noverrides == 0)
    return;
  fputs("overrides:", out);
  for (int i = 0; i < s->noverrides; i++)
    fprintf(out, " [%d] %s", i + 1, s->overrides[i]);
  fputc('\n', out);
}

void session_show_model(const Session *s) {
  FILE *out = s->out;
  if (!session_ready(s, s->err))
    return;
  const Spec *spec = s->spec;
  fprintf(out, "model:    %s%s\n", s->path ? s->path : "typed in",
          s->edited && s->path ? ", with blocks typed in" : "");
  fprintf(out, "  %-8s %d\n", "input", spec->input);
  for (int i = 0; i < spec->nlayers; i++)
    print_layer(out, spec, i);
  fprintf(out, "  %-8s %s; %ld parameters in all\n", "loss", loss_name(spec->loss),
          total_params(&s->c.model));
  print_pretrain(out, spec);
  print_train(out, spec);
  print_data(out, s);
  print_overrides(out, s);
  fprintf(out, "weights:  %d epoch%s and %d step%s of training since initialised\n", s->epochs,
          s->epochs == 1 ? "" : "s", s->steps, s->steps == 1 ? "" : "s");
}

void session_show_spec(const Session *s) {
  if (!s->text) {
    fputs("sparsec: no spec yet\n", s->err);
    return;
  }
  int line = 1;
  for (const char *p = s->text; *p; line++) {
    const char *nl = strchr(p, '\n');
    int len = nl ? (int)(nl - p) : (int)strlen(p);
    fprintf(s->out, "%5d | %.*s\n", line, len, p);
    p += len + (nl != NULL);
  }
  for (int i = 0; i < s->noverrides; i++)
    fprintf(s->out, "--set %d: %s\n", i + 1, s->overrides[i]);
}

void session_show_times(const Session *s) {
  const CompileTimes *t = &s->times;
  if (!s->spec)
    return;
  fprintf(s->out,
          "last compile: %.1f ms: check %.1f, build (IR, passes, memory plan) %.1f, LLVM IR %.1f, "
          "optimise (O2) %.1f, machine code %.1f, cache %.1f, weights %.1f%s\n",
          t->total, t->check, t->prepare, t->codegen, t->optimise, t->machine, t->cache, t->state,
          t->reused   ? " (the same code as before: kept, LLVM not run)"
          : t->cached ? " (machine code from the cache: LLVM not run)"
                      : "");
}

int session_ir(Session *s, const IrOptions *o) {
  if (!session_ready(s, s->err))
    return -1;
  return ir_print(s->spec, o, s->out, s->err) == 0 ? 0 : -1;
}

const char **session_layer_names(const Session *s, int hidden_only) {
  int n = s->spec ? s->spec->nlayers - (hidden_only ? 1 : 0) : 0;
  const char **names = calloc((size_t)n + 1, sizeof *names);
  for (int i = 0; names && i < n; i++)
    names[i] = s->spec->layers[i].name;
  return names;
}
