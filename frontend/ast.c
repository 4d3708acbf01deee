/* ast.c: building, freeing and printing the generic AST. The parser owns
 * nothing for long: every builder moves its pieces into the tree, so after a
 * syntax error bison's %destructor and ast_free are all that is needed.
 * Recursion here is safe because the parser limits nesting (MAX_NESTING). */
#include "frontend_internal.h"

/* Room for element n of an array grown only through here: capacities are
 * the powers of two, so a 10 MB file of statements is not quadratic. */
static void *grow(void *array, int n, size_t size) {
  if (n > 0 && (n & (n - 1)) != 0)
    return array;
  return xrealloc(array, (n ? 2 * (size_t)n : 1) * size);
}

static int max(int a, int b) {
  return a > b ? a : b;
}

/* ---- expressions --------------------------------------------------------- */

static Expr *expr_new(ExprKind kind, Loc loc) {
  Expr *e = xcalloc(1, sizeof *e);
  e->kind = kind;
  e->loc = loc;
  e->depth = 1;
  return e;
}

Expr *expr_number(Loc loc, double value, int is_integer) {
  Expr *e = expr_new(EXPR_NUMBER, loc);
  e->number = value;
  e->is_integer = is_integer;
  return e;
}

Expr *expr_string(Loc loc, char *text) {
  Expr *e = expr_new(EXPR_STRING, loc);
  e->text = text;
  return e;
}

Expr *expr_ident(Loc loc, char *name) {
  Expr *e = expr_new(EXPR_IDENT, loc);
  e->text = name;
  return e;
}

Expr *expr_call(Loc loc, char *callee) {
  Expr *e = expr_new(EXPR_CALL, loc);
  e->text = callee;
  return e;
}

Expr *expr_set(Loc loc) {
  return expr_new(EXPR_SET, loc);
}

Expr *expr_binary(Loc loc, char op, Expr *lhs, Expr *rhs) {
  Expr *e = expr_new(EXPR_BINARY, loc);
  e->op = op;
  e->lhs = lhs;
  e->rhs = rhs;
  e->depth = 1 + max(lhs->depth, rhs->depth);
  return e;
}

Expr *expr_neg(Loc loc, Expr *operand) {
  Expr *e = expr_new(EXPR_NEG, loc);
  e->lhs = operand;
  e->depth = 1 + operand->depth;
  return e;
}

void expr_free(Expr *e) {
  if (!e)
    return;
  for (int i = 0; i < e->nargs; i++) {
    free(e->args[i].key);
    expr_free(e->args[i].value);
  }
  free(e->args);
  free(e->text);
  expr_free(e->lhs);
  expr_free(e->rhs);
  free(e);
}

/* ---- call arguments ------------------------------------------------------ */

Arg *arg_new(char *key, Loc key_loc, Expr *value) {
  Arg *arg = xcalloc(1, sizeof *arg);
  arg->key = key;
  arg->key_loc = key_loc;
  arg->value = value;
  return arg;
}

void arg_free(Arg *arg) {
  if (!arg)
    return;
  free(arg->key);
  expr_free(arg->value);
  free(arg);
}

void call_insert_arg(Expr *call, int at, Arg *arg) {
  call->args = grow(call->args, call->nargs, sizeof *call->args);
  memmove(&call->args[at + 1], &call->args[at], (call->nargs - at) * sizeof *call->args);
  call->args[at] = *arg;
  call->nargs++;
  call->depth = max(call->depth, 1 + arg->value->depth);
  free(arg);
}

void call_add_arg(Expr *call, Arg *arg) {
  call_insert_arg(call, call->nargs, arg);
}

/* ---- statements and blocks ----------------------------------------------- */

Stmt *stmt_new(StmtKind kind, Loc loc, char *keyword, char *name, Loc name_loc, Expr *value) {
  Stmt *s = xcalloc(1, sizeof *s);
  *s = (Stmt){.kind = kind, .keyword = keyword, .name = name, .name_loc = name_loc,
              .value = value, .loc = loc};
  return s;
}

Stmt *stmt_block(Loc loc, Block *block) {
  Stmt *s = xcalloc(1, sizeof *s);
  *s = (Stmt){.kind = STMT_BLOCK, .name = xstrdup(block->name), .name_loc = block->loc,
              .block = block, .loc = loc};
  return s;
}

static void stmt_clear(Stmt *s) {
  free(s->keyword);
  free(s->name);
  expr_free(s->value);
  block_free(s->block);
}

void stmt_free(Stmt *s) {
  if (!s)
    return;
  stmt_clear(s);
  free(s);
}

Block *block_new(void) {
  return xcalloc(1, sizeof(Block));
}

void block_add_stmt(Block *b, Stmt *s) {
  b->stmts = grow(b->stmts, b->nstmts, sizeof *b->stmts);
  b->stmts[b->nstmts++] = *s;
  free(s);
}

static void block_clear(Block *b) {
  for (int i = 0; i < b->nstmts; i++)
    stmt_clear(&b->stmts[i]);
  free(b->stmts);
  free(b->name);
}

void block_free(Block *b) {
  if (!b)
    return;
  block_clear(b);
  free(b);
}

void ast_add_block(Ast *ast, Block *b) {
  ast->blocks = grow(ast->blocks, ast->nblocks, sizeof *ast->blocks);
  ast->blocks[ast->nblocks++] = *b;
  free(b);
}

void ast_free(Ast *ast) {
  if (!ast)
    return;
  for (int i = 0; i < ast->nblocks; i++)
    block_clear(&ast->blocks[i]);
  free(ast->blocks);
  free(ast);
}

/* ---- dump ---------------------------------------------------------------- */

static void dump_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(out, "\\%c", *s);
    else if (*s == '\n')
      fputs("\\n", out);
    else
      fputc(*s, out);
  }
  fputc('"', out);
}

static void dump_expr(FILE *out, const Expr *e);

static void dump_args(FILE *out, const Expr *e) {
  for (int i = 0; i < e->nargs; i++) {
    if (i > 0)
      fputs(", ", out);
    if (e->args[i].key)
      fprintf(out, "%s=", e->args[i].key);
    dump_expr(out, e->args[i].value);
  }
}

static void dump_expr(FILE *out, const Expr *e) {
  switch (e->kind) {
  case EXPR_NUMBER:
    fprintf(out, "%g", e->number);
    return;
  case EXPR_STRING:
    dump_string(out, e->text);
    return;
  case EXPR_IDENT:
    fputs(e->text, out);
    return;
  case EXPR_CALL:
    fprintf(out, "%s(", e->text ? e->text : "?");
    dump_args(out, e);
    fputc(')', out);
    return;
  case EXPR_SET:
    fputc('{', out);
    dump_args(out, e);
    fputc('}', out);
    return;
  case EXPR_BINARY:
    fputc('(', out);
    dump_expr(out, e->lhs);
    fprintf(out, " %c ", e->op);
    dump_expr(out, e->rhs);
    fputc(')', out);
    return;
  case EXPR_NEG:
    fputs("(-", out);
    dump_expr(out, e->lhs);
    fputc(')', out);
    return;
  }
}

/* open_memstream fails only when memory is short. */
static FILE *memory_stream(char **buf, size_t *size) {
  FILE *out = open_memstream(buf, size);
  if (!out) {
    fputs("sparsec: out of memory\n", stderr);
    exit(1);
  }
  return out;
}

char *expr_dump(const Expr *e) {
  char *buf = NULL;
  size_t size = 0;
  FILE *out = memory_stream(&buf, &size);
  dump_expr(out, e);
  fclose(out);
  return buf;
}

static void dump_block(FILE *out, const Block *b, int indent) {
  fprintf(out, "%*s%s {\n", indent, "", b->name);
  for (int j = 0; j < b->nstmts; j++) {
    const Stmt *s = &b->stmts[j];
    if (s->kind == STMT_BLOCK) {
      dump_block(out, s->block, indent + 2);
      continue;
    }
    fprintf(out, "%*s%s%s%s %s ", indent + 2, "", s->keyword ? s->keyword : "",
            s->keyword ? " " : "", s->name, s->kind == STMT_IN ? "in" : "=");
    dump_expr(out, s->value);
    fputc('\n', out);
  }
  fprintf(out, "%*s}\n", indent, "");
}

char *ast_dump(const Ast *ast) {
  char *buf = NULL;
  size_t size = 0;
  FILE *out = memory_stream(&buf, &size);
  for (int i = 0; i < ast->nblocks; i++)
    dump_block(out, &ast->blocks[i], 0);
  fclose(out);
  return buf;
}
