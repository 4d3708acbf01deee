/* Tests for rng.c and init.c: reproducibility, ranges, rough statistics
 * (tolerances are several standard errors wide; the seeds are fixed, so
 * the tests are deterministic). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sparsert.h"

/* Published test vector of the reference xoshiro256** (Blackman & Vigna)
 * from the state {1, 2, 3, 4}. */
Test(rng, matches_reference_xoshiro256starstar) {
  SrRng r = {{1, 2, 3, 4}};
  uint64_t want[] = {11520u, 0u, 1509978240u, 1215971899390074240u, 1216172134540287360u,
                     607988272756665600u, 16172922978634559625u, 8476171486693032832u};
  for (int i = 0; i < 8; i++)
    cr_assert_eq(sr_rng_next(&r), want[i], "output %d", i);
}

/* splitmix64's first outputs from 0 are the published 0xe220a8397b1dcdaf,
 * 0x6e789e6aa1b965f4, ...: seeding takes them as the four state words. */
Test(rng, seeding_uses_splitmix64) {
  SrRng r;
  sr_rng_seed(&r, 0);
  cr_assert_eq(r.s[0], 0xe220a8397b1dcdafu);
  cr_assert_eq(r.s[1], 0x6e789e6aa1b965f4u);
  cr_assert_eq(r.s[2], 0x06c45d188009454fu);
  cr_assert_eq(r.s[3], 0xf88bb8a8724c81ecu);
}

Test(rng, same_seed_same_stream) {
  SrRng a, b;
  sr_rng_seed(&a, 123);
  sr_rng_seed(&b, 123);
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(sr_rng_next(&a), sr_rng_next(&b));
}

Test(rng, different_seeds_differ) {
  SrRng a, b;
  sr_rng_seed(&a, 1);
  sr_rng_seed(&b, 2);
  int same = 0;
  for (int i = 0; i < 1000; i++)
    same += sr_rng_next(&a) == sr_rng_next(&b);
  cr_assert_eq(same, 0);
}

/* splitmix64 must turn seed 0 into a usable (non-zero) state. */
Test(rng, seed_zero_works) {
  SrRng r;
  sr_rng_seed(&r, 0);
  cr_assert(r.s[0] | r.s[1] | r.s[2] | r.s[3]);
  cr_assert_neq(sr_rng_next(&r), sr_rng_next(&r));
}

Test(rng, uniform_range_and_mean) {
  SrRng r;
  sr_rng_seed(&r, 7);
  double sum = 0, sumsq = 0;
  int n = 100000;
  for (int i = 0; i < n; i++) {
    double u = sr_rng_uniform(&r);
    cr_assert(u >= 0.0 && u < 1.0, "draw %d is %g", i, u);
    sum += u;
    sumsq += u * u;
  }
  double mean = sum / n, var = sumsq / n - mean * mean;
  /* Standard error of the mean is sqrt(1/12/n) ~ 0.0009. */
  cr_assert(fabs(mean - 0.5) < 0.005, "mean %g", mean);
  cr_assert(fabs(var - 1.0 / 12) < 0.002, "variance %g", var);
}

Test(rng, below_stays_in_range_and_hits_every_value) {
  SrRng r;
  sr_rng_seed(&r, 9);
  uint32_t sizes[] = {1, 2, 3, 7, 10, 1000};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    uint32_t n = sizes[k];
    int hits[1000] = {0};
    for (int i = 0; i < 20000; i++) {
      uint32_t v = sr_rng_below(&r, n);
      cr_assert_lt(v, n);
      hits[v]++;
    }
    for (uint32_t v = 0; v < n; v++)
      cr_assert_gt(hits[v], 0, "below(%u) never returned %u", n, v);
  }
  cr_assert_lt(sr_rng_below(&r, 0xffffffffu), 0xffffffffu);
  cr_assert_eq(sr_rng_below(&r, 0), 0);
}

/* With n = 3 * 2^30 plain modulo would favour the low third 2:1. */
Test(rng, below_is_unbiased_for_awkward_n) {
  SrRng r;
  sr_rng_seed(&r, 11);
  uint32_t n = 3u << 30;
  int low = 0, draws = 30000;
  for (int i = 0; i < draws; i++)
    low += sr_rng_below(&r, n) < (1u << 30);
  cr_assert(fabs((double)low / draws - 1.0 / 3) < 0.02, "low third got %d of %d", low, draws);
}

Test(rng, shuffle_is_a_permutation) {
  SrRng r;
  sr_rng_seed(&r, 5);
  int32_t idx[500];
  for (int i = 0; i < 500; i++)
    idx[i] = i;
  sr_rng_shuffle(&r, idx, 500);
  int seen[500] = {0}, moved = 0;
  for (int i = 0; i < 500; i++) {
    cr_assert(idx[i] >= 0 && idx[i] < 500);
    seen[idx[i]]++;
    moved += idx[i] != i;
  }
  for (int i = 0; i < 500; i++)
    cr_assert_eq(seen[i], 1);
  cr_assert_gt(moved, 450);
  sr_rng_shuffle(&r, idx, 0); /* empty and single-element arrays are fine */
  sr_rng_shuffle(&r, idx, 1);
}

/* Every position should end up holding every value about equally often. */
Test(rng, shuffle_is_uniform) {
  SrRng r;
  sr_rng_seed(&r, 6);
  int counts[4][4] = {{0}};
  for (int t = 0; t < 40000; t++) {
    int32_t idx[4] = {0, 1, 2, 3};
    sr_rng_shuffle(&r, idx, 4);
    for (int i = 0; i < 4; i++)
      counts[i][idx[i]]++;
  }
  for (int i = 0; i < 4; i++)
    for (int v = 0; v < 4; v++)
      cr_assert(abs(counts[i][v] - 10000) < 500, "position %d value %d: %d", i, v, counts[i][v]);
}

Test(init, glorot_within_limit_with_right_variance) {
  enum { fan_in = 300, fan_out = 100, count = fan_in * fan_out };
  static float w[count];
  SrRng r;
  sr_rng_seed(&r, 3);
  sr_init_param(w, count, SR_INIT_GLOROT_UNIFORM, 0, fan_in, fan_out, &r);
  double limit = sqrt(6.0 / (fan_in + fan_out)), sum = 0, sumsq = 0;
  for (int i = 0; i < count; i++) {
    cr_assert(fabsf(w[i]) <= (float)limit, "w[%d] = %g beyond %g", i, w[i], limit);
    sum += w[i];
    sumsq += (double)w[i] * w[i];
  }
  double mean = sum / count, var = sumsq / count - mean * mean;
  double want = limit * limit / 3;
  cr_assert(fabs(mean) < 0.01 * limit * 3, "mean %g", mean);
  cr_assert(fabs(var / want - 1) < 0.03, "variance %g, expected %g", var, want);
}

Test(init, glorot_is_deterministic) {
  float a[100], b[100];
  SrRng r1, r2;
  sr_rng_seed(&r1, 8);
  sr_rng_seed(&r2, 8);
  sr_init_param(a, 100, SR_INIT_GLOROT_UNIFORM, 0, 10, 10, &r1);
  sr_init_param(b, 100, SR_INIT_GLOROT_UNIFORM, 0, 10, 10, &r2);
  cr_assert_arr_eq(a, b, sizeof a);
}

Test(init, zero) {
  float w[64];
  for (int i = 0; i < 64; i++)
    w[i] = 1.0f;
  SrRng r;
  sr_rng_seed(&r, 1);
  sr_init_param(w, 64, SR_INIT_ZERO, 0, 8, 8, &r);
  for (int i = 0; i < 64; i++)
    cr_assert_float_eq(w[i], 0.0f, 0);
}

/* ---- normal draws and the newer init kinds ------------------------------- */

static void mean_var(const float *w, int n, double *mean, double *var) {
  double sum = 0, sumsq = 0;
  for (int i = 0; i < n; i++) {
    sum += w[i];
    sumsq += (double)w[i] * w[i];
  }
  *mean = sum / n;
  *var = sumsq / n - *mean * *mean;
}

/* Besides mean and variance, the share beyond two standard deviations
 * (4.55% for a normal) tells a Gaussian from, say, a uniform. */
Test(rng, normal_has_unit_variance_and_normal_tails) {
  SrRng r;
  sr_rng_seed(&r, 12);
  int n = 100000, beyond2 = 0;
  double sum = 0, sumsq = 0;
  for (int i = 0; i < n; i++) {
    double x = sr_rng_normal(&r);
    cr_assert(isfinite(x));
    sum += x;
    sumsq += x * x;
    beyond2 += fabs(x) > 2;
  }
  double mean = sum / n, var = sumsq / n - mean * mean;
  cr_assert(fabs(mean) < 0.015, "mean %g", mean);
  cr_assert(fabs(var - 1) < 0.02, "variance %g", var);
  cr_assert(fabs((double)beyond2 / n - 0.0455) < 0.003, "beyond 2 sd: %d of %d", beyond2, n);
}

Test(rng, normal_is_deterministic) {
  SrRng a, b;
  sr_rng_seed(&a, 13);
  sr_rng_seed(&b, 13);
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(sr_rng_normal(&a), sr_rng_normal(&b));
}

Test(init, he_normal_variance_is_two_over_fan_in) {
  enum { fan_in = 250, fan_out = 400, count = fan_in * fan_out }; /* 1e5 draws */
  static float w[count];
  SrRng r;
  sr_rng_seed(&r, 14);
  sr_init_param(w, count, SR_INIT_HE_NORMAL, 0, fan_in, fan_out, &r);
  double mean, var, want = 2.0 / fan_in;
  mean_var(w, count, &mean, &var);
  cr_assert(fabs(mean) < 0.05 * sqrt(want), "mean %g", mean);
  cr_assert(fabs(var / want - 1) < 0.05, "variance %g, expected %g", var, want);
}

Test(init, he_normal_is_deterministic) {
  float a[100], b[100];
  SrRng r1, r2;
  sr_rng_seed(&r1, 15);
  sr_rng_seed(&r2, 15);
  sr_init_param(a, 100, SR_INIT_HE_NORMAL, 0, 10, 10, &r1);
  sr_init_param(b, 100, SR_INIT_HE_NORMAL, 0, 10, 10, &r2);
  cr_assert_arr_eq(a, b, sizeof a);
}

Test(init, uniform_within_arg_with_right_variance) {
  enum { count = 100000 };
  static float w[count];
  SrRng r;
  sr_rng_seed(&r, 16);
  sr_init_param(w, count, SR_INIT_UNIFORM, 0.25, 0, 0, &r);
  for (int i = 0; i < count; i++)
    cr_assert(fabsf(w[i]) <= 0.25f, "w[%d] = %g", i, w[i]);
  double mean, var;
  mean_var(w, count, &mean, &var);
  cr_assert(fabs(mean) < 0.005, "mean %g", mean);
  cr_assert(fabs(var / (0.0625 / 3) - 1) < 0.03, "variance %g", var);
}

/* Constant and zero use no random draws: the stream is left as it was. */
Test(init, constant_and_zero_draw_nothing) {
  float w[10];
  SrRng r, before;
  sr_rng_seed(&r, 17);
  before = r;
  sr_init_param(w, 10, SR_INIT_CONSTANT, -0.125, 3, 4, &r);
  for (int i = 0; i < 10; i++)
    cr_assert_eq(w[i], -0.125f);
  sr_init_param(w, 10, SR_INIT_ZERO, 0.5, 3, 4, &r);
  cr_assert_arr_eq(r.s, before.s, sizeof r.s);
}

static int count_negative(const float *w, size_t n) {
  int neg = 0;
  for (size_t i = 0; i < n; i++) {
    cr_assert(w[i] == 1.0f || w[i] == -1.0f, "w[%zu] = %g", i, w[i]);
    neg += w[i] < 0;
  }
  return neg;
}

/* floor(count / 2) minus signs, for odd and even counts and the edges. */
Test(init, signs_are_exactly_half_negative) {
  static float w[1001];
  size_t counts[] = {0, 1, 2, 3, 10, 1000, 1001};
  SrRng r;
  sr_rng_seed(&r, 18);
  for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
    sr_init_param(w, counts[k], SR_INIT_SIGNS, 0, 0, 0, &r);
    cr_assert_eq(count_negative(w, counts[k]), (int)(counts[k] / 2), "count %zu", counts[k]);
  }
}

/* Which elements are negative is a uniform random permutation: over many
 * seeds each position is negative about half the time, and consecutive
 * draws give different arrangements. */
Test(init, signs_positions_are_random) {
  enum { n = 8, trials = 4000 };
  int neg[n] = {0};
  float w[n], prev[n] = {0};
  int same = 0;
  SrRng r;
  sr_rng_seed(&r, 19);
  for (int t = 0; t < trials; t++) {
    sr_init_param(w, n, SR_INIT_SIGNS, 0, 0, 0, &r);
    same += memcmp(w, prev, sizeof w) == 0;
    memcpy(prev, w, sizeof w);
    for (int i = 0; i < n; i++)
      neg[i] += w[i] < 0;
  }
  for (int i = 0; i < n; i++)
    cr_assert(abs(neg[i] - trials / 2) < 200, "position %d negative %d of %d", i, neg[i], trials);
  /* 70 arrangements of 4 in 8: about trials / 70 repeats by chance. */
  cr_assert_lt(same, 2 * trials / 70, "%d repeats", same);
}

Test(init, signs_are_deterministic) {
  float a[257], b[257];
  SrRng r1, r2;
  sr_rng_seed(&r1, 20);
  sr_rng_seed(&r2, 20);
  sr_init_param(a, 257, SR_INIT_SIGNS, 0, 0, 0, &r1);
  sr_init_param(b, 257, SR_INIT_SIGNS, 0, 0, 0, &r2);
  cr_assert_arr_eq(a, b, sizeof a);
}
