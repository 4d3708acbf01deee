/* Ahead-of-time compilation: the prepared model's programs become LLVM
 * functions exactly as for the JIT (codegen, then default<O2> for the
 * target before anything else is added), then the descriptor (descriptor.c)
 * joins them and the target machine emits an object file or assembly, or
 * the module is printed as LLVM IR. Output goes to memory: the caller
 * writes it atomically or hands it to the linker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Analysis.h>

#include "backend.h"
#include "gen.h"

typedef struct Aot {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  AotKernels kernels;
} Aot;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static LLVMValueRef compile_program(Aot *a, const Module *m, const Program *p, int blas_free,
                                    char *err, int errlen) {
  const Op *op = blas_free ? codegen_needs_blas(p) : NULL;
  if (op) {
    snprintf(err, errlen, "program %s has a %s%s%s product, which only BLAS computes here: "
                          "build it with OpenBLAS (a BLAS-free object is a bundle: inference only)",
             p->name, op->trans_a ? "transposed " : "", op->trans_b ? "transposed " : "",
             op_name(op->kind));
    return NULL;
  }
  LLVMValueRef fn = codegen_program(a->mod, m, p, blas_free);
  if (!fn)
    snprintf(err, errlen, "out of memory generating %s", p->name);
  return fn;
}

/* The split steps of data parallelism (`mpirun -np N PROG train`). */
static LLVMValueRef *split_kernel_of(Aot *a, const Module *m, const Program *p) {
  if (p == &m->train_split.grads)
    return &a->kernels.train_grads;
  if (p == &m->train_split.apply)
    return &a->kernels.train_apply;
  for (int i = 0; i < m->npretrain && i < SR_MAX_PRETRAIN; i++) {
    if (p == &m->pretrain[i].split.grads)
      return &a->kernels.pretrain_grads[i];
    if (p == &m->pretrain[i].split.apply)
      return &a->kernels.pretrain_apply[i];
  }
  return NULL;
}

/* Where the kernel of program `p` goes in the descriptor. */
static LLVMValueRef *kernel_of(Aot *a, const Module *m, const Program *p) {
  if (p == &m->train)
    return &a->kernels.train;
  if (p == &m->infer)
    return &a->kernels.infer;
  for (int i = 0; i < m->npretrain && i < SR_MAX_PRETRAIN; i++)
    if (p == &m->pretrain[i].program)
      return &a->kernels.pretrain[i];
  return split_kernel_of(a, m, p);
}

/* In module_programs' order, as the JIT adds them (a bundle only infers).
 * The split steps of data parallelism are not compiled: a program trains
 * in one process. */
static int compile_programs(Aot *a, const PreparedModel *p, int bundle, int blas_free, char *err,
                            int errlen) {
  const Module *m = p->m;
  const Program *programs[2 + SPEC_MAX_LAYERS + MODULE_MAX_SPLIT_PROGRAMS];
  int n = bundle ? 1 : module_programs(m, programs);
  if (bundle)
    programs[0] = &m->infer;
  else
    n += module_split_programs(m, programs + n);
  for (int i = 0; i < n; i++) {
    LLVMValueRef *slot = kernel_of(a, m, programs[i]);
    if (!slot) {
      snprintf(err, errlen, "internal error: no place for program %s", programs[i]->name);
      return -1;
    }
    if (!(*slot = compile_program(a, m, programs[i], blas_free, err, errlen)))
      return -1;
  }
  return 0;
}

/* Kernels keep their JIT names while optimised (so the optimiser sees the
 * same module), then get the prefix and internal linkage, so that objects
 * of several models can be linked into one program. */
static void hide_kernel(LLVMValueRef fn, const char *prefix) {
  if (!fn)
    return;
  char name[300];
  snprintf(name, sizeof name, "%s.%s", prefix, LLVMGetValueName2(fn, &(size_t){0}));
  LLVMSetValueName2(fn, name, strlen(name));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
}

static void hide_kernels(Aot *a, const char *prefix) {
  hide_kernel(a->kernels.train, prefix);
  hide_kernel(a->kernels.infer, prefix);
  for (int i = 0; i < SR_MAX_PRETRAIN; i++)
    hide_kernel(a->kernels.pretrain[i], prefix);
  hide_kernel(a->kernels.train_grads, prefix);
  hide_kernel(a->kernels.train_apply, prefix);
  for (int i = 0; i < SR_MAX_PRETRAIN; i++) {
    hide_kernel(a->kernels.pretrain_grads[i], prefix);
    hide_kernel(a->kernels.pretrain_apply[i], prefix);
  }
  hide_kernel(LLVMGetNamedGlobal(a->mod, HYPER_TABLE), prefix); /* the learning rates, penalties */
}

void aot_config_target(SrProgramConfig *cfg, const TargetInfo *t) {
  cfg->target = t->triple;
  cfg->cpu = t->cpu;
  cfg->cpu_features = t->features;
  cfg->compiler = target_compiler();
}

/* What the code is for goes into the config: PROG --version, and the
 * CPU check at start. */
static int add_descriptor(Aot *a, const PreparedModel *p, const AotOptions *o, AotResult *out,
                          char *err, int errlen) {
  target_describe(a->tm, target_uses_host_cpu(&o->target), &out->target);
  SrProgramConfig cfg;
  memcpy(&cfg, o->config, sizeof cfg); /* padding too: the descriptor emits the bytes */
  aot_config_target(&cfg, &out->target);
  AotOptions with_target = *o;
  with_target.config = &cfg;
  int rc = descriptor_emit(a->mod, a->tm, p, &a->kernels, &with_target, err, errlen);
  char *msg = NULL;
  if (rc == 0 && LLVMVerifyModule(a->mod, LLVMReturnStatusAction, &msg)) {
    snprintf(err, errlen, "internal error: the descriptor's LLVM IR is invalid: %s", msg);
    rc = -1;
  }
  LLVMDisposeMessage(msg);
  return rc;
}

static int copy_out(const char *data, size_t size, AotResult *out, char *err, int errlen) {
  out->data = malloc(size + 1);
  if (!out->data) {
    snprintf(err, errlen, "out of memory for %zu bytes of output", size);
    return -1;
  }
  memcpy(out->data, data, size);
  out->data[size] = '\0';
  out->size = size;
  return 0;
}

/* Emitting code mutates a module (notes/llvm-c-api.md): emit a clone. */
static int emit(Aot *a, AotKind kind, AotResult *out, char *err, int errlen) {
  if (kind == AOT_LLVM) {
    char *text = LLVMPrintModuleToString(a->mod);
    int rc = copy_out(text, strlen(text), out, err, errlen);
    LLVMDisposeMessage(text);
    return rc;
  }
  LLVMModuleRef clone = LLVMCloneModule(a->mod);
  LLVMMemoryBufferRef buf = NULL;
  char *msg = NULL;
  LLVMCodeGenFileType type = kind == AOT_OBJECT ? LLVMObjectFile : LLVMAssemblyFile;
  int failed = LLVMTargetMachineEmitToMemoryBuffer(a->tm, clone, type, &msg, &buf);
  LLVMDisposeModule(clone);
  if (failed) {
    snprintf(err, errlen, "emitting code: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return -1;
  }
  int rc = copy_out(LLVMGetBufferStart(buf), LLVMGetBufferSize(buf), out, err, errlen);
  LLVMDisposeMemoryBuffer(buf);
  return rc;
}

static int run(Aot *a, const PreparedModel *p, const AotOptions *o, AotKind kind,
               AotResult *out, char *err, int errlen) {
  double t0 = now_ms();
  if (compile_programs(a, p, o->bundle, o->blas_free, err, errlen) != 0)
    return -1;
  double t1 = now_ms();
  target_prepare_module(a->mod, a->tm);
  if (target_optimise_module(a->mod, a->tm, err, errlen) != 0)
    return -1;
  double t2 = now_ms();
  hide_kernels(a, o->prefix);
  if (add_descriptor(a, p, o, out, err, errlen) != 0 || emit(a, kind, out, err, errlen) != 0)
    return -1;
  out->codegen_ms = t1 - t0;
  out->optimise_ms = t2 - t1;
  out->emit_ms = now_ms() - t2;
  return 0;
}

int aot_compile(const PreparedModel *p, const AotOptions *o, AotKind kind, AotResult *out,
                char *err, int errlen) {
  memset(out, 0, sizeof *out);
  Aot a = {0};
  if (!(a.tm = target_machine(&o->target, err, errlen)))
    return -1;
  a.ctx = LLVMContextCreate();
  a.mod = LLVMModuleCreateWithNameInContext(o->prefix, a.ctx);
  int rc = run(&a, p, o, kind, out, err, errlen);
  if (rc != 0) {
    free(out->data);
    memset(out, 0, sizeof *out);
  }
  LLVMDisposeModule(a.mod);
  LLVMContextDispose(a.ctx);
  LLVMDisposeTargetMachine(a.tm);
  return rc;
}
