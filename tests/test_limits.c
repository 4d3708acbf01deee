/* Memory limits: sparsec (run, repl from a pipe) and a built program
 * (train, eval, predict) under an address-space limit (setrlimit
 * RLIMIT_AS, as `ulimit -v` sets it) that lets the process start but is
 * too small for OpenBLAS's work buffer, the model or the data. Each must
 * end with status 1 and an "out of memory" message saying what it was
 * allocating: no hang (a deadline kills it and fails the test), no signal.
 *
 * Limits are given as a margin over the smallest limit at which the
 * process starts at all (the shared libraries alone take a couple of
 * hundred MB of address space, LLVM's most), found here by bisection,
 * so the tests do not depend on the machine's library sizes. The margins
 * are far from the sizes that must not fit: OpenBLAS's buffer is 128 MiB,
 * the big model's h2.w 1.6 GB.
 *
 * AddressSanitizer reserves terabytes of shadow memory and cannot run
 * under RLIMIT_AS at all: these tests are skipped in that build. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workdir.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define MB ((rlim_t)1 << 20)
#define DEADLINE_SECONDS 60 /* every case ends in seconds; a hang ends here */

/* Under ASan the tests skip, and a skipped test's .fini does not run. */
static void make_dir(void) {
  if (!UNDER_ASAN)
    workdir_make("limits");
}

static void remove_dir(void) {
  if (!UNDER_ASAN)
    workdir_remove();
}

#define SKIP_UNDER_ASAN()                                                                          \
  do {                                                                                             \
    if (UNDER_ASAN)                                                                                \
      cr_skip_test("AddressSanitizer cannot run under an address-space limit");                    \
  } while (0)

/* ---- running a command under a limit -------------------------------------------- */

typedef struct Outcome {
  int exited; /* 1: exited (status), 0: killed by `signal`, -1: past the deadline */
  int status;
  int signal;
  double seconds;
  char *out; /* stdout and stderr */
} Outcome;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *read_output(const char *path) {
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s", path);
  char *text = calloc(1, 1 << 16);
  size_t n = fread(text, 1, (1 << 16) - 1, f);
  text[n] = 0;
  fclose(f);
  return text;
}

/* Runs argv (argv[0] a path) in dir with RLIMIT_AS at `limit` bytes
 * (RLIM_INFINITY: none), stdin from dir/`input` if not NULL. */
static Outcome run_limited(char *const argv[], rlim_t limit, const char *input) {
  char log[128];
  snprintf(log, sizeof log, "%s/out.txt", dir);
  double start = now();
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = input ? open(input, O_RDONLY) : open("/dev/null", O_RDONLY);
    if (fd < 0 || in < 0 || chdir(dir) != 0)
      _exit(126);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    dup2(in, STDIN_FILENO);
    struct rlimit r = {limit, limit};
    if (limit != RLIM_INFINITY && setrlimit(RLIMIT_AS, &r) != 0)
      _exit(126);
    execv(argv[0], argv);
    _exit(127);
  }
  Outcome o = {0};
  int status;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    cr_assert_neq(done, -1);
    if (done == pid)
      break;
    if (now() - start > DEADLINE_SECONDS) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      o.exited = -1;
      break;
    }
    usleep(10 * 1000);
  }
  o.seconds = now() - start;
  if (o.exited == 0) {
    o.exited = WIFEXITED(status);
    o.status = o.exited ? WEXITSTATUS(status) : 0;
    o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  o.out = read_output(log);
  return o;
}

/* The smallest limit (to 16 MB, well inside the margins used) at which
 * argv starts and exits with 0. */
static rlim_t start_limit(char *const argv[]) {
  rlim_t lo = 0, hi = 1024 * MB; /* lo fails, hi works */
  Outcome o = run_limited(argv, hi, NULL);
  cr_assert(o.exited == 1 && o.status == 0, "%s does not start under %lu MB:\n%s", argv[0],
            (unsigned long)(hi / MB), o.out);
  free(o.out);
  while (hi - lo > 16 * MB) {
    rlim_t mid = lo + (hi - lo) / 2;
    o = run_limited(argv, mid, NULL);
    cr_assert(o.exited != -1, "%s %s hangs under %lu MB", argv[0], argv[1],
              (unsigned long)(mid / MB));
    if (o.exited == 1 && o.status == 0)
      hi = mid;
    else
      lo = mid;
    free(o.out);
  }
  return hi;
}

/* Status 1 within the deadline, no signal, and an out-of-memory message
 * with `names` in it (what was being allocated). */
static void expect_out_of_memory(Outcome o, const char *what, const char *names) {
  cr_assert_neq(o.exited, -1, "%s: still running after %d s (a hang):\n%s", what,
                DEADLINE_SECONDS, o.out);
  cr_assert_eq(o.exited, 1, "%s: killed by signal %d:\n%s", what, o.signal, o.out);
  cr_expect_eq(o.status, 1, "%s: exit status %d:\n%s", what, o.status, o.out);
  cr_expect(strstr(o.out, "out of memory") != NULL, "%s: no out-of-memory message:\n%s", what,
            o.out);
  cr_expect(strstr(o.out, names) != NULL, "%s: the message does not name '%s':\n%s", what, names,
            o.out);
  free(o.out);
}

/* ---- specs ---------------------------------------------------------------------- */

#define DATA                                                                                       \
  "data {\n"                                                                                       \
  "  train = idx(\"train-x.idx\", \"train-y.idx\")\n"                                              \
  "  test = idx(\"test-x.idx\", \"test-y.idx\")\n"                                                 \
  "  scale = 1/255\n"                                                                              \
  "  validation = 100\n"                                                                           \
  "}\n"

/* Small: fits anywhere the process starts and OpenBLAS's buffer fits. */
static const char *small_spec = "model {\n"
                                "  input = 16\n"
                                "  layer h1 = dense(32, relu)\n"
                                "  layer out = dense(3, softmax)\n"
                                "  loss = nll\n"
                                "}\n"
                                "train { lr = 0.1  batch = 8  epochs = 1  seed = 3 }\n" DATA;

/* h2.w is 20000 x 20000 floats: 1.6 GB, beyond every limit used here. */
static const char *big_spec = "model {\n"
                              "  input = 16\n"
                              "  layer h1 = dense(20000, relu)\n"
                              "  layer h2 = dense(20000, relu)\n"
                              "  layer out = dense(3, softmax)\n"
                              "  loss = nll\n"
                              "}\n"
                              "train { lr = 0.1  batch = 4  epochs = 1  seed = 3 }\n" DATA;

static char *in_dir(char *path, size_t size, const char *name) {
  snprintf(path, size, "%s/%s", dir, name);
  return path;
}

static rlim_t sparsec_start_limit(void) {
  char *help[] = {SPARSEC_BINARY, "help", NULL};
  return start_limit(help);
}

/* ---- sparsec -------------------------------------------------------------------- */

/* 48 MB over what starting takes: no room for OpenBLAS's 128 MiB buffer.
 * Before this was checked, the first product (or OpenBLAS's workers, from
 * the start) retried the allocation for ever. */
Test(limits, run_without_room_for_openblas, .init = make_dir, .fini = remove_dir) {
  SKIP_UNDER_ASAN();
  write_blob_data(NULL);
  write_file("small.spn", small_spec);
  rlim_t base = sparsec_start_limit();
  char *argv[] = {SPARSEC_BINARY, "run", "small.spn", NULL};
  expect_out_of_memory(run_limited(argv, base + 48 * MB, NULL), "run", "OpenBLAS");
  /* two threads: two buffers */
  char *threads[] = {SPARSEC_BINARY, "run", "--threads", "2", "small.spn", NULL};
  expect_out_of_memory(run_limited(threads, base + 200 * MB, NULL), "run --threads 2",
                       "OpenBLAS (2 threads");
  /* and with room, the same run trains */
  Outcome o = run_limited(argv, base + 400 * MB, NULL);
  cr_expect(o.exited == 1 && o.status == 0, "run with room: %s", o.out);
  free(o.out);
}

Test(limits, run_without_room_for_the_model, .init = make_dir, .fini = remove_dir) {
  SKIP_UNDER_ASAN();
  write_blob_data(NULL);
  write_file("big.spn", big_spec);
  rlim_t base = sparsec_start_limit();
  char *argv[] = {SPARSEC_BINARY, "run", "big.spn", NULL};
  expect_out_of_memory(run_limited(argv, base + 768 * MB, NULL), "run", "1600000000 bytes");
}

/* Commands from a pipe; --strict: the first error ends the REPL, status 1
 * (without it a script goes on after errors and ends with 0). */
Test(limits, repl_from_a_pipe, .init = make_dir, .fini = remove_dir) {
  SKIP_UNDER_ASAN();
  write_blob_data(NULL);
  write_file("big.spn", big_spec);
  write_file("script.sr", "load big.spn\ntrain 1\nquit\n");
  rlim_t base = sparsec_start_limit();
  char *argv[] = {SPARSEC_BINARY, "repl", "--strict", NULL}, script[256];
  in_dir(script, sizeof script, "script.sr");
  expect_out_of_memory(run_limited(argv, base + 768 * MB, script), "repl", "1600000000 bytes");
  expect_out_of_memory(run_limited(argv, base + 48 * MB, script), "repl", "OpenBLAS");
}

/* ---- a built program ------------------------------------------------------------ */

static void build(const char *spec, const char *prog) {
  char *argv[] = {SPARSEC_BINARY, "build", (char *)spec, "-o", (char *)prog, NULL};
  Outcome o = run_limited(argv, RLIM_INFINITY, NULL);
  cr_assert(o.exited == 1 && o.status == 0, "sparsec build %s: %s", spec, o.out);
  free(o.out);
}

/* n examples of 16 features, raw IDX (n x 16 bytes, all zero). */
static void write_inputs(const char *name, int n) {
  char path[256];
  FILE *f = fopen(in_dir(path, sizeof path, name), "wb");
  cr_assert_not_null(f);
  uint8_t magic[4] = {0, 0, 8, 2};
  fwrite(magic, 1, 4, f);
  put_be32(f, (uint32_t)n);
  put_be32(f, 16);
  static uint8_t zeros[1 << 16];
  for (size_t left = (size_t)n * 16; left > 0;) {
    size_t k = left < sizeof zeros ? left : sizeof zeros;
    cr_assert_eq(fwrite(zeros, 1, k, f), k);
    left -= k;
  }
  cr_assert_eq(fclose(f), 0);
}

Test(limits, program_train_eval_predict, .init = make_dir, .fini = remove_dir) {
  SKIP_UNDER_ASAN();
  write_blob_data(NULL);
  write_file("small.spn", small_spec);
  build("small.spn", "small");
  char prog[256];
  in_dir(prog, sizeof prog, "small");
  char *help[] = {prog, "--help", NULL};
  rlim_t base = start_limit(help);

  /* weights to evaluate and predict with, trained without a limit */
  char *train[] = {prog, "train", NULL};
  Outcome o = run_limited(train, RLIM_INFINITY, NULL);
  cr_assert(o.exited == 1 && o.status == 0, "train: %s", o.out);
  free(o.out);

  expect_out_of_memory(run_limited(train, base + 48 * MB, NULL), "train", "OpenBLAS");
  char *eval[] = {prog, "eval", NULL};
  expect_out_of_memory(run_limited(eval, base + 48 * MB, NULL), "eval", "OpenBLAS");

  /* 2,000,000 examples: 32 MB of bytes, 128 MB of floats, which do not fit
   * beside OpenBLAS's buffer and the bytes in 228 MB */
  write_inputs("many.idx", 2000000);
  char *predict[] = {prog, "predict", "--input", "many.idx", NULL};
  expect_out_of_memory(run_limited(predict, base + 228 * MB, NULL), "predict",
                       "2000000 examples");
}

Test(limits, program_without_room_for_the_model, .init = make_dir, .fini = remove_dir) {
  SKIP_UNDER_ASAN();
  write_blob_data(NULL);
  write_file("big.spn", big_spec);
  build("big.spn", "big");
  char prog[256];
  in_dir(prog, sizeof prog, "big");
  char *help[] = {prog, "--help", NULL};
  rlim_t base = start_limit(help);
  char *train[] = {prog, "train", NULL};
  expect_out_of_memory(run_limited(train, base + 768 * MB, NULL), "train", "1600000000 bytes");
}
