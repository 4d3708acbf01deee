/* dist_mpi.c: the transport over MPI (built when CMake finds it). Every
 * call is collective on MPI_COMM_WORLD and keeps MPI's default error
 * handler, MPI_ERRORS_ARE_FATAL: a broken connection or a dead peer ends
 * the job with MPI's message rather than returning into a loop that would
 * wait for the dead rank. */
#include <mpi.h>
#include <stdlib.h>

#include "dist_internal.h"

#ifdef SPARSEC_KEEP_LIBRARIES_MAPPED
/* Sanitized builds only. Open MPI leaks a little by design in MPI_Init and
 * MPI_Finalize, much of it in plugins that it unloads (dlclose) before
 * LeakSanitizer reports: their frames then show as "<unknown module>",
 * which no suppression can match. Defined here, in the object every
 * data-parallel program links, this dlclose keeps every library mapped,
 * so that the report names them and tests/lsan-mpi.supp suppresses Open
 * MPI's leaks by library and nothing of ours. */
int dlclose(void *handle);

int dlclose(void *handle) {
  (void)handle;
  return 0;
}
#endif

/* Open MPI picks, for MPI_Iallreduce of a few MB between 2 ranks, an
 * algorithm of libnbc that took 2.5 times as long as its ring (the paper
 * net's 11.2 MB in three buckets: 4.1 ms against 1.6 ms) and made the
 * exchange 5 times slower inside training (bench/MPI.md); the ring was as
 * fast as the blocking call, and it is the bandwidth-optimal choice for
 * large messages between nodes. A
 * choice the user made (the variable set, or --mca) wins: overwrite 0.
 * Other MPIs ignore the variable. */
static void prefer_ring_iallreduce(void) {
  setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
}

int sr_net_init(SrDist *d, SrError *err) {
  int provided;
  prefer_ring_iallreduce();
  if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return sr_fail(err, "MPI_Init failed");
  d->mpi = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &d->size);
  MPI_Comm node;
  int node_size;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  d->one_node = node_size == d->size; /* the same answer on every rank */
  return 0;
}

void sr_net_finalize(SrDist *d) {
  if (d->mpi)
    MPI_Finalize();
  d->mpi = 0;
}

_Noreturn void sr_net_abort(SrDist *d) {
  (void)d;
  MPI_Abort(MPI_COMM_WORLD, 1);
  _Exit(1); /* MPI_Abort does not return; the compiler cannot know */
}

/* MPI counts are ints: large buffers go in chunks. */
#define CHUNK (1 << 30)

static void allreduce(SrDist *d, void *buf, size_t n, MPI_Datatype type, size_t size, MPI_Op op) {
  if (!d->mpi)
    return;
  for (size_t at = 0; at < n; at += CHUNK) {
    int count = n - at < CHUNK ? (int)(n - at) : CHUNK;
    MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * size, count, type, op, MPI_COMM_WORLD);
  }
}

void sr_net_sum_floats(SrDist *d, float *buf, size_t n) {
  allreduce(d, buf, n, MPI_FLOAT, sizeof *buf, MPI_SUM);
}

/* The requests under way live in d->requests, an MPI_Request array. */
static MPI_Request *new_request(SrDist *d) {
  if (d->nrequests == d->requests_cap) {
    int cap = d->requests_cap ? 2 * d->requests_cap : 16;
    MPI_Request *r = realloc(d->requests, sizeof *r * (size_t)cap);
    if (!r)
      sr_dist_abort(d, "out of memory for the gradient exchange's requests");
    d->requests = r;
    d->requests_cap = cap;
  }
  return (MPI_Request *)d->requests + d->nrequests++;
}

void sr_net_start_sum_floats(SrDist *d, float *buf, size_t n) {
  if (!d->mpi)
    return;
  for (size_t at = 0; at < n; at += CHUNK) {
    int count = n - at < CHUNK ? (int)(n - at) : CHUNK;
    MPI_Iallreduce(MPI_IN_PLACE, buf + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                   new_request(d));
  }
}

void sr_net_progress(SrDist *d) {
  int done;
  if (d->nrequests > 0)
    MPI_Testall(d->nrequests, d->requests, &done, MPI_STATUSES_IGNORE);
}

void sr_net_wait_all(SrDist *d) {
  if (d->nrequests > 0)
    MPI_Waitall(d->nrequests, d->requests, MPI_STATUSES_IGNORE);
  d->nrequests = 0;
}

void sr_net_sum_doubles(SrDist *d, double *buf, size_t n) {
  allreduce(d, buf, n, MPI_DOUBLE, sizeof *buf, MPI_SUM);
}

void sr_net_max_bytes(SrDist *d, uint8_t *buf, size_t n) {
  allreduce(d, buf, n, MPI_UINT8_T, sizeof *buf, MPI_MAX);
}

void sr_net_min_int(SrDist *d, int *v) {
  allreduce(d, v, 1, MPI_INT, sizeof *v, MPI_MIN);
}

void sr_net_max_float(SrDist *d, float *v) {
  allreduce(d, v, 1, MPI_FLOAT, sizeof *v, MPI_MAX);
}

void sr_net_allgather_u64(SrDist *d, uint64_t v, uint64_t *all) {
  if (!d->mpi) {
    all[0] = v;
    return;
  }
  MPI_Allgather(&v, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
}
