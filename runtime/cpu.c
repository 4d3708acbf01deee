/* cpu.c: does this CPU have what the model's code was compiled for?
 *
 * `sparsec build` records in the object the CPU features its code may use
 * (SrProgramConfig.cpu_features: an x86-64 level and the features beyond
 * it), as names of the table below, which is the one list both sides use:
 * the backend asks LLVM which of them the target machine enables, and the
 * runtime asks the CPU, before any of the model's code runs, so that a
 * program on an older CPU says what is missing instead of dying of SIGILL.
 * Checks use libgcc's CPU probe (__builtin_cpu_supports), which also knows
 * whether the OS saves the AVX and AVX-512 registers. Only x86-64 has the
 * table; objects for other targets record and check nothing. */
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

#include "program.h"

/* The x86-64 psABI levels, each with the LLVM features it stands for. */
#define X86_64_V2 "cx16,sahf,popcnt,sse3,sse4.1,sse4.2,ssse3"
#define X86_64_V3 X86_64_V2 ",avx,avx2,bmi,bmi2,f16c,fma,lzcnt,movbe,xsave"
#define X86_64_V4 X86_64_V3 ",avx512f,avx512bw,avx512cd,avx512dq,avx512vl"

/* X(name, LLVM features it stands for): the levels first, lowest first,
 * then the single features, whose name is LLVM's and libgcc's alike. */
#define SR_CPU_TABLE(X)                                                                        \
  X("x86-64-v2", X86_64_V2) X("x86-64-v3", X86_64_V3) X("x86-64-v4", X86_64_V4)               \
  X("sse3", "sse3") X("ssse3", "ssse3") X("sse4.1", "sse4.1") X("sse4.2", "sse4.2")           \
  X("popcnt", "popcnt") X("avx", "avx") X("avx2", "avx2") X("fma", "fma") X("f16c", "f16c")   \
  X("bmi", "bmi") X("bmi2", "bmi2") X("lzcnt", "lzcnt") X("movbe", "movbe")                   \
  X("avx512f", "avx512f") X("avx512bw", "avx512bw") X("avx512cd", "avx512cd")                 \
  X("avx512dq", "avx512dq") X("avx512vl", "avx512vl") X("avx512vbmi", "avx512vbmi")           \
  X("avx512vbmi2", "avx512vbmi2") X("avx512ifma", "avx512ifma")                               \
  X("avx512vnni", "avx512vnni") X("avx512bitalg", "avx512bitalg")                             \
  X("avx512vpopcntdq", "avx512vpopcntdq") X("avx512bf16", "avx512bf16")                       \
  X("avx512fp16", "avx512fp16") X("avxvnni", "avxvnni") X("gfni", "gfni")                     \
  X("vpclmulqdq", "vpclmulqdq") X("aes", "aes") X("pclmul", "pclmul") X("sha", "sha")         \
  X("adx", "adx") X("sse4a", "sse4a") X("fma4", "fma4") X("xop", "xop")

#if defined(__x86_64__) && defined(__GNUC__)
#define SR_CPU_ROW(name, parts) {name, parts},
static const SrCpuFeature table[] = {SR_CPU_TABLE(SR_CPU_ROW){NULL, NULL}};

/* __builtin_cpu_supports takes only a literal: one test per row. */
#define SR_CPU_TEST(name, parts)                                                               \
  if (strcmp(feature, name) == 0)                                                              \
    return __builtin_cpu_supports(name) ? 1 : 0;

int sr_cpu_has(const char *feature) {
  __builtin_cpu_init(); /* may run before libgcc's constructor (a .preinit_array caller) */
  SR_CPU_TABLE(SR_CPU_TEST)
  return -1;
}
#else
static const SrCpuFeature table[] = {{NULL, NULL}};

int sr_cpu_has(const char *feature) {
  (void)feature;
  return -1;
}
#endif

/* The processor brand string of CPUID leaves 0x80000002..4, e.g. "AMD EPYC
 * 9B45 128-Core Processor": what a person calls the CPU (LLVM may not know
 * it and call it generic). */
void sr_cpu_model(char *out, size_t size) {
  out[0] = '\0';
#if defined(__x86_64__) && defined(__GNUC__)
  unsigned regs[12];
  if (__get_cpuid_max(0x80000000u, NULL) < 0x80000004u)
    return;
  for (unsigned i = 0; i < 3; i++)
    __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2],
                &regs[4 * i + 3]);
  char brand[sizeof regs + 1];
  memcpy(brand, regs, sizeof regs);
  brand[sizeof regs] = '\0';
  const char *start = brand + strspn(brand, " ");
  size_t len = strlen(start);
  while (len > 0 && start[len - 1] == ' ')
    len--;
  snprintf(out, size, "%.*s", (int)len, start);
#else
  (void)size;
#endif
}

const SrCpuFeature *sr_cpu_features(void) {
  return table;
}

/* Appends `word` to the comma-separated list in out[0..size). */
static void append(char *out, size_t size, const char *word, size_t len) {
  size_t used = strlen(out);
  snprintf(out + used, size - used, "%s%.*s", used ? ", " : "", (int)len, word);
}

int sr_cpu_missing(const char *list, char *out, size_t size) {
  int missing = 0;
  out[0] = '\0';
  for (const char *p = list ? list : ""; *p;) {
    size_t len = strcspn(p, ",");
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)len, p);
    if (len > 0 && sr_cpu_has(name) != 1) { /* unknown here counts as missing */
      append(out, size, p, len);
      missing++;
    }
    p += len + (p[len] == ',');
  }
  return missing;
}

/* The highest x86-64 level this CPU has: what to rebuild for. */
static const char *best_level(void) {
  const char *best = "x86-64";
  for (const SrCpuFeature *f = table; f->name; f++)
    if (strncmp(f->name, "x86-64-v", 8) == 0 && sr_cpu_has(f->name) == 1)
      best = f->name;
  return best;
}

int sr_cpu_check(const SrProgramConfig *cfg, SrError *err) {
  char missing[512];
  if (sr_cpu_missing(cfg->cpu_features, missing, sizeof missing) == 0)
    return 0;
  return sr_fail(err, "this CPU lacks %s, which the model's code was compiled for (%s, CPU %s): "
                      "rebuild it with `sparsec build --cpu %s` (the highest x86-64 level "
                      "this CPU has)",
                 missing, cfg->target, cfg->cpu, best_level());
}
