/* The optimiser: each pass's rewrite, and optimised programs against the
 * unoptimised ones they came from (reference interpreter), then generated
 * code against the interpreter on the optimised programs. */
#include <criterion/criterion.h>

#include "support.h"

static Module *build_opt(const Spec *s, int optimise) {
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  PassOptions o = {.enabled = optimise};
  cr_assert_eq(optimise_module(m, &o, err, sizeof err), 0, "%s", err);
  return m;
}

static int count_ops(const Program *p, OpKind kind) {
  int n = 0;
  for (int i = 0; i < p->nops; i++)
    n += p->ops[i].kind == kind;
  return n;
}

static Spec *paper_like(double l1) {
  int widths[] = {30, 30, 30, 10};
  return test_spec(40, widths, 4, l1, 0.05);
}

/* fuse-relu alone: sparse-products adds a pass over each hidden output
 * (its active list; tests/test_sparse.c counts that one) */
static Module *build_dense(const Spec *s) {
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  PassOptions o = {.enabled = 1, .dense_only = 1};
  cr_assert_eq(optimise_module(m, &o, err, sizeof err), 0, "%s", err);
  return m;
}

Test(fuse_relu, fuses_each_hidden_layer_both_ways) {
  Spec *s = paper_like(0.001);
  Module *m = build_dense(s);
  cr_expect_eq(count_ops(&m->train, OP_BIAS_ACT), 3);
  cr_expect_eq(count_ops(&m->train, OP_BIAS_ACT_GRAD), 3);
  cr_expect_eq(count_ops(&m->train, OP_ACT), 0);
  cr_expect_eq(count_ops(&m->train, OP_ACT_GRAD), 0);
  cr_expect_eq(count_ops(&m->train, OP_L1_GRAD), 0);
  cr_expect_eq(count_ops(&m->train, OP_L1), 0);
  cr_expect_eq(count_ops(&m->infer, OP_BIAS_ACT), 3);
  cr_expect_eq(count_ops(&m->infer, OP_COUNT_ZERO), 0);
  ProgramStats st;
  program_stats(m, &m->train, 10, &st);
  for (int h = 0; h < 3; h++)
    cr_expect_leq(st.hidden_passes[h], 2, "%s: %d passes", m->hidden[h].name, st.hidden_passes[h]);
  module_free(m);
  test_spec_free(s);
}

Test(fuse_relu, reduces_passes_over_activations) {
  Spec *s = paper_like(0.001);
  Module *raw = build_opt(s, 0), *opt = build_opt(s, 1);
  ProgramStats a, b;
  program_stats(raw, &raw->train, 10, &a);
  program_stats(opt, &opt->train, 10, &b);
  cr_expect_lt(b.activation_passes, a.activation_passes);
  cr_expect_lt(b.kernels, a.kernels);
  cr_expect_eq(a.hidden_passes[0], 4, "relu, l1, l1_grad, relu_grad read or write h1");
  module_free(raw);
  module_free(opt);
  test_spec_free(s);
}

Test(prune_zero, removes_a_written_zero_penalty_and_folds_the_sum) {
  Spec *s = paper_like(0);
  s->layers[1].l1_loc.line = 1; /* `l1 = 0` written for h2: emitted, then pruned */
  s->layers[1].l2_loc.line = 1;
  Module *raw = build_opt(s, 0);
  cr_expect_eq(count_ops(&raw->train, OP_L1), 1);
  cr_expect_eq(count_ops(&raw->train, OP_L2), 1);
  module_free(raw);
  Module *m = build_opt(s, 1);
  cr_expect_eq(count_ops(&m->train, OP_L1) + count_ops(&m->train, OP_L2), 0);
  cr_expect_eq(count_ops(&m->train, OP_L1_GRAD) + count_ops(&m->train, OP_L2_GRAD), 0);
  cr_expect_eq(count_ops(&m->train, OP_ADD), 0);
  cr_expect_eq(m->train_loss, m->head_loss);
  module_free(m);
  test_spec_free(s);
}

/* ---- optimised == unoptimised -------------------------------------------- */

typedef struct Run {
  Module *m;
  TestState t;
} Run;

static void run_init(Run *r, const Spec *s, int optimise, int rows, uint64_t seed) {
  r->m = build_opt(s, optimise);
  /* optimised programs also run on planned memory, as `sparsec run` does */
  if (optimise)
    cr_assert_eq(test_state_init_planned(&r->t, r->m, rows, seed), 0);
  else
    cr_assert_eq(test_state_init(&r->t, r->m, rows, seed), 0);
  SrRng rng;
  sr_rng_seed(&rng, seed + 3);
  fill_batch(r->t.st.slots, r->m, rows, &rng);
}

static void run_free(Run *r) {
  test_state_free(&r->t);
  module_free(r->m);
}

static void expect_same_values(Run *a, Run *b, const int *values, int n, int rows, const char *what) {
  for (int k = 0; k < n; k++) {
    int v = values[k];
    size_t count = value_count(a->m, v, rows);
    double d = max_rel_diff(a->t.st.slots[v], b->t.st.slots[v], count, 1e-6);
    cr_expect_leq(d, 1e-5, "%s: %s differs by %g", what, a->m->values[v].name, d);
  }
}

static void expect_same_params(Run *a, Run *b, int rows) {
  for (int v = 0; v < a->m->nvalues; v++)
    if (a->m->values[v].kind == VAL_PARAM || a->m->values[v].kind == VAL_STATE)
      expect_same_values(a, b, &v, 1, rows, "after train");
}

/* Two modules from the same spec share value numbering for everything the
 * unoptimised build created, so slots line up. */
static void compare_optimised(const Spec *s, int rows, uint64_t seed, int use_jit) {
  Run raw, opt;
  run_init(&raw, s, 0, rows, seed);
  run_init(&opt, s, 1, rows, seed);
  Jit *jit = NULL;
  if (use_jit) {
    char err[512];
    jit = jit_compile(opt.m, err, sizeof err);
    cr_assert_not_null(jit, "%s", err);
  }
  for (int step = 0; step < 3; step++) {
    interp_run(raw.m, &raw.m->infer, raw.t.st.slots, rows);
    if (jit)
      jit_infer(jit)(opt.t.st.slots, rows);
    else
      interp_run(opt.m, &opt.m->infer, opt.t.st.slots, rows);
    expect_same_values(&opt, &raw, opt.m->infer.live, opt.m->infer.nlive, rows, "infer");
    interp_run(raw.m, &raw.m->train, raw.t.st.slots, rows);
    if (jit)
      jit_train_step(jit)(opt.t.st.slots, rows);
    else
      interp_run(opt.m, &opt.m->train, opt.t.st.slots, rows);
    expect_same_values(&opt, &raw, opt.m->train.live, opt.m->train.nlive, rows, "train");
    expect_same_params(&opt, &raw, rows);
  }
  jit_free(jit);
  run_free(&raw);
  run_free(&opt);
}

static void every_configuration(int use_jit) {
  Activation acts[ACT_COUNT_];
  int nacts = hidden_activations(acts);
  const Loss losses[] = {LOSS_NLL, LOSS_CROSS_ENTROPY, LOSS_SQUARED_ERROR};
  int widths[] = {17, 12, 9, 4};
  for (int a = 0; a < nacts; a++)
    for (int l = 0; l < 3; l++) {
      NetOptions o = {.act = acts[a], .loss = losses[l], .l1 = (a + l) % 2 ? 0.01 : 0,
                      .l2 = l == 1 ? 0.001 : 0, .momentum = a == 2 ? 0.9 : 0,
                      .sign_trick = a == 0 && l == 2};
      Spec *s = test_spec_with(11, widths, 4, &o, 0.1);
      compare_optimised(s, 1 + (a * 3 + l) % 7, 200 + a * 3 + l, use_jit);
      test_spec_free(s);
    }
}

Test(optimised, equals_unoptimised_in_the_interpreter) {
  every_configuration(0);
}

Test(optimised, jit_equals_unoptimised_interpreter) {
  every_configuration(1);
}

/* ---- plan-memory ---------------------------------------------------------- */

Test(plan_memory, arena_is_smaller_and_never_overlaps_live_values) {
  Spec *s = paper_like(0.001);
  Module *m = build_opt(s, 1);
  MemoryPlan plan;
  cr_assert_eq(plan_memory(m, 10, &plan), 0);
  cr_expect_lt(plan.arena_bytes, plan.unplanned_bytes);
  /* brute force: in each program, values live at the same op are disjoint */
  const Program *progs[] = {&m->train, &m->infer};
  for (int k = 0; k < 2; k++) {
    const Program *p = progs[k];
    for (int i = 0; i < p->nops; i++) {
      /* the values live across op i: defined at or before i and read at or after i */
      for (int u = 0; u < m->nvalues; u++)
        for (int v = u + 1; v < m->nvalues; v++) {
          if (plan.offset[u] < 0 || plan.offset[v] < 0)
            continue;
          int du = program_def(p, u), dv = program_def(p, v);
          if (du < 0 || dv < 0 || du > i || dv > i)
            continue;
          int lu = 0, lv = 0;
          for (int j = i; j < p->nops; j++)
            for (int q = 0; q < p->ops[j].nin; q++) {
              lu |= p->ops[j].in[q] == u;
              lv |= p->ops[j].in[q] == v;
            }
          for (int q = 0; q < p->nlive; q++) {
            lu |= p->live[q] == u;
            lv |= p->live[q] == v;
          }
          if (!lu || !lv)
            continue;
          long su = value_count(m, u, 10) * 4, sv = value_count(m, v, 10) * 4;
          int disjoint = plan.offset[u] + su <= plan.offset[v] || plan.offset[v] + sv <= plan.offset[u];
          cr_expect(disjoint, "%s and %s overlap at op %d of %s", m->values[u].name,
                    m->values[v].name, i, p->name);
        }
    }
  }
  memory_plan_free(&plan);
  module_free(m);
  test_spec_free(s);
}

/* ---- the pass table (ir.h): the one list of passes -------------------------- */

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  char *text = calloc(1, 1 << 20);
  size_t n = fread(text, 1, (1 << 20) - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* docs/ir.md's table is pass_table's rows verbatim, in order, and no more. */
Test(pass_table, is_docs_ir_md_table) {
  char *doc = read_text(SPARSEC_DOCS "/ir.md");
  const char *head = "| pass | level | what it does |\n| --- | --- | --- |\n";
  const char *at = strstr(doc, head);
  cr_assert_not_null(at, "docs/ir.md has no pass table");
  at += strlen(head);
  for (const Pass *ps = pass_table; ps->name; ps++) {
    char row[512];
    snprintf(row, sizeof row, "| `%s` | %s | %s |\n", ps->name, pass_level_name(ps->level),
             ps->description);
    cr_assert(strncmp(at, row, strlen(row)) == 0,
              "docs/ir.md: expected the row\n%sbut found\n%.200s", row, at);
    at += strlen(row);
  }
  cr_expect(*at == '\n', "docs/ir.md's pass table has rows pass_table lacks:\n%.200s", at);
  free(doc);
}

/* `sparsec ir --after` takes every name, and --help lists each description. */
Test(pass_table, after_takes_every_pass) {
  for (const Pass *ps = pass_table; ps->name; ps++) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s ir --after %s %s/toy_xor.spn > /dev/null 2>&1", SPARSEC_BINARY,
             ps->name, SPARSEC_EXAMPLES);
    cr_expect_eq(system(cmd), 0, "%s", cmd);
    cr_expect_eq(pass_find(ps->name), ps);
  }
  cr_expect_null(pass_find("fuse-rleu"));
  FILE *help = popen(SPARSEC_BINARY " ir --help", "r");
  cr_assert_not_null(help);
  char *text = calloc(1, 1 << 16);
  size_t n = fread(text, 1, (1 << 16) - 1, help);
  text[n] = '\0';
  cr_expect_eq(pclose(help), 0);
  for (const Pass *ps = pass_table; ps->name; ps++) {
    cr_expect(strstr(text, ps->name) != NULL, "--help lacks %s:\n%s", ps->name, text);
    cr_expect(strstr(text, ps->description) != NULL, "--help lacks %s's description", ps->name);
  }
  free(text);
}
