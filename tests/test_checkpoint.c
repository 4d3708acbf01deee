/* Tests for checkpoint.c and safetensors.c: a round trip must give back
 * the exact bits; every kind of damaged or mismatched file must be refused
 * with its own message and leave the state untouched; a failed save must
 * leave the old checkpoint intact and no temporary file behind. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sparsert_internal.h"

/* ---- a model with every kind of slot ------------------------------------- */

enum { W1, B1, SIGNS, V1, X, W2, NSLOTS };
static const SrSlot slots[] = {
    [W1] = {"h1.w", SR_SLOT_PARAM, 4, 3, SR_INIT_GLOROT_UNIFORM, 0, 4, 3, 0, 0},
    [B1] = {"h1.b", SR_SLOT_PARAM, 1, 3, SR_INIT_CONSTANT, 0.25, 0, 0, 0, 0},
    [SIGNS] = {"h1.signs", SR_SLOT_CONST, 4, 3, SR_INIT_SIGNS, 0, 0, 0, 0, 0},
    [V1] = {"h1.v", SR_SLOT_STATE, 4, 3, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [X] = {"x", SR_SLOT_INPUT, -1, 4, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [W2] = {"h2.w", SR_SLOT_PARAM, 3, 2, SR_INIT_HE_NORMAL, 0, 3, 2, 0, 0},
};
static const SrModel model = {.slots = slots, .nslots = NSLOTS};
static const int counts[NSLOTS] = {[W1] = 12, [B1] = 3, [SIGNS] = 12, [V1] = 12, [W2] = 6};
enum { DATA_BYTES = 4 * (12 + 3 + 12 + 6) }; /* 132 */

/* What sr_checkpoint_save writes for `model`, before the padding. */
static const char *const header =
    "{\"__metadata__\":{\"format\":\"sparsec\"},"
    "\"h1.w\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]},"
    "\"h1.b\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[48,60]},"
    "\"h1.signs\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[60,108]},"
    "\"h2.w\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[108,132]}}";

/* ---- a temporary directory per test -------------------------------------- */

static char dir[64];

static void make_dir(void) {
  strcpy(dir, "/tmp/sparsec-ckpt-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

/* Removes everything in dir (tests create only plain files there). */
static void remove_dir(void) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      if (unlink(path) != 0)
        rmdir(path);
    }
  closedir(d);
  rmdir(dir);
}

TestSuite(checkpoint, .init = make_dir, .fini = remove_dir);

static const char *in_dir(const char *name) {
  static char paths[8][256];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

static int files_in_dir(void) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* ---- states -------------------------------------------------------------- */

static void new_state(SrState *st, uint64_t seed) {
  SrError err;
  cr_assert_eq(sr_state_init(st, &model, 2, seed, &err), 0, "%s", err.msg);
}

/* Values whose bits a sloppy round trip would change: -0, a subnormal, the
 * largest float, one ulp above 1. */
static void awkward_values(SrState *st) {
  float *b = st->slots[B1], *w = st->slots[W2];
  b[0] = -0.0f, b[1] = 1e-45f, b[2] = FLT_MAX;
  w[5] = nextafterf(1.0f, 2.0f);
  ((float *)st->slots[V1])[0] = 9; /* optimiser state: never saved */
}

static void assert_same_model(const SrState *a, const SrState *b) {
  for (int i = 0; i < NSLOTS; i++)
    if (slots[i].kind == SR_SLOT_PARAM || slots[i].kind == SR_SLOT_CONST)
      cr_assert_arr_eq(a->slots[i], b->slots[i], (size_t)counts[i] * 4, "slot %s differs",
                       slots[i].name);
}

static void save_ok(const SrState *st, const char *path) {
  SrError err;
  cr_assert_eq(sr_checkpoint_save(st, path, &err), 0, "%s", err.msg);
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  uint8_t *buf = malloc(*len + 1);
  cr_assert_eq(fread(buf, 1, *len, f), *len);
  fclose(f);
  return buf;
}

static void write_all(const char *path, const void *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "%s", path);
  cr_assert_eq(fwrite(buf, 1, len, f), len);
  fclose(f);
}

/* ---- the round trip ------------------------------------------------------ */

Test(checkpoint, round_trip_is_bit_identical) {
  SrState a, b;
  new_state(&a, 1);
  new_state(&b, 2);
  awkward_values(&a);
  const char *path = in_dir("model.safetensors");
  save_ok(&a, path);
  SrError err;
  cr_assert_eq(sr_checkpoint_load(&b, path, &err), 0, "%s", err.msg);
  assert_same_model(&a, &b);
  cr_assert_eq(((float *)b.slots[V1])[0], 0.0f, "optimiser state was loaded");
  cr_assert(signbit(((float *)b.slots[B1])[0]));
  cr_assert_eq(files_in_dir(), 1); /* no temporary file left */
  sr_state_free(&a);
  sr_state_free(&b);
}

/* The layout, byte for byte: length, JSON padded with spaces to a
 * multiple of 8, then little-endian floats in slot order. */
Test(checkpoint, file_layout) {
  SrState st;
  new_state(&st, 1);
  awkward_values(&st);
  const char *path = in_dir("model.safetensors");
  save_ok(&st, path);
  size_t len;
  uint8_t *buf = read_all(path, &len);
  uint64_t n = 0;
  for (int i = 0; i < 8; i++)
    n |= (uint64_t)buf[i] << (8 * i);
  cr_assert_eq(n % 8, 0);
  cr_assert_eq(len, 8 + n + DATA_BYTES);
  size_t hlen = strlen(header);
  cr_assert_geq(n, hlen);
  cr_assert_lt(n, hlen + 8);
  cr_assert_eq(memcmp(buf + 8, header, hlen), 0, "%.*s", (int)n, buf + 8);
  for (size_t i = hlen; i < n; i++)
    cr_assert_eq(buf[8 + i], ' ');
  const uint8_t *data = buf + 8 + n;
  const uint8_t max_le[4] = {0xff, 0xff, 0x7f, 0x7f}; /* FLT_MAX, h1.b[2] */
  cr_assert_eq(memcmp(data + 48 + 8, max_le, 4), 0);
  cr_assert_eq(memcmp(data + 60, st.slots[SIGNS], 48), 0); /* this host is little-endian */
  free(buf);
  sr_state_free(&st);
}

/* Saving again replaces the file (rename over it). */
Test(checkpoint, save_replaces_an_existing_checkpoint) {
  SrState a, b, c;
  new_state(&a, 1);
  new_state(&b, 2);
  new_state(&c, 3);
  const char *path = in_dir("model.safetensors");
  save_ok(&a, path);
  save_ok(&b, path);
  SrError err;
  cr_assert_eq(sr_checkpoint_load(&c, path, &err), 0, "%s", err.msg);
  assert_same_model(&b, &c);
  cr_assert_eq(files_in_dir(), 1);
  sr_state_free(&a);
  sr_state_free(&b);
  sr_state_free(&c);
}

/* A plain fopen would give 0666 minus the umask; so must the save. */
Test(checkpoint, file_gets_the_usual_permissions) {
  umask(027);
  SrState st;
  new_state(&st, 1);
  const char *path = in_dir("model.safetensors");
  save_ok(&st, path);
  struct stat sb;
  cr_assert_eq(stat(path, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0640, "mode %o", sb.st_mode & 0777);
  sr_state_free(&st);
}

/* Another writer's file: whitespace, keys in another order, metadata of
 * its own, tensors stored in another order. Tensors match by name. */
Test(checkpoint, loads_a_foreign_but_valid_file) {
  SrState a, b;
  new_state(&a, 1);
  new_state(&b, 2);
  const char *json =
      "{ \"h2.w\": {\"shape\": [3, 2], \"dtype\": \"F32\", \"data_offsets\": [0, 24]},\n"
      "  \"__metadata__\": {\"format\": \"pt\", \"note\": \"caf\\u00e9 \\ud83d\\ude00\"},\n"
      "  \"h1.signs\": {\"data_offsets\": [24, 72], \"dtype\": \"F32\", \"shape\": [4, 3]},\n"
      "  \"h1.b\": {\"dtype\": \"F32\", \"shape\": [1, 3], \"data_offsets\": [72, 84]},\n"
      "  \"h1.w\": {\"dtype\": \"F32\", \"shape\": [4, 3], \"data_offsets\": [84, 132]}\t}\r\n";
  size_t n = strlen(json);
  uint8_t *buf = malloc(8 + n + DATA_BYTES), *p = buf;
  for (int i = 0; i < 8; i++)
    *p++ = (uint8_t)((uint64_t)n >> (8 * i));
  memcpy(p, json, n), p += n;
  int order[] = {W2, SIGNS, B1, W1};
  for (int k = 0; k < 4; k++)
    memcpy(p, a.slots[order[k]], (size_t)counts[order[k]] * 4), p += counts[order[k]] * 4;
  const char *path = in_dir("foreign.safetensors");
  write_all(path, buf, (size_t)(p - buf));
  free(buf);
  SrError err;
  cr_assert_eq(sr_checkpoint_load(&b, path, &err), 0, "%s", err.msg);
  assert_same_model(&a, &b);
  sr_state_free(&a);
  sr_state_free(&b);
}

/* ---- refused files ------------------------------------------------------- */

/* The load must fail with exactly "<path>: <rest>" and change nothing. */
static void assert_load_fails(const char *path, const char *rest) {
  SrState st, before;
  new_state(&st, 5);
  new_state(&before, 5);
  ((float *)st.slots[V1])[3] = 4;
  ((float *)before.slots[V1])[3] = 4;
  SrError err = {{0}};
  cr_assert_eq(sr_checkpoint_load(&st, path, &err), -1, "%s loaded", path);
  char want[1024];
  snprintf(want, sizeof want, "%s: %s", path, rest);
  cr_assert_str_eq(err.msg, want);
  for (int i = 0; i < NSLOTS; i++)
    cr_assert_arr_eq(st.slots[i], before.slots[i], st.bytes[i], "slot %s changed", slots[i].name);
  sr_state_free(&st);
  sr_state_free(&before);
}

/* A file with the given header JSON (length = its strlen) and data. */
static const char *write_st(const char *json, const uint8_t *data, size_t len) {
  size_t n = strlen(json);
  uint8_t *buf = malloc(8 + n + len + 1);
  for (int i = 0; i < 8; i++)
    buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
  memcpy(buf + 8, json, n);
  memcpy(buf + 8 + n, data, len);
  const char *path = in_dir("bad.safetensors");
  write_all(path, buf, 8 + n + len);
  free(buf);
  return path;
}

/* The data of a good checkpoint of `model` (seed 1). */
static const uint8_t *good_data(void) {
  static uint8_t data[DATA_BYTES];
  SrState st;
  new_state(&st, 1);
  const char *path = in_dir("good.safetensors");
  save_ok(&st, path);
  size_t len;
  uint8_t *buf = read_all(path, &len);
  memcpy(data, buf + len - DATA_BYTES, DATA_BYTES);
  free(buf);
  unlink(path);
  sr_state_free(&st);
  return data;
}

/* The standard header with one piece of text replaced. */
static const char *header_with(const char *old, const char *new) {
  static char json[2048];
  const char *at = strstr(header, old);
  cr_assert_not_null(at, "%s", old);
  snprintf(json, sizeof json, "%.*s%s%s", (int)(at - header), header, new, at + strlen(old));
  return json;
}

/* The header made malformed by the replacement; the message must give the
 * file offset of `marker` (first occurrence after the replacement point)
 * plus `delta`. */
static void assert_malformed(const char *old, const char *new, const char *marker, int delta,
                             const char *what) {
  const char *json = header_with(old, new);
  const char *at = strstr(json + (strstr(header, old) - header), marker);
  cr_assert_not_null(at, "%s in %s", marker, json);
  char rest[512];
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: %s",
           8 + (size_t)(at - json) + (size_t)delta, what);
  assert_load_fails(write_st(json, good_data(), DATA_BYTES), rest);
}

Test(checkpoint, the_standard_header_loads) {
  SrState st;
  new_state(&st, 3);
  SrError err;
  const char *path = write_st(header, good_data(), DATA_BYTES);
  cr_assert_eq(sr_checkpoint_load(&st, path, &err), 0, "%s", err.msg);
  sr_state_free(&st);
}

Test(checkpoint, missing_file_and_folder) {
  assert_load_fails(in_dir("absent"), "cannot open: No such file or directory");
  assert_load_fails(dir, "not a regular file");
}

Test(checkpoint, truncated_at_several_points) {
  const uint8_t *data = good_data();
  write_st(header, data, DATA_BYTES);
  size_t len;
  const char *path = in_dir("bad.safetensors");
  uint8_t *whole = read_all(path, &len);
  size_t n = strlen(header);
  const char *cut = in_dir("cut.safetensors");
  char rest[256];
  write_all(cut, whole, 0);
  assert_load_fails(cut, "truncated: 0 bytes, but a safetensors file starts with an 8-byte "
                         "header length");
  write_all(cut, whole, 5);
  assert_load_fails(cut, "truncated: 5 bytes, but a safetensors file starts with an 8-byte "
                         "header length");
  write_all(cut, whole, 8);
  snprintf(rest, sizeof rest, "truncated: the header length is %zu bytes, only 0 follow", n);
  assert_load_fails(cut, rest);
  write_all(cut, whole, 8 + 100);
  snprintf(rest, sizeof rest, "truncated: the header length is %zu bytes, only 100 follow", n);
  assert_load_fails(cut, rest);
  write_all(cut, whole, 8 + n);
  assert_load_fails(cut, "truncated: the header describes 132 bytes of tensor data, the file has 0");
  write_all(cut, whole, 8 + n + 50);
  assert_load_fails(cut, "truncated: the header describes 132 bytes of tensor data, the file has 50");
  write_all(cut, whole, len - 1);
  assert_load_fails(cut, "truncated: the header describes 132 bytes of tensor data, the file has 131");
  free(whole);
}

Test(checkpoint, trailing_garbage) {
  uint8_t data[DATA_BYTES + 3];
  memcpy(data, good_data(), DATA_BYTES);
  memcpy(data + DATA_BYTES, "xyz", 3);
  assert_load_fails(write_st(header, data, sizeof data),
                    "trailing garbage: 3 bytes after the tensor data");
}

Test(checkpoint, absurd_header_length) {
  uint8_t buf[16] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}'}; /* 2^40 */
  const char *path = in_dir("absurd.safetensors");
  write_all(path, buf, sizeof buf);
  assert_load_fails(path, "header length 1099511627776 is absurd (safetensors allows at most "
                          "100000000): not a safetensors file?");
  memset(buf, 0xff, 8);
  write_all(path, buf, sizeof buf);
  assert_load_fails(path, "header length 18446744073709551615 is absurd (safetensors allows at "
                          "most 100000000): not a safetensors file?");
}

Test(checkpoint, too_large_file) {
  const char *path = in_dir("huge.safetensors");
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(ftruncate(fileno(f), (off_t)(4ull << 30) + 1), 0); /* sparse: no disk used */
  fclose(f);
  assert_load_fails(path, "too large: 4294967297 bytes (checkpoints are limited to 4 GiB)");
}

Test(checkpoint, malformed_structure) {
  assert_load_fails(write_st("", good_data(), DATA_BYTES),
                    "malformed header JSON at byte 8: unexpected end of the header");
  assert_load_fails(write_st("[]", good_data(), DATA_BYTES),
                    "malformed header JSON at byte 8: expected '{'");
  /* the final brace missing: the end comes where ',' or '}' should */
  char cut[1024];
  snprintf(cut, sizeof cut, "%.*s", (int)strlen(header) - 1, header);
  char rest[128];
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: unexpected end of the header",
           8 + strlen(cut));
  assert_load_fails(write_st(cut, good_data(), DATA_BYTES), rest);
  assert_malformed("\"h1.w\":", "\"h1.w\" ", "{", 0, "expected ':'");
  assert_malformed("[0,48]},", "[0,48]} ", "\"h1.b\"", 0, "expected ',' or '}'");
  assert_malformed("]}}", "]},}", ",}", 1, "expected '\"'");
  assert_malformed("]}}", "]}} x", "x", 0, "unexpected text after the header object");
  assert_malformed("\"F32\",\"shape\":[4,3]", "true,\"shape\":[4,3]", "true", 0, "expected '\"'");
  assert_malformed("[4,3]", "[4 3]", "3]", 0, "expected ',' or ']'");
}

Test(checkpoint, malformed_strings) {
  assert_malformed("\"h1.w\"", "\"h1\\q\"", "q", 0, "unknown escape in a string");
  assert_malformed("\"h1.w\"", "\"h1\\u12\"", "2\"", 1, "\\u needs four hex digits");
  assert_malformed("\"h1.w\"", "\"h1\\ude00\"", "\\ude00", 6, "lone low surrogate in \\u escape");
  assert_malformed("\"h1.w\"", "\"h1\\ud83dx\"", "x", 0, "high surrogate not followed by a low one");
  assert_malformed("\"h1.w\"", "\"h1\\u0000\"", "\\u0000", 6, "\\u0000 is not allowed in a name");
  assert_malformed("\"h1.w\"", "\"h1\tw\"", "\t", 0, "control character in a string");
  char open[64];
  snprintf(open, sizeof open, "{\"h1.w");
  char rest[128];
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: unterminated string",
           8 + strlen(open));
  assert_load_fails(write_st(open, good_data(), DATA_BYTES), rest);
}

Test(checkpoint, malformed_numbers) {
  assert_malformed("[4,3]", "[4.0,3]", ".0", 0, "only integers are allowed here");
  assert_malformed("[4,3]", "[4e0,3]", "e0", 0, "only integers are allowed here");
  assert_malformed("[4,3]", "[-4,3]", "-4", 0, "expected a non-negative integer");
  assert_malformed("[4,3]", "[04,3]", "04", 0, "leading zero in an integer");
  assert_malformed("[4,3]", "[18446744073709551616,3]", "18446", 0, "integer too large");
  assert_malformed("[4,3]", "[\"4\",3]", "\"4\"", 0, "expected an integer");
}

Test(checkpoint, malformed_tensor_entries) {
  assert_malformed("\"h1.b\":", "\"h1.w\":", "\"h1.w\"", 0, "duplicate key 'h1.w'");
  assert_malformed("\"dtype\":\"F32\",\"shape\":[1,3]", "\"dtype\":\"F32\",\"dtype\":\"F32\"",
                   "\"dtype\":\"F32\",\"dtype\"", 14, "duplicate key 'dtype'");
  assert_malformed("\"shape\":[4,3],", "\"shape\":[4,3],\"shape\":[4,3],", "\"shape\":[4,3],\"d",
                   0, "duplicate key 'shape'");
  assert_malformed("\"dtype\":\"F32\",", "\"dtype\":\"F32\",\"foo\":\"x\",", "\"foo\"", 0,
                   "unknown key 'foo' in a tensor");
  assert_malformed("\"dtype\":\"F32\",", "", "}", 0, "tensor without \"dtype\"");
  assert_malformed(",\"data_offsets\":[0,48]", "", "}", 0, "tensor without \"data_offsets\"");
  assert_malformed("[0,48]", "[0,48,96]", "96", 0, "too many elements in an array");
  assert_malformed("[0,48]", "[0]", "[0]", 0, "data_offsets needs two integers");
  assert_malformed("{\"format\":\"sparsec\"}", "{\"format\":1}", "1}", 0, "expected '\"'");
  assert_malformed("\"__metadata__\":{", "\"__metadata__\":{},\"__metadata__\":{",
                   "\"__metadata__\":{\"", 0, "duplicate key '__metadata__'");
}

Test(checkpoint, wrong_dtype) {
  assert_load_fails(write_st(header_with("F32", "F16"), good_data(), DATA_BYTES),
                    "tensor 'h1.w' has dtype F16, only F32 is supported");
}

Test(checkpoint, offsets_that_do_not_fit_the_shape) {
  assert_load_fails(write_st(header_with("[0,48]", "[48,0]"), good_data(), DATA_BYTES),
                    "tensor 'h1.w' has data_offsets [48, 0] that end before they begin");
  assert_load_fails(write_st(header_with("[0,48]", "[0,44]"), good_data(), DATA_BYTES),
                    "tensor 'h1.w' has data_offsets [0, 44] (44 bytes) but its shape [4, 3] "
                    "needs 48");
}

Test(checkpoint, overlapping_offsets) {
  const char *json = header_with("[48,60]}", "[40,52]}");
  assert_load_fails(write_st(json, good_data(), DATA_BYTES),
                    "tensors 'h1.w' and 'h1.b' overlap (data_offsets [0, 48] and [40, 52])");
}

Test(checkpoint, gap_between_tensors) {
  const char *json = header_with("[48,60]}", "[52,64]}");
  assert_load_fails(write_st(json, good_data(), DATA_BYTES),
                    "data bytes [48, 52) belong to no tensor");
}

/* Offsets beyond the data leave a hole where the tensor should be; one
 * past 2^64 is not even a number the header may hold. */
Test(checkpoint, out_of_range_offsets) {
  const char *json = header_with("[108,132]", "[9223372036854775808,9223372036854775832]");
  assert_load_fails(write_st(json, good_data(), DATA_BYTES),
                    "data bytes [108, 9223372036854775808) belong to no tensor");
  json = header_with("[0,48]", "[18446744073709551567,18446744073709551615]");
  assert_load_fails(write_st(json, good_data(), DATA_BYTES),
                    "data bytes [0, 48) belong to no tensor");
  assert_malformed("[108,132]", "[108,18446744073709551616]", "18446", 0, "integer too large");
}

/* A checkpoint of a model whose h1 is narrower. */
Test(checkpoint, wrong_shape) {
  SrSlot narrow[NSLOTS];
  memcpy(narrow, slots, sizeof narrow);
  narrow[W1].cols = narrow[B1].cols = narrow[SIGNS].cols = narrow[V1].cols = 2;
  SrModel m = {.slots = narrow, .nslots = NSLOTS};
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &m, 2, 1, &err), 0, "%s", err.msg);
  const char *path = in_dir("narrow.safetensors");
  save_ok(&st, path);
  sr_state_free(&st);
  assert_load_fails(path, "tensor 'h1.w' has shape [4, 2], the model expects [4, 3]");
  const char *json = header_with("[4,3],\"data_offsets\":[0,48]", "[12],\"data_offsets\":[0,48]");
  assert_load_fails(write_st(json, good_data(), DATA_BYTES),
                    "tensor 'h1.w' has shape [12], the model expects [4, 3]");
}

/* Saved from a model without h2.w, or with an extra h9.w. */
static const char *save_variant(int drop_last, const char *extra) {
  SrSlot variant[NSLOTS + 1];
  memcpy(variant, slots, sizeof slots);
  int n = drop_last ? NSLOTS - 1 : NSLOTS;
  if (extra)
    variant[n++] = (SrSlot){extra, SR_SLOT_PARAM, 2, 2, SR_INIT_ZERO, 0, 0, 0, 0, 0};
  SrModel m = {.slots = variant, .nslots = n};
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &m, 2, 1, &err), 0, "%s", err.msg);
  const char *path = in_dir("variant.safetensors");
  save_ok(&st, path);
  sr_state_free(&st);
  return path;
}

Test(checkpoint, missing_tensor) {
  assert_load_fails(save_variant(1, NULL), "checkpoint has no tensor 'h2.w'");
}

Test(checkpoint, extra_tensor) {
  assert_load_fails(save_variant(0, "h9.w"), "checkpoint has a tensor 'h9.w' the model does not have");
}

/* Optimiser state is not saved, so a file holding it is foreign. */
Test(checkpoint, state_slot_in_the_file_is_unknown) {
  assert_load_fails(save_variant(0, "h1.v"), "checkpoint has a tensor 'h1.v' the model does not have");
}

Test(checkpoint, non_finite_value_in_the_file) {
  uint8_t data[DATA_BYTES];
  memcpy(data, good_data(), DATA_BYTES);
  memcpy(data + 48 + 4, (uint8_t[]){0, 0, 0xc0, 0x7f}, 4); /* h1.b[1] = NaN */
  assert_load_fails(write_st(header, data, DATA_BYTES), "tensor 'h1.b' element 1 is not finite (nan)");
  memcpy(data, good_data(), DATA_BYTES);
  memcpy(data + 108 + 20, (uint8_t[]){0, 0, 0x80, 0xff}, 4); /* h2.w[5] = -inf */
  assert_load_fails(write_st(header, data, DATA_BYTES), "tensor 'h2.w' element 5 is not finite (-inf)");
}

/* ---- many tensors: nothing quadratic ------------------------------------- */

#include "time_limit.h"

enum { MANY = 100000 };

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* A file of the given format: the model's tensors (good_data()), then
 * `many` 1x1 tensors "run/t<k>" holding k, their names in a scrambled
 * order (a permutation of 0..MANY-1). Extra metadata keys "k<i>" when
 * `meta` > 0. rename_from/to: tensor number `rename_to` (in the file)
 * takes the name of number `rename_from`, a repeat (-1: none). */
static const char *write_many(const char *format, int meta, int many, int rename_from,
                              int rename_to) {
  char *json = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&json, &len);
  cr_assert_not_null(f);
  fprintf(f, "{\"__metadata__\":{\"format\":\"%s\"", format);
  for (int i = 0; i < meta; i++)
    fprintf(f, ",\"k%d\":\"v\"", i);
  fprintf(f, "},%s", strchr(header, '}') + 2); /* the model's tensors, less the final brace */
  fseek(f, -1, SEEK_CUR);
  for (int i = 0; i < many; i++) {
    int k = (int)((long)(i == rename_to ? rename_from : i) * 7919 % MANY); /* a permutation */
    fprintf(f, ",\"run/t%d\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[%d,%d]}", k,
            DATA_BYTES + 4 * i, DATA_BYTES + 4 * i + 4);
  }
  fputc('}', f);
  cr_assert_eq(fclose(f), 0);
  size_t dlen = DATA_BYTES + 4 * (size_t)many;
  uint8_t *data = malloc(dlen);
  memcpy(data, good_data(), DATA_BYTES);
  for (int i = 0; i < many; i++) {
    float v = (float)(i * 7919L % MANY);
    memcpy(data + DATA_BYTES + 4 * i, &v, 4);
  }
  const char *path = write_st(json, data, dlen);
  free(json);
  free(data);
  return path;
}

/* The byte offset in the file of the `nth` (1-based) occurrence of `text`. */
static size_t offset_of(const char *path, const char *text, int nth) {
  size_t len;
  uint8_t *buf = read_all(path, &len);
  buf[len] = '\0'; /* read_all leaves room for it */
  const char *at = (const char *)buf + 8;
  for (int i = 0; i < nth; i++) {
    at = strstr(at + (i > 0), text);
    cr_assert_not_null(at, "%s occurrence %d", text, i + 1);
  }
  size_t off = (size_t)(at - (const char *)buf);
  free(buf);
  return off;
}

/* 100,000 tensors: the duplicate check, the layout check, matching the
 * model and finding each tensor by name take well under a second (minutes
 * when each name was compared with every other). */
Test(checkpoint, hundred_thousand_tensors) {
  const char *path = write_many(SR_STATE_FORMAT, 0, MANY, -1, -1);
  SrState st;
  new_state(&st, 7);
  SrError err;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_assert_eq(sr_checkpoint_load(&st, path, &err), 0, "%s", err.msg);
  double load = seconds_since(&t0);
  SrState good;
  new_state(&good, 1);
  assert_same_model(&st, &good);

  clock_gettime(CLOCK_MONOTONIC, &t0);
  SrStFile file;
  cr_assert_eq(sr_safetensors_read(path, &file, &err), 0, "%s", err.msg);
  for (int k = 0; k < MANY; k++) {
    char name[32];
    snprintf(name, sizeof name, "run/t%d", k);
    const SrStTensor *t = sr_safetensors_find(&file, name);
    cr_assert_not_null(t, "%s not found", name);
    float v;
    sr_safetensors_words(&file, t, &v);
    cr_assert_eq(v, (float)k, "%s holds %g", name, (double)v);
  }
  cr_assert_eq(sr_safetensors_find(&file, "h1.w")->begin, 0);
  cr_assert_null(sr_safetensors_find(&file, "run/t100000"));
  cr_assert_null(sr_safetensors_find(&file, "run/t"));
  cr_assert_null(sr_safetensors_find(&file, ""));
  sr_safetensors_close(&file);
  double find = seconds_since(&t0);
  cr_assert_lt(load, TIME_LIMIT, "loading took %.2f s", load);
  cr_assert_lt(find, TIME_LIMIT, "reading and finding every tensor took %.2f s", find);
  sr_state_free(&st);
  sr_state_free(&good);
}

/* A repeat far from the first: refused at the repeat. */
Test(checkpoint, duplicate_among_many_tensors) {
  int from = 5, to = MANY - 3; /* tensor MANY - 3 is named like tensor 5 */
  const char *path = write_many(SR_STATE_FORMAT, 0, MANY, from, to);
  char name[64], rest[160];
  snprintf(name, sizeof name, "\"run/t%ld\"", from * 7919L % MANY);
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: duplicate key 'run/t%ld'",
           offset_of(path, name, 2), from * 7919L % MANY);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_load_fails(path, rest);
  double took = seconds_since(&t0);
  cr_assert_lt(took, TIME_LIMIT, "took %.2f s", took);
}

/* 100,000 metadata keys; and one key twice. */
Test(checkpoint, duplicate_among_many_metadata_keys) {
  const char *path = write_many(SR_STATE_FORMAT, MANY, 10, -1, -1);
  SrState st;
  new_state(&st, 7);
  SrError err;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_assert_eq(sr_checkpoint_load(&st, path, &err), 0, "%s", err.msg);
  double took = seconds_since(&t0);
  cr_assert_lt(took, TIME_LIMIT, "took %.2f s", took);
  sr_state_free(&st);

  char json[1024];
  snprintf(json, sizeof json, "%.*s,\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"%s",
           (int)(strchr(header, '}') - header), header, strchr(header, '}'));
  path = write_st(json, good_data(), DATA_BYTES);
  snprintf(json, sizeof json, "malformed header JSON at byte %zu: duplicate key 'k'",
           offset_of(path, "\"k\"", 2));
  assert_load_fails(path, json);
}

/* Tensors are matched through sorted names, but messages follow the file's
 * order (the first tensor the model lacks) and the model's (the first
 * slot without a tensor). */
Test(checkpoint, messages_follow_the_order_of_file_and_model) {
  char json[1024];
  snprintf(json, sizeof json,
           "%.*s,\"z.w\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[132,136]},"
           "\"a.w\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[136,140]}}",
           (int)strlen(header) - 1, header);
  uint8_t data[DATA_BYTES + 8] = {0};
  memcpy(data, good_data(), DATA_BYTES);
  assert_load_fails(write_st(json, data, sizeof data),
                    "checkpoint has a tensor 'z.w' the model does not have");
  const char *two = "{\"h1.signs\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]},"
                    "\"h2.w\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[48,72]}}";
  assert_load_fails(write_st(two, good_data(), 72), "checkpoint has no tensor 'h1.w'");
}

/* Names are checked for repeats after the parse, but the message is the
 * one checking each name as it comes would give: the first repeat in the
 * file wins, over a later repeat and over any later error; an earlier
 * error wins over it. */
Test(checkpoint, the_first_error_in_the_file_is_reported) {
  const char *a = "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
  const char *b = "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}";
  char json[1024], rest[256];
  /* b, a, a, b: the repeat of a comes first */
  snprintf(json, sizeof json, "{%s,%s,%s,%s}", b, a, a, b);
  const char *path = write_st(json, (uint8_t[16]){0}, 16);
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: duplicate key 'a'",
           offset_of(path, "\"a\"", 2));
  assert_load_fails(path, rest);
  /* a repeated, then a syntax error */
  snprintf(json, sizeof json, "{%s,%s,%s,x}", a, b, a);
  path = write_st(json, (uint8_t[16]){0}, 16);
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: duplicate key 'a'",
           offset_of(path, "\"a\"", 2));
  assert_load_fails(path, rest);
  /* a repeated, its repeat malformed */
  snprintf(json, sizeof json, "{%s,%s,\"a\":{\"dtype\":1}}", a, b);
  path = write_st(json, (uint8_t[16]){0}, 16);
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: duplicate key 'a'",
           offset_of(path, "\"a\"", 2));
  assert_load_fails(path, rest);
  /* a syntax error, then a repeat */
  snprintf(json, sizeof json, "{%s,\"b\":{\"dtype\":1},%s}", a, a);
  path = write_st(json, (uint8_t[16]){0}, 16);
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: expected '\"'",
           offset_of(path, "1}", 1));
  assert_load_fails(path, rest);
  /* a repeated metadata key after a repeated tensor name: the tensor */
  snprintf(json, sizeof json, "{%s,%s,\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", a, a);
  path = write_st(json, (uint8_t[16]){0}, 16);
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: duplicate key 'a'",
           offset_of(path, "\"a\"", 2));
  assert_load_fails(path, rest);
  /* ... and before it: the key */
  snprintf(json, sizeof json, "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},%s,%s}", a, a);
  path = write_st(json, (uint8_t[16]){0}, 16);
  snprintf(rest, sizeof rest, "malformed header JSON at byte %zu: duplicate key 'k'",
           offset_of(path, "\"k\"", 2));
  assert_load_fails(path, rest);
}

/* ---- failed saves -------------------------------------------------------- */

/* The save must fail with exactly "<path>: <rest>". */
static void assert_save_fails(const SrState *st, const char *path, const char *rest) {
  SrError err = {{0}};
  cr_assert_eq(sr_checkpoint_save(st, path, &err), -1, "%s saved", path);
  char want[1024];
  snprintf(want, sizeof want, "%s: %s", path, rest);
  cr_assert_str_eq(err.msg, want);
}

/* An old checkpoint must survive untouched, and nothing else appear. */
static uint8_t *old_checkpoint(const char *path, size_t *len) {
  SrState old;
  new_state(&old, 9);
  save_ok(&old, path);
  sr_state_free(&old);
  return read_all(path, len);
}

static void assert_unchanged(const char *path, const uint8_t *old, size_t len) {
  size_t now_len;
  uint8_t *now = read_all(path, &now_len);
  cr_assert_eq(now_len, len);
  cr_assert_arr_eq(now, old, len);
  free(now);
}

Test(checkpoint, non_finite_value_refused_at_save) {
  SrState st;
  new_state(&st, 1);
  const char *path = in_dir("model.safetensors");
  size_t len;
  uint8_t *old = old_checkpoint(path, &len);
  ((float *)st.slots[SIGNS])[7] = INFINITY;
  assert_save_fails(&st, path, "not saved: tensor 'h1.signs' element 7 is not finite (inf)");
  ((float *)st.slots[SIGNS])[7] = 1;
  ((float *)st.slots[W1])[11] = NAN;
  assert_save_fails(&st, path, "not saved: tensor 'h1.w' element 11 is not finite (nan)");
  assert_unchanged(path, old, len);
  cr_assert_eq(files_in_dir(), 1);
  free(old);
  sr_state_free(&st);
}

Test(checkpoint, save_into_a_missing_folder) {
  SrState st;
  new_state(&st, 1);
  char path[256], rest[512];
  snprintf(path, sizeof path, "%s/absent/model.safetensors", dir);
  snprintf(rest, sizeof rest, "cannot create a temporary file in '%s/absent': No such file or "
                              "directory", dir);
  assert_save_fails(&st, path, rest);
  cr_assert_eq(files_in_dir(), 0);
  sr_state_free(&st);
}

Test(checkpoint, save_under_a_file_posing_as_folder) {
  SrState st;
  new_state(&st, 1);
  const char *file = in_dir("plain");
  write_all(file, "x", 1);
  char path[256], rest[512];
  snprintf(path, sizeof path, "%s/model.safetensors", file);
  snprintf(rest, sizeof rest, "cannot create a temporary file in '%s': Not a directory", file);
  assert_save_fails(&st, path, rest);
  cr_assert_eq(files_in_dir(), 1);
  sr_state_free(&st);
}

/* The temporary file is written, but cannot be renamed over a folder: it
 * must be removed again. */
Test(checkpoint, rename_failure_removes_the_temporary_file) {
  SrState st;
  new_state(&st, 1);
  const char *path = in_dir("taken");
  cr_assert_eq(mkdir(path, 0700), 0);
  assert_save_fails(&st, path, "cannot replace with the new checkpoint: Is a directory");
  cr_assert_eq(files_in_dir(), 1); /* the folder only */
  sr_state_free(&st);
}

/* A disk that fills up during the write, simulated with a file size limit
 * (which binds root too): the old checkpoint survives, the partial
 * temporary file goes. */
Test(checkpoint, write_failure_leaves_the_old_checkpoint_intact) {
  SrState st;
  new_state(&st, 1);
  const char *path = in_dir("model.safetensors");
  size_t len;
  uint8_t *old = old_checkpoint(path, &len);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = {.rlim_cur = 200, .rlim_max = RLIM_INFINITY};
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
  assert_save_fails(&st, path, "write error: File too large");
  limit.rlim_cur = RLIM_INFINITY;
  setrlimit(RLIMIT_FSIZE, &limit);
  assert_unchanged(path, old, len);
  cr_assert_eq(files_in_dir(), 1);
  free(old);
  sr_state_free(&st);
}

Test(checkpoint, refuses_unsaveable_names) {
  SrSlot twins[] = {{"w", SR_SLOT_PARAM, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
                  {"w", SR_SLOT_CONST, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0}};
  SrModel m = {.slots = twins, .nslots = 2};
  SrState st;
  SrError err;
  cr_assert_eq(sr_state_init(&st, &m, 1, 1, &err), 0, "%s", err.msg);
  const char *path = in_dir("dup.safetensors");
  assert_save_fails(&st, path, "model slots 0 and 1 are both named 'w'");
  sr_state_free(&st);
  twins[1].name = "__metadata__";
  cr_assert_eq(sr_state_init(&st, &m, 1, 1, &err), 0, "%s", err.msg);
  assert_save_fails(&st, path, "model slot 1 cannot be a tensor: its name is '__metadata__'");
  sr_state_free(&st);
  cr_assert_eq(files_in_dir(), 0);
}

/* Names with characters JSON must escape survive the round trip. */
Test(checkpoint, names_are_escaped) {
  SrSlot odd[] = {{"a\"b\\c\td\xc3\xa9", SR_SLOT_PARAM, 1, 2, SR_INIT_CONSTANT, 1.5, 0, 0, 0, 0}};
  SrModel m = {.slots = odd, .nslots = 1};
  SrState a, b;
  SrError err;
  cr_assert_eq(sr_state_init(&a, &m, 1, 1, &err), 0, "%s", err.msg);
  cr_assert_eq(sr_state_init(&b, &m, 1, 1, &err), 0, "%s", err.msg);
  ((float *)b.slots[0])[1] = 0;
  const char *path = in_dir("odd.safetensors");
  save_ok(&a, path);
  cr_assert_eq(sr_checkpoint_load(&b, path, &err), 0, "%s", err.msg);
  cr_assert_eq(((float *)b.slots[0])[1], 1.5f);
  sr_state_free(&a);
  sr_state_free(&b);
}
