/* parser.y: tokens -> generic AST.
 *
 * The grammar knows blocks, statements and expressions, nothing about which
 * names mean what (that is check*.c). Syntax errors are reported as
 * "expected X, found Y"; the `error` rules resynchronise at the next
 * statement, at a ')' closing a call, or at a '}' closing a set or a block,
 * so one run shows every syntax error instead of the first.
 *
 * Two entries: a whole spec (parse_source) and one expression, the VALUE of
 * a --set override (parse_expression). The lexer hands out a first token
 * that is not in the text to say which. */

%code requires {
#include "frontend_internal.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* A token's or a rule's extent: where it starts, plus byte offsets so that a
 * span crossing lines still knows its length. */
typedef struct Span {
  int line, col;
  int begin, end;
  int starts_line;  /* only blanks before it on its line */
} Span;

/* An open '(' or '{', and for a '{' the first `name {` at column 1 seen
 * inside it: if this '{' is never closed, that is where a '}' is missing. */
typedef struct Brace {
  Span brace;
  Span suspect;
  int has_suspect;
} Brace;

/* Shared by the parser and the lexer (it is the scanner's yyextra). */
typedef struct Parser {
  const Source *src;
  const Source *loc_src;  /* Loc.src of every location made: NULL = the spec file */
  Diag *diag;
  Ast *ast;               /* parse_source's result */
  Expr *expr;             /* parse_expression's result */
  int start;              /* the first token, which selects the grammar's entry */
  int line, col, offset;  /* where the lexer is */
  int line_has_token;     /* a token was read on the current line */
  Span after_last;        /* just past the last token: where end of file is */
  int recent[3];          /* kinds of the last tokens read, newest first */
  Span recent_span[3];
  Brace open[MAX_NESTING];/* brackets not closed yet, outermost first */
  int depth;
  int minus_run;          /* consecutive '-' tokens */
  int stopped;            /* nesting limit or error limit hit: the rest is skipped */
  int raw;                /* lex_spans: every token out, no limit stops the lexer */
} Parser;
}

%code {
#include "lexer.h"

/* A rule spans from its first symbol's start to its last symbol's end.
 * (Bison's default needs first_line/last_line fields that Span lacks.) */
#define YYLLOC_DEFAULT(cur, rhs, n)                       \
  do {                                                    \
    if (n) {                                              \
      (cur) = YYRHSLOC(rhs, 1);                           \
      (cur).end = YYRHSLOC(rhs, n).end;                   \
    } else {                                              \
      (cur) = YYRHSLOC(rhs, 0);                           \
      (cur).begin = (cur).end;                            \
    }                                                     \
  } while (0)

static Loc loc_of(const Parser *p, Span s) {
  return (Loc){s.line, s.col, s.end > s.begin ? s.end - s.begin : 1, p->loc_src};
}

#define LOC(span) loc_of(p, span)

/* Every tree that grows by one level goes through here: past MAX_NESTING
 * it is reported and cut off, so that freeing, printing and checking it
 * can recurse without running out of stack. */
static Expr *nest(Parser *p, Expr *e) {
  if (e->depth <= MAX_NESTING)
    return e;
  if (!p->stopped)
    diag_error(p->diag, e->loc, "nested too deeply: at most %d levels", MAX_NESTING);
  p->stopped = 1;
  Loc loc = e->loc;
  expr_free(e);
  return expr_number(loc, 0, 1);
}

static Arg *element(Expr *e) {
  return arg_new(NULL, (Loc){0, 0, 0, NULL}, e);
}

/* Syntax errors go through yyreport_syntax_error; bison calls this only
 * when its stack overflows, which the lexer's nesting limit prevents. */
static void yyerror(const Span *span, yyscan_t scanner, Parser *p, const char *msg) {
  (void)scanner;
  if (!p->stopped)
    diag_error(p->diag, LOC(*span), "nested too deeply (%s)", msg);
  p->stopped = 1;
}
}

%define api.pure full
%define api.prefix {spn}
%define api.location.type {Span}
%define parse.error custom
%define parse.lac full
%locations
%param {yyscan_t scanner}
%parse-param {Parser *p}

%union {
  char *str;
  struct { double value; int is_integer; } num;
  Expr *expr;
  Arg *arg;
  Stmt *stmt;
  Block *block;
}

%token <str> IDENT "identifier"
%token <str> STRING "string"
%token <num> NUMBER "number"
%token LAYER "'layer'"
%token IN "'in'"
%token START_SPEC "start of spec"
%token START_EXPR "start of expression"

%type <str> head
%type <expr> expr args items
%type <arg> arg
%type <stmt> stmt
%type <block> block stmts

%destructor { free($$); } <str>
%destructor { expr_free($$); } <expr>
%destructor { arg_free($$); } <arg>
%destructor { stmt_free($$); } <stmt>
%destructor { block_free($$); } <block>

%left '+' '-'
%left '*' '/'
%precedence NEG

%%

input:
    START_SPEC spec
  | START_EXPR expr     { p->expr = $2; }
  ;

spec:
    %empty
  | spec block          { if ($2) ast_add_block(p->ast, $2); }
  ;

block:
    head '{' stmts '}'  { $$ = $3; $$->name = $1; $$->loc = LOC(@1); }
  | head error '}'      { free($1); $$ = NULL; }
  | error '}'           { $$ = NULL; }
  ;

stmts:
    %empty              { $$ = block_new(); }
  | stmts stmt          { $$ = $1; if ($2) block_add_stmt($$, $2); }
  | stmts ';'           { $$ = $1; }
  ;

stmt:
    head '=' expr       { $$ = stmt_new(STMT_ASSIGN, LOC(@$), NULL, $1, LOC(@1), $3); }
  | head IN expr        { $$ = stmt_new(STMT_IN, LOC(@$), NULL, $1, LOC(@1), $3); }
  | head '{' stmts '}'  { $3->name = $1; $3->loc = LOC(@1); $$ = stmt_block(LOC(@$), $3); }
  | layer IDENT '=' expr
                        { $$ = stmt_new(STMT_ASSIGN, LOC(@$), xstrdup("layer"), $2, LOC(@2), $4); }
  | error               { $$ = NULL; }
  ;

/* After a syntax error bison stays quiet until three tokens have been read,
 * so that one mistake does not cascade. A block or statement that starts a
 * new line is a fresh start, though: its own mistakes deserve a report. */
head:
    IDENT               { $$ = $1; if (@1.starts_line) yyerrok; }
  ;

layer:
    LAYER               { if (@1.starts_line) yyerrok; }
  ;

expr:
    NUMBER              { $$ = expr_number(LOC(@$), $1.value, $1.is_integer); }
  | STRING              { $$ = expr_string(LOC(@$), $1); }
  | IDENT               { $$ = expr_ident(LOC(@$), $1); }
  | IDENT '(' ')'       { $$ = expr_call(LOC(@$), $1); }
  | IDENT '(' args ')'  { $$ = $3; $$->text = $1; $$->loc = LOC(@$); $$ = nest(p, $$); }
  | IDENT '(' error ')' { $$ = expr_call(LOC(@$), $1); }
  | '{' items '}'       { $$ = $2; $$->loc = LOC(@$); $$ = nest(p, $$); }
  | '{' '}'             { diag_error(p->diag, LOC(@$), "a set needs at least one element");
                          $$ = expr_set(LOC(@$)); }
  | '{' error '}'       { $$ = expr_set(LOC(@$)); }
  | '(' expr ')'        { $$ = $2; $$->loc = LOC(@$); }
  | '-' expr %prec NEG  { $$ = nest(p, expr_neg(LOC(@$), $2)); }
  | expr '+' expr       { $$ = nest(p, expr_binary(LOC(@$), '+', $1, $3)); }
  | expr '-' expr       { $$ = nest(p, expr_binary(LOC(@$), '-', $1, $3)); }
  | expr '*' expr       { $$ = nest(p, expr_binary(LOC(@$), '*', $1, $3)); }
  | expr '/' expr       { $$ = nest(p, expr_binary(LOC(@$), '/', $1, $3)); }
  ;

/* A call under construction; `expr` fills in the callee. */
args:
    arg                 { $$ = expr_call(LOC(@$), NULL); call_add_arg($$, $1); }
  | args ',' arg        { $$ = $1; call_add_arg($$, $3); }
  ;

arg:
    expr                { $$ = arg_new(NULL, (Loc){0, 0, 0, NULL}, $1); }
  | IDENT '=' expr      { $$ = arg_new($1, LOC(@1), $3); }
  ;

/* The elements of a set, under construction. */
items:
    expr                { $$ = expr_set(LOC(@$)); call_add_arg($$, element($1)); }
  | items ',' expr      { $$ = $1; call_add_arg($$, element($3)); }
  ;

%%

/* ---- syntax error messages ----------------------------------------------- */

static int is(yysymbol_kind_t sym, const char *name) {
  return strcmp(yysymbol_name(sym), name) == 0;
}

/* Removes from `set` the symbols named in `names`; returns the new size. */
static int drop(yysymbol_kind_t *set, int n, const char *const *names) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    int keep = 1;
    for (const char *const *name = names; *name; name++)
      keep &= !is(set[i], *name);
    if (keep)
      set[m++] = set[i];
  }
  return m;
}

static int contains(const yysymbol_kind_t *set, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (is(set[i], name))
      return 1;
  return 0;
}

/* Bison lists every token that could come next; people think in bigger
 * pieces. Anything that starts an expression becomes "expression", and the
 * operators and the optional ';' that may follow any expression are left out
 * because they are never what is missing. */
static void describe_expected(char *buf, size_t size, yysymbol_kind_t *set, int n,
                              yysymbol_kind_t found) {
  static const char *const noise[] = {"'+'", "'-'", "'*'", "'/'", "';'", NULL};
  static const char *const starts[] = {"number", "string", "identifier", "'('", "'{'", NULL};
  static const char *const call[] = {"'('", NULL};
  static const char *const rare[] = {"'in'", "'{'", NULL};
  int expression = contains(set, n, "number");
  n = drop(set, n, noise);
  if (expression)
    n = drop(set, n, starts);
  /* After `key = name`, a call's '(' could follow, but the next statement
   * or the block's '}' is what people mean. */
  if (contains(set, n, "'}'"))
    n = drop(set, n, call);
  /* After a statement's name, `key in {...}` and `name { ... }` are rare
   * next to `key = value`: "expected '='" is the useful advice. */
  if (contains(set, n, "'='"))
    n = drop(set, n, rare);
  /* At the end of the file the only useful advice is to close the block. */
  if (found == YYSYMBOL_YYEOF && contains(set, n, "'}'")) {
    snprintf(buf, size, "'}'");
    return;
  }
  size_t len = snprintf(buf, size, "%s", expression ? "expression" : "");
  for (int i = 0; i < n && len < size; i++) {
    const char *sep = len == 0 ? "" : i == n - 1 ? " or " : ", ";
    len += snprintf(buf + len, size - len, "%s%s", sep, yysymbol_name(set[i]));
  }
}

/* `lr =` with its value forgotten reads as `lr = batch` followed by a stray
 * '=': say what is really missing, at the first '=' (or 'in'). */
static int report_missing_value(Parser *p, yysymbol_kind_t found) {
  int after = p->recent[2];
  if (!is(found, "'='") || p->recent[1] != IDENT || (after != '=' && after != IN) ||
      !p->recent_span[1].starts_line)
    return 0;
  diag_error(p->diag, LOC(p->recent_span[2]), "expected expression after '%s'",
             after == IN ? "in" : "=");
  return 1;
}

/* At the end of the file inside an open bracket: point at where it opened,
 * or at the block that probably lacks the '}' before it. */
static void note_unclosed(Parser *p) {
  for (int i = 0; i < p->depth; i++) {
    if (p->open[i].has_suspect) {
      diag_note(p->diag, LOC(p->open[i].suspect), "is a '}' missing before this block?");
      return;
    }
  }
  Span brace = p->open[p->depth - 1].brace;
  diag_note(p->diag, LOC(brace), "to match this '%c'", p->src->text[brace.begin]);
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Parser *p) {
  (void)scanner;
  if (p->stopped)
    return 0;  /* the reason was reported; what follows is its echo */
  yysymbol_kind_t set[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, set, YYNTOKENS);
  n = n > 0 ? n : 0;
  yysymbol_kind_t found = yypcontext_token(ctx);
  if (report_missing_value(p, found))
    return 0;
  Loc loc = LOC(*yypcontext_location(ctx));
  char expected[256];
  describe_expected(expected, sizeof expected, set, n, found);
  /* At the end of the file, what is missing is the innermost closing bracket. */
  if (found == YYSYMBOL_YYEOF && p->depth > 0) {
    char close = p->src->text[p->open[p->depth - 1].brace.begin] == '(' ? ')' : '}';
    char quoted[4] = {'\'', close, '\'', '\0'};
    if (contains(set, n, quoted))
      snprintf(expected, sizeof expected, "%s", quoted);
  }
  if (expected[0])
    diag_error(p->diag, loc, "expected %s, found %s", expected, yysymbol_name(found));
  else
    diag_error(p->diag, loc, "unexpected %s", yysymbol_name(found));
  if (found == YYSYMBOL_YYEOF && p->depth > 0)
    note_unclosed(p);
  return 0;
}

/* ---- entry points -------------------------------------------------------- */

/* Scans src's text from `offset`, where p's position already is. */
static void run(Parser *p, int offset) {
  yyscan_t scanner;
  if (spnlex_init_extra(p, &scanner) != 0) {
    fputs("sparsec: out of memory\n", stderr);
    exit(1);
  }
  spn_scan_bytes(p->src->text + offset, p->src->len - offset, scanner);
  spnparse(scanner, p);
  spnlex_destroy(scanner);
}

Ast *parse_source(const Source *src, Diag *diag) {
  Parser p = {.src = src, .diag = diag, .ast = xcalloc(1, sizeof(Ast)), .start = START_SPEC,
              .line = 1, .col = 1};
  p.after_last = (Span){1, 1, 0, 0, 0};
  run(&p, 0);
  return p.ast;
}

Expr *parse_expression(const Source *src, int offset, Diag *diag) {
  Loc at = source_loc(src, offset, 1);
  Parser p = {.src = src, .loc_src = src, .diag = diag, .start = START_EXPR, .line = at.line,
              .col = at.col, .offset = offset, .line_has_token = 1};
  p.after_last = (Span){at.line, at.col, offset, offset, 0};
  int errors = diag->errors;
  run(&p, offset);
  if (diag->errors == errors && p.expr)
    return p.expr;
  expr_free(p.expr);
  return NULL;
}
