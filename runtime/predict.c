/* predict.c: a model's probabilities for a file of examples, printed one
 * line per example: the class, then every class's probability. `PROG
 * predict` and the REPL's `predict` both print through here, from any
 * state whose parameters are loaded (a bundle's, or the session's). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "sparsert_internal.h"

/* The class is the first of the largest probabilities, as in evaluation;
 * %.9g gives each float back exactly. */
static void print_predictions(FILE *out, const float *probs, int rows, int classes) {
  for (int r = 0; r < rows; r++) {
    const float *p = probs + (size_t)r * (size_t)classes;
    int best = 0;
    for (int k = 1; k < classes; k++)
      if (p[k] > p[best])
        best = k;
    fprintf(out, "%d", best);
    for (int k = 0; k < classes; k++)
      fprintf(out, " %.9g", p[k]);
    fputc('\n', out);
  }
}

/* A batch of a data set's rows, dense or sparse, into the input slot. */
static void fill_rows(float *slot, const void *set, int first, int rows) {
  const SrDataset *ds = set;
  for (int r = 0; r < rows; r++)
    sr_dataset_row(ds, first + r, slot + (size_t)r * (size_t)ds->dim);
}

int sr_predict(SrState *st, const SrProgramConfig *cfg, const char *input,
               const char *label_column, int label_required, FILE *out, const char *out_name,
               SrError *err) {
  SrDataset in = {0};
  float *probs = NULL;
  const char *name = strcmp(input, "-") == 0 ? "standard input" : input;
  size_t bytes = 0;
  int rc = sr_program_load_inputs(cfg, input, label_column, label_required, &in, err);
  if (rc == 0) {
    bytes = ((size_t)in.n + 1) * (size_t)cfg->classes * sizeof *probs;
    if (!(probs = malloc(bytes)))
      rc = sr_fail(err, "%s: out of memory for %d predictions (%zu bytes)", name, in.n, bytes);
  }
  SrError why;
  /* nothing is printed unless every prediction is finite */
  if (rc == 0 && sr_infer_batches(st, fill_rows, &in, in.n, probs, &why) != 0)
    rc = sr_fail(err, "%s: %s", name, why.msg);
  if (rc == 0)
    print_predictions(out, probs, in.n, cfg->classes);
  if (rc == 0 && (fflush(out) != 0 || ferror(out)))
    rc = sr_fail(err, "writing the predictions to %s: %s", out_name, strerror(errno));
  free(probs);
  sr_dataset_free(&in);
  return rc;
}
