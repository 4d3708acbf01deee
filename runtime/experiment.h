/* experiment.h: the experiment engine, the one place that runs what a spec
 * describes: the learning-rate sweep, greedy pretraining, the epochs,
 * evaluation, the best epoch, metrics, the resumable state and the
 * checkpoint, interrupts, the report. `sparsec run` fills an
 * SrProgramConfig from the checked spec and calls it; a built program
 * calls it with the config compiled into it; the REPL keeps one run and
 * drives it a command at a time. docs/design.md, "The experiment engine".
 *
 *   experiment.c  the run: phases, sweep, schedule of saves, report
 *   run_state.c   the state file (docs/checkpoints.md)
 *   outputs.c     output paths checked (and folders made) before the work
 *   interrupt.c   SIGINT/SIGTERM: stop at the next step, save, exit 130/143
 */
#ifndef SPARSEC_EXPERIMENT_H
#define SPARSEC_EXPERIMENT_H

#include "program.h"

/* How this process runs the experiment (what the spec does not say). */
typedef struct SrRunSetup {
  FILE *log;           /* the run's lines, each flushed as printed; NULL = none */
  /* Only the results on `log`: the test error, and when interrupted where
   * the run is and how to resume; no epoch lines, no progress bar. */
  int quiet;
  SrDist *dist;        /* data parallelism (dist.h); NULL = one process */
  /* Raised to stop at the next minibatch; NULL: the engine catches SIGINT
   * and SIGTERM itself (interrupt.c) for the length of sr_run_experiment. */
  volatile sig_atomic_t *stop;
  /* The command that ran this, for "to resume: COMMAND --resume STATE";
   * NULL = no such line. */
  const char *command;
  /* A learning-rate sweep: makes the model's code train at cfg->lrs[i].
   * NULL: the code is for cfg->lrs[0] only (a sweep is then refused). */
  int (*use_lr)(void *ctx, int i, SrError *err);
  void *lr_ctx;
} SrRunSetup;

/* `--seeds N` of every command that runs the experiment (sparsec run, PROG
 * train): the option table's one entry (options.h), N into an int at
 * MEMBER of TYPE, 0 when not given (then the spec's train.seeds). */
#define SR_SEEDS_OPTION(TYPE, MEMBER)                                                   \
  {"seeds", 0, SR_OPT_INT, NULL,                                                        \
   "repeat the whole run with seeds seed+1 .. seed+N-1 at the kept lr:\n"              \
   "each figure's mean and standard deviation over N seeds (default: train.seeds)",     \
   .min = 1, .max = SR_MAX_SEEDS, .offset = offsetof(TYPE, MEMBER)}

/* sr_run_experiment's result besides 0 and -1. */
#define SR_RUN_INTERRUPTED 1

typedef struct SrRun SrRun;

/* A run of the model whose state is `st` (allocated and initialised from
 * cfg->seed by the caller, who keeps owning it) on `data` (the caller's,
 * loaded with sr_program_load_data). cfg is copied. NULL + err on failure. */
SrRun *sr_run_new(SrState *st, const SrProgramConfig *cfg, const SrRunSetup *setup,
                  const SrProgramData *data, SrError *err);
void sr_run_free(SrRun *r);

/* Where the run writes its state: cfg->state, else derived from the
 * checkpoint's name, else out/NAME.state.safetensors. */
const char *sr_run_state_path(const SrRun *r);

/* Continues from a state file: everything (parameters, optimiser state,
 * position in the epoch, random streams, pretraining stage, best so far,
 * sweep) as it was saved. A state of another model is refused, naming
 * the tensor or layer that differs; changed settings are allowed and
 * reported in one line of the log. */
int sr_run_resume(SrRun *r, const char *path, SrError *err);

/* The whole experiment from where the run is to its end: every lr of the
 * sweep, pretraining, training; then the best lr's best epoch's
 * parameters in st, the report, the checkpoint. The state is saved on
 * cfg->save_every, on interrupt and at the end. 0, SR_RUN_INTERRUPTED
 * (state saved, summary and resume line printed; sr_interrupt_signal()
 * says which signal), or -1 (err says why; the last good state and the
 * best parameters so far are kept and named in the log). */
int sr_run_experiment(SrRun *r, SrError *err);

/* The REPL's steps. Pretraining: every remaining stage (layer NULL), or
 * one stage from its start. Training: `epochs` more epochs from where the
 * run is (an epoch under way counts as the first), at lrs[0], without
 * restoring the best epoch: `train 1` twice is `train 2`. Both return 0,
 * SR_RUN_INTERRUPTED (the position kept) or -1. */
int sr_run_pretrain(SrRun *r, const char *layer, SrError *err);
int sr_run_train(SrRun *r, int epochs, SrFitResult *result, SrError *err);
/* The best epoch's parameters into st; 0, or -1 when no epoch is done. */
int sr_run_restore_best(SrRun *r, SrError *err);
int sr_run_save_state(SrRun *r, const char *path, SrError *err);
/* Epochs completed. */
int sr_run_epochs_done(const SrRun *r);
/* Every training epoch's record since the run began (this process's:
 * a state file does not keep them), written to `path` as the metrics
 * file is (.csv or .jsonl, by its name). The number of records, or -1. */
int sr_run_write_metrics(SrRun *r, const char *path, SrError *err);
/* `r` goes on from where `old` is (the REPL after a change that kept the
 * state's layout and the training set): old is left fresh. */
void sr_run_take_position(SrRun *r, SrRun *old);
/* Where the run is, in words: "epoch 3, step 120 of 250". */
void sr_run_describe_position(const SrRun *r, char *buf, size_t size);

/* PREFIX (if any) and argv joined, without --resume and its value, each
 * word quoted if the shell would split or expand it: the command that the
 * resume line prints, with its own --resume. NULL if it does not fit. */
const char *sr_run_command(const char *prefix, int argc, char **argv, char *buf, size_t size);

/* ---- outputs.c ------------------------------------------------------------ */

/* Where a run of cfg writes its state: cfg->state, else the checkpoint's
 * name with .state.safetensors for .safetensors, else
 * out/NAME.state.safetensors. Like snprintf: the length it needs. */
size_t sr_state_path(const SrProgramConfig *cfg, char *buf, size_t size);
/* Makes the folder of the file `path` (mkdir -p) if it is missing. */
int sr_output_folder(const char *path, SrError *err);
/* Every file the config will write (checkpoint, state, metrics): its
 * folder is created if missing, and it must be writable there. On
 * failure *setting names the output setting ("output.checkpoint"). Run
 * it before any work, so that a bad path costs nothing. */
int sr_outputs_check(const SrProgramConfig *cfg, const char **setting, SrError *err);

/* ---- interrupt.c ---------------------------------------------------------- */

/* Catches SIGINT and SIGTERM (first: raise the flag; second: exit at
 * once) and ignores SIGXFSZ (a file-size limit is then a write error).
 * Returns the flag. */
volatile sig_atomic_t *sr_interrupt_install(void);
int sr_interrupt_signal(void); /* the signal that raised the flag, or 0 */

#endif
