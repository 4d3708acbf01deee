/* parser.y: tokens -> generic AST.
 *
 * The grammar knows blocks, statements and expressions, nothing about which
 * names mean what (that is check.c). Syntax errors are reported as
 * "expected X, found Y"; the `error` rules resynchronise at the next
 * statement, at a ')' closing a call, or at a '}' closing a block, so one run
 * shows every syntax error instead of the first. */

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
} Span;

/* Shared by the parser and the lexer (it is the scanner's yyextra). */
typedef struct Parser {
  const Source *src;
  Diag *diag;
  Ast *ast;
  int line, col, offset;  /* where the lexer is */
  Span after_last;        /* just past the last token: where end of file is */
  int recent[3];          /* kinds of the last tokens read, newest first */
  Span recent_span[3];
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

static Loc loc_of(Span s) {
  return (Loc){s.line, s.col, s.end > s.begin ? s.end - s.begin : 1};
}

/* Only blanks between the start of the line and the token. */
static int starts_line(const Source *src, Span s) {
  for (int i = s.begin - 1; i >= 0 && src->text[i] != '\n'; i--)
    if (src->text[i] != ' ' && src->text[i] != '\t' && src->text[i] != '\r')
      return 0;
  return 1;
}

/* Syntax errors go through yyreport_syntax_error; bison calls this only
 * when its stack overflows. */
static void yyerror(const Span *span, yyscan_t scanner, Parser *p, const char *msg) {
  (void)scanner;
  diag_error(p->diag, loc_of(*span), "%s", msg);
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

%type <str> head
%type <expr> expr args
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

spec:
    %empty
  | spec block          { if ($2) ast_add_block(p->ast, $2); }
  ;

block:
    head '{' stmts '}'  { $$ = $3; $$->name = $1; $$->loc = loc_of(@1); }
  | head error '}'      { free($1); $$ = NULL; }
  | error '}'           { $$ = NULL; }
  ;

stmts:
    %empty              { $$ = block_new(); }
  | stmts stmt          { $$ = $1; if ($2) block_add_stmt($$, $2); }
  | stmts ';'           { $$ = $1; }
  ;

stmt:
    head '=' expr       { $$ = stmt_new(loc_of(@$), NULL, $1, loc_of(@1), $3); }
  | layer IDENT '=' expr
                        { $$ = stmt_new(loc_of(@$), xstrdup("layer"), $2, loc_of(@2), $4); }
  | error               { $$ = NULL; }
  ;

/* After a syntax error bison stays quiet until three tokens have been read,
 * so that one mistake does not cascade. A block or statement that starts a
 * new line is a fresh start, though: its own mistakes deserve a report. */
head:
    IDENT               { $$ = $1; if (starts_line(p->src, @1)) yyerrok; }
  ;

layer:
    LAYER               { if (starts_line(p->src, @1)) yyerrok; }
  ;

expr:
    NUMBER              { $$ = expr_number(loc_of(@$), $1.value, $1.is_integer); }
  | STRING              { $$ = expr_string(loc_of(@$), $1); }
  | IDENT               { $$ = expr_ident(loc_of(@$), $1); }
  | IDENT '(' ')'       { $$ = expr_call(loc_of(@$), $1); }
  | IDENT '(' args ')'  { $$ = $3; $$->text = $1; $$->loc = loc_of(@$); }
  | IDENT '(' error ')' { $$ = expr_call(loc_of(@$), $1); }
  | '(' expr ')'        { $$ = $2; $$->loc = loc_of(@$); }
  | '-' expr %prec NEG  { $$ = expr_neg(loc_of(@$), $2); }
  | expr '+' expr       { $$ = expr_binary(loc_of(@$), '+', $1, $3); }
  | expr '-' expr       { $$ = expr_binary(loc_of(@$), '-', $1, $3); }
  | expr '*' expr       { $$ = expr_binary(loc_of(@$), '*', $1, $3); }
  | expr '/' expr       { $$ = expr_binary(loc_of(@$), '/', $1, $3); }
  ;

/* A call under construction; `expr` fills in the callee. */
args:
    arg                 { $$ = expr_call(loc_of(@$), NULL); call_add_arg($$, $1); }
  | args ',' arg        { $$ = $1; call_add_arg($$, $3); }
  ;

arg:
    expr                { $$ = arg_new(NULL, (Loc){0, 0, 0}, $1); }
  | IDENT '=' expr      { $$ = arg_new($1, loc_of(@1), $3); }
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
  static const char *const starts[] = {"number", "string", "identifier", "'('", NULL};
  static const char *const call[] = {"'('", NULL};
  int expression = contains(set, n, "number");
  n = drop(set, n, noise);
  if (expression)
    n = drop(set, n, starts);
  /* After `key = name`, a call's '(' could follow, but the next statement
   * or the block's '}' is what people mean. */
  if (contains(set, n, "'}'"))
    n = drop(set, n, call);
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
 * '=': say what is really missing, at the first '='. */
static int report_missing_value(Parser *p, yysymbol_kind_t found) {
  if (!is(found, "'='") || p->recent[1] != IDENT || p->recent[2] != '=' ||
      !starts_line(p->src, p->recent_span[1]))
    return 0;
  diag_error(p->diag, loc_of(p->recent_span[2]), "expected expression after '='");
  return 1;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Parser *p) {
  (void)scanner;
  yysymbol_kind_t set[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, set, YYNTOKENS);
  n = n > 0 ? n : 0;
  yysymbol_kind_t found = yypcontext_token(ctx);
  if (report_missing_value(p, found))
    return 0;
  /* `name {` where a statement was expected: the previous block is open. */
  int unclosed = is(found, "'{'") && contains(set, n, "'='") && p->recent[1] == IDENT;
  Loc loc = loc_of(*yypcontext_location(ctx));
  char expected[256];
  describe_expected(expected, sizeof expected, set, n, found);
  if (expected[0])
    diag_error(p->diag, loc, "expected %s, found %s", expected, yysymbol_name(found));
  else
    diag_error(p->diag, loc, "unexpected %s", yysymbol_name(found));
  if (unclosed)
    diag_note(p->diag, loc_of(p->recent_span[1]), "is a '}' missing before this block?");
  return 0;
}

/* ---- entry point --------------------------------------------------------- */

Ast *parse_source(const Source *src, Diag *diag) {
  Parser p = {.src = src, .diag = diag, .ast = xcalloc(1, sizeof(Ast)), .line = 1, .col = 1,
              .after_last = {1, 1, 0, 0}};
  yyscan_t scanner;
  if (spnlex_init_extra(&p, &scanner) != 0) {
    ast_free(p.ast);
    return NULL;
  }
  spn_scan_bytes(src->text, src->len, scanner);
  spnparse(scanner, &p);
  spnlex_destroy(scanner);
  return p.ast;
}
