/* print.c: a spec back as text, after its overrides: what the REPL's
 * `save spec FILE` writes, so that `sparsec run FILE` runs the session's
 * settings. The tree is printed, not the file: one statement a line,
 * blocks in their order, comments and layout not kept. Numbers are
 * printed with the fewest digits that read back as the same double, so
 * the text checks to the very same Spec; relative paths (the data files,
 * the output files) are made absolute when the text moves to another
 * folder, so they still name the same files. */
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include "check_internal.h"

typedef struct Printer {
  FILE *out;
  const char *from;  /* folder the paths are relative to; NULL: keep them as written */
} Printer;

static void print_expr(Printer *p, const Expr *e, int is_path);

/* %.15g, %.16g or %.17g: the first that reads back as `v`. */
static void print_number(FILE *out, double v, int is_integer) {
  if (is_integer && fabs(v) < 9007199254740992.0) {
    fprintf(out, "%.0f", v);
    return;
  }
  char text[40];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(text, sizeof text, "%.*g", digits, v);
    if (strtod(text, NULL) == v)
      break;
  }
  /* the language's numbers need a '.' or an exponent to be reals */
  fputs(text, out);
  if (!strpbrk(text, ".eEn"))
    fputs(".0", out);
}

static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fputc('\\', out);
    if (*s == '\n') {
      fputs("\\n", out);
      continue;
    }
    fputc(*s, out);
  }
  fputc('"', out);
}

static void print_path(Printer *p, const char *path) {
  if (!p->from || path[0] == '/') {
    print_string(p->out, path);
    return;
  }
  char joined[PATH_MAX * 2];
  snprintf(joined, sizeof joined, "%s/%s", p->from, path);
  print_string(p->out, joined);
}

static void print_args(Printer *p, const Expr *e, int paths) {
  for (int i = 0; i < e->nargs; i++) {
    const Arg *a = &e->args[i];
    if (i)
      fputs(", ", p->out);
    if (a->key)
      fprintf(p->out, "%s = ", a->key);
    print_expr(p, a->value, paths && !a->key); /* idx("a", "b"), csv("a", label = "y") */
  }
}

static void print_operand(Printer *p, const Expr *e) {
  int group = e->kind == EXPR_BINARY;
  fputs(group ? "(" : "", p->out);
  print_expr(p, e, 0);
  fputs(group ? ")" : "", p->out);
}

static void print_expr(Printer *p, const Expr *e, int is_path) {
  switch (e->kind) {
  case EXPR_NUMBER: print_number(p->out, e->number, e->is_integer); break;
  case EXPR_STRING:
    if (is_path)
      print_path(p, e->text);
    else
      print_string(p->out, e->text);
    break;
  case EXPR_IDENT: fputs(e->text, p->out); break;
  case EXPR_CALL:
    fprintf(p->out, "%s(", e->text);
    print_args(p, e, is_path);
    fputc(')', p->out);
    break;
  case EXPR_BINARY:
    print_operand(p, e->lhs);
    fprintf(p->out, " %c ", e->op);
    print_operand(p, e->rhs);
    break;
  case EXPR_NEG:
    fputc('-', p->out);
    print_operand(p, e->lhs);
    break;
  case EXPR_SET:
    fputc('{', p->out);
    print_args(p, e, 0);
    fputc('}', p->out);
    break;
  }
}

static void print_block(Printer *p, const Block *b, const char *top, int depth) {
  fprintf(p->out, "%*s%s {\n", 2 * depth, "", b->name);
  for (int i = 0; i < b->nstmts; i++) {
    const Stmt *s = &b->stmts[i];
    if (s->kind == STMT_BLOCK) {
      print_block(p, s->block, top, depth + 1);
      continue;
    }
    fprintf(p->out, "%*s%s%s%s %s ", 2 * (depth + 1), "", s->keyword ? s->keyword : "",
            s->keyword ? " " : "", s->name, s->kind == STMT_IN ? "in" : "=");
    print_expr(p, s->value, depth == 0 && language_takes_path(top, s->name));
    fputc('\n', p->out);
  }
  fprintf(p->out, "%*s}\n", 2 * depth, "");
}

int spec_print_with(const char *name, const char *text, const Override *overrides, int noverrides,
                    const char *paths_from, FILE *out, FILE *messages) {
  Source *src = source_from_string(name, text);
  Diag diag;
  diag_init(&diag, src, messages);
  Source **sets;
  Ast *ast = parse_with_overrides(src, overrides, noverrides, &sets, &diag);
  int rc = diag.errors == 0 && ast ? 0 : -1;
  Printer p = {.out = out, .from = paths_from};
  for (int i = 0; rc == 0 && i < ast->nblocks; i++) {
    fputs(i ? "\n" : "", out);
    print_block(&p, &ast->blocks[i], ast->blocks[i].name, 0);
  }
  ast_free(ast);
  free_sources(sets, noverrides);
  source_free(src);
  return rc;
}
