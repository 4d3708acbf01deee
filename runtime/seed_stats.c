/* seed_stats.c: what a run repeated with train.seeds = N prints (the
 * repeats themselves are experiment.c's). One figure from one seed cannot
 * tell whether 10.86% and 10.16% differ; N seeds give each figure a mean
 * and a sample standard deviation. Every line starts with a fixed word
 * ("seed S:", "seeds:") and names its figure, so scripts can grep them:
 *
 *   seed 2: test error 10.86%, valid error 11.25%, test data loss 0.2841, zeros h1 60.4% ...
 *   seeds: 3 (1, 2, 3) at lr 0.03
 *   seeds: test error 10.52% +- 0.31 (10.16, 10.86, 10.55)
 *
 * A figure of a set the data do not have (no validation) is left out.
 * The zeros are the test set's (the validation set's without test data),
 * as the run's own "hidden activations exactly zero" line. */
#include <inttypes.h>
#include <math.h>

#include "run_internal.h"

/* The mean and the sample standard deviation (n - 1; 0 for n < 2) of x[0..n). */
static void mean_sd(const double *x, int n, double *mean, double *sd) {
  double sum = 0;
  for (int i = 0; i < n; i++)
    sum += x[i];
  *mean = n > 0 ? sum / n : 0;
  double squares = 0;
  for (int i = 0; i < n; i++)
    squares += (x[i] - *mean) * (x[i] - *mean);
  *sd = n > 1 ? sqrt(squares / (n - 1)) : 0;
}

/* The metrics the zeros are read from: the test set's, else validation's. */
static const SrMetrics *zeros_of(const SrSeedsReport *rep, const SrFitResult *res) {
  return rep->has_test ? &res->best_test : rep->has_valid ? &res->best_valid : NULL;
}

void sr_seeds_print_one(const SrSeedsReport *rep, uint64_t seed, const SrFitResult *res) {
  FILE *f = rep->log;
  if (!f)
    return;
  fprintf(f, "seed %" PRIu64 ":", seed);
  const char *sep = " ";
  if (rep->has_test) {
    fprintf(f, " test error %.2f%%", 100 * res->best_test.error);
    sep = ", ";
  }
  if (rep->has_valid) {
    fprintf(f, "%svalid error %.2f%%", sep, 100 * res->best_valid.error);
    sep = ", ";
  }
  if (rep->has_test)
    fprintf(f, ", test data loss %.4f", res->best_test.loss);
  const SrMetrics *z = zeros_of(rep, res);
  if (z) {
    fprintf(f, "%szeros", sep);
    for (int k = 0; k < rep->m->nhidden; k++)
      fprintf(f, " %s %.1f%%", rep->m->hidden_names[k], 100 * z->sparsity[k]);
    fprintf(f, " mean %.1f%%", 100 * z->mean_sparsity);
    sep = ", ";
  }
  fprintf(f, "%sbest epoch %d\n", sep, res->best_epoch);
  fflush(f);
}

/* A figure's line: mean +- sd (each seed's value). `scale` makes a
 * fraction a percentage; `digits` after the point of the mean and the sd,
 * `seed_digits` of each seed's value; `unit` "%" or "". */
typedef double (*Figure)(const SrSeedsReport *rep, const SrFitResult *res, int k);

static void figure_line(const SrSeedsReport *rep, const char *name, const SrFitResult *res,
                        int n, Figure get, int k, double scale, int digits, int seed_digits,
                        const char *unit) {
  double x[SR_MAX_SEEDS] = {0}, mean, sd;
  for (int i = 0; i < n; i++)
    x[i] = scale * get(rep, &res[i], k);
  mean_sd(x, n, &mean, &sd);
  fprintf(rep->log, "seeds: %s %.*f%s +- %.*f (", name, digits, mean, unit, digits, sd);
  for (int i = 0; i < n; i++)
    fprintf(rep->log, "%s%.*f", i ? ", " : "", seed_digits, x[i]);
  fputs(")\n", rep->log);
}

static double test_error(const SrSeedsReport *rep, const SrFitResult *r, int k) {
  (void)rep, (void)k;
  return r->best_test.error;
}

static double valid_error(const SrSeedsReport *rep, const SrFitResult *r, int k) {
  (void)rep, (void)k;
  return r->best_valid.error;
}

static double test_loss(const SrSeedsReport *rep, const SrFitResult *r, int k) {
  (void)rep, (void)k;
  return r->best_test.loss;
}

/* Layer k's zeros; k == nhidden: the mean over the hidden units. */
static double zeros(const SrSeedsReport *rep, const SrFitResult *r, int k) {
  const SrMetrics *z = zeros_of(rep, r);
  return k < rep->m->nhidden ? z->sparsity[k] : z->mean_sparsity;
}

static double best_epoch(const SrSeedsReport *rep, const SrFitResult *r, int k) {
  (void)rep, (void)k;
  return r->best_epoch;
}

void sr_seeds_print_summary(const SrSeedsReport *rep, uint64_t first_seed, double lr,
                            const SrFitResult *res, int n) {
  FILE *f = rep->log;
  if (!f || n < 1 || n > SR_MAX_SEEDS)
    return;
  fprintf(f, "seeds: %d (", n);
  for (int i = 0; i < n; i++)
    fprintf(f, "%s%" PRIu64, i ? ", " : "", first_seed + (uint64_t)i);
  fprintf(f, ") at lr %g\n", lr);
  if (rep->has_test)
    figure_line(rep, "test error", res, n, test_error, 0, 100, 2, 2, "%");
  if (rep->has_valid)
    figure_line(rep, "valid error", res, n, valid_error, 0, 100, 2, 2, "%");
  if (rep->has_test)
    figure_line(rep, "test data loss", res, n, test_loss, 0, 1, 4, 4, "");
  if (zeros_of(rep, &res[0])) {
    char name[160];
    for (int k = 0; k <= rep->m->nhidden; k++) {
      snprintf(name, sizeof name, "zeros %s", k < rep->m->nhidden ? rep->m->hidden_names[k]
                                                                   : "mean");
      figure_line(rep, name, res, n, zeros, k, 100, 1, 1, "%");
    }
  }
  /* the best epochs are whole numbers: each seed's without decimals */
  figure_line(rep, "best epoch", res, n, best_epoch, 0, 1, 1, 0, "");
  fprintf(f, "seeds: the model kept is seed %" PRIu64 "'s (the lines below)\n", first_seed);
  fflush(f);
}
