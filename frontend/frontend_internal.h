/* Private to frontend/: what the phases share with each other and with the
 * frontend's tests, but not with the rest of sparsec. */
#ifndef SPARSEC_FRONTEND_INTERNAL_H
#define SPARSEC_FRONTEND_INTERNAL_H

#include <stdlib.h>
#include <string.h>

#include "frontend.h"

/* Out of memory is not a diagnostic a spec file can fix: stop at once. */
static inline void *xrealloc(void *ptr, size_t size) {
  void *p = realloc(ptr, size ? size : 1);
  if (!p) {
    fputs("sparsec: out of memory\n", stderr);
    abort();
  }
  return p;
}

static inline void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fputs("sparsec: out of memory\n", stderr);
    abort();
  }
  return p;
}

static inline char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xrealloc(NULL, n), s, n);
}

/* ---- source.c ------------------------------------------------------------ */

/* Line `line` (1-based) without its newline; NULL if the source is shorter.
 * The empty line after a final newline counts as a line. */
const char *source_line(const Source *src, int line, int *len);

/* Byte offset of a line/col position, and back. */
int source_offset(const Source *src, int line, int col);
Loc source_loc(const Source *src, int offset, int len);

/* ---- ast.c: builders for parser.y ---------------------------------------- */

Expr *expr_number(Loc loc, double value, int is_integer);
Expr *expr_string(Loc loc, char *text);            /* takes ownership */
Expr *expr_ident(Loc loc, char *name);             /* takes ownership */
Expr *expr_call(Loc loc, char *callee);            /* no arguments yet */
Expr *expr_binary(Loc loc, char op, Expr *lhs, Expr *rhs);
Expr *expr_neg(Loc loc, Expr *operand);
void expr_free(Expr *e);

Arg *arg_new(char *key, Loc key_loc, Expr *value); /* key NULL: positional */
void arg_free(Arg *arg);
void call_add_arg(Expr *call, Arg *arg);           /* moves *arg, frees arg */

Stmt *stmt_new(Loc loc, char *keyword, char *name, Loc name_loc, Expr *value);
void stmt_free(Stmt *stmt);

Block *block_new(void);
void block_add_stmt(Block *block, Stmt *stmt);     /* moves *stmt, frees stmt */
void block_free(Block *block);

void ast_add_block(Ast *ast, Block *block);        /* moves *block, frees block */

/* Canonical text of an AST: one statement a line, every binary operation in
 * parentheses. For tests and debugging; the caller frees. */
char *ast_dump(const Ast *ast);

/* ---- lexer.l ------------------------------------------------------------- */

/* Every token of a source, one a line as "line:col kind [value]", through
 * "end of file". For tests; the caller frees. */
char *lex_dump(const Source *src, Diag *diag);

#endif
