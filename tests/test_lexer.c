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

static int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
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
                   "t.spn:1:1: error: number out of range: '1e999'\n"
                   "    1 | 1e999\n"
                   "      | ^~~~~\n");
  lexed_free(&r);
}

Test(lexer, underflowing_number_is_an_error) {
  Lexed r = lex("x = 1e-999");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:5: error: number out of range: '1e-999'\n"
                   "    1 | x = 1e-999\n"
                   "      |     ^~~~~~\n");
  lexed_free(&r);
}

Test(lexer, in_is_a_keyword_only_as_a_whole_word) {
  Lexed r = lex("lr in {0.1} input");
  cr_assert_str_eq(r.tokens,
                   "1:1 identifier lr\n"
                   "1:4 'in'\n"
                   "1:7 '{'\n"
                   "1:8 number 0.1\n"
                   "1:11 '}'\n"
                   "1:13 identifier input\n"
                   "1:18 end of file\n");
  lexed_free(&r);
}

Test(lexer, hexadecimal_is_a_clear_error) {
  Lexed r = lex("x = 0x10");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:5: error: hexadecimal numbers are not supported: '0x10'\n"
                   "    1 | x = 0x10\n"
                   "      |     ^~~~\n");
  /* one token, not 0 followed by the name x10 */
  cr_assert_str_eq(r.tokens, "1:1 identifier x\n1:3 '='\n1:5 number 0 integer\n1:9 end of file\n");
  lexed_free(&r);
}

Test(lexer, numbers_run_into_letters_or_dots) {
  Lexed r = lex("12abc 1.2.3 1e");
  cr_assert_str_eq(r.diags,
                   "t.spn:1:1: error: invalid number '12abc'\n"
                   "    1 | 12abc 1.2.3 1e\n"
                   "      | ^~~~~\n"
                   "t.spn:1:7: error: invalid number '1.2.3'\n"
                   "    1 | 12abc 1.2.3 1e\n"
                   "      |       ^~~~~\n"
                   "t.spn:1:13: error: invalid number '1e'\n"
                   "    1 | 12abc 1.2.3 1e\n"
                   "      |             ^~\n");
  lexed_free(&r);
}

Test(lexer, long_names_are_refused) {
  char text[300] = "x";
  memset(text + 1, 'a', 128);  /* 129 bytes */
  Lexed r = lex(text);
  cr_assert(starts_with(r.diags, "t.spn:1:1: error: name too long: 129 bytes, at most 128\n"),
            "%s", r.diags);
  lexed_free(&r);
  text[128] = '\0';  /* 128 bytes: fine */
  r = lex(text);
  cr_assert_eq(r.errors, 0);
  lexed_free(&r);
}

Test(lexer, invalid_utf8_bytes_are_single_characters) {
  Lexed r = lex("a \xff\xfe b \xe2\x82\xac");
  cr_assert_eq(r.errors, 3, "%s", r.diags);
  cr_assert_not_null(strstr(r.diags, "t.spn:1:3: error: unexpected character '\\xff'\n"));
  cr_assert_not_null(strstr(r.diags, "t.spn:1:4: error: unexpected character '\\xfe'\n"));
  cr_assert_not_null(strstr(r.diags, "t.spn:1:8: error: unexpected character '\xe2\x82\xac'\n"));
  lexed_free(&r);
}

/* A Source may hold NUL bytes (source_read does not stop at them). */
static Lexed lex_bytes(const char *bytes, int len) {
  Lexed r = {0};
  size_t size;
  FILE *out = open_memstream(&r.diags, &size);
  Source src = {.path = "t.spn", .text = malloc(len + 1), .len = len};
  memcpy(src.text, bytes, len);
  src.text[len] = '\0';
  Diag diag;
  diag_init(&diag, &src, out);
  r.tokens = lex_dump(&src, &diag);
  r.errors = diag.errors;
  fclose(out);
  free(src.text);
  return r;
}

Test(lexer, nul_bytes_are_errors) {
  Lexed r = lex_bytes("a\0b \"x\0y\"", 9);
  cr_assert_str_eq(r.diags,
                   "t.spn:1:2: error: unexpected character '\\x00'\n"
                   "    1 | a b \"x y\"\n"
                   "      |  ^\n"
                   "t.spn:1:7: error: unexpected character '\\x00' in string\n"
                   "    1 | a b \"x y\"\n"
                   "      |       ^\n");
  cr_assert_str_eq(r.tokens, "1:1 identifier a\n1:3 identifier b\n1:5 string \"xy\"\n"
                             "1:10 end of file\n");
  lexed_free(&r);
}

Test(lexer, nesting_deeper_than_the_limit_stops_lexing) {
  char text[200];
  memset(text, '(', 70);
  strcpy(text + 70, "1 @");
  Lexed r = lex(text);
  cr_assert_eq(r.errors, 1, "%s", r.diags);  /* nothing after the limit, not even the '@' */
  cr_assert(starts_with(r.diags, "t.spn:1:65: error: nested too deeply: at most 64 levels\n"),
            "%s", r.diags);
  lexed_free(&r);
}

Test(lexer, missing_final_newline_and_crlf) {
  Lexed r = lex("a = 1\r\nb = \"x\"");
  cr_assert_str_eq(r.tokens, "1:1 identifier a\n1:3 '='\n1:5 number 1 integer\n"
                             "2:1 identifier b\n2:3 '='\n2:5 string \"x\"\n2:8 end of file\n");
  cr_assert_eq(r.errors, 0);
  lexed_free(&r);
}

/* ---- text.c: the REPL's view of a spec text, by the same rules ----------- */

Test(spec_text, blocks_and_their_spans) {
  const char *text = "# a { in a comment\nmodel { s = \"}\" # }\n} ; train;{ lr = 0.1 }\n";
  TextBlock b[4];
  int bad = -1;
  cr_assert_eq(spec_text_blocks(text, b, 4, &bad), 2);
  cr_expect_str_eq(b[0].name, "model");
  cr_expect_eq(b[0].begin, (int)(strstr(text, "model") - text));
  cr_expect_eq(b[0].end, (int)(strstr(text, "} ;") - text) + 1);
  cr_expect_str_eq(b[1].name, "train");
  cr_expect_eq(b[1].end, (int)strlen(text) - 1);
  cr_expect_eq(spec_text_blocks("model { }\nx = 1\n", b, 4, &bad), -1);
  cr_expect_eq(bad, 10);
  cr_expect_eq(spec_text_blocks("model { ( }", b, 4, &bad), 1); /* only braces count */
  cr_expect_eq(spec_text_blocks("model {", b, 4, &bad), -1);
  cr_expect_eq(bad, 0);
  cr_expect_eq(spec_text_blocks("a{} b{}", b, 1, &bad), -1); /* more than max */
  cr_expect_eq(bad, 4);
  cr_expect_eq(spec_text_blocks("\xEF\xBB\xBFmodel {}", b, 4, &bad), 1); /* a leading BOM is fine */
  cr_expect_eq(spec_text_blocks("model \xEF\xBB\xBF{}", b, 4, &bad), -1);
}

Test(spec_text, brace_delta_skips_strings_and_comments) {
  cr_expect_eq(spec_text_brace_delta("model {"), 1);
  cr_expect_eq(spec_text_brace_delta("  s = \"{{\" # {"), 0);
  cr_expect_eq(spec_text_brace_delta("  s = \"unterminated {"), 0);
  cr_expect_eq(spec_text_brace_delta("} }"), -2);
  char deep[200]; /* past the parser's nesting limit: still counted */
  memset(deep, '{', 100);
  deep[100] = '\0';
  cr_expect_eq(spec_text_brace_delta(deep), 100);
}
