/* init.c: parameter initialisation, used by state.c for each param and
 * const slot.
 *
 * The arguments were validated by state.c (positive fans where needed, a
 * finite init_arg that fits a float), so nothing here can fail. */
#include <math.h>
#include <string.h>

#include "sparsert.h"

static void uniform(float *w, size_t count, double limit, SrRng *rng) {
  for (size_t i = 0; i < count; i++)
    w[i] = (float)((2.0 * sr_rng_uniform(rng) - 1.0) * limit);
}

/* Glorot & Bengio (2010): U[-l, l] with l = sqrt(6 / (fan_in + fan_out))
 * keeps activation and gradient variance roughly constant across layers. */
static void glorot_uniform(float *w, size_t count, int fan_in, int fan_out, SrRng *rng) {
  uniform(w, count, sqrt(6.0 / ((double)fan_in + (double)fan_out)), rng);
}

/* He et al. (2015): N(0, 2 / fan_in) keeps the variance of rectifier
 * outputs from shrinking layer by layer, as half the units are zero. */
static void he_normal(float *w, size_t count, int fan_in, SrRng *rng) {
  double sd = sqrt(2.0 / fan_in);
  for (size_t i = 0; i < count; i++)
    w[i] = (float)(sd * sr_rng_normal(rng));
}

static void constant(float *w, size_t count, double value) {
  for (size_t i = 0; i < count; i++)
    w[i] = (float)value;
}

/* Uniform in [0, n) for any size: sr_rng_below covers 32-bit n, and a
 * parameter of rows x cols ints may hold more elements than that. */
static size_t index_below(SrRng *rng, size_t n) {
  if (n <= UINT32_MAX)
    return sr_rng_below(rng, (uint32_t)n);
  uint64_t threshold = -(uint64_t)n % n; /* 2^64 mod n: reject below it */
  uint64_t r;
  do
    r = sr_rng_next(rng);
  while (r < threshold);
  return (size_t)(r % n);
}

/* Exactly floor(count / 2) elements are -1, so the signs cancel as far as
 * they can; which ones is a uniformly random permutation (Fisher-Yates on
 * the filled array) rather than independent coin flips, whose count would
 * wander by about sqrt(count). */
static void signs(float *w, size_t count, SrRng *rng) {
  size_t negative = count / 2;
  for (size_t i = 0; i < count; i++)
    w[i] = i < negative ? -1.0f : 1.0f;
  for (size_t i = count; i > 1; i--) {
    size_t j = index_below(rng, i);
    float t = w[i - 1];
    w[i - 1] = w[j];
    w[j] = t;
  }
}

void sr_init_param(float *w, size_t count, SrInit init, double arg, int fan_in, int fan_out,
                   SrRng *rng) {
  switch (init) {
  case SR_INIT_GLOROT_UNIFORM:
    glorot_uniform(w, count, fan_in, fan_out, rng);
    break;
  case SR_INIT_HE_NORMAL:
    he_normal(w, count, fan_in, rng);
    break;
  case SR_INIT_UNIFORM:
    uniform(w, count, arg, rng);
    break;
  case SR_INIT_CONSTANT:
    constant(w, count, arg);
    break;
  case SR_INIT_SIGNS:
    signs(w, count, rng);
    break;
  case SR_INIT_ZERO:
  default:
    memset(w, 0, count * sizeof *w);
    break;
  }
}
