/* BLAS settings: the one place the runtime talks to OpenBLAS directly
 * (generated code calls cblas_sgemm itself).
 *
 * Memory limits. OpenBLAS gives every thread that runs a dense product a
 * work buffer of BUFFER_SIZE (128 MiB in OpenBLAS 0.3 on x86-64, whatever
 * the matrices) and cannot fail to get one: blas_memory_alloc retries
 * mmap and malloc for ever. Under an address-space limit (ulimit -v) too small
 * for one more buffer, a product would spin instead of failing. Three
 * moments matter:
 *   - its library constructor starts one worker per CPU, before main, and
 *     each worker allocates its buffer as it starts: under a limit a
 *     worker may spin from the start, and exit() then waits for it for
 *     ever (the destructor joins the workers). sr_blas_preinit, which the
 *     executables (driver/main.c, runtime/program_main.c) put in their
 *     .preinit_array, runs before any library's constructor: when memory
 *     is limited it restarts the process with OPENBLAS_NUM_THREADS=1 (the
 *     variable stays set, for the processes it starts too), so that no
 *     worker starts at load time. sparsec sets the number of threads
 *     itself anyway (--threads, default 1);
 *   - the first product on the calling thread allocates that thread's
 *     buffer, and the workers added by openblas_set_num_threads theirs:
 *     sr_blas_threads first checks there is room for all of them with a
 *     test mapping of the same kind, and stops the process with an "out of
 *     memory" message if not; then it runs one small product on every
 *     thread, so that the buffers are taken now, before the model and the
 *     data are allocated (later products reuse them and never allocate);
 *   - should the buffers be larger than this file thinks (another
 *     OpenBLAS build), that warm-up product could still spin: a watchdog
 *     ends the process with the same message if it does not return within
 *     WARMUP_SECONDS. */
#define _GNU_SOURCE /* program_invocation_short_name, pthread_getattr_default_np */
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "sparsert.h"

#define MIB ((size_t)1 << 20)
#define OPENBLAS_BUFFER (128 * MIB) /* BUFFER_SIZE: one mmap of 134217728 bytes per thread */
#define SLACK (4 * MIB)             /* glibc and OpenBLAS bookkeeping around the buffers */
#define WARMUP_SECONDS 10           /* the warm-up product takes well under a millisecond */

/* Memory an address-space or data limit, or strict overcommit, may refuse
 * to OpenBLAS's buffers. Without any, a buffer is address space nobody
 * touches, and a 128 MiB mapping does not fail. Plain system calls: this
 * runs before libc is initialised. */
static int memory_is_limited(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
    return 1;
  if (getrlimit(RLIMIT_DATA, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
    return 1; /* since Linux 4.7 it counts private writable mappings too */
  char mode = '0';
  int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &mode, 1) != 1)
      mode = '0';
    close(fd);
  }
  return mode == '2';
}

/* The process runs as itself, not as an argument of the dynamic loader
 * (`ld.so PROG`), which /proc/self/exe would then name. */
static int exe_is_program(void) {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0)
    return 0;
  path[n] = 0;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return strncmp(base, "ld-linux", 8) != 0 && strncmp(base, "ld.so", 5) != 0;
}

void sr_blas_preinit(int argc, char **argv, char **envp) {
  (void)argc;
  static char one[] = "OPENBLAS_NUM_THREADS=1";
  const size_t name = sizeof "OPENBLAS_NUM_THREADS=" - 1;
  size_t n = 0, found = (size_t)-1;
  for (; envp && envp[n]; n++)
    if (strncmp(envp[n], one, name) == 0)
      found = n;
  if (!envp || (found != (size_t)-1 && strcmp(envp[found], one) == 0))
    return; /* already one thread, e.g. after the restart below */
  if (!memory_is_limited() || !exe_is_program())
    return;
  /* libc takes its environment from this very array after the preinit
   * functions (setenv now would be forgotten), and it cannot grow: start
   * again with the variable set, before any constructor has run. */
  char *env[n + 2];
  memcpy(env, envp, n * sizeof *env);
  if (found != (size_t)-1)
    env[found] = one;
  else
    env[n++] = one;
  env[n] = NULL;
  execve("/proc/self/exe", argv, env);
  /* no /proc: go on; OpenBLAS's workers may then spin under the limit */
}

/* From any thread, with OpenBLAS possibly holding malloc's locks: no
 * stdio beyond formatting, no malloc. */
static _Noreturn void out_of_memory(int threads, size_t bytes) {
  char msg[256];
  int len = snprintf(msg, sizeof msg,
                     "%s: out of memory for the work buffers of OpenBLAS (%d thread%s for dense "
                     "products): %zu bytes\n",
                     program_invocation_short_name, threads, threads == 1 ? "" : "s", bytes);
  if (len > (int)sizeof msg - 1)
    len = (int)sizeof msg - 1;
  if (write(STDERR_FILENO, msg, (size_t)len) < 0) {
    /* nothing more to say */
  }
  _exit(1); /* exit() would join OpenBLAS's workers, which may be spinning */
}

/* A thread's stack, as pthread_create gives it by default (a worker's). */
static size_t default_stack(void) {
  pthread_attr_t attr;
  size_t size = 8 * MIB;
  if (pthread_getattr_default_np(&attr) == 0) {
    if (pthread_attr_getstacksize(&attr, &size) != 0)
      size = 8 * MIB;
    pthread_attr_destroy(&attr);
  }
  return size + 64 * 1024; /* guard page and thread descriptor */
}

/* Room for `bytes` of the kind of memory OpenBLAS maps (private, writable,
 * counted against the limits), or the process ends. Nothing is touched. */
static void check_headroom(int threads, size_t bytes) {
  void *p = mmap(NULL, bytes + SLACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    out_of_memory(threads, bytes);
  munmap(p, bytes + SLACK);
}

/* ---- the watchdog of the warm-up product ---- */

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  int threads;
  size_t bytes;
} watch = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *watchdog(void *arg) {
  (void)arg;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += WARMUP_SECONDS;
  pthread_mutex_lock(&watch.mu);
  int rc = 0;
  while (!watch.done && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&watch.cv, &watch.mu, &until);
  int done = watch.done;
  pthread_mutex_unlock(&watch.mu);
  if (!done)
    out_of_memory(watch.threads, watch.bytes);
  return NULL;
}

/* 0 with the watchdog running, -1 if it could not start (then the warm-up
 * runs unwatched: the headroom check has passed). */
static int watchdog_start(pthread_t *t, int threads, size_t bytes) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0)
    return -1;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(&watch.cv, &ca);
  pthread_condattr_destroy(&ca);
  if (rc != 0)
    return -1;
  watch.done = 0;
  watch.threads = threads;
  watch.bytes = bytes;
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) {
    pthread_cond_destroy(&watch.cv);
    return -1;
  }
  pthread_attr_setstacksize(&attr, 64 * 1024);
  rc = pthread_create(t, &attr, watchdog, NULL);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_cond_destroy(&watch.cv);
    return -1;
  }
  return 0;
}

static void watchdog_stop(pthread_t t) {
  pthread_mutex_lock(&watch.mu);
  watch.done = 1;
  pthread_cond_signal(&watch.cv);
  pthread_mutex_unlock(&watch.mu);
  pthread_join(t, NULL);
  pthread_cond_destroy(&watch.cv);
}

/* ---- threads ---- */

static int pool_threads; /* OpenBLAS threads that exist, the caller's included; 0: not known yet */
static int caller_ready; /* the calling thread has its buffer */

/* The shape of the warm-up product: OpenBLAS runs products of up to about
 * a million multiply-adds on its small-matrix kernels (no buffer) and
 * below 4 * 65536 on one thread, and gives a thread rows only in runs of
 * SWITCH_RATIO (a small constant of its param.h): 64 rows per thread, 16
 * columns and 1024 terms reach every thread's buffer (seen with strace for
 * 1 to 5 threads). */
#define WARM_ROWS_PER_THREAD 64
#define WARM_COLS 16
#define WARM_TERMS 1024

void sr_blas_threads(int n) {
  n = n < 1 ? 1 : n;
  if (pool_threads == 0)
    pool_threads = openblas_get_num_threads();
  int new_workers = n > pool_threads ? n - pool_threads : 0;
  size_t bytes = (caller_ready ? 0 : OPENBLAS_BUFFER) +
                 (size_t)new_workers * (OPENBLAS_BUFFER + default_stack());
  if (bytes == 0) {
    openblas_set_num_threads(n);
    return;
  }
  /* The warm-up's matrices first, so that the headroom check counts them. */
  size_t rows = (size_t)WARM_ROWS_PER_THREAD * (size_t)n;
  size_t floats = rows * WARM_TERMS + WARM_TERMS * WARM_COLS + rows * WARM_COLS;
  float *a = calloc(floats, sizeof *a);
  if (!a)
    out_of_memory(n, bytes + floats * sizeof *a);
  check_headroom(n, bytes);
  openblas_set_num_threads(n);
  if (n > pool_threads)
    pool_threads = n;
  float *b = a + rows * WARM_TERMS, *c = b + WARM_TERMS * WARM_COLS;
  pthread_t t;
  int watched = watchdog_start(&t, n, bytes) == 0;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, WARM_COLS, WARM_TERMS, 1.0f, a,
              WARM_TERMS, b, WARM_COLS, 0.0f, c, WARM_COLS);
  if (watched)
    watchdog_stop(t);
  free(a);
  caller_ready = 1;
}
