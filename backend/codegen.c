/* A program becomes one LLVM function:
 *
 *   void NAME(void **slots, i64 rows)
 *
 * The entry block loads each slot pointer the program touches; every op's
 * kernel (kernels.c) follows inline, in program order, so the optimiser sees
 * the whole step at once. This file also holds the small helpers the kernels
 * are written with. */
#include <stdlib.h>

#include "gen.h"

LLVMValueRef const_i64(Gen *g, long long v) {
  return LLVMConstInt(g->i64, (unsigned long long)v, 1);
}

LLVMValueRef const_f32(Gen *g, double v) {
  return LLVMConstReal(g->f32, v);
}

LLVMValueRef rows_of(Gen *g, int value) {
  int rows = g->m->values[value].rows;
  return rows == ROWS_BATCH ? g->rows : const_i64(g, rows);
}

LLVMValueRef cols_of(Gen *g, int value) {
  return const_i64(g, g->m->values[value].cols);
}

LLVMValueRef count_of(Gen *g, int value) {
  return LLVMBuildNUWMul(g->b, rows_of(g, value), cols_of(g, value), "count");
}

static LLVMValueRef element(Gen *g, int value, LLVMValueRef index) {
  return LLVMBuildInBoundsGEP2(g->b, g->f32, g->slot[value], &index, 1, "");
}

LLVMValueRef load_f32(Gen *g, int value, LLVMValueRef index) {
  return LLVMBuildLoad2(g->b, g->f32, element(g, value, index), "");
}

void store_f32(Gen *g, int value, LLVMValueRef index, LLVMValueRef x) {
  LLVMBuildStore(g->b, x, element(g, value, index));
}

/* Allocas in the entry block become SSA registers under mem2reg/SROA: the
 * simplest correct way to write reductions. */
/* Puts the builder at the top of the function's entry block (for what must
 * dominate every use: allocas, loop-invariant loads); returns where it was. */
static LLVMBasicBlockRef position_at_entry(Gen *g) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(g->b);
  LLVMValueRef first = LLVMGetFirstInstruction(g->entry);
  if (first)
    LLVMPositionBuilderBefore(g->b, first);
  else
    LLVMPositionBuilderAtEnd(g->b, g->entry);
  return here;
}

LLVMValueRef entry_alloca(Gen *g, LLVMTypeRef type, LLVMValueRef init, const char *name) {
  LLVMBasicBlockRef here = position_at_entry(g);
  LLVMValueRef slot = LLVMBuildAlloca(g->b, type, name);
  LLVMPositionBuilderAtEnd(g->b, here);
  LLVMBuildStore(g->b, init, slot);
  return slot;
}

/* The table, with the module's values as its initial contents (a JIT whose
 * code is shared rewrites them: jit_set_hyper); made with the module's
 * first program. 0, or -1 out of memory. */
static int add_hyper_table(Gen *g) {
  int n = module_hyper_values(g->m, NULL);
  if (n == 0 || LLVMGetNamedGlobal(g->mod, HYPER_TABLE))
    return 0;
  double *values = malloc(sizeof *values * (size_t)n);
  LLVMValueRef *consts = malloc(sizeof *consts * (size_t)n);
  if (values && consts) {
    module_hyper_values(g->m, values);
    for (int i = 0; i < n; i++)
      consts[i] = LLVMConstReal(g->f64, values[i]);
    LLVMValueRef table = LLVMAddGlobal(g->mod, LLVMArrayType(g->f64, (unsigned)n), HYPER_TABLE);
    LLVMSetInitializer(table, LLVMConstArray(g->f64, consts, (unsigned)n));
  }
  int rc = values && consts ? 0 : -1;
  free(values);
  free(consts);
  return rc;
}

LLVMValueRef hyper_f64(Gen *g, int field) {
  int index = module_hyper_index(g->m, g->program, g->op, field);
  LLVMValueRef table = LLVMGetNamedGlobal(g->mod, HYPER_TABLE);
  if (index < 0 || !table) /* not a table entry: cannot happen for the kinds hyper.c lists */
    return LLVMConstReal(g->f64, field == HYPER_COEF ? g->op->coef : g->op->coef2);
  LLVMBasicBlockRef here = position_at_entry(g);
  LLVMValueRef at[2] = {const_i64(g, 0), const_i64(g, index)};
  LLVMValueRef v = LLVMBuildLoad2(
      g->b, g->f64, LLVMBuildInBoundsGEP2(g->b, LLVMGlobalGetValueType(table), table, at, 2, ""),
      field == HYPER_COEF ? "coef" : "coef2");
  LLVMPositionBuilderAtEnd(g->b, here);
  return v;
}

LLVMValueRef hyper_f32(Gen *g, int field) {
  return LLVMBuildFPTrunc(g->b, hyper_f64(g, field), g->f32, "");
}

LLVMValueRef call_unary(Gen *g, const char *name, LLVMTypeRef type, LLVMValueRef x) {
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, name);
  LLVMTypeRef fn_type = LLVMFunctionType(type, &type, 1, 0);
  if (!fn)
    fn = LLVMAddFunction(g->mod, name, fn_type);
  return LLVMBuildCall2(g->b, fn_type, fn, &x, 1, "");
}

Loop loop_begin(Gen *g, LLVMValueRef n, const char *name) {
  Loop loop;
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->b);
  loop.head = LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "body");
  loop.exit = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "done");
  LLVMBuildBr(g->b, loop.head);
  LLVMPositionBuilderAtEnd(g->b, loop.head);
  loop.i = LLVMBuildPhi(g->b, g->i64, "i");
  LLVMValueRef zero = const_i64(g, 0);
  LLVMAddIncoming(loop.i, &zero, &pre, 1);
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, loop.i, n, ""), body, loop.exit);
  LLVMPositionBuilderAtEnd(g->b, body);
  return loop;
}

void loop_end(Gen *g, Loop *loop) {
  LLVMValueRef next = LLVMBuildNSWAdd(g->b, loop->i, const_i64(g, 1), "next");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(g->b);
  LLVMBuildBr(g->b, loop->head);
  LLVMAddIncoming(loop->i, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(g->b, loop->exit);
}

static void load_slots(Gen *g, LLVMValueRef slots, const Program *p) {
  for (int i = 0; i < p->nops; i++) {
    const Op *op = &p->ops[i];
    int vals[OP_MAX_IN + OP_MAX_OUT], n = 0;
    for (int k = 0; k < op->nin; k++)
      vals[n++] = op->in[k];
    for (int k = 0; k < op->nout; k++)
      if (op->out[k] >= 0)
        vals[n++] = op->out[k];
    for (int k = 0; k < n; k++) {
      int v = vals[k];
      if (g->slot[v])
        continue;
      LLVMValueRef index = const_i64(g, v);
      LLVMValueRef at = LLVMBuildInBoundsGEP2(g->b, g->ptr, slots, &index, 1, "");
      g->slot[v] = LLVMBuildLoad2(g->b, g->ptr, at, g->m->values[v].name);
    }
  }
}

/* The loops are those of the forward product (sparse_kernels.c), which
 * runs over rows of w: out = a w. Training's products (a^T dz, dz w^T, the
 * fused update) would need loops of other shapes; no inference needs them. */
int codegen_loops_cover(const Op *op) {
  switch (op->kind) {
  case OP_MATMUL: return !op->trans_a && !op->trans_b;
  case OP_MATMUL_SGD:
  case OP_SPARSE_BACKWARD_SGD: return 0;
  default: return 1; /* sparse_matmul's dense variant is a plain matmul */
  }
}

const Op *codegen_needs_blas(const Program *p) {
  for (int i = 0; i < p->nops; i++)
    if (!codegen_loops_cover(&p->ops[i]))
      return &p->ops[i];
  return NULL;
}

LLVMValueRef codegen_program(LLVMModuleRef mod, const Module *m, const Program *p, int blas_free) {
  Gen g = {.m = m, .mod = mod, .ctx = LLVMGetModuleContext(mod), .blas_free = blas_free};
  g.f32 = LLVMFloatTypeInContext(g.ctx);
  g.f64 = LLVMDoubleTypeInContext(g.ctx);
  g.i32 = LLVMInt32TypeInContext(g.ctx);
  g.i64 = LLVMInt64TypeInContext(g.ctx);
  g.ptr = LLVMPointerType(g.f32, 0); /* typed on LLVM 14, opaque on 16 */
  g.void_t = LLVMVoidTypeInContext(g.ctx);
  g.slot = calloc(m->nvalues, sizeof *g.slot);
  if (!g.slot)
    return NULL;

  LLVMTypeRef params[2] = {LLVMPointerType(g.ptr, 0), g.i64};
  g.fn = LLVMAddFunction(mod, p->name, LLVMFunctionType(g.void_t, params, 2, 0));
  LLVMSetValueName2(LLVMGetParam(g.fn, 0), "slots", 5);
  g.rows = LLVMGetParam(g.fn, 1);
  LLVMSetValueName2(g.rows, "rows", 4);
  g.b = LLVMCreateBuilderInContext(g.ctx);
  g.entry = LLVMAppendBasicBlockInContext(g.ctx, g.fn, "entry");
  LLVMPositionBuilderAtEnd(g.b, g.entry);

  load_slots(&g, LLVMGetParam(g.fn, 0), p);
  if (add_hyper_table(&g) != 0) {
    LLVMDisposeBuilder(g.b);
    free(g.slot);
    return NULL; /* out of memory */
  }
  g.program = p;
  for (int i = 0; i < p->nops; i++) {
    g.op = &p->ops[i];
    emit_op(&g, &p->ops[i]);
  }
  LLVMBuildRetVoid(g.b);

  LLVMDisposeBuilder(g.b);
  free(g.slot);
  return g.fn;
}
