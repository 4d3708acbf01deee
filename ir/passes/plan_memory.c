/* plan-memory: every temporary gets a byte range in one arena; two
 * temporaries may share bytes when they are never live at the same time.
 *
 * A temporary is live in a program from the op that defines it to its last
 * reader (to the end if it is an output; from the start if another program
 * left it for this one: a split step's gradients). The programs (train, infer, each
 * pretraining stage) never run at the same time and each starts from fresh
 * inputs, so two values conflict only if
 * their live ranges overlap within the same program. Placement is greedy:
 * largest first, each at the lowest offset clear of the conflicting values
 * already placed (first fit over sorted intervals). */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

#define ALIGN 64 /* cache line; also what vector loads like */

typedef struct Range {
  int def, last;       /* op indices; def = -1 if not in the program */
} Range;

#define MAX_PROGRAMS (2 + SPEC_MAX_LAYERS + MODULE_MAX_SPLIT_PROGRAMS)

typedef struct Temp {
  int value;
  long bytes;
  int nprograms;
  Range in[MAX_PROGRAMS]; /* per program of module_programs() */
} Temp;

static long temp_bytes(const Value *v, int max_rows) {
  long rows = v->rows == ROWS_BATCH ? max_rows : v->rows;
  long bytes = rows * v->cols * 4;
  return (bytes + ALIGN - 1) / ALIGN * ALIGN;
}

static void live_ranges(const Program *p, Range *r, int nvalues) {
  for (int v = 0; v < nvalues; v++)
    r[v] = (Range){-1, -1};
  for (int i = 0; i < p->ncarried; i++)
    r[p->carried[i]] = (Range){0, 0}; /* in its slot on entry (a split step's gradient) */
  for (int i = 0; i < p->nops; i++) {
    const Op *op = &p->ops[i];
    for (int k = 0; k < op->nout; k++)
      if (op->out[k] >= 0 && r[op->out[k]].def < 0)
        r[op->out[k]] = (Range){i, i};
    for (int k = 0; k < op->nin; k++)
      if (r[op->in[k]].def >= 0)
        r[op->in[k]].last = i;
  }
  for (int i = 0; i < p->nlive; i++)
    if (r[p->live[i]].def >= 0)
      r[p->live[i]].last = p->nops;
}

static int overlap(Range a, Range b) {
  return a.def >= 0 && b.def >= 0 && a.def <= b.last && b.def <= a.last;
}

static int conflict(const Temp *a, const Temp *b) {
  for (int p = 0; p < a->nprograms; p++)
    if (overlap(a->in[p], b->in[p]))
      return 1;
  return 0;
}

static int by_size_desc(const void *x, const void *y) {
  const Temp *a = x, *b = y;
  if (a->bytes != b->bytes)
    return a->bytes < b->bytes ? 1 : -1;
  return a->value - b->value; /* deterministic */
}

/* Lowest offset at which `t` fits clear of every placed, conflicting temp. */
static long first_fit(const Temp *t, const Temp *placed, int nplaced, const long *offset) {
  long at = 0;
  for (int moved = 1; moved;) {
    moved = 0;
    for (int k = 0; k < nplaced; k++) {
      long lo = offset[placed[k].value], hi = lo + placed[k].bytes;
      if (conflict(t, &placed[k]) && at < hi && lo < at + t->bytes) {
        at = hi;
        moved = 1;
      }
    }
  }
  return at;
}

int plan_memory(const Module *m, int max_rows, MemoryPlan *out) {
  memset(out, 0, sizeof *out);
  int n = m->nvalues;
  const Program *programs[MAX_PROGRAMS];
  int nprograms = module_programs(m, programs);
  nprograms += module_split_programs(m, programs + nprograms);
  Range *ranges = malloc(sizeof(Range) * n * nprograms);
  Temp *temps = malloc(sizeof(Temp) * n);
  out->offset = malloc(sizeof(long) * n);
  if (!ranges || !temps || !out->offset) {
    free(ranges), free(temps), free(out->offset);
    out->offset = NULL;
    return -1;
  }
  for (int p = 0; p < nprograms; p++)
    live_ranges(programs[p], ranges + (size_t)p * n, n);
  int ntemps = 0;
  for (int v = 0; v < n; v++) {
    out->offset[v] = -1;
    Temp t = {v, temp_bytes(&m->values[v], max_rows), nprograms, {{0, 0}}};
    int used = 0;
    for (int p = 0; p < nprograms; p++) {
      t.in[p] = ranges[(size_t)p * n + v];
      used |= t.in[p].def >= 0;
    }
    if (m->values[v].kind != VAL_TEMP || !used)
      continue;
    temps[ntemps++] = t;
    out->unplanned_bytes += t.bytes;
  }
  qsort(temps, ntemps, sizeof *temps, by_size_desc);
  for (int k = 0; k < ntemps; k++) {
    long at = first_fit(&temps[k], temps, k, out->offset);
    out->offset[temps[k].value] = at;
    if (at + temps[k].bytes > out->arena_bytes)
      out->arena_bytes = at + temps[k].bytes;
  }
  free(ranges);
  free(temps);
  return 0;
}

void memory_plan_free(MemoryPlan *plan) {
  free(plan->offset);
  plan->offset = NULL;
}
