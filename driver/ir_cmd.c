/* sparsec ir FILE: the module's values and its derived programs as text,
 * after any pass, with the numbers that show what the optimiser did. */
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "ir.h"

typedef struct IrArgs {
  SpecArgs spec;
  const char *program; /* train, infer, or NULL for both */
  PassOptions passes;
  int stats;
} IrArgs;

static int usage(FILE *out, int status) {
  fputs("usage: sparsec ir [options] FILE.spn\n"
        "Prints the module's values, then its programs (docs/ir.md) after optimisation.\n"
        "  --program NAME          print only this program: train, infer or\n"
        "                          pretrain:LAYER (a stage of the pretrain block)\n"
        "  --after PASS            stop the optimiser after PASS (prune-zero, fuse-relu,\n"
        "                          fuse-sgd, schedule-updates, dce, plan-memory)\n"
        "  --passes none           print the programs as derived, unoptimised\n"
        "  --stats                 kernels, passes over activation memory outside the\n"
        "                          dense products, and planned peak memory, before and after\n"
        "  --set PATH=VALUE        override a setting of the spec\n",
        out);
  return status;
}

static int known_pass(const char *name) {
  for (int i = 0; pass_names[i]; i++)
    if (strcmp(pass_names[i], name) == 0)
      return 1;
  return 0;
}

/* Options with a value: `--flag VALUE`; NULL (after a message) if missing. */
static const char *value_of(int argc, char **argv, int *i) {
  if (*i + 1 < argc)
    return argv[++*i];
  fprintf(stderr, "sparsec: %s needs a value\n", argv[*i]);
  return NULL;
}

/* 0 when parsed, 1 for --help, -1 after a message. */
static int parse(IrArgs *a, int argc, char **argv) {
  a->passes.enabled = 1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    int taken = spec_args_take(&a->spec, argc, argv, &i);
    if (taken < 0)
      return -1;
    if (taken)
      continue;
    if (strcmp(arg, "--help") == 0) {
      return 1;
    } else if (strcmp(arg, "--stats") == 0) {
      a->stats = 1;
    } else if (strcmp(arg, "--program") == 0) {
      if (!(a->program = value_of(argc, argv, &i)))
        return -1;
    } else if (strcmp(arg, "--after") == 0) {
      if (!(a->passes.stop_after = value_of(argc, argv, &i)))
        return -1;
      if (!known_pass(a->passes.stop_after)) {
        fprintf(stderr, "sparsec: unknown pass '%s'; the passes are:", a->passes.stop_after);
        for (int k = 0; pass_names[k]; k++)
          fprintf(stderr, " %s", pass_names[k]);
        fputc('\n', stderr);
        return -1;
      }
    } else if (strcmp(arg, "--passes") == 0) {
      const char *v = value_of(argc, argv, &i);
      if (!v || strcmp(v, "none") != 0) {
        fputs("sparsec: --passes takes 'none'\n", stderr);
        return -1;
      }
      a->passes.enabled = 0;
    } else if (arg[0] == '-' || a->spec.path) {
      fprintf(stderr, "sparsec: unexpected argument '%s'\n", arg);
      return -1;
    } else {
      a->spec.path = arg;
    }
  }
  if (!a->spec.path) {
    fputs("sparsec: no spec file given\n", stderr);
    return -1;
  }
  return 0;
}

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
  fprintf(out, "  %-7s %3d kernels (%d dense products), %3d passes over activation memory",
          when, st.kernels, st.dense_products, st.activation_passes);
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
static const Program *find_program(const Module *m, const char *name) {
  const Program *p[2 + SPEC_MAX_LAYERS];
  int n = module_programs(m, p);
  for (int i = 0; i < n; i++) {
    const char *pname = p[i]->name;
    if (strcmp(pname, name) == 0 ||
        (strncmp(name, "pretrain:", 9) == 0 && strncmp(pname, "pretrain_", 9) == 0 &&
         strcmp(pname + 9, name + 9) == 0))
      return p[i];
  }
  fprintf(stderr, "sparsec: no program '%s'; this spec has:", name);
  for (int i = 0; i < n; i++)
    fprintf(stderr, " %s", p[i]->name);
  fputc('\n', stderr);
  return NULL;
}

static Module *build(const Spec *spec, const PassOptions *passes) {
  char err[512];
  Module *m = module_build(spec, err, sizeof err);
  if (m && optimise_module(m, passes, err, sizeof err) != 0) {
    module_free(m);
    m = NULL;
  }
  if (!m)
    fprintf(stderr, "sparsec: %s\n", err);
  return m;
}

int cmd_ir(int argc, char **argv) {
  IrArgs args = {0};
  int parsed = parse(&args, argc, argv);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  Spec *spec = spec_load_with(args.spec.path, args.spec.overrides, args.spec.noverrides, stderr);
  if (!spec)
    return 1;
  PassOptions none = {0};
  Module *m = build(spec, &args.passes);
  Module *raw = m && args.stats ? build(spec, &none) : NULL;
  int rc = m && (!args.stats || raw) ? 0 : 1;
  if (rc == 0 && args.stats) {
    print_stats(raw, m, spec->train.batch, stdout);
  } else if (rc == 0 && args.program) {
    const Program *p = find_program(m, args.program);
    if (p)
      print_program(m, p, stdout);
    rc = p ? 0 : 1;
  } else if (rc == 0) {
    print_module(m, stdout);
    const char *after = args.passes.stop_after;
    if (args.passes.enabled && after && strcmp(after, "plan-memory") == 0)
      print_memory_plan(m, spec->train.batch, stdout);
  }
  module_free(raw);
  module_free(m);
  spec_free(spec);
  return rc;
}
