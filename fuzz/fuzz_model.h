/* fuzz_model.h: a small fixed model for the targets that load parameters
 * (fuzz_safetensors: checkpoints) and whole runs (fuzz_state: state
 * files), with its kernels written by hand in C, so that the real
 * experiment engine can train it, save states (fuzz_make_seeds) and go on
 * from a state a target accepted.
 *
 *   x (2 inputs) -> h1: 3 units, relu -> out: 2 classes, softmax
 *
 * Its slots have every kind the state file knows: parameters, a constant,
 * momentum velocity (F32 optimiser state), a pretraining stage for h1 with
 * a decoder bias and a noise counter (U32 optimiser state). */
#ifndef SPARSEC_FUZZ_MODEL_H
#define SPARSEC_FUZZ_MODEL_H

#include "experiment.h"

/* The rows of a state of the model (its batch-sized slots): sr_state_init's
 * max_rows. */
#define FUZZ_MODEL_ROWS 4

/* The model: its slot table, kernels and roles. */
extern const SrModel fuzz_model;
/* "h1 3 relu, out 2 softmax": the structure its states are saved with. */
extern const char fuzz_model_structure[];

/* The learning rate the kernels train at (the sweep's use_lr sets it). */
extern float fuzz_model_lr;

/* A tiny separable data set of the model's shape: 8 training examples
 * (the last 2 held out for validation) and 4 test examples, in memory. */
void fuzz_model_data(SrProgramData *d);

/* The run every state of the corpus was saved by, and every target
 * resumes: 2 epochs, batch 2, a sweep of two learning rates, state saved
 * at `state` (NULL: none). */
SrProgramConfig fuzz_model_config(const char *state);
SrRunSetup fuzz_model_setup(FILE *log, volatile sig_atomic_t *stop);

/* When > 0, the kernels count their calls down and raise *fuzz_model_stop
 * at zero: a run interrupted mid-epoch, whose state is then saved. */
extern int fuzz_model_stop_after;
extern volatile sig_atomic_t *fuzz_model_stop;

#endif
