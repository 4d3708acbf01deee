/* mpi_allreduce.c: what one MPI_Allreduce of the paper network's gradients
 * costs between the ranks of this machine, alone: no training around it.
 * bench/mpi.sh compiles it with mpicc and runs it on 2 ranks.
 *
 *   mpirun -np 2 mpi_allreduce FLOATS [REPEATS [BUCKETS]]
 *
 * Prints microseconds per allreduce (the fastest of REPEATS, default 50)
 * and the payload rate; with BUCKETS, the same floats as that many
 * MPI_Iallreduce of equal parts, started one after the other, then one
 * MPI_Waitall (the overlapped exchange's calls, with nothing to overlap). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long n = argc > 1 ? atol(argv[1]) : 2797011;
  int repeats = argc > 2 ? atoi(argv[2]) : 50;
  float *buf = malloc((size_t)n * sizeof *buf);
  if (n < 1 || repeats < 1 || !buf)
    MPI_Abort(MPI_COMM_WORLD, 2);
  for (long i = 0; i < n; i++)
    buf[i] = 1.0f / (float)(i % 1000 + 1);
  int buckets = argc > 3 ? atoi(argv[3]) : 0;
  if (buckets < 0 || buckets > 64)
    MPI_Abort(MPI_COMM_WORLD, 2);
  double best = 1e9;
  for (int r = 0; r < repeats; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (buckets == 0) {
      MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    } else {
      MPI_Request req[64];
      for (int b = 0; b < buckets; b++) {
        long from = n * b / buckets, to = n * (b + 1) / buckets;
        MPI_Iallreduce(MPI_IN_PLACE, buf + from, (int)(to - from), MPI_FLOAT, MPI_SUM,
                       MPI_COMM_WORLD, &req[b]);
      }
      MPI_Waitall(buckets, req, MPI_STATUSES_IGNORE);
    }
    double t = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    best = t < best ? t : best;
  }
  if (rank == 0 && buckets == 0)
    printf("%ld floats (%.3f MB): %.1f us per MPI_Allreduce, %.2f GB/s of payload\n", n,
           n * 4 / 1e6, best * 1e6, n * 4 / best / 1e9);
  if (rank == 0 && buckets > 0)
    printf("%ld floats (%.3f MB): %.1f us as %d MPI_Iallreduce + MPI_Waitall, %.2f GB/s\n", n,
           n * 4 / 1e6, best * 1e6, buckets, n * 4 / best / 1e9);
  free(buf);
  MPI_Finalize();
  return 0;
}
