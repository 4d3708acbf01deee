/* Counts for `sparsec ir --stats`: how many kernels a program runs, how many
 * times it streams batch-sized tensors through memory outside the dense
 * products (what fusion reduces), and how much temporary memory it needs. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static int batch_sized(const Module *m, int v) {
  return v >= 0 && m->values[v].rows == ROWS_BATCH && m->values[v].kind != VAL_LABELS;
}

static long value_bytes(const Module *m, int v, int rows) {
  const Value *val = &m->values[v];
  return (long)(val->rows == ROWS_BATCH ? rows : val->rows) * val->cols * 4;
}

static int touches(const Op *op, int v) {
  for (int k = 0; k < op->nin; k++)
    if (op->in[k] == v)
      return 1;
  for (int k = 0; k < op->nout; k++)
    if (op->out[k] == v)
      return 1;
  return 0;
}

void program_stats(const Module *m, const Program *p, int rows, ProgramStats *out) {
  memset(out, 0, sizeof *out);
  char *seen = calloc(m->nvalues ? m->nvalues : 1, 1);
  for (int i = 0; i < p->nops; i++) {
    const Op *op = &p->ops[i];
    out->kernels++;
    for (int k = 0; k < op->nout; k++)
      if (op->out[k] >= 0 && seen && !seen[op->out[k]]) {
        seen[op->out[k]] = 1;
        out->temp_bytes += value_bytes(m, op->out[k], rows);
      }
    if (op->kind == OP_MATMUL || op->kind == OP_MATMUL_SGD) {
      out->dense_products++;
      continue;
    }
    if (op->kind == OP_SPARSE_MATMUL || op->kind == OP_SPARSE_BACKWARD_SGD) {
      out->sparse_products++;
      continue;
    }
    for (int k = 0; k < op->nin; k++)
      out->activation_passes += batch_sized(m, op->in[k]);
    for (int k = 0; k < op->nout; k++)
      out->activation_passes += batch_sized(m, op->out[k]);
    for (int h = 0; h < m->nhidden; h++)
      out->hidden_passes[h] += touches(op, m->hidden[h].output);
  }
  free(seen);
}
