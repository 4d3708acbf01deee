/* check.c: AST -> Spec, the driver. Finds the blocks, runs each one's
 * checker (check_<block>.c), and checks statements against a block's table
 * of settings. The model goes first whatever the order in the file, since
 * pretrain refers to its layers; the rest follow in reading order. */
#include "check_internal.h"

typedef struct BlockKind {
  const char *name;
  void (*check)(Checker *c, const Block *b);
  const BlockRules *rules;
  int required;
} BlockKind;

static const BlockKind block_kinds[] = {
  {"model", check_model, &model_rules, 1},
  {"pretrain", check_pretrain, &pretrain_rules, 0},
  {"train", check_train, &train_rules, 1},
  {"data", check_data, &data_rules, 1},
  {"output", check_output, &output_rules, 0},
};

#define NUM_BLOCK_KINDS (int)(sizeof block_kinds / sizeof *block_kinds)

const char *const language_blocks[] = {"model", "pretrain", "train", "data", "output", NULL};

/* ---- the names, for --set paths --------------------------------------------- */

static int setting_keys(const Setting *table, const char **keys) {
  int n = 0;
  for (; table[n].key && n < MAX_SETTINGS; n++)
    keys[n] = table[n].key;
  keys[n] = NULL;
  return n;
}

static const BlockRules *rules_of(const char *block, int per_layer) {
  int k = find_name(block, language_blocks);
  if (k < 0)
    return NULL;
  if (per_layer)
    return strcmp(block, "pretrain") == 0 ? &pretrain_layer_rules : NULL;
  return block_kinds[k].rules;
}

int language_settings(const char *block, int per_layer, const char **names) {
  const BlockRules *rules = rules_of(block, per_layer);
  if (!rules)
    return 0;
  setting_keys(rules->settings, names);
  return 1;
}

static int setting_flags(const char *block, const char *key) {
  const BlockRules *rules = rules_of(block, 0);
  for (int i = 0; rules && rules->settings[i].key; i++)
    if (strcmp(rules->settings[i].key, key) == 0)
      return rules->settings[i].flags;
  return 0;
}

int language_takes_set(const char *block, const char *key) {
  return (setting_flags(block, key) & TAKES_SET) != 0;
}

int language_takes_string(const char *block, const char *key) {
  return (setting_flags(block, key) & TAKES_STRING) != 0;
}

int language_takes_path(const char *block, const char *key) {
  return (setting_flags(block, key) & (TAKES_STRING | TAKES_FILES)) != 0;
}

/* ---- statements ------------------------------------------------------------- */

static void check_setting(Checker *c, const Block *b, const Setting *table, const Stmt *s,
                          const Stmt **seen) {
  const char *keys[MAX_SETTINGS + 1];
  setting_keys(table, keys);
  int i = find_name(s->name, keys);
  if (i < 0) {
    diag_error(c->diag, s->name_loc, "unknown setting '%s' in '%s' block", s->name, b->name);
    diag_suggest(c->diag, s->name_loc, s->name, keys);
    return;
  }
  if (seen[i]) {
    diag_error(c->diag, s->name_loc, "duplicate setting '%s'", s->name);
    diag_note(c->diag, seen[i]->name_loc, "first defined here");
    return;
  }
  seen[i] = s;
  if (s->kind == STMT_IN && !(table[i].flags & TAKES_SET)) {
    diag_error(c->diag, s->name_loc, "'%s' takes one value: write '%s = VALUE', not 'in'",
               s->name, s->name);
    return;
  }
  char what[WHAT_LEN];
  snprintf(what, sizeof what, "'%s'", s->name);
  table[i].check(c, s, what);
}

static void unexpected_block(Checker *c, const Block *b, const Stmt *s) {
  diag_error(c->diag, s->name_loc, "unexpected block '%s' inside the '%s' block", s->name,
             b->name);
  if (find_name(s->name, language_blocks) >= 0)
    diag_note(c->diag, s->name_loc, "is a '}' missing before this block?");
}

void check_statements(Checker *c, const Block *b, const BlockRules *rules) {
  const Stmt *seen[MAX_SETTINGS] = {NULL};
  for (int i = 0; i < b->nstmts; i++) {
    const Stmt *s = &b->stmts[i];
    if (s->kind == STMT_BLOCK) {
      if (rules->nested)
        rules->nested(c, s);
      else
        unexpected_block(c, b, s);
    } else if (s->keyword) {
      if (rules->layer)
        rules->layer(c, s);
      else
        diag_error(c->diag, loc_head(s->loc, (int)strlen(s->keyword)),
                   "layers belong in the 'model' block");
    } else {
      check_setting(c, b, rules->settings, s, seen);
    }
  }
  for (int i = 0; rules->settings[i].key; i++)
    if ((rules->settings[i].flags & REQUIRED) && !seen[i])
      diag_error(c->diag, b->loc, "missing setting '%s' in '%s' block", rules->settings[i].key,
                 b->name);
}

/* ---- whole spec ------------------------------------------------------------- */

/* "runs/mnist.spn" -> "mnist" */
static char *spec_name(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 4 && strcmp(base + n - 4, ".spn") == 0)
    n -= 4;
  char *name = xrealloc(NULL, n + 1);
  memcpy(name, base, n);
  name[n] = '\0';
  return name;
}

/* Everything that has a default, set before checking. */
static Spec *spec_new(Source *src) {
  Spec *spec = xcalloc(1, sizeof *spec);
  spec->src = src;
  spec->name = spec_name(src->path);
  spec->loss = LOSS_NLL;
  spec->train.seed = 1;
  spec->train.seeds = 1;
  spec->train.nlrs = 1;
  spec->data.scale = 1;
  spec->output.progress = -1;
  spec->output.save_every = 1;
  return spec;
}

/* The block of each kind, reporting unknown and repeated ones; missing ones
 * are reported after everything that is there. */
static void find_blocks(Checker *c, const Ast *ast, const Block **found) {
  for (int i = 0; i < ast->nblocks; i++) {
    const Block *b = &ast->blocks[i];
    int k = find_name(b->name, language_blocks);
    if (k < 0) {
      diag_error(c->diag, b->loc, "unknown block '%s'", b->name);
      diag_suggest(c->diag, b->loc, b->name, language_blocks);
    } else if (found[k]) {
      diag_error(c->diag, b->loc, "duplicate '%s' block", b->name);
      diag_note(c->diag, found[k]->loc, "first defined here");
    } else {
      found[k] = b;
    }
  }
}

static void check_blocks(Checker *c, const Ast *ast) {
  const Block *found[NUM_BLOCK_KINDS] = {NULL};
  find_blocks(c, ast, found);
  if (found[0]) {
    c->have_model = 1;
    check_model(c, found[0]);
  }
  for (int i = 0; i < ast->nblocks; i++) {
    for (int k = 1; k < NUM_BLOCK_KINDS; k++)
      if (found[k] == &ast->blocks[i])
        block_kinds[k].check(c, found[k]);
  }
  for (int k = 0; k < NUM_BLOCK_KINDS; k++)
    if (!found[k] && block_kinds[k].required)
      diag_error(c->diag, (Loc){1, 1, 1, NULL}, "missing '%s' block", block_kinds[k].name);
}

Spec *check_ast(const Ast *ast, Source *src, const char *spec_dir, Diag *diag) {
  Checker c = {.diag = diag, .src = src, .spec_dir = spec_dir, .spec = spec_new(src)};
  check_blocks(&c, ast);
  if (diag->errors == 0)
    return c.spec;
  c.spec->src = NULL;  /* the caller still owns it */
  spec_free(c.spec);
  return NULL;
}
