/* Target machines: the host's for the JIT (tuned for this CPU, so that the
 * vectoriser knows the vector width), and any triple and CPU LLVM knows for
 * ahead-of-time compilation (--target, --cpu). Also the optimiser, which
 * needs the target machine for its cost model. */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "backend.h"

#ifndef SPARSEC_VERSION
#error "SPARSEC_VERSION (the project's version) must be defined by the build"
#endif

static void init_native_once(void) {
  static int done;
  if (done)
    return;
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  LLVMInitializeNativeAsmParser();
  done = 1;
}

/* Only a cross target needs the others; registering them all costs time. */
static void init_all_once(void) {
  static int done;
  if (done)
    return;
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  done = 1;
}

/* --target naming the host's own triple is the host. */
static int is_host_triple(const char *triple) {
  if (!triple)
    return 1;
  char *host = LLVMGetDefaultTargetTriple(), *given = LLVMNormalizeTargetTriple(triple);
  int same = strcmp(host, given) == 0;
  LLVMDisposeMessage(host);
  LLVMDisposeMessage(given);
  return same;
}

int target_uses_host_cpu(const TargetSpec *t) {
  return (!t->cpu || strcmp(t->cpu, "native") == 0) && is_host_triple(t->triple);
}

/* The host's CPU and features unless a CPU is named: then the CPU alone
 * says which features the code may use ("x86-64" gives portable code). */
static void choose_cpu(const TargetSpec *t, char **cpu, char **features) {
  int native = target_uses_host_cpu(t);
  *cpu = native ? LLVMGetHostCPUName() : LLVMCreateMessage(t->cpu ? t->cpu : "generic");
  *features = native ? LLVMGetHostCPUFeatures() : LLVMCreateMessage("");
}

/* A CPU LLVM does not know would only get a warning and code for a generic
 * CPU: refuse it. The question is asked of a machine without a CPU, which
 * LLVM creates without complaint. */
static int check_cpu(LLVMTargetRef target, const char *triple, const char *cpu, char *err,
                     int errlen) {
  LLVMTargetMachineRef probe = LLVMCreateTargetMachine(
      target, triple, "", "", LLVMCodeGenLevelNone, LLVMRelocPIC, LLVMCodeModelDefault);
  int known = !probe || target_knows_cpu(probe, cpu);
  if (probe)
    LLVMDisposeTargetMachine(probe);
  if (!known && strcmp(cpu, "native") == 0)
    snprintf(err, errlen,
             "--cpu native is the host's CPU, which is not one of %s: name one of its CPUs "
             "(`llc -mtriple=%s -mcpu=help` lists them), or leave --cpu out for its baseline",
             triple, triple);
  else if (!known)
    snprintf(err, errlen,
             "--cpu %s: LLVM knows no such CPU for %s (x86-64 takes the levels x86-64, "
             "x86-64-v2, x86-64-v3, x86-64-v4, CPU names such as skylake or znver3, and "
             "native; `llc -mtriple=%s -mcpu=help` lists them all)",
             cpu, triple, triple);
  return known ? 0 : -1;
}

LLVMTargetMachineRef target_machine(const TargetSpec *t, char *err, int errlen) {
  init_native_once();
  int host = is_host_triple(t->triple);
  if (!host)
    init_all_once();
  char *triple = host ? LLVMGetDefaultTargetTriple() : LLVMNormalizeTargetTriple(t->triple);
  LLVMTargetRef target;
  char *msg = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
    snprintf(err, errlen, "no LLVM target for '%s': %s", triple, msg ? msg : "?");
    LLVMDisposeMessage(msg);
    LLVMDisposeMessage(triple);
    return NULL;
  }
  char *cpu, *features;
  choose_cpu(t, &cpu, &features);
  LLVMTargetMachineRef tm = NULL;
  if (target_uses_host_cpu(t) || check_cpu(target, triple, cpu, err, errlen) == 0) {
    tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                 LLVMRelocPIC,
                                 t->for_jit ? LLVMCodeModelJITDefault : LLVMCodeModelDefault);
    if (!tm)
      snprintf(err, errlen, "cannot create a target machine for %s (CPU %s)", triple, cpu);
  }
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return tm;
}

/* ---- what the code asks of a CPU ------------------------------------------------- */

/* Whether the machine enables every LLVM feature of the comma-separated list. */
static int has_all(LLVMTargetMachineRef tm, const char *list) {
  char plus[1024] = "";
  size_t used = 0;
  for (const char *p = list; *p && used < sizeof plus;) {
    size_t len = strcspn(p, ",");
    used += (size_t)snprintf(plus + used, sizeof plus - used, "%s+%.*s", used ? "," : "",
                             (int)len, p);
    p += len + (p[len] == ',');
  }
  return target_has_features(tm, plus);
}

static int in_list(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && strncmp(p, word, n) == 0)
      return 1;
    p += len + (p[len] == ',');
  }
  return 0;
}

static int is_level(const SrCpuFeature *f) {
  return strncmp(f->name, "x86-64-v", 8) == 0;
}

/* The highest x86-64 level the machine reaches, then each feature of the
 * runtime's table (runtime/cpu.c) it enables beyond that level. */
static void x86_features(LLVMTargetMachineRef tm, char *out, size_t size) {
  const SrCpuFeature *level = NULL;
  for (const SrCpuFeature *f = sr_cpu_features(); f->name; f++)
    if (is_level(f) && has_all(tm, f->llvm))
      level = f;
  size_t used = (size_t)snprintf(out, size, "%s", level ? level->name : "");
  for (const SrCpuFeature *f = sr_cpu_features(); f->name && used < size; f++)
    if (!is_level(f) && !(level && in_list(level->llvm, f->name)) && has_all(tm, f->llvm))
      used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "", f->name);
}

void target_describe(LLVMTargetMachineRef tm, int host_cpu, TargetInfo *out) {
  char *triple = LLVMGetTargetMachineTriple(tm);
  char *cpu = LLVMGetTargetMachineCPU(tm);
  snprintf(out->triple, sizeof out->triple, "%s", triple);
  snprintf(out->cpu, sizeof out->cpu, "%s%s", cpu, host_cpu ? ", the host's" : "");
  out->features[0] = '\0';
  /* the runtime tests x86-64 CPUs only, and only when it is one itself */
  if (strncmp(triple, "x86_64", 6) == 0)
    x86_features(tm, out->features, sizeof out->features);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
}

const char *target_compiler(void) {
  static char text[80];
  unsigned major, minor, patch;
  LLVMGetVersion(&major, &minor, &patch);
  snprintf(text, sizeof text, "sparsec %s (LLVM %u.%u.%u)", SPARSEC_VERSION, major, minor, patch);
  return text;
}

LLVMTargetMachineRef target_host_machine(char *err, int errlen) {
  TargetSpec host = {.for_jit = 1};
  return target_machine(&host, err, errlen);
}

void target_prepare_module(LLVMModuleRef mod, LLVMTargetMachineRef tm) {
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(mod, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
  char *dl = LLVMCopyStringRepOfTargetData(layout);
  LLVMSetDataLayout(mod, dl);
  LLVMDisposeMessage(dl);
  LLVMDisposeTargetData(layout);
}

int target_optimise_module(LLVMModuleRef mod, LLVMTargetMachineRef tm, char *err, int errlen) {
  char *msg = NULL;
  if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
    snprintf(err, errlen, "internal error: generated LLVM IR is invalid: %s", msg);
    LLVMDisposeMessage(msg);
    return -1;
  }
  LLVMDisposeMessage(msg);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, 0);
  LLVMErrorRef e = LLVMRunPasses(mod, TARGET_PIPELINE, tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (!e)
    return 0;
  char *text = LLVMGetErrorMessage(e);
  snprintf(err, errlen, "optimising: %s", text);
  LLVMDisposeErrorMessage(text);
  return -1;
}
