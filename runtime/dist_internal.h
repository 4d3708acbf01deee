/* dist_internal.h: what the dist*.c files share, and the hooks train.c and
 * pretrain.c call when their config carries an SrDist. */
#ifndef SPARSEC_DIST_INTERNAL_H
#define SPARSEC_DIST_INTERNAL_H

#include "dist.h"
#include "sparsert_internal.h"

/* SPARSEC_MPI_FAULT: a fault a test asks one rank to commit. */
typedef enum SrFault {
  SR_FAULT_NONE,
  SR_FAULT_PERTURB,    /* nudge one weight after the first epoch's training */
  SR_FAULT_KILL,       /* die by SIGKILL in the middle of the first epoch */
} SrFault;

/* The exchange of the split step under way: begun before its `grads`
 * kernel runs, ended after (dist_exchange.c). Overlapped (dense, and
 * SPARSEC_BUCKET_KB > 0), the gradients travel in buckets: runs of
 * consecutive gradients of at least bucket_bytes, in the order `grads`
 * finishes them; each bucket's MPI_Iallreduce starts when its last
 * gradient is announced (sr_grad_ready), every rank starting them in the
 * same order. The last bucket carries the loss and starts at the end. */
typedef struct SrPendingExchange {
  SrState *st;
  const SrSplitStep *s; /* NULL: none under way */
  float weight;         /* this rank's share of the global minibatch */
  int idle;             /* weight 0: no rows this time, sends zeros */
  int mask;             /* sparse: a row mask first, all after `grads` (blocking) */
  int overlap;          /* buckets, started as their gradients are ready */
  int nbuckets, started;
  int bucket_end[SR_MAX_GRADIENTS];      /* one past each bucket's last gradient */
  size_t bucket_at[SR_MAX_GRADIENTS + 1]; /* its first float in buf; [nbuckets]: the loss */
  char ready[SR_MAX_GRADIENTS];          /* gradient k of s announced */
} SrPendingExchange;

struct SrDist {
  int rank, size;
  int mpi;             /* MPI_Init was called (not for sr_dist_single) */
  int one_node;        /* every rank on one machine: the exchange is shared memory */
  int agreed;          /* a failure every rank knows of: finalise, not abort */
  SrExchange exchange;
  SrFault fault;
  int fault_rank;
  float *buf;          /* the exchange's packed send/receive buffer */
  size_t buf_cap;
  uint8_t *mask;       /* one byte per gradient row: touched on some rank */
  size_t mask_cap;
  int dense_streak;    /* auto: steps to stay dense after sparse did not pay */
  size_t bucket_bytes; /* SPARSEC_BUCKET_KB: overlapped buckets' least size; 0 = one
                          blocking allreduce after the backward pass */
  int local_steps;     /* SPARSEC_LOCAL_STEPS: local minibatches between averagings */
  SrPendingExchange x;
  void *requests;      /* the transport's non-blocking requests under way */
  int nrequests, requests_cap;
  SrDistStats stats;
};

/* ---- dist_mpi.c or dist_stub.c: the transport ------------------------------ */

/* All in place and collective; with d->mpi == 0 they leave the data as it
 * is (one rank). Errors end the job (MPI's default handler), not return. */
int sr_net_init(SrDist *d, SrError *err);
void sr_net_finalize(SrDist *d);
_Noreturn void sr_net_abort(SrDist *d);
void sr_net_sum_floats(SrDist *d, float *buf, size_t n);
void sr_net_sum_doubles(SrDist *d, double *buf, size_t n);
void sr_net_max_bytes(SrDist *d, uint8_t *buf, size_t n);
void sr_net_min_int(SrDist *d, int *v);
void sr_net_max_float(SrDist *d, float *v);
/* Non-blocking (MPI_Iallreduce): starts summing n floats of buf in place;
 * buf must stay untouched until sr_net_wait_all. Every rank starts its
 * sums in the same order. */
void sr_net_start_sum_floats(SrDist *d, float *buf, size_t n);
/* Lets the sums under way advance (MPI_Testall): MPI moves non-blocking
 * collectives on inside its own calls only. */
void sr_net_progress(SrDist *d);
/* Waits for every sum started. */
void sr_net_wait_all(SrDist *d);
/* all[r] = rank r's v, for every rank r (all holds d->size values). */
void sr_net_allgather_u64(SrDist *d, uint64_t v, uint64_t *all);

/* ---- dist_exchange.c --------------------------------------------------------- */

/* Replaces each gradient of `s` by the weighted sum over ranks of
 * weight_r x gradient_r, and *loss likewise (weights sum to 1: rows_r /
 * rows of the global batch); a rank with weight 0 sends zeros. Begin
 * before `s->grads` runs (it decides how the gradients travel, and from
 * then on sr_grad_ready may start buckets), end after it. Running out of
 * memory for the buffers ends the job (sr_dist_abort): the other ranks
 * may already be in the allreduce. The sums are the same, bit for bit,
 * overlapped or not: the same floats summed by the same MPI_SUM. */
void sr_dist_exchange_begin(SrDist *d, SrState *st, const SrSplitStep *s, double weight);
void sr_dist_exchange_end(SrDist *d, float *loss);
/* Both, for gradients already computed. */
void sr_dist_exchange(SrDist *d, SrState *st, const SrSplitStep *s, double weight, float *loss);

/* Local SGD: every rank's trained parameters (the split step's) and
 * optimiser state replaced by their mean over the ranks, in one
 * allreduce that also sums *loss_sum (returned in it). */
void sr_dist_average_model(SrDist *d, SrState *st, const SrSplitStep *s, double *loss_sum);

/* ---- dist_train.c: the hooks -------------------------------------------------- */

/* The model has split step `s`, with gradients that name real slots. */
int sr_dist_check_split(const SrState *st, const SrSplitStep *s, const char *what, SrError *err);

/* Before the first epoch: the model has its split step (if `s` is not
 * NULL), every rank's checks passed (`rc`), and every rank starts from the
 * same weights. */
int sr_dist_start(SrDist *d, const SrState *st, const SrSplitStep *s, const char *what, int rc,
                  SrError *err);

/* One epoch of sr_fit over the shuffled `perm`, `batch` examples per rank:
 * *mean_loss gets the mean objective over every rank's examples. Fails
 * (on every rank alike) when a global minibatch's loss is not finite. */
int sr_dist_train_epoch(SrDist *d, SrState *st, const SrDataset *train, const int32_t *perm,
                        int batch, int epoch, SrProgress *bar, double *mean_loss, SrError *err);

/* One epoch of a pretraining stage: *cost and *input_max as sr_pretrain's,
 * over every rank's examples. */
int sr_dist_pretrain_epoch(SrDist *d, SrState *st, const SrPretrainStage *stage,
                           const SrDataset *train, const int32_t *perm, int epoch, SrProgress *bar,
                           double *cost, float *input_max, SrError *err);

/* Evaluation split across ranks (rank r takes the r-th contiguous part),
 * the sums reduced: every rank gets the metrics of the whole set, or -1
 * on every rank when one found a value that is not finite. */
int sr_dist_evaluate(SrDist *d, SrState *st, const SrDataset *ds, SrMetrics *out,
                     SrError *err);

/* After an epoch's training and local checks (`rc`): agreement, the
 * SPARSEC_MPI_FAULT=perturb hook, then the weight checksum. */
int sr_dist_end_epoch(SrDist *d, SrState *st, const char *when, int rc, SrError *err);

#endif
