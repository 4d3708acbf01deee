/* fuzz_safetensors.c: a libFuzzer target for runtime/safetensors.c and
 * runtime/checkpoint.c. Each input is
 *   - parsed in memory by sr_safetensors_header (the buffer is exactly the
 *     input, so AddressSanitizer sees any read past it), every tensor then
 *     looked up by name (sr_safetensors_find);
 *   - read as a file by sr_safetensors_read, every tensor's words copied
 *     out (sr_safetensors_words) into a buffer of exactly its size;
 *   - loaded as a checkpoint into the state of fuzz_model.h's model
 *     (sr_checkpoint_load), which must leave the state exactly as it was
 *     when it refuses, and only finite values when it accepts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model.h"
#include "fuzz_util.h"
#include "sparsert_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef SPARSEC_LIBFUZZER
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Mutations that keep the file's framing (fuzz_util.h). */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  return fuzz_mutate_safetensors(data, size, max_size, seed);
}
#endif

static void header_in_memory(const uint8_t *data, size_t size) {
  SrStFile f = {.path = "fuzz.safetensors", .buf = (uint8_t *)data, .size = size};
  SrError err;
  if (size < 8 || sr_safetensors_header(f.path, data, size, &f.h, &err) < 0)
    return;
  if (f.h.data_at < 8 || f.h.data_at > size)
    fuzz_fail("header: data at %zu in %zu bytes", f.h.data_at, size);
  for (int k = 0; k < f.h.n; k++) {
    const SrStTensor *t = &f.h.t[k];
    if (!t->name || !t->dtype || t->ndim < 0 || t->ndim > SR_ST_MAX_DIMS)
      fuzz_fail("header: tensor %d incomplete", k);
    if (sr_safetensors_find(&f, t->name) != t)
      fuzz_fail("header: tensor '%s' not found by its name", t->name);
  }
  for (int k = 0; k < f.h.nmeta; k++)
    if (sr_safetensors_meta(&f.h, f.h.meta[k].key) == NULL)
      fuzz_fail("header: metadata '%s' not found by its key", f.h.meta[k].key);
  sr_safetensors_find(&f, "h1.w");
  sr_safetensors_free(&f.h);
}

static void read_file(const char *path) {
  SrStFile f;
  SrError err;
  if (sr_safetensors_read(path, &f, &err) < 0)
    return;
  for (int k = 0; k < f.h.n; k++) {
    const SrStTensor *t = &f.h.t[k];
    if (t->begin > t->end || t->end > f.size - f.h.data_at || (t->end - t->begin) % 4)
      fuzz_fail("read: tensor '%s' has data [%llu, %llu) in %zu bytes", t->name,
                (unsigned long long)t->begin, (unsigned long long)t->end, f.size - f.h.data_at);
    void *words = malloc(t->end - t->begin + 1);
    if (!words)
      abort();
    sr_safetensors_words(&f, t, words);
    free(words);
  }
  sr_safetensors_close(&f);
}

static SrState st;

/* The model's parameters and constants, one after another. */
static size_t snapshot(uint8_t *out) {
  size_t n = 0;
  for (int i = 0; i < fuzz_model.nslots; i++)
    if (sr_slot_is_model(fuzz_model.slots[i].kind)) {
      size_t bytes = (size_t)fuzz_model.slots[i].rows * (size_t)fuzz_model.slots[i].cols * 4;
      if (out)
        memcpy(out + n, st.slots[i], bytes);
      n += bytes;
    }
  return n;
}

static void load_checkpoint(const char *path) {
  SrError err;
  if (!st.slots && sr_state_init(&st, &fuzz_model, FUZZ_MODEL_ROWS, 7, &err) < 0)
    fuzz_fail("state: %s", err.msg);
  sr_state_reinit(&st, 7);
  static uint8_t before[4096], after[4096];
  if (snapshot(NULL) > sizeof before)
    abort();
  size_t n = snapshot(before);
  err.msg[0] = 0;
  int rc = sr_checkpoint_load(&st, path, &err);
  snapshot(after);
  if (rc < 0 && memcmp(before, after, n) != 0)
    fuzz_fail("checkpoint: refused (%s) but the state changed", err.msg);
  if (rc < 0 && !err.msg[0])
    fuzz_fail("checkpoint: refused without a message");
  int slot;
  size_t index;
  if (rc == 0 && sr_state_find_nonfinite(&st, &slot, &index))
    fuzz_fail("checkpoint: accepted a non-finite value in %s[%zu]", fuzz_model.slots[slot].name,
              index);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  header_in_memory(data, size);
  const char *path = fuzz_file(data, size);
  read_file(path);
  load_checkpoint(path);
  return 0;
}
