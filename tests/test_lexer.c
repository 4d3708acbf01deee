/* Tokens, their positions and values, and the lexer's own errors. Tokens are
 * compared through lex_dump: one "line:col kind [value]" a line. */
#include <criterion/criterion.h>

#include "frontend_internal.h"

typedef struct Lexed {
  char *tokens;
  char *diags;
  int errors;
} Lexed;

static Lexed lex(const char *text) {
  Lexed r = {0};
  size_t size;
  FILE *out = open_memstream(&r.diags, &size);
  Source *src = source_from_string("t.spn", text);
  Diag diag;
  diag_init(&diag, src, out);
  r.tokens = lex_dump(src, &diag);
  r.errors = diag.errors;
  fclose(out);
  source_free(src);
  return r;
}

static void lexed_free(Lexed *r) {
  free(r->tokens);
  free(r->diags);
}

Test(lexer, block_tokens_with_positions) {
  Lexed r = lex("model {\n  input = 784\n}\n");
  cr_assert_str_eq(r.tokens,
                   "1:1 identifier model\n"
                   "1:7 '{'\n"
                   "2:3 identifier input\n"
                   "2:9 '='\n"
                   "2:11 number 784 integer\n"
                   "3:1 '}'\n"
                   "3:2 end of file\n");
  cr_assert_eq(r.errors, 0);
  lexed_free(&r);
}

Test(lexer, numbers) {
  Lexed r = lex("12 0.01 1e-3 .5 1E+2 3. 2e3");
  cr_assert_str_eq(r.tokens,
                   "1:1 number 12 integer\n"
                   "1:4 number 0.01\n"
                   "1:9 number 0.001\n"
                   "1:14 number 0.5\n"
                   "1:17 number 100\n"
                   "1:22 number 3\n"
                   "1:25 number 2000\n"
                   "1:28 end of file\n");
  lexed_free(&r);
}

Test(lexer, strings_with_escapes) {
  Lexed r = lex("\"a/b.gz\" \"q\\\"x\\\\y\\nz\" \"\"");
  cr_assert_str_eq(r.tokens,
                   "1:1 string \"a/b.gz\"\n"
                   "1:10 string \"q\"x\\y\nz\"\n"
                   "1:23 string \"\"\n"
                   "1:25 end of file\n");
  cr_assert_eq(r.errors, 0);
  lexed_free(&r);
}

Test(lexer, comments_and_separators) {
  Lexed r = lex("# heading\nx = 1; # trailing\n  # indented\ny=2");
  cr_assert_str_eq(r.tokens,
                   "2:1 identifier x\n"
                   "2:3 '='\n"
                   "2:5 number 1 integer\n"
                   "2:6 ';'\n"
                   "4:1 identifier y\n"
                   "4:2 '='\n"
                   "4:3 number 2 integer\n"
                   "4:4 end of file\n");
  lexed_free(&r);
}

Test(lexer, layer_is_a_keyword_only_as_a_whole_word) {
  Lexed r = lex("layer layers _layer2");
  cr_assert_str_eq(r.tokens,
                   "1:1 'layer'\n"
                   "1:7 identifier layers\n"
                   "1:14 identifier _layer2\n"
                   "1:21 end of file\n");
  lexed_free(&r);
}

Test(lexer, call_with_keyword_argument_and_arithmetic) {
  Lexed r = lex("dense(10, l1 = -1/2*(3+4))");
  cr_assert_str_eq(r.tokens,
                   "1:1 identifier dense\n"
                   "1:6 '('\n"
                   "1:7 number 10 integer\n"
                   "1:9 ','\n"
                   "1:11 identifier l1\n"
                   "1:14 '='\n"
                   "1:16 '-'\n"
                   "1:17 number 1 integer\n"
                   "1:18 '/'\n"
                   "1:19 number 2 integer\n"
                   "1:20 '*'\n"
                   "1:21 '('\n"
                   "1:22 number 3 integer\n"
                   "1:23 '+'\n"
                   "1:24 number 4 integer\n"
                   "1:25 ')'\n"
                   "1:26 ')'\n"
                   "1:27 end of file\n");
  lexed_free(&r);
}

Test(lexer, end_of_file_is_just_after_the_last_token) {
  Lexed r = lex("a\n\n  # comment\n\n");
  cr_assert_str_eq(r.tokens, "1:1 identifier a\n1:2 end of file\n");
  lexed_free(&r);
  r = lex("");
  cr_assert_str_eq(r.tokens, "1:1 end of file\n");
  lexed_free(&r);
}

Test(lexer, unexpected_character_is_reported_and_skipped) {
  Lexed r = lex("a @ b");
  cr_assert_str_eq(r.tokens, "1:1 identifier a\n1:5 identifier b\n1:6 end of file\n");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:3: error: unexpected character '@'\n"
                   "    1 | a @ b\n"
                   "      |   ^\n");
  cr_assert_eq(r.errors, 1);
  lexed_free(&r);
}

Test(lexer, unexpected_non_ascii_and_control_characters) {
  Lexed r = lex("x = \xc3\xa9\x01");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:5: error: unexpected character '\xc3\xa9'\n"
                   "    1 | x = \xc3\xa9 \n"
                   "      |     ^\n"
                   "t.spn:1:7: error: unexpected character '\\x01'\n"
                   "    1 | x = \xc3\xa9 \n"
                   "      |      ^\n");
  lexed_free(&r);
}

Test(lexer, caret_lines_up_after_tabs) {
  Lexed r = lex("\tx =\t@");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:6: error: unexpected character '@'\n"
                   "    1 |     x = @\n"
                   "      |         ^\n");
  lexed_free(&r);
}

Test(lexer, unterminated_string_is_reported_at_its_start) {
  Lexed r = lex("p = \"abc\nq = 1");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:5: error: unterminated string\n"
                   "    1 | p = \"abc\n"
                   "      |     ^~~~\n");
  /* and lexing goes on with the next line */
  cr_assert_str_eq(r.tokens,
                   "1:1 identifier p\n"
                   "1:3 '='\n"
                   "1:5 string \"abc\"\n"
                   "2:1 identifier q\n"
                   "2:3 '='\n"
                   "2:5 number 1 integer\n"
                   "2:6 end of file\n");
  lexed_free(&r);
}

Test(lexer, unknown_escape_is_an_error) {
  Lexed r = lex("\"C:\\data\"");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:4: error: unknown escape sequence '\\d'\n"
                   "    1 | \"C:\\data\"\n"
                   "      |    ^~\n");
  lexed_free(&r);
}

Test(lexer, huge_number_is_an_error) {
  Lexed r = lex("1e999");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:1: error: number '1e999' is too large\n"
                   "    1 | 1e999\n"
                   "      | ^~~~~\n");
  lexed_free(&r);
}
