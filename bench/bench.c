/* bench: `make bench`. Times, in one run and side by side, training
 * throughput, inference latency and throughput and peak memory of
 *   dense   every product through cblas_sgemm (--passes dense)
 *   sparse  the sparse products, switching per batch (the default)
 *   PyTorch the same net, loss and SGD on the CPU (bench/torch_bench.py)
 * on the paper's 784-1000-1000-1000-10 relu net with L1 0.001, from a
 * trained checkpoint, on Fashion-MNIST, at batch 1 (inference only), 10, 32
 * and 128, with 1 and 2 threads. The machine may be shared and noisy:
 * dense and sparse bursts alternate, and each number is the median of
 * --reps bursts. It prints a markdown table with the ratios.
 *
 *   bench --checkpoint CKPT [--spec SPEC] [--data DIR] [--reps N] [--no-torch]
 *         [--quick] [--jsonl FILE]
 * --quick: 3 bursts of 640 examples per figure (a check of a change, not a
 * result); --jsonl: every figure as one JSON object per line (median, min,
 * max, n), after a header line (commit from $BENCH_COMMIT, machine, load).
 *   bench --calibrate [--reps N]    the sparse/dense threshold (calibrate.c) */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "bench"
#endif

enum { NTHREADS = 2, NBATCH = 4 };
static int burst = 1280; /* examples per timed burst (--quick: 640) */
static const int batches[NBATCH] = {1, 10, 32, 128};

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, by_value);
  return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

static Stat stat_of(const double *x, int n) {
  double tmp[64];
  memcpy(tmp, x, sizeof *x * (size_t)n);
  Stat s = {.med = bench_median(tmp, n), .lo = tmp[0], .hi = tmp[n - 1], .n = n};
  return s;
}

static Stat scaled(Stat s, double k) {
  s.med *= k, s.lo *= k, s.hi *= k;
  return s;
}

typedef struct Options {
  const char *checkpoint, *spec, *data, *torch_script, *jsonl;
  int reps, torch, calibrate, quick;
  int profile_batch;   /* --profile B: only train the sparse path at batch B (for perf) */
  int dense;           /* --dense: the dense path instead (with --profile) */
  int infer;           /* --infer: inference instead of training (with --profile) */
  int threads;
} Options;

typedef struct Results {
  Stat train_eps[2][NTHREADS][NBATCH]; /* [dense, sparse] */
  double train_ratio[NTHREADS][NBATCH];  /* median of the paired sparse/dense ratios */
  double infer_ratio[NTHREADS][NBATCH];  /* the same for inference latency: dense/sparse */
  double cap_ratio[NTHREADS][NBATCH];    /* median of paired dense/GEMM-cap ratios */
  Stat infer_lat[2][NTHREADS][NBATCH], infer_eps[2][NTHREADS][NBATCH]; /* seconds, examples/s */
  double cap[NTHREADS][NBATCH];
  double zeros[SR_MAX_HIDDEN];
  int nhidden, reps;
  long maxrss_kb[2];
  TorchResult torch;
} Results;

/* ---- the timed runs ------------------------------------------------------------ */

static void train_at(BenchPath *paths, const SrDataset *train, const int *widths, int t, int b,
                     const Options *o, Results *r) {
  int batch = batches[b], steps = burst / batch;
  double eps[2][64], ratio[64], cap[64], vs_cap[64];
  char err[1024];
  for (int rep = 0; rep < o->reps; rep++) {
    for (int k = 0; k < 2; k++) { /* dense and sparse alternate */
      if (path_reset(&paths[k], err, sizeof err) != 0)
        fprintf(stderr, "bench: %s\n", err);
      int from = rep * 7919;
      path_train(&paths[k], train, batch, 2, from); /* warm up */
      eps[k][rep] = steps * batch / path_train(&paths[k], train, batch, steps, from + 2 * batch);
    }
    cap[rep] = gemm_cap(widths, 5, batch, 3); /* right after the dense burst it is compared with */
    ratio[rep] = eps[1][rep] / eps[0][rep];
    vs_cap[rep] = eps[0][rep] / cap[rep];
  }
  for (int k = 0; k < 2; k++)
    r->train_eps[k][t][b] = stat_of(eps[k], o->reps);
  r->train_ratio[t][b] = bench_median(ratio, o->reps);
  r->cap[t][b] = bench_median(cap, o->reps);
  r->cap_ratio[t][b] = bench_median(vs_cap, o->reps);
  fprintf(stderr, "  train  batch %3d, %d thread(s): dense %8.0f  sparse %8.0f examples/s\n", batch,
          t + 1, r->train_eps[0][t][b].med, r->train_eps[1][t][b].med);
}

static void infer_at(BenchPath *paths, const SrDataset *test, int t, int b, const Options *o,
                     Results *r) {
  int batch = batches[b], calls = burst / batch > 20 ? burst / batch : 20;
  double lat[2][64], eps[2][64], ratio[64], *one = malloc(sizeof(double) * calls);
  char err[1024];
  for (int k = 0; k < 2; k++)
    if (path_reset(&paths[k], err, sizeof err) != 0)
      fprintf(stderr, "bench: %s\n", err);
  for (int rep = 0; rep < o->reps; rep++)
    for (int k = 0; k < 2; k++) {
      double total = path_infer(&paths[k], test, batch, calls, one);
      eps[k][rep] = calls * batch / total;
      lat[k][rep] = bench_median(one, calls);
    }
  for (int rep = 0; rep < o->reps; rep++)
    ratio[rep] = lat[0][rep] / lat[1][rep];
  r->infer_ratio[t][b] = bench_median(ratio, o->reps);
  for (int k = 0; k < 2; k++) {
    r->infer_lat[k][t][b] = stat_of(lat[k], o->reps);
    r->infer_eps[k][t][b] = stat_of(eps[k], o->reps);
  }
  fprintf(stderr, "  infer  batch %3d, %d thread(s): dense %8.1f  sparse %8.1f us\n", batch, t + 1,
          r->infer_lat[0][t][b].med * 1e6, r->infer_lat[1][t][b].med * 1e6);
  free(one);
}

static void time_paths(BenchPath *paths, const SrDataset *train, const SrDataset *test,
                       const int *widths, const Options *o, Results *r) {
  for (int t = 0; t < NTHREADS; t++) {
    sr_blas_threads(t + 1);
    sr_set_threads(t + 1);
    for (int b = 1; b < NBATCH; b++)
      train_at(paths, train, widths, t, b, o, r);
    for (int b = 0; b < NBATCH; b++)
      infer_at(paths, test, t, b, o, r);
  }
  sr_blas_threads(1);
  sr_set_threads(1);
}

/* ---- the table ------------------------------------------------------------------- */

static void cell(double v, const char *fmt) {
  if (v > 0)
    printf(fmt, v);
  else
    printf(" | -");
}

/* "median (min-max)" */
static void stat_cell(Stat s, const char *fmt) {
  if (s.med <= 0 || s.n == 0) {
    printf(" | -");
    return;
  }
  char f[64];
  snprintf(f, sizeof f, " | %s (%s-%s)", fmt, fmt, fmt);
  printf(f, s.med, s.lo, s.hi);
}

/* vs_dense: the median of paired ratios (0: from the medians) */
static void row(const char *what, int batch, int threads, Stat dense, Stat sparse, Stat torch,
                int lower_is_better, const char *fmt, double vs_dense) {
  printf("| %s | %d | %d", what, batch, threads);
  stat_cell(dense, fmt);
  stat_cell(sparse, fmt);
  stat_cell(torch, fmt);
  if (vs_dense <= 0)
    vs_dense = lower_is_better ? dense.med / sparse.med : sparse.med / dense.med;
  double vs_torch =
      torch.med > 0 ? (lower_is_better ? torch.med / sparse.med : sparse.med / torch.med) : 0;
  cell(vs_dense, " | %.2fx");
  cell(vs_torch, " | %.2fx");
  printf(" |\n");
}

static void print_table(const Results *r) {
  const TorchResult *tr = &r->torch;
  printf("\nhidden activations exactly zero at the checkpoint (test set):");
  for (int h = 0; h < r->nhidden; h++)
    printf(" h%d %.1f%%", h + 1, 100 * r->zeros[h]);
  printf("\n\n| measure | batch | threads | dense | sparse | PyTorch | sparse vs dense | sparse vs PyTorch |\n");
  printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (int t = 0; t < NTHREADS; t++)
    for (int b = 1; b < NBATCH; b++)
      row("train examples/s", batches[b], t + 1, r->train_eps[0][t][b], r->train_eps[1][t][b],
          tr->train_eps[t][b], 0, "%.0f", r->train_ratio[t][b]);
  for (int t = 0; t < NTHREADS; t++)
    for (int b = 0; b < NBATCH; b++)
      row("infer latency us", batches[b], t + 1, scaled(r->infer_lat[0][t][b], 1e6),
          scaled(r->infer_lat[1][t][b], 1e6), scaled(tr->infer_lat[t][b], 1e6), 1, "%.1f",
          r->infer_ratio[t][b]);
  for (int t = 0; t < NTHREADS; t++)
    for (int b = 0; b < NBATCH; b++)
      row("infer examples/s", batches[b], t + 1, r->infer_eps[0][t][b], r->infer_eps[1][t][b],
          tr->infer_eps[t][b], 0, "%.0f", 0);
  printf("| peak memory MB (batch 128) | 128 | 1");
  cell(r->maxrss_kb[0] / 1024.0, " | %.1f");
  cell(r->maxrss_kb[1] / 1024.0, " | %.1f");
  cell(tr->maxrss_kb / 1024.0, " | %.1f");
  printf(" | | |\n");
  printf("\ndense path vs its GEMMs alone (examples/s; the 11 cblas_sgemm calls of a step, nothing\n"
         "else, timed right after each dense burst; median of the paired ratios):\n");
  for (int t = 0; t < NTHREADS; t++)
    for (int b = 1; b < NBATCH; b++)
      printf("  batch %3d, %d thread(s): dense %8.0f, GEMM cap %8.0f: %.0f%% of the cap\n",
             batches[b], t + 1, r->train_eps[0][t][b].med, r->cap[t][b], 100 * r->cap_ratio[t][b]);
  printf("\neach figure: median (min-max) of %d bursts of %d examples; ratios vs dense: medians\n"
         "of the ratios of bursts run back to back; vs PyTorch: of the medians (PyTorch runs in\n"
         "processes of its own, after, one per thread count: bench/torch_bench.py).\n",
         r->reps, burst);
  if (tr->settings[0])
    printf("PyTorch's settings:\n%s", tr->settings);
  if (!tr->ok)
    printf("\nPyTorch: skipped (%s)\n", tr->note[0] ? tr->note : "no result");
}

/* ---- bench/results.jsonl ------------------------------------------------------------ */

static void loadavg(double *l) {
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
      l[0] = l[1] = l[2] = -1;
    fclose(f);
  }
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(f, "\\u%04x", *s);
    else
      fputc(*s, f);
  }
  fputc('"', f);
}

static void json_fig(FILE *f, const char *path, const char *measure, int batch, int threads, Stat s,
                     const char *unit) {
  if (s.n == 0 || s.med <= 0)
    return;
  fprintf(f,
          "{\"type\":\"figure\",\"path\":\"%s\",\"measure\":\"%s\",\"batch\":%d,\"threads\":%d,"
          "\"median\":%.6g,\"min\":%.6g,\"max\":%.6g,\"n\":%d,\"unit\":\"%s\"}\n",
          path, measure, batch, threads, s.med, s.lo, s.hi, s.n, unit);
}

/* One header line, then one line per figure (median, min, max of n bursts). */
static void write_jsonl(const char *file, const Options *o, const Results *r, const double *load0) {
  FILE *f = fopen(file, "w");
  if (!f) {
    fprintf(stderr, "bench: cannot write %s\n", file);
    return;
  }
  double load1[3] = {0};
  loadavg(load1);
  char machine[512] = "", line[256];
  FILE *p = popen("lscpu | grep -E '^(Model name|CPU\\(s\\))' | sed 's/  */ /g' | tr '\\n' ';'", "r");
  if (p) {
    if (fgets(line, sizeof line, p))
      snprintf(machine, sizeof machine, "%s", line);
    pclose(p);
  }
  machine[strcspn(machine, "\n")] = 0;
  time_t now = time(NULL);
  char date[64];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  fprintf(f, "{\"type\":\"header\",\"commit\":");
  json_str(f, getenv("BENCH_COMMIT") ? getenv("BENCH_COMMIT") : "unknown");
  fprintf(f, ",\"date\":\"%s\",\"machine\":", date);
  json_str(f, machine);
  fprintf(f, ",\"load_start\":[%.2f,%.2f,%.2f],\"load_end\":[%.2f,%.2f,%.2f]", load0[0], load0[1],
          load0[2], load1[0], load1[1], load1[2]);
  fprintf(f, ",\"quick\":%s,\"reps\":%d,\"burst\":%d,\"checkpoint\":", o->quick ? "true" : "false",
          o->reps, burst);
  json_str(f, o->checkpoint);
  fprintf(f, ",\"zeros\":[");
  for (int h = 0; h < r->nhidden; h++)
    fprintf(f, "%s%.4f", h ? "," : "", r->zeros[h]);
  fprintf(f, "],\"torch_settings\":");
  json_str(f, r->torch.settings);
  fprintf(f, ",\"torch_note\":");
  json_str(f, r->torch.note);
  fprintf(f, "}\n");
  static const char *names[3] = {"dense", "sparse", "pytorch"};
  for (int k = 0; k < 3; k++)
    for (int t = 0; t < NTHREADS; t++)
      for (int b = 0; b < NBATCH; b++) {
        const TorchResult *tr = &r->torch;
        Stat train = k < 2 ? r->train_eps[k][t][b] : tr->train_eps[t][b];
        Stat lat = k < 2 ? r->infer_lat[k][t][b] : tr->infer_lat[t][b];
        Stat eps = k < 2 ? r->infer_eps[k][t][b] : tr->infer_eps[t][b];
        json_fig(f, names[k], "train", batches[b], t + 1, train, "examples/s");
        json_fig(f, names[k], "infer_latency", batches[b], t + 1, scaled(lat, 1e6), "us");
        json_fig(f, names[k], "infer", batches[b], t + 1, eps, "examples/s");
      }
  for (int k = 0; k < 3; k++) {
    long kb = k < 2 ? r->maxrss_kb[k] : r->torch.maxrss_kb;
    Stat m = {.med = kb / 1024.0, .lo = kb / 1024.0, .hi = kb / 1024.0, .n = 1};
    if (kb > 0)
      json_fig(f, names[k], "peak_memory", 128, 1, m, "MB");
  }
  fclose(f);
  fprintf(stderr, "bench: results in %s\n", file);
}

/* ---- main ------------------------------------------------------------------------ */

static int parse(Options *o, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--no-torch") == 0)
      o->torch = 0;
    else if (strcmp(a, "--calibrate") == 0)
      o->calibrate = 1;
    else if (strcmp(a, "--quick") == 0)
      o->quick = 1;
    else if (v && strcmp(a, "--jsonl") == 0)
      o->jsonl = v, i++;
    else if (v && strcmp(a, "--checkpoint") == 0)
      o->checkpoint = v, i++;
    else if (v && strcmp(a, "--spec") == 0)
      o->spec = v, i++;
    else if (v && strcmp(a, "--data") == 0)
      o->data = v, i++;
    else if (v && strcmp(a, "--reps") == 0)
      o->reps = atoi(v), i++;
    else if (v && strcmp(a, "--profile") == 0)
      o->profile_batch = atoi(v), i++;
    else if (v && strcmp(a, "--threads") == 0)
      o->threads = atoi(v), i++;
    else if (v && strcmp(a, "--threshold") == 0)
      path_threshold = atof(v), i++;
    else if (strcmp(a, "--dense") == 0)
      o->dense = 1;
    else if (strcmp(a, "--infer") == 0)
      o->infer = 1;
    else {
      fprintf(stderr, "usage: bench --checkpoint CKPT [--spec SPEC] [--data DIR] [--reps N] "
                      "[--no-torch] [--quick] [--jsonl FILE] | bench --calibrate [--reps N]\n");
      return -1;
    }
  }
  if (o->reps < 1 || o->reps > 64)
    o->reps = o->quick ? 3 : 5;
  if (o->quick)
    burst = 640;
  return o->calibrate || o->checkpoint ? 0 : -1;
}

static int load(const char *dir, const char *set, SrDataset *out) {
  char images[1024], labels[1024];
  snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, set);
  snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, set);
  SrError err;
  if (sr_dataset_load_idx(images, labels, 1 / 255.0f, out, &err) != 0) {
    fprintf(stderr, "bench: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static void print_machine(void) {
  printf("machine:");
  fflush(stdout);
  if (system("lscpu | grep -E '^(Model name|CPU\\(s\\)|L2 cache|L3 cache)' | "
             "sed 's/  */ /g' | tr '\\n' ';'") != 0)
    printf(" (lscpu failed)");
  printf("\n");
}

/* --profile B: 10 s of training steps of one path at batch B, for
 * `perf record` (bench/README.md shows the profile). */
static int profile(const Options *o) {
  Spec *spec = spec_load(o->spec, stderr);
  SrDataset train = {0};
  if (!spec || load(o->data, "train", &train) != 0)
    return 1;
  BenchPath p;
  char err[1024];
  if (path_init(&p, spec, o->dense, o->profile_batch, o->checkpoint, err, sizeof err) != 0) {
    fprintf(stderr, "bench: %s\n", err);
    return 1;
  }
  sr_blas_threads(o->threads > 0 ? o->threads : 1);
  sr_set_threads(o->threads > 0 ? o->threads : 1);
  int steps = 0;
  double t0 = bench_now(), busy = 0, lat[10];
  while (bench_now() - t0 < 10) {
    if (o->infer)
      busy += path_infer(&p, &train, o->profile_batch, 10, lat);
    else
      busy += path_train(&p, &train, o->profile_batch, 10, steps * o->profile_batch);
    steps += 10;
  }
  printf("%s path, %s at batch %d: %d calls, %.0f examples/s, %.1f us per call\n", p.name,
         o->infer ? "inference" : "training", o->profile_batch, steps,
         steps * o->profile_batch / busy, busy / steps * 1e6);
  path_free(&p);
  sr_dataset_free(&train);
  spec_free(spec);
  return 0;
}

static int run(const Options *o, Results *r, const char *self) {
  Spec *spec = spec_load(o->spec, stderr);
  SrDataset train = {0}, test = {0};
  if (!spec || load(o->data, "train", &train) != 0 || load(o->data, "t10k", &test) != 0)
    return 1;
  BenchPath paths[2];
  char err[1024];
  for (int k = 0; k < 2; k++)
    if (path_init(&paths[k], spec, k == 0, batches[NBATCH - 1], o->checkpoint, err, sizeof err) != 0) {
      fprintf(stderr, "bench: %s path: %s\n", k ? "sparse" : "dense", err);
      return 1;
    }
  r->nhidden = paths[1].prep.model.nhidden;
  path_sparsity(&paths[1], &test, r->zeros);
  int widths[5] = {spec->input};
  for (int l = 0; l < 4 && l < spec->nlayers; l++)
    widths[l + 1] = spec->layers[l].units;
  time_paths(paths, &train, &test, widths, o, r);
  for (int k = 0; k < 2; k++)
    path_free(&paths[k]);
  for (int k = 0; k < 2; k++)
    r->maxrss_kb[k] = memory_of_child(self, k ? "sparse" : "dense", o->spec, o->checkpoint, o->data);
  if (o->torch)
    torch_run(o->torch_script, o->checkpoint, o->data, batches, NBATCH, o->reps, burst, &r->torch);
  else
    snprintf(r->torch.note, sizeof r->torch.note, "--no-torch");
  sr_dataset_free(&train);
  sr_dataset_free(&test);
  spec_free(spec);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--memory-child") == 0) {
    Options o = {.spec = NULL};
    if (parse(&o, argc - 2, argv + 2) != 0)
      return 2;
    return memory_child(argv[2], o.spec, o.checkpoint, o.data);
  }
  Options o = {.spec = BENCH_SOURCE_DIR "/../examples/fashion_mnist_relu.spn",
               .data = "/usr/share/datasets/fashion-mnist",
               .torch_script = BENCH_SOURCE_DIR "/torch_bench.py",
               .reps = 5,
               .torch = 1};
  if (parse(&o, argc, argv) != 0)
    return 2;
  if (o.profile_batch > 0)
    return profile(&o);
  print_machine();
  if (o.calibrate) {
    for (int t = 1; t <= NTHREADS; t++) {
      sr_blas_threads(t);
      sr_set_threads(t);
      calibrate_threshold(1000, 1000, o.reps, stdout);
    }
    return 0;
  }
  static Results r;
  r.reps = o.reps;
  double load0[3] = {0};
  loadavg(load0);
  int rc = run(&o, &r, argv[0]);
  if (rc == 0) {
    print_table(&r);
    if (o.jsonl)
      write_jsonl(o.jsonl, &o, &r, load0);
  }
  return rc;
}
