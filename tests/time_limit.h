/* The time a test gives work that must be linear in its input: generous,
 * since quadratic would take minutes, and sanitizers slow everything
 * several times over. Header-only, shared by the reader suites. */
#ifndef SPARSEC_TEST_TIME_LIMIT_H
#define SPARSEC_TEST_TIME_LIMIT_H

#if defined(__SANITIZE_ADDRESS__)
#define TIME_LIMIT 15.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIME_LIMIT 15.0
#endif
#endif
#ifndef TIME_LIMIT
#define TIME_LIMIT 2.0
#endif

#endif
