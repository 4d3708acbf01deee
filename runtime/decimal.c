/* decimal.c: the syntax of numbers in text data files (csv.c, libsvm.c),
 * one rule for both: what a person or a spreadsheet writes as a decimal
 * number, and nothing strtof would also take by accident (hexadecimal,
 * inf, nan, leading white space). */
#include <string.h>

#include "sparsert_internal.h"

#define DIGITS "0123456789"

int sr_is_decimal(const char *s) {
  s += *s == '+' || *s == '-';
  size_t whole = strspn(s, DIGITS), fraction = 0;
  s += whole;
  if (*s == '.') {
    fraction = strspn(++s, DIGITS);
    s += fraction;
  }
  if (whole + fraction == 0)
    return 0;
  if (*s == 'e' || *s == 'E') {
    s++;
    s += *s == '+' || *s == '-';
    size_t exponent = strspn(s, DIGITS);
    if (exponent == 0)
      return 0;
    s += exponent;
  }
  return *s == '\0';
}

int sr_is_digits(const char *s) {
  return s[0] && s[strspn(s, DIGITS)] == '\0';
}

int sr_is_hexadecimal(const char *s) {
  s += *s == '+' || *s == '-';
  return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}
