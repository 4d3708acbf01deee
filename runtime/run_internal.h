/* run_internal.h: the experiment engine's run, shared by experiment.c
 * (what it does) and run_state.c (how it is saved and loaded). */
#ifndef SPARSEC_RUN_INTERNAL_H
#define SPARSEC_RUN_INTERNAL_H

#include "experiment.h"
#include "sparsert_internal.h"

typedef enum RunPhase { PHASE_PRETRAIN, PHASE_TRAIN, PHASE_DONE } RunPhase;

/* An epoch's record as the metrics file got it, with its run's label. */
typedef struct SrRunRecord {
  SrEpochRecord rec;
  char run[32];
} SrRunRecord;

struct SrRun {
  SrState *st;                 /* the caller's */
  const SrModel *m;
  SrProgramConfig cfg;
  SrRunSetup setup;
  const SrProgramData *data;
  volatile sig_atomic_t *stop; /* setup.stop, or interrupt.c's flag */
  char *state_path;
  /* where the run is */
  int lr_index;                /* the lr of the sweep being trained */
  RunPhase phase;              /* of that lr */
  RunPhase phase_at_start;     /* of sr_run_experiment: PHASE_DONE when resuming a done state */
  SrPretrainRun pre;           /* PHASE_PRETRAIN */
  SrFit fit;                   /* PHASE_TRAIN; started when fit_started */
  int fit_started;
  /* the sweep */
  int have_pretrained;         /* the first lr's pretrained parameters, for the others */
  SrState pretrained;
  int have_best;               /* an lr finished: the best of those so far */
  int best_lr;
  SrFitResult best_result;
  SrState best;
  /* the seeds (cfg.seeds > 1): after the sweep, the whole run again at the
   * kept lr (best_lr) with seed+1, ..., seed+seeds-1; `best` stays the first
   * seed's, the model kept */
  int seed_index;              /* 0: the sweep (seed); k > 0: the repeat with seed + k;
                                  also the seeds finished: seed_results[0 .. seed_index) */
  SrFitResult *seed_results;   /* [cfg.seeds]; [0] is the sweep's best_result */
  /* outputs */
  SrMetricsWriter *metrics;
  long metrics_keep;           /* bytes of the metrics file a resumed state has seen */
  int saved_epoch;             /* epoch of the last state saved (-1: none) */
  char saved_at[160];          /* where that state is, in words: for the divergence note */
  /* every epoch's record since the run began (not kept in the state) */
  SrRunRecord *history;
  int nhistory, history_cap;
};

/* seed_stats.c: what the seeds' repeats print. One seed's line as it
 * finishes ("seed 2: test error 10.86%, ..."), and the summary: per figure
 * the mean, the sample standard deviation and every seed's value. */
typedef struct SrSeedsReport {
  FILE *log;
  const SrModel *m;
  int has_valid, has_test;     /* which sets the data have: only those are reported */
} SrSeedsReport;
void sr_seeds_print_one(const SrSeedsReport *rep, uint64_t seed, const SrFitResult *res);
void sr_seeds_print_summary(const SrSeedsReport *rep, uint64_t first_seed, double lr,
                            const SrFitResult *res, int n);

/* run_state.c */
int sr_run_state_write(const SrRun *r, const char *path, SrError *err);
int sr_run_state_read(SrRun *r, const char *path, SrError *err);
/* A hash of what the state's tensors must fit: the PARAM, CONST and
 * STATE slots (names, kinds, shapes, inits), the hidden layers, the
 * pretraining stages. */
uint64_t sr_model_fingerprint(const SrModel *m);

#endif
