/* init.c: parameter initialisation, used by state.c for each param slot. */
#include <math.h>
#include <string.h>

#include "sparsert.h"

/* Glorot & Bengio (2010): U[-l, l] with l = sqrt(6 / (fan_in + fan_out))
 * keeps activation and gradient variance roughly constant across layers. */
static void glorot_uniform(float *w, size_t count, int fan_in, int fan_out, SrRng *rng) {
  double limit = sqrt(6.0 / ((double)fan_in + (double)fan_out));
  for (size_t i = 0; i < count; i++)
    w[i] = (float)((2.0 * sr_rng_uniform(rng) - 1.0) * limit);
}

void sr_init_param(float *w, size_t count, SrInit init, int fan_in, int fan_out, SrRng *rng) {
  switch (init) {
  case SR_INIT_GLOROT_UNIFORM:
    glorot_uniform(w, count, fan_in, fan_out, rng);
    break;
  case SR_INIT_ZERO:
  default:
    memset(w, 0, count * sizeof *w);
    break;
  }
}
