/* The generic AST, its locations, and syntax errors with recovery. */
#include <criterion/criterion.h>

#include "frontend_internal.h"

typedef struct Parsed {
  Source *src;
  Ast *ast;
  char *dump;   /* ast_dump of the result */
  char *diags;  /* everything reported */
  int errors;
} Parsed;

static Parsed parse_src(Source *src) {
  Parsed r = {.src = src};
  size_t size;
  FILE *out = open_memstream(&r.diags, &size);
  Diag diag;
  diag_init(&diag, src, out);
  r.ast = parse_source(src, &diag);
  cr_assert_not_null(r.ast);
  r.dump = ast_dump(r.ast);
  r.errors = diag.errors;
  fclose(out);
  return r;
}

static Parsed parse(const char *text) {
  return parse_src(source_from_string("t.spn", text));
}

static void parsed_free(Parsed *r) {
  ast_free(r->ast);
  source_free(r->src);
  free(r->dump);
  free(r->diags);
}

static void assert_loc(Loc loc, int line, int col, int len) {
  cr_assert_eq(loc.line, line, "line %d, expected %d", loc.line, line);
  cr_assert_eq(loc.col, col, "col %d, expected %d", loc.col, col);
  cr_assert_eq(loc.len, len, "len %d, expected %d", loc.len, len);
}

/* ---- valid input ---------------------------------------------------------- */

Test(parser, example_file_structure) {
  char err[256];
  Source *src = source_read(SPARSEC_EXAMPLES "/fashion_mnist_relu.spn", err, sizeof err);
  cr_assert_not_null(src, "%s", err);
  Parsed r = parse_src(src);
  cr_assert_eq(r.errors, 0, "%s", r.diags);
  cr_assert_eq(r.ast->nblocks, 3);
  cr_assert_str_eq(r.ast->blocks[0].name, "model");
  cr_assert_str_eq(r.ast->blocks[1].name, "train");
  cr_assert_str_eq(r.ast->blocks[2].name, "data");
  assert_loc(r.ast->blocks[0].loc, 7, 1, 5);

  const Block *model = &r.ast->blocks[0];
  cr_assert_eq(model->nstmts, 6);
  const Stmt *h1 = &model->stmts[1];
  cr_assert_str_eq(h1->keyword, "layer");
  cr_assert_str_eq(h1->name, "h1");
  assert_loc(h1->name_loc, 9, 9, 2);
  const Expr *dense = h1->value;
  cr_assert_eq(dense->kind, EXPR_CALL);
  cr_assert_str_eq(dense->text, "dense");
  assert_loc(dense->loc, 9, 15, 29);
  cr_assert_eq(dense->nargs, 3);
  cr_assert_null(dense->args[0].key);
  cr_assert_eq(dense->args[0].value->kind, EXPR_NUMBER);
  cr_assert_eq(dense->args[0].value->number, 1000);
  cr_assert(dense->args[0].value->is_integer);
  cr_assert_eq(dense->args[1].value->kind, EXPR_IDENT);
  cr_assert_str_eq(dense->args[1].value->text, "relu");
  cr_assert_str_eq(dense->args[2].key, "l1");
  assert_loc(dense->args[2].key_loc, 9, 33, 2);
  cr_assert_eq(dense->args[2].value->number, 0.001);
  cr_assert_not(dense->args[2].value->is_integer);
  cr_assert_null(model->stmts[0].keyword);

  const Block *data = &r.ast->blocks[2];
  const Expr *train = data->stmts[0].value;
  cr_assert_str_eq(train->text, "idx");
  cr_assert_eq(train->nargs, 2);
  cr_assert_eq(train->args[1].value->kind, EXPR_STRING);
  cr_assert_str_eq(train->args[1].value->text,
                   "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
  /* a call across two lines keeps its start and its full byte length */
  assert_loc(train->loc, 24, 11, 145);
  const Expr *scale = data->stmts[2].value;
  cr_assert_eq(scale->kind, EXPR_BINARY);
  cr_assert_eq(scale->op, '/');
  assert_loc(scale->loc, 28, 11, 5);
  assert_loc(data->stmts[2].loc, 28, 3, 13);
  parsed_free(&r);
}

Test(parser, arithmetic_precedence_and_grouping) {
  Parsed r = parse("a { x = 1 + 2 * -3 - 4 / (5 - 6)  y = -(1) * 2  z = 8 / 4 / 2 }");
  cr_assert_str_eq(r.dump,
                   "a {\n"
                   "  x = ((1 + (2 * (-3))) - (4 / (5 - 6)))\n"
                   "  y = ((-1) * 2)\n"
                   "  z = ((8 / 4) / 2)\n"
                   "}\n");
  cr_assert_eq(r.errors, 0);
  parsed_free(&r);
}

Test(parser, calls_with_keyword_arguments) {
  Parsed r = parse("b {\n  p = f()\n  q = g(1, k = \"s\", h(2), m = -0.5)\n}");
  cr_assert_str_eq(r.dump,
                   "b {\n"
                   "  p = f()\n"
                   "  q = g(1, k=\"s\", h(2), m=(-0.5))\n"
                   "}\n");
  cr_assert_eq(r.errors, 0);
  parsed_free(&r);
}

Test(parser, statements_need_no_separator) {
  Parsed r = parse("# a comment\nm { a = 1 b = x; c = \"s\";; layer l = d(1) }\nn {}\n");
  cr_assert_str_eq(r.dump,
                   "m {\n"
                   "  a = 1\n"
                   "  b = x\n"
                   "  c = \"s\"\n"
                   "  layer l = d(1)\n"
                   "}\n"
                   "n {\n"
                   "}\n");
  cr_assert_eq(r.errors, 0);
  parsed_free(&r);
}

Test(parser, sweeps_sets_and_nested_blocks) {
  Parsed r = parse("train {\n  lr in {0.1, 0.01, 1/1000}\n}\n"
                   "pretrain {\n  layers = {h1, h2}\n  h1 { epochs = 5; noise = masking(0.5) }\n"
                   "  h2 {}\n}\n");
  cr_assert_eq(r.errors, 0, "%s", r.diags);
  cr_assert_str_eq(r.dump,
                   "train {\n"
                   "  lr in {0.1, 0.01, (1 / 1000)}\n"
                   "}\n"
                   "pretrain {\n"
                   "  layers = {h1, h2}\n"
                   "  h1 {\n"
                   "    epochs = 5\n"
                   "    noise = masking(0.5)\n"
                   "  }\n"
                   "  h2 {\n"
                   "  }\n"
                   "}\n");
  const Stmt *lr = &r.ast->blocks[0].stmts[0];
  cr_assert_eq(lr->kind, STMT_IN);
  cr_assert_eq(lr->value->kind, EXPR_SET);
  cr_assert_eq(lr->value->nargs, 3);
  assert_loc(lr->value->loc, 2, 9, 19);
  const Stmt *h1 = &r.ast->blocks[1].stmts[1];
  cr_assert_eq(h1->kind, STMT_BLOCK);
  cr_assert_null(h1->value);
  cr_assert_str_eq(h1->name, "h1");
  cr_assert_str_eq(h1->block->name, "h1");
  assert_loc(h1->name_loc, 6, 3, 2);
  assert_loc(h1->block->loc, 6, 3, 2);
  cr_assert_eq(h1->block->nstmts, 2);
  parsed_free(&r);
}

Test(parser, empty_set_is_an_error) {
  Parsed r = parse("t {\n  lr in {}\n  b = 1\n}\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:2:9: error: a set needs at least one element\n"
                   "    2 |   lr in {}\n"
                   "      |         ^~\n");
  parsed_free(&r);
}

Test(parser, error_inside_a_set_recovers_at_its_brace) {
  Parsed r = parse("t {\n  lr in {0.1 0.2}\n  b = = 1\n}\nu { c = 2 }\n");
  cr_assert_eq(r.errors, 2, "%s", r.diags);
  cr_assert_not_null(strstr(r.diags, "t.spn:2:14: error: expected '}' or ',', found number\n"));
  cr_assert_not_null(strstr(r.diags, "t.spn:3:7: error: expected expression, found '='\n"));
  cr_assert_str_eq(r.dump, "t {\n  lr in {}\n}\nu {\n  c = 2\n}\n");
  parsed_free(&r);
}

Test(parser, missing_value_after_in) {
  Parsed r = parse("train {\n  lr in\n  batch = 10\n}\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:2:6: error: expected expression after 'in'\n"
                   "    2 |   lr in\n"
                   "      |      ^~\n");
  parsed_free(&r);
}

Test(parser, expression_nesting_is_limited) {
  /* 1+1+...: a tree 100 deep from a flat text */
  char text[400] = "t { x = 1";
  for (int i = 0; i < 100; i++)
    strcat(text, "+1");
  strcat(text, " }");
  Parsed r = parse(text);
  cr_assert_eq(r.errors, 1, "%s", r.diags);
  cr_assert_not_null(strstr(r.diags, "t.spn:1:9: error: nested too deeply: at most 64 levels\n"));
  parsed_free(&r);
}

Test(parser, nesting_within_the_limit_is_fine) {
  char text[400] = "t { x = ";
  for (int i = 0; i < 63; i++)
    strcat(text, "(");
  strcat(text, "1");
  for (int i = 0; i < 63; i++)
    strcat(text, ")");
  strcat(text, " }");
  Parsed r = parse(text);
  cr_assert_eq(r.errors, 0, "%s", r.diags);
  parsed_free(&r);
}

/* ---- parse_expression: the VALUE of --set PATH=VALUE ------------------------- */

Test(parser, expression_from_an_offset) {
  Source *src = source_from_string("--set 1", "train.lr=1/(2*5)");
  Diag diag;
  diag_init(&diag, src, stderr);
  Expr *e = parse_expression(src, 9, &diag);
  cr_assert_not_null(e);
  cr_assert_eq(e->kind, EXPR_BINARY);
  assert_loc(e->loc, 1, 10, 7);
  cr_assert_eq(e->loc.src, src);
  cr_assert_eq(e->rhs->loc.src, src);
  char *text = expr_dump(e);
  cr_assert_str_eq(text, "(1 / (2 * 5))");
  free(text);
  expr_free(e);
  source_free(src);
}

Test(parser, expression_errors) {
  char *buf = NULL;
  size_t size;
  FILE *out = open_memstream(&buf, &size);
  Source *src = source_from_string("--set 2", "train.lr=0.1 0.2");
  Diag diag;
  diag_init(&diag, src, out);
  cr_assert_null(parse_expression(src, 9, &diag));
  fclose(out);
  cr_assert_str_eq(buf,
                   "--set 2:1:14: error: expected end of file, found number\n"
                   "    1 | train.lr=0.1 0.2\n"
                   "      |              ^~~\n");
  free(buf);
  source_free(src);
}

Test(parser, empty_source_has_no_blocks) {
  Parsed r = parse("  # nothing\n");
  cr_assert_eq(r.ast->nblocks, 0);
  cr_assert_eq(r.errors, 0);
  parsed_free(&r);
}

/* ---- syntax errors -------------------------------------------------------- */

Test(parser, missing_equals) {
  Parsed r = parse("train {\n  lr 0.01\n}\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:2:6: error: expected '=', found number\n"
                   "    2 |   lr 0.01\n"
                   "      |      ^~~~\n");
  parsed_free(&r);
}

Test(parser, missing_value) {
  Parsed r = parse("train {\n  lr =\n  batch = 10\n}\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:2:6: error: expected expression after '='\n"
                   "    2 |   lr =\n"
                   "      |      ^\n");
  parsed_free(&r);
}

Test(parser, missing_comma_in_call) {
  Parsed r = parse("model {\n  layer h1 = dense(1000 relu)\n}\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:2:25: error: expected ')' or ',', found identifier\n"
                   "    2 |   layer h1 = dense(1000 relu)\n"
                   "      |                         ^~~~\n");
  parsed_free(&r);
}

Test(parser, expression_expected) {
  Parsed r = parse("data { scale = * 2 }");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:16: error: expected expression, found '*'\n"
                   "    1 | data { scale = * 2 }\n"
                   "      |                ^\n");
  parsed_free(&r);
}

Test(parser, missing_open_brace) {
  Parsed r = parse("train\n  lr = 1\n}\ndata {}\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:2:3: error: expected '{', found identifier\n"
                   "    2 |   lr = 1\n"
                   "      |   ^~\n");
  /* recovery at the '}' keeps the next block */
  cr_assert_str_eq(r.dump, "data {\n}\n");
  parsed_free(&r);
}

Test(parser, unclosed_block_at_end_of_file) {
  Parsed r = parse("model {\n  input = 784\n\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:2:14: error: expected '}', found end of file\n"
                   "    2 |   input = 784\n"
                   "      |              ^\n"
                   "t.spn:1:7: note: to match this '{'\n"
                   "    1 | model {\n"
                   "      |       ^\n");
  parsed_free(&r);
}

/* `train {` at column 1 inside an unclosed block parses as a nested block;
 * at the end of the file it is named as the likely place of the '}'. */
Test(parser, unclosed_block_before_the_next_one) {
  Parsed r = parse("model {\n  input = 784\ntrain {\n  lr = 1\n}\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:5:2: error: expected '}', found end of file\n"
                   "    5 | }\n"
                   "      |  ^\n"
                   "t.spn:3:1: note: is a '}' missing before this block?\n"
                   "    3 | train {\n"
                   "      | ^~~~~\n");
  parsed_free(&r);
}

Test(parser, junk_after_a_value) {
  Parsed r = parse("train {\n  batch = ten 10\n}\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:2:15: error: expected identifier, 'layer' or '}', found number\n"
                   "    2 |   batch = ten 10\n"
                   "      |               ^~\n");
  parsed_free(&r);
}

Test(parser, stray_token_at_top_level) {
  Parsed r = parse("= 3 }\nm {}");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:1: error: expected end of file or identifier, found '='\n"
                   "    1 | = 3 }\n"
                   "      | ^\n");
  cr_assert_str_eq(r.dump, "m {\n}\n");
  parsed_free(&r);
}

Test(parser, several_errors_are_all_reported) {
  Parsed r = parse("model {\n"
                   "  input = 784\n"
                   "  layer h1 = dense(1000 relu, l1 = 0.001)\n"
                   "  layer h2 = = 3\n"
                   "  lr 0.01\n"
                   "  layer out = dense(10, softmax)\n"
                   "}\n"
                   "train }\n"
                   "data { scale = (1 + }\n");
  cr_assert_eq(r.errors, 5, "%s", r.diags);
  const char *expected[] = {
    "t.spn:3:25: error: expected ')' or ',', found identifier\n",
    "t.spn:4:14: error: expected expression, found '='\n",
    "t.spn:5:6: error: expected '=', found number\n",
    "t.spn:8:7: error: expected '{', found '}'\n",
    "t.spn:9:21: error: expected expression, found '}'\n",
  };
  const char *at = r.diags;
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
    const char *found = strstr(at, expected[i]);
    cr_assert_not_null(found, "missing or out of order: %s\nin:\n%s", expected[i], r.diags);
    at = found + 1;
  }
  /* what parsed cleanly is kept */
  cr_assert_str_eq(r.dump,
                   "model {\n"
                   "  input = 784\n"
                   "  layer h1 = dense()\n"
                   "  layer out = dense(10, softmax)\n"
                   "}\n"
                   "data {\n"
                   "}\n");
  parsed_free(&r);
}

Test(parser, lexer_errors_do_not_stop_parsing) {
  Parsed r = parse("m {\n  a = @ 1\n  b = \"x\n  c = 2\n}");
  cr_assert_eq(r.errors, 2, "%s", r.diags);
  cr_assert_str_eq(r.dump, "m {\n  a = 1\n  b = \"x\"\n  c = 2\n}\n");
  parsed_free(&r);
}

Test(parser, spec_load_stops_after_syntax_errors) {
  char *buf = NULL;
  size_t size;
  FILE *out = open_memstream(&buf, &size);
  Spec *spec = spec_load_string("bad.spn", "model {\n  input 784\n}\n", out);
  fclose(out);
  cr_assert_null(spec);
  /* no follow-on "missing 'train' block" from the checker */
  cr_assert_str_eq(buf,
                   "bad.spn:2:9: error: expected '=', found number\n"
                   "    2 |   input 784\n"
                   "      |         ^~~\n");
  free(buf);
}
