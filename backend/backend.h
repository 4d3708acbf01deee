/* backend: IR programs -> LLVM IR (C API) -> native code.
 *
 *   target.c   LLVM initialisation and the host target machine
 *   kernels.c  one LLVM IR emitter per op: the loops, written out
 *   codegen.c  a program -> one LLVM function `void NAME(void **slots, i64 rows)`
 *   jit.c      optimise (new pass manager, default<O2>) and run on ORC LLJIT
 *   abi.c      the runtime's description of a module (SrModel: slots, roles)
 *
 * Generated functions follow runtime/sparsert.h's ABI: slot k holds value k
 * of the module; dense products call cblas_sgemm, everything else is IR. */
#ifndef SPARSEC_BACKEND_H
#define SPARSEC_BACKEND_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "ir.h"
#include "sparsert.h"

/* ---- target.c ------------------------------------------------------------ */

/* A target machine for the host CPU (triple, CPU name and features), or NULL
 * with a message. */
LLVMTargetMachineRef target_host_machine(char *err, int errlen);
void target_prepare_module(LLVMModuleRef mod, LLVMTargetMachineRef tm);

/* ---- codegen.c ----------------------------------------------------------- */

/* Adds `void <p->name>(void **slots, i64 rows)` to `mod`. */
LLVMValueRef codegen_program(LLVMModuleRef mod, const Module *m, const Program *p);

/* ---- jit.c --------------------------------------------------------------- */

typedef struct Jit Jit;

typedef struct JitTimes {
  double codegen_ms;  /* IR -> LLVM IR */
  double optimise_ms; /* default<O2> */
  double compile_ms;  /* machine code, on the first lookup */
} JitTimes;

/* Compiles the module's train and infer programs; NULL + message on failure. */
Jit *jit_compile(const Module *m, char *err, int errlen);
SrKernel jit_train_step(const Jit *jit);
SrKernel jit_infer(const Jit *jit);
const SrKernel *jit_pretrain(const Jit *jit); /* one per m->pretrain stage */
JitTimes jit_times(const Jit *jit);
void jit_free(Jit *jit);

/* ---- abi.c --------------------------------------------------------------- */

/* The runtime's view of a compiled module: one SrSlot per value, the roles of
 * x, y, loss, probs and the zero counts. `slots` must hold m->nvalues
 * entries; it is referenced by *out and must outlive it. */
void abi_describe(const Module *m, SrSlot *slots, SrKernel train_step, SrKernel infer,
                  SrModel *out);
/* Adds the pretraining stages, with their step kernels (one per
 * m->pretrain entry; NULL when describing without code). */
void abi_describe_pretrain(const Module *m, const SrKernel *steps, SrModel *out);
/* Places the planned temporaries in the model's arena (ir plan_memory for
 * batches of at most `rows` rows). */
void abi_use_plan(const MemoryPlan *plan, int rows, SrSlot *slots, SrModel *out);

#endif
