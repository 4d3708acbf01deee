/* sparsec ir FILE: the module's values and its derived programs as text,
 * after any pass, with the numbers that show what the optimiser did
 * (ir_print.c, which the REPL's `ir` command uses too). */
#include <stdio.h>

#include "driver.h"

typedef struct IrArgs {
  SpecArgs spec; /* first: see driver.h */
  IrOptions ir;
  int verbosity;
} IrArgs;

static const SrOption ir_cmd_options[] = {
    SET_OPTION("override a setting of the spec"),
    SR_OPT_VERBOSITY(IrArgs, verbosity,
                     "print nothing but errors: builds and optimises the programs\n"
                     "(every pass verified) without printing them",
                     "also the numbers --stats prints"),
    {0}};
/* --set and the file, then the options the REPL's `ir` takes too */
static const SrOptTable ir_cmd_table = {.command = "ir", .options = ir_cmd_options,
                                        .also = &ir_options, .also_at = offsetof(IrArgs, ir),
                                        .positional = spec_args_file};

static int usage(FILE *out, int status) {
  fputs("usage: sparsec ir [options] FILE.spn\n"
        "Prints the module's values, then its programs (docs/ir.md) after optimisation.\n",
        out);
  sr_opt_help(&ir_cmd_table, "", out);
  fputs("The passes, in the order they run:\n", out);
  ir_list_passes(out);
  return status;
}

int cmd_ir(int argc, char **argv) {
  IrArgs args = {.ir = {.passes = {.enabled = 1}}};
  int parsed = spec_command_parse(&ir_cmd_table, &args, argc, argv);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  Spec *spec = spec_load_with(args.spec.path, args.spec.overrides, args.spec.noverrides, stderr);
  if (!spec)
    return 1;
  if (args.verbosity == SR_VERBOSE)
    args.ir.stats = 1;
  FILE *out = args.verbosity == SR_QUIET ? fopen("/dev/null", "w") : stdout;
  int rc = out ? ir_print(spec, &args.ir, out, stderr) : 1;
  if (out && out != stdout)
    fclose(out);
  spec_free(spec);
  return rc;
}
