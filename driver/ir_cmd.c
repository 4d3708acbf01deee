/* sparsec ir FILE: the module's values and its derived programs as text. */
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "ir.h"

int cmd_ir(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fputs("usage: sparsec ir FILE.spn\n", argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
    return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  Spec *spec = spec_load(argv[1], stderr);
  if (!spec)
    return 1;
  char err[512];
  Module *m = module_build(spec, err, sizeof err);
  spec_free(spec);
  if (!m) {
    fprintf(stderr, "sparsec: %s\n", err);
    return 1;
  }
  print_module(m, stdout);
  module_free(m);
  return 0;
}
