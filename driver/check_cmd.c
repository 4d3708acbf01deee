/* sparsec check FILE...: parse and check specs without running them. */
#include <stdio.h>
#include <string.h>

#include "driver.h"

static int usage(FILE *out, int status) {
  fputs("usage: sparsec check [--set PATH=VALUE]... FILE.spn...\n"
        "Checks each spec (syntax, names, types, ranges) and reports every problem;\n"
        "prints 'FILE: ok' for each clean spec. Exit status 1 if any has an error.\n",
        out);
  return status;
}

int cmd_check(int argc, char **argv) {
  SpecArgs args = {0};
  const char *files[256];
  int nfiles = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0)
      return usage(stdout, 0);
    int taken = spec_args_take(&args, argc, argv, &i);
    if (taken < 0)
      return 2;
    if (taken)
      continue;
    if (argv[i][0] == '-' || nfiles == 256) {
      fprintf(stderr, "sparsec: %s '%s'\n", nfiles == 256 ? "too many files at" : "unknown option",
              argv[i]);
      return usage(stderr, 2);
    }
    files[nfiles++] = argv[i];
  }
  if (nfiles == 0)
    return usage(stderr, 2);
  int failed = 0;
  for (int f = 0; f < nfiles; f++) {
    Spec *spec = spec_load_with(files[f], args.overrides, args.noverrides, stderr);
    if (spec)
      printf("%s: ok\n", files[f]);
    failed |= spec == NULL;
    spec_free(spec);
  }
  return failed ? 1 : 0;
}
