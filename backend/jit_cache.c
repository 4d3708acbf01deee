/* The JIT's on-disk object cache: the machine code of a module, keyed by a
 * hash of everything that decides it, so that compiling the same structure
 * again (a second `run`, a REPL change back, every MPI rank) reads an object
 * instead of running LLVM's optimiser and code generator.
 *
 * The key hashes the unoptimised module's bitcode with the target (triple,
 * CPU, features), the optimisation pipeline, LLVM's version and the build ID
 * of this executable (so any rebuild of sparsec invalidates the entries its
 * code generator or passes could have changed). An entry is the object
 * followed by a footer (magic, length, hash of the object), checked on
 * reading, so a truncated or damaged file is a miss, never a crash. Entries
 * are written as every output is (write_file_atomic: a temporary file in
 * the folder, renamed), so
 * readers see a whole entry or none, and two processes writing the same
 * entry both succeed. The cache is an optimisation: any failure (no home,
 * read-only folder, full disk) only turns it off, silently.
 *
 * Its size is bounded (SPARSEC_CACHE_MAX megabytes, default 256): a store
 * that takes the folder over the bound removes the least recently used
 * entries (a hit touches its entry's time) until it is under 3/4 of it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dl_iterate_phdr (LLVM's definitions usually set it) */
#endif
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "backend.h"
#include "experiment.h" /* sr_output_folder */

#define CACHE_FORMAT "sparsec-jit-cache-1"
#define FOOTER_MAGIC "sparsecO"

typedef unsigned __int128 u128;

/* FNV-1a, 128 bits: not cryptographic, but the inputs are our own modules,
 * and 128 bits make an accidental collision out of reach. */
static const u128 FNV_PRIME = ((u128)0x0000000001000000ULL << 64) | 0x000000000000013BULL;
static u128 fnv_init(void) {
  return ((u128)0x6c62272e07bb0142ULL << 64) | 0x62b821756295c58dULL;
}
static u128 fnv(u128 h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * FNV_PRIME;
  return h;
}
static u128 fnv_str(u128 h, const char *s) {
  return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1); /* the NUL separates fields */
}

/* The GNU build ID of the main executable (a hash the linker computes over
 * the whole binary), found through the program headers. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *out) {
  (void)size;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE)
      continue;
    const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
      const char *name = p + sizeof *nh;
      const char *desc = name + ((nh->n_namesz + 3) & ~3u);
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        *(u128 *)out = fnv(*(u128 *)out, desc, nh->n_descsz);
        return 1;
      }
      p = desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
  return 1; /* only the first object: the executable */
}

int jit_cache_dir(char *out, size_t n) {
  const char *mode = getenv("SPARSEC_CACHE");
  if (mode && strcmp(mode, "off") == 0)
    return -1;
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int len = xdg && *xdg ? snprintf(out, n, "%s/sparsec", xdg)
            : home && *home ? snprintf(out, n, "%s/.cache/sparsec", home)
                            : -1;
  return len > 0 && (size_t)len < n ? 0 : -1;
}

void jit_cache_key(LLVMModuleRef mod, LLVMTargetMachineRef tm, const char *pipeline,
                   char key[JIT_CACHE_KEY]) {
  u128 h = fnv_str(fnv_init(), CACHE_FORMAT);
  unsigned major, minor, patch;
  LLVMGetVersion(&major, &minor, &patch);
  unsigned version[3] = {major, minor, patch};
  h = fnv(h, version, sizeof version);
  dl_iterate_phdr(find_build_id, &h);
  char *triple = LLVMGetTargetMachineTriple(tm), *cpu = LLVMGetTargetMachineCPU(tm);
  char *features = LLVMGetTargetMachineFeatureString(tm);
  h = fnv_str(fnv_str(fnv_str(fnv_str(h, triple), cpu), features), pipeline);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(mod);
  h = fnv(h, LLVMGetBufferStart(bc), LLVMGetBufferSize(bc));
  LLVMDisposeMemoryBuffer(bc);
  snprintf(key, JIT_CACHE_KEY, "%016llx%016llx", (unsigned long long)(h >> 64),
           (unsigned long long)h);
}

typedef struct Footer {
  char magic[8];
  uint64_t length;
  uint64_t hash[2];
} Footer;

static void footer_for(const void *obj, size_t n, Footer *f) {
  memset(f, 0, sizeof *f);
  memcpy(f->magic, FOOTER_MAGIC, sizeof f->magic);
  f->length = n;
  u128 h = fnv(fnv_init(), obj, n);
  f->hash[0] = (uint64_t)(h >> 64);
  f->hash[1] = (uint64_t)h;
}

static int entry_path(const char *key, char *path, size_t n) {
  char dir[4096];
  if (jit_cache_dir(dir, sizeof dir) != 0)
    return -1;
  int len = snprintf(path, n, "%s/%s.o", dir, key);
  return len > 0 && (size_t)len < n ? 0 : -1;
}

/* The bound in bytes: SPARSEC_CACHE_MAX in megabytes, digits only
 * (a bad value keeps the default; 0 keeps nothing but the newest entry). */
static long long cache_max_bytes(void) {
  const char *v = getenv("SPARSEC_CACHE_MAX");
  long long mb = 0;
  if (!v || !*v || strlen(v) > 9 || strspn(v, "0123456789") != strlen(v))
    return JIT_CACHE_MAX_MB * 1024LL * 1024;
  for (; *v; v++)
    mb = mb * 10 + (*v - '0');
  return mb * 1024 * 1024;
}

typedef struct Entry {
  char name[64];
  long long size;
  struct timespec used;
} Entry;

static int older(const void *a, const void *b) {
  const struct timespec *x = &((const Entry *)a)->used, *y = &((const Entry *)b)->used;
  return x->tv_sec != y->tv_sec ? (x->tv_sec < y->tv_sec ? -1 : 1)
                                 : (x->tv_nsec > y->tv_nsec) - (x->tv_nsec < y->tv_nsec);
}

/* The folder's entries (KEY.o; temporary files and anything else are left
 * alone); *total their bytes. NULL when it cannot be read. */
static Entry *list_entries(DIR *d, int *count, long long *total) {
  Entry *e = NULL;
  int n = 0, cap = 0;
  *total = 0;
  for (struct dirent *de; (de = readdir(d));) {
    size_t len = strlen(de->d_name);
    struct stat st;
    if (len != JIT_CACHE_KEY - 1 + 2 || strcmp(de->d_name + len - 2, ".o") != 0 ||
        fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (n == cap) {
      Entry *grown = realloc(e, sizeof *e * (size_t)(cap = cap ? 2 * cap : 64));
      if (!grown)
        break; /* evict among those listed */
      e = grown;
    }
    memcpy(e[n].name, de->d_name, len + 1); /* len is a key's and ".o": it fits */
    e[n].size = st.st_size;
    e[n].used = st.st_mtim;
    *total += st.st_size;
    n++;
  }
  *count = n;
  return e;
}

/* Removes the least recently used entries while the folder is over the
 * bound, down to 3/4 of it, so that eviction runs once per many stores;
 * `keep` (the entry just stored) stays. Another process may be removing
 * the same files: a failed unlink is not an error. */
static void evict(const char *dir, const char *keep) {
  long long max = cache_max_bytes(), total;
  DIR *d = opendir(dir);
  if (!d)
    return;
  int n;
  Entry *e = list_entries(d, &n, &total);
  if (e && total > max) {
    qsort(e, (size_t)n, sizeof *e, older);
    for (int i = 0; i < n && total > max / 4 * 3; i++)
      if (strncmp(e[i].name, keep, JIT_CACHE_KEY - 1) != 0 &&
          unlinkat(dirfd(d), e[i].name, 0) == 0)
        total -= e[i].size;
  }
  free(e);
  closedir(d);
}

LLVMMemoryBufferRef jit_cache_load(const char *key) {
  char path[4200];
  if (entry_path(key, path, sizeof path) != 0)
    return NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  LLVMMemoryBufferRef buf = NULL;
  struct stat st;
  char *data = NULL;
  size_t size = fstat(fileno(f), &st) == 0 ? (size_t)st.st_size : 0;
  if (size > sizeof(Footer) && (data = malloc(size)) && fread(data, 1, size, f) == size) {
    size_t n = size - sizeof(Footer);
    Footer want, got;
    memcpy(&got, data + n, sizeof got);
    footer_for(data, n, &want);
    if (memcmp(&want, &got, sizeof want) == 0)
      buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(data, n, key);
  }
  if (buf) /* recently used: eviction goes by this time */
    futimens(fileno(f), NULL);
  free(data);
  fclose(f);
  return buf;
}

/* Written as the other outputs are (outfile.c: a temporary file in the
 * folder, fsync'd and renamed; removed on a failure or an interrupt), in
 * the folder made as an output's is (runtime/outputs.c). */
int jit_cache_store(const char *key, const void *obj, size_t n) {
  char path[4200], err[256];
  SrError folder_err;
  if (entry_path(key, path, sizeof path) != 0 || sr_output_folder(path, &folder_err) != 0)
    return -1;
  char *entry = malloc(n + sizeof(Footer));
  if (!entry)
    return -1;
  Footer f;
  footer_for(obj, n, &f);
  memcpy(entry, obj, n);
  memcpy(entry + n, &f, sizeof f);
  int rc = write_file_atomic(path, entry, n + sizeof f, 0, err, sizeof err);
  free(entry);
  char dir[4096];
  if (rc == 0 && jit_cache_dir(dir, sizeof dir) == 0)
    evict(dir, key);
  return rc;
}
