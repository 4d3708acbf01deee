/* What `sparsec ir` and the REPL's `ir` command print: the module's values
 * and programs after any pass, or the numbers that show what the optimiser
 * did; and the options that choose it. */
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "ir.h"

void ir_list_passes(FILE *out) {
  for (const Pass *ps = pass_table; ps->name; ps++)
    fprintf(out, "  %-16s %-9s %s\n", ps->name, pass_level_name(ps->level), ps->description);
}

/* --after PASS: the pass's name, which the optimiser stops after. */
static int set_after(void *where, const SrOption *opt, const SrOptValue *v, SrOptError *err) {
  (void)opt, (void)err;
  *(const char **)where = pass_table[v->index].name;
  return 0;
}

static const SrOption ir_option_list[] = {
    {"program", 0, SR_OPT_STRING, "NAME",
     "print only this program: train, infer or\npretrain:LAYER (a stage of the pretrain block)",
     .offset = offsetof(IrOptions, program)},
    {"after", 0, SR_OPT_ENUM, "PASS", "stop the optimiser after PASS (the passes below)",
     .values = (const char *const *)(const void *)pass_table, .values_stride = sizeof(Pass),
     .offset = offsetof(IrOptions, passes.stop_after), .set = set_after},
    PASSES_OPTION(IrOptions, passes,
                  "none: print the programs as derived, unoptimised;\n"
                  "dense: optimise, but keep every product dense"),
    {"data-parallel", 0, SR_OPT_FLAG, NULL,
     "also the split steps that mpirun trains with\n(train_grads, apply_updates; docs/parallel.md)",
     .offset = offsetof(IrOptions, passes.data_parallel)},
    {"stats", 0, SR_OPT_FLAG, NULL,
     "kernels, passes over activation memory outside the\n"
     "dense products, and planned peak memory, before and after",
     .offset = offsetof(IrOptions, stats)},
    {0}};

const SrOptTable ir_options = {.command = "ir", .options = ir_option_list};

static void print_memory_plan(const Module *m, int rows, FILE *out) {
  MemoryPlan plan;
  if (plan_memory(m, rows, &plan) != 0)
    return;
  fprintf(out, "\n# memory plan for batch %d: arena %ld bytes (%ld with a buffer per temporary)\n",
          rows, plan.arena_bytes, plan.unplanned_bytes);
  for (int v = 0; v < m->nvalues; v++)
    if (plan.offset[v] >= 0)
      fprintf(out, "#   %-16s @ %ld\n", m->values[v].name, plan.offset[v]);
  memory_plan_free(&plan);
}

static void print_stats_line(const char *when, const Module *m, const Program *p, int rows,
                             FILE *out) {
  ProgramStats st;
  program_stats(m, p, rows, &st);
  fprintf(out, "  %-7s %3d kernels (%d dense products", when, st.kernels, st.dense_products);
  if (st.sparse_products)
    fprintf(out, ", %d sparse", st.sparse_products);
  fprintf(out, "), %3d passes over activation memory", st.activation_passes);
  for (int h = 0; h < m->nhidden; h++)
    fprintf(out, "%s%s %d", h ? ", " : " [per hidden output: ", m->hidden[h].name,
            st.hidden_passes[h]);
  fprintf(out, "%s; temporaries %.2f MB\n", m->nhidden ? "]" : "", st.temp_bytes / 1e6);
}

/* Before: the derived programs; after: optimised as asked, with the plan. */
static void print_stats(const Module *before, const Module *after, int rows, FILE *out) {
  MemoryPlan plan = {0}, raw = {0};
  long arena = plan_memory(after, rows, &plan) == 0 ? plan.arena_bytes : -1;
  long unplanned = plan_memory(before, rows, &raw) == 0 ? raw.unplanned_bytes : -1;
  memory_plan_free(&plan);
  memory_plan_free(&raw);
  const Program *b[2 + SPEC_MAX_LAYERS], *a[2 + SPEC_MAX_LAYERS];
  int n = module_programs(before, b);
  module_programs(after, a);
  for (int k = 0; k < n; k++) {
    fprintf(out, "%s (batch %d):\n", a[k]->name, rows);
    print_stats_line("before", before, b[k], rows, out);
    print_stats_line("after", after, a[k], rows, out);
  }
  fprintf(out,
          "peak memory for temporaries: %.2f MB unoptimised with a buffer each, %.2f MB "
          "optimised and planned in one arena (shared by all programs: they never run at once)\n",
          unplanned / 1e6, arena / 1e6);
}

/* train, infer or pretrain:LAYER; NULL after a message if there is none. */
static const Program *find_program(const Module *m, const char *name, FILE *err) {
  const Program *p[2 + SPEC_MAX_LAYERS];
  int n = module_programs(m, p);
  for (int i = 0; i < n; i++) {
    const char *pname = p[i]->name;
    if (strcmp(pname, name) == 0 ||
        (strncmp(name, "pretrain:", 9) == 0 && strncmp(pname, "pretrain_", 9) == 0 &&
         strcmp(pname + 9, name + 9) == 0))
      return p[i];
  }
  fprintf(err, "sparsec: no program '%s'; this spec has:", name);
  for (int i = 0; i < n; i++)
    fprintf(err, " %s", p[i]->name);
  fputc('\n', err);
  return NULL;
}

static Module *build(const Spec *spec, const PassOptions *passes, FILE *err) {
  char msg[512];
  Module *m = module_build(spec, msg, sizeof msg);
  if (m && optimise_module(m, passes, msg, sizeof msg) != 0) {
    module_free(m);
    m = NULL;
  }
  if (!m)
    fprintf(err, "sparsec: %s\n", msg);
  return m;
}

int ir_print(const Spec *spec, const IrOptions *o, FILE *out, FILE *err) {
  PassOptions none = {0};
  Module *m = build(spec, &o->passes, err);
  Module *raw = m && o->stats ? build(spec, &none, err) : NULL;
  int rc = m && (!o->stats || raw) ? 0 : 1;
  if (rc == 0 && o->stats) {
    print_stats(raw, m, spec->train.batch, out);
  } else if (rc == 0 && o->program) {
    const Program *p = find_program(m, o->program, err);
    if (p)
      print_program(m, p, out);
    rc = p ? 0 : 1;
  } else if (rc == 0) {
    print_module(m, out);
    const char *after = o->passes.stop_after;
    if (o->passes.enabled && after && strcmp(after, "plan-memory") == 0)
      print_memory_plan(m, spec->train.batch, out);
  }
  module_free(raw);
  module_free(m);
  return rc;
}
