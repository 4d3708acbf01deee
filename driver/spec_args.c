/* Command-line options shared by the commands that read a spec. */
#include <stdio.h>
#include <string.h>

#include "driver.h"

int spec_args_take(SpecArgs *a, int argc, char **argv, int *i) {
  const char *arg = argv[*i];
  const char *value = NULL;
  if (strcmp(arg, "--set") == 0) {
    if (*i + 1 >= argc) {
      fputs("sparsec: --set needs PATH=VALUE, e.g. --set train.lr=0.05\n", stderr);
      return -1;
    }
    value = argv[++*i];
  } else if (strncmp(arg, "--set=", 6) == 0) {
    value = arg + 6;
  } else {
    return 0;
  }
  if (a->noverrides == MAX_OVERRIDES) {
    fprintf(stderr, "sparsec: at most %d --set options\n", MAX_OVERRIDES);
    return -1;
  }
  a->overrides[a->noverrides++].text = value;
  return 1;
}

int spec_args_file(SpecArgs *a, const char *arg) {
  if (arg[0] == '-' || a->path) {
    fprintf(stderr, "sparsec: unexpected argument '%s'\n", arg);
    return -1;
  }
  a->path = arg;
  return 0;
}

int spec_args_parse(SpecArgs *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return 1;
    int taken = spec_args_take(a, argc, argv, &i);
    if (taken < 0)
      return -1;
    if (taken)
      continue;
    if (spec_args_file(a, argv[i]) != 0)
      return -1;
  }
  if (!a->path) {
    fputs("sparsec: no spec file given\n", stderr);
    return -1;
  }
  return 0;
}
