/* fuzz_util.c: input files for the targets of the runtime's readers
 * (fuzz_util.h). */
#define _GNU_SOURCE /* memfd_create */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz_util.h"

static void remove_tmpdir(void);

void fuzz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz: invariant broken: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  remove_tmpdir(); /* abort() skips atexit */
  abort();
}

/* ---- the input as a file --------------------------------------------------- */

static int input_fd = -1;
static char input_path[64];

/* A memfd where there is one; else an unlinked file in /tmp, reached
 * through /proc/self/fd all the same. */
static void open_input(void) {
  input_fd = memfd_create("fuzz-input", MFD_CLOEXEC);
  if (input_fd < 0) {
    char tmp[] = "/tmp/sparsec-fuzz-XXXXXX";
    input_fd = mkstemp(tmp);
    if (input_fd >= 0)
      unlink(tmp);
  }
  if (input_fd < 0) {
    perror("fuzz: cannot make an input file");
    abort();
  }
  snprintf(input_path, sizeof input_path, "/proc/self/fd/%d", input_fd);
}

const char *fuzz_file(const uint8_t *data, size_t size) {
  if (input_fd < 0)
    open_input();
  if (ftruncate(input_fd, 0) != 0) {
    perror("fuzz: ftruncate");
    abort();
  }
  for (size_t done = 0; done < size;) {
    ssize_t n = pwrite(input_fd, data + done, size - done, (off_t)done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      perror("fuzz: writing the input file");
      abort();
    }
    done += (size_t)n;
  }
  return input_path;
}

/* ---- the input behind a pipe ------------------------------------------------- */

static int pipe_read = -1;
static char pipe_path[64];

const char *fuzz_pipe(const uint8_t *data, size_t size) {
  int fds[2];
  if (size > 60000 || pipe2(fds, O_CLOEXEC) != 0) /* the default buffer holds 64 KiB */
    return NULL;
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fds[1], data + done, size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close(fds[0]);
      close(fds[1]);
      return NULL;
    }
    done += (size_t)n;
  }
  close(fds[1]);
  pipe_read = fds[0];
  snprintf(pipe_path, sizeof pipe_path, "/proc/self/fd/%d", pipe_read);
  return pipe_path;
}

void fuzz_pipe_close(void) {
  if (pipe_read >= 0)
    close(pipe_read);
  pipe_read = -1;
}

/* ---- a folder of the process's own ------------------------------------------- */

static char tmpdir[PATH_MAX];

static void remove_tmpdir(void) {
  if (!tmpdir[0])
    return;
  DIR *d = opendir(tmpdir);
  if (d) {
    char path[PATH_MAX + 256];
    for (struct dirent *e; (e = readdir(d));)
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
      }
    closedir(d);
  }
  rmdir(tmpdir);
}

const char *fuzz_tmpdir(void) {
  if (tmpdir[0])
    return tmpdir;
  struct stat st;
  const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
                             access("/dev/shm", W_OK) == 0
                         ? "/dev/shm"
                         : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(tmpdir, sizeof tmpdir, "%s/sparsec-fuzz-XXXXXX", base);
  if (!mkdtemp(tmpdir)) {
    perror("fuzz: mkdtemp");
    abort();
  }
  atexit(remove_tmpdir);
  return tmpdir;
}

/* ---- gzip ------------------------------------------------------------------- */

uint8_t *fuzz_gzip(const uint8_t *data, size_t size, size_t *out_size) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  size_t cap = deflateBound(&z, (uLong)size) + 32;
  uint8_t *out = malloc(cap);
  if (!out) {
    deflateEnd(&z);
    return NULL;
  }
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)size;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  *out_size = cap - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

/* ---- a mutator that keeps safetensors' framing -------------------------------------- */

#ifdef SPARSEC_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

size_t fuzz_mutate_safetensors(uint8_t *data, size_t size, size_t max_size, unsigned seed) {
  uint64_t n = 0;
  for (size_t i = 0; i < 8 && size >= 8; i++)
    n |= (uint64_t)data[i] << (8 * i);
  unsigned how = seed % 4;
  if (size < 8 || n > size - 8 || how == 0)
    return LLVMFuzzerMutate(data, size, max_size);
  size_t tail = size - 8 - (size_t)n;
  if (how == 3) { /* the data, in place: the offsets stay right */
    if (tail > 0)
      LLVMFuzzerMutate(data + 8 + n, tail, tail);
    return size;
  }
  if (max_size < 8 + tail + 1)
    return LLVMFuzzerMutate(data, size, max_size);
  size_t room = max_size - 8 - tail;
  uint8_t *header = malloc(room > n ? room : (size_t)n + 1), *rest = malloc(tail + 1);
  if (!header || !rest) {
    free(header);
    free(rest);
    return LLVMFuzzerMutate(data, size, max_size);
  }
  memcpy(header, data + 8, (size_t)n);
  memcpy(rest, data + 8 + n, tail);
  size_t m = LLVMFuzzerMutate(header, (size_t)n, room);
  for (int i = 0; i < 8; i++)
    data[i] = (uint8_t)((uint64_t)m >> (8 * i));
  memcpy(data + 8, header, m);
  memcpy(data + 8 + m, rest, tail);
  free(header);
  free(rest);
  return 8 + m + tail;
}
#endif
