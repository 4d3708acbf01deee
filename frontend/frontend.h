/* frontend: spec text -> checked Spec.
 *
 * Phases, one file each:
 *   source.c   read a file into memory, map byte offsets to line/col
 *   diag.c     diagnostics: "file:line:col: error: msg", the line, a caret
 *   lexer.l    tokens (flex, reentrant)
 *   parser.y   grammar -> generic AST (bison, pure)
 *   ast.c      AST constructors, free and dump
 *   suggest.c  looking names up; "did you mean"
 *   check*.c   AST -> Spec: names, types, ranges, defaults (one file a block)
 *   override.c command-line `--set PATH=VALUE`, applied to the AST
 *   text.c     a text's blocks and brace depth by the lexer's rules (the REPL)
 *
 * The AST is generic (blocks of `key = value` settings); all meaning lives in
 * check*.c, so adding a setting never touches the grammar. docs/language.md is
 * the user-facing description.
 */
#ifndef SPARSEC_FRONTEND_H
#define SPARSEC_FRONTEND_H

#include <math.h> /* NAN: ACT_NO_PARAM */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* ---- source.c ------------------------------------------------------------ */

typedef struct Source {
  char *path;   /* as given by the user; used in messages */
  char *text;   /* NUL-terminated contents */
  int len;
} Source;

/* A span in a source: 1-based line and column, length in bytes (>= 1). */
typedef struct Loc {
  int line, col, len;
  const Source *src;  /* NULL: the spec file; else another text (a --set override) */
} Loc;

Source *source_read(const char *path, char *err, int errlen); /* NULL + err on failure */
Source *source_from_string(const char *name, const char *text);
void source_free(Source *src);

/* ---- diag.c -------------------------------------------------------------- */

/* Collects diagnostics for one source; prints each as it is reported:
 *   model.spn:3:26: error: unknown activation 'rleu'
 *       3 |   layer h1 = dense(1000, rleu)
 *         |                          ^~~~
 *   model.spn:3:26: note: did you mean 'relu'?
 * A note at the span just shown (or with loc.line == 0) prints no source. */
typedef struct Diag {
  const Source *src;
  FILE *out;      /* where messages go (stderr by default) */
  int color;      /* ANSI colours; off unless out is a terminal */
  int errors, warnings;
  Loc last;       /* span of the previous message, not to be shown twice */
} Diag;

void diag_init(Diag *d, const Source *src, FILE *out);
void diag_error(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- ast.c / parser.y ---------------------------------------------------- */

typedef enum ExprKind {
  EXPR_NUMBER,  /* 0.01, 1000, 1e-3 */
  EXPR_STRING,  /* "path/to/file" */
  EXPR_IDENT,   /* relu */
  EXPR_CALL,    /* dense(1000, relu, l1 = 0.001) */
  EXPR_BINARY,  /* 1/255; op is one of + - * or / */
  EXPR_NEG,     /* -x */
  EXPR_SET,     /* {0.1, 0.01}: the elements are args (keys NULL) */
} ExprKind;

typedef struct Expr Expr;

typedef struct Arg {
  char *key;      /* NULL for a positional argument */
  Loc key_loc;
  Expr *value;
} Arg;

struct Expr {
  ExprKind kind;
  Loc loc;        /* whole expression */
  double number;  /* EXPR_NUMBER */
  int is_integer; /* EXPR_NUMBER written without '.', 'e' */
  char *text;     /* EXPR_STRING (unescaped), EXPR_IDENT, EXPR_CALL (callee) */
  char op;        /* EXPR_BINARY */
  Expr *lhs, *rhs;/* EXPR_BINARY; EXPR_NEG uses lhs */
  Arg *args;      /* EXPR_CALL, EXPR_SET */
  int nargs;
  int depth;      /* height of the tree: nesting is limited */
};

typedef enum StmtKind {
  STMT_ASSIGN,    /* key = value, layer name = value */
  STMT_IN,        /* key in value: a set of values to try (lr in {0.1, 0.01}) */
  STMT_BLOCK,     /* name { stmt* }: a nested block */
} StmtKind;

typedef struct Block Block;

/* `key = value`, `layer name = value` (keyword is then "layer"),
 * `key in value` or `name { ... }`. */
typedef struct Stmt {
  StmtKind kind;
  char *keyword;  /* "layer" or NULL */
  char *name;
  Loc name_loc;
  Expr *value;    /* NULL for STMT_BLOCK */
  Block *block;   /* STMT_BLOCK: its name and loc are the statement's */
  Loc loc;        /* whole statement */
} Stmt;

struct Block {
  char *name;     /* model, train, data */
  Loc loc;        /* the block's name */
  Stmt *stmts;
  int nstmts;
};

typedef struct Ast {
  Block *blocks;
  int nblocks;
} Ast;

/* Parse a whole source. Syntax errors are reported through diag; the parser
 * recovers at statement and block boundaries so that several errors show in
 * one run. Returns NULL only if nothing could be parsed; callers check
 * diag->errors. */
Ast *parse_source(const Source *src, Diag *diag);
void ast_free(Ast *ast);

/* ---- check*.c: the checked model ------------------------------------------ */

/* Every setting has a default; a Loc with line 0 means "not written in the
 * file" (the default applies). */

/* The activations, from activations.def (their maths: ir/activations.c,
 * backend/activations.c). */
typedef enum Activation {
#define ACT(id, keyword, parameter, lo, hi, flags) ACT_##id,
#include "activations.def"
#undef ACT
  ACT_COUNT_
} Activation;

#define ACT_NO_PARAM NAN      /* activations.def: takes no parameter */
enum {
  ACT_EXACT_ZEROS = 1 << 0,   /* exactly 0 over a half-line: the sparse passes use it */
  ACT_GRAD_FROM_X = 1 << 1,   /* the derivative reads the pre-activation, not the output */
  ACT_HEAD_ONLY = 1 << 2,     /* an output layer's (softmax): no elementwise maths */
  ACT_IDENTITY = 1 << 3,      /* linear: no op */
};
typedef struct ActivationInfo {
  const char *keyword;
  double parameter;           /* default; NAN (ACT_NO_PARAM) if it takes none */
  double lo, hi;              /* lo <= parameter < hi */
  int flags;
} ActivationInfo;
const ActivationInfo *activation_info(Activation a);
int activation_has(Activation a, int flag);

/* The output head: output activation + loss. Targets are one-hot class
 * labels for all three; the predicted class is the arg max. */
typedef enum Loss {
  LOSS_NLL,           /* softmax output + negative log-likelihood */
  LOSS_CROSS_ENTROPY, /* sigmoid output + cross-entropy summed over outputs */
  LOSS_SQUARED_ERROR, /* linear output + 1/2 squared error summed over outputs */
  LOSS_COUNT_
} Loss;

typedef enum InitKind {
  INIT_GLOROT_UNIFORM, /* U[-a, a], a = sqrt(6/(fan_in+fan_out)): the paper's */
  INIT_HE_NORMAL,      /* N(0, 2/fan_in) */
  INIT_UNIFORM,        /* U[-a, a] with a given */
} InitKind;

typedef struct InitSpec {
  InitKind kind;
  double a;         /* INIT_UNIFORM */
  Loc loc;
} InitSpec;

typedef struct LayerSpec {
  char *name;
  Loc loc;          /* the layer's name in the source */
  int units;
  Activation act;
  double act_param; /* its parameter (leaky_relu(0.1)): the default if not written */
  double l1;        /* lambda of the L1 penalty on this layer's activations; 0 = none */
  double l2;        /* lambda of L2 weight decay on this layer's weights; 0 = none */
  InitSpec init;    /* weights */
  double bias;      /* initial value of every bias */
  int sign_trick;   /* a fixed random half of the units multiplied by -1 */
  Loc l1_loc, l2_loc, act_loc;
} LayerSpec;

typedef enum DataFormat {
  DATA_IDX,         /* idx("images", "labels") */
  DATA_CSV,         /* csv("file.csv", label = "column"): a header row, one example a row */
  DATA_LIBSVM,      /* libsvm("file.svm"): sparse rows `label index:value ...`, kept sparse */
} DataFormat;

typedef struct DataSource {
  DataFormat format;
  char *images;     /* IDX: images file; CSV, libsvm: the file. Resolved against the spec's folder */
  char *labels;     /* IDX: labels file; CSV, libsvm: NULL */
  char *label_column; /* CSV: the header name of the label column */
  Loc loc;
} DataSource;

typedef enum NoiseKind {
  NOISE_MASKING,     /* each input zeroed with probability p (the paper's, p = 0.25) */
  NOISE_SALT_PEPPER, /* each input set to 0 or 1 (equally likely) with probability p */
  NOISE_GAUSSIAN,    /* x + N(0, sigma^2) */
} NoiseKind;

typedef struct NoiseSpec {
  NoiseKind kind;
  double p;          /* probability, or sigma for NOISE_GAUSSIAN */
  Loc loc;
} NoiseSpec;

/* Reconstruction strategies for rectifier codes (paper, section 3.2), in
 * the paper's order. */
typedef enum Reconstruction {
  RECON_SOFTPLUS_QUADRATIC, /* (1) softplus decoder, quadratic cost (best on images) */
  RECON_SCALED_SIGMOID_CE,  /* (2) codes / max(codes), sigmoid decoder, cross-entropy (text) */
  RECON_LINEAR_QUADRATIC,   /* (3) linear decoder, quadratic cost; targets before or after */
  RECON_RELU_QUADRATIC,     /* (4) rectifier decoder, quadratic cost */
  RECON_COUNT_,
} Reconstruction;

/* What a stage reconstructs (strategy 3 chooses): the layer below's codes
 * after its activation, or its pre-activations x W + b before it. The first
 * hidden layer has no layer below: its target is the input either way. */
typedef enum ReconTargets {
  TARGETS_AFTER,
  TARGETS_BEFORE,
  TARGETS_COUNT_,
} ReconTargets;

/* One greedy denoising-autoencoder stage: the block's settings with this
 * layer's overrides applied. */
typedef struct PretrainStage {
  int layer;         /* index into Spec.layers (a hidden layer) */
  NoiseSpec noise;
  Reconstruction recon;
  ReconTargets targets;
  int tied;          /* decoder weights are the encoder's transposed */
  int epochs, batch;
  double lr;
  double l1;         /* L1 on the code */
  Loc loc;           /* the layer's name in `layers` (or the block) */
  Loc recon_loc, targets_loc; /* their values as written; line 0: the default */
} PretrainStage;

typedef enum MetricsFormat { METRICS_CSV, METRICS_JSONL } MetricsFormat;

#define SPEC_MAX_UNITS 1000000
#define SPEC_MAX_LAYERS 64
#define SPEC_MAX_SWEEP 16
/* `seeds = N`: the whole run repeated with N seeds for error bars; a
 * bound that keeps a typo (1e6) from queueing days of training. */
#define SPEC_MAX_SEEDS 1000
#define SPEC_MAX_SAVE_EVERY 1000000 /* epochs between state saves */

typedef struct Spec {
  Source *src;            /* owned: locations in the spec point into it */
  Source **set_sources;   /* owned: the --set texts, which locations may point into */
  int nset_sources;
  char *name;             /* file name without folder and .spn */
  int input;              /* input width */
  Loc input_loc;
  LayerSpec *layers;      /* hidden layers then the output layer */
  int nlayers;
  Loss loss;
  struct {
    int present;
    PretrainStage *stages; /* in order of `layers` */
    int nstages;
    Loc loc;
  } pretrain;
  struct {
    double lr;            /* = lrs[0] when there is no sweep */
    double lrs[SPEC_MAX_SWEEP]; /* `lr in {...}`: each is trained, the best validation kept */
    int nlrs;             /* >= 1 */
    double momentum;      /* 0 = plain SGD */
    int batch;
    int epochs;
    int patience;         /* early stopping: epochs without a better validation error; 0 = off */
    uint64_t seed;
    int seeds;            /* the run repeated with seed, seed+1, ...: mean and sd; 1 = once */
    Loc lr_loc;
  } train;
  struct {
    DataSource train, test;
    double scale;         /* multiplies raw feature values, e.g. 1/255 */
    int validation;       /* examples held out from the end of the train set, or */
    double validation_fraction; /* a fraction of it (validation = 0.2); 0 if a count */
    int limit;            /* use only the first `limit` train examples; 0 = all */
  } data;
  struct {
    char *metrics;        /* per-epoch metrics file, NULL = none */
    MetricsFormat metrics_format; /* from `format` or the extension (.csv, .jsonl) */
    char *checkpoint;     /* best-validation parameters, safetensors; NULL = none */
    char *state;          /* resumable state of the run, safetensors; NULL = not given
                           * (the driver derives a default from `checkpoint`) */
    int save_every;       /* write the state every N epochs; 0 = only at the end or
                           * on interrupt; default 1 */
    int progress;         /* -1 auto (a bar on a terminal), 0 off, 1 on */
    Loc checkpoint_loc, metrics_loc, state_loc; /* the paths' values, for messages
                                                 * about the files; line 0 = not written */
  } output;
} Spec;

/* Check an AST against the language; NULL if any error was reported.
 * `spec_dir` resolves relative data paths (NULL = current directory). */
Spec *check_ast(const Ast *ast, Source *src, const char *spec_dir, Diag *diag);

/* read + parse + check; messages go to `out`. NULL on any error. On success
 * the Spec owns the source. */
Spec *spec_load(const char *path, FILE *out);
Spec *spec_load_string(const char *name, const char *text, FILE *out);
void spec_free(Spec *spec);

/* suggest.c: the known name `name` is most likely a typo of (at most two
 * edits away), or NULL: what every "did you mean" uses. */
const char *closest_name(const char *name, const char *const *known);

const char *activation_name(Activation a);
/* The activation as a spec writes it: "relu", "leaky_relu(0.1)"; returns buf. */
const char *activation_text(Activation a, double param, char *buf, size_t size);
const char *loss_name(Loss l);
const char *noise_name(NoiseKind n);
/* 1 when the noise leaves every zero of its input zero (masking does;
 * salt-and-pepper and gaussian do not): the corrupted codes stay sparse. */
int noise_keeps_zeros(NoiseKind n);
const char *reconstruction_name(Reconstruction r);
const char *targets_name(ReconTargets t);

/* ---- override.c: command-line settings ------------------------------------ */

/* `--set PATH=VALUE`: PATH is block.setting (train.lr), layer.setting
 * (h2.l1: a keyword of that layer's dense(...)), or pretrain.layer.setting.
 * VALUE is parsed as an expression. Applied to the AST before checking, so
 * the value is checked exactly like the file; errors point into the
 * override text, shown as source "--set 1" etc. */
typedef struct Override {
  const char *text;       /* PATH=VALUE as typed */
} Override;

/* read + parse + apply overrides + check. NULL on any error. */
Spec *spec_load_with(const char *path, const Override *overrides, int noverrides, FILE *out);

/* ---- text.c: a spec's text, as the REPL edits it -------------------------- */

/* The same for a text in memory: `name` is the file name in messages, and
 * relative data paths resolve against its folder. */
Spec *spec_load_text_with(const char *name, const char *text, const Override *overrides,
                          int noverrides, FILE *out);

/* The spec `text` (named `name` in messages) with `overrides` applied,
 * printed to `out` as spec text that checks to the same Spec: a statement a
 * line, comments and layout not kept. Relative paths are joined to the
 * folder `paths_from` (NULL: kept as written). 0, or -1 after messages. */
int spec_print_with(const char *name, const char *text, const Override *overrides, int noverrides,
                    const char *paths_from, FILE *out, FILE *messages);

/* `NAME { ... }` at the top level of a spec text: bytes [begin, end) from
 * the name to just after the closing brace. */
typedef struct TextBlock {
  char name[64];
  int begin, end;
} TextBlock;

/* The top-level blocks of `text` in order, at most `max`, found by the
 * lexer's rules (comments, strings, ';' between blocks) without parsing
 * their contents; returns the count, or -1 if the text holds anything
 * else (then *bad is the offset of the first thing that is not a block). */
int spec_text_blocks(const char *text, TextBlock *out, int max, int *bad);

/* '{' minus '}' in one line, outside strings and comments: how far a line
 * typed at the prompt opens a block (0 again: the block has ended). */
int spec_text_brace_delta(const char *line);

/* The language's names, for completion: the top-level blocks (model,
 * pretrain, train, data, output), NULL-terminated; the settings of a block,
 * or with per_layer of a pretrain layer's block, into names[max]
 * (NULL-terminated), returning the count (0: no such block); and what
 * LAYER.KEY may name (units, activation, then dense()'s keywords). */
const char *const *spec_block_names(void);
int spec_block_settings(const char *block, int per_layer, const char **names, int max);
const char *const *spec_layer_keys(void);

#endif
