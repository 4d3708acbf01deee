/* PyTorch's numbers: bench/torch_bench.py in a child process (Debian's
 * python3-torch is for /usr/bin/python3; $PYTHON overrides), its lines
 * parsed. Absent PyTorch gives a note instead of numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char *python(void) {
  const char *env = getenv("PYTHON");
  if (env && *env)
    return env;
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

static int batch_index(const int *batches, int n, int b) {
  for (int i = 0; i < n; i++)
    if (batches[i] == b)
      return i;
  return -1;
}

static Stat stat(double med, double lo, double hi, int n) {
  Stat s = {.med = med, .lo = lo, .hi = hi, .n = n};
  return s;
}

static void parse_line(const char *line, const int *batches, int nbatches, TorchResult *out) {
  int threads, batch, n;
  double a, b, lo, hi, elo, ehi;
  long kb;
  if (sscanf(line, "torch train threads=%d batch=%d eps=%lf min=%lf max=%lf n=%d", &threads, &batch,
             &a, &lo, &hi, &n) == 6) {
    int i = batch_index(batches, nbatches, batch);
    if (i >= 0 && threads >= 1 && threads <= 2)
      out->train_eps[threads - 1][i] = stat(a, lo, hi, n), out->ok = 1;
  } else if (sscanf(line,
                    "torch infer threads=%d batch=%d latency_us=%lf eps=%lf lat_min=%lf lat_max=%lf "
                    "eps_min=%lf eps_max=%lf n=%d",
                    &threads, &batch, &a, &b, &lo, &hi, &elo, &ehi, &n) == 9) {
    int i = batch_index(batches, nbatches, batch);
    if (i >= 0 && threads >= 1 && threads <= 2) {
      out->infer_lat[threads - 1][i] = stat(a * 1e-6, lo * 1e-6, hi * 1e-6, n);
      out->infer_eps[threads - 1][i] = stat(b, elo, ehi, n);
      out->ok = 1;
    }
  } else if (sscanf(line, "torch maxrss_kb=%ld", &kb) == 1) {
    out->maxrss_kb = kb;
  } else if (strncmp(line, "torch settings ", 15) == 0 && !strstr(out->settings, line)) {
    size_t used = strlen(out->settings);
    snprintf(out->settings + used, sizeof out->settings - used, "  %s", line + 15);
  } else if (strncmp(line, "torch skipped: ", 15) == 0) {
    snprintf(out->note, sizeof out->note, "%.200s", line + 15);
    out->note[strcspn(out->note, "\n")] = 0;
  }
}

static void run_script(const char *cmd, const int *batches, int nbatches, TorchResult *out) {
  FILE *p = popen(cmd, "r");
  if (!p) {
    snprintf(out->note, sizeof out->note, "cannot run %s", python());
    return;
  }
  char line[512];
  while (fgets(line, sizeof line, p)) {
    fputs(line, stderr); /* progress, as the numbers arrive */
    parse_line(line, batches, nbatches, out);
  }
  if (pclose(p) != 0 && !out->note[0])
    snprintf(out->note, sizeof out->note, "torch_bench.py failed");
}

void torch_run(const char *script, const char *checkpoint, const char *data_dir,
               const int *batches, int nbatches, int reps, int burst, TorchResult *out) {
  memset(out, 0, sizeof *out);
  char list[128] = "", cmd[2048];
  for (int i = 0; i < nbatches; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", batches[i]);
  snprintf(cmd, sizeof cmd, "%s %s --checkpoint %s --data %s --batches %s --reps %d --burst %d",
           python(), script, checkpoint, data_dir, list, reps, burst);
  run_script(cmd, batches, nbatches, out);
  if (!out->ok)
    return;
  snprintf(cmd, sizeof cmd, "%s %s --checkpoint %s --memory", python(), script, checkpoint);
  run_script(cmd, batches, nbatches, out);
}
