/* outputs.c: the files a run will write, checked before the work starts.
 * A checkpoint path that cannot be written must not be found out after
 * hours of training: its folder is made now if missing, and a file is
 * created and removed there, which is exactly what saving will do (a
 * temporary file in the same folder, renamed). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiment.h"

int sr_output_folder(const char *path, SrError *err) {
  char *copy = strdup(path);
  if (!copy)
    return sr_fail(err, "out of memory");
  char *slash = strrchr(copy, '/');
  int rc = 0;
  if (slash && slash != copy) {
    *slash = 0;
    /* each ancestor, then the folder itself (p == NULL) */
    for (char *p = strchr(copy + 1, '/'); rc == 0; p = strchr(p + 1, '/')) {
      if (p)
        *p = 0;
      if (mkdir(copy, 0777) != 0 && errno != EEXIST)
        rc = sr_fail(err, "cannot create the folder '%s': %s", copy, strerror(errno));
      if (!p)
        break;
      *p = '/';
    }
    struct stat sb;
    if (rc == 0 && (stat(copy, &sb) != 0 || !S_ISDIR(sb.st_mode)))
      rc = sr_fail(err, "'%s' is not a folder", copy);
  }
  free(copy);
  return rc;
}

/* A temporary file beside `path`, created and removed. */
static int try_write(const char *path, SrError *err) {
  size_t size = strlen(path) + 16;
  char *probe = malloc(size);
  if (!probe)
    return sr_fail(err, "out of memory");
  snprintf(probe, size, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(probe);
  int rc = 0;
  if (fd < 0) {
    rc = sr_fail(err, "cannot write '%s': %s", path, strerror(errno));
  } else {
    close(fd);
    unlink(probe);
  }
  free(probe);
  struct stat sb;
  if (rc == 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
    rc = sr_fail(err, "cannot write '%s': it is a folder", path);
  return rc;
}

static int check_one(const char *path, const char *setting, const char **which, SrError *err) {
  if (!path)
    return 0;
  if (sr_output_folder(path, err) == 0 && try_write(path, err) == 0)
    return 0;
  *which = setting;
  return -1;
}

size_t sr_state_path(const SrProgramConfig *cfg, char *buf, size_t size) {
  static const char suffix[] = ".safetensors";
  const char *ckpt = cfg->checkpoint;
  int n;
  if (cfg->state) {
    n = snprintf(buf, size, "%s", cfg->state);
  } else if (ckpt) {
    size_t len = strlen(ckpt), k = sizeof suffix - 1;
    int cut = len > k && strcmp(ckpt + len - k, suffix) == 0;
    n = snprintf(buf, size, "%.*s.state.safetensors", (int)(cut ? len - k : len), ckpt);
  } else {
    n = snprintf(buf, size, "out/%s.state.safetensors", cfg->name ? cfg->name : "model");
  }
  return n < 0 ? 0 : (size_t)n;
}

int sr_outputs_check(const SrProgramConfig *cfg, const char **setting, SrError *err) {
  size_t size = sr_state_path(cfg, NULL, 0) + 1;
  char *state = malloc(size);
  if (!state)
    return sr_fail(err, "out of memory");
  sr_state_path(cfg, state, size);
  int rc = check_one(cfg->checkpoint, "output.checkpoint", setting, err) < 0 ||
                   check_one(state, "output.state", setting, err) < 0 ||
                   check_one(cfg->metrics, "output.metrics", setting, err) < 0
               ? -1
               : 0;
  free(state);
  return rc;
}
