/* checkpoint.c: a model's parameters as safetensors, written atomically and
 * validated on load.
 *
 * Layout (https://github.com/huggingface/safetensors):
 *   u64 little-endian N | N bytes of JSON | tensor data
 * The JSON maps each tensor name to {"dtype", "shape", "data_offsets"}
 * (offsets relative to the start of the data), plus "__metadata__". We
 * write float32 [rows, cols] tensors for the PARAM and CONST slots in slot
 * order. The format is Hugging Face's, so other safetensors readers can
 * load our checkpoints, and we theirs when they hold F32 tensors of the
 * right names and shapes. The file-level work (atomic writing, the header
 * parser, the layout checks) is safetensors.c's.
 *
 * Loading trusts nothing: every tensor is checked against the model
 * (names, shapes) and every value must be finite, all before a single
 * value is copied, so that a bad file leaves the state as it was. A run's
 * state file (run_state.c, "format": "sparsec-state") holds the same
 * tensors under the same names plus its own, which are ignored here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sparsert_internal.h"

/* Tensors are found by name, so names must exist and be unique. */
int sr_check_model_names(const SrModel *m, const char *path, SrError *err) {
  for (int i = 0; i < m->nslots; i++) {
    const char *name = m->slots[i].name;
    if (!sr_slot_is_model(m->slots[i].kind))
      continue;
    if (!name || !name[0] || strcmp(name, "__metadata__") == 0)
      return sr_fail(err, "%s: model slot %d cannot be a tensor: its name is '%s'", path, i,
                     name ? name : "");
    for (int j = 0; j < i; j++)
      if (sr_slot_is_model(m->slots[j].kind) && m->slots[j].name &&
          strcmp(m->slots[j].name, name) == 0)
        return sr_fail(err, "%s: model slots %d and %d are both named '%s'", path, j, i, name);
  }
  return 0;
}

/* ---- saving -------------------------------------------------------------- */

int sr_refuse_nonfinite(const SrState *st, const char *path, SrError *err) {
  int slot;
  size_t index;
  if (!sr_state_find_nonfinite(st, &slot, &index))
    return 0;
  float x = ((const float *)st->slots[slot])[index];
  return sr_fail(err, "%s: not saved: tensor '%s' element %zu is not finite (%s)", path,
                 st->model->slots[slot].name, index, sr_nonfinite_name(x));
}

int sr_model_tensors(const SrState *st, const char *prefix, SrStOut *out, char **names) {
  const SrModel *m = st->model;
  int n = 0;
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *s = &m->slots[i];
    if (!sr_slot_is_model(s->kind))
      continue;
    const char *name = s->name;
    if (prefix) {
      size_t size = strlen(prefix) + strlen(s->name) + 1;
      if (!(names[n] = malloc(size)))
        return -1;
      snprintf(names[n], size, "%s%s", prefix, s->name);
      name = names[n];
    }
    out[n++] = (SrStOut){name, "F32", 2, {s->rows, s->cols}, st->slots[i]};
  }
  return n;
}

int sr_checkpoint_save(const SrState *st, const char *path, SrError *err) {
  if (sr_check_model_names(st->model, path, err) < 0 || sr_refuse_nonfinite(st, path, err) < 0)
    return -1;
  SrStOut *t = malloc(((size_t)st->model->nslots + 1) * sizeof *t);
  if (!t)
    return sr_fail(err, "%s: out of memory for the checkpoint header", path);
  int n = sr_model_tensors(st, NULL, t, NULL);
  static const SrStMeta meta[] = {{"format", "sparsec"}};
  int rc = sr_safetensors_write(path, t, n, meta, 1, err);
  free(t);
  return rc;
}

/* ---- loading ------------------------------------------------------------- */

/* The model's slots sorted by name, for finding a tensor's slot in
 * O(log slots): the file may hold any number of tensors. */
typedef struct Named {
  const char *name;
  int slot;
} Named;

static int by_name(const void *a, const void *b) {
  return strcmp(((const Named *)a)->name, ((const Named *)b)->name);
}

static int find_slot(const Named *slots, int n, const char *name) {
  const Named key = {name, -1}, *hit = bsearch(&key, slots, (size_t)n, sizeof *slots, by_name);
  return hit ? hit->slot : -1;
}

/* Tensors of a state file that are not the model's own (the best epoch's
 * parameters, the optimiser's state, the run's position) have a '/' in
 * their names, which no slot has. */
static int is_state_file(const SrStFile *f) {
  const char *format = sr_safetensors_meta(&f->h, "format");
  return format && strcmp(format, SR_STATE_FORMAT) == 0;
}

/* Every tensor names a model slot of its shape, and every slot has one. */
static int check_tensors(const SrModel *m, SrStFile *f, const Named *slots, int nslots,
                         char *found, SrError *err) {
  int state = is_state_file(f);
  for (int k = 0; k < f->h.n; k++) {
    SrStTensor *t = &f->h.t[k];
    if (state && strchr(t->name, '/'))
      continue;
    if ((t->slot = find_slot(slots, nslots, t->name)) < 0)
      return sr_fail(err, "%s: checkpoint has a tensor '%s' the model does not have", f->path,
                     t->name);
    found[t->slot] = 1;
    const SrSlot *s = &m->slots[t->slot];
    if (strcmp(t->dtype, "F32") != 0)
      return sr_fail(err, "%s: tensor '%s' has dtype %s, only F32 is supported", f->path,
                     t->name, t->dtype);
    if (t->ndim != 2 || t->shape[0] != (uint64_t)s->rows || t->shape[1] != (uint64_t)s->cols) {
      char have[128];
      sr_safetensors_shape(have, sizeof have, t);
      return sr_fail(err, "%s: tensor '%s' has shape %s, the model expects [%d, %d]", f->path,
                     t->name, have, s->rows, s->cols);
    }
  }
  for (int i = 0; i < m->nslots; i++)
    if (sr_slot_is_model(m->slots[i].kind) && !found[i])
      return sr_fail(err, "%s: checkpoint has no tensor '%s'", f->path, m->slots[i].name);
  return 0;
}

/* Slot names are unique (sr_check_model_names), so each slot is matched
 * by at most one tensor (the file's names are unique too). */
static int match_model(const SrModel *m, SrStFile *f, SrError *err) {
  Named *slots = malloc(((size_t)m->nslots + 1) * sizeof *slots);
  char *found = calloc((size_t)m->nslots + 1, 1);
  int n = 0;
  for (int i = 0; slots && i < m->nslots; i++)
    if (sr_slot_is_model(m->slots[i].kind))
      slots[n++] = (Named){m->slots[i].name, i};
  int rc;
  if (!slots || !found) {
    rc = sr_fail(err, "%s: out of memory", f->path);
  } else {
    qsort(slots, (size_t)n, sizeof *slots, by_name);
    rc = check_tensors(m, f, slots, n, found, err);
  }
  free(slots);
  free(found);
  return rc;
}

int sr_check_finite(const SrStFile *f, const SrStTensor *t, SrError *err) {
  const uint8_t *p = f->buf + f->h.data_at + t->begin;
  size_t count = (size_t)(t->end - t->begin) / 4;
  for (size_t i = 0; i < count; i++, p += 4) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float x;
    memcpy(&x, &u, 4);
    if (!isfinite(x))
      return sr_fail(err, "%s: tensor '%s' element %zu is not finite (%s)", f->path, t->name, i,
                     sr_nonfinite_name(x));
  }
  return 0;
}

/* Checkpoints are written only with finite values; anything else means
 * damage (or another writer), and would poison training. */
static int check_values(const SrStFile *f, SrError *err) {
  for (int k = 0; k < f->h.n; k++)
    if (f->h.t[k].slot >= 0 && sr_check_finite(f, &f->h.t[k], err) < 0)
      return -1;
  return 0;
}

int sr_checkpoint_load_file(SrState *st, SrStFile *f, SrError *err) {
  if (sr_check_model_names(st->model, f->path, err) < 0 || match_model(st->model, f, err) < 0 ||
      check_values(f, err) < 0)
    return -1;
  for (int k = 0; k < f->h.n; k++)
    if (f->h.t[k].slot >= 0)
      sr_safetensors_words(f, &f->h.t[k], st->slots[f->h.t[k].slot]);
  return 0;
}

int sr_checkpoint_load(SrState *st, const char *path, SrError *err) {
  if (sr_check_model_names(st->model, path, err) < 0)
    return -1;
  SrStFile f;
  if (sr_safetensors_read(path, &f, err) < 0)
    return -1;
  int rc = sr_checkpoint_load_file(st, &f, err);
  sr_safetensors_close(&f);
  return rc;
}
