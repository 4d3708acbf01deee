/* state.c: the memory behind a compiled model's slots.
 *
 * Generated kernels address buffers by slot number; this file gives every
 * slot a zeroed, 64-byte aligned buffer (so vectorised kernels may use
 * aligned loads) and initialises the parameters deterministically. */
#include <stdlib.h>
#include <string.h>

#include "sparsert.h"

#define SLOT_ALIGN 64

/* A slot's shape comes from generated code, but a wrong one would make
 * kernels write out of bounds, so it is checked once here. */
static int check_slot(const SrSlot *s, int i, SrError *err) {
  const char *name = s->name ? s->name : "?";
  if (s->cols < 1 || (s->rows < 1 && s->rows != -1))
    return sr_fail(err, "model slot %d (%s): bad shape %d x %d", i, name, s->rows, s->cols);
  if (s->kind != SR_SLOT_PARAM)
    return 0;
  if (s->rows == -1)
    return sr_fail(err, "model slot %d (%s): a parameter cannot have one row per example", i, name);
  if (s->init == SR_INIT_GLOROT_UNIFORM && (s->fan_in < 1 || s->fan_out < 1))
    return sr_fail(err, "model slot %d (%s): Glorot init needs positive fans, got %d and %d", i,
                   name, s->fan_in, s->fan_out);
  if (s->init != SR_INIT_ZERO && s->init != SR_INIT_GLOROT_UNIFORM)
    return sr_fail(err, "model slot %d (%s): unknown init %d", i, name, (int)s->init);
  return 0;
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

static int alloc_slot(SrState *st, int i, SrError *err) {
  const SrSlot *s = &st->model->slots[i];
  size_t bytes = slot_bytes(s, st->max_rows);
  st->slots[i] = aligned_alloc(SLOT_ALIGN, bytes);
  if (!st->slots[i])
    return sr_fail(err, "model slot %d (%s): out of memory for %zu bytes", i,
                   s->name ? s->name : "?", bytes);
  memset(st->slots[i], 0, bytes);
  st->bytes[i] = bytes;
  return 0;
}

static void init_params(SrState *st, uint64_t seed) {
  SrRng rng;
  sr_rng_seed(&rng, seed);
  for (int i = 0; i < st->model->nslots; i++) {
    const SrSlot *s = &st->model->slots[i];
    if (s->kind == SR_SLOT_PARAM)
      sr_init_param(st->slots[i], (size_t)s->rows * (size_t)s->cols, s->init, s->fan_in,
                    s->fan_out, &rng);
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
      free(st->slots[i]);
  free(st->slots);
  free(st->bytes);
  memset(st, 0, sizeof *st);
}

/* Parameter sizes do not depend on max_rows, so states of different batch
 * capacity can exchange parameters. */
void sr_state_copy_params(SrState *dst, const SrState *src) {
  const SrModel *m = src->model;
  for (int i = 0; i < m->nslots; i++)
    if (m->slots[i].kind == SR_SLOT_PARAM)
      memcpy(dst->slots[i], src->slots[i], src->bytes[i]);
}
