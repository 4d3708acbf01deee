/* The sparse products (ir/passes/sparse_products.c) as LLVM IR: the same
 * maths as ir/interp.c, which they are tested against.
 *
 * Each product op emits both of its variants and a branch between them:
 *
 *   if nonzeros(a) <= max_density(rows) * rows * K:  sr_parallel(PART, args, rows, work)
 *   else:                                     the dense product (cblas_sgemm, or
 *                                             in a BLAS-free object the part's
 *                                             loops over every k: emit_dense_matmul)
 *
 * PART is one of three functions the module holds once (forward, backward
 * with the input gradient, update alone), `void PART(void *args, i64 rows,
 * i64 part, i64 nparts)`, that does part `part` of the work of the product
 * whose pointers and widths the step put in `args`; the runtime's pool
 * (runtime/parallel.c) runs the parts on its threads. Parts never write the
 * same memory and compute each element identically whatever nparts is, so
 * results are bit-identical with any number of threads.
 *
 * The inner loops over a row of weights are written with explicit
 * <16 x float> vectors and llvm.fmuladd (one zmm FMA on AVX-512, two ymm
 * on AVX2: LLVM legalises the type), because the dot product is a
 * reduction that the loop vectoriser may not reorder without fast-math
 * flags, which LLVM 16's C API cannot set. */
#include <stdio.h>
#include <stdlib.h>

#include "gen.h"

#define VEC 16 /* floats per vector */

/* ---- vocabulary: vectors, conditionals, loops from an offset ---------------- */

static LLVMTypeRef vec_type(Gen *g) {
  return LLVMVectorType(g->f32, VEC);
}

static LLVMValueRef float_ptr(Gen *g, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildInBoundsGEP2(g->b, g->f32, base, &index, 1, "");
}

/* <16 x float> at base[index..index+15]; rows of 1000 floats are only
 * 16-byte aligned, so loads and stores say align 4 */
static LLVMValueRef vload(Gen *g, LLVMValueRef base, LLVMValueRef index) {
  LLVMValueRef p = LLVMBuildPointerCast(g->b, float_ptr(g, base, index),
                                        LLVMPointerType(vec_type(g), 0), "");
  LLVMValueRef v = LLVMBuildLoad2(g->b, vec_type(g), p, "");
  LLVMSetAlignment(v, 4);
  return v;
}

static void vstore(Gen *g, LLVMValueRef base, LLVMValueRef index, LLVMValueRef v) {
  LLVMValueRef p = LLVMBuildPointerCast(g->b, float_ptr(g, base, index),
                                        LLVMPointerType(vec_type(g), 0), "");
  LLVMSetAlignment(LLVMBuildStore(g->b, v, p), 4);
}

static LLVMValueRef index_at(Gen *g, LLVMValueRef base, LLVMValueRef i) {
  return LLVMBuildLoad2(g->b, g->i64, LLVMBuildInBoundsGEP2(g->b, g->i64, base, &i, 1, ""), "");
}

static LLVMValueRef sload(Gen *g, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildLoad2(g->b, g->f32, float_ptr(g, base, index), "");
}

static void sstore(Gen *g, LLVMValueRef base, LLVMValueRef index, LLVMValueRef x) {
  LLVMBuildStore(g->b, x, float_ptr(g, base, index));
}

static LLVMValueRef splat(Gen *g, LLVMValueRef x) {
  LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetUndef(vec_type(g)), x,
                                          LLVMConstInt(g->i32, 0, 0), "");
  return LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(vec_type(g)),
                                LLVMConstNull(LLVMVectorType(g->i32, VEC)), "splat");
}

/* a * b + c, fused where the target has FMA (vector or scalar) */
static LLVMValueRef fmuladd(Gen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMTypeRef t = LLVMTypeOf(a);
  const char *name = t == g->f32 ? "llvm.fmuladd.f32" : "llvm.fmuladd.v16f32";
  LLVMTypeRef args[3] = {t, t, t};
  LLVMTypeRef type = LLVMFunctionType(t, args, 3, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, name);
  if (!fn)
    fn = LLVMAddFunction(g->mod, name, type);
  LLVMValueRef vals[3] = {a, b, c};
  return LLVMBuildCall2(g->b, type, fn, vals, 3, "");
}

/* The sum of the 16 lanes, by halves (a tree: 4 dependent adds, not 15). */
static LLVMValueRef horizontal_sum(Gen *g, LLVMValueRef v) {
  for (int width = VEC; width > 1; width /= 2) {
    LLVMValueRef lo[VEC / 2], hi[VEC / 2];
    for (int k = 0; k < width / 2; k++) {
      lo[k] = LLVMConstInt(g->i32, (unsigned)k, 0);
      hi[k] = LLVMConstInt(g->i32, (unsigned)(k + width / 2), 0);
    }
    LLVMValueRef a = LLVMBuildShuffleVector(g->b, v, v, LLVMConstVector(lo, (unsigned)width / 2), "");
    LLVMValueRef b = LLVMBuildShuffleVector(g->b, v, v, LLVMConstVector(hi, (unsigned)width / 2), "");
    v = LLVMBuildFAdd(g->b, a, b, "");
  }
  return LLVMBuildExtractElement(g->b, v, LLVMConstInt(g->i32, 0, 0), "sum");
}

static LLVMValueRef mul(Gen *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildNSWMul(g->b, a, b, "");
}

static LLVMValueRef add(Gen *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildNSWAdd(g->b, a, b, "");
}

static LLVMValueRef to_index(Gen *g, LLVMValueRef x) {
  return LLVMBuildFPToSI(g->b, x, g->i64, "");
}

/* `if (cond) {`: returns the block after the `}`, which if_end moves to. */
static LLVMBasicBlockRef if_begin(Gen *g, LLVMValueRef cond, const char *name) {
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "endif");
  LLVMBuildCondBr(g->b, cond, then, after);
  LLVMPositionBuilderAtEnd(g->b, then);
  return after;
}

static void if_end(Gen *g, LLVMBasicBlockRef after) {
  LLVMBuildBr(g->b, after);
  LLVMPositionBuilderAtEnd(g->b, after);
}

/* ---- the row kernels -------------------------------------------------------- */

/* Asks for x[0..n) to be brought into cache (one prefetch per 64-byte
 * line), for writing if `write`: issued for the next active unit's row of
 * weights while this one is processed, so the jump from row to row does
 * not wait for memory (the hardware prefetcher follows a row, not the
 * jumps between rows). */
static void emit_prefetch(Gen *g, LLVMValueRef x, LLVMValueRef n, int write) {
  LLVMTypeRef args[4] = {LLVMPointerType(g->f32, 0), g->i32, g->i32, g->i32};
  LLVMTypeRef type = LLVMFunctionType(g->void_t, args, 4, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, "llvm.prefetch.p0");
  if (!fn)
    fn = LLVMAddFunction(g->mod, "llvm.prefetch.p0", type);
  Loop c = loop_begin(g, LLVMBuildLShr(g->b, add(g, n, const_i64(g, 15)), const_i64(g, 4), ""), "prefetch");
  LLVMValueRef vals[4] = {float_ptr(g, x, LLVMBuildShl(g->b, c.i, const_i64(g, 4), "")),
                          LLVMConstInt(g->i32, (unsigned)write, 0), LLVMConstInt(g->i32, 3, 0),
                          LLVMConstInt(g->i32, 1, 0)};
  LLVMBuildCall2(g->b, type, fn, vals, 4, "");
  loop_end(g, &c);
}

/* The next active unit's row of w from column c0 (n columns), or nothing
 * after the last of [.., end). */
static void prefetch_next_row(Gen *g, LLVMValueRef list, LLVMValueRef q, LLVMValueRef end,
                              LLVMValueRef w, LLVMValueRef N, LLVMValueRef c0, LLVMValueRef n,
                              int write) {
  LLVMValueRef next = add(g, q, const_i64(g, 1));
  LLVMBasicBlockRef after = if_begin(g, LLVMBuildICmp(g->b, LLVMIntSLT, next, end, ""), "prefetch.next");
  LLVMValueRef k = to_index(g, sload(g, list, add(g, next, const_i64(g, 2))));
  emit_prefetch(g, float_ptr(g, w, add(g, mul(g, k, N), c0)), n, write);
  if_end(g, after);
}

/* The rows of one unit's column of a that are nonzero: their indices and
 * values, gathered once so the row kernels loop over them alone. */
typedef struct RowList {
  LLVMValueRef index, value; /* i64 [rows], float [rows] in the part's frame */
  LLVMValueRef count;        /* i64, how many */
} RowList;

/* Allocates the lists in the part's frame: the builder must be in its
 * entry block (rows is known there). */
static RowList row_list_alloc(Gen *g) {
  RowList rl = {.count = NULL};
  rl.index = LLVMBuildArrayAlloca(g->b, g->i64, g->rows, "rows.index");
  rl.value = LLVMBuildArrayAlloca(g->b, g->f32, g->rows, "rows.value");
  return rl;
}

/* rl = the rows i with a[i,k] != 0, and a[i,k] (a has g->rows rows); `n`
 * is an i64 counter slot. Branch-free, as emit_row_lists: each row is
 * stored at the next free place, which advances only for a nonzero. */
static void gather_rows(Gen *g, RowList *rl, LLVMValueRef n, LLVMValueRef a, LLVMValueRef K,
                        LLVMValueRef k) {
  LLVMBuildStore(g->b, const_i64(g, 0), n);
  Loop i = loop_begin(g, g->rows, "gather");
  LLVMValueRef s = sload(g, a, add(g, mul(g, i.i, K), k));
  LLVMValueRef nz = LLVMBuildFCmp(g->b, LLVMRealUNE, s, const_f32(g, 0), "");
  LLVMValueRef at = LLVMBuildLoad2(g->b, g->i64, n, "");
  LLVMBuildStore(g->b, i.i, LLVMBuildInBoundsGEP2(g->b, g->i64, rl->index, &at, 1, ""));
  sstore(g, rl->value, at, s);
  LLVMBuildStore(g->b, add(g, at, LLVMBuildZExt(g->b, nz, g->i64, "")), n);
  loop_end(g, &i);
  rl->count = LLVMBuildLoad2(g->b, g->i64, n, "rows");
}

/* A block of columns is `width` vectors of 16 (16, 4 or 1), or one column
 * (width 0, scalars): the same code serves the main loop and both tails. */
#define MAX_BLOCK 16
static int lanes(int width) {
  return width ? width : 1;
}

static LLVMTypeRef block_type(Gen *g, int width) {
  return width ? vec_type(g) : g->f32;
}

/* Vector u of the block at base[j]: the block's address is computed once
 * (callers pass float_ptr(base, j)) and each vector is at a constant offset
 * from it, so the addresses are register + displacement; offsets j + 16 u
 * computed apart would each need a register (and spill, 16 of them). */
static LLVMValueRef block_load(Gen *g, LLVMValueRef block, int width, int u) {
  LLVMValueRef at = const_i64(g, 16 * u);
  return width ? vload(g, block, at) : sload(g, block, at);
}

static void block_store(Gen *g, LLVMValueRef block, int width, int u, LLVMValueRef v) {
  LLVMValueRef at = const_i64(g, 16 * u);
  if (width)
    vstore(g, block, at, v);
  else
    sstore(g, block, at, v);
}

static LLVMValueRef block_splat(Gen *g, LLVMValueRef x, int width) {
  return width ? splat(g, x) : x;
}

typedef void (*BlockBody)(Gen *g, const void *ctx, LLVMValueRef j, int width);

/* body(j, width) over the columns [0, n): groups of `group` vectors (4: 64
 * columns, four independent FMA chains; 16: 256 columns, a kilobyte of each
 * row of w, long enough for the hardware prefetcher to stream it), then
 * single vectors, then single columns. */
static void for_column_blocks(Gen *g, LLVMValueRef n, int group, BlockBody body, const void *ctx) {
  int shift = group == 16 ? 8 : 6;
  LLVMValueRef groups = LLVMBuildLShr(g->b, n, const_i64(g, shift), "");
  Loop c = loop_begin(g, groups, "cols.group");
  body(g, ctx, LLVMBuildShl(g->b, c.i, const_i64(g, shift), ""), group);
  loop_end(g, &c);
  LLVMValueRef from = LLVMBuildShl(g->b, groups, const_i64(g, shift - 4), ""); /* in vectors */
  LLVMValueRef vectors = LLVMBuildLShr(g->b, n, const_i64(g, 4), "");
  Loop v = loop_begin(g, LLVMBuildSub(g->b, vectors, from, ""), "cols16");
  body(g, ctx, LLVMBuildShl(g->b, add(g, from, v.i), const_i64(g, 4), ""), 1);
  loop_end(g, &v);
  LLVMValueRef done = LLVMBuildShl(g->b, vectors, const_i64(g, 4), "");
  Loop t = loop_begin(g, LLVMBuildSub(g->b, n, done, ""), "cols1");
  body(g, ctx, add(g, done, t.i), 0);
  loop_end(g, &t);
}

/* ---- forward: z[i, block] = sum over row i's nonzeros k of a[i,k] w[k, block] ---- */

typedef struct ForwardBlock {
  LLVMValueRef a, lists; /* a [rows x K], its row lists [rows x K+1], or NULL: every k */
  LLVMValueRef w, z;     /* w[0, c0..], z[0, c0..] */
  LLVMValueRef K, N;
} ForwardBlock;

/* Rows a dense product sums together: each load of w feeds this many
 * multiply-adds, 4 rows x 4 vectors = 16 accumulators, half the zmm
 * registers (a row at a time, w's loads bound it: the paper's net infers
 * 2.4x slower at batch 128). */
#define DENSE_ROWS 4

/* Rows first, first + step, ... (`groups` of them) of one block of columns
 * j: the block of z of `step` consecutive rows is summed in registers over
 * row i's nonzeros (with lists; step 1), or over every k, and stored once:
 * no load or store of z in between. */
static void forward_rows(Gen *g, const ForwardBlock *f, LLVMValueRef j, int width,
                         LLVMValueRef first, LLVMValueRef groups, int step) {
  LLVMTypeRef t = block_type(g, width);
  LLVMValueRef acc[DENSE_ROWS][MAX_BLOCK];
  for (int r = 0; r < step; r++)
    for (int u = 0; u < lanes(width); u++)
      acc[r][u] = entry_alloca(g, t, LLVMConstNull(t), "acc");
  Loop i = loop_begin(g, groups, f->lists ? "fwd.rows" : "fwd.dense.rows");
  LLVMValueRef row = add(g, first, mul(g, i.i, const_i64(g, step)));
  LLVMValueRef list = f->lists ? mul(g, row, add(g, f->K, const_i64(g, 1))) : NULL;
  for (int r = 0; r < step; r++)
    for (int u = 0; u < lanes(width); u++)
      LLVMBuildStore(g->b, LLVMConstNull(t), acc[r][u]);
  LLVMValueRef terms = f->lists ? to_index(g, sload(g, f->lists, list)) : f->K;
  Loop q = loop_begin(g, terms, f->lists ? "fwd.nonzeros" : "fwd.k");
  LLVMValueRef k = f->lists ? to_index(g, sload(g, f->lists, add(g, list, add(g, q.i, const_i64(g, 1)))))
                            : q.i;
  LLVMValueRef wblock = float_ptr(g, f->w, add(g, mul(g, k, f->N), j)), w[MAX_BLOCK];
  for (int u = 0; u < lanes(width); u++)
    w[u] = block_load(g, wblock, width, u);
  for (int r = 0; r < step; r++) {
    LLVMValueRef at = add(g, mul(g, add(g, row, const_i64(g, r)), f->K), k);
    LLVMValueRef s = block_splat(g, sload(g, f->a, at), width);
    for (int u = 0; u < lanes(width); u++) {
      LLVMValueRef sum = LLVMBuildLoad2(g->b, t, acc[r][u], "");
      LLVMBuildStore(g->b, fmuladd(g, s, w[u], sum), acc[r][u]);
    }
  }
  loop_end(g, &q);
  for (int r = 0; r < step; r++) {
    LLVMValueRef zblock = float_ptr(g, f->z, add(g, mul(g, add(g, row, const_i64(g, r)), f->N), j));
    for (int u = 0; u < lanes(width); u++)
      block_store(g, zblock, width, u, LLVMBuildLoad2(g->b, t, acc[r][u], ""));
  }
  loop_end(g, &i);
}

/* For one block of columns j, every row: one load of w per multiply-add
 * (sparse) or per DENSE_ROWS of them (dense). The blocks of w's active
 * rows (active units x 64 columns x 4 bytes) stay in L2 from one row of the
 * batch to the next, so w is read from memory about once per batch.
 * Without row lists the sum runs over every k: the dense product of a
 * BLAS-free object (emit_dense_matmul), DENSE_ROWS rows at a time, then
 * the rows left one by one. Each element is summed in the order of k
 * either way. */
static void forward_block(Gen *g, const void *ctx, LLVMValueRef j, int width) {
  const ForwardBlock *f = ctx;
  LLVMValueRef zero = const_i64(g, 0);
  if (f->lists) {
    forward_rows(g, f, j, width, zero, g->rows, 1);
    return;
  }
  LLVMValueRef groups = LLVMBuildSDiv(g->b, g->rows, const_i64(g, DENSE_ROWS), "");
  LLVMValueRef done = mul(g, groups, const_i64(g, DENSE_ROWS));
  forward_rows(g, f, j, width, zero, groups, DENSE_ROWS);
  forward_rows(g, f, j, width, done, LLVMBuildSub(g->b, g->rows, done, ""), 1);
}

/* ---- backward: the dots and the update in one sweep over w[k,:] ------------------ */

typedef struct BackwardBlock {
  LLVMValueRef w, dz;  /* w[k, 0..], dz[0, 0..] */
  LLVMValueRef N;
  const RowList *rl;
  LLVMValueRef dot_vec, dot_scalar; /* per gathered row: partial dots, vector and scalar */
  int dots;
  LLVMValueRef lr;     /* float, from the hyperparameter table */
} BackwardBlock;

/* For one block of columns j of w[k,:], loaded once:
 *   for each gathered row r:  d = dz[r, j]
 *     dot[r] += d . w[k, j]               (partial dot, lane-wise; old w)
 *     g      += a[r,k] d                  (the weight gradient of the block)
 *   w[k, j] = w[k, j] - lr g
 * so dz is read once for both products and w once, written once. */
static void backward_block(Gen *g, const void *ctx, LLVMValueRef j, int width) {
  const BackwardBlock *b = ctx;
  LLVMTypeRef t = block_type(g, width);
  LLVMValueRef w[4], grad[4], wblock = float_ptr(g, b->w, j);
  for (int u = 0; u < lanes(width); u++) {
    w[u] = block_load(g, wblock, width, u);
    grad[u] = entry_alloca(g, t, LLVMConstNull(t), "grad");
  }
  Loop r = loop_begin(g, b->rl->count, "bwd.rows");
  LLVMValueRef row = float_ptr(g, b->dz, add(g, mul(g, index_at(g, b->rl->index, r.i), b->N), j));
  LLVMValueRef s = block_splat(g, sload(g, b->rl->value, r.i), width);
  LLVMValueRef dot = NULL, dot_at = NULL;
  if (b->dots) {
    dot_at = width ? LLVMBuildInBoundsGEP2(g->b, vec_type(g), b->dot_vec, &r.i, 1, "")
                   : float_ptr(g, b->dot_scalar, r.i);
    dot = LLVMBuildLoad2(g->b, t, dot_at, "dot");
  }
  for (int u = 0; u < lanes(width); u++) {
    LLVMValueRef d = block_load(g, row, width, u);
    if (dot)
      dot = fmuladd(g, d, w[u], dot);
    LLVMBuildStore(g->b, fmuladd(g, s, d, LLVMBuildLoad2(g->b, t, grad[u], "")), grad[u]);
  }
  if (dot)
    LLVMBuildStore(g->b, dot, dot_at);
  loop_end(g, &r);
  LLVMValueRef minus_lr = block_splat(g, LLVMBuildFNeg(g->b, b->lr, ""), width);
  for (int u = 0; u < lanes(width); u++)
    block_store(g, wblock, width, u, fmuladd(g, minus_lr, LLVMBuildLoad2(g->b, t, grad[u], ""), w[u]));
}

/* ---- part functions ----------------------------------------------------------- */

/* A part function is `void NAME(void *args, i64 rows, i64 part, i64 nparts)`
 * (the pool's SrPartKernel): `args` points to a struct of the product's
 * pointers, sizes and learning rate that the calling step fills on its
 * stack. Nothing in a part is particular to one layer, so each kind of part
 * is emitted once per module and every product of every program calls it:
 * the module holds 3 parts instead of one per product (12 for the paper's
 * net, more than half of its code), which halves LLVM's work. Constant
 * widths bought nothing: the loops run over nonzeros and blocks of 64 or
 * 256 columns, whatever the width. */
static LLVMTypeRef part_type(Gen *g) {
  LLVMTypeRef params[4] = {LLVMPointerType(g->ptr, 0), g->i64, g->i64, g->i64};
  return LLVMFunctionType(g->void_t, params, 4, 0);
}

typedef void (*PartBody)(Gen *g, LLVMValueRef args, LLVMValueRef part, LLVMValueRef nparts);

/* The module's part function `name`, emitted by `body` the first time. */
static LLVMValueRef shared_part(const Gen *caller, const char *name, PartBody body) {
  LLVMValueRef fn = LLVMGetNamedFunction(caller->mod, name);
  if (fn)
    return fn;
  Gen g = *caller;
  g.fn = fn = LLVMAddFunction(g.mod, name, part_type(&g));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  g.rows = LLVMGetParam(fn, 1);
  g.slot = NULL; /* a part knows no values: only its arguments */
  g.program = NULL;
  g.op = NULL;
  g.b = LLVMCreateBuilderInContext(g.ctx);
  g.entry = LLVMAppendBasicBlockInContext(g.ctx, fn, "entry");
  LLVMPositionBuilderAtEnd(g.b, g.entry);
  body(&g, LLVMGetParam(fn, 0), LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
  LLVMBuildRetVoid(g.b);
  LLVMDisposeBuilder(g.b);
  return fn;
}

/* The arguments of a part: pointers first, then sizes, then the rate. */
enum { ARG_PTRS = 5, ARG_SIZES = 2, ARG_FIELDS = ARG_PTRS + ARG_SIZES + 1 };
enum { ARG_K = ARG_PTRS, ARG_N, ARG_LR };

static LLVMTypeRef args_type(Gen *g) {
  LLVMTypeRef fields[ARG_FIELDS];
  for (int i = 0; i < ARG_FIELDS; i++)
    fields[i] = i < ARG_PTRS ? g->ptr : i < ARG_LR ? g->i64 : g->f32;
  return LLVMStructTypeInContext(g->ctx, fields, ARG_FIELDS, 0);
}

static LLVMValueRef arg_at(Gen *g, LLVMValueRef args, int field) {
  return LLVMBuildStructGEP2(g->b, args_type(g), args, (unsigned)field, "");
}

static LLVMValueRef arg(Gen *g, LLVMValueRef args, int field) {
  LLVMTypeRef t = field < ARG_PTRS ? g->ptr : field < ARG_LR ? g->i64 : g->f32;
  return LLVMBuildLoad2(g->b, t, arg_at(g, args, field), "");
}

/* The caller's side: the struct in its frame (allocated once, at entry),
 * filled with the value ids' buffers (-1: none), K, N and the rate. */
static LLVMValueRef part_args(Gen *g, const int values[ARG_PTRS], LLVMValueRef K, LLVMValueRef N,
                              LLVMValueRef lr) {
  LLVMValueRef args = entry_alloca(g, args_type(g), LLVMGetUndef(args_type(g)), "part.args");
  for (int i = 0; i < ARG_PTRS; i++)
    LLVMBuildStore(g->b, values[i] >= 0 ? g->slot[values[i]] : LLVMConstNull(g->ptr),
                   arg_at(g, args, i));
  LLVMBuildStore(g->b, K, arg_at(g, args, ARG_K));
  LLVMBuildStore(g->b, N, arg_at(g, args, ARG_N));
  LLVMBuildStore(g->b, lr ? lr : const_f32(g, 0), arg_at(g, args, ARG_LR));
  return args;
}

/* sr_parallel(part, args, rows, work): the pool runs every part (or the
 * calling thread alone, when the work is too small to share) */
static void call_parts(Gen *g, LLVMValueRef part, LLVMValueRef args, LLVMValueRef rows,
                       LLVMValueRef work) {
  LLVMTypeRef params[4] = {LLVMPointerType(part_type(g), 0), LLVMPointerType(g->ptr, 0), g->i64,
                           g->i64};
  LLVMTypeRef type = LLVMFunctionType(g->void_t, params, 4, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, "sr_parallel");
  if (!fn)
    fn = LLVMAddFunction(g->mod, "sr_parallel", type);
  LLVMValueRef vals[4] = {part, args, rows, LLVMBuildFPToSI(g->b, work, g->i64, "")};
  LLVMBuildCall2(g->b, type, fn, vals, 4, "");
}

/* nonzeros(a) * N: the multiply-adds of one sweep through w (f64) */
static LLVMValueRef work_of(Gen *g, int list, int w) {
  LLVMValueRef nonzeros = LLVMBuildFPExt(g->b, load_f32(g, list, const_i64(g, 1)), g->f64, "");
  return LLVMBuildFMul(g->b, nonzeros, LLVMBuildSIToFP(g->b, cols_of(g, w), g->f64, ""), "work");
}

/* The op's max_density for this batch: its class by rows (SPARSE_CLASS_ROWS). */
static LLVMValueRef max_density(Gen *g, const Op *op) {
  const int bounds[SPARSE_CLASSES - 1] = SPARSE_CLASS_ROWS;
  LLVMValueRef t = LLVMConstReal(g->f64, op->max_density[SPARSE_CLASSES - 1]);
  for (int c = SPARSE_CLASSES - 2; c >= 0; c--) {
    LLVMValueRef fits = LLVMBuildICmp(g->b, LLVMIntSLE, g->rows, const_i64(g, bounds[c]), "");
    t = LLVMBuildSelect(g->b, fits, LLVMConstReal(g->f64, op->max_density[c]), t, "");
  }
  return t;
}

/* nonzeros(a) <= max_density * rows * K, from the active list */
static LLVMValueRef sparse_enough(Gen *g, const Op *op, int list, int a) {
  LLVMValueRef nonzeros = LLVMBuildFPExt(g->b, load_f32(g, list, const_i64(g, 1)), g->f64, "nnz");
  LLVMValueRef size = LLVMBuildSIToFP(g->b, count_of(g, a), g->f64, "");
  LLVMValueRef limit = LLVMBuildFMul(g->b, size, max_density(g, op), "limit");
  return LLVMBuildFCmp(g->b, LLVMRealOLE, nonzeros, limit, "sparse");
}

/* if (sparse) sr_parallel(part) else dense(): `dense` emits the dense
 * variant with emit_op, on ops made for the purpose. */
/* A call of a part: the function, its arguments, the rows and the work. */
typedef struct PartCall {
  LLVMValueRef fn;
  int values[ARG_PTRS];
  LLVMValueRef K, N, lr, rows, work;
} PartCall;

static void branch(Gen *g, LLVMValueRef sparse, const PartCall *c, const Op *dense, int ndense,
                   int zero_first) {
  LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "sparse");
  LLVMBasicBlockRef no = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "dense");
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "product.done");
  LLVMBuildCondBr(g->b, sparse, yes, no);
  LLVMPositionBuilderAtEnd(g->b, yes);
  if (zero_first >= 0) { /* the sampled product writes only where the mask is 1 */
    Loop k = loop_begin(g, count_of(g, zero_first), "zero");
    store_f32(g, zero_first, k.i, const_f32(g, 0));
    loop_end(g, &k);
  }
  call_parts(g, c->fn, part_args(g, c->values, c->K, c->N, c->lr), c->rows, c->work);
  LLVMBuildBr(g->b, after);
  LLVMPositionBuilderAtEnd(g->b, no);
  for (int k = 0; k < ndense; k++)
    emit_op(g, &dense[k]);
  LLVMBuildBr(g->b, after);
  LLVMPositionBuilderAtEnd(g->b, after);
}

/* ---- active_units --------------------------------------------------------------- */

/* Row i's nonzeros: rows[i, 1 + q] = the q-th column k with a[i,k] != 0,
 * rows[i, 0] = how many. Branch-free: k is stored at the next free place
 * and the place advances only when a[i,k] != 0 (no mispredictions at any
 * density). */
static void emit_row_lists(Gen *g, int a, int lists, LLVMValueRef i, LLVMValueRef K) {
  LLVMValueRef base = mul(g, i, add(g, K, const_i64(g, 1)));
  LLVMValueRef n = entry_alloca(g, g->i64, const_i64(g, 0), "row.n");
  Loop k = loop_begin(g, K, "row.list");
  LLVMValueRef nz = LLVMBuildFCmp(g->b, LLVMRealUNE, load_f32(g, a, add(g, mul(g, i, K), k.i)),
                                  const_f32(g, 0), "");
  LLVMValueRef at = LLVMBuildLoad2(g->b, g->i64, n, "");
  store_f32(g, lists, add(g, base, add(g, at, const_i64(g, 1))), LLVMBuildSIToFP(g->b, k.i, g->f32, ""));
  LLVMBuildStore(g->b, add(g, at, LLVMBuildZExt(g->b, nz, g->i64, "")), n);
  loop_end(g, &k);
  store_f32(g, lists, base, LLVMBuildSIToFP(g->b, LLVMBuildLoad2(g->b, g->i64, n, ""), g->f32, ""));
}

/* units[2+k] = #{i : a[i,k] != 0} (a row-major pass, vectorised), then the
 * units with a nonzero count are compacted in place, ascending:
 *   units[0] = their number, units[1] = sum of the counts = nonzeros(a).
 * The compaction stores k at units[2+count] unconditionally and advances
 * count only for active units: units[2+count] was already read (count <= k),
 * so no branch is needed; entries past units[2+count] are left as they are.
 * The row lists (emit_row_lists) are made in the same pass over the rows. */
void emit_active_units(Gen *g, const Op *op) {
  int a = op->in[0], out = op->out[0], lists = op->out[1];
  LLVMValueRef K = cols_of(g, a), two = const_i64(g, 2), zero = const_f32(g, 0);
  Loop z = loop_begin(g, K, "active.zero");
  store_f32(g, out, add(g, z.i, two), zero);
  loop_end(g, &z);
  Loop i = loop_begin(g, rows_of(g, a), "active.rows");
  LLVMValueRef base = mul(g, i.i, K);
  Loop k = loop_begin(g, K, "active.count");
  LLVMValueRef nz = LLVMBuildFCmp(g->b, LLVMRealUNE, load_f32(g, a, add(g, base, k.i)), zero, "");
  LLVMValueRef at = add(g, k.i, two);
  store_f32(g, out, at, LLVMBuildFAdd(g->b, load_f32(g, out, at),
                                      LLVMBuildUIToFP(g->b, nz, g->f32, ""), ""));
  loop_end(g, &k);
  if (lists >= 0)
    emit_row_lists(g, a, lists, i.i, K);
  loop_end(g, &i);
  LLVMValueRef count = entry_alloca(g, g->i64, const_i64(g, 0), "active.n");
  LLVMValueRef nonzeros = entry_alloca(g, g->f64, LLVMConstReal(g->f64, 0), "active.nnz");
  Loop c = loop_begin(g, K, "active.compact");
  LLVMValueRef n = LLVMBuildLoad2(g->b, g->i64, count, "");
  LLVMValueRef units = load_f32(g, out, add(g, c.i, two));
  LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, LLVMBuildLoad2(g->b, g->f64, nonzeros, ""),
                                     LLVMBuildFPExt(g->b, units, g->f64, ""), ""), nonzeros);
  store_f32(g, out, add(g, n, two), LLVMBuildSIToFP(g->b, c.i, g->f32, ""));
  LLVMValueRef active = LLVMBuildZExt(g->b, LLVMBuildFCmp(g->b, LLVMRealUNE, units, zero, ""), g->i64, "");
  LLVMBuildStore(g->b, add(g, n, active), count);
  loop_end(g, &c);
  store_f32(g, out, const_i64(g, 0),
            LLVMBuildSIToFP(g->b, LLVMBuildLoad2(g->b, g->i64, count, ""), g->f32, ""));
  store_f32(g, out, const_i64(g, 1),
            LLVMBuildFPTrunc(g->b, LLVMBuildLoad2(g->b, g->f64, nonzeros, ""), g->f32, ""));
}

/* ---- sparse_matmul ---------------------------------------------------------------- */

/* Chunk p of z = a w: the output columns [c0, c1), c = N p / nparts
 * rounded down to a multiple of 256 (whole blocks of 16 vectors; some
 * chunks are empty when there are more chunks than blocks), by
 * forward_block over those columns. Every element of z is summed in the
 * same order by the same fused multiply-adds whatever the chunks: results
 * do not depend on the number of threads.
 * Arguments: a, its row lists (none for the dense part), w, z; K, N. */
enum { FWD_A, FWD_LISTS, FWD_W, FWD_Z };

static void forward_chunk(Gen *g, LLVMValueRef args, LLVMValueRef part, LLVMValueRef nparts,
                          int lists) {
  LLVMValueRef K = arg(g, args, ARG_K), N = arg(g, args, ARG_N), mask = const_i64(g, ~255ll);
  LLVMValueRef c0 = LLVMBuildAnd(g->b, LLVMBuildSDiv(g->b, mul(g, N, part), nparts, ""), mask, "c0");
  LLVMValueRef last = LLVMBuildICmp(g->b, LLVMIntEQ, add(g, part, const_i64(g, 1)), nparts, "");
  LLVMValueRef c1 = LLVMBuildSelect(
      g->b, last, N,
      LLVMBuildAnd(g->b, LLVMBuildSDiv(g->b, mul(g, N, add(g, part, const_i64(g, 1))), nparts, ""),
                   mask, ""), "c1");
  ForwardBlock f = {.a = arg(g, args, FWD_A), .lists = lists ? arg(g, args, FWD_LISTS) : NULL,
                    .w = float_ptr(g, arg(g, args, FWD_W), c0),
                    .z = float_ptr(g, arg(g, args, FWD_Z), c0), .K = K, .N = N};
  for_column_blocks(g, LLVMBuildSub(g->b, c1, c0, "width"), lists ? 16 : 4, forward_block, &f);
}

static void forward_part(Gen *g, LLVMValueRef args, LLVMValueRef part, LLVMValueRef nparts) {
  forward_chunk(g, args, part, nparts, 1);
}

static void dense_part(Gen *g, LLVMValueRef args, LLVMValueRef part, LLVMValueRef nparts) {
  forward_chunk(g, args, part, nparts, 0);
}

/* matmul z = a w without BLAS (gen.h): the forward product's loops over
 * every k, in parts on the pool as a sparse product's; each element is
 * summed in order of k by fused multiply-adds, whatever the threads. */
void emit_dense_matmul(Gen *g, int a, int w, int z) {
  LLVMValueRef K = cols_of(g, a), N = cols_of(g, w);
  int values[ARG_PTRS] = {a, -1, w, z, -1};
  LLVMValueRef work = LLVMBuildSIToFP(g->b, mul(g, mul(g, rows_of(g, a), K), N), g->f64, "work");
  call_parts(g, shared_part(g, "dense_matmul.part", dense_part), part_args(g, values, K, N, NULL),
             rows_of(g, a), work);
}

/* sparse_matmul z = a, w, units, rows:
 *   sparse enough:  sr_parallel(forward_part)
 *   else:           z = a w by cblas_sgemm, as matmul */
void emit_sparse_matmul(Gen *g, const Op *op) {
  int a = op->in[0], w = op->in[1];
  PartCall c = {.fn = shared_part(g, "sparse_matmul.part", forward_part),
                .values = {a, op->in[3], w, op->out[0], -1},
                .K = cols_of(g, a), .N = cols_of(g, w), .rows = rows_of(g, a),
                .work = work_of(g, op->in[2], w)};
  Op dense = {.kind = OP_MATMUL, .nin = 2, .nout = 1};
  dense.in[0] = a;
  dense.in[1] = w;
  dense.out[0] = op->out[0];
  branch(g, sparse_enough(g, op, op->in[2], a), &c, &dense, 1, -1);
}

/* ---- sparse_backward_sgd ------------------------------------------------------------ */

/* Chunk p of the backward sweep through w, over the active units
 * [count p / nparts, count (p+1) / nparts) (rows of w: no two chunks share one):
 *   rows r with a[r,k] != 0, and their values, gathered once
 *   one sweep over w[k,:] (backward_block):  dot[r] = dz[r,:] . w[k,:] (old w),
 *     w[k,:] -= lr sum_r a[r,k] dz[r,:]         (no gradient stored)
 *   da[r,k] = dot[r] where a[r,k] > 0           (the relu mask; 0 elsewhere, set before)
 * Arguments: w, a, dz, the active units, da (or none); K, N, lr.
 * `dots`: whether da is wanted (two parts: with and without). */
enum { BWD_W, BWD_A, BWD_DZ, BWD_LIST, BWD_DA };

static void backward_sweep(Gen *g, LLVMValueRef args, LLVMValueRef part, LLVMValueRef nparts,
                           int dots) {
  LLVMValueRef w = arg(g, args, BWD_W), a = arg(g, args, BWD_A), list = arg(g, args, BWD_LIST);
  LLVMValueRef da = arg(g, args, BWD_DA);
  LLVMValueRef K = arg(g, args, ARG_K), N = arg(g, args, ARG_N);
  RowList rl = row_list_alloc(g); /* still in the entry block */
  BackwardBlock b = {
      .dz = arg(g, args, BWD_DZ), .N = N, .rl = &rl, .dots = dots, .lr = arg(g, args, ARG_LR)};
  b.dot_vec = LLVMBuildArrayAlloca(g->b, vec_type(g), g->rows, "dots");
  b.dot_scalar = LLVMBuildArrayAlloca(g->b, g->f32, g->rows, "dots.tail");
  LLVMValueRef count = to_index(g, sload(g, list, const_i64(g, 0)));
  LLVMValueRef q0 = LLVMBuildSDiv(g->b, mul(g, count, part), nparts, "q0");
  LLVMValueRef q1 = LLVMBuildSDiv(g->b, mul(g, count, add(g, part, const_i64(g, 1))), nparts, "q1");
  LLVMValueRef n = entry_alloca(g, g->i64, const_i64(g, 0), "rows.n");
  Loop q = loop_begin(g, LLVMBuildSub(g->b, q1, q0, ""), "bwd.units");
  LLVMValueRef k = to_index(g, sload(g, list, add(g, add(g, q0, q.i), const_i64(g, 2))));
  prefetch_next_row(g, list, add(g, q0, q.i), q1, w, N, const_i64(g, 0), N, 1);
  gather_rows(g, &rl, n, a, K, k);
  b.w = float_ptr(g, w, mul(g, k, N));
  if (b.dots) {
    Loop r = loop_begin(g, rl.count, "dots.zero");
    LLVMBuildStore(g->b, LLVMConstNull(vec_type(g)),
                   LLVMBuildInBoundsGEP2(g->b, vec_type(g), b.dot_vec, &r.i, 1, ""));
    sstore(g, b.dot_scalar, r.i, const_f32(g, 0));
    loop_end(g, &r);
  }
  for_column_blocks(g, N, 4, backward_block, &b);
  if (b.dots) {
    Loop r = loop_begin(g, rl.count, "dots.store");
    LLVMValueRef v = LLVMBuildLoad2(g->b, vec_type(g),
                                    LLVMBuildInBoundsGEP2(g->b, vec_type(g), b.dot_vec, &r.i, 1, ""), "");
    LLVMValueRef dot = LLVMBuildFAdd(g->b, horizontal_sum(g, v), sload(g, b.dot_scalar, r.i), "");
    LLVMValueRef positive = LLVMBuildFCmp(g->b, LLVMRealOGT, sload(g, rl.value, r.i), const_f32(g, 0), "");
    sstore(g, da, add(g, mul(g, index_at(g, rl.index, r.i), K), k),
           LLVMBuildSelect(g->b, positive, dot, const_f32(g, 0), ""));
    loop_end(g, &r);
  }
  loop_end(g, &q);
}

static void backward_part(Gen *g, LLVMValueRef args, LLVMValueRef part, LLVMValueRef nparts) {
  backward_sweep(g, args, part, nparts, 1);
}

static void update_part(Gen *g, LLVMValueRef args, LLVMValueRef part, LLVMValueRef nparts) {
  backward_sweep(g, args, part, nparts, 0);
}

/* sparse_backward_sgd w, a, dz, active -> da (optional):
 *   sparse enough:  da = 0, then sr_parallel(backward_part, or update_part without da)
 *   else:           da = dz w^T (sgemm), da = [a > 0] da (the relu mask),
 *                   w = w - lr a^T dz (sgemm, beta 1), as matmul and matmul_sgd */
void emit_sparse_backward(Gen *g, const Op *op) {
  int w = op->in[0], a = op->in[1], dz = op->in[2], da = op->out[0];
  PartCall c = {.fn = da >= 0 ? shared_part(g, "sparse_backward.part", backward_part)
                              : shared_part(g, "sparse_update.part", update_part),
                .values = {w, a, dz, op->in[3], da},
                .K = cols_of(g, a), .N = cols_of(g, w), .lr = hyper_f32(g, HYPER_COEF),
                .rows = rows_of(g, a), .work = work_of(g, op->in[3], w)};
  Op dense[3] = {{.kind = OP_MATMUL, .nin = 2, .nout = 1, .trans_b = 1},
                 {.kind = OP_ACT_GRAD, .nin = 2, .nout = 1, .act = ACT_RELU},
                 {.kind = OP_MATMUL_SGD, .nin = 3, .trans_a = 1, .coef = op->coef, .coef2 = 1}};
  dense[0].in[0] = dz, dense[0].in[1] = w, dense[0].out[0] = da;
  dense[1].in[0] = da, dense[1].in[1] = a, dense[1].out[0] = da;
  dense[2].in[0] = w, dense[2].in[1] = a, dense[2].in[2] = dz;
  LLVMValueRef sparse = sparse_enough(g, op, op->in[3], a);
  if (da >= 0)
    branch(g, sparse, &c, dense, 3, da);
  else
    branch(g, sparse, &c, dense + 2, 1, -1);
}
