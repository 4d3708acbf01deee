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

/* The host's CPU and features unless a CPU is named: then the CPU alone
 * says which features the code may use ("x86-64" gives portable code). */
static void choose_cpu(const TargetSpec *t, int host, char **cpu, char **features) {
  int native = host && (!t->cpu || strcmp(t->cpu, "native") == 0);
  *cpu = native ? LLVMGetHostCPUName() : LLVMCreateMessage(t->cpu ? t->cpu : "generic");
  *features = native ? LLVMGetHostCPUFeatures() : LLVMCreateMessage("");
}

LLVMTargetMachineRef target_machine(const TargetSpec *t, char *err, int errlen) {
  init_native_once();
  int host = !t->triple;
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
  choose_cpu(t, host, &cpu, &features);
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
      target, triple, cpu, features, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
      t->for_jit ? LLVMCodeModelJITDefault : LLVMCodeModelDefault);
  if (!tm)
    snprintf(err, errlen, "cannot create a target machine for %s (CPU %s)", triple, cpu);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return tm;
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
