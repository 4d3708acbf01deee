/* repl_complete.c: what Tab offers for the word before the cursor, from
 * the words before it: a command; a setting's path (train.lr, h2.l1,
 * pretrain.h1.epochs: the language's settings and the session's layers);
 * some settings' values; a layer; a part of the data; an ir option, a
 * program or a pass; a file name. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "repl.h"
#include "spec_text.h"

typedef struct Context {
  const Session *s;
  const char *word;    /* the part of the word typed so far */
  Completion *c;
} Context;

static void offer(Context *x, const char *item) {
  if (strncmp(item, x->word, strlen(x->word)) != 0)
    return;
  char **items = realloc(x->c->items, (size_t)(x->c->n + 1) * sizeof *items);
  if (!items)
    return;
  x->c->items = items;
  if ((items[x->c->n] = strdup(item)))
    x->c->n++;
}

static void offer_all(Context *x, const char *const *items) {
  for (; *items; items++)
    offer(x, *items);
}

/* PREFIX.NAME for each name. */
static void offer_dotted(Context *x, const char *prefix, const char *const *names) {
  char item[256];
  for (; *names; names++) {
    snprintf(item, sizeof item, "%s.%s", prefix, *names);
    offer(x, item);
  }
}

static void offer_layers(Context *x, int hidden_only) {
  const char **layers = session_layer_names(x->s, hidden_only);
  if (layers)
    offer_all(x, layers);
  free(layers);
}

/* Every path `set` takes: BLOCK.SETTING, LAYER.KEY, pretrain.LAYER.SETTING. */
static void offer_paths(Context *x) {
  const char *names[64];
  for (const char *const *b = spec_block_names(); *b; b++)
    if (spec_block_settings(*b, 0, names, 64) > 0)
      offer_dotted(x, *b, names);
  const char **layers = session_layer_names(x->s, 0);
  int per_layer = spec_block_settings("pretrain", 1, names, 64) > 0;
  for (int i = 0; layers && layers[i]; i++) {
    offer_dotted(x, layers[i], spec_layer_keys());
    char prefix[160];
    snprintf(prefix, sizeof prefix, "pretrain.%s", layers[i]);
    if (per_layer && layers[i + 1]) /* the output layer is not pretrained */
      offer_dotted(x, prefix, names);
  }
  free(layers);
}

/* Values of the settings whose values are names. */
static void offer_values(Context *x, const char *path) {
  const char *dot = strrchr(path, '.');
  const char *key = dot ? dot + 1 : path;
  if (strcmp(key, "activation") == 0)
    for (int a = 0; a < ACT_COUNT_; a++) { /* leaky_relu( for one with a parameter */
      char word[64];
      const ActivationInfo *info = activation_info((Activation)a);
      snprintf(word, sizeof word, "%s%s", info->keyword, isnan(info->parameter) ? "" : "(");
      offer(x, word);
    }
  static const char *const inits[] = {"glorot_uniform", "he_normal", "uniform(", NULL};
  static const char *const noises[] = {"masking(", "salt_pepper(", "gaussian(", NULL};
  static const char *const booleans[] = {"true", "false", NULL};
  static const char *const decoders[] = {"tied", "untied", NULL};
  static const char *const progress[] = {"auto", "on", "off", NULL};
  static const char *const formats[] = {"csv", "jsonl", NULL};
  if (strcmp(key, "init") == 0)
    offer_all(x, inits);
  else if (strcmp(key, "noise") == 0)
    offer_all(x, noises);
  else if (strcmp(key, "sign_trick") == 0)
    offer_all(x, booleans);
  else if (strcmp(key, "decoder") == 0)
    offer_all(x, decoders);
  else if (strcmp(key, "progress") == 0)
    offer_all(x, progress);
  else if (strcmp(key, "format") == 0)
    offer_all(x, formats);
  else if (strcmp(key, "loss") == 0)
    for (int l = 0; l < LOSS_COUNT_; l++)
      offer(x, loss_name((Loss)l));
  else if (strcmp(key, "reconstruction") == 0)
    for (int r = 0; r < RECON_COUNT_; r++)
      offer(x, reconstruction_name((Reconstruction)r));
  else if (strcmp(key, "targets") == 0)
    for (int t = 0; t < TARGETS_COUNT_; t++)
      offer(x, targets_name((ReconTargets)t));
}

static int has_suffix(const char *name, const char *suffix) {
  size_t n = strlen(name), k = strlen(suffix);
  return !suffix[0] || (n >= k && strcmp(name + n - k, suffix) == 0);
}

/* Files of the folder the word names whose names end in `suffix`, and
 * folders (with a '/'); hidden ones only when asked for. */
static void offer_files(Context *x, const char *suffix) {
  const char *slash = strrchr(x->word, '/');
  char dir[1024], item[2048];
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - x->word + 1) : 0, x->word);
  const char *base = slash ? slash + 1 : x->word;
  DIR *d = opendir(dir[0] ? dir : ".");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if ((e->d_name[0] == '.' && base[0] != '.') || strcmp(e->d_name, ".") == 0 ||
        strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(item, sizeof item, "%s%s", dir, e->d_name);
    struct stat st;
    int is_dir = stat(item, &st) == 0 && S_ISDIR(st.st_mode);
    if (is_dir)
      strncat(item, "/", sizeof item - strlen(item) - 1);
    if (is_dir || has_suffix(e->d_name, suffix))
      offer(x, item);
  }
  if (d)
    closedir(d);
}

static void offer_programs(Context *x) {
  static const char *const programs[] = {"train", "infer", NULL};
  offer_all(x, programs);
  const char **layers = session_layer_names(x->s, 1);
  char item[160];
  for (int i = 0; layers && layers[i]; i++) {
    snprintf(item, sizeof item, "pretrain:%s", layers[i]);
    offer(x, item);
  }
  free(layers);
}

/* ir's options and their values come from its table (ir_print.c, the
 * one `ir` parses with): an option's allowed values after it, else the
 * options; --program's values are the session's programs. */
static void offer_ir(Context *x, const char *before) {
  const SrOption *o = sr_opt_find(&ir_options, before);
  if (o && o->kind == SR_OPT_ENUM) {
    for (int i = 0; sr_opt_value(o, i); i++)
      offer(x, sr_opt_value(o, i));
  } else if (o && o->kind == SR_OPT_STRING && strcmp(before, "--program") == 0) {
    offer_programs(x);
  } else if (o && o->kind == SR_OPT_FILE) {
    offer_files(x, "");
  } else if (!o || o->kind == SR_OPT_FLAG) {
    const char **names = sr_opt_names(&ir_options);
    if (names)
      offer_all(x, names);
    free(names);
  }
}

/* The arguments of command words[0]; the word being completed is words[n]. */
static void offer_arguments(Context *x, char **words, int n) {
  static const char *const parts[] = {"valid", "test", "train", NULL};
  static const char *const shows[] = {"model", "spec", NULL};
  static const char *const units[] = {"epochs", "steps", NULL};
  static const char *const formats[] = {"--onnx", NULL};
  const char *cmd = words[0];
  if (strcmp(cmd, "set") == 0 && n == 1)
    offer_paths(x);
  else if (strcmp(cmd, "set") == 0)
    offer_values(x, words[1]);
  else if (strcmp(cmd, "unset") == 0 && n == 1)
    offer_paths(x);
  else if (strcmp(cmd, "help") == 0 && n == 1)
    offer_all(x, repl_command_names());
  else if (strcmp(cmd, "pretrain") == 0 && n == 1)
    offer_layers(x, 1);
  else if ((strcmp(cmd, "eval") == 0 || strcmp(cmd, "sparsity") == 0) && n == 1)
    offer_all(x, parts);
  else if (strcmp(cmd, "show") == 0 && n == 1)
    offer_all(x, shows);
  else if (strcmp(cmd, "train") == 0 && n == 2)
    offer_all(x, units);
  else if (strcmp(cmd, "ir") == 0)
    offer_ir(x, words[n - 1]);
  else if (strcmp(cmd, "load") == 0)
    offer_files(x, ".spn");
  else if (strcmp(cmd, "save") == 0 || strcmp(cmd, "restore") == 0)
    offer_files(x, ".safetensors");
  else if (strcmp(cmd, "export") == 0 && n == 1)
    offer_all(x, formats);
  else if (strcmp(cmd, "export") == 0 && n == 2)
    offer_files(x, ".onnx");
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_unique(Completion *c) {
  if (c->n > 1) /* qsort must not see the NULL of an empty list */
    qsort(c->items, c->n, sizeof *c->items, by_name);
  int n = 0;
  for (int i = 0; i < c->n; i++) {
    if (n > 0 && strcmp(c->items[n - 1], c->items[i]) == 0)
      free(c->items[i]);
    else
      c->items[n++] = c->items[i];
  }
  c->n = n;
}

void repl_complete(const Session *s, const char *line, Completion *c) {
  memset(c, 0, sizeof *c);
  ReplLine l;
  if (repl_line_split(&l, line, 0) != 0) {
    repl_line_free(&l);
    return;
  }
  size_t len = strlen(line);
  int fresh = len == 0 || isspace((unsigned char)line[len - 1]); /* a new word begins */
  int n = fresh ? l.nwords : l.nwords - 1;
  c->start = fresh ? (int)len : l.col[n];
  Context x = {.s = s, .word = fresh ? "" : l.words[n], .c = c};
  if (n == 0) {
    offer_all(&x, repl_command_names());
    offer_all(&x, spec_block_names());
  } else {
    offer_arguments(&x, l.words, n);
  }
  sort_unique(c);
  repl_line_free(&l);
}

void completion_free(Completion *c) {
  for (int i = 0; i < c->n; i++)
    free(c->items[i]);
  free(c->items);
  memset(c, 0, sizeof *c);
}
