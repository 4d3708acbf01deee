/* The JIT: the module's programs as one LLVM module, optimised with the new
 * pass manager for the host CPU (LLJIT does not optimise by itself), compiled
 * to an object by the host target machine, or read from the on-disk cache
 * (jit_cache.c), and linked by ORC LLJIT. Generated code calls cblas_sgemm and libm; those
 * are defined as absolute symbols so that the host binary keeps them linked
 * and the JIT never depends on what the process happens to export. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "backend.h"
#include "gen.h"

struct Jit {
  LLVMOrcLLJITRef lljit;
  SrKernel train_step, infer;
  SrKernel pretrain[SPEC_MAX_LAYERS];
  SrSplitStep train_split, pretrain_split[SPEC_MAX_LAYERS]; /* kernels only */
  JitTimes times;
  double *hyper;       /* the generated code's hyperparameter table, or NULL (none) */
  int nhyper;
  int refs;            /* owners: jit_share adds one, jit_free drops one */
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Consumes the error; returns -1 so callers can `return report(...)`. */
static int report(LLVMErrorRef e, const char *what, char *err, int errlen) {
  char *msg = LLVMGetErrorMessage(e);
  snprintf(err, errlen, "%s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return -1;
}

typedef struct HostSymbol {
  const char *name;
  void *address;
} HostSymbol;

static int define_host_symbols(LLVMOrcLLJITRef lljit, char *err, int errlen) {
  const HostSymbol symbols[] = {
      {"cblas_sgemm", (void *)cblas_sgemm},
      {"expf", (void *)expf},
      {"logf", (void *)logf},
      {"log1pf", (void *)log1pf},
      {"expm1f", (void *)expm1f},
      {"tanhf", (void *)tanhf},
      {"cosf", (void *)cosf},
      {"sr_parallel", (void *)sr_parallel}, /* the sparse kernels' thread pool */
      {"sr_grad_ready", (void *)sr_grad_ready}, /* split steps: start averaging a gradient */
  };
  enum { N = sizeof symbols / sizeof symbols[0] };
  LLVMOrcCSymbolMapPair pairs[N];
  for (int i = 0; i < N; i++) {
    pairs[i].Name = LLVMOrcLLJITMangleAndIntern(lljit, symbols[i].name);
    pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)symbols[i].address;
    pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported;
    pairs[i].Sym.Flags.TargetFlags = 0;
  }
  LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, N);
  LLVMErrorRef e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(lljit), mu);
  return e ? report(e, "defining runtime symbols", err, errlen) : 0;
}

static int create_lljit(Jit *jit, char *err, int errlen) {
  LLVMTargetMachineRef tm = target_host_machine(err, errlen);
  if (!tm)
    return -1;
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
      builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm)); /* takes tm */
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&jit->lljit, builder);                /* takes builder */
  if (e)
    return report(e, "creating the JIT", err, errlen);
  LLVMOrcDefinitionGeneratorRef gen;
  e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
      &gen, LLVMOrcLLJITGetGlobalPrefix(jit->lljit), NULL, NULL);
  if (e)
    return report(e, "searching process symbols", err, errlen);
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit->lljit), gen);
  return define_host_symbols(jit->lljit, err, errlen);
}

static int lookup(Jit *jit, const char *name, SrKernel *out, char *err, int errlen) {
  LLVMOrcExecutorAddress addr = 0;
  LLVMErrorRef e = LLVMOrcLLJITLookup(jit->lljit, &addr, name);
  if (e)
    return report(e, name, err, errlen);
  *out = (SrKernel)(uintptr_t)addr;
  return 0;
}

static int lookup_split(Jit *jit, const SplitStep *s, SrSplitStep *out, char *err, int errlen) {
  if (!s->present)
    return 0;
  return lookup(jit, s->grads.name, &out->grads, err, errlen) ||
         lookup(jit, s->apply.name, &out->apply, err, errlen);
}

/* The JIT writes the hyperparameters after compiling (jit_compile), so the
 * table starts as zeros: modules that differ only in learning rates or
 * penalties are then the same bytes, and share one cache entry. (The table
 * is a writable global, so the optimiser never folds its contents.) */
static void zero_hyper_table(LLVMModuleRef mod) {
  LLVMValueRef table = LLVMGetNamedGlobal(mod, HYPER_TABLE);
  if (table)
    LLVMSetInitializer(table, LLVMConstNull(LLVMGlobalGetValueType(table)));
}

/* The module's machine code as an object: from the cache, else optimised
 * and emitted by `tm` (then stored). LLJIT gets an object either way, so a
 * cached run and a fresh one run the very same code. */
static LLVMMemoryBufferRef object_for(Jit *jit, LLVMModuleRef mod, LLVMTargetMachineRef tm,
                                      char *err, int errlen) {
  target_prepare_module(mod, tm);
  zero_hyper_table(mod);
  double t0 = now_ms();
  char dir[4096], key[JIT_CACHE_KEY];
  int cache = jit_cache_dir(dir, sizeof dir) == 0;
  LLVMMemoryBufferRef obj = NULL;
  if (cache) {
    jit_cache_key(mod, tm, TARGET_OPTIMISER, key);
    obj = jit_cache_load(key);
  }
  double t1 = now_ms();
  jit->times.cache_ms = t1 - t0;
  if (obj) {
    jit->times.cache = JIT_CACHE_HIT;
    return obj;
  }
  if (target_optimise_module(mod, tm, err, errlen) != 0)
    return NULL;
  double t2 = now_ms();
  jit->times.optimise_ms = t2 - t1;
  char *msg = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &obj)) {
    snprintf(err, errlen, "generating machine code: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return NULL;
  }
  double t3 = now_ms();
  jit->times.compile_ms = t3 - t2;
  if (cache) {
    int stored = jit_cache_store(key, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj)) == 0;
    jit->times.cache = stored ? JIT_CACHE_STORED : JIT_CACHE_FAILED;
    jit->times.cache_ms += now_ms() - t3;
  }
  return obj;
}

/* Builds the module, turns it into an object and hands that to LLJIT. */
static int add_programs(Jit *jit, const Module *m, char *err, int errlen) {
  double t0 = now_ms();
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("sparsec", ctx);
  const Program *programs[2 + SPEC_MAX_LAYERS];
  int n = module_programs(m, programs);
  for (int i = 0; i < n; i++)
    codegen_program(mod, m, programs[i], 0);
  const Program *split[MODULE_MAX_SPLIT_PROGRAMS]; /* data parallelism only */
  for (int i = 0, ns = module_split_programs(m, split); i < ns; i++)
    codegen_program(mod, m, split[i], 0);
  jit->times.codegen_ms = now_ms() - t0;
  LLVMTargetMachineRef tm = target_host_machine(err, errlen);
  LLVMMemoryBufferRef obj = tm ? object_for(jit, mod, tm, err, errlen) : NULL;
  if (tm)
    LLVMDisposeTargetMachine(tm);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  if (!obj)
    return -1;
  LLVMOrcJITDylibRef dylib = LLVMOrcLLJITGetMainJITDylib(jit->lljit);
  LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(jit->lljit, dylib, obj);
  return e ? report(e, "adding the object", err, errlen) : 0; /* the JIT owns obj */
}

Jit *jit_compile(const Module *m, char *err, int errlen) {
  Jit *jit = calloc(1, sizeof *jit);
  if (!jit) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  jit->refs = 1;
  if (create_lljit(jit, err, errlen) != 0 || add_programs(jit, m, err, errlen) != 0) {
    jit_free(jit);
    return NULL;
  }
  double t0 = now_ms(); /* the first lookup links the object */
  int rc = lookup(jit, m->train.name, &jit->train_step, err, errlen) != 0 ||
           lookup(jit, m->infer.name, &jit->infer, err, errlen) != 0;
  for (int i = 0; i < m->npretrain && rc == 0; i++)
    rc = lookup(jit, m->pretrain[i].program.name, &jit->pretrain[i], err, errlen) != 0;
  rc = rc || lookup_split(jit, &m->train_split, &jit->train_split, err, errlen) != 0;
  for (int i = 0; i < m->npretrain && rc == 0; i++)
    rc = lookup_split(jit, &m->pretrain[i].split, &jit->pretrain_split[i], err, errlen) != 0;
  jit->nhyper = module_hyper_values(m, NULL);
  if (rc == 0 && jit->nhyper > 0) {
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(jit->lljit, &addr, HYPER_TABLE);
    rc = e ? report(e, HYPER_TABLE, err, errlen) : 0;
    jit->hyper = (double *)(uintptr_t)addr;
    if (rc == 0)
      module_hyper_values(m, jit->hyper); /* the table starts as zeros: zero_hyper_table */
  }
  if (rc) {
    jit_free(jit);
    return NULL;
  }
  jit->times.compile_ms += now_ms() - t0;
  return jit;
}

void jit_set_hyper(Jit *jit, const Module *m) {
  if (jit->hyper && module_hyper_values(m, NULL) == jit->nhyper)
    module_hyper_values(m, jit->hyper);
}

SrKernel jit_train_step(const Jit *jit) { return jit->train_step; }
SrKernel jit_infer(const Jit *jit) { return jit->infer; }
const SrKernel *jit_pretrain(const Jit *jit) { return jit->pretrain; }
JitTimes jit_times(const Jit *jit) { return jit->times; }

void jit_use_split(const Jit *jit, SrModel *model) {
  model->train_split.grads = jit->train_split.grads;
  model->train_split.apply = jit->train_split.apply;
  for (int i = 0; i < model->npretrain && i < SPEC_MAX_LAYERS; i++) {
    model->pretrain[i].split.grads = jit->pretrain_split[i].grads;
    model->pretrain[i].split.apply = jit->pretrain_split[i].apply;
  }
}

Jit *jit_share(Jit *jit) {
  jit->refs++;
  return jit;
}

void jit_free(Jit *jit) {
  if (!jit || --jit->refs > 0)
    return;
  if (jit->lljit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(jit->lljit);
    if (e)
      LLVMConsumeError(e);
  }
  free(jit);
}
