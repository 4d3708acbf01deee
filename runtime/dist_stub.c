/* dist_stub.c: the transport without MPI (libsparsert_serial.a, and
 * libsparsert.a of a build without MPI). One rank only: the collectives
 * leave their data as it is, which is what they compute for a job of one.
 * Started by mpirun as one of N > 1 ranks, it says so and stops instead of
 * training N separate copies. */
#include <stdlib.h>

#include "dist_internal.h"

int sr_net_init(SrDist *d, SrError *err) {
  (void)d;
  return sr_fail(err,
                 "mpirun started %d ranks, but this program was built without MPI: run it "
                 "without mpirun, or rebuild it with MPI (sparsec: install libopenmpi-dev, "
                 "scripts/install-deps.sh; a program: sparsec build --mpi)",
                 sr_dist_launched_size());
}

void sr_net_finalize(SrDist *d) {
  (void)d;
}

_Noreturn void sr_net_abort(SrDist *d) {
  (void)d;
  exit(1);
}

void sr_net_sum_floats(SrDist *d, float *buf, size_t n) {
  (void)d, (void)buf, (void)n;
}

void sr_net_start_sum_floats(SrDist *d, float *buf, size_t n) {
  (void)d, (void)buf, (void)n;
}

void sr_net_progress(SrDist *d) {
  (void)d;
}

void sr_net_wait_all(SrDist *d) {
  (void)d;
}

void sr_net_sum_doubles(SrDist *d, double *buf, size_t n) {
  (void)d, (void)buf, (void)n;
}

void sr_net_max_bytes(SrDist *d, uint8_t *buf, size_t n) {
  (void)d, (void)buf, (void)n;
}

void sr_net_min_int(SrDist *d, int *v) {
  (void)d, (void)v;
}

void sr_net_max_float(SrDist *d, float *v) {
  (void)d, (void)v;
}

void sr_net_allgather_u64(SrDist *d, uint64_t v, uint64_t *all) {
  (void)d;
  all[0] = v;
}
