/* parallel.c: the small persistent thread pool the sparse kernels run on.
 *
 * Generated code calls sr_parallel(part, slots, rows, work). The work is cut
 * into chunks (CHUNKS_PER_THREAD per thread) and every thread of the pool,
 * the caller included, claims chunks from one atomic counter until none is
 * left: part(slots, rows, chunk, nchunks). The caller returns when every
 * chunk is done. The kernels cut their work so that no two chunks write the
 * same memory (output columns for sparse_matmul, weight rows for
 * sparse_backward_sgd) and every element is computed by the same
 * instructions in the same order however it is cut: results are
 * bit-identical with any number of threads.
 *
 * Chunks are claimed, not assigned: on a shared machine a worker may not
 * get a CPU for milliseconds, and with a fixed split the caller would wait
 * for it; here the caller just does the chunks nobody took, and waits only
 * for chunks a worker is actually running.
 *
 * The claim word is `generation << 32 | chunks left`: a worker that wakes
 * late sees another generation (or none left) and claims nothing, and the
 * job's fields are read only after a successful claim, when the job cannot
 * end (its claimed chunk is not done) and so cannot be replaced.
 *
 * Why in the runtime and not in generated code: threads, waiting and fork()
 * are the runtime's business (ahead-of-time programs link this from
 * libsparsert.a); the generated part functions stay plain loops.
 *
 * Waiting: a training step calls the pool every few tens of microseconds,
 * so idle workers spin (yielding the CPU each round, so OpenBLAS's threads
 * and other processes get it), then sleep on a condition variable.
 * One caller at a time: the pool serves one training or inference loop. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "sparsert.h"

#define MAX_THREADS 64
#define CHUNKS_PER_THREAD 4
#define SPIN_ROUNDS 200    /* busy polls before yielding */
#define YIELD_ROUNDS 20000 /* yields (about a microsecond each when the CPU is free) before sleeping */

typedef struct Pool {
  pthread_mutex_t mu;
  pthread_cond_t wake;
  int nthreads;          /* the caller included */
  int nworkers;          /* threads running: nthreads - 1 once started, else 0 */
  pthread_t workers[MAX_THREADS];
  _Atomic uint64_t claim; /* generation << 32 | chunks not yet claimed */
  atomic_int done;        /* chunks finished in the current job */
  atomic_int stop;
  SrPartKernel fn;        /* the current job: read only after a claim */
  void **slots;
  int64_t rows;
  int nchunks;
} Pool;

static Pool pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
                    .nthreads = 1};

/* Below this many multiply-adds a kernel runs on the calling thread alone:
 * handing out chunks costs a few microseconds, about what a batch-1
 * product of a sparse layer takes. */
static int64_t min_work = 1 << 17;

static uint32_t generation_of(uint64_t claim) {
  return (uint32_t)(claim >> 32);
}

static void relax(int round) {
  if (round < SPIN_ROUNDS) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } else {
    sched_yield();
  }
}

/* Claims and runs chunks of generation `gen` until none is left. */
static void run_chunks(uint32_t gen) {
  uint64_t v = atomic_load_explicit(&pool.claim, memory_order_acquire);
  while (generation_of(v) == gen && (uint32_t)v > 0) {
    if (!atomic_compare_exchange_weak_explicit(&pool.claim, &v, v - 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue; /* v now holds the current word */
    int64_t chunk = pool.nchunks - (uint32_t)v;
    pool.fn(pool.slots, pool.rows, chunk, pool.nchunks);
    atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    v = atomic_load_explicit(&pool.claim, memory_order_acquire);
  }
}

/* The generation of the next job after `seen`. */
static uint32_t wait_for_job(uint32_t seen) {
  for (int round = 0; round < SPIN_ROUNDS + YIELD_ROUNDS; round++) {
    uint32_t g = generation_of(atomic_load_explicit(&pool.claim, memory_order_acquire));
    if (g != seen)
      return g;
    relax(round);
  }
  pthread_mutex_lock(&pool.mu);
  while (generation_of(atomic_load(&pool.claim)) == seen)
    pthread_cond_wait(&pool.wake, &pool.mu);
  uint32_t g = generation_of(atomic_load(&pool.claim));
  pthread_mutex_unlock(&pool.mu);
  return g;
}

static void *worker(void *arg) {
  uint32_t seen = (uint32_t)(uintptr_t)arg;
  for (;;) {
    seen = wait_for_job(seen);
    if (atomic_load(&pool.stop))
      return NULL;
    run_chunks(seen);
  }
}

/* A new generation with `chunks` to claim (0 to stop the workers); under
 * the mutex, so that a worker about to sleep sees it or its signal. */
static uint32_t publish(int chunks) {
  pthread_mutex_lock(&pool.mu);
  uint32_t gen = generation_of(atomic_load(&pool.claim)) + 1;
  atomic_store_explicit(&pool.claim, (uint64_t)gen << 32 | (uint32_t)chunks, memory_order_release);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.mu);
  return gen;
}

static void stop_workers(void) {
  if (pool.nworkers == 0)
    return;
  atomic_store(&pool.stop, 1);
  publish(0);
  for (int t = 0; t < pool.nworkers; t++)
    pthread_join(pool.workers[t], NULL);
  pool.nworkers = 0;
  atomic_store(&pool.stop, 0);
}

/* Workers start on first use, so that a process that never runs a sparse
 * kernel with threads never has any. 0, or -1 (then the caller runs alone). */
static int start_workers(void) {
  uintptr_t gen = generation_of(atomic_load(&pool.claim));
  for (int t = 1; t < pool.nthreads; t++) {
    if (pthread_create(&pool.workers[t - 1], NULL, worker, (void *)gen) != 0) {
      stop_workers();
      pool.nthreads = 1;
      return -1;
    }
    pool.nworkers = t;
  }
  return 0;
}

/* A forked child has none of its parent's threads (Criterion forks per test). */
static void forget_workers_in_child(void) {
  pthread_mutex_init(&pool.mu, NULL);
  pthread_cond_init(&pool.wake, NULL);
  pool.nworkers = 0;
  atomic_store(&pool.stop, 0);
}

static void register_fork_handler(void) {
  pthread_atfork(NULL, NULL, forget_workers_in_child);
}

int sr_set_threads(int n) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, register_fork_handler);
  n = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
  if (n != pool.nthreads)
    stop_workers();
  pool.nthreads = n;
  return n;
}

int sr_threads(void) {
  return pool.nthreads;
}

void sr_set_parallel_min_work(int64_t work) {
  min_work = work;
}

void sr_parallel(SrPartKernel fn, void **slots, int64_t rows, int64_t work) {
  if (pool.nthreads > 1 && pool.nworkers == 0 && start_workers() != 0)
    pool.nthreads = 1;
  if (pool.nthreads == 1 || work < min_work) {
    fn(slots, rows, 0, 1);
    return;
  }
  pool.fn = fn;
  pool.slots = slots;
  pool.rows = rows;
  pool.nchunks = pool.nthreads * CHUNKS_PER_THREAD;
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  uint32_t gen = publish(pool.nchunks);
  run_chunks(gen);
  for (int round = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < pool.nchunks; round++)
    relax(round);
}
