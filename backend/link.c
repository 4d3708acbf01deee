/* Linking a program: the system C compiler ($CC, default cc) links the
 * emitted object with the static runtime (main() from libsparsert_main.a,
 * the rest from libsparsert_serial.a) and the shared libraries the runtime
 * needs (OpenBLAS, zlib, libm). No LLVM library is involved: built programs
 * run where no compiler lives. With `mpi`, the runtime is libsparsert.a,
 * whose data-parallel training calls MPI, and the MPI library is linked too:
 * such a program runs under mpirun, but only where MPI is installed.
 *
 * The runtime's folder is found from where this executable is, so that an
 * installed sparsec, or a copy of its prefix moved elsewhere, links with
 * its own runtime and never with the build tree's: PREFIX/lib beside
 * PREFIX/bin/sparsec when that holds the runtime, else, for the sparsec
 * (or a test) inside the build tree, that tree's runtime/. The environment
 * variable SPARSEC_RUNTIME_DIR overrides both. The object is written to a private temporary folder; the program
 * is linked into a temporary file next to its final path and renamed over
 * it (outfile.c). The linker's own messages reach stderr unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

#if !defined(SPARSEC_RUNTIME_DIR) || !defined(SPARSEC_BUILD_DIR)
#error "SPARSEC_RUNTIME_DIR (the folder of libsparsert.a) and SPARSEC_BUILD_DIR must be defined by the build"
#endif
#ifndef SPARSEC_LINK_FLAGS
#define SPARSEC_LINK_FLAGS "-lopenblas -lz -lm"
#endif
#ifndef SPARSEC_BUNDLE_LINK_FLAGS
#define SPARSEC_BUNDLE_LINK_FLAGS "-lm"
#endif
#ifndef SPARSEC_MPI_LINK_FLAGS
#define SPARSEC_MPI_LINK_FLAGS "" /* this build has no MPI */
#endif

#define MAX_ARGS 64

/* The folder of this executable (symbolic links resolved), or "". */
static void executable_dir(char *out, size_t size) {
  ssize_t n = readlink("/proc/self/exe", out, size - 1);
  out[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(out, '/');
  if (slash)
    *slash = '\0';
  else
    out[0] = '\0';
}

static int inside(const char *path, const char *dir) {
  size_t n = strlen(dir);
  return n > 0 && strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* PREFIX/lib for PREFIX/bin/sparsec when it holds the runtime; else the
 * build tree's runtime for an executable inside it; else PREFIX/lib all
 * the same, so that the message names where it is missing. */
static void find_runtime_dir(char *out, size_t size) {
  char exe[PATH_MAX], lib[PATH_MAX + 32], build[PATH_MAX];
  executable_dir(exe, sizeof exe);
  char *parent = strrchr(exe, '/');
  snprintf(lib, sizeof lib, "%.*s/lib", parent ? (int)(parent - exe) : 0, exe);
  char probe[PATH_MAX + 64];
  snprintf(probe, sizeof probe, "%s/libsparsert_main.a", lib);
  int in_build = realpath(SPARSEC_BUILD_DIR, build) && inside(exe, build);
  snprintf(out, size, "%s", access(probe, R_OK) != 0 && in_build ? SPARSEC_RUNTIME_DIR : lib);
}

const char *link_runtime_dir(void) {
  static char dir[PATH_MAX + 32];
  const char *env = getenv("SPARSEC_RUNTIME_DIR");
  if (env && env[0])
    return env;
  if (!dir[0])
    find_runtime_dir(dir, sizeof dir);
  return dir;
}

/* --as-needed: a shared library is recorded only if the program calls it. */
#define LINK_FLAGS "-Wl,--as-needed " SPARSEC_LINK_FLAGS
#define MPI_LINK_FLAGS LINK_FLAGS SPARSEC_MPI_LINK_FLAGS

const char *link_flags(void) {
  return LINK_FLAGS;
}

const char *link_blas_free_flags(void) {
  return SPARSEC_BUNDLE_LINK_FLAGS;
}

int link_has_mpi(void) {
  return SPARSEC_MPI_LINK_FLAGS[0] != '\0';
}

const char *link_runtime_archive(int mpi) {
  return mpi ? "libsparsert.a" : "libsparsert_serial.a";
}

/* ---- the command line ------------------------------------------------------- */

typedef struct Command {
  char *argv[MAX_ARGS + 1];
  int argc;
  char *words;           /* CC and the flags, split in place */
} Command;

static int add(Command *c, char *arg) {
  if (c->argc == MAX_ARGS)
    return -1;
  c->argv[c->argc++] = arg;
  c->argv[c->argc] = NULL;
  return 0;
}

/* Splits `text` at blanks ($CC may be "ccache gcc"); no quoting. */
static int add_words(Command *c, char *text) {
  for (char *w = strtok(text, " \t"); w; w = strtok(NULL, " \t"))
    if (add(c, w) != 0)
      return -1;
  return 0;
}

static char *runtime_file(const char *name, char *err, int errlen) {
  const char *dir = link_runtime_dir();
  size_t size = strlen(dir) + strlen(name) + 2;
  char *path = malloc(size);
  if (path)
    snprintf(path, size, "%s/%s", dir, name);
  if (path && access(path, R_OK) == 0)
    return path;
  snprintf(err, errlen, "cannot find the runtime library %s/%s (%s): set SPARSEC_RUNTIME_DIR to "
                        "the folder that holds libsparsert.a",
           dir, name, path ? strerror(errno) : "out of memory");
  free(path);
  return NULL;
}

static void command_free(Command *c, char *libs[2]) {
  free(c->words);
  free(libs[0]);
  free(libs[1]);
}

static int build_command(Command *c, char *libs[2], char *object, char *output, int mpi,
                         char *err, int errlen) {
  const char *cc = getenv("CC");
  cc = cc && cc[0] ? cc : "cc";
  const char *link_flags = mpi ? MPI_LINK_FLAGS : LINK_FLAGS;
  size_t size = strlen(cc) + strlen(link_flags) + 2;
  memset(c, 0, sizeof *c);
  libs[0] = runtime_file("libsparsert_main.a", err, errlen);
  libs[1] = libs[0] ? runtime_file(link_runtime_archive(mpi), err, errlen) : NULL;
  if (!libs[1])
    return -1;
  if (!(c->words = malloc(size))) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  snprintf(c->words, size, "%s%c%s", cc, '\0', link_flags);
  char *flags = c->words + strlen(cc) + 1;
  if (add_words(c, c->words) != 0 || c->argc == 0 || add(c, "-o") != 0 || add(c, output) != 0 ||
      add(c, object) != 0 || add(c, libs[0]) != 0 || add(c, libs[1]) != 0 ||
      add_words(c, flags) != 0) {
    snprintf(err, errlen, "the link command has too many words (CC='%s')", cc);
    return -1;
  }
  return 0;
}

/* ---- running it -------------------------------------------------------------- */

/* The linker runs in a process group of its own (cc, collect2, ld), which
 * an interrupt kills whole: killing cc alone leaves ld to write its output
 * again after the interrupt removed it. Signals wait while the child is
 * started and recorded, so that none falls between. */
static int run_linker(Command *c, char *err, int errlen) {
  fflush(NULL);
  sigset_t old;
  outfile_hold_signals(&old);
  pid_t pid = fork();
  if (pid < 0) {
    outfile_release_signals(&old);
    snprintf(err, errlen, "cannot start the linker: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    setpgid(0, 0);
    outfile_release_signals(&old);
    execvp(c->argv[0], c->argv);
    fprintf(stderr, "sparsec: cannot run the linker '%s': %s\n", c->argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid); /* as the child does: whichever runs first */
  outfile_child(pid); /* an interrupt stops it before removing its output */
  outfile_release_signals(&old);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      outfile_child(0);
      snprintf(err, errlen, "waiting for the linker: %s", strerror(errno));
      return -1;
    }
  outfile_child(0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  if (WIFEXITED(status))
    snprintf(err, errlen, "linking failed: %s exited with status %d (its message is above)",
             c->argv[0], WEXITSTATUS(status));
  else
    snprintf(err, errlen, "linking failed: %s was killed by signal %d", c->argv[0],
             WTERMSIG(status));
  return -1;
}

/* The object, in a private folder that is removed afterwards. */
static int write_object(const void *object, size_t size, char *dir, char *path, char *err,
                        int errlen) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, 512, "%s/sparsec-link-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  sigset_t old;
  outfile_hold_signals(&old); /* made and named pending at once */
  int made = mkdtemp(dir) != NULL;
  if (made)
    outfile_pending(dir, 1);
  outfile_release_signals(&old);
  if (!made) {
    snprintf(err, errlen, "cannot create a temporary folder for linking (%s): %s", dir,
             strerror(errno));
    dir[0] = '\0';
    return -1;
  }
  snprintf(path, 600, "%s/model.o", dir);
  outfile_pending(path, 0);
  return write_file_atomic(path, object, size, 0, err, errlen);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int link_is_cross(const char *triple) {
  char *host = LLVMGetDefaultTargetTriple();
  size_t n = strcspn(host, "-");
  int same = strncmp(triple, host, n) == 0 && (triple[n] == '-' || triple[n] == '\0');
  LLVMDisposeMessage(host);
  return !same;
}

/* The runtime archives are built for this host's architecture: a program
 * for another links only with a runtime built for that one, which the
 * user names (SPARSEC_RUNTIME_DIR, with a $CC that links for it). */
static int check_target(const char *triple, char *err, int errlen) {
  const char *env = getenv("SPARSEC_RUNTIME_DIR");
  if (!link_is_cross(triple) || (env && env[0]))
    return 0;
  snprintf(err, errlen,
           "cannot link a program for %s: this sparsec's runtime is built for its own host. "
           "Either build the object (--emit obj, or --bundle) and link it where a sparsec "
           "runtime for %s is installed, or set SPARSEC_RUNTIME_DIR to the runtime/ of a "
           "sparsec build tree configured for %s and CC to a compiler that links for it "
           "(docs/aot.md)",
           triple, triple, triple);
  return -1;
}

int link_program(const void *object, size_t size, const char *triple, const char *output,
                 int mpi, double *ms, char *err, int errlen) {
  double t0 = now_ms();
  *ms = 0;
  if (check_target(triple, err, errlen) != 0)
    return -1;
  if (mpi && !link_has_mpi()) {
    snprintf(err, errlen, "this sparsec was built without MPI: it cannot link programs for mpirun "
                          "(install libopenmpi-dev and rebuild)");
    return -1;
  }
  char dir[512] = "", path[600] = "";
  char *temp = outfile_temp(output, err, errlen); /* fails early on a read-only folder */
  if (!temp)
    return -1;
  int rc = write_object(object, size, dir, path, err, errlen);
  Command c = {0};
  char *libs[2] = {NULL, NULL};
  if (rc == 0)
    rc = build_command(&c, libs, path, temp, mpi, err, errlen);
  if (rc == 0)
    rc = run_linker(&c, err, errlen);
  if (rc == 0)
    rc = outfile_commit(temp, output, 1, err, errlen);
  else
    outfile_discard(temp, 0);
  if (path[0])
    outfile_discard(path, 0);
  if (dir[0])
    outfile_discard(dir, 1);
  command_free(&c, libs);
  free(temp);
  *ms = now_ms() - t0;
  return rc;
}
