/* rng.c: a deterministic RNG (xoshiro256**, seeded by splitmix64).
 *
 * Runs must be reproducible from the seed in the spec on every platform,
 * so the generator is written out here rather than taken from libc. */
#include <math.h>

#include "sparsert.h"

/* splitmix64 spreads any seed, even 0, into well-mixed state words;
 * xoshiro must never start from an all-zero state. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

void sr_rng_seed(SrRng *rng, uint64_t seed) {
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64(&seed);
}

uint64_t sr_rng_next(SrRng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* The top 53 bits fill a double's mantissa exactly: every value is a
 * multiple of 2^-53 and 1.0 is never returned. */
double sr_rng_uniform(SrRng *rng) {
  return (double)(sr_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Lemire's multiply-and-reject: the high half of a 32x32 product is
 * uniform in [0, n) once the few biased low halves are rejected.
 * n == 0 has no valid answer; it returns 0. */
uint32_t sr_rng_below(SrRng *rng, uint32_t n) {
  if (n == 0)
    return 0;
  uint64_t m = (sr_rng_next(rng) >> 32) * (uint64_t)n;
  if ((uint32_t)m < n) {
    uint32_t threshold = -n % n; /* 2^32 mod n */
    while ((uint32_t)m < threshold)
      m = (sr_rng_next(rng) >> 32) * (uint64_t)n;
  }
  return (uint32_t)(m >> 32);
}

void sr_rng_shuffle(SrRng *rng, int32_t *idx, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)sr_rng_below(rng, (uint32_t)i + 1);
    int32_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/* Marsaglia's polar method: only sqrt and log, both deterministic given
 * their inputs, and no trigonometry. The pair's second value is dropped
 * because SrRng has nowhere to keep it: each draw then depends only on
 * the generator's state, so init order alone fixes the stream. The number
 * of uniforms consumed varies (about 2.5 on average), which is fine: it is
 * still a function of the state. */
double sr_rng_normal(SrRng *rng) {
  for (;;) {
    double u = 2.0 * sr_rng_uniform(rng) - 1.0;
    double v = 2.0 * sr_rng_uniform(rng) - 1.0;
    double s = u * u + v * v;
    if (s > 0.0 && s < 1.0)
      return u * sqrt(-2.0 * log(s) / s);
  }
}
