/* Private to the backend: the state of emitting one program as one LLVM
 * function, and the small vocabulary kernels.c is written in. */
#ifndef SPARSEC_GEN_H
#define SPARSEC_GEN_H

#include "backend.h"

typedef struct Gen {
  const Module *m;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef f32, f64, i32, i64, ptr, void_t;
  LLVMValueRef fn;
  LLVMValueRef rows;      /* i64 argument: rows in this batch */
  LLVMValueRef *slot;     /* value id -> its buffer pointer, loaded at entry */
  LLVMBasicBlockRef entry;
  const Program *program; /* being emitted, and its op being emitted: the ops a */
  const Op *op;           /* kernel makes up (a dense fallback) stand for it */
  int blas_free;          /* dense products as generated loops, not cblas_sgemm */
} Gen;

/* A counted loop `for (i = 0; i < n; i++)`; the builder sits in its body
 * between loop_begin and loop_end, and after the loop once it is closed. */
typedef struct Loop {
  LLVMValueRef i;
  LLVMBasicBlockRef head, exit;
} Loop;

Loop loop_begin(Gen *g, LLVMValueRef n, const char *name);
void loop_end(Gen *g, Loop *loop);

LLVMValueRef const_i64(Gen *g, long long v);
LLVMValueRef const_f32(Gen *g, double v);
LLVMValueRef rows_of(Gen *g, int value);   /* i64 */
LLVMValueRef cols_of(Gen *g, int value);   /* i64 */
LLVMValueRef count_of(Gen *g, int value);  /* rows * cols, i64 */
LLVMValueRef load_f32(Gen *g, int value, LLVMValueRef index);
void store_f32(Gen *g, int value, LLVMValueRef index, LLVMValueRef x);
LLVMValueRef entry_alloca(Gen *g, LLVMTypeRef type, LLVMValueRef init, const char *name);
LLVMValueRef call_unary(Gen *g, const char *name, LLVMTypeRef type, LLVMValueRef x);
/* Coefficient `field` (HYPER_COEF, HYPER_COEF2) of g->op, loaded from the
 * hyperparameter table (ir/hyper.c) once, at the function's entry. */
LLVMValueRef hyper_f64(Gen *g, int field);
LLVMValueRef hyper_f32(Gen *g, int field);
#define HYPER_TABLE "sparsec_hyper"

/* activations.c: y = act(x) and dx = dy act'(v) (v: y, or x for
 * ACT_GRAD_FROM_X), with the parameter a (NULL if it takes none) */
LLVMValueRef emit_activation(Gen *g, Activation act, LLVMValueRef x, LLVMValueRef a);
LLVMValueRef emit_activation_backward(Gen *g, Activation act, LLVMValueRef dy, LLVMValueRef v,
                                      LLVMValueRef a);

/* kernels.c */
void emit_op(Gen *g, const Op *op);

/* sparse_kernels.c: the sparse products, each with its dense variant */
void emit_active_units(Gen *g, const Op *op);
void emit_sparse_matmul(Gen *g, const Op *op);
void emit_sparse_backward(Gen *g, const Op *op);
/* z = a w (neither transposed) by generated loops, for g->blas_free: the
 * forward product's own loops (forward_block) over every k. */
void emit_dense_matmul(Gen *g, int a, int w, int z);

#endif
