/* Private to frontend/: what the phases share with each other and with the
 * frontend's tests, but not with the rest of sparsec. */
#ifndef SPARSEC_FRONTEND_INTERNAL_H
#define SPARSEC_FRONTEND_INTERNAL_H

#include <stdlib.h>
#include <string.h>

#include "frontend.h"

/* Limits that keep hostile input from exhausting the stack or the screen. */
#define MAX_NESTING 64      /* brackets, braces, unary minus runs, expression height */
#define MAX_NAME_LEN 128    /* bytes in a name */
#define DIAG_MAX_ERRORS 50  /* errors shown before the rest are only counted */

/* Out of memory is not a diagnostic a spec file can fix: stop at once. */
static inline void *xrealloc(void *ptr, size_t size) {
  void *p = realloc(ptr, size ? size : 1);
  if (!p) {
    fputs("sparsec: out of memory\n", stderr);
    exit(1);
  }
  return p;
}

static inline void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fputs("sparsec: out of memory\n", stderr);
    exit(1);
  }
  return p;
}

static inline char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xrealloc(NULL, n), s, n);
}

/* ---- source.c ------------------------------------------------------------ */

/* The source a location points into. */
static inline const Source *loc_source(Loc loc, const Source *main) {
  return loc.src ? loc.src : main;
}

/* Line `line` (1-based) without its newline; NULL if the source is shorter.
 * The empty line after a final newline counts as a line. */
const char *source_line(const Source *src, int line, int *len);

/* Byte offset of a line/col position, and back. */
int source_offset(const Source *src, int line, int col);
Loc source_loc(const Source *src, int offset, int len);

/* ---- suggest.c ----------------------------------------------------------- */

/* Index of `name` in a NULL-terminated list, or -1. */
int find_name(const char *name, const char *const *names);

/* A "did you mean" note for the closest of `known` (NULL-terminated), if any
 * is close enough to be a likely typo. */
void diag_suggest(Diag *d, Loc loc, const char *name, const char *const *known);

/* ---- ast.c: builders for parser.y and override.c -------------------------- */

Expr *expr_number(Loc loc, double value, int is_integer);
Expr *expr_string(Loc loc, char *text);            /* takes ownership */
Expr *expr_ident(Loc loc, char *name);             /* takes ownership */
Expr *expr_call(Loc loc, char *callee);            /* no arguments yet */
Expr *expr_set(Loc loc);                           /* no elements yet */
Expr *expr_binary(Loc loc, char op, Expr *lhs, Expr *rhs);
Expr *expr_neg(Loc loc, Expr *operand);
void expr_free(Expr *e);

Arg *arg_new(char *key, Loc key_loc, Expr *value); /* key NULL: positional */
void arg_free(Arg *arg);
void call_add_arg(Expr *call, Arg *arg);           /* calls and sets; moves *arg, frees arg */
void call_insert_arg(Expr *call, int at, Arg *arg);

Stmt *stmt_new(StmtKind kind, Loc loc, char *keyword, char *name, Loc name_loc, Expr *value);
Stmt *stmt_block(Loc loc, Block *block);          /* takes the block's name and loc */
void stmt_free(Stmt *stmt);

Block *block_new(void);
void block_add_stmt(Block *block, Stmt *stmt);     /* moves *stmt, frees stmt */
void block_free(Block *block);

void ast_add_block(Ast *ast, Block *block);        /* moves *block, frees block */

/* Canonical text of an AST: one statement a line, nested blocks indented,
 * every binary operation in parentheses. For tests; the caller frees. */
char *ast_dump(const Ast *ast);
char *expr_dump(const Expr *e);

/* ---- parser.y ------------------------------------------------------------ */

/* One expression: the text of `src` from byte `offset` to its end (the VALUE
 * of `--set PATH=VALUE`). Locations point into src (Loc.src = src). NULL if
 * any error was reported. */
Expr *parse_expression(const Source *src, int offset, Diag *diag);

/* ---- lexer.l ------------------------------------------------------------- */

/* Every token of a source, one a line as "line:col kind [value]", through
 * "end of file". For tests; the caller frees. */
char *lex_dump(const Source *src, Diag *diag);

/* A token of lex_spans: its kind and bytes [begin, end) of the text. */
enum { LEX_NAME = 256, LEX_OTHER }; /* else the punctuation character: '{', ';' */
typedef struct LexSpan {
  int kind;
  int begin, end;
} LexSpan;

/* The tokens of text[0..len) by the parser's own rules, without parsing,
 * reporting or stopping (text.c's view of a spec for the REPL's edits):
 * names (keywords included), punctuation, and LEX_OTHER for numbers,
 * strings and whatever the parser would reject. Comments and blanks are
 * skipped. Returns the count; the caller frees *out. */
int lex_spans(const char *text, int len, LexSpan **out);

/* ---- spec.c -------------------------------------------------------------- */

/* The folder of a spec's path, against which relative paths resolve; NULL
 * for the current directory. The caller frees. */
char *spec_folder(const char *path);

/* ---- check*.c: the language's names, for --set paths ---------------------- */

#define MAX_SETTINGS 16  /* settings in one block */

extern const char *const language_blocks[];    /* model, pretrain, ...; NULL-terminated */
extern const char *const dense_keywords[];     /* l1, l2, init, bias, sign_trick */

/* The settings of a top-level block, or with per_layer of a pretrain
 * layer's block, into names[MAX_SETTINGS + 1] (NULL-terminated); 0 if
 * there is no such block. */
int language_settings(const char *block, int per_layer, const char **names);

/* Whether `block.key in {...}` is allowed (train.lr). */
int language_takes_set(const char *block, const char *key);
/* Is BLOCK.KEY a string setting (a path), which overrides may give bare? */
int language_takes_string(const char *block, const char *key);
/* Does BLOCK.KEY name files: a path string, or a data source whose
 * positional strings are paths (idx("a", "b"))? */
int language_takes_path(const char *block, const char *key);

/* ---- override.c ------------------------------------------------------------ */

/* Applies `--set` texts to a parsed AST; creates each one's Source (named
 * "--set N") in sources[i]. Returns the number of errors reported. */
int apply_overrides(Ast *ast, const Override *overrides, int n, Source **sources, Diag *diag);
/* Parses src and applies the overrides (when it parsed cleanly); *sets
 * gets their sources (free_sources). */
Ast *parse_with_overrides(Source *src, const Override *overrides, int noverrides,
                          Source ***sets, Diag *diag);
/* The overrides' sources, and the array (either may be NULL). */
void free_sources(Source **sources, int n);

/* ---- load: the whole pipeline on a Source (spec.c) ------------------------ */

/* Takes ownership of src. */
Spec *load_source(Source *src, const Override *overrides, int noverrides, FILE *out);

#endif
