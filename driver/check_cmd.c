/* sparsec check FILE...: parse and check specs without running them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "driver.h"

#define MAX_FILES 256

typedef struct CheckArgs {
  SpecArgs spec; /* first: see driver.h; its path is unused */
  const char *files[MAX_FILES];
  int nfiles;
  int verbosity;
} CheckArgs;

static int add_file(void *target, const char *arg, SrOptError *err) {
  CheckArgs *a = target;
  if (a->nfiles == MAX_FILES) {
    snprintf(err->msg, sizeof err->msg, "too many files at '%s'", arg);
    return -1;
  }
  a->files[a->nfiles++] = arg;
  return 0;
}

static const SrOption check_options[] = {
    SET_OPTION("override a setting of every spec"),
    SR_OPT_VERBOSITY(CheckArgs, verbosity, "only the errors: no 'FILE: ok' lines",
                     "also each clean spec's layers and parameter count"),
    {0}};

/* "FILE: ok", and with --verbose "(h1 1000 relu, ..., out 10 softmax;
 * 2,797,010 parameters)". */
static void report_ok(const char *file, const Spec *spec, int verbosity) {
  if (verbosity == SR_QUIET)
    return;
  printf("%s: ok", file);
  if (verbosity == SR_VERBOSE) {
    long long params = 0;
    for (int i = 0, in = spec->input; i < spec->nlayers; in = spec->layers[i++].units)
      params += ((long long)in + 1) * spec->layers[i].units;
    char *layers = spec_structure(spec);
    printf(" (%s; %lld parameters)", layers ? layers : "?", params);
    free(layers);
  }
  putchar('\n');
}
static const SrOptTable check_table = {.command = "check", .options = check_options,
                                       .positional = add_file};

static int usage(FILE *out, int status) {
  fputs("usage: sparsec check [--set PATH=VALUE]... FILE.spn...\n"
        "Checks each spec (syntax, names, types, ranges) and reports every problem;\n"
        "prints 'FILE: ok' for each clean spec. Exit status 1 if any has an error.\n",
        out);
  sr_opt_help(&check_table, "", out);
  return status;
}

int cmd_check(int argc, char **argv) {
  static CheckArgs args; /* 256 files and 64 overrides: not on the stack */
  memset(&args, 0, sizeof args);
  SrOptError err;
  int parsed = sr_opt_parse(&check_table, &args, argc, argv, 1, &err);
  if (parsed == SR_OPT_HELP)
    return usage(stdout, 0);
  if (parsed < 0)
    sr_opt_report(&err, "sparsec: ", stderr);
  if (parsed < 0 || args.nfiles == 0)
    return usage(stderr, 2);
  int failed = 0;
  for (int f = 0; f < args.nfiles; f++) {
    Spec *spec = spec_load_with(args.files[f], args.spec.overrides, args.spec.noverrides, stderr);
    if (spec)
      report_ok(args.files[f], spec, args.verbosity);
    failed |= spec == NULL;
    spec_free(spec);
  }
  return failed ? 1 : 0;
}
