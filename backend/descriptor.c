/* The descriptor of an ahead-of-time compiled model: the SrModel (slot
 * table, roles), the SrProgramConfig and the embedded weights as constant
 * LLVM globals, plus the functions the object exports (runtime/program.h).
 *
 * Each runtime struct is emitted as the host compiler laid it out: its
 * bytes, copied, with every pointer field replaced by a relocation to a
 * string, table or function of the module (abi_describe zeroes the SrModel
 * it fills, so no stray padding bytes get in). This keeps the emitted
 * layout equal to the runtime's by construction; what it needs is the list
 * of pointer fields below, and a target with the host's pointer size and
 * byte order (checked). A struct whose size changed since that list was
 * written is refused, so that a new pointer field cannot slip through as
 * raw bytes; the runtime checks the sizes again when the program starts. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* The sizes the pointer lists below were written for (LP64: x86-64, aarch64). */
enum { SLOT_BYTES = 56, MODEL_BYTES = 8592, CONFIG_BYTES = 400 };

typedef struct Desc {
  LLVMModuleRef mod;
  LLVMContextRef ctx;
  LLVMTypeRef i8ptr;
  const char *prefix;
} Desc;

/* A pointer field at `offset` of a struct, and what it must point to (an
 * i8* constant; a null pointer is a constant too). */
typedef struct Reloc {
  size_t offset;
  LLVMValueRef target;
} Reloc;

/* ---- globals ---------------------------------------------------------------- */

static LLVMValueRef as_ptr(Desc *d, LLVMValueRef v) {
  return LLVMConstBitCast(v, d->i8ptr); /* a no-op with opaque pointers */
}

static LLVMValueRef constant_global(Desc *d, const char *what, LLVMValueRef init, unsigned align) {
  char name[300];
  snprintf(name, sizeof name, "%s.%s", d->prefix, what);
  LLVMValueRef g = LLVMAddGlobal(d->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetAlignment(g, align);
  return g;
}

/* A NUL-terminated string constant; NULL stays a null pointer. */
static LLVMValueRef string(Desc *d, const char *s) {
  if (!s)
    return LLVMConstNull(d->i8ptr);
  LLVMValueRef text = LLVMConstStringInContext(d->ctx, s, (unsigned)strlen(s), 0);
  LLVMValueRef g = constant_global(d, "str", text, 1);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return as_ptr(d, g);
}

static LLVMValueRef bytes(Desc *d, const void *data, size_t n) {
  return LLVMConstStringInContext(d->ctx, data, (unsigned)n, 1);
}

static int by_offset(const void *a, const void *b) {
  size_t x = ((const Reloc *)a)->offset, y = ((const Reloc *)b)->offset;
  return (x > y) - (x < y);
}

/* The host's `size` bytes at `host` as a packed constant struct: raw byte
 * runs between the relocated pointer fields. */
static LLVMValueRef blob(Desc *d, const void *host, size_t size, Reloc *r, int n) {
  qsort(r, (size_t)n, sizeof *r, by_offset);
  LLVMValueRef *parts = malloc((2 * (size_t)n + 1) * sizeof *parts);
  if (!parts)
    return NULL;
  int k = 0;
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    if (r[i].offset > at)
      parts[k++] = bytes(d, (const char *)host + at, r[i].offset - at);
    parts[k++] = r[i].target;
    at = r[i].offset + sizeof(void *);
  }
  if (at < size)
    parts[k++] = bytes(d, (const char *)host + at, size - at);
  LLVMValueRef v = LLVMConstStructInContext(d->ctx, parts, (unsigned)k, 1);
  free(parts);
  return v;
}

static LLVMValueRef blob_global(Desc *d, const char *what, const void *host, size_t size,
                                Reloc *r, int n) {
  LLVMValueRef init = blob(d, host, size, r, n);
  return init ? constant_global(d, what, init, 16) : NULL;
}

/* ---- the runtime's structs ------------------------------------------------------ */

/* Field by field into zeroed memory: a struct assigned whole may carry
 * undefined padding bytes, which would make objects differ from build to
 * build. */
static void clean_slot(SrSlot *c, const SrSlot *s) {
  memset(c, 0, sizeof *c);
  c->name = s->name;
  c->kind = s->kind;
  c->rows = s->rows;
  c->cols = s->cols;
  c->init = s->init;
  c->init_arg = s->init_arg;
  c->fan_in = s->fan_in;
  c->fan_out = s->fan_out;
  c->in_arena = s->in_arena;
  c->arena_offset = s->arena_offset;
}

static LLVMValueRef slot_table(Desc *d, const PreparedModel *p) {
  int n = p->model.nslots;
  Reloc *r = malloc(((size_t)n + 1) * sizeof *r);
  SrSlot *clean = malloc(((size_t)n + 1) * sizeof *clean);
  LLVMValueRef g = NULL;
  if (r && clean) {
    for (int i = 0; i < n; i++) {
      clean_slot(&clean[i], &p->slots[i]);
      r[i] = (Reloc){i * sizeof(SrSlot) + offsetof(SrSlot, name), string(d, p->slots[i].name)};
    }
    g = blob_global(d, "slots", clean, n * sizeof(SrSlot), r, n);
  }
  free(r);
  free(clean);
  return g;
}

static LLVMValueRef fn_or_null(Desc *d, LLVMValueRef fn) {
  return fn ? as_ptr(d, fn) : LLVMConstNull(d->i8ptr);
}

enum { MODEL_RELOCS = 6 + SR_MAX_HIDDEN + 4 * SR_MAX_PRETRAIN };

/* Every pointer field of SrModel: the slot table, the kernels (with the
 * split steps' of data parallelism), the names of the hidden layers, of
 * the output layer and of the pretraining stages' layers. */
static LLVMValueRef model(Desc *d, const PreparedModel *p, LLVMValueRef slots,
                          const AotKernels *k) {
  const SrModel *m = &p->model;
  Reloc r[MODEL_RELOCS] = {
      {offsetof(SrModel, slots), as_ptr(d, slots)},
      {offsetof(SrModel, train_step), fn_or_null(d, k->train)},
      {offsetof(SrModel, infer), fn_or_null(d, k->infer)},
      {offsetof(SrModel, train_split.grads), fn_or_null(d, k->train_grads)},
      {offsetof(SrModel, train_split.apply), fn_or_null(d, k->train_apply)},
      {offsetof(SrModel, output_name), string(d, m->output_name)},
  };
  int n = 6;
  for (int i = 0; i < SR_MAX_HIDDEN; i++)
    r[n++] = (Reloc){offsetof(SrModel, hidden_names) + i * sizeof(char *),
                     string(d, i < m->nhidden ? m->hidden_names[i] : NULL)};
  for (int i = 0; i < SR_MAX_PRETRAIN; i++) {
    size_t at = offsetof(SrModel, pretrain) + i * sizeof(SrPretrainStage);
    int used = i < m->npretrain;
    r[n++] = (Reloc){at + offsetof(SrPretrainStage, layer),
                     string(d, used ? m->pretrain[i].layer : NULL)};
    r[n++] = (Reloc){at + offsetof(SrPretrainStage, step), fn_or_null(d, k->pretrain[i])};
    r[n++] = (Reloc){at + offsetof(SrPretrainStage, split.grads),
                     fn_or_null(d, k->pretrain_grads[i])};
    r[n++] = (Reloc){at + offsetof(SrPretrainStage, split.apply),
                     fn_or_null(d, k->pretrain_apply[i])};
  }
  return blob_global(d, "model", m, sizeof *m, r, n);
}

/* One array per PARAM and CONST slot, and the table of pointers to them. */
static LLVMValueRef weights(Desc *d, const PreparedModel *p, const SrState *st) {
  int n = p->model.nslots;
  Reloc *r = malloc(((size_t)n + 1) * sizeof *r);
  void **host = calloc((size_t)n + 1, sizeof *host);
  LLVMValueRef g = NULL;
  if (r && host) {
    for (int i = 0; i < n; i++) {
      const SrSlot *s = &p->slots[i];
      LLVMValueRef w = LLVMConstNull(d->i8ptr);
      if (s->kind == SR_SLOT_PARAM || s->kind == SR_SLOT_CONST)
        w = as_ptr(d, constant_global(d, "w", bytes(d, st->slots[i], (size_t)s->rows * s->cols * 4),
                                      64));
      r[i] = (Reloc){i * sizeof(void *), w};
    }
    g = blob_global(d, "weights", host, n * sizeof(void *), r, n);
  }
  free(r);
  free(host);
  return g;
}

static LLVMValueRef config(Desc *d, const AotOptions *o, LLVMValueRef weights_table) {
  SrProgramConfig c;
  memcpy(&c, o->config, sizeof c); /* bytes and all: the driver zeroed its padding */
  c.abi = SR_PROGRAM_ABI;
  c.sizeof_config = sizeof(SrProgramConfig);
  c.sizeof_model = sizeof(SrModel);
  c.sizeof_slot = sizeof(SrSlot);
  Reloc r[] = {
      {offsetof(SrProgramConfig, name), string(d, c.name)},
      {offsetof(SrProgramConfig, structure), string(d, c.structure)},
      {offsetof(SrProgramConfig, target), string(d, c.target)},
      {offsetof(SrProgramConfig, cpu), string(d, c.cpu)},
      {offsetof(SrProgramConfig, cpu_features), string(d, c.cpu_features)},
      {offsetof(SrProgramConfig, compiler), string(d, c.compiler)},
      {offsetof(SrProgramConfig, train.path), string(d, c.train.path)},
      {offsetof(SrProgramConfig, train.labels), string(d, c.train.labels)},
      {offsetof(SrProgramConfig, train.label_column), string(d, c.train.label_column)},
      {offsetof(SrProgramConfig, test.path), string(d, c.test.path)},
      {offsetof(SrProgramConfig, test.labels), string(d, c.test.labels)},
      {offsetof(SrProgramConfig, test.label_column), string(d, c.test.label_column)},
      {offsetof(SrProgramConfig, features), string(d, c.features)},
      {offsetof(SrProgramConfig, checkpoint), string(d, c.checkpoint)},
      {offsetof(SrProgramConfig, state), string(d, c.state)},
      {offsetof(SrProgramConfig, metrics), string(d, c.metrics)},
      {offsetof(SrProgramConfig, weights),
       weights_table ? as_ptr(d, weights_table) : LLVMConstNull(d->i8ptr)},
  };
  return blob_global(d, "config", &c, sizeof c, r, sizeof r / sizeof r[0]);
}

/* ---- exported functions ------------------------------------------------------------ */

/* `ret NAME(params...)` whose body returns callee(lead..., params...). */
static void forwarder(Desc *d, const char *name, LLVMValueRef callee, LLVMTypeRef callee_type,
                      const LLVMValueRef *lead, int nlead) {
  LLVMTypeRef ret = LLVMGetReturnType(callee_type);
  unsigned total = LLVMCountParamTypes(callee_type);
  LLVMTypeRef params[8];
  LLVMGetParamTypes(callee_type, params);
  LLVMTypeRef type = LLVMFunctionType(ret, params + nlead, total - (unsigned)nlead, 0);
  char full[300];
  snprintf(full, sizeof full, "%s_%s", d->prefix, name);
  LLVMValueRef fn = LLVMAddFunction(d->mod, full, type);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(d->ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(d->ctx, fn, "entry"));
  LLVMValueRef args[8];
  for (int i = 0; i < (int)total; i++)
    args[i] = i < nlead ? lead[i] : LLVMGetParam(fn, (unsigned)(i - nlead));
  int is_void = LLVMGetTypeKind(ret) == LLVMVoidTypeKind;
  LLVMValueRef r = LLVMBuildCall2(b, callee_type, callee, args, total, is_void ? "" : "r");
  if (is_void)
    LLVMBuildRetVoid(b);
  else
    LLVMBuildRet(b, r);
  LLVMDisposeBuilder(b);
}

/* `const T *PREFIX_what(void)`: the address of a descriptor global. */
static void accessor(Desc *d, const char *what, LLVMValueRef global) {
  LLVMTypeRef type = LLVMFunctionType(d->i8ptr, NULL, 0, 0);
  char name[300];
  snprintf(name, sizeof name, "%s_%s", d->prefix, what);
  LLVMValueRef fn = LLVMAddFunction(d->mod, name, type);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(d->ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(d->ctx, fn, "entry"));
  LLVMBuildRet(b, as_ptr(d, global));
  LLVMDisposeBuilder(b);
}

static LLVMValueRef declare(Desc *d, const char *name, LLVMTypeRef type) {
  LLVMValueRef fn = LLVMGetNamedFunction(d->mod, name);
  return fn ? fn : LLVMAddFunction(d->mod, name, type);
}

/* NAME_create(weights, err, errlen), NAME_infer(ctx, x, rows, probs),
 * NAME_error(ctx), NAME_free(ctx) and NAME_check_cpu(err, errlen) call the
 * runtime's sr_bundle_* with this model. */
static void bundle_api(Desc *d, LLVMTypeRef size_type, LLVMValueRef model_g, LLVMValueRef config_g) {
  LLVMTypeRef p = d->i8ptr, i32 = LLVMInt32TypeInContext(d->ctx);
  LLVMTypeRef create_params[] = {p, p, p, p, size_type};
  LLVMTypeRef create = LLVMFunctionType(p, create_params, 5, 0);
  LLVMValueRef lead[] = {as_ptr(d, model_g), as_ptr(d, config_g)};
  forwarder(d, "create", declare(d, "sr_bundle_create", create), create, lead, 2);
  LLVMTypeRef infer_params[] = {p, p, i32, p};
  LLVMTypeRef infer = LLVMFunctionType(i32, infer_params, 4, 0);
  forwarder(d, "infer", declare(d, "sr_bundle_infer", infer), infer, NULL, 0);
  LLVMTypeRef error = LLVMFunctionType(p, &p, 1, 0);
  forwarder(d, "error", declare(d, "sr_bundle_error", error), error, NULL, 0);
  LLVMTypeRef free_type = LLVMFunctionType(LLVMVoidTypeInContext(d->ctx), &p, 1, 0);
  forwarder(d, "free", declare(d, "sr_bundle_free", free_type), free_type, NULL, 0);
  LLVMTypeRef check_params[] = {p, p, size_type};
  LLVMTypeRef check = LLVMFunctionType(i32, check_params, 3, 0);
  forwarder(d, "check_cpu", declare(d, "sr_bundle_check_cpu", check), check, lead + 1, 1);
}

/* ---- checks and the whole ------------------------------------------------------------ */

static int check_target(LLVMTargetDataRef td, char *err, int errlen) {
  const uint16_t probe = 1;
  int little = *(const uint8_t *)&probe == 1;
  if (LLVMPointerSize(td) != sizeof(void *) ||
      (LLVMByteOrder(td) == LLVMLittleEndian) != little) {
    snprintf(err, errlen, "this target's pointers or byte order differ from the host's: the "
                          "runtime's tables cannot be laid out for it");
    return -1;
  }
  if (sizeof(SrSlot) != SLOT_BYTES || sizeof(SrModel) != MODEL_BYTES ||
      sizeof(SrProgramConfig) != CONFIG_BYTES) {
    snprintf(err, errlen, "internal error: SrSlot/SrModel/SrProgramConfig are %zu/%zu/%zu bytes, "
                          "backend/descriptor.c was written for %d/%d/%d: update its pointer "
                          "fields",
             sizeof(SrSlot), sizeof(SrModel), sizeof(SrProgramConfig), SLOT_BYTES, MODEL_BYTES,
             CONFIG_BYTES);
    return -1;
  }
  return 0;
}

int descriptor_emit(LLVMModuleRef mod, LLVMTargetMachineRef tm, const PreparedModel *p,
                    const AotKernels *k, const AotOptions *o, char *err, int errlen) {
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef size_type = LLVMIntPtrTypeInContext(ctx, td);
  int rc = check_target(td, err, errlen);
  LLVMDisposeTargetData(td);
  if (rc != 0)
    return -1;
  Desc d = {mod, ctx, LLVMPointerType(LLVMInt8TypeInContext(ctx), 0), o->prefix};
  LLVMValueRef slots = slot_table(&d, p);
  LLVMValueRef model_g = slots ? model(&d, p, slots, k) : NULL;
  LLVMValueRef table = o->weights && model_g ? weights(&d, p, o->weights) : NULL;
  LLVMValueRef config_g = model_g && (table || !o->weights) ? config(&d, o, table) : NULL;
  if (!config_g) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  accessor(&d, "model", model_g);
  accessor(&d, "config", config_g);
  if (o->bundle)
    bundle_api(&d, size_type, model_g, config_g);
  return 0;
}
