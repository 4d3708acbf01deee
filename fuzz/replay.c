/* replay.c: feeds every file of the folders (or files) named on the command
 * line to LLVMFuzzerTestOneInput, without libFuzzer: plain C, any compiler.
 * CTest runs it on fuzz/corpus so that inputs that once crashed the
 * frontend keep being tried by every build (the sanitizer one included). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 0;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap)
      buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (!buf) {
    fputs("replay: out of memory\n", stderr);
    exit(1);
  }
  LLVMFuzzerTestOneInput(buf, n);
  free(buf);
  return 1;
}

static int replay_folder(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) {
    perror(path);
    return 0;
  }
  int count = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    if (e->d_name[0] == '.')
      continue;
    char file[4096];
    snprintf(file, sizeof file, "%s/%s", path, e->d_name);
    count += replay_file(file);
  }
  closedir(dir);
  return count;
}

int main(int argc, char **argv) {
  int count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
      count += replay_folder(argv[i]);
    else
      count += replay_file(argv[i]);
  }
  printf("replayed %d inputs\n", count);
  return count > 0 ? 0 : 1;
}
