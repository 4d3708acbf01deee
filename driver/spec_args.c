/* Command-line options shared by the commands that read a spec: --set
 * and the spec file, as entries of their tables (runtime/options.h). */
#include <stdio.h>
#include <string.h>

#include "driver.h"

/* --set PATH=VALUE, any number of times (up to MAX_OVERRIDES). */
int spec_args_set(void *where, const SrOption *opt, const SrOptValue *v, SrOptError *err) {
  (void)opt;
  SpecArgs *a = where;
  if (a->noverrides == MAX_OVERRIDES) {
    snprintf(err->msg, sizeof err->msg, "at most %d --set options", MAX_OVERRIDES);
    return -1;
  }
  a->overrides[a->noverrides++].text = v->text;
  return 0;
}

/* The one spec file. */
int spec_args_file(void *target, const char *arg, SrOptError *err) {
  SpecArgs *a = target;
  if (a->path) {
    snprintf(err->msg, sizeof err->msg, "unexpected argument '%s'", arg);
    return -1;
  }
  a->path = arg;
  return 0;
}

int spec_command_parse(const SrOptTable *t, void *target, int argc, char **argv) {
  SrOptError err;
  int rc = sr_opt_parse(t, target, argc, argv, 1, &err);
  if (rc < 0) {
    sr_opt_report(&err, "sparsec: ", stderr);
    return -1;
  }
  if (rc == 0 && !((SpecArgs *)target)->path) {
    fputs("sparsec: no spec file given\n", stderr);
    return -1;
  }
  return rc;
}
