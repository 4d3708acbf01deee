/* backend: IR programs -> LLVM IR (C API) -> native code.
 *
 *   target.c   LLVM initialisation and the host target machine
 *   kernels.c  one LLVM IR emitter per op: the loops, written out
 *   codegen.c  a program -> one LLVM function `void NAME(void **slots, i64 rows)`
 *   jit.c      optimise (new pass manager, default<O2>) and run on ORC LLJIT
 *   abi.c      the runtime's description of a module (SrModel: slots, roles)
 *   prepare.c  spec -> optimised module + description + memory plan (run and build)
 *   aot.c      ahead of time: an object file, assembly or LLVM IR (sparsec build)
 *   descriptor.c  the description and config as LLVM globals, the exported API
 *   outfile.c  files written atomically (temporary file, fsync, rename)
 *   link.c     the system C compiler links an object with the static runtime
 *   bundle_header.c  NAME.h of a bundle
 *   sparse_kernels.c the sparse products (sparse_products pass), with their dense variants
 *   dead_units.c  per-unit activity of a trained model, for static pruning (prune_dead.c)
 *   onnx.c     the inference function as an ONNX model (sparsec export --onnx)
 *
 * Generated functions follow runtime/sparsert.h's ABI: slot k holds value k
 * of the module; dense products call cblas_sgemm, everything else is IR. */
#ifndef SPARSEC_BACKEND_H
#define SPARSEC_BACKEND_H

#include <signal.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "ir.h"
#include "program.h"
#include "sparsert.h"

/* ---- target.c ------------------------------------------------------------ */

/* A target machine for the host CPU (triple, CPU name and features), or NULL
 * with a message. */
LLVMTargetMachineRef target_host_machine(char *err, int errlen);
void target_prepare_module(LLVMModuleRef mod, LLVMTargetMachineRef tm);

/* Any target LLVM knows, for ahead-of-time compilation. */
typedef struct TargetSpec {
  const char *triple;  /* NULL: the host's */
  const char *cpu;     /* NULL or "native": the host CPU and its features (host triple
                          only; "generic" for another triple); else this CPU alone, which
                          LLVM must know for the triple */
  int for_jit;         /* the JIT's code model; else the default (objects, PIC) */
} TargetSpec;
/* NULL + message for a CPU LLVM does not know for the triple. */
LLVMTargetMachineRef target_machine(const TargetSpec *t, char *err, int errlen);
/* Whether `t` means the host's CPU and its features: no --cpu, or native,
 * for the host's triple (none given, or the same). */
int target_uses_host_cpu(const TargetSpec *t);

/* What code compiled by a machine is for, as stated to the user (build
 * output, NAME.h, PROG --version) and checked by the runtime at start. */
typedef struct TargetInfo {
  char triple[160];
  char cpu[120];       /* LLVM's name, ", the host's" when it is: "znver3, the host's" */
  char features[512];  /* runtime/cpu.c's names the code may use: "x86-64-v3,aes,..."; "" */
} TargetInfo;
void target_describe(LLVMTargetMachineRef tm, int host_cpu, TargetInfo *out);
/* "sparsec 0.1.0 (LLVM 16.0.6)": this compiler, as objects record it. */
const char *target_compiler(void);

/* target_query.cpp: what the C API does not say. Whether `cpu` is a CPU
 * name the machine's target knows; whether it enables every feature of
 * "+f1,+f2" (each a feature of the target). */
int target_knows_cpu(LLVMTargetMachineRef tm, const char *cpu);
int target_has_features(LLVMTargetMachineRef tm, const char *plus_features);

/* Verifies the module, then runs TARGET_PIPELINE tuned for `tm`, without
 * LLVM's generic loop unroller: the sparse kernels unroll their own loops
 * (blocks of 4 and 16 vectors), and unrolling the step's element-wise loops
 * cost a quarter of the compile time for no measurable speed
 * (docs/compile.md). TARGET_OPTIMISER names all of it, for the cache key. */
#define TARGET_PIPELINE "default<O2>"
#define TARGET_OPTIMISER TARGET_PIPELINE ", no loop unrolling"
int target_optimise_module(LLVMModuleRef mod, LLVMTargetMachineRef tm, char *err, int errlen);

/* ---- jit_cache.c ---------------------------------------------------------- */

/* The JIT's on-disk object cache. The folder is
 * $XDG_CACHE_HOME/sparsec, else ~/.cache/sparsec; -1 when SPARSEC_CACHE=off
 * or neither is set. The key (hex) hashes the unoptimised module, the
 * target, the pipeline, LLVM's version and this executable's build ID. A
 * load is NULL on a miss or a damaged entry; a store is atomic, -1 on any
 * failure (the caller then just goes on without the cache), and keeps the
 * folder under SPARSEC_CACHE_MAX megabytes by removing the least recently
 * used entries. */
#define JIT_CACHE_KEY 33
#define JIT_CACHE_MAX_MB 256
int jit_cache_dir(char *out, size_t n);
void jit_cache_key(LLVMModuleRef mod, LLVMTargetMachineRef tm, const char *pipeline,
                   char key[JIT_CACHE_KEY]);
LLVMMemoryBufferRef jit_cache_load(const char *key);
int jit_cache_store(const char *key, const void *obj, size_t n);

/* ---- codegen.c ----------------------------------------------------------- */

/* Adds `void <p->name>(void **slots, i64 rows)` to `mod`. With blas_free,
 * dense products are generated loops instead of calls of cblas_sgemm: the
 * object then needs no BLAS (docs/aot.md, "BLAS-free bundles"); every
 * product of p must be one codegen_loops_cover accepts. */
LLVMValueRef codegen_program(LLVMModuleRef mod, const Module *m, const Program *p, int blas_free);
/* Whether generated loops compute `op` without BLAS: every op but the
 * products with a transposed operand or a fused update (training's). */
int codegen_loops_cover(const Op *op);
/* The first op of p that codegen_loops_cover refuses, or NULL. */
const Op *codegen_needs_blas(const Program *p);
/* Whether activations.c has code for `act` (all but the head's softmax). */
int backend_has_activation(Activation act);

/* ---- jit.c --------------------------------------------------------------- */

typedef struct Jit Jit;

typedef enum JitCacheUse {
  JIT_CACHE_OFF,    /* SPARSEC_CACHE=off, or no cache folder */
  JIT_CACHE_HIT,    /* the object came from the cache: LLVM did not optimise or compile */
  JIT_CACHE_STORED, /* compiled, and the object stored */
  JIT_CACHE_FAILED, /* compiled; the object could not be stored (read-only, full disk) */
} JitCacheUse;

typedef struct JitTimes {
  double codegen_ms;  /* IR -> LLVM IR */
  double optimise_ms; /* default<O2> */
  double compile_ms;  /* machine code (an object), and linking it on the first lookup */
  double cache_ms;    /* hashing the module, reading or writing the cache entry */
  JitCacheUse cache;  /* what the on-disk object cache did (jit_cache.c) */
} JitTimes;

/* Compiles the module's train and infer programs; NULL + message on failure. */
Jit *jit_compile(const Module *m, char *err, int errlen);
SrKernel jit_train_step(const Jit *jit);
SrKernel jit_infer(const Jit *jit);
const SrKernel *jit_pretrain(const Jit *jit); /* one per m->pretrain stage */
/* The split steps' kernels (train_split, pretrain[i].split), when the
 * module has them (PassOptions.data_parallel). */
void jit_use_split(const Jit *jit, SrModel *model);
JitTimes jit_times(const Jit *jit);
/* Another owner of the same compiled code (a model whose module is the same
 * code: ir/compare.c); each owner calls jit_free, the last one frees. */
Jit *jit_share(Jit *jit);
/* Writes m's learning rates and penalties into the code's hyperparameter
 * table (ir/hyper.c): m must be the same code as the module compiled
 * (module_same_code); the kernels then run with m's values. */
void jit_set_hyper(Jit *jit, const Module *m);
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
/* Data parallelism: the gradients of each split step (module optimised
 * with PassOptions.data_parallel; none otherwise) and each pretraining
 * stage's noise counter. Kernels are set by jit_use_split. */
void abi_describe_split(const Module *m, SrModel *out);

/* ---- prepare.c ----------------------------------------------------------- */

/* Evaluation runs in batches of this many rows; batch-sized buffers (and
 * the memory plan) are for max(train batch, this) rows. */
#define PREPARE_EVAL_ROWS 500

/* A spec compiled down to what the runtime needs, but the kernels. */
typedef struct PreparedModel {
  Module *m;
  SrSlot *slots;       /* m->nvalues entries; model.slots points here */
  SrModel model;       /* kernels unset: train_step, infer, pretrain[].step */
  int max_rows;        /* prepare_max_rows(spec) */
} PreparedModel;

int prepare_max_rows(const Spec *spec);
/* module_build at learning rate `lr`, optimise_module, abi_describe(_pretrain)
 * and, with the passes on, plan_memory + abi_use_plan for max_rows rows. */
int prepare_model(const Spec *spec, double lr, const PassOptions *passes, PreparedModel *out,
                  char *err, int errlen);
/* The same from a module already built (a pruned one: ir/passes/prune_dead.c),
 * which `out` owns from now on, on success or not. */
int prepare_built(Module *m, int max_rows, const PassOptions *passes, PreparedModel *out,
                  char *err, int errlen);
void prepared_model_free(PreparedModel *p);

/* ---- aot.c --------------------------------------------------------------- */

typedef enum AotKind { AOT_OBJECT, AOT_ASSEMBLY, AOT_LLVM } AotKind;

typedef struct AotOptions {
  TargetSpec target;
  const char *prefix;            /* of every exported symbol: PREFIX_model, PREFIX_config */
  int bundle;                    /* inference only, plus PREFIX_create/_infer/_free */
  int blas_free;                 /* dense products as loops: no cblas_* reference */
  const SrProgramConfig *config; /* abi, sizes, target and cpu are filled in */
  const SrState *weights;        /* PARAM and CONST slots to embed, or NULL */
} AotOptions;

typedef struct AotResult {
  char *data;                    /* the object, assembly or IR text; free() it */
  size_t size;
  TargetInfo target;             /* what it was compiled for */
  double codegen_ms, optimise_ms, emit_ms;
} AotResult;

/* Compiles the prepared model's programs (module_programs; infer only for
 * a bundle) exactly as the JIT does, adds the descriptor and emits `kind`. */
int aot_compile(const PreparedModel *p, const AotOptions *o, AotKind kind, AotResult *out,
                char *err, int errlen);
/* Fills cfg's target, cpu, cpu_features and compiler from `t` (pointing
 * into it): what the object's config says, and NAME.h. */
void aot_config_target(SrProgramConfig *cfg, const TargetInfo *t);

/* ---- descriptor.c -------------------------------------------------------- */

/* The kernels of one object: NULL where not compiled (a bundle's). */
typedef struct AotKernels {
  LLVMValueRef train, infer;
  LLVMValueRef pretrain[SR_MAX_PRETRAIN];
  /* data parallelism: the split steps (module_split_programs), or NULL */
  LLVMValueRef train_grads, train_apply;
  LLVMValueRef pretrain_grads[SR_MAX_PRETRAIN], pretrain_apply[SR_MAX_PRETRAIN];
} AotKernels;

/* Adds to `mod` the SrModel (slot table, roles, pretraining stages) and
 * SrProgramConfig as constant globals, PREFIX_model() and PREFIX_config(),
 * the embedded weights, and for a bundle PREFIX_create/_infer/_free. */
int descriptor_emit(LLVMModuleRef mod, LLVMTargetMachineRef tm, const PreparedModel *p,
                    const AotKernels *k, const AotOptions *o, char *err, int errlen);

/* ---- outfile.c ----------------------------------------------------------- */

/* Creates an empty temporary file next to `path` ("PATH.tmp.XXXXXX");
 * returns its malloc'd name, or NULL with a message naming the folder. */
char *outfile_temp(const char *path, char *err, int errlen);
/* fsyncs `temp`, gives it the usual permissions (0666, or 0777 if
 * executable, minus the umask) and renames it over `path`; on failure
 * `temp` is removed and `path` is left as it was. */
int outfile_commit(const char *temp, const char *path, int executable, char *err, int errlen);
/* Both, for bytes in memory: `path` holds all of them or is untouched. */
int write_file_atomic(const char *path, const void *data, size_t size, int executable, char *err,
                      int errlen);
/* Removes a temporary file (or, with is_dir, an empty temporary folder)
 * that outfile_temp made or outfile_pending registered. */
void outfile_discard(const char *path, int is_dir);
/* Registers a temporary file or folder made elsewhere, so that an
 * interrupt removes it too. */
void outfile_pending(const char *path, int is_dir);
/* SIGINT and SIGTERM remove every temporary file and folder still
 * registered, then end the process (130, 143): an interrupted `sparsec
 * build` leaves its old outputs as they were and nothing else. */
void outfile_catch_signals(void);
/* SIGINT and SIGTERM held (then released) around making a file and naming
 * it pending, so that no signal falls between the two. */
void outfile_hold_signals(sigset_t *old);
void outfile_release_signals(const sigset_t *old);
/* The child process (the linker) writing a registered file, or 0. */
void outfile_child(int pid);

/* ---- link.c -------------------------------------------------------------- */

/* Links `object` (in memory, compiled for `triple`) with the static
 * runtime (libsparsert_main.a and libsparsert_serial.a, or with `mpi`
 * libsparsert.a, from $SPARSEC_RUNTIME_DIR, PREFIX/lib of an installed
 * sparsec, or the build tree) and OpenBLAS, zlib, libm (and MPI) by $CC
 * (default cc) into the executable `output`, atomically. The linker's
 * messages go to stderr as it prints them. For another architecture than
 * the host's, only with $SPARSEC_RUNTIME_DIR (a runtime built for it). */
int link_program(const void *object, size_t size, const char *triple, const char *output,
                 int mpi, double *ms, char *err, int errlen);
/* Whether `triple` names another architecture than the host's. */
int link_is_cross(const char *triple);
/* The folder holding the runtime archives; the archive a program links
 * (libsparsert_serial.a, or libsparsert.a for MPI) and the libraries after it
 * for a program without MPI; whether this build can link MPI programs. */
const char *link_runtime_dir(void);
const char *link_runtime_archive(int mpi);
const char *link_flags(void);
/* What a BLAS-free bundle links besides the object and the runtime archive:
 * libm alone (its part of the runtime calls neither OpenBLAS nor zlib). */
const char *link_blas_free_flags(void);
int link_has_mpi(void);

/* ---- dead_units.c -------------------------------------------------------- */

/* active[k][u] = examples of ds on which unit u of hidden layer k is nonzero,
 * for the trained state of the model compiled from m (its infer kernel). */
int dead_unit_activity(const Module *m, const SrModel *model, const SrState *trained,
                       const SrDataset *ds, int32_t *const *active, SrError *err);

/* ---- bundle_header.c ----------------------------------------------------- */

/* Writes NAME.h: the documented C API of a bundle named `name` (and how
 * to link it: without BLAS if blas_free). */
int bundle_header_write(const char *path, const char *name, const SrProgramConfig *cfg,
                        int embedded, int blas_free, char *err, int errlen);

/* ---- onnx.c -------------------------------------------------------------- */

/* Writes the spec's inference function to `path` (atomically) as an ONNX
 * model, opset 13: input "x" [N x input] of raw values (the data's scale is
 * in the graph), output "probs" [N x classes], what predict prints. The
 * parameters and sign-trick constants are the PARAM and CONST tensors of
 * `weights`, found by name, shapes checked. 0, or -1 with a message: a
 * missing or mismatched tensor, an activation ONNX cannot express, or a
 * sparsec built without ONNX support (which names what was missing). */
int onnx_export(const Spec *spec, const SrState *weights, const char *path, char *err,
                int errlen);
/* NULL if this sparsec was built with ONNX export, else why not: what
 * CMake did not find (the message onnx_export gives). */
const char *onnx_unavailable(void);

#endif
