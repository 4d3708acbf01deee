/* fuzz_spec.c: a libFuzzer target for the whole frontend, lexer to checker.
 *
 * The input is a spec. If it contains a line "%%", the lines after it are
 * --set overrides (at most MAX_OVERRIDES), so that the override path is
 * fuzzed too. Diagnostics go to /dev/null: only crashes, leaks, hangs and
 * sanitizer reports count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend_internal.h"

#define MAX_OVERRIDES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits off the overrides after "\n%%\n", in place. */
static int split_overrides(char *text, Override *sets) {
  char *split = strstr(text, "\n%%\n");
  if (!split)
    return 0;
  *split = '\0';
  int n = 0;
  for (char *line = split + 4; line && *line && n < MAX_OVERRIDES;) {
    char *newline = strchr(line, '\n');
    if (newline)
      *newline = '\0';
    sets[n++].text = line;
    line = newline ? newline + 1 : NULL;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *sink;
  if (!sink)
    sink = fopen("/dev/null", "w");  /* opened once, for every input */
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';  /* the frontend reads C strings: the input ends at a NUL */
  Override sets[MAX_OVERRIDES];
  int n = split_overrides(text, sets);
  Spec *spec = n == 0 ? spec_load_string("fuzz.spn", text, sink)
                      : load_source(source_from_string("fuzz.spn", text), sets, n, sink);
  spec_free(spec);
  free(text);
  return 0;
}
