/* Tests for idx.c and dataset.c: IDX files are written to a fresh temporary
 * directory by each test, raw or gzip'd, good or broken in one specific
 * way, and every broken file must fail with a message naming the file and
 * the problem. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sparsert.h"
#include "tmpfiles.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist/"

/* ---- a temporary directory per test -------------------------------------- */

static void make_tmpdir(void) {
  tmpfiles_make("idx");
}

static void remove_tmpdir(void) {
  tmpfiles_remove();
}

TestSuite(idx, .init = make_tmpdir, .fini = remove_tmpdir);
TestSuite(dataset, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *write_gz(const char *name, const void *bytes, size_t len) {
  const char *path = tmp_path(name);
  gzFile gz = gzopen(path, "wb");
  cr_assert_not_null(gz);
  cr_assert_eq(gzwrite(gz, bytes, (unsigned)len), (int)len);
  cr_assert_eq(gzclose(gz), Z_OK);
  return path;
}

/* Reads a whole file, e.g. to corrupt a gzip'd one by hand. */
static size_t read_all(const char *path, uint8_t *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

/* ---- building IDX images in memory --------------------------------------- */

/* Writes an unsigned-byte IDX header for `ndim` dims into buf; returns its
 * length. */
static size_t idx_header(uint8_t *buf, int ndim, const uint32_t *dims) {
  buf[0] = 0, buf[1] = 0, buf[2] = 0x08, buf[3] = (uint8_t)ndim;
  for (int i = 0; i < ndim; i++) {
    buf[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
    buf[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
    buf[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
    buf[7 + 4 * i] = (uint8_t)dims[i];
  }
  return 4 + 4 * (size_t)ndim;
}

/* Header plus `count` data bytes 0, 1, 2, ... */
static size_t idx_file(uint8_t *buf, int ndim, const uint32_t *dims, size_t count) {
  size_t len = idx_header(buf, ndim, dims);
  for (size_t i = 0; i < count; i++)
    buf[len + i] = (uint8_t)i;
  return len + count;
}

/* A 2 x 2 x 3 image file: 16 header bytes + 12 data bytes. */
static size_t small_images(uint8_t *buf) {
  return idx_file(buf, 3, (uint32_t[]){2, 2, 3}, 12);
}

#define assert_msg_has(err, text)                                                   \
  cr_assert_not_null(strstr((err).msg, (text)), "message \"%s\" lacks \"%s\"", (err).msg, \
                     (text))

/* The load must fail, name the file, and contain `phrase`. */
static void assert_load_fails(const char *path, const char *phrase) {
  SrIdx idx;
  SrError err = {{0}};
  cr_assert_eq(sr_idx_load(path, &idx, &err), -1, "%s loaded but should not", path);
  assert_msg_has(err, path);
  assert_msg_has(err, phrase);
  cr_assert_null(idx.data);
}

/* ---- good files ---------------------------------------------------------- */

static void check_small_images(const char *path) {
  SrIdx idx;
  SrError err = {{0}};
  cr_assert_eq(sr_idx_load(path, &idx, &err), 0, "%s", err.msg);
  cr_assert_eq(idx.ndim, 3);
  cr_assert_eq(idx.dims[0], 2);
  cr_assert_eq(idx.dims[1], 2);
  cr_assert_eq(idx.dims[2], 3);
  cr_assert_eq(idx.count, 12);
  for (int i = 0; i < 12; i++)
    cr_assert_eq(idx.data[i], i);
  sr_idx_free(&idx);
  cr_assert_null(idx.data);
}

Test(idx, loads_raw_file) {
  uint8_t buf[64];
  check_small_images(write_bytes("img.idx", buf, small_images(buf)));
}

Test(idx, loads_gzip_file) {
  uint8_t buf[64];
  check_small_images(write_gz("img.idx.gz", buf, small_images(buf)));
}

Test(idx, loads_one_dimension) {
  uint8_t buf[64];
  size_t len = idx_file(buf, 1, (uint32_t[]){5}, 5);
  SrIdx idx;
  SrError err;
  cr_assert_eq(sr_idx_load(write_bytes("lab.idx", buf, len), &idx, &err), 0, "%s", err.msg);
  cr_assert_eq(idx.ndim, 1);
  cr_assert_eq(idx.count, 5);
  cr_assert_eq(idx.data[4], 4);
  sr_idx_free(&idx);
}

/* ---- broken files -------------------------------------------------------- */

Test(idx, truncated_magic) {
  assert_load_fails(write_bytes("short.idx", (uint8_t[]){0, 0, 8}, 3),
                    "truncated: file ends inside the header (3 of 4 bytes)");
}

Test(idx, truncated_dimensions) {
  uint8_t buf[64];
  small_images(buf);
  assert_load_fails(write_bytes("short.idx", buf, 10),
                    "truncated: file ends inside the header (10 of 16 bytes)");
}

Test(idx, empty_file) {
  assert_load_fails(write_bytes("empty.idx", "", 0), "truncated");
}

Test(idx, truncated_data_raw) {
  uint8_t buf[64];
  small_images(buf);
  assert_load_fails(write_bytes("cut.idx", buf, 16 + 5),
                    "truncated: header announces 12 bytes of data, file has 5");
}

Test(idx, truncated_data_gzip) {
  uint8_t buf[64];
  small_images(buf);
  assert_load_fails(write_gz("cut.idx.gz", buf, 16 + 5),
                    "truncated: header announces 12 bytes of data, file has 5");
}

Test(idx, trailing_garbage) {
  uint8_t buf[64];
  size_t len = small_images(buf);
  memcpy(buf + len, "xyz", 3);
  assert_load_fails(write_bytes("long.idx", buf, len + 3), "trailing garbage: 3 bytes");
  assert_load_fails(write_gz("long.idx.gz", buf, len + 3), "trailing garbage: 3 bytes");
}

Test(idx, wrong_magic) {
  uint8_t buf[64];
  size_t len = small_images(buf);
  buf[1] = 0x01;
  assert_load_fails(write_bytes("magic.idx", buf, len), "not an IDX file: bad magic number");
}

Test(idx, unsupported_type_code) {
  uint8_t buf[64];
  size_t len = small_images(buf);
  buf[2] = 0x0D; /* float */
  assert_load_fails(write_bytes("float.idx", buf, len), "unsupported IDX type code 0x0d");
}

Test(idx, unsupported_number_of_dimensions) {
  uint8_t none[4] = {0, 0, 8, 0};
  assert_load_fails(write_bytes("d0.idx", none, 4), "unsupported number of dimensions 0");
  uint8_t buf[64];
  size_t len = idx_file(buf, 5, (uint32_t[]){1, 1, 1, 1, 1}, 1);
  assert_load_fails(write_bytes("d5.idx", buf, len), "unsupported number of dimensions 5");
}

Test(idx, zero_dimension) {
  uint8_t buf[64];
  size_t len = idx_header(buf, 3, (uint32_t[]){2, 0, 3});
  assert_load_fails(write_bytes("zero.idx", buf, len), "dimension 2 of 3 is zero");
}

Test(idx, absurd_size) {
  uint8_t buf[64];
  size_t len = idx_header(buf, 3, (uint32_t[]){65536, 65536, 2});
  assert_load_fails(write_bytes("huge.idx", buf, len), "too large");
  len = idx_header(buf, 1, (uint32_t[]){0xffffffffu});
  assert_load_fails(write_bytes("huge1.idx", buf, len), "too large");
}

Test(idx, missing_file) {
  assert_load_fails(tmp_path("nonexistent.idx"), "cannot open: No such file or directory");
}

Test(idx, directory_instead_of_file) {
  assert_load_fails(tmpdir, "read error");
}

/* Bytes from a fixed-seed generator, with a non-zero first byte so that
 * they are neither an IDX nor a gzip header. */
Test(idx, random_garbage) {
  uint8_t buf[1000];
  SrRng rng;
  sr_rng_seed(&rng, 42);
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)sr_rng_next(&rng);
  buf[0] = 0x5a;
  assert_load_fails(write_bytes("garbage.idx", buf, sizeof buf), "not an IDX file");
}

/* Writes a gzip'd good file, lets `corrupt` damage its bytes, and rewrites
 * it under `name`. */
static const char *corrupt_gz(const char *name, size_t (*corrupt)(uint8_t *, size_t)) {
  uint8_t buf[256];
  size_t len = small_images(buf);
  const char *good = write_gz("good.gz", buf, len);
  uint8_t gz[512];
  size_t gzlen = read_all(good, gz, sizeof gz);
  cr_assert_gt(gzlen, 18);
  return write_bytes(name, gz, corrupt(gz, gzlen));
}

/* The first deflate byte follows the 10-byte gzip header; block type 3
 * is reserved, so inflate must refuse it. */
static size_t bad_block_type(uint8_t *gz, size_t len) {
  gz[10] = 0xff;
  return len;
}

/* The trailer is CRC32 then length; a wrong CRC shows only at the end. */
static size_t bad_checksum(uint8_t *gz, size_t len) {
  gz[len - 8] ^= 0xff;
  return len;
}

static size_t cut_in_half(uint8_t *gz, size_t len) {
  (void)gz;
  return len / 2;
}

Test(idx, corrupt_gzip_block) {
  assert_load_fails(corrupt_gz("block.gz", bad_block_type), "corrupt gzip stream");
}

Test(idx, corrupt_gzip_checksum) {
  assert_load_fails(corrupt_gz("crc.gz", bad_checksum), "corrupt gzip stream");
}

Test(idx, cut_gzip_stream) {
  assert_load_fails(corrupt_gz("cut.gz", cut_in_half), "corrupt gzip stream");
}

/* ---- what follows a gzip stream, and believing the header ---------------- */

/* Appends `len` bytes to the file at `path`. */
static void append(const char *path, const void *bytes, size_t len) {
  FILE *f = fopen(path, "ab");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(bytes, 1, len, f), len);
  fclose(f);
}

/* Appends bytes[0..len) as one more gzip member. */
static void append_gz_member(const char *path, const void *bytes, size_t len) {
  gzFile gz = gzopen(path, "ab");
  cr_assert_not_null(gz);
  cr_assert_eq(gzwrite(gz, bytes, (unsigned)len), (int)len);
  cr_assert_eq(gzclose(gz), Z_OK);
}

/* `cat a.gz b.gz` is valid gzip: the members are one stream, read on,
 * wherever the cut falls (inside the header too). */
Test(idx, concatenated_gzip_members) {
  uint8_t buf[64];
  size_t len = small_images(buf);
  const char *two = write_gz("two.gz", buf, 10);
  append_gz_member(two, buf + 10, len - 10);
  check_small_images(two);
  const char *three = write_gz("three.gz", buf, 3);
  append_gz_member(three, buf + 3, 17);
  append_gz_member(three, buf + 20, len - 20);
  check_small_images(three);
  /* An empty member is a member too. */
  const char *empty = write_gz("empty.gz", buf, len);
  append_gz_member(empty, "", 0);
  check_small_images(empty);
}

/* gzip itself ignores what follows the last member; here it is refused. */
Test(idx, trailing_garbage_after_the_gzip_stream) {
  uint8_t buf[64];
  size_t len = small_images(buf);
  const char *path = write_gz("garbage.gz", buf, len);
  append(path, "garbage", 7);
  assert_load_fails(path, "trailing garbage: 7 bytes after the end of the gzip stream (not "
                          "another gzip member)");
  path = write_gz("zeros.gz", buf, len);
  append(path, (uint8_t[512]){0}, 512); /* tape-style zero padding */
  assert_load_fails(path, "trailing garbage: 512 bytes after the end of the gzip stream");
  path = write_gz("one.gz", buf, len);
  append(path, "\x1f", 1); /* half a gzip magic number */
  assert_load_fails(path, "trailing garbage: 1 bytes after the end of the gzip stream");
  /* The gzip magic, then not gzip: a corrupt member. */
  path = write_gz("member.gz", buf, len);
  append(path, "\x1f\x8bxxxxxxxxxxxxxxxxxx", 20);
  assert_load_fails(path, "corrupt gzip stream");
}

/* A stream longer than the first buffer: it grows on the way, to the
 * exact size. */
Test(idx, large_gzip_file) {
  enum { n = 5, side = 700 }; /* 2.45 MB of data */
  size_t count = (size_t)n * side * side;
  uint8_t *buf = malloc(16 + count);
  size_t len = idx_file(buf, 3, (uint32_t[]){n, side, side}, count);
  const char *path = write_gz("large.gz", buf, len);
  SrIdx idx;
  SrError err;
  cr_assert_eq(sr_idx_load(path, &idx, &err), 0, "%s", err.msg);
  cr_assert_eq(idx.count, count);
  cr_assert_arr_eq(idx.data, buf + 16, count);
  sr_idx_free(&idx);
  buf[7] = n + 1; /* one image more announced than there is */
  path = write_gz("short.gz", buf, len);
  char want[128];
  snprintf(want, sizeof want, "truncated: header announces %zu bytes of data, file has %zu",
           count + side * side, count);
  assert_load_fails(path, want);
  free(buf);
}

/* A pipe has no size to compare with: the raw reader streams it. */
Test(idx, reads_a_pipe) {
  uint8_t buf[64];
  size_t len = small_images(buf);
  const char *path = tmp_path("fifo");
  cr_assert_eq(mkfifo(path, 0600), 0);
  for (int cut = 0; cut < 2; cut++) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
      FILE *f = fopen(path, "wb");
      fwrite(buf, 1, cut ? len - 1 : len + 2, f); /* 2 bytes too many, or 1 too few */
      fclose(f);
      _exit(0);
    }
    assert_load_fails(path, cut ? "truncated: header announces 12 bytes of data, file has 11"
                                : "trailing garbage: 2 bytes after the 12 bytes of data");
    waitpid(pid, NULL, 0);
  }
}

#include "time_limit.h"

static long vm_size_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0;
  if (f) {
    if (fscanf(f, "%ld", &pages) != 1)
      pages = 0;
    fclose(f);
  }
  return pages * sysconf(_SC_PAGESIZE);
}

/* Loads `path` in a child process that may map only `mb` megabytes more
 * than it already has, and returns the error message ("" on success,
 * "killed ..." if the child died). */
static void load_with_little_memory(const char *path, int mb, char *msg, size_t size) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    close(fds[0]);
    long now = vm_size_bytes();
    struct rlimit limit = {.rlim_cur = (rlim_t)now + ((rlim_t)mb << 20),
                           .rlim_max = (rlim_t)now + ((rlim_t)mb << 20)};
    SrError err = {{0}};
    SrIdx idx;
    if (now == 0 || setrlimit(RLIMIT_AS, &limit) != 0)
      snprintf(err.msg, sizeof err.msg, "setrlimit failed");
    else if (sr_idx_load(path, &idx, &err) == 0)
      err.msg[0] = '\0';
    if (write(fds[1], err.msg, strlen(err.msg) + 1) < 0)
      _exit(2);
    _exit(0);
  }
  close(fds[1]);
  size_t got = 0;
  ssize_t n;
  while (got + 1 < size && (n = read(fds[0], msg + got, size - 1 - got)) > 0)
    got += (size_t)n;
  msg[got] = '\0';
  close(fds[0]);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    snprintf(msg, size, "killed or failed (status %d)", status);
}

/* A header announcing 2^31 - 1 bytes in a file that holds 10: refused as
 * truncated, at once and without allocating what the header announces
 * (the child may map only 256 MB more than it has). */
Test(idx, the_header_is_not_believed) {
  uint8_t buf[64];
  const uint32_t labels[] = {0x7fffffffu}, images[] = {2739128, 28, 28}; /* just below 2^31 */
  struct {
    const char *name;
    int ndim;
    const uint32_t *dims;
    int gzip;
  } cases[] = {{"labels.gz", 1, labels, 1},
               {"images.gz", 3, images, 1},
               {"labels.raw", 1, labels, 0},
               {"images.raw", 3, images, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    size_t len = idx_file(buf, cases[i].ndim, cases[i].dims, 10);
    const char *path = cases[i].gzip ? write_gz(cases[i].name, buf, len)
                                     : write_bytes(cases[i].name, buf, len);
    size_t count = (size_t)cases[i].dims[0];
    for (int d = 1; d < cases[i].ndim; d++)
      count *= cases[i].dims[d];
    char want[128], msg[512];
    snprintf(want, sizeof want, "truncated: header announces %zu bytes of data, file has 10",
             count);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    load_with_little_memory(path, 256, msg, sizeof msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    cr_assert_not_null(strstr(msg, want), "%s: message \"%s\" lacks \"%s\"", path, msg, want);
    cr_assert_lt(seconds, TIME_LIMIT, "%s took %.2f s", path, seconds);
  }
}

/* A real gzip bomb: 32 MB of zeros in 32 KB of gzip (one member of 1 MB
 * of zeros, repeated) under a header that announces 2^31 - 1 bytes. What
 * is read is what is there, and memory stays a small multiple of it. */
Test(idx, gzip_bomb) {
  static uint8_t zeros[1 << 20], member[1 << 16];
  const char *one = write_gz("mb.gz", zeros, sizeof zeros);
  size_t len = read_all(one, member, sizeof member);
  cr_assert_lt(len, sizeof member);
  uint8_t head[8];
  const char *path = write_gz("bomb.gz", head, idx_header(head, 1, (uint32_t[]){0x7fffffffu}));
  FILE *f = fopen(path, "ab");
  cr_assert_not_null(f);
  for (int i = 0; i < 32; i++)
    cr_assert_eq(fwrite(member, 1, len, f), len);
  fclose(f);
  char msg[512];
  load_with_little_memory(path, 256, msg, sizeof msg);
  const char *want = "truncated: header announces 2147483647 bytes of data, file has 33554432";
  cr_assert_not_null(strstr(msg, want), "message \"%s\" lacks \"%s\"", msg, want);
}

/* ---- data sets ----------------------------------------------------------- */

/* Labels file with the given values. */
static const char *write_labels(const char *name, const uint8_t *labels, uint32_t n) {
  uint8_t buf[256];
  size_t len = idx_header(buf, 1, &n);
  memcpy(buf + len, labels, n);
  return write_bytes(name, buf, len + n);
}

Test(dataset, loads_images_and_labels) {
  uint8_t buf[64];
  const char *img = write_gz("img.gz", buf, small_images(buf));
  const char *lab = write_labels("lab", (uint8_t[]){3, 7}, 2);
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_idx(img, lab, 0.5f, &ds, &err), 0, "%s", err.msg);
  cr_assert_eq(ds.n, 2);
  cr_assert_eq(ds.dim, 6);
  cr_assert_eq(ds.owns, 1);
  for (int i = 0; i < 12; i++)
    cr_assert_float_eq(ds.x[i], 0.5f * (float)i, 0);
  cr_assert_eq(ds.y[0], 3);
  cr_assert_eq(ds.y[1], 7);
  cr_assert_eq(sr_dataset_check(&ds, 6, 10, "train data", &err), 0, "%s", err.msg);
  sr_dataset_free(&ds);
  cr_assert_null(ds.x);
}

Test(dataset, loads_flat_images) {
  uint8_t buf[64];
  const char *img = write_bytes("img", buf, idx_file(buf, 2, (uint32_t[]){3, 4}, 12));
  const char *lab = write_labels("lab", (uint8_t[]){0, 1, 2}, 3);
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_idx(img, lab, 1.0f, &ds, &err), 0, "%s", err.msg);
  cr_assert_eq(ds.n, 3);
  cr_assert_eq(ds.dim, 4);
  cr_assert_float_eq(ds.x[11], 11.0f, 0);
  sr_dataset_free(&ds);
}

static void assert_dataset_fails(const char *img, const char *lab, const char *phrase) {
  SrDataset ds;
  SrError err = {{0}};
  cr_assert_eq(sr_dataset_load_idx(img, lab, 1.0f, &ds, &err), -1, "loaded but should not");
  assert_msg_has(err, phrase);
  cr_assert_null(ds.x);
  cr_assert_null(ds.y);
}

Test(dataset, count_mismatch) {
  uint8_t buf[64];
  const char *img = write_bytes("img", buf, small_images(buf));
  const char *lab = write_labels("lab", (uint8_t[]){1, 2, 3}, 3);
  char want[512];
  snprintf(want, sizeof want, "%s has 2 images but %s has 3 labels", img, lab);
  assert_dataset_fails(img, lab, want);
}

Test(dataset, images_with_one_dimension) {
  const char *lab = write_labels("lab", (uint8_t[]){1, 2}, 2);
  assert_dataset_fails(lab, lab, "images must have 2 or 3 dimensions");
}

Test(dataset, labels_with_two_dimensions) {
  uint8_t buf[64];
  const char *img = write_bytes("img", buf, small_images(buf));
  assert_dataset_fails(img, img, "labels must have 1 dimension, file has 3");
}

Test(dataset, broken_labels_file_names_it) {
  uint8_t buf[64];
  const char *img = write_bytes("img", buf, small_images(buf));
  const char *lab = tmp_path("missing-labels");
  assert_dataset_fails(img, lab, "missing-labels: cannot open");
}

/* An in-memory data set of n examples of width dim. */
static SrDataset memory_dataset(int n, int dim, float *x, int32_t *y) {
  for (int i = 0; i < n * dim; i++)
    x[i] = (float)i;
  for (int i = 0; i < n; i++)
    y[i] = i % 10;
  return (SrDataset){.n = n, .dim = dim, .x = x, .y = y, .owns = 0};
}

Test(dataset, label_out_of_range) {
  float x[400 * 2];
  int32_t y[400];
  SrDataset ds = memory_dataset(400, 2, x, y);
  SrError err;
  y[345] = 12;
  cr_assert_eq(sr_dataset_check(&ds, 2, 10, "train data", &err), -1);
  cr_assert_str_eq(err.msg, "train data: label 12 at example 345 is outside 0..9");
  y[345] = -1;
  cr_assert_eq(sr_dataset_check(&ds, 2, 10, "test data", &err), -1);
  cr_assert_str_eq(err.msg, "test data: label -1 at example 345 is outside 0..9");
}

Test(dataset, width_mismatch) {
  float x[4 * 784];
  int32_t y[4];
  SrDataset ds = memory_dataset(4, 784, x, y);
  SrError err;
  cr_assert_eq(sr_dataset_check(&ds, 100, 10, "train data", &err), -1);
  cr_assert_str_eq(err.msg, "train data: examples have 784 features, the model's input is 100");
}

Test(dataset, split_tail) {
  float x[10 * 3];
  int32_t y[10];
  SrDataset all = memory_dataset(10, 3, x, y), head, tail;
  SrError err;
  cr_assert_eq(sr_dataset_split_tail(&all, 4, &head, &tail, &err), 0, "%s", err.msg);
  cr_assert_eq(head.n, 6);
  cr_assert_eq(tail.n, 4);
  cr_assert_eq(head.dim, 3);
  cr_assert_eq(tail.dim, 3);
  cr_assert_eq(head.x, x);
  cr_assert_eq(tail.x, x + 18);
  cr_assert_eq(tail.y, y + 6);
  cr_assert_eq(head.owns, 0);
  cr_assert_eq(tail.owns, 0);
  sr_dataset_free(&tail); /* a view: frees nothing */
  cr_assert_eq(sr_dataset_split_tail(&all, 0, &head, &tail, &err), 0, "%s", err.msg);
  cr_assert_eq(head.n, 10);
  cr_assert_eq(tail.n, 0);
}

Test(dataset, split_tail_bounds) {
  float x[10 * 3];
  int32_t y[10];
  SrDataset all = memory_dataset(10, 3, x, y), head, tail;
  SrError err;
  cr_assert_eq(sr_dataset_split_tail(&all, 10, &head, &tail, &err), -1);
  assert_msg_has(err, "cannot hold out 10 of 10 examples");
  cr_assert_eq(sr_dataset_split_tail(&all, -1, &head, &tail, &err), -1);
  assert_msg_has(err, "cannot hold out -1 of 10 examples");
}

/* ---- the real thing, if Debian's dataset-fashion-mnist is installed ------ */

Test(dataset, fashion_mnist_test_set) {
  const char *img = FASHION_DIR "t10k-images-idx3-ubyte.gz";
  const char *lab = FASHION_DIR "t10k-labels-idx1-ubyte.gz";
  if (access(img, R_OK) != 0 || access(lab, R_OK) != 0)
    cr_skip_test("Fashion-MNIST not installed in " FASHION_DIR);
  SrDataset ds;
  SrError err;
  cr_assert_eq(sr_dataset_load_idx(img, lab, 1.0f / 255, &ds, &err), 0, "%s", err.msg);
  cr_assert_eq(ds.n, 10000);
  cr_assert_eq(ds.dim, 784);
  cr_assert_eq(sr_dataset_check(&ds, 784, 10, "test data", &err), 0, "%s", err.msg);
  int seen[10] = {0};
  for (int i = 0; i < ds.n; i++)
    seen[ds.y[i]]++;
  for (int c = 0; c < 10; c++)
    cr_assert_eq(seen[c], 1000, "class %d has %d examples", c, seen[c]); /* balanced */
  float lo = 1, hi = 0;
  for (size_t i = 0; i < (size_t)ds.n * 784; i++) {
    lo = ds.x[i] < lo ? ds.x[i] : lo;
    hi = ds.x[i] > hi ? ds.x[i] : hi;
  }
  cr_assert_float_eq(lo, 0.0f, 0);
  cr_assert_float_eq(hi, 1.0f, 1e-6);
  sr_dataset_free(&ds);
}
