/* dist.h: data-parallel training across the ranks of an MPI job
 * (docs/parallel.md).
 *
 * `mpirun -np N sparsec run FILE` starts N processes (ranks). Each holds the
 * whole model and the whole data set; every rank draws the same shuffle from
 * the seed, and each global minibatch of N x batch examples is cut into N
 * contiguous slices, rank r taking slice r. Each rank runs the model's
 * split step (SrModel.train_split): its gradients, then their average over
 * the ranks (in buckets whose MPI_Iallreduce starts as the backward pass
 * finishes them), then the same update, so the weights stay identical
 * everywhere (a checksum each epoch proves it). Training with N ranks and
 * batch b computes what one process computes with batch N x b, up to float
 * rounding. Opt-in local SGD (SPARSEC_LOCAL_STEPS=K) gives that up: ranks
 * step alone and average their models every K minibatches. Rank 0 alone
 * prints and writes files.
 *
 *   dist.c           joining the job, agreement, checksums, aborting, statistics
 *   dist_mpi.c       the MPI calls (built when CMake finds MPI: SPARSEC_HAVE_MPI)
 *   dist_stub.c      ... or their single-process stand-ins
 *   dist_exchange.c  averaging a split step's gradients: dense (overlapped), or only
 *                    touched rows; averaging the models (local SGD)
 *   dist_train.c     the minibatch loops of sr_fit and sr_pretrain, evaluation
 *
 * Collective functions must be called by every rank in the same order; a
 * NULL SrDist is a single process and every function is then a no-op. */
#ifndef SPARSEC_DIST_H
#define SPARSEC_DIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sparsert.h"

/* How gradients travel (SPARSEC_EXCHANGE=dense|sparse|auto). */
typedef enum SrExchange {
  SR_EXCHANGE_AUTO,    /* sparse while it moves at most half the bytes of dense, else dense */
  SR_EXCHANGE_DENSE,   /* every gradient whole: one allreduce per step */
  SR_EXCHANGE_SPARSE,  /* a row mask, then only rows some rank touched: two allreduces */
} SrExchange;

/* ---- joining and leaving ------------------------------------------------- */

/* How many ranks the launcher started, from the environment it sets
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE); 1 outside mpirun. */
int sr_dist_launched_size(void);

/* Joins the job: *out = NULL (one process, nothing to do) unless the
 * launcher started N > 1 ranks; then MPI_Init. Fails with "built without
 * MPI" in a build without it. Reads SPARSEC_EXCHANGE, SPARSEC_BUCKET_KB,
 * SPARSEC_LOCAL_STEPS and the test hook SPARSEC_MPI_FAULT
 * (docs/parallel.md); a bad value is an error. */
int sr_dist_open(SrDist **out, SrError *err);

/* One rank, no MPI: the data-parallel code path in a single process. */
SrDist *sr_dist_single(void);

/* MPI_Finalize (after a failure that every rank agreed on), or, after a
 * failure that only this rank knows of (`failed` and not agreed), ends the
 * whole job with MPI_Abort so that no other rank waits for it forever. */
void sr_dist_close(SrDist *d, int failed);

/* Ranks other than 0 send their stdout to /dev/null, so that one rank
 * prints the log, the results and the statistics; stderr stays, for
 * messages about a rank's own failure. */
void sr_dist_silence_others(const SrDist *d);

int sr_dist_rank(const SrDist *d); /* 0 for NULL */
int sr_dist_size(const SrDist *d); /* 1 for NULL */
static inline int sr_dist_is_root(const SrDist *d) {
  return sr_dist_rank(d) == 0;
}

/* Prints "sparsec: rank R: MESSAGE" on stderr and ends every rank of the
 * job (MPI_Abort); exits in a single process. */
_Noreturn void sr_dist_abort(SrDist *d, const char *message);

/* ---- collective checks --------------------------------------------------- */

/* Every rank passes its own outcome (rc < 0: failed, message in err). All
 * get 0 if every rank succeeded; otherwise all get -1: a failed rank's
 * message is prefixed "rank R: ", the others say which rank failed. */
int sr_dist_agree(SrDist *d, int rc, SrError *err);

/* A checksum of every PARAM, CONST and STATE slot, compared across ranks:
 * -1 with a message naming `when` and the first rank whose weights differ
 * from rank 0's. */
int sr_dist_check_weights(SrDist *d, const SrState *st, const char *when, SrError *err);
uint64_t sr_state_checksum(const SrState *st);

/* ---- statistics ------------------------------------------------------------ */

typedef struct SrDistStats {
  long steps;          /* gradient exchanges */
  long sparse_steps;   /* of which sent only touched rows */
  double bytes;        /* allreduce payload, summed over steps (one rank's send buffer) */
  double dense_bytes;  /* what dense exchanges would have sent */
  double seconds;      /* in the exchange (scanning, packing, allreduce, unpacking) */
  double wait_seconds; /* of which inside the allreduces: the transfer, and waiting for
                          the slowest rank to arrive (overlapped: starting the
                          buckets' and waiting for them after the backward pass) */
  long overlapped_steps; /* exchanges whose buckets started during the backward pass */
  long buckets;        /* buckets over those exchanges */
  long averages;       /* local SGD: parameter averagings */
  double average_bytes; /* their payload, summed */
} SrDistStats;

void sr_dist_stats(const SrDist *d, SrDistStats *out);
/* One line for rank 0's log: ranks, exchanges, bytes per step, time. */
void sr_dist_print_stats(const SrDist *d, FILE *out);

#endif
