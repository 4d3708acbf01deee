/* The JIT: the module's programs as one LLVM module, optimised with the new
 * pass manager for the host CPU (LLJIT does not optimise by itself), then
 * compiled by ORC LLJIT. Generated code calls cblas_sgemm and libm; those
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

/* Builds, optimises and hands over the module; the context goes with it. */
static int add_programs(Jit *jit, const Module *m, char *err, int errlen) {
  double t0 = now_ms();
  LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
  LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsctx);
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("sparsec", ctx);
  const Program *programs[2 + SPEC_MAX_LAYERS];
  int n = module_programs(m, programs);
  for (int i = 0; i < n; i++)
    codegen_program(mod, m, programs[i]);
  const Program *split[MODULE_MAX_SPLIT_PROGRAMS]; /* data parallelism only */
  for (int i = 0, ns = module_split_programs(m, split); i < ns; i++)
    codegen_program(mod, m, split[i]);
  double t1 = now_ms();
  LLVMTargetMachineRef tm = target_host_machine(err, errlen);
  int rc = tm ? 0 : -1;
  if (rc == 0) {
    target_prepare_module(mod, tm);
    rc = target_optimise_module(mod, tm, err, errlen);
    LLVMDisposeTargetMachine(tm);
  }
  jit->times.codegen_ms = t1 - t0;
  jit->times.optimise_ms = now_ms() - t1;
  if (rc != 0) {
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsctx);
    return -1;
  }
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsctx);
  LLVMOrcDisposeThreadSafeContext(tsctx); /* the module keeps it alive */
  LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(jit->lljit, LLVMOrcLLJITGetMainJITDylib(jit->lljit), tsm);
  if (e) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    return report(e, "adding the module", err, errlen);
  }
  return 0;
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
  double t0 = now_ms(); /* the first lookup compiles the whole module */
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
  }
  if (rc) {
    jit_free(jit);
    return NULL;
  }
  jit->times.compile_ms = now_ms() - t0;
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
