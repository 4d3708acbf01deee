/* Output files written atomically, as runtime/checkpoint.c writes
 * checkpoints: everything goes to a temporary file in the same folder,
 * which is fsync'd and then renamed over the target. At every moment the
 * target is either its old self or complete; a failure (read-only folder,
 * full disk, a linker error) leaves no partial file behind. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"

/* ---- temporary files an interrupt must remove ------------------------------ */

/* A signal handler may only unlink and rmdir: the names are kept in fixed
 * buffers, each published by its flag once written (1 file, 2 folder). */
#define MAX_PENDING 8
static char pending[MAX_PENDING][1024];
static volatile sig_atomic_t pending_kind[MAX_PENDING];

void outfile_pending(const char *path, int is_dir) {
  if (strlen(path) >= sizeof pending[0])
    return; /* not removable on interrupt; the normal paths still remove it */
  for (int i = 0; i < MAX_PENDING; i++)
    if (!pending_kind[i]) {
      memcpy(pending[i], path, strlen(path) + 1);
      pending_kind[i] = is_dir ? 2 : 1;
      return;
    }
}

static void forget(const char *path) {
  for (int i = 0; i < MAX_PENDING; i++)
    if (pending_kind[i] && strcmp(pending[i], path) == 0)
      pending_kind[i] = 0;
}

void outfile_discard(const char *path, int is_dir) {
  if (is_dir)
    rmdir(path);
  else
    unlink(path);
  forget(path);
}

/* The linker writing into a temporary file: stopped first, or it could
 * create the file again after it was removed. */
static volatile pid_t child;

void outfile_child(int pid) {
  child = pid;
}

static void on_signal(int sig) {
  pid_t pid = child;
  if (pid > 0) { /* the linker's whole group: cc, collect2, ld */
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  for (int kind = 1; kind <= 2; kind++) /* the files, then their folders */
    for (int i = 0; i < MAX_PENDING; i++)
      if (pending_kind[i] == kind)
        (void)(kind == 1 ? unlink(pending[i]) : rmdir(pending[i]));
  _exit(128 + sig);
}

/* A file made and then named pending must not be orphaned by a signal
 * between the two: SIGINT and SIGTERM wait while both happen. */
void outfile_hold_signals(sigset_t *old) {
  sigset_t held;
  sigemptyset(&held);
  sigaddset(&held, SIGINT);
  sigaddset(&held, SIGTERM);
  sigprocmask(SIG_BLOCK, &held, old);
}

void outfile_release_signals(const sigset_t *old) {
  sigprocmask(SIG_SETMASK, old, NULL);
}

void outfile_catch_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

/* ---- writing ---------------------------------------------------------------- */

char *outfile_temp(const char *path, char *err, int errlen) {
  char *temp = malloc(strlen(path) + sizeof ".tmp.XXXXXX");
  if (!temp) {
    snprintf(err, errlen, "%s: out of memory", path);
    return NULL;
  }
  sprintf(temp, "%s.tmp.XXXXXX", path); /* fits: allocated for exactly this */
  sigset_t old;
  outfile_hold_signals(&old);
  int fd = mkstemp(temp);
  int e = errno;
  if (fd >= 0)
    outfile_pending(temp, 0);
  outfile_release_signals(&old);
  if (fd >= 0) {
    close(fd);
    return temp;
  }
  char *folder = strdup(path);
  snprintf(err, errlen, "%s: cannot create a file in '%s': %s", path,
           folder ? dirname(folder) : "its folder", strerror(e));
  free(folder);
  free(temp);
  return NULL;
}

/* mkstemp made the file 0600; users expect what a plain creat() would give.
 * umask can only be read by setting it, briefly. */
static int usual_permissions(int fd, int executable) {
  mode_t mask = umask(0);
  umask(mask);
  return fchmod(fd, (executable ? 0777 : 0666) & ~mask);
}

static int make_durable(const char *temp, int executable) {
  int fd = open(temp, O_RDWR);
  if (fd < 0)
    return -1;
  int rc = usual_permissions(fd, executable) == 0 && fsync(fd) == 0 ? 0 : -1;
  int e = errno;
  if (close(fd) != 0 && rc == 0)
    return -1;
  errno = e;
  return rc;
}

int outfile_commit(const char *temp, const char *path, int executable, char *err, int errlen) {
  if (make_durable(temp, executable) != 0 || rename(temp, path) != 0) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    outfile_discard(temp, 0);
    return -1;
  }
  forget(temp);
  return 0;
}

static int write_all(int fd, const char *data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

int write_file_atomic(const char *path, const void *data, size_t size, int executable, char *err,
                      int errlen) {
  char *temp = outfile_temp(path, err, errlen);
  if (!temp)
    return -1;
  int fd = open(temp, O_WRONLY | O_TRUNC);
  int ok = fd >= 0 && write_all(fd, data, size) == 0;
  int e = errno;
  if (fd >= 0 && close(fd) != 0 && ok)
    ok = 0, e = errno;
  int rc = 0;
  if (!ok) {
    snprintf(err, errlen, "%s: write error: %s", path, strerror(e ? e : EIO));
    outfile_discard(temp, 0);
    rc = -1;
  } else {
    rc = outfile_commit(temp, path, executable, err, errlen);
  }
  free(temp);
  return rc;
}
