/* The sparse/dense threshold, found by measurement: one K x N layer, its
 * forward product (active_units + sparse_matmul) and its fused backward
 * (active_units + sparse_backward_sgd with the input gradient), each
 * compiled twice: forced sparse and forced dense (the dense variant is
 * what the switch falls back to: the list is built either way). At each
 * batch size and density both are timed (median of reps); the crossover is
 * the density where dense starts to win.
 *
 * Activations are drawn like a trained rectifier layer's: each unit k fires
 * with its own probability p_k = density * e_k, e_k ~ Exp(1) (a few units
 * busy, most rarely on), independently per example; values in (0, 1]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct Layer {
  Module *m;
  int a, dz, w, da, list, rows;
  Jit *jit;
  SrSlot *slots;
  SrModel model;
  SrState st;
} Layer;

static Op *emit_active(Program *p, const Layer *l) {
  Op *op = op_emit(p, OP_ACTIVE_UNITS);
  op->nin = 1, op->nout = 2;
  op->in[0] = l->a;
  op->out[0] = l->list;
  op->out[1] = l->rows;
  return op;
}

static int layer_init(Layer *l, int K, int N, int rows, double threshold, int with_da) {
  memset(l, 0, sizeof *l);
  Module *m = l->m = calloc(1, sizeof *m);
  m->x = l->a = value_new(m, "a", VAL_INPUT, ROWS_BATCH, K);
  m->y = value_new(m, "y", VAL_LABELS, ROWS_BATCH, 1);
  l->dz = value_new(m, "dz", VAL_INPUT, ROWS_BATCH, N);
  l->w = param_new(m, "w", K, N, PINIT_GLOROT_UNIFORM, K, N);
  int z = value_new(m, "z", VAL_TEMP, ROWS_BATCH, N);
  l->da = value_new(m, "da", VAL_TEMP, ROWS_BATCH, K);
  l->list = value_new(m, "a.active", VAL_TEMP, 1, K + 2);
  l->rows = value_new(m, "a.rows", VAL_TEMP, ROWS_BATCH, K + 1);
  m->probs = m->head_loss = m->train_loss = -1;
  m->classes = 1;
  m->infer.name = strdup("infer");
  emit_active(&m->infer, l);
  Op *fwd = op_emit2(&m->infer, OP_SPARSE_MATMUL, z, l->a, l->w);
  fwd->in[fwd->nin++] = l->list;
  fwd->in[fwd->nin++] = l->rows;
  for (int c = 0; c < SPARSE_CLASSES; c++)
    fwd->max_density[c] = threshold;
  m->train.name = strdup("train");
  emit_active(&m->train, l);
  Op *bwd = op_emit(&m->train, OP_SPARSE_BACKWARD_SGD);
  bwd->nin = 4, bwd->nout = 1;
  bwd->in[0] = l->w, bwd->in[1] = l->a, bwd->in[2] = l->dz, bwd->in[3] = l->list;
  bwd->out[0] = with_da ? l->da : -1;
  bwd->coef = 1e-6; /* the weights barely move: every rep sees the same layer */
  for (int c = 0; c < SPARSE_CLASSES; c++)
    bwd->max_density[c] = threshold;
  char err[512];
  if (!(l->jit = jit_compile(m, err, sizeof err))) {
    fprintf(stderr, "bench: %s\n", err);
    return -1;
  }
  l->slots = calloc((size_t)m->nvalues, sizeof *l->slots);
  abi_describe(m, l->slots, jit_train_step(l->jit), jit_infer(l->jit), &l->model);
  SrError e;
  return sr_state_init(&l->st, &l->model, rows, 1, &e);
}

static void layer_free(Layer *l) {
  sr_state_free(&l->st);
  free(l->slots);
  jit_free(l->jit);
  module_free(l->m);
}

/* p_k = density e_k, e_k ~ Exp(1), clipped to 1 */
static void fill_activations(float *a, int rows, int K, double density, SrRng *rng) {
  for (int k = 0; k < K; k++) {
    double p = fmin(1, -density * log(1 - sr_rng_uniform(rng)));
    for (int i = 0; i < rows; i++)
      a[(size_t)i * K + k] = sr_rng_uniform(rng) < p ? (float)(1 - sr_rng_uniform(rng)) : 0;
  }
}

/* Seconds of one call of `kernel` on the state's batch. */
static double time_once(SrKernel kernel, SrState *st, int rows) {
  int calls = rows >= 32 ? 2 : 10;
  double t0 = bench_now();
  for (int c = 0; c < calls; c++)
    kernel(st->slots, rows);
  return (bench_now() - t0) / calls;
}

/* Median over reps of sparse time / dense time, measured in pairs close
 * in time (the machine may be shared: load comes and goes). */
static double time_ratio(SrKernel sparse, SrState *ss, SrKernel dense, SrState *ds, int rows,
                         int reps) {
  double ratio[64];
  sparse(ss->slots, rows); /* warm: caches, pool threads */
  dense(ds->slots, rows);
  for (int r = 0; r < reps && r < 64; r++) {
    double ts = time_once(sparse, ss, rows);
    ratio[r] = ts / time_once(dense, ds, rows);
  }
  return bench_median(ratio, reps < 64 ? reps : 64);
}

static void copy_inputs(Layer *to, const Layer *from, int rows, int K, int N) {
  memcpy(to->st.slots[to->a], from->st.slots[from->a], sizeof(float) * rows * K);
  memcpy(to->st.slots[to->dz], from->st.slots[from->dz], sizeof(float) * rows * N);
}

double calibrate_threshold(int K, int N, int reps, FILE *out) {
  const int batches[] = {1, 10, 32, 128};
  const double densities[] = {0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0};
  const char *kinds[] = {"fwd", "bwd", "upd"};
  enum { NB = 4, ND = 11, NK = 3 };
  /* [0]: forward and backward with the input gradient; [1]: the update
   * alone (the first layer: no input gradient) */
  Layer sparse[2], dense[2];
  for (int v = 0; v < 2; v++)
    if (layer_init(&sparse[v], K, N, 128, 2.0, !v) != 0 || layer_init(&dense[v], K, N, 128, -1.0, !v) != 0)
      return -1;
  SrRng rng;
  sr_rng_seed(&rng, 77);
  double threshold = 1.0;
  fprintf(out, "calibration: one %d x %d layer, sparse / dense time (below 1: sparse wins), "
               "%d thread(s)\n", K, N, sr_threads());
  fprintf(out, "  density ");
  for (int b = 0; b < NB; b++)
    for (int k = 0; k < NK; k++)
      fprintf(out, " %s@%-4d", kinds[k], batches[b]);
  fputc('\n', out);
  double crossover[NB][NK];
  for (int b = 0; b < NB; b++)
    for (int k = 0; k < NK; k++)
      crossover[b][k] = 1.0;
  for (int d = 0; d < ND; d++) {
    fprintf(out, "  %5.2f  ", densities[d]);
    for (int b = 0; b < NB; b++) {
      int rows = batches[b];
      fill_activations(sparse[0].st.slots[sparse[0].a], rows, K, densities[d], &rng);
      for (int i = 0; i < rows * N; i++)
        ((float *)sparse[0].st.slots[sparse[0].dz])[i] = (float)(sr_rng_uniform(&rng) - 0.5);
      copy_inputs(&dense[0], &sparse[0], rows, K, N);
      copy_inputs(&sparse[1], &sparse[0], rows, K, N);
      copy_inputs(&dense[1], &sparse[0], rows, K, N);
      for (int kind = 0; kind < NK; kind++) {
        Layer *s = &sparse[kind == 2], *dn = &dense[kind == 2];
        SrKernel ks = kind ? s->model.train_step : s->model.infer;
        SrKernel kd = kind ? dn->model.train_step : dn->model.infer;
        double ratio = time_ratio(ks, &s->st, kd, &dn->st, rows, reps);
        fprintf(out, " %5.2f   ", ratio);
        if (ratio > 1 && crossover[b][kind] == 1.0)
          crossover[b][kind] = d > 0 ? densities[d - 1] : 0;
      }
    }
    fputc('\n', out);
  }
  fprintf(out, "  crossover (largest density before dense wins):\n");
  for (int b = 0; b < NB; b++) {
    fprintf(out, "    batch %3d:", batches[b]);
    for (int kind = 0; kind < NK; kind++) {
      fprintf(out, " %s %.2f", kinds[kind], crossover[b][kind]);
      threshold = fmin(threshold, crossover[b][kind]);
    }
    fputc('\n', out);
  }
  for (int v = 0; v < 2; v++) {
    layer_free(&sparse[v]);
    layer_free(&dense[v]);
  }
  return threshold;
}
