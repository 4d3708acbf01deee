/* replay.c: feeds files to the fuzz targets without libFuzzer: plain C,
 * any compiler. CTest runs it on every corpus (fuzz/corpus*) so that
 * inputs that once crashed a reader keep being tried by every build (the
 * sanitizer one included).
 *
 *   fuzz_replay [TARGET:]PATH...
 *
 * PATH is a file or a folder (its files, not its subfolders); TARGET is
 * one of spec, idx, csv, libsvm, safetensors, state, repl (default spec:
 * the frontend, as before there were others). Each target is compiled with
 * its LLVMFuzzerTestOneInput renamed fuzz_TARGET_one (CMakeLists.txt). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef int (*Target)(const uint8_t *data, size_t size);

int fuzz_spec_one(const uint8_t *data, size_t size);
int fuzz_idx_one(const uint8_t *data, size_t size);
int fuzz_csv_one(const uint8_t *data, size_t size);
int fuzz_libsvm_one(const uint8_t *data, size_t size);
int fuzz_safetensors_one(const uint8_t *data, size_t size);
int fuzz_state_one(const uint8_t *data, size_t size);
int fuzz_repl_one(const uint8_t *data, size_t size);

static const struct {
  const char *name;
  Target run;
} targets[] = {
    {"spec", fuzz_spec_one},   {"idx", fuzz_idx_one},     {"csv", fuzz_csv_one},
    {"libsvm", fuzz_libsvm_one}, {"safetensors", fuzz_safetensors_one},
    {"state", fuzz_state_one}, {"repl", fuzz_repl_one},
};
#define NTARGETS ((int)(sizeof targets / sizeof targets[0]))

static int replay_file(Target run, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 0;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (!bigger)
        free(buf);
      buf = bigger;
    }
  }
  fclose(f);
  if (!buf) {
    fputs("replay: out of memory\n", stderr);
    exit(1);
  }
  /* An exact-size copy, as libFuzzer passes it: a read past the input is
   * then past the allocation. */
  uint8_t *input = malloc(n ? n : 1);
  if (!input) {
    fputs("replay: out of memory\n", stderr);
    exit(1);
  }
  memcpy(input, buf, n);
  free(buf);
  run(input, n);
  free(input);
  return 1;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* In name order, so that a replay is the same everywhere. */
static int replay_folder(Target run, const char *path) {
  DIR *dir = opendir(path);
  if (!dir) {
    perror(path);
    return 0;
  }
  char **names = NULL;
  int n = 0, count = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    if (e->d_name[0] == '.')
      continue;
    char **more = realloc(names, (size_t)(n + 1) * sizeof *names);
    if (!more || !(more[n] = strdup(e->d_name))) {
      fputs("replay: out of memory\n", stderr);
      exit(1);
    }
    names = more;
    n++;
  }
  closedir(dir);
  qsort(names, (size_t)n, sizeof *names, by_name);
  for (int i = 0; i < n; i++) {
    char file[4096];
    snprintf(file, sizeof file, "%s/%s", path, names[i]);
    struct stat st;
    if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
      count += replay_file(run, file);
    free(names[i]);
  }
  free(names);
  return count;
}

int main(int argc, char **argv) {
  int total = 0, failed = 0;
  for (int i = 1; i < argc; i++) {
    Target run = fuzz_spec_one;
    const char *path = argv[i], *name = "spec";
    for (int t = 0; t < NTARGETS; t++) {
      size_t len = strlen(targets[t].name);
      if (strncmp(argv[i], targets[t].name, len) == 0 && argv[i][len] == ':') {
        run = targets[t].run, name = targets[t].name;
        path = argv[i] + len + 1;
      }
    }
    struct stat st;
    int count = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? replay_folder(run, path)
                                                            : replay_file(run, path);
    printf("%s: replayed %d inputs from %s\n", name, count, path);
    fflush(stdout);
    total += count;
    failed += count == 0;
  }
  printf("replayed %d inputs\n", total);
  return total > 0 && failed == 0 ? 0 : 1;
}
