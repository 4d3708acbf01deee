/* checkpoint.c: a model's parameters as safetensors, written atomically and
 * validated on load.
 *
 * Layout (https://github.com/huggingface/safetensors):
 *   u64 little-endian N | N bytes of JSON | tensor data
 * The JSON maps each tensor name to {"dtype", "shape", "data_offsets"}
 * (offsets relative to the start of the data), plus "__metadata__". We
 * write float32 [rows, cols] tensors for the PARAM and CONST slots in slot
 * order, and pad the JSON with spaces to a multiple of 8 so that the data
 * is aligned. The format is Hugging Face's, so other safetensors readers
 * can load our checkpoints, and we theirs when they hold F32 tensors of
 * the right names and shapes.
 *
 * Saving goes through a temporary file in the same folder that is
 * fsync'd and then renamed over the target: at every moment the path
 * holds either the old checkpoint or the complete new one.
 *
 * Loading trusts nothing: the JSON goes through the strict parser of
 * safetensors.c, then every tensor is checked against the file (dtype,
 * offsets tiling the data exactly, file size) and the model (names,
 * shapes), and every value must be finite, all before a single value is
 * copied, so that a bad file leaves the state as it was. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sparsert_internal.h"

#define MAX_FILE_BYTES (4ull << 30)
#define CHUNK_FLOATS 16384 /* floats converted per fwrite */

/* ---- little-endian floats, whatever the host --------------------------- */

static void put_le32(uint8_t *p, float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  p[0] = (uint8_t)u, p[1] = (uint8_t)(u >> 8), p[2] = (uint8_t)(u >> 16), p[3] = (uint8_t)(u >> 24);
}

static float get_le32(const uint8_t *p) {
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  float x;
  memcpy(&x, &u, 4);
  return x;
}

static size_t slot_count(const SrSlot *s) {
  return (size_t)s->rows * (size_t)s->cols;
}

/* ---- the model's side ---------------------------------------------------- */

/* Tensors are found by name, so names must exist and be unique. */
static int check_model_names(const SrModel *m, const char *path, SrError *err) {
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

/* The JSON header, padded with spaces to a multiple of 8. */
static char *build_header(const SrState *st, size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f)
    return NULL;
  const SrModel *m = st->model;
  size_t offset = 0;
  fputs("{\"__metadata__\":{\"format\":\"sparsec\"}", f);
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *s = &m->slots[i];
    if (!sr_slot_is_model(s->kind))
      continue;
    size_t bytes = slot_count(s) * 4;
    fputc(',', f);
    sr_json_string(f, s->name);
    fprintf(f, ":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}", s->rows,
            s->cols, offset, offset + bytes);
    offset += bytes;
  }
  fputc('}', f);
  while (ftell(f) % 8 != 0)
    fputc(' ', f);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

static int refuse_nonfinite(const SrState *st, const char *path, SrError *err) {
  int slot;
  size_t index;
  if (!sr_state_find_nonfinite(st, &slot, &index))
    return 0;
  float x = ((const float *)st->slots[slot])[index];
  return sr_fail(err, "%s: not saved: tensor '%s' element %zu is not finite (%s)", path,
                 st->model->slots[slot].name, index, sr_nonfinite_name(x));
}

static int write_tensor(FILE *f, const float *w, size_t count) {
  uint8_t buf[4 * CHUNK_FLOATS];
  for (size_t i = 0; i < count; i += CHUNK_FLOATS) {
    size_t n = count - i < CHUNK_FLOATS ? count - i : CHUNK_FLOATS;
    for (size_t k = 0; k < n; k++)
      put_le32(buf + 4 * k, w[i + k]);
    if (fwrite(buf, 4, n, f) != n)
      return -1;
  }
  return 0;
}

static int write_contents(FILE *f, const SrState *st, const char *header, size_t hlen) {
  uint8_t len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  if (fwrite(len, 1, 8, f) != 8 || fwrite(header, 1, hlen, f) != hlen)
    return -1;
  const SrModel *m = st->model;
  for (int i = 0; i < m->nslots; i++)
    if (sr_slot_is_model(m->slots[i].kind) &&
        write_tensor(f, st->slots[i], slot_count(&m->slots[i])) < 0)
      return -1;
  return 0;
}

/* mkstemp creates files 0600; a plain fopen would have given 0666 minus
 * the umask, which is what users expect of a checkpoint. umask can only be
 * read by setting it, briefly; the runtime creates no other files
 * meanwhile. */
static void usual_permissions(int fd) {
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask); /* failing leaves 0600: safe, merely private */
}

/* Writes everything to the temporary file `tmp` (a mkstemp template,
 * filled in) and makes it durable. *created says whether the file exists,
 * i.e. must be removed on failure. */
static int write_temp(const SrState *st, const char *path, char *tmp, const char *header,
                      size_t hlen, int *created, SrError *err) {
  int fd = mkstemp(tmp);
  *created = fd >= 0;
  if (fd < 0) {
    char *folder = strdup(path);
    int rc = sr_fail(err, "%s: cannot create a temporary file in '%s': %s", path,
                     folder ? dirname(folder) : "its folder", strerror(errno));
    free(folder);
    return rc;
  }
  usual_permissions(fd);
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd);
    return sr_fail(err, "%s: cannot write: %s", path, strerror(e));
  }
  errno = 0;
  int bad = write_contents(f, st, header, hlen) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0;
  int e = errno;
  if (fclose(f) != 0 && !bad)
    bad = 1, e = errno;
  if (bad)
    return sr_fail(err, "%s: write error: %s", path, strerror(e ? e : EIO));
  return 0;
}

/* The rename is durable only once the folder itself is synced. Some
 * file systems cannot sync a folder (EINVAL); the file is then as safe as
 * they allow. */
static int sync_folder(const char *path, SrError *err) {
  char *copy = strdup(path);
  if (!copy)
    return sr_fail(err, "%s: out of memory", path);
  const char *folder = dirname(copy);
  int fd = open(folder, O_RDONLY | O_DIRECTORY);
  int rc = 0;
  if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
    rc = sr_fail(err, "%s: saved, but syncing the folder '%s' failed: %s", path, folder,
                 strerror(errno));
  if (fd >= 0)
    close(fd);
  free(copy);
  return rc;
}

int sr_checkpoint_save(const SrState *st, const char *path, SrError *err) {
  if (check_model_names(st->model, path, err) < 0 || refuse_nonfinite(st, path, err) < 0)
    return -1;
  size_t hlen = 0;
  char *header = build_header(st, &hlen);
  char *tmp = malloc(strlen(path) + sizeof ".tmp.XXXXXX");
  if (!header || !tmp) {
    free(header);
    free(tmp);
    return sr_fail(err, "%s: out of memory for the checkpoint header", path);
  }
  sprintf(tmp, "%s.tmp.XXXXXX", path); /* fits: allocated for exactly this */
  int created;
  int rc = write_temp(st, path, tmp, header, hlen, &created, err);
  if (rc == 0 && rename(tmp, path) != 0)
    rc = sr_fail(err, "%s: cannot replace with the new checkpoint: %s", path, strerror(errno));
  if (rc < 0 && created)
    unlink(tmp);
  if (rc == 0)
    rc = sync_folder(path, err);
  free(tmp);
  free(header);
  return rc;
}

/* ---- loading: checking the tensors --------------------------------------- */

/* A file being loaded: its bytes and what its header says. */
typedef struct Load {
  const char *path;
  uint8_t *buf;
  size_t size;
  SrStHeader h;
} Load;

static void format_shape(char *buf, size_t size, const uint64_t *shape, int ndim) {
  size_t used = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < ndim && used < size; d++)
    used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu64, d ? ", " : "", shape[d]);
  if (used < size)
    snprintf(buf + used, size - used, "]");
}

/* Bytes the shape needs as float32, or UINT64_MAX if that overflows. */
static uint64_t shape_bytes(const SrStTensor *t) {
  uint64_t bytes = 4;
  for (int d = 0; d < t->ndim; d++) {
    if (t->shape[d] != 0 && bytes > UINT64_MAX / t->shape[d])
      return UINT64_MAX;
    bytes *= t->shape[d];
  }
  return bytes;
}

static int check_tensor(const Load *l, const SrStTensor *t, SrError *err) {
  if (strcmp(t->dtype, "F32") != 0)
    return sr_fail(err, "%s: tensor '%s' has dtype %s, only F32 is supported", l->path, t->name,
                   t->dtype);
  if (t->begin > t->end)
    return sr_fail(err, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64 "] that end "
                   "before they begin", l->path, t->name, t->begin, t->end);
  uint64_t need = shape_bytes(t);
  if (t->end - t->begin != need) {
    char shape[128];
    format_shape(shape, sizeof shape, t->shape, t->ndim);
    return sr_fail(err, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64 "] (%" PRIu64
                   " bytes) but its shape %s needs %" PRIu64, l->path, t->name, t->begin, t->end,
                   t->end - t->begin, shape, need);
  }
  return 0;
}

static int by_begin(const void *a, const void *b) {
  const SrStTensor *x = *(SrStTensor *const *)a, *y = *(SrStTensor *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The tensors must tile the data exactly: sorted by offset, each begins
 * where the previous ends, and the last ends where the file does. */
static int check_tiling(const Load *l, SrStTensor **order, SrError *err) {
  int n = l->h.n;
  uint64_t data = l->size - l->h.data_at, at = 0;
  qsort(order, (size_t)n, sizeof *order, by_begin);
  for (int i = 0; i < n; i++) {
    const SrStTensor *t = order[i];
    if (t->begin < at)
      return sr_fail(err, "%s: tensors '%s' and '%s' overlap (data_offsets [%" PRIu64 ", %" PRIu64
                     "] and [%" PRIu64 ", %" PRIu64 "])", l->path, order[i - 1]->name, t->name,
                     order[i - 1]->begin, order[i - 1]->end, t->begin, t->end);
    if (t->begin > at)
      return sr_fail(err, "%s: data bytes [%" PRIu64 ", %" PRIu64 ") belong to no tensor",
                     l->path, at, t->begin);
    at = t->end;
  }
  if (at > data)
    return sr_fail(err, "%s: truncated: the header describes %" PRIu64 " bytes of tensor data, "
                   "the file has %" PRIu64, l->path, at, data);
  if (at < data)
    return sr_fail(err, "%s: trailing garbage: %" PRIu64 " bytes after the tensor data", l->path,
                   data - at);
  return 0;
}

static int check_layout(const Load *l, SrError *err) {
  for (int k = 0; k < l->h.n; k++)
    if (check_tensor(l, &l->h.t[k], err) < 0)
      return -1;
  SrStTensor **order = malloc(((size_t)l->h.n + 1) * sizeof *order);
  if (!order)
    return sr_fail(err, "%s: out of memory", l->path);
  for (int k = 0; k < l->h.n; k++)
    order[k] = &l->h.t[k];
  int rc = check_tiling(l, order, err);
  free(order);
  return rc;
}

static int find_slot(const SrModel *m, const char *name) {
  for (int i = 0; i < m->nslots; i++)
    if (sr_slot_is_model(m->slots[i].kind) && strcmp(m->slots[i].name, name) == 0)
      return i;
  return -1;
}

/* Every tensor names a model slot of its shape, and every slot has one. */
static int match_model(const SrModel *m, Load *l, SrError *err) {
  for (int k = 0; k < l->h.n; k++) {
    SrStTensor *t = &l->h.t[k];
    if ((t->slot = find_slot(m, t->name)) < 0)
      return sr_fail(err, "%s: checkpoint has a tensor '%s' the model does not have", l->path,
                     t->name);
    const SrSlot *s = &m->slots[t->slot];
    if (t->ndim != 2 || t->shape[0] != (uint64_t)s->rows || t->shape[1] != (uint64_t)s->cols) {
      char have[128];
      format_shape(have, sizeof have, t->shape, t->ndim);
      return sr_fail(err, "%s: tensor '%s' has shape %s, the model expects [%d, %d]", l->path,
                     t->name, have, s->rows, s->cols);
    }
  }
  for (int i = 0; i < m->nslots; i++) {
    int found = 0;
    for (int k = 0; k < l->h.n && !found; k++)
      found = l->h.t[k].slot == i;
    if (sr_slot_is_model(m->slots[i].kind) && !found)
      return sr_fail(err, "%s: checkpoint has no tensor '%s'", l->path, m->slots[i].name);
  }
  return 0;
}

/* Checkpoints are written only with finite values; anything else means
 * damage (or another writer), and would poison training. */
static int check_values(const Load *l, SrError *err) {
  const uint8_t *data = l->buf + l->h.data_at;
  for (int k = 0; k < l->h.n; k++) {
    const SrStTensor *t = &l->h.t[k];
    size_t count = (size_t)(t->end - t->begin) / 4;
    for (size_t i = 0; i < count; i++) {
      float x = get_le32(data + t->begin + 4 * i);
      if (!isfinite(x))
        return sr_fail(err, "%s: tensor '%s' element %zu is not finite (%s)", l->path, t->name,
                       i, sr_nonfinite_name(x));
    }
  }
  return 0;
}

/* ---- loading: the file --------------------------------------------------- */

static int read_file(Load *l, SrError *err) {
  int fd = open(l->path, O_RDONLY);
  if (fd < 0)
    return sr_fail(err, "%s: cannot open: %s", l->path, strerror(errno));
  struct stat sb;
  int rc = 0;
  if (fstat(fd, &sb) != 0)
    rc = sr_fail(err, "%s: cannot stat: %s", l->path, strerror(errno));
  else if (!S_ISREG(sb.st_mode))
    rc = sr_fail(err, "%s: not a regular file", l->path);
  else if ((uint64_t)sb.st_size > MAX_FILE_BYTES)
    rc = sr_fail(err, "%s: too large: %jd bytes (checkpoints are limited to 4 GiB)", l->path,
                 (intmax_t)sb.st_size);
  else if (sb.st_size < 8)
    rc = sr_fail(err, "%s: truncated: %jd bytes, but a safetensors file starts with an 8-byte "
                 "header length", l->path, (intmax_t)sb.st_size);
  else if (!(l->buf = malloc((size_t)sb.st_size)))
    rc = sr_fail(err, "%s: out of memory for %jd bytes", l->path, (intmax_t)sb.st_size);
  while (rc == 0 && l->size < (size_t)sb.st_size) {
    ssize_t n = read(fd, l->buf + l->size, (size_t)sb.st_size - l->size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      rc = sr_fail(err, "%s: read error: %s", l->path, n < 0 ? strerror(errno) : "file shrank");
    else
      l->size += (size_t)n;
  }
  close(fd);
  return rc;
}

static void copy_into(SrState *st, const Load *l) {
  const uint8_t *data = l->buf + l->h.data_at;
  for (int k = 0; k < l->h.n; k++) {
    const SrStTensor *t = &l->h.t[k];
    float *w = st->slots[t->slot];
    size_t count = (size_t)(t->end - t->begin) / 4;
    for (size_t i = 0; i < count; i++)
      w[i] = get_le32(data + t->begin + 4 * i);
  }
}

int sr_checkpoint_load(SrState *st, const char *path, SrError *err) {
  if (check_model_names(st->model, path, err) < 0)
    return -1;
  Load l = {.path = path};
  int rc = read_file(&l, err);
  if (rc == 0)
    rc = sr_safetensors_header(path, l.buf, l.size, &l.h, err);
  if (rc == 0)
    rc = check_layout(&l, err);
  if (rc == 0)
    rc = match_model(st->model, &l, err);
  if (rc == 0)
    rc = check_values(&l, err);
  if (rc == 0)
    copy_into(st, &l);
  sr_safetensors_free(&l.h);
  free(l.buf);
  return rc;
}
