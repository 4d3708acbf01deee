/* error.c: SrError formatting.
 *
 * Errors travel as a fixed-size message rather than a code so that the
 * place that detects a problem (which knows the file name, the offending
 * value, the limit) also writes the sentence the user reads. */
#include <math.h>
#include <stdarg.h>

#include "sparsert_internal.h"

int sr_fail(SrError *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return -1;
}

const char *sr_nonfinite_name(double x) {
  return isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
}
