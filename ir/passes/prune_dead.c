/* prune-dead: static pruning for deployment. A rectifier unit that is zero
 * on every example of the training set is dead: it gets no gradient, so it
 * stays dead, and its column of W_l and b_l and its row of W_{l+1} only
 * ever multiply zeros. Given the per-unit activity counts (nonzero examples
 * per unit, e.g. from sr_unit_activity), this builds the spec's module
 * again with those units removed, and a weight-copy map from the original
 * parameters to the smaller ones:
 *
 *   W_l'    = W_l[kept_{l-1}, kept_l]     (all inputs for the first layer)
 *   b_l'    = b_l[kept_l]                 signs_l' = signs_l[kept_l]
 *   W_out'  = W_out[kept_last, :]
 *
 * On the data the counts came from every hidden output equals the
 * original's restricted to the kept units, so predictions and losses are
 * the same (tests/test_prune_dead.c); the zero counts drop by the dead
 * units' zeros. On other data a "dead" unit could fire: the pruned model
 * then answers as if it had not, the usual deployment approximation.
 * A layer keeps at least one unit (all dead: unit 0 stays, always zero).
 * Pretraining is dropped from the spec: the result is for inference. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Kept units of a layer, ascending; returns how many. */
static int kept_units(const int32_t *active, int units, int *kept) {
  int n = 0;
  for (int u = 0; u < units; u++)
    if (active[u] != 0)
      kept[n++] = u;
  if (n == 0)
    kept[n++] = 0; /* a layer of width 0 is no layer: keep one silent unit */
  return n;
}

static int *copy_ints(const int *src, int n) {
  int *dst = malloc(sizeof(int) * (n ? n : 1));
  if (dst)
    memcpy(dst, src, sizeof(int) * n);
  return dst;
}

/* One entry of the map: `dst` of the pruned module from `src` of the
 * original, rows and columns selected (NULL: all). */
static int add_copy(PrunedModule *p, int dst, int src, const int *rows, int nrows,
                    const int *cols, int ncols) {
  if (dst < 0 || src < 0)
    return 0;
  PruneCopy *c = &p->copies[p->ncopies++];
  memset(c, 0, sizeof *c);
  c->dst = dst;
  c->src = src;
  c->nrows = nrows;
  c->ncols = ncols;
  c->rows = rows ? copy_ints(rows, nrows) : NULL;
  c->cols = cols ? copy_ints(cols, ncols) : NULL;
  return (rows && !c->rows) || (cols && !c->cols) ? -1 : 0;
}

static long param_bytes(const Module *m) {
  long bytes = 0;
  for (int v = 0; v < m->nvalues; v++)
    if (m->values[v].kind == VAL_PARAM || m->values[v].kind == VAL_CONST)
      bytes += (long)m->values[v].rows * m->values[v].cols * 4;
  return bytes;
}

/* The map for layer l, whose inputs `in` (NULL: all) and outputs `out`
 * (NULL: all) are kept. */
static int map_layer(PrunedModule *p, const Module *orig, int l, const int *in, int nin,
                     const int *out, int nout) {
  const LayerParams *a = &orig->layers[l], *b = &p->m->layers[l];
  return add_copy(p, b->w, a->w, in, nin, out, nout) |
         add_copy(p, b->b, a->b, NULL, 1, out, nout) |
         add_copy(p, b->signs, a->signs, NULL, 1, out, nout);
}

int prune_dead_units(const Spec *spec, const Module *orig, const int32_t *const *active,
                     PrunedModule *out, char *err, int errlen) {
  memset(out, 0, sizeof *out);
  int nlayers = spec->nlayers, *kept[SPEC_MAX_LAYERS] = {0}, nkept[SPEC_MAX_LAYERS] = {0};
  Spec small = *spec;
  LayerSpec layers[SPEC_MAX_LAYERS];
  memcpy(layers, spec->layers, sizeof(LayerSpec) * nlayers);
  small.layers = layers;
  memset(&small.pretrain, 0, sizeof small.pretrain);
  int rc = 0;
  for (int l = 0; l < nlayers - 1 && rc == 0; l++) {
    kept[l] = malloc(sizeof(int) * layers[l].units);
    rc = kept[l] ? 0 : -1;
    if (rc == 0) {
      nkept[l] = kept_units(active[l], layers[l].units, kept[l]);
      out->dead[l] = layers[l].units - nkept[l] + (nkept[l] == 1 && active[l][kept[l][0]] == 0);
      layers[l].units = nkept[l];
    }
  }
  out->nhidden = nlayers - 1;
  if (rc == 0 && !(out->m = module_build(&small, err, errlen)))
    rc = -1;
  if (rc == 0 && !(out->copies = calloc((size_t)3 * nlayers, sizeof *out->copies)))
    rc = -1;
  for (int l = 0; l < nlayers && rc == 0; l++) {
    int last = l == nlayers - 1;
    rc = map_layer(out, orig, l, l ? kept[l - 1] : NULL, l ? nkept[l - 1] : spec->input,
                   last ? NULL : kept[l], last ? layers[l].units : nkept[l]);
  }
  for (int l = 0; l < nlayers - 1; l++)
    free(kept[l]);
  if (rc != 0) {
    if (out->m)
      snprintf(err, errlen, "out of memory");
    pruned_module_free(out);
    return -1;
  }
  out->bytes_before = param_bytes(orig);
  out->bytes_after = param_bytes(out->m);
  return 0;
}

void prune_copy_weights(const PrunedModule *p, const Module *orig, void *const *src_slots,
                        void **dst_slots) {
  for (int k = 0; k < p->ncopies; k++) {
    const PruneCopy *c = &p->copies[k];
    const float *src = src_slots[c->src];
    float *dst = dst_slots[c->dst];
    int src_cols = orig->values[c->src].cols;
    for (int i = 0; i < c->nrows; i++) {
      int si = c->rows ? c->rows[i] : i;
      for (int j = 0; j < c->ncols; j++)
        dst[(size_t)i * c->ncols + j] = src[(size_t)si * src_cols + (c->cols ? c->cols[j] : j)];
    }
  }
}

void pruned_module_free(PrunedModule *p) {
  for (int k = 0; k < p->ncopies; k++) {
    free(p->copies[k].rows);
    free(p->copies[k].cols);
  }
  free(p->copies);
  module_free(p->m);
  memset(p, 0, sizeof *p);
}
