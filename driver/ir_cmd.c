/* sparsec ir FILE: the module's values and its derived programs as text,
 * after any pass, with the numbers that show what the optimiser did
 * (ir_print.c, which the REPL's `ir` command uses too). */
#include <stdio.h>
#include <string.h>

#include "driver.h"

typedef struct IrArgs {
  SpecArgs spec;
  IrOptions ir;
} IrArgs;

static int usage(FILE *out, int status) {
  fputs("usage: sparsec ir [options] FILE.spn\n"
        "Prints the module's values, then its programs (docs/ir.md) after optimisation.\n"
        "  --program NAME          print only this program: train, infer or\n"
        "                          pretrain:LAYER (a stage of the pretrain block)\n"
        "  --after PASS            stop the optimiser after PASS (prune-zero, fuse-relu,\n"
        "                          fuse-sgd, schedule-updates, dce, plan-memory)\n"
        "  --passes none           print the programs as derived, unoptimised\n"
        "  --data-parallel         also the split steps that mpirun trains with\n"
        "                          (train_grads, apply_updates; docs/parallel.md)\n"
        "  --stats                 kernels, passes over activation memory outside the\n"
        "                          dense products, and planned peak memory, before and after\n"
        "  --set PATH=VALUE        override a setting of the spec\n",
        out);
  return status;
}

/* 0 when parsed, 1 for --help, -1 after a message. */
static int parse(IrArgs *a, int argc, char **argv) {
  a->ir.passes.enabled = 1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    int taken = spec_args_take(&a->spec, argc, argv, &i);
    if (taken == 0)
      taken = ir_option_take(&a->ir, argc, argv, &i, stderr);
    if (taken < 0)
      return -1;
    if (taken)
      continue;
    if (strcmp(arg, "--help") == 0)
      return 1;
    if (arg[0] == '-' || a->spec.path) {
      fprintf(stderr, "sparsec: unexpected argument '%s'\n", arg);
      return -1;
    }
    a->spec.path = arg;
  }
  if (!a->spec.path) {
    fputs("sparsec: no spec file given\n", stderr);
    return -1;
  }
  return 0;
}

int cmd_ir(int argc, char **argv) {
  IrArgs args = {0};
  int parsed = parse(&args, argc, argv);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  Spec *spec = spec_load_with(args.spec.path, args.spec.overrides, args.spec.noverrides, stderr);
  if (!spec)
    return 1;
  int rc = ir_print(spec, &args.ir, stdout, stderr);
  spec_free(spec);
  return rc;
}
