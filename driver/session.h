/* The REPL's session: a spec (the text of a file, with blocks typed in,
 * plus overrides), checked into a Spec, compiled by the JIT, with a
 * runtime state (the weights) and the data. Every change is checked and
 * compiled in full before it replaces the session's state, so a change
 * that fails leaves the session as it was.
 *
 * The session writes results to `out` and messages to `err`; it knows
 * nothing of line editing (repl.c) or of how commands are spelt
 * (repl_commands.c). Every function returns 0, or -1 after a message. */
#ifndef SPARSEC_DRIVER_SESSION_H
#define SPARSEC_DRIVER_SESSION_H

#include <signal.h>

#include "build.h"
#include "driver.h"
#include "experiment.h"
#include "model.h"

/* How long the last (re)compilation took, in ms. */
typedef struct CompileTimes {
  double check, prepare, codegen, optimise, machine, cache, state, total;
  int reused;          /* the module was the same code: the JIT was kept, LLVM did not run */
  int cached;          /* the machine code came from the on-disk cache (backend/jit_cache.c) */
} CompileTimes;

typedef struct Session {
  FILE *out, *err;
  volatile sig_atomic_t *stop; /* raised by Ctrl-C: training stops at the next minibatch */
  PassOptions passes;          /* the optimiser, as `run --passes` sets it */
  int verbosity;               /* SR_QUIET: no compile or data lines; SR_VERBOSE: the layers too */
  /* the spec */
  char *path;                  /* the file loaded, or NULL */
  char *text;                  /* its text, with the blocks typed in */
  int edited;                  /* blocks were typed in */
  char *overrides[MAX_OVERRIDES]; /* PATH=VALUE, at most one per path */
  int noverrides;
  Spec *spec;                  /* text + overrides, checked; NULL until a spec is loaded */
  /* what it became */
  CompiledModel c;
  SrState state;
  SrProgramData data;          /* read for the spec's data block, split for its model */
  CompileTimes times;
  /* the experiment engine's run (runtime/experiment.h): where training
   * is, so that `train 1` twice is `train 2`; its config and data */
  SrRun *run;
  BuildConfig config;          /* the spec as the engine takes it */
  /* training so far, since the weights were initialised */
  int epochs, steps;
  int runs;                    /* `train N steps` commands: each draws a sample of its own */
} Session;

void session_init(Session *s, FILE *out, FILE *err);
void session_free(Session *s);
int session_ready(const Session *s, FILE *err); /* a spec is loaded; else a message */

/* ---- changing the spec: each recompiles (session.c) ---------------------- */

/* Loads a spec file: the overrides and the blocks typed so far are
 * dropped, the weights initialised from the spec's seed. */
int session_load(Session *s, const char *path);
/* Adds (or replaces) an override, `PATH=VALUE` as `--set` takes it. */
int session_set(Session *s, const char *assignment);
/* Drops the override of PATH. */
int session_unset(Session *s, const char *path);
/* Spec text typed in: whole blocks, each replacing the block of its name.
 * Overrides into a replaced block are dropped (the block says what it
 * wants). */
int session_define(Session *s, const char *typed);
/* Initialises the weights again from the spec's seed. */
int session_reset(Session *s);

/* ---- using it (session_run.c) --------------------------------------------- */

typedef enum DataPart { PART_VALID, PART_TEST, PART_TRAIN } DataPart;

/* `count` epochs (0: the spec's), or `count` minibatches with steps set. */
int session_train(Session *s, int count, int steps);
/* The pretraining stage of `layer`, or every stage (NULL). */
int session_pretrain(Session *s, const char *layer);
int session_eval(Session *s, DataPart part);
/* Zeros and dead units per hidden layer. */
int session_sparsity(Session *s, DataPart part);
int session_save(Session *s, const char *path);
/* The inference function with the current weights, as ONNX (backend/onnx.c). */
int session_export_onnx(Session *s, const char *path);
/* The whole resumable state (docs/checkpoints.md). */
int session_save_state(Session *s, const char *path);
/* A checkpoint's weights, or a state file's everything: `train` then goes
 * on from where it was saved. */
int session_restore(Session *s, const char *path);
/* The best epoch's parameters of the training so far. */
int session_restore_best(Session *s);
/* The session's spec (its text, typed blocks and overrides) as a spec file
 * that `sparsec run` runs with the same settings. */
int session_save_spec(Session *s, const char *path);
/* Every training epoch's record of the session, as a metrics file (.csv
 * or .jsonl, by the name). */
int session_metrics(Session *s, const char *path);
/* The class and probabilities of each example of a file (IDX images or
 * CSV), as a built program's predict prints them. */
int session_predict(Session *s, const char *path);
/* After Ctrl-C from a pipe: the state saved where output.state says. */
int session_save_interrupted(Session *s);

/* ---- showing it (session_show.c) ------------------------------------------ */

void session_show_model(const Session *s);
void session_show_spec(const Session *s);   /* the text, numbered, and the overrides */
void session_show_times(const Session *s);  /* the last compilation */
int session_ir(Session *s, const IrOptions *o);

/* The names tab completion offers, NULL-terminated; the caller frees the
 * array (not the names, which belong to the session). */
const char **session_layer_names(const Session *s, int hidden_only);

#endif
