/* `sparsec run --prune-dead`: after training, the units of the kept model
 * that are dead on the training set (zero on every example), and what
 * cutting them saves the inference program (ir/passes/prune_dead.c):
 *
 *   dead units (zero on all 50000 training examples): h1 12, h2 40, h3 3;
 *   inference weights 11.17 MB -> 10.58 MB */
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "driver.h"

int report_dead_units(const Spec *spec, const Module *m, const SrModel *model,
                      const SrState *trained, const SrDataset *train) {
  int32_t *active[SR_MAX_HIDDEN] = {0};
  int rc = 0;
  for (int k = 0; k < m->nhidden && rc == 0; k++)
    rc = (active[k] = calloc((size_t)m->hidden[k].units, sizeof(int32_t))) ? 0 : -1;
  SrError err = {{0}};
  char msg[512] = "out of memory";
  PrunedModule p = {0};
  if (rc == 0 && dead_unit_activity(m, model, trained, train, active, &err) != 0) {
    snprintf(msg, sizeof msg, "%.400s", err.msg);
    rc = -1;
  }
  if (rc == 0)
    rc = prune_dead_units(spec, m, (const int32_t *const *)active, &p, msg, sizeof msg);
  if (rc == 0) {
    printf("dead units (zero on all %d training examples):", train->n);
    for (int k = 0; k < p.nhidden; k++)
      printf("%s %s %d", k ? "," : "", m->hidden[k].name, p.dead[k]);
    int mb = p.bytes_before >= 1000000;
    printf("; inference weights %.2f %s -> %.2f %s\n", p.bytes_before / (mb ? 1e6 : 1e3),
           mb ? "MB" : "KB", p.bytes_after / (mb ? 1e6 : 1e3), mb ? "MB" : "KB");
  } else {
    fprintf(stderr, "sparsec: dead units: %s\n", msg);
  }
  pruned_module_free(&p);
  for (int k = 0; k < m->nhidden; k++)
    free(active[k]);
  return rc;
}
