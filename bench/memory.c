/* Peak memory: each path in a process of its own (maxrss is per process),
 * doing what the timed runs do at the largest batch: compile, load the
 * checkpoint, 10 training steps and 10 inference calls at batch 128. The
 * input is synthetic (half zeros, like the pixels) so that no data set is
 * counted: what remains is the libraries, the JIT, weights and buffers. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

#define MEMORY_BATCH 128

/* VmHWM of /proc/self/status: the peak of this process's own memory. A
 * process forked from a big one and exec'd inherits its parent's peak in
 * getrusage's ru_maxrss (Linux keeps the larger across exec); VmHWM
 * belongs to the new image alone. */
static long own_peak_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
      break;
  if (f)
    fclose(f);
  if (kb < 0) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    kb = usage.ru_maxrss;
  }
  return kb;
}

long memory_of_child(const char *self, const char *name, const char *spec, const char *checkpoint,
                     const char *data_dir) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' --memory-child %s --spec '%s' --checkpoint '%s' --data '%s'",
           self, name, spec, checkpoint, data_dir);
  FILE *p = popen(cmd, "r");
  long kb = -1;
  char line[256];
  while (p && fgets(line, sizeof line, p))
    sscanf(line, "peak_kb %ld", &kb);
  if (!p || pclose(p) != 0)
    return -1;
  return kb;
}

static void synthetic(SrDataset *d, int n, int dim) {
  d->n = n;
  d->dim = dim;
  d->x = malloc(sizeof(float) * n * dim);
  d->y = malloc(sizeof(int32_t) * n);
  d->owns = 1;
  SrRng rng;
  sr_rng_seed(&rng, 9);
  for (int i = 0; i < n * dim; i++)
    d->x[i] = sr_rng_uniform(&rng) < 0.5 ? 0 : (float)sr_rng_uniform(&rng);
  for (int i = 0; i < n; i++)
    d->y[i] = (int32_t)sr_rng_below(&rng, 10);
}

int memory_child(const char *name, const char *spec_path, const char *checkpoint,
                 const char *data_dir) {
  (void)data_dir;
  Spec *spec = spec_load(spec_path, stderr);
  if (!spec)
    return 1;
  char err[1024];
  BenchPath p;
  if (path_init(&p, spec, strcmp(name, "dense") == 0, MEMORY_BATCH, checkpoint, err, sizeof err) != 0) {
    fprintf(stderr, "bench: %s\n", err);
    return 1;
  }
  SrDataset d;
  synthetic(&d, MEMORY_BATCH * 10, spec->input);
  double lat[10];
  path_train(&p, &d, MEMORY_BATCH, 10, 0);
  path_infer(&p, &d, MEMORY_BATCH, 10, lat);
  sr_dataset_free(&d);
  path_free(&p);
  spec_free(spec);
  printf("peak_kb %ld\n", own_peak_kb());
  return 0;
}
