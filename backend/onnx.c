/* onnx.c: the inference function as a standard ONNX model (docs/export.md).
 *
 * The spec's module is built unoptimised and its `infer` program is read
 * op by op (the same program predict runs, before the passes fuse it):
 *
 *   matmul -> MatMul          bias_add -> Add        act -> the table below
 *   scale_cols -> Mul by the signs (the sign trick, a constant initializer)
 *   softmax_nll -> Softmax(axis=1)   sigmoid_ce -> Sigmoid   squared_error -> none
 *
 * The graph's input "x" takes raw values, as predict does: the data's scale
 * is its first op (a Mul), skipped when it is 1. Its output "probs" is what
 * predict prints. Parameters and sign-trick constants become initializers,
 * found by name among the weights' tensors. The model is built as protobuf-c
 * messages of the schema python3-onnx ships (generated at build time) and
 * packed by libprotobuf-c: no wire format is written here. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#ifdef SPARSEC_ONNX_MISSING

int onnx_export(const Spec *spec, const SrState *weights, const char *path, char *err,
                int errlen) {
  (void)spec, (void)weights, (void)path;
  snprintf(err, errlen, "%s", SPARSEC_ONNX_MISSING);
  return -1;
}

const char *onnx_unavailable(void) {
  return SPARSEC_ONNX_MISSING;
}

#else

#include "onnx.pb-c.h"

/* Opset 13: every op used here has had its current meaning since 13
 * (Softmax on one axis), and Debian's onnx 1.12 checks 13 to 17. IR
 * version 7 is the one that came with opset 13. */
#define ONNX_OPSET 13
#define ONNX_IR_VERSION 7

/* ---- each activation's ONNX op ---------------------------------------------- */

/* op: the ONNX operator (NULL: refused, `refused` says why); alpha: the
 * activation's parameter is the op's attribute alpha. */
typedef struct OnnxAct {
  const char *op;
  int alpha;
  const char *refused;
} OnnxAct;

/* One entry per row of activations.def: a row added there without one
 * here does not compile (onnx_ID undeclared). */
#define onnx_RELU {"Relu", 0, NULL}
#define onnx_TANH {"Tanh", 0, NULL}
#define onnx_SOFTPLUS {"Softplus", 0, NULL}   /* log(1 + e^x), as act_SOFTPLUS */
#define onnx_SIGMOID {"Sigmoid", 0, NULL}
#define onnx_LINEAR {"Identity", 0, NULL}     /* build.c emits no op for it */
#define onnx_SOFTMAX {"Softmax", 0, NULL}     /* the head's: softmax_nll below */
#define onnx_LEAKY_RELU {"LeakyRelu", 1, NULL} /* x < 0: alpha x, as act_LEAKY_RELU */
#define onnx_ABS {"Abs", 0, NULL}

static const OnnxAct onnx_acts[ACT_COUNT_] = {
#define ACT(id, keyword, parameter, lo, hi, flags) [ACT_##id] = onnx_##id,
#include "activations.def"
#undef ACT
};

/* ---- the graph under construction ------------------------------------------- */

typedef struct Graph {
  const Module *m;
  const SrState *w;
  Onnx__NodeProto **nodes;
  size_t nnodes;
  Onnx__TensorProto **inits;
  size_t ninits;
  size_t cap;            /* of nodes and of inits */
  const char **name;     /* per value: its tensor's name once defined, else NULL */
  const char **used;     /* every tensor name so far: names must be unique */
  size_t nused, cap_used;
  void **owned;          /* everything allocated, freed at once after packing */
  size_t nowned, cap_owned;
  char *err;
  int errlen;
  int failed;            /* a message is in err */
} Graph;

/* The first message stays: what follows a failure is its consequence. */
__attribute__((format(printf, 2, 3))) static int fail(Graph *g, const char *fmt, ...) {
  if (!g->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, g->errlen, fmt, ap);
    va_end(ap);
  }
  g->failed = 1;
  return -1;
}

/* Zeroed memory that lives until graph_free; NULL after a message. */
static void *alloc(Graph *g, size_t size) {
  if (g->nowned == g->cap_owned) {
    size_t cap = g->cap_owned ? 2 * g->cap_owned : 64;
    void **more = realloc(g->owned, cap * sizeof *more);
    if (!more) {
      fail(g, "out of memory");
      return NULL;
    }
    g->owned = more, g->cap_owned = cap;
  }
  void *p = calloc(1, size ? size : 1);
  if (!p) {
    fail(g, "out of memory");
    return NULL;
  }
  return g->owned[g->nowned++] = p;
}

static char *copy(Graph *g, const char *s) {
  char *c = alloc(g, strlen(s) + 1);
  return c ? strcpy(c, s) : NULL;
}

static int is_used(const Graph *g, const char *name) {
  for (size_t i = 0; i < g->nused; i++)
    if (strcmp(g->used[i], name) == 0)
      return 1;
  return 0;
}

/* `want`, or want#N if a tensor has that name already: a hidden layer
 * may be called x or probs, and ONNX names each tensor once. */
static const char *unique_name(Graph *g, const char *want) {
  char buf[300];
  snprintf(buf, sizeof buf, "%s", want);
  for (int n = 1; is_used(g, buf); n++)
    snprintf(buf, sizeof buf, "%s#%d", want, n);
  if (g->nused == g->cap_used) {
    size_t cap = g->cap_used ? 2 * g->cap_used : 64;
    const char **more = realloc(g->used, cap * sizeof *more);
    if (!more) {
      fail(g, "out of memory");
      return NULL;
    }
    g->used = more, g->cap_used = cap;
  }
  char *name = copy(g, buf);
  if (name)
    g->used[g->nused++] = name;
  return name;
}

/* ---- messages --------------------------------------------------------------- */

static Onnx__AttributeProto *attribute(Graph *g, const char *name) {
  Onnx__AttributeProto *a = alloc(g, sizeof *a);
  if (!a)
    return NULL;
  onnx__attribute_proto__init(a);
  a->name = copy(g, name);
  a->has_type = 1;
  return a;
}

static Onnx__AttributeProto *float_attribute(Graph *g, const char *name, double value) {
  Onnx__AttributeProto *a = attribute(g, name);
  if (a) {
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = (float)value;
  }
  return a;
}

static Onnx__AttributeProto *int_attribute(Graph *g, const char *name, long value) {
  Onnx__AttributeProto *a = attribute(g, name);
  if (a) {
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = value;
  }
  return a;
}

/* Appends node OP(a[, b]) -> out, with at most one attribute. */
static Onnx__NodeProto *node(Graph *g, const char *op, const char *a, const char *b,
                             const char *out, Onnx__AttributeProto *attr) {
  Onnx__NodeProto *n = alloc(g, sizeof *n);
  char **in = alloc(g, 2 * sizeof *in), **outs = alloc(g, sizeof *outs);
  Onnx__AttributeProto **attrs = alloc(g, sizeof *attrs);
  if (!n || !in || !outs || !attrs || !a || !out || g->failed)
    return NULL;
  onnx__node_proto__init(n);
  n->op_type = copy(g, op);
  n->name = copy(g, out); /* one output each: the node is named after it */
  in[0] = (char *)a, in[1] = (char *)b;
  n->input = in, n->n_input = b ? 2 : 1;
  outs[0] = (char *)out;
  n->output = outs, n->n_output = 1;
  attrs[0] = attr;
  n->attribute = attrs, n->n_attribute = attr ? 1 : 0;
  if (g->nnodes == g->cap)
    return fail(g, "too many ONNX nodes"), NULL;
  return g->nodes[g->nnodes++] = n;
}

/* A float tensor of `ndims` dims (0: a scalar) over `data`, which must
 * outlive the packing (the weights' own buffers: nothing is copied). */
static Onnx__TensorProto *initializer(Graph *g, const char *name, int ndims, const int64_t *dims,
                                      const float *data, size_t count) {
  Onnx__TensorProto *t = alloc(g, sizeof *t);
  int64_t *d = alloc(g, 2 * sizeof *d);
  if (!t || !d)
    return NULL;
  onnx__tensor_proto__init(t);
  for (int i = 0; i < ndims; i++) /* a scalar's dims are NULL: no memcpy from NULL */
    d[i] = dims[i];
  t->dims = d, t->n_dims = (size_t)ndims;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->float_data = (float *)data, t->n_float_data = count;
  t->name = (char *)name;
  if (g->ninits == g->cap)
    return fail(g, "too many ONNX initializers"), NULL;
  return g->inits[g->ninits++] = t;
}

/* A float tensor [batch x cols], the batch size named N. */
static Onnx__ValueInfoProto *matrix_info(Graph *g, const char *name, int cols) {
  Onnx__ValueInfoProto *v = alloc(g, sizeof *v);
  Onnx__TypeProto *type = alloc(g, sizeof *type);
  Onnx__TypeProto__Tensor *tensor = alloc(g, sizeof *tensor);
  Onnx__TensorShapeProto *shape = alloc(g, sizeof *shape);
  Onnx__TensorShapeProto__Dimension *rows = alloc(g, sizeof *rows), *width = alloc(g, sizeof *width);
  Onnx__TensorShapeProto__Dimension **dims = alloc(g, 2 * sizeof *dims);
  if (!v || !type || !tensor || !shape || !rows || !width || !dims)
    return NULL;
  onnx__tensor_shape_proto__dimension__init(rows);
  rows->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
  rows->dim_param = copy(g, "N");
  onnx__tensor_shape_proto__dimension__init(width);
  width->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  width->dim_value = cols;
  dims[0] = rows, dims[1] = width;
  onnx__tensor_shape_proto__init(shape);
  shape->dim = dims, shape->n_dim = 2;
  onnx__type_proto__tensor__init(tensor);
  tensor->has_elem_type = 1;
  tensor->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tensor->shape = shape;
  onnx__type_proto__init(type);
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tensor;
  onnx__value_info_proto__init(v);
  v->name = (char *)name;
  v->type = type;
  return v;
}

/* ---- values ----------------------------------------------------------------- */

/* The weights' tensor of a parameter or sign-trick constant, by name, of
 * the value's shape: else a message naming it. */
static const float *weight(Graph *g, const Value *v) {
  const SrModel *model = g->w->model;
  for (int i = 0; i < model->nslots; i++) {
    const SrSlot *s = &model->slots[i];
    if (!sr_slot_is_model(s->kind) || !s->name || strcmp(s->name, v->name) != 0)
      continue;
    if (s->rows != v->rows || s->cols != v->cols) {
      fail(g, "the weights' tensor '%s' has shape [%d, %d], the model expects [%d, %d]",
           v->name, s->rows, s->cols, v->rows, v->cols);
      return NULL;
    }
    return g->w->slots[i];
  }
  fail(g, "the weights have no tensor '%s', which the model's inference reads", v->name);
  return NULL;
}

/* The name of the tensor an op reads: a value computed before, or a
 * parameter or constant, made an initializer on its first use. */
static const char *operand(Graph *g, int id) {
  if (g->name[id])
    return g->name[id];
  const Value *v = &g->m->values[id];
  if (v->kind != VAL_PARAM && v->kind != VAL_CONST) {
    fail(g, "internal error: infer reads '%s' before it is computed", v->name);
    return NULL;
  }
  const float *data = weight(g, v);
  const char *name = data ? unique_name(g, v->name) : NULL;
  int64_t dims[2] = {v->rows, v->cols};
  if (!name || !initializer(g, name, 2, dims, data, (size_t)v->rows * (size_t)v->cols))
    return NULL;
  return g->name[id] = name;
}

/* The name of the tensor an op defines; predictions are "probs". */
static const char *result(Graph *g, int id) {
  if (id == g->m->probs)
    return g->name[id] = "probs"; /* reserved first: unique */
  return g->name[id] = unique_name(g, g->m->values[id].name);
}

/* ---- the ops ---------------------------------------------------------------- */

static int activation(Graph *g, const Op *op) {
  const OnnxAct *a = &onnx_acts[op->act];
  const char *keyword = activation_info(op->act)->keyword;
  if (!a->op)
    return fail(g, "the activation '%s' cannot be exported to ONNX: %s", keyword, a->refused);
  Onnx__AttributeProto *alpha = a->alpha ? float_attribute(g, "alpha", op->coef) : NULL;
  const char *in = operand(g, op->in[0]);
  return node(g, a->op, in, NULL, result(g, op->out[0]), alpha) ? 0 : -1;
}

static int binary(Graph *g, const char *onnx_op, const Op *op) {
  const char *a = operand(g, op->in[0]), *b = operand(g, op->in[1]);
  return b && node(g, onnx_op, a, b, result(g, op->out[0]), NULL) ? 0 : -1;
}

/* The head's predictions (out[0]); its loss needs labels and is left out. */
static int head(Graph *g, const char *onnx_op, Onnx__AttributeProto *attr, const Op *op) {
  return node(g, onnx_op, operand(g, op->in[0]), NULL, result(g, op->out[0]), attr) ? 0 : -1;
}

/* Every op infer may hold before the passes; a new op must be placed here
 * (no default: -Wswitch). */
static int translate(Graph *g, const Op *op) {
  switch (op->kind) {
  case OP_MATMUL:
    if (op->trans_a || op->trans_b)
      return fail(g, "internal error: a transposed matmul in infer");
    return binary(g, "MatMul", op);
  case OP_BIAS_ADD: return binary(g, "Add", op); /* [N x u] + [1 x u] broadcasts */
  case OP_ACT: return activation(g, op);
  case OP_SCALE_COLS: return binary(g, "Mul", op);
  case OP_SOFTMAX_NLL: /* by row, as the kernel: axis 1 of [N x classes] */
    return head(g, onnx_acts[ACT_SOFTMAX].op, int_attribute(g, "axis", 1), op);
  case OP_SIGMOID_CE: return head(g, onnx_acts[ACT_SIGMOID].op, NULL, op);
  case OP_SQUARED_ERROR: /* a linear output is its own prediction; the loss needs labels */
  case OP_COUNT_ZERO:    /* the runtime's sparsity and overflow counts */
  case OP_COUNT_NONFINITE:
    return 0;
  case OP_L1: case OP_L2: case OP_MAX_ABS: case OP_DIV_SCALAR: case OP_NOISE: case OP_STEP:
  case OP_ADD: case OP_SOFTMAX_NLL_GRAD: case OP_SIGMOID_CE_GRAD: case OP_SQUARED_ERROR_GRAD:
  case OP_ACT_GRAD: case OP_L1_GRAD: case OP_L2_GRAD: case OP_BIAS_GRAD: case OP_BIAS_ACT:
  case OP_BIAS_ACT_GRAD: case OP_SGD_UPDATE: case OP_MOMENTUM_UPDATE: case OP_MATMUL_SGD:
  case OP_ACTIVE_UNITS: case OP_SPARSE_MATMUL: case OP_SPARSE_BACKWARD_SGD: case OP_GRAD_READY:
  case OP_COUNT_:
    break;
  }
  return fail(g, "internal error: the unoptimised infer program has a '%s' op", op_name(op->kind));
}

/* x -> x.scaled = x * scale: the graph takes the raw values predict reads. */
static int input_scale(Graph *g, double scale) {
  const char *x = unique_name(g, "x");
  g->name[g->m->x] = x;
  if (scale == 1)
    return x ? 0 : -1;
  float *s = alloc(g, sizeof *s);
  const char *name = unique_name(g, "x.scale");
  if (!s || !name || !initializer(g, name, 0, NULL, s, 1))
    return -1;
  *s = (float)scale; /* as the readers scale: (float)raw * (float)scale */
  const char *scaled = unique_name(g, "x.scaled");
  if (!node(g, "Mul", x, name, scaled, NULL))
    return -1;
  g->name[g->m->x] = scaled;
  return 0;
}

/* ---- the model -------------------------------------------------------------- */

static int build_graph(Graph *g, const Spec *spec, Onnx__GraphProto *graph) {
  const Module *m = g->m;
  g->cap = 2 * (size_t)m->infer.nops + 4;
  g->nodes = alloc(g, g->cap * sizeof *g->nodes);
  g->inits = alloc(g, g->cap * sizeof *g->inits);
  g->name = alloc(g, (size_t)m->nvalues * sizeof *g->name);
  if (g->failed || !unique_name(g, "probs") || input_scale(g, spec->data.scale) != 0)
    return -1;
  for (int i = 0; i < m->infer.nops; i++)
    if (translate(g, &m->infer.ops[i]) != 0)
      return -1;
  Onnx__ValueInfoProto **in = alloc(g, sizeof *in), **out = alloc(g, sizeof *out);
  if (!in || !out || !(in[0] = matrix_info(g, "x", spec->input)) ||
      !(out[0] = matrix_info(g, "probs", m->classes)))
    return -1;
  onnx__graph_proto__init(graph);
  graph->name = spec->name;
  graph->node = g->nodes, graph->n_node = g->nnodes;
  graph->initializer = g->inits, graph->n_initializer = g->ninits;
  graph->input = in, graph->n_input = 1;
  graph->output = out, graph->n_output = 1;
  return 0;
}

static int write_model(Onnx__GraphProto *graph, const char *path, char *err, int errlen) {
  Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[] = {&opset};
  opset.domain = "";
  opset.has_version = 1, opset.version = ONNX_OPSET;
  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  model.has_ir_version = 1, model.ir_version = ONNX_IR_VERSION;
  model.opset_import = opsets, model.n_opset_import = 1;
  model.producer_name = "sparsec";
  model.graph = graph;
  size_t size = onnx__model_proto__get_packed_size(&model);
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) {
    snprintf(err, errlen, "%s: out of memory for %zu bytes", path, size);
    return -1;
  }
  onnx__model_proto__pack(&model, buf);
  int rc = write_file_atomic(path, buf, size, 0, err, errlen);
  free(buf);
  return rc;
}

static void graph_free(Graph *g) {
  for (size_t i = 0; i < g->nowned; i++)
    free(g->owned[i]);
  free(g->owned);
  free(g->used);
}

int onnx_export(const Spec *spec, const SrState *weights, const char *path, char *err,
                int errlen) {
  Module *m = module_build(spec, err, errlen); /* unoptimised: the ops above */
  if (!m)
    return -1;
  Graph g = {.m = m, .w = weights, .err = err, .errlen = errlen};
  Onnx__GraphProto graph;
  int rc = build_graph(&g, spec, &graph);
  if (rc == 0)
    rc = write_model(&graph, path, err, errlen);
  graph_free(&g);
  module_free(m);
  return rc;
}

const char *onnx_unavailable(void) {
  return NULL;
}

#endif
