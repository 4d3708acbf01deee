/* Static pruning for deployment (ir/passes/prune_dead.c, backend/dead_units.c):
 * units dead on a data set are found by running the trained model, cut
 * from a smaller inference module, and that module answers exactly as the
 * original does on the same data. */
#include <criterion/criterion.h>

#include "support.h"

enum { INPUT = 12, ROWS = 8, EXAMPLES = 48 };

static Module *build(const Spec *s) {
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  PassOptions o = {.enabled = 1};
  cr_assert_eq(optimise_module(m, &o, err, sizeof err), 0, "%s", err);
  return m;
}

/* Unit u of hidden layer l never fires on nonnegative inputs: every
 * incoming weight negative, bias -1. */
static void kill_unit(const Module *m, void **slots, int l, int u) {
  const LayerParams *lp = &m->layers[l];
  float *w = slots[lp->w], *b = slots[lp->b];
  int units = m->values[lp->w].cols;
  for (int i = 0; i < lp->in_width; i++)
    w[(size_t)i * units + u] = -fabsf(w[(size_t)i * units + u]) - 0.1f;
  b[u] = -1;
}

static void fill_data(SrDataset *d, int classes) {
  SrRng rng;
  sr_rng_seed(&rng, 17);
  d->n = EXAMPLES;
  d->dim = INPUT;
  d->x = malloc(sizeof(float) * EXAMPLES * INPUT);
  d->y = malloc(sizeof(int32_t) * EXAMPLES);
  d->owns = 1;
  for (int i = 0; i < EXAMPLES * INPUT; i++)
    d->x[i] = (float)sr_rng_uniform(&rng); /* nonnegative, as pixels */
  for (int i = 0; i < EXAMPLES; i++)
    d->y[i] = (int32_t)sr_rng_below(&rng, (uint32_t)classes);
}

typedef struct Compiled {
  Module *m;
  Jit *jit;
  TestState t;
} Compiled;

static void compile(Compiled *c, Module *m) {
  char err[512];
  c->m = m;
  c->jit = jit_compile(m, err, sizeof err);
  cr_assert_not_null(c->jit, "%s", err);
  cr_assert_eq(test_state_init_planned(&c->t, m, ROWS, 3), 0);
  c->t.model.infer = jit_infer(c->jit);
}

static void compiled_free(Compiled *c) {
  test_state_free(&c->t);
  jit_free(c->jit);
  module_free(c->m);
}

static void infer_batch(Compiled *c, const SrDataset *d, int from) {
  memcpy(c->t.st.slots[c->m->x], d->x + (size_t)from * INPUT, sizeof(float) * ROWS * INPUT);
  memcpy(c->t.st.slots[c->m->y], d->y + from, sizeof(int32_t) * ROWS);
  c->t.model.infer(c->t.st.slots, ROWS);
}

Test(prune_dead, pruned_inference_equals_the_original_on_its_data) {
  int widths[] = {20, 15, 4};
  Spec *s = test_spec(INPUT, widths, 3, 0.001, 0.1);
  Compiled orig, small;
  compile(&orig, build(s));
  const int dead1[] = {3, 7, 19}, dead2[] = {0, 14};
  for (int k = 0; k < 3; k++)
    kill_unit(orig.m, orig.t.st.slots, 0, dead1[k]);
  for (int k = 0; k < 2; k++)
    kill_unit(orig.m, orig.t.st.slots, 1, dead2[k]);
  SrDataset d;
  fill_data(&d, orig.m->classes);

  int32_t counts1[20], counts2[15], *active[2] = {counts1, counts2};
  SrError err;
  cr_assert_eq(dead_unit_activity(orig.m, &orig.t.model, &orig.t.st, &d, active, &err), 0, "%s",
               err.msg);
  int dead[2] = {0, 0};
  for (int u = 0; u < 20; u++)
    dead[0] += counts1[u] == 0;
  for (int u = 0; u < 15; u++)
    dead[1] += counts2[u] == 0;
  for (int k = 0; k < 3; k++)
    cr_expect_eq(counts1[dead1[k]], 0, "h1 unit %d fired", dead1[k]);
  for (int k = 0; k < 2; k++)
    cr_expect_eq(counts2[dead2[k]], 0, "h2 unit %d fired", dead2[k]);

  PrunedModule p;
  char msg[512];
  cr_assert_eq(prune_dead_units(s, orig.m, (const int32_t *const *)active, &p, msg, sizeof msg), 0,
               "%s", msg);
  cr_expect_eq(p.dead[0], dead[0]);
  cr_expect_eq(p.dead[1], dead[1]);
  long kept1 = 20 - dead[0], kept2 = 15 - dead[1];
  cr_expect_eq(p.bytes_before, 4 * ((INPUT + 1) * 20 + 21 * 15 + 16 * 4));
  cr_expect_eq(p.bytes_after, 4 * ((INPUT + 1) * kept1 + (kept1 + 1) * kept2 + (kept2 + 1) * 4));
  PassOptions o = {.enabled = 1};
  cr_assert_eq(optimise_module(p.m, &o, msg, sizeof msg), 0, "%s", msg);
  compile(&small, p.m);
  p.m = NULL; /* small owns it now */
  prune_copy_weights(&p, orig.m, orig.t.st.slots, small.t.st.slots);

  for (int from = 0; from + ROWS <= EXAMPLES; from += ROWS) {
    infer_batch(&orig, &d, from);
    infer_batch(&small, &d, from);
    double diff = max_rel_diff(small.t.st.slots[small.m->probs], orig.t.st.slots[orig.m->probs],
                               (size_t)ROWS * orig.m->classes, 1e-6);
    cr_expect_leq(diff, 1e-5, "batch at %d: probabilities differ by %g", from, diff);
    float l0 = *(float *)orig.t.st.slots[orig.m->head_loss];
    float l1 = *(float *)small.t.st.slots[small.m->head_loss];
    cr_expect_leq(fabsf(l0 - l1), 1e-5f * fmaxf(1, fabsf(l0)), "loss %g vs %g", l0, l1);
    for (int h = 0; h < 2; h++) { /* the dead units' zeros are gone, nothing else */
      float z0 = *(float *)orig.t.st.slots[orig.m->hidden[h].zeros];
      float z1 = *(float *)small.t.st.slots[small.m->hidden[h].zeros];
      cr_expect_eq(z0 - z1, (float)(ROWS * dead[h]), "h%d zeros %g vs %g", h + 1, z0, z1);
    }
  }
  pruned_module_free(&p);
  compiled_free(&orig);
  compiled_free(&small);
  sr_dataset_free(&d);
  test_spec_free(s);
}

Test(prune_dead, a_layer_dead_everywhere_keeps_one_silent_unit) {
  int widths[] = {6, 5, 3};
  Spec *s = test_spec(4, widths, 3, 0, 0.1);
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  int32_t a1[6] = {0}, a2[5] = {1, 0, 2, 0, 3}, *active[2] = {a1, a2};
  PrunedModule p;
  cr_assert_eq(prune_dead_units(s, m, (const int32_t *const *)active, &p, err, sizeof err), 0, "%s",
               err);
  cr_expect_eq(p.dead[0], 6);
  cr_expect_eq(p.dead[1], 2);
  cr_expect_eq(p.m->values[p.m->layers[0].w].cols, 1, "one unit stays: a layer has a width");
  cr_expect_eq(p.m->values[p.m->layers[1].w].rows, 1);
  cr_expect_eq(p.m->values[p.m->layers[1].w].cols, 3);
  cr_expect_eq(p.m->values[p.m->layers[2].w].rows, 3);
  pruned_module_free(&p);
  module_free(m);
  test_spec_free(s);
}
