/* frontend: spec text -> checked Spec.
 *
 * Phases, one file each:
 *   source.c   read a file into memory, map byte offsets to line/col
 *   diag.c     diagnostics: "file:line:col: error: msg", the line, a caret
 *   lexer.l    tokens (flex, reentrant)
 *   parser.y   grammar -> generic AST (bison, pure)
 *   ast.c      AST constructors and free
 *   check.c    AST -> Spec: names, types, ranges, defaults
 *
 * The AST is generic (blocks of `key = value` settings); all meaning lives in
 * check.c, so adding a setting never touches the grammar. docs/language.md is
 * the user-facing description.
 */
#ifndef SPARSEC_FRONTEND_H
#define SPARSEC_FRONTEND_H

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
  Arg *args;      /* EXPR_CALL */
  int nargs;
};

/* `key = value` or `layer name = value` (keyword is then "layer"). */
typedef struct Stmt {
  char *keyword;  /* "layer" or NULL */
  char *name;
  Loc name_loc;
  Expr *value;
  Loc loc;        /* whole statement */
} Stmt;

typedef struct Block {
  char *name;     /* model, train, data */
  Loc loc;        /* the block's name */
  Stmt *stmts;
  int nstmts;
} Block;

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

/* ---- check.c: the checked model ------------------------------------------ */

typedef enum Activation {
  ACT_RELU,
  ACT_SOFTMAX,
} Activation;

typedef enum Loss {
  LOSS_NLL,       /* softmax output + negative log-likelihood */
} Loss;

typedef struct LayerSpec {
  char *name;
  Loc loc;        /* the layer's name in the source */
  int units;
  Activation act;
  double l1;      /* lambda of the L1 penalty on this layer's activations; 0 = none */
} LayerSpec;

typedef struct DataSource {
  char *images;   /* paths resolved against the spec file's folder */
  char *labels;
  Loc loc;
} DataSource;

#define SPEC_MAX_UNITS 1000000
#define SPEC_MAX_LAYERS 64

typedef struct Spec {
  Source *src;            /* owned: locations in the spec point into it */
  char *name;             /* file name without folder and .spn */
  int input;              /* input width */
  Loc input_loc;
  LayerSpec *layers;      /* hidden layers then the output layer */
  int nlayers;
  Loss loss;
  struct {
    double lr;
    int batch;
    int epochs;
    uint64_t seed;
  } train;
  struct {
    DataSource train, test;
    double scale;         /* multiplies raw pixel values, e.g. 1/255 */
    int validation;       /* examples held out from the end of the train set */
  } data;
} Spec;

/* Check an AST against the language; NULL if any error was reported.
 * `spec_dir` resolves relative data paths (NULL = current directory). */
Spec *check_ast(const Ast *ast, Source *src, const char *spec_dir, Diag *diag);

/* read + parse + check; messages go to `out`. NULL on any error. On success
 * the Spec owns the source. */
Spec *spec_load(const char *path, FILE *out);
Spec *spec_load_string(const char *name, const char *text, FILE *out);
void spec_free(Spec *spec);

const char *activation_name(Activation a);
const char *loss_name(Loss l);

#endif
