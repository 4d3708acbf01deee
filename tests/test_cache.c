/* The JIT's on-disk object cache (backend/jit_cache.c), end to end through
 * `sparsec run`: a hit trains the same weights as a compile, any change of
 * the module misses, SPARSEC_CACHE=off writes nothing, a folder that cannot
 * be written or a full disk only turns the cache off, and two processes
 * writing one entry at once both succeed and leave one valid entry. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"
#include "workdir.h"

static void make_dir(void) {
  workdir_make("cache");
  write_blob_data(NULL);
}

static void remove_dir(void) {
  workdir_remove();
}

static const char *spec_with_width =
    "model {\n"
    "  input = 16\n"
    "  layer h1 = dense(%d, relu, l1 = 0.0001)\n"
    "  layer out = dense(3, softmax)\n"
    "  loss = nll\n"
    "}\n"
    "train { lr = 0.1  batch = 8  epochs = 2  seed = 3 }\n"
    "data {\n"
    "  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
    "  test = idx(\"test-x.idx\", \"test-y.idx\")\n"
    "  scale = 1/255\n"
    "  validation = 100\n"
    "}\n";

/* A spec whose h1 has `width` units; its checkpoint, unless NULL. */
static void write_spec(const char *name, int width, const char *checkpoint) {
  char text[1024];
  int n = snprintf(text, sizeof text, spec_with_width, width);
  if (checkpoint)
    snprintf(text + n, sizeof text - (size_t)n, "output { checkpoint = \"%s\" }\n", checkpoint);
  write_file(name, text);
}

/* `ENV sparsec run ARGS` in dir; the exit status, the output in *out. */
static int run(const char *env, const char *args, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "env %s %s run %s", env, SPARSEC_BINARY, args);
  return workdir_run(cmd, out);
}

/* Files in dir/SUB whose names contain `part` (-1: no such folder): an
 * entry KEY.o, a temporary file KEY.o.tmp.XXXXXX (outfile.c). */
static int count_files(const char *sub, const char *part) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  DIR *d = opendir(path);
  if (!d)
    return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.' && strstr(e->d_name, part) != NULL;
  closedir(d);
  return n;
}

static char *slurp(const char *name, size_t *n) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  rewind(f);
  char *data = malloc(*n + 1);
  cr_assert_eq(fread(data, 1, *n, f), *n);
  fclose(f);
  return data;
}

static void expect_same_file(const char *a, const char *b) {
  size_t na, nb;
  char *x = slurp(a, &na), *y = slurp(b, &nb);
  cr_expect(na == nb && memcmp(x, y, na) == 0, "%s and %s differ", a, b);
  free(x), free(y);
}

#define CACHE_ENV "XDG_CACHE_HOME=cache"

Test(cache, a_hit_trains_the_same_weights, .init = make_dir, .fini = remove_dir) {
  write_spec("a.spn", 24, "a.safetensors");
  write_spec("b.spn", 24, "b.safetensors");
  char *first, *second;
  cr_assert_eq(run(CACHE_ENV, "--verbose a.spn", &first), 0, "%s", first);
  cr_expect(strstr(first, "cache") && strstr(first, ": miss, stored)"), "%s", first);
  cr_expect(!strstr(first, "(cached)"), "%s", first);
  cr_expect_eq(count_files("cache/sparsec", ".o"), 1);
  cr_assert_eq(run(CACHE_ENV, "b.spn", &second), 0, "%s", second);
  cr_expect(strstr(second, " ms (cached)\n"), "%s", second);
  cr_expect(!strstr(second, "optimise"), "the breakdown is --verbose's: %s", second);
  cr_expect_eq(count_files("cache/sparsec", ".o"), 1);
  expect_same_file("a.safetensors", "b.safetensors");
  free(first), free(second);
}

/* The learning rate is not code (the hyperparameter table): the same entry. */
Test(cache, a_new_width_misses_a_new_lr_hits, .init = make_dir, .fini = remove_dir) {
  write_spec("a.spn", 24, "a.safetensors");
  write_spec("b.spn", 25, "b.safetensors");
  char *out;
  cr_assert_eq(run(CACHE_ENV, "a.spn", &out), 0, "%s", out);
  free(out);
  cr_assert_eq(run(CACHE_ENV, "--verbose b.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, ": miss, stored)") && !strstr(out, "(cached)"), "%s", out);
  cr_expect_eq(count_files("cache/sparsec", ".o"), 2);
  free(out);
  cr_assert_eq(run(CACHE_ENV, "--set train.lr=0.05 a.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "(cached)"), "%s", out);
  cr_expect_eq(count_files("cache/sparsec", ".o"), 2);
  free(out);
}

/* A file of `kb` kilobytes at cache/sparsec/NAME, last used `age` seconds ago. */
static void old_file(const char *name, int kb, int age) {
  char path[512];
  snprintf(path, sizeof path, "%s/cache/sparsec/%s", dir, name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "%s", path);
  for (int i = 0; i < kb; i++)
    for (int j = 0; j < 1024; j++)
      fputc(i, f);
  fclose(f);
  struct timespec t[2];
  clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec -= age;
  t[1] = t[0];
  cr_assert_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

static int exists(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/cache/sparsec/%s", dir, name);
  return access(path, F_OK) == 0;
}

/* A store over SPARSEC_CACHE_MAX removes the least recently used entries
 * down to 3/4 of the bound; a hit counts as a use; files that are not
 * entries stay. Six entries of 200 KB, used 60 s, 50 s, ... 10 s ago, and a
 * new 30 KB one take 1 MB over the bound of 1: the three oldest go. */
Test(cache, a_bounded_folder_drops_the_least_recently_used, .init = make_dir,
     .fini = remove_dir) {
  write_spec("a.spn", 24, NULL);
  write_spec("b.spn", 26, NULL);
  char *out;
  cr_assert_eq(run(CACHE_ENV, "a.spn", &out), 0, "%s", out); /* creates the folder */
  free(out);
  char a[1024] = "", folder[256];
  snprintf(folder, sizeof folder, "%s/cache/sparsec", dir);
  DIR *d = opendir(folder);
  cr_assert_not_null(d, "%s", folder);
  for (struct dirent *e; (e = readdir(d));)
    if (strstr(e->d_name, ".o"))
      snprintf(a, sizeof a, "%s/%s", folder, e->d_name);
  closedir(d);
  cr_assert(a[0], "a's entry");
  char names[6][40];
  for (int k = 0; k < 6; k++) {
    snprintf(names[k], sizeof names[k], "%032x.o", k + 1);
    old_file(names[k], 200, 60 - 10 * k);
  }
  old_file("notes.txt", 300, 100);
  old_file("0123.o", 300, 100); /* not a key's name */
  /* entry a is the oldest of all, until this hit uses it */
  struct timespec t[2] = {{.tv_sec = time(NULL) - 100}, {.tv_sec = time(NULL) - 100}};
  cr_assert_eq(utimensat(AT_FDCWD, a, t, 0), 0, "%s", a);
  cr_assert_eq(run(CACHE_ENV " SPARSEC_CACHE_MAX=1", "a.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "(cached)"), "%s", out);
  free(out);
  cr_assert_eq(run(CACHE_ENV " SPARSEC_CACHE_MAX=1", "--verbose b.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, ": miss, stored)"), "%s", out);
  free(out);
  for (int k = 0; k < 6; k++)
    cr_expect_eq(exists(names[k]), k >= 3, "%s (used %d s ago)", names[k], 60 - 10 * k);
  cr_expect(exists("notes.txt") && exists("0123.o"), "only entries are removed");
  cr_expect_eq(count_files("cache/sparsec", ".o"), 3 + 2 + 1, "3 old, a and b, 0123.o");
  cr_assert_eq(run(CACHE_ENV, "a.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "(cached)"), "the entry used last stays: %s", out);
  free(out);
}

Test(cache, off_writes_nothing, .init = make_dir, .fini = remove_dir) {
  write_spec("a.spn", 24, "a.safetensors");
  char *out;
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(run(CACHE_ENV " SPARSEC_CACHE=off", "--verbose a.spn", &out), 0, "%s", out);
    cr_expect(strstr(out, "cache 0.0: off)") && !strstr(out, "(cached)"), "%s", out);
    free(out);
  }
  cr_expect_eq(count_files("cache", ""), -1, "no cache folder");
}

/* A damaged entry (here: cut short) is a miss, compiled and written again. */
Test(cache, a_damaged_entry_is_a_miss, .init = make_dir, .fini = remove_dir) {
  write_spec("a.spn", 24, "a.safetensors");
  write_spec("b.spn", 24, "b.safetensors");
  char *out, cmd[512];
  cr_assert_eq(run(CACHE_ENV, "a.spn", &out), 0, "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "for f in %s/cache/sparsec/*.o; do truncate -s -100 $f; done", dir);
  cr_assert_eq(system(cmd), 0);
  cr_assert_eq(run(CACHE_ENV, "--verbose b.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, ": miss, stored)"), "%s", out);
  expect_same_file("a.safetensors", "b.safetensors");
  free(out);
}

Test(cache, an_unwritable_folder_only_turns_it_off, .init = make_dir, .fini = remove_dir) {
  write_spec("a.spn", 24, "a.safetensors");
  write_spec("b.spn", 24, "b.safetensors");
  write_file("afile", "not a folder\n");
  char *out, ro[256];
  /* a path under a file: the folder cannot be made */
  cr_assert_eq(run("XDG_CACHE_HOME=afile", "a.spn", &out), 0, "%s", out);
  cr_expect(!strstr(out, "cache") && !strstr(out, "cannot"), "no message: %s", out);
  free(out);
  cr_assert_eq(run("XDG_CACHE_HOME=afile", "--verbose b.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, ": miss, not writable)"), "%s", out);
  expect_same_file("a.safetensors", "b.safetensors");
  free(out);
  /* a folder without write permission (root may write anyway: a store is fine then) */
  snprintf(ro, sizeof ro, "%s/ro", dir);
  cr_assert_eq(mkdir(ro, 0555), 0);
  cr_assert_eq(run("XDG_CACHE_HOME=ro", "--verbose b.spn", &out), 0, "%s", out);
  if (geteuid() != 0)
    cr_expect(strstr(out, ": miss, not writable)"), "%s", out);
  expect_same_file("a.safetensors", "b.safetensors");
  free(out);
}

/* A full disk, as a file size limit: the write fails part way; the run
 * goes on and no partial entry (or temporary file) is left. */
Test(cache, a_full_disk_only_turns_it_off, .init = make_dir, .fini = remove_dir) {
  write_spec("a.spn", 8, NULL); /* its state file (out/a.state.safetensors) is about 3 KB */
  char cmd[1024];
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) { /* 12 KiB: room for the state, not for the object (over 20 KB) */
    struct rlimit lim = {.rlim_cur = 12288, .rlim_max = 12288};
    signal(SIGXFSZ, SIG_IGN); /* write then fails with EFBIG, as ENOSPC on a full disk */
    snprintf(cmd, sizeof cmd,
             "cd %s && env " CACHE_ENV " %s run a.spn > /dev/null 2>&1; echo $? > status.txt",
             dir, SPARSEC_BINARY);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
      _exit(2);
    _exit(system(cmd) == 0 ? 0 : 1);
  }
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  size_t n;
  char *rc = slurp("status.txt", &n);
  cr_expect_eq(atoi(rc), 0, "the run succeeds");
  free(rc);
  cr_expect_eq(count_files("cache/sparsec", ".o"), 0, "no partial entry");
  cr_expect_eq(count_files("cache/sparsec", ".tmp"), 0, "no temporary file");
}

/* Two processes compiling the same module at once (`make reproduce`'s two
 * jobs, MPI ranks): both train, and one valid entry is left. */
Test(cache, two_processes_at_once, .init = make_dir, .fini = remove_dir) {
  write_spec("a.spn", 40, "a.safetensors");
  write_spec("b.spn", 40, "b.safetensors");
  write_spec("c.spn", 40, "c.safetensors");
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "cd %s && (env " CACHE_ENV " %s run a.spn > a.txt 2>&1 & a=$!; env " CACHE_ENV
           " %s run b.spn > b.txt 2>&1 & b=$!; wait $a && wait $b)",
           dir, SPARSEC_BINARY, SPARSEC_BINARY);
  cr_assert_eq(system(cmd), 0);
  cr_expect_eq(count_files("cache/sparsec", ".o"), 1);
  cr_expect_eq(count_files("cache/sparsec", ".tmp"), 0);
  char *out;
  cr_assert_eq(run(CACHE_ENV, "c.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "(cached)"), "the entry left is valid: %s", out);
  expect_same_file("a.safetensors", "b.safetensors");
  expect_same_file("a.safetensors", "c.safetensors");
  free(out);
}

/* The key of a module for a target machine and pipeline. */
static void key_of(const int *widths, LLVMTargetMachineRef tm, const char *pipeline,
                   char key[JIT_CACHE_KEY]) {
  Spec *s = test_spec(16, widths, 2, 0.001, 0.1);
  char err[512];
  Module *m = module_build(s, err, sizeof err);
  test_spec_free(s);
  cr_assert_not_null(m, "%s", err);
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("sparsec", ctx);
  codegen_program(mod, m, &m->train, 0);
  target_prepare_module(mod, tm);
  jit_cache_key(mod, tm, pipeline, key);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  module_free(m);
}

/* The key changes with the module, the target's CPU and the pipeline (the
 * executable's build ID and LLVM's version go in the same way, and are the
 * same within one test). */
Test(cache, the_key_covers_module_target_and_pipeline) {
  char err[512], a[JIT_CACHE_KEY], again[JIT_CACHE_KEY], wider[JIT_CACHE_KEY],
      other_cpu[JIT_CACHE_KEY], o1[JIT_CACHE_KEY];
  LLVMTargetMachineRef host = target_host_machine(err, sizeof err);
  cr_assert_not_null(host, "%s", err);
  TargetSpec portable = {.cpu = "x86-64", .for_jit = 1};
  LLVMTargetMachineRef generic = target_machine(&portable, err, sizeof err);
  cr_assert_not_null(generic, "%s", err);
  key_of((int[]){24, 3}, host, TARGET_OPTIMISER, a);
  key_of((int[]){24, 3}, host, TARGET_OPTIMISER, again);
  key_of((int[]){25, 3}, host, TARGET_OPTIMISER, wider);
  key_of((int[]){24, 3}, generic, TARGET_OPTIMISER, other_cpu);
  key_of((int[]){24, 3}, host, "default<O1>", o1);
  cr_expect_str_eq(a, again);
  cr_expect_str_neq(a, wider);
  cr_expect_str_neq(a, other_cpu);
  cr_expect_str_neq(a, o1);
  LLVMDisposeTargetMachine(host);
  LLVMDisposeTargetMachine(generic);
}
