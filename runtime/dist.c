/* dist.c: joining an MPI job, agreeing on failures, checking that every
 * rank holds the same weights, ending the job cleanly or not at all.
 *
 * The rule that keeps a job from hanging: a rank never leaves the training
 * loop on a reason only it knows while the others go on to a collective.
 * Local failures are agreed on (sr_dist_agree) at fixed points, so every
 * rank stops at the same one and finalises; a failure outside those points
 * ends the whole job with MPI_Abort (sr_dist_close). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist_internal.h"

/* Overlapped buckets of at least 1 MB: the paper's net (three 3-4 MB
 * weight gradients) travels in three, each layer's with its bias. That is
 * the default across nodes, where the network moves the bytes while the
 * CPUs compute. On one machine the ranks' own CPUs copy and add the bytes
 * inside MPI calls, with nothing to hide them behind, and the overlapped
 * exchange measured never faster there (bench/MPI.md): the default is then
 * the blocking exchange. sr_dist_single (tests) takes the overlapped path. */
#define DEFAULT_BUCKET_KB 1024

/* ---- joining --------------------------------------------------------------- */

static int env_int(const char *name) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : 0;
}

int sr_dist_launched_size(void) {
  const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (env_int(vars[i]) > 0)
      return env_int(vars[i]);
  return 1;
}

static int parse_exchange(SrDist *d, SrError *err) {
  const char *v = getenv("SPARSEC_EXCHANGE");
  if (!v || !*v || strcmp(v, "auto") == 0)
    d->exchange = SR_EXCHANGE_AUTO;
  else if (strcmp(v, "dense") == 0)
    d->exchange = SR_EXCHANGE_DENSE;
  else if (strcmp(v, "sparse") == 0)
    d->exchange = SR_EXCHANGE_SPARSE;
  else
    return sr_fail(err, "SPARSEC_EXCHANGE must be dense, sparse or auto, not '%s'", v);
  return 0;
}

/* A whole number in [min, max] from the environment, or `fallback` when
 * the variable is unset or empty. */
static int env_count(const char *name, long min, long max, long fallback, long *out,
                     SrError *err) {
  const char *v = getenv(name);
  *out = fallback;
  if (!v || !*v)
    return 0;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n < min || n > max)
    return sr_fail(err, "%s must be a whole number from %ld to %ld, not '%s'", name, min, max, v);
  *out = n;
  return 0;
}

/* SPARSEC_BUCKET_KB (overlapped buckets' least size; 0: blocking; by
 * default overlapped only across nodes) and SPARSEC_LOCAL_STEPS
 * (docs/parallel.md). */
static int parse_overlap(SrDist *d, SrError *err) {
  long kb, steps;
  long fallback = d->one_node ? 0 : DEFAULT_BUCKET_KB;
  if (env_count("SPARSEC_BUCKET_KB", 0, 1L << 30, fallback, &kb, err) != 0 ||
      env_count("SPARSEC_LOCAL_STEPS", 1, 1000000, 1, &steps, err) != 0)
    return -1;
  d->bucket_bytes = (size_t)kb << 10;
  d->local_steps = (int)steps;
  return 0;
}

/* SPARSEC_MPI_FAULT=perturb:R or kill:R (tests only, docs/parallel.md). */
static int parse_fault(SrDist *d, SrError *err) {
  const char *v = getenv("SPARSEC_MPI_FAULT");
  if (!v || !*v)
    return 0;
  const char *colon = strchr(v, ':');
  char *end = NULL;
  long rank = colon ? strtol(colon + 1, &end, 10) : -1;
  if (colon && end && !*end && rank >= 0 && rank < d->size) {
    d->fault_rank = (int)rank;
    if (strncmp(v, "perturb:", 8) == 0)
      d->fault = SR_FAULT_PERTURB;
    else if (strncmp(v, "kill:", 5) == 0)
      d->fault = SR_FAULT_KILL;
  }
  if (d->fault == SR_FAULT_NONE)
    return sr_fail(err, "SPARSEC_MPI_FAULT must be perturb:RANK or kill:RANK with a rank below %d, "
                   "not '%s'", d->size, v);
  return 0;
}

static SrDist *dist_new(void) {
  SrDist *d = calloc(1, sizeof *d);
  if (d) {
    d->size = 1;
    d->bucket_bytes = (size_t)DEFAULT_BUCKET_KB << 10;
    d->local_steps = 1;
  }
  return d;
}

SrDist *sr_dist_single(void) {
  return dist_new();
}

int sr_dist_open(SrDist **out, SrError *err) {
  *out = NULL;
  if (sr_dist_launched_size() <= 1)
    return 0;
  SrDist *d = dist_new();
  if (!d)
    return sr_fail(err, "out of memory");
  if (sr_net_init(d, err) != 0) {
    free(d);
    return -1;
  }
  if (parse_exchange(d, err) != 0 || parse_overlap(d, err) != 0 || parse_fault(d, err) != 0) {
    d->agreed = 1; /* every rank reads the same environment and fails alike */
    sr_dist_close(d, 1);
    return -1;
  }
  *out = d;
  return 0;
}

void sr_dist_close(SrDist *d, int failed) {
  if (!d)
    return;
  if (failed && !d->agreed && d->size > 1)
    sr_dist_abort(d, "stopping the whole job: the other ranks cannot go on without this one");
  sr_net_finalize(d);
  free(d->buf);
  free(d->mask);
  free(d->requests);
  free(d);
}

void sr_dist_silence_others(const SrDist *d) {
  if (!d || d->rank == 0)
    return;
  fflush(stdout);
  int null = open("/dev/null", O_WRONLY);
  if (null < 0)
    return; /* then this rank prints a copy of rank 0's log: noisy, not wrong */
  dup2(null, STDOUT_FILENO);
  close(null);
}

int sr_dist_rank(const SrDist *d) {
  return d ? d->rank : 0;
}

int sr_dist_size(const SrDist *d) {
  return d ? d->size : 1;
}

_Noreturn void sr_dist_abort(SrDist *d, const char *message) {
  fprintf(stderr, "sparsec: rank %d: %s\n", sr_dist_rank(d), message);
  fflush(stderr);
  if (d && d->mpi)
    sr_net_abort(d);
  exit(1);
}

/* ---- agreement ------------------------------------------------------------------ */

/* The lowest failed rank: every rank offers its own number if it failed,
 * else the size, and the minimum wins. */
int sr_dist_agree(SrDist *d, int rc, SrError *err) {
  if (!d)
    return rc < 0 ? -1 : 0;
  int failed = rc < 0 ? d->rank : d->size;
  sr_net_min_int(d, &failed);
  if (failed == d->size)
    return 0;
  d->agreed = 1;
  if (d->size == 1)
    return -1;
  if (rc < 0) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return sr_fail(err, "rank %d: %s", d->rank, msg);
  }
  return sr_fail(err, "rank %d: stopping because rank %d failed (its message says why)", d->rank,
                 failed);
}

/* ---- identical weights --------------------------------------------------------- */

/* FNV-1a over 64-bit words: the bits, not the values, so that -0 and +0
 * or two NaNs that print alike still count as different. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t bytes) {
  const unsigned char *p = data;
  size_t words = bytes / 8;
  for (size_t i = 0; i < words; i++) {
    uint64_t w;
    memcpy(&w, p + 8 * i, 8);
    h = (h ^ w) * 0x100000001b3ull;
  }
  for (size_t i = words * 8; i < bytes; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

uint64_t sr_state_checksum(const SrState *st) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int s = 0; s < st->model->nslots; s++) {
    SrSlotKind kind = st->model->slots[s].kind;
    if (sr_slot_is_model(kind) || kind == SR_SLOT_STATE)
      h = hash_bytes(h, st->slots[s], st->bytes[s]);
  }
  return h;
}

int sr_dist_check_weights(SrDist *d, const SrState *st, const char *when, SrError *err) {
  if (!d || d->size == 1)
    return 0;
  uint64_t *all = malloc(sizeof *all * (size_t)d->size);
  if (!all)
    sr_dist_abort(d, "out of memory for the weight checksums");
  sr_net_allgather_u64(d, sr_state_checksum(st), all);
  int differs = 0;
  for (int r = 1; r < d->size && !differs; r++)
    if (all[r] != all[0])
      differs = r;
  uint64_t other = all[differs], root = all[0];
  free(all);
  if (!differs)
    return 0;
  d->agreed = 1; /* every rank saw the same checksums */
  if (d->rank != 0)
    return sr_fail(err, "rank %d: %s: the weights of rank %d differ from rank 0's (rank 0 says more)",
                   d->rank, when, differs);
  return sr_fail(err,
                 "%s: the weights of rank %d differ from rank 0's (checksum %016llx, rank 0 "
                 "%016llx): the ranks drifted apart; every rank must run the same sparsec on the "
                 "same data",
                 when, differs, (unsigned long long)other, (unsigned long long)root);
}

/* ---- statistics ------------------------------------------------------------------ */

void sr_dist_stats(const SrDist *d, SrDistStats *out) {
  memset(out, 0, sizeof *out);
  if (d)
    *out = d->stats;
}

void sr_dist_print_stats(const SrDist *d, FILE *out) {
  if (!d || !out || (d->stats.steps == 0 && d->stats.averages == 0))
    return;
  const SrDistStats *s = &d->stats;
  if (s->steps > 0) {
    double per_step = s->bytes / (double)s->steps;
    fprintf(out,
            "data parallel: %d ranks, %ld gradient exchanges (%ld sparse), %.3f MB per exchange "
            "(dense: %.3f MB), %.2f s exchanging (%.2f s in MPI_Allreduce); %ld overlapped "
            "with the backward pass, %.1f buckets each\n",
            d->size, s->steps, s->sparse_steps, per_step / 1e6,
            s->dense_bytes / (double)s->steps / 1e6, s->seconds, s->wait_seconds,
            s->overlapped_steps,
            s->overlapped_steps ? (double)s->buckets / (double)s->overlapped_steps : 0.0);
  }
  if (s->averages > 0) {
    fprintf(out,
            "data parallel: %d ranks, local SGD: %d steps between averagings, %ld averagings, "
            "%.3f MB each, %.2f s averaging (%.2f s in MPI_Allreduce)\n",
            d->size, d->local_steps, s->averages, s->average_bytes / (double)s->averages / 1e6,
            s->seconds, s->wait_seconds);
  }
  fflush(out);
}
