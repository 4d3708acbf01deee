/* state.c: the memory behind a compiled model's slots.
 *
 * Generated kernels address buffers by slot number; this file gives every
 * slot a zeroed, 64-byte aligned buffer (so vectorised kernels may use
 * aligned loads) and initialises the parameters and constants
 * deterministically. Optimiser state (SR_SLOT_STATE) is sized like a
 * parameter and starts at zero. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sparsert_internal.h"

#define SLOT_ALIGN 64

/* init_arg becomes a float; beyond FLT_MAX the conversion is undefined. */
static int check_init_arg(const SrSlot *s, int i, const char *name, SrError *err) {
  if (!isfinite(s->init_arg) || fabs(s->init_arg) > FLT_MAX)
    return sr_fail(err, "model slot %d (%s): init argument %g is not a finite float", i, name,
                   s->init_arg);
  if (s->init == SR_INIT_UNIFORM && s->init_arg < 0)
    return sr_fail(err, "model slot %d (%s): uniform init needs a limit >= 0, got %g", i, name,
                   s->init_arg);
  return 0;
}

/* Each init draws on the fans or the argument it needs; a zero fan would
 * divide by zero and give infinite weights. */
static int check_init(const SrSlot *s, int i, const char *name, SrError *err) {
  switch (s->init) {
  case SR_INIT_ZERO:
  case SR_INIT_SIGNS:
    return 0;
  case SR_INIT_GLOROT_UNIFORM:
    if (s->fan_in < 1 || s->fan_out < 1)
      return sr_fail(err, "model slot %d (%s): Glorot init needs positive fans, got %d and %d", i,
                     name, s->fan_in, s->fan_out);
    return 0;
  case SR_INIT_HE_NORMAL:
    if (s->fan_in < 1)
      return sr_fail(err, "model slot %d (%s): He init needs a positive fan-in, got %d", i, name,
                     s->fan_in);
    return 0;
  case SR_INIT_CONSTANT:
  case SR_INIT_UNIFORM:
    return check_init_arg(s, i, name, err);
  }
  return sr_fail(err, "model slot %d (%s): unknown init %d", i, name, (int)s->init);
}

/* A slot's shape comes from generated code, but a wrong one would make
 * kernels write out of bounds, so it is checked once here. */
static int check_slot(const SrSlot *s, int i, SrError *err) {
  const char *name = s->name ? s->name : "?";
  if (s->cols < 1 || (s->rows < 1 && s->rows != -1))
    return sr_fail(err, "model slot %d (%s): bad shape %d x %d", i, name, s->rows, s->cols);
  if ((unsigned)s->kind > SR_SLOT_CONST)
    return sr_fail(err, "model slot %d (%s): unknown kind %d", i, name, (int)s->kind);
  if (s->kind != SR_SLOT_PARAM && s->kind != SR_SLOT_CONST && s->kind != SR_SLOT_STATE)
    return 0;
  if (s->rows == -1)
    return sr_fail(err, "model slot %d (%s): a %s cannot have one row per example", i, name,
                   s->kind == SR_SLOT_STATE ? "state" : s->kind == SR_SLOT_CONST ? "constant"
                                                                               : "parameter");
  /* Optimiser state always starts at zero, whatever its init says. */
  return s->kind == SR_SLOT_STATE ? 0 : check_init(s, i, name, err);
}

static size_t slot_rows(const SrSlot *s, int max_rows) {
  return s->rows == -1 ? (size_t)max_rows : (size_t)s->rows;
}

/* Elements are 4 bytes (float or int32). aligned_alloc wants a multiple of
 * the alignment; rows and cols are ints, so the product cannot overflow
 * a 64-bit size_t. */
static size_t slot_bytes(const SrSlot *s, int max_rows) {
  size_t bytes = slot_rows(s, max_rows) * (size_t)s->cols * 4;
  return (bytes + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
}

/* A planned temp lives in the arena at its offset; the plan was made for a
 * batch size, and a larger one would spill into its neighbours. */
static int place_in_arena(SrState *st, int i, SrError *err) {
  const SrSlot *s = &st->model->slots[i];
  size_t bytes = slot_bytes(s, st->max_rows);
  if (s->arena_offset < 0 || s->arena_offset % SLOT_ALIGN != 0 ||
      (size_t)s->arena_offset + bytes > (size_t)st->model->arena_bytes)
    return sr_fail(err, "model slot %d (%s): arena range %ld+%zu outside the %ld-byte arena", i,
                   s->name ? s->name : "?", s->arena_offset, bytes, st->model->arena_bytes);
  st->slots[i] = (char *)st->arena + s->arena_offset;
  st->bytes[i] = bytes;
  return 0;
}

static int alloc_arena(SrState *st, SrError *err) {
  const SrModel *m = st->model;
  if (m->arena_bytes <= 0)
    return 0;
  if (st->max_rows > m->arena_rows)
    return sr_fail(err, "model: the memory plan is for batches of %d rows, not %d", m->arena_rows,
                   st->max_rows);
  size_t bytes = ((size_t)m->arena_bytes + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
  st->arena = aligned_alloc(SLOT_ALIGN, bytes);
  if (!st->arena)
    return sr_fail(err, "model: out of memory for a %zu-byte arena", bytes);
  memset(st->arena, 0, bytes);
  return 0;
}

static int alloc_slot(SrState *st, int i, SrError *err) {
  const SrSlot *s = &st->model->slots[i];
  if (s->in_arena)
    return place_in_arena(st, i, err);
  size_t bytes = slot_bytes(s, st->max_rows);
  st->slots[i] = aligned_alloc(SLOT_ALIGN, bytes);
  if (!st->slots[i])
    return sr_fail(err, "model slot %d (%s): out of memory for %zu bytes", i,
                   s->name ? s->name : "?", bytes);
  memset(st->slots[i], 0, bytes);
  st->bytes[i] = bytes;
  return 0;
}

/* Params and consts draw from one stream in slot order, so adding a
 * const (e.g. sign-trick signs) changes the draws of the slots after it,
 * but a given model and seed always give the same values. State slots stay
 * as alloc_slot left them: zero. */
static void init_params(SrState *st, uint64_t seed) {
  SrRng rng;
  sr_rng_seed(&rng, seed);
  for (int i = 0; i < st->model->nslots; i++) {
    const SrSlot *s = &st->model->slots[i];
    if (sr_slot_is_model(s->kind))
      sr_init_param(st->slots[i], (size_t)s->rows * (size_t)s->cols, s->init, s->init_arg,
                    s->fan_in, s->fan_out, &rng);
  }
}

int sr_state_init(SrState *st, const SrModel *m, int max_rows, uint64_t seed, SrError *err) {
  memset(st, 0, sizeof *st);
  if (max_rows < 1)
    return sr_fail(err, "model state: max_rows must be at least 1, got %d", max_rows);
  if (m->nslots < 0)
    return sr_fail(err, "model: negative slot count %d", m->nslots);
  for (int i = 0; i < m->nslots; i++)
    if (check_slot(&m->slots[i], i, err) < 0)
      return -1;

  st->model = m;
  st->max_rows = max_rows;
  /* One extra element keeps calloc(0) from returning NULL for empty models. */
  st->slots = calloc((size_t)m->nslots + 1, sizeof *st->slots);
  st->bytes = calloc((size_t)m->nslots + 1, sizeof *st->bytes);
  if (!st->slots || !st->bytes) {
    sr_state_free(st);
    return sr_fail(err, "model state: out of memory for %d slots", m->nslots);
  }
  if (alloc_arena(st, err) < 0) {
    sr_state_free(st);
    return -1;
  }
  for (int i = 0; i < m->nslots; i++) {
    if (alloc_slot(st, i, err) < 0) {
      sr_state_free(st);
      return -1;
    }
  }
  init_params(st, seed);
  return 0;
}

void sr_state_free(SrState *st) {
  if (st->slots && st->model)
    for (int i = 0; i < st->model->nslots; i++)
      if (!st->model->slots[i].in_arena)
        free(st->slots[i]);
  free(st->arena);
  free(st->slots);
  free(st->bytes);
  memset(st, 0, sizeof *st);
}

/* Parameter sizes do not depend on max_rows, so states of different batch
 * capacity can exchange parameters. Consts are copied too, so that dst
 * computes the same function even if it was initialised from another seed.
 * Optimiser state (momentum velocity) is not: restoring the best epoch
 * restores the model, and a velocity belongs to the run that built it up;
 * the copy made at the best epoch would be stale by the time it is used. */
void sr_state_copy_params(SrState *dst, const SrState *src) {
  const SrModel *m = src->model;
  for (int i = 0; i < m->nslots; i++)
    if (sr_slot_is_model(m->slots[i].kind))
      memcpy(dst->slots[i], src->slots[i], src->bytes[i]);
}

int sr_state_find_nonfinite(const SrState *st, int *slot, size_t *index) {
  const SrModel *m = st->model;
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *s = &m->slots[i];
    if (!sr_slot_is_model(s->kind))
      continue;
    const float *w = st->slots[i];
    size_t count = (size_t)s->rows * (size_t)s->cols;
    for (size_t k = 0; k < count; k++)
      if (!isfinite(w[k])) {
        *slot = i;
        *index = k;
        return 1;
      }
  }
  return 0;
}

void sr_state_reinit(SrState *st, uint64_t seed) {
  const SrModel *m = st->model;
  for (int i = 0; i < m->nslots; i++)
    if (m->slots[i].kind == SR_SLOT_STATE)
      memset(st->slots[i], 0, st->bytes[i]);
  init_params(st, seed);
}
