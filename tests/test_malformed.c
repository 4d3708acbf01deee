/* Malformed specs: each case is loaded, must be refused (NULL), and its
 * first diagnostic must be exactly the expected text: the located message,
 * the source line and the caret (and the notes that belong to it). Also
 * hostile input: garbage, NUL bytes, 10 MB files, 100k-deep nesting. None
 * may crash, hang or leak (the sanitizer build runs these too). */
#include <criterion/criterion.h>
#include <unistd.h>

#include "frontend_internal.h"

/* Valid blocks to complete a spec around the one under test. */
#define MODEL                              \
  "model {\n"                              \
  "  input = 4\n"                          \
  "  layer h1 = dense(8, relu)\n"          \
  "  layer h2 = dense(8, relu)\n"          \
  "  layer out = dense(2, softmax)\n"      \
  "}\n"
#define TRAIN                              \
  "train {\n"                              \
  "  lr = 0.1\n"                           \
  "  batch = 2\n"                          \
  "  epochs = 1\n"                         \
  "}\n"
#define DATA                               \
  "data {\n"                               \
  "  train = idx(\"a\", \"b\")\n"          \
  "  test = idx(\"c\", \"d\")\n"           \
  "}\n"

typedef struct Loaded {
  Spec *spec;
  char *out;
} Loaded;

static Loaded load(const char *text) {
  Loaded r = {0};
  size_t size;
  FILE *out = open_memstream(&r.out, &size);
  r.spec = spec_load_string("m.spn", text, out);
  fclose(out);
  return r;
}

static void loaded_free(Loaded *r) {
  spec_free(r->spec);
  free(r->out);
}

static int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Refused, and the diagnostics start with `expected`. */
static void expect(const char *text, const char *expected) {
  Loaded r = load(text);
  cr_assert_null(r.spec, "accepted:\n%s", text);
  cr_assert(starts_with(r.out, expected), "expected:\n%s\nfound:\n%s", expected, r.out);
  loaded_free(&r);
}

/* A model block with the given lines between input and the end; M_LINE is
 * the line of the first of them. */
#define MODEL_WITH(lines) "model {\n  input = 4\n" lines "}\n" TRAIN DATA
#define M_LINE 3

/* ---- hostile input ----------------------------------------------------------- */

Test(malformed, empty_file) {
  expect("", "m.spn:1:1: error: missing 'model' block\n"
             "    1 | \n"
             "      | ^\n");
}

Test(malformed, only_comments_and_blank_lines) {
  expect("# nothing here\n\n   \n", "m.spn:1:1: error: missing 'model' block\n");
}

Test(malformed, binary_garbage_is_cut_short) {
  char text[256 * 40 + 1];
  for (int i = 0; i < 256 * 40; i++)
    text[i] = (char)(i % 255 + 1);  /* every byte but NUL */
  text[256 * 40] = '\0';
  Loaded r = load(text);
  cr_assert_null(r.spec);
  cr_assert(starts_with(r.out, "m.spn:1:1: error: unexpected character '\\x01'\n"), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "m.spn: too many errors; stopping here\n"));
  cr_assert_lt(strlen(r.out), 30000);
  loaded_free(&r);
}

static char *temp_file(const void *bytes, size_t len) {
  char *path = strdup("/tmp/sparsec_malformed_XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
  close(fd);
  return path;
}

Test(malformed, nul_bytes_in_a_file) {
  static const char bytes[] = "model {\n  input = 4\0\n}\n";
  char *path = temp_file(bytes, sizeof bytes - 1);
  char *out = NULL;
  size_t size;
  FILE *f = open_memstream(&out, &size);
  cr_assert_null(spec_load(path, f));
  fclose(f);
  char expected[512];
  snprintf(expected, sizeof expected, "%s:2:12: error: unexpected character '\\x00'\n"
           "    2 |   input = 4 \n"
           "      |            ^\n", path);
  cr_assert(starts_with(out, expected), "%s", out);
  unlink(path);
  free(path);
  free(out);
}

/* 10 MB of comments, then a mistake: its line number is right. */
Test(malformed, ten_megabyte_file) {
  const char *line = "# a comment line that is repeated to make the file large\n";
  size_t n = strlen(line), lines = 10 * 1024 * 1024 / n;
  char *text = malloc(lines * n + 256);
  char *p = text;
  for (size_t i = 0; i < lines; i++, p += n)
    memcpy(p, line, n);
  strcpy(p, MODEL TRAIN DATA "bogus {\n}\n");
  Loaded r = load(text);
  char expected[128];
  snprintf(expected, sizeof expected, "m.spn:%zu:1: error: unknown block 'bogus'\n", lines + 16);
  cr_assert_null(r.spec);
  cr_assert(starts_with(r.out, expected), "%s", r.out);
  loaded_free(&r);
  free(text);
}

/* One 10 MB line of statements: errors stop at the limit, and the shown
 * part of the line is a window around the caret. */
Test(malformed, ten_megabyte_line) {
  size_t reps = 10 * 1024 * 1024 / 6;
  char *text = malloc(reps * 6 + 64);
  strcpy(text, "train {");
  char *p = text + strlen(text);
  for (size_t i = 0; i < reps; i++, p += 6)
    memcpy(p, " x = 1", 6);
  strcpy(p, " }\n");
  Loaded r = load(text);
  cr_assert_null(r.spec);
  cr_assert(starts_with(r.out, "m.spn:1:9: error: unknown setting 'x' in 'train' block\n"
                               "    1 | train { x = 1 x = 1 x = 1"), "%.300s", r.out);
  cr_assert_not_null(strstr(r.out, "m.spn: too many errors; stopping here\n"));
  cr_assert_lt(strlen(r.out), 30000);
  loaded_free(&r);
  free(text);
}

static char *repeat(const char *head, const char *unit, int n, const char *tail) {
  size_t u = strlen(unit);
  char *text = malloc(strlen(head) + u * n + strlen(tail) + 1);
  strcpy(text, head);
  char *p = text + strlen(head);
  for (int i = 0; i < n; i++, p += u)
    memcpy(p, unit, u);
  strcpy(p, tail);
  return text;
}

static void expect_too_deep(const char *head, const char *unit, const char *tail,
                            const char *expected) {
  char *text = repeat(head, unit, 100000, tail);
  expect(text, expected);
  free(text);
}

Test(malformed, hundred_thousand_nested_parentheses) {
  expect_too_deep("train { lr = ", "(", "1 }", "m.spn:1:77: error: nested too deeply: at most 64 levels\n");
}

Test(malformed, hundred_thousand_nested_blocks) {
  expect_too_deep("model ", "{ a ", "", "m.spn:1:263: error: nested too deeply: at most 64 levels\n");
}

Test(malformed, hundred_thousand_nested_sets_and_calls) {
  expect_too_deep("train { lr in ", "{", "", "m.spn:1:78: error: nested too deeply: at most 64 levels\n");
  expect_too_deep("train { lr = ", "f(", "", "m.spn:1:141: error: nested too deeply: at most 64 levels\n");
}

Test(malformed, hundred_thousand_unary_minuses) {
  expect_too_deep("train { lr = ", "-", "1 }", "m.spn:1:78: error: nested too deeply: at most 64 levels\n");
}

Test(malformed, hundred_thousand_term_expression) {
  expect_too_deep("train { lr = 1", "+1", " }",
                  "m.spn:1:14: error: nested too deeply: at most 64 levels\n");
}

Test(malformed, very_long_name) {
  char *text = repeat("train {\n  ", "x", 200, " = 1\n}\n");
  expect(text, "m.spn:2:3: error: name too long: 200 bytes, at most 128\n");
  free(text);
}

Test(malformed, error_far_into_a_long_line) {
  char *text = repeat("train { ", "lr = 1 ", 1000, "batch = @ }\n");
  expect(text, "m.spn:1:7017: error: unexpected character '@'\n"
               "    1 | ... 1 lr = 1 lr = 1 lr = 1 lr = 1 lr = 1 lr = 1 lr = 1 batch = @ }\n"
               "      |                                                                ^\n");
  free(text);
}

Test(malformed, missing_final_newline) {
  expect("model {\n  input = 4", "m.spn:2:12: error: expected '}', found end of file\n"
                                 "    2 |   input = 4\n"
                                 "      |            ^\n"
                                 "m.spn:1:7: note: to match this '{'\n");
}

/* ---- numbers, strings, characters ------------------------------------------- */

Test(malformed, number_out_of_range) {
  expect("train {\n  lr = 1e999\n}\n", "m.spn:2:8: error: number out of range: '1e999'\n"
                                       "    2 |   lr = 1e999\n"
                                       "      |        ^~~~~\n");
}

Test(malformed, arithmetic_out_of_range) {
  expect("train {\n  lr = 1e300 * 1e300\n}\n",
         "m.spn:2:8: error: number out of range\n"
         "    2 |   lr = 1e300 * 1e300\n"
         "      |        ^~~~~~~~~~~~~\n");
}

Test(malformed, negative_zero_is_zero) {
  expect("train {\n  lr = -0\n}\n", "m.spn:2:8: error: 'lr' must be greater than 0, not 0\n"
                                    "    2 |   lr = -0\n"
                                    "      |        ^~\n");
}

Test(malformed, hexadecimal_number) {
  expect("train {\n  batch = 0x10\n}\n",
         "m.spn:2:11: error: hexadecimal numbers are not supported: '0x10'\n"
         "    2 |   batch = 0x10\n"
         "      |           ^~~~\n");
}

Test(malformed, number_with_two_dots) {
  expect("train {\n  lr = 0.1.2\n}\n", "m.spn:2:8: error: invalid number '0.1.2'\n");
}

Test(malformed, non_utf8_byte) {
  expect("train {\n  lr = \xff\n}\n", "m.spn:2:8: error: unexpected character '\\xff'\n");
}

Test(malformed, unterminated_string) {
  expect("data {\n  train = idx(\"a, b)\n}\n",
         "m.spn:2:15: error: unterminated string\n"
         "    2 |   train = idx(\"a, b)\n"
         "      |               ^~~~~~\n");
}

Test(malformed, unknown_escape) {
  expect("data {\n  train = idx(\"C:\\data\", \"b\")\n}\n",
         "m.spn:2:18: error: unknown escape sequence '\\d'\n");
}

Test(malformed, unexpected_character) {
  expect("train {\n  lr = 0.1 $\n}\n", "m.spn:2:12: error: unexpected character '$'\n"
                                       "    2 |   lr = 0.1 $\n"
                                       "      |            ^\n");
}

/* ---- syntax -------------------------------------------------------------------- */

Test(malformed, missing_equals) {
  expect("train {\n  lr 0.1\n}\n", "m.spn:2:6: error: expected '=', found number\n");
}

Test(malformed, missing_value) {
  expect("train {\n  lr =\n  batch = 1\n}\n", "m.spn:2:6: error: expected expression after '='\n");
}

Test(malformed, empty_set) {
  expect("train {\n  lr in {}\n}\n", "m.spn:2:9: error: a set needs at least one element\n"
                                     "    2 |   lr in {}\n"
                                     "      |         ^~\n");
}

Test(malformed, unclosed_parenthesis) {
  expect("train {\n  lr = (1\n", "m.spn:2:10: error: expected ')', found end of file\n"
                                 "    2 |   lr = (1\n"
                                 "      |          ^\n"
                                 "m.spn:2:8: note: to match this '('\n");
}

Test(malformed, stray_closing_brace) {
  expect("}\n" MODEL TRAIN DATA, "m.spn:1:1: error: expected end of file or identifier, found '}'\n");
}

Test(malformed, in_is_reserved) {
  expect("train {\n  in = 3\n}\n", "m.spn:2:3: error: expected identifier, 'layer' or '}', found 'in'\n");
}

Test(malformed, several_syntax_errors_in_one_run) {
  Loaded r = load("train {\n  lr 1\n  batch = = 2\n}\ndata { x = (1 }\n");
  cr_assert_null(r.spec);
  cr_assert(starts_with(r.out, "m.spn:2:6: error: expected '=', found number\n"), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "m.spn:3:11: error: expected expression, found '='\n"));
  cr_assert_not_null(strstr(r.out, "m.spn:5:15: error: expected ')', found '}'\n"));
  loaded_free(&r);
}

/* ---- blocks ------------------------------------------------------------------- */

Test(malformed, unknown_block) {
  expect(MODEL TRAIN DATA "outptu {\n}\n", "m.spn:16:1: error: unknown block 'outptu'\n"
                                            "   16 | outptu {\n"
                                            "      | ^~~~~~\n"
                                            "m.spn:16:1: note: did you mean 'output'? (one of: model, pretrain, train, data, output)\n");
}

Test(malformed, nested_block_where_none_belongs) {
  expect("train {\n  lr = 0.1\n  schedule { x = 1 }\n}\n",
         "m.spn:3:3: error: unexpected block 'schedule' inside the 'train' block\n"
         "    3 |   schedule { x = 1 }\n"
         "      |   ^~~~~~~~\n");
}

Test(malformed, top_level_block_inside_another) {
  expect("model {\n  input = 4\ntrain {\n  lr = 1\n}\n}\n",
         "m.spn:3:1: error: unexpected block 'train' inside the 'model' block\n"
         "    3 | train {\n"
         "      | ^~~~~\n"
         "m.spn:3:1: note: is a '}' missing before this block?\n");
}

Test(malformed, layer_outside_the_model) {
  expect("data {\n  layer x = dense(1, relu)\n}\n",
         "m.spn:2:3: error: layers belong in the 'model' block\n");
}

/* ---- model ---------------------------------------------------------------------- */

Test(malformed, unknown_activation) {
  expect(MODEL_WITH("  layer h1 = dense(8, rleu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:23: error: unknown activation 'rleu'\n"
         "    3 |   layer h1 = dense(8, rleu)\n"
         "      |                       ^~~~\n"
         "m.spn:3:23: note: did you mean 'relu'? (one of: relu, tanh, softplus, sigmoid, linear, softmax, leaky_relu, abs)\n");
}

Test(malformed, zero_units) {
  expect(MODEL_WITH("  layer h1 = dense(0, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:20: error: the width of layer 'h1' must be between 1 and 1000000, not 0\n");
}

Test(malformed, units_above_the_stated_limit) {
  expect(MODEL_WITH("  layer h1 = dense(1000001, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:20: error: the width of layer 'h1' must be between 1 and 1000000, not 1000001\n");
}

Test(malformed, negative_l1_on_a_layer) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu, l1 = -1)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:34: error: 'l1' of layer 'h1' must be at least 0, not -1\n");
}

Test(malformed, negative_l2_default) {
  expect(MODEL_WITH("  l2 = -0.5\n  layer h1 = dense(8, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:8: error: 'l2' must be at least 0, not -0.5\n");
}

Test(malformed, uniform_bound_must_be_positive) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu, init = uniform(0))\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:44: error: the bound of uniform in 'init' of layer 'h1' must be greater than 0, "
         "not 0\n");
}

Test(malformed, uniform_needs_its_bound) {
  expect(MODEL_WITH("  init = uniform\n  layer h1 = dense(8, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:10: error: uniform needs its bound: uniform(A)\n");
}

Test(malformed, uniform_takes_one_number) {
  expect(MODEL_WITH("  init = uniform(1, 2)\n  layer h1 = dense(8, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:10: error: uniform takes one number: uniform(A)\n");
}

Test(malformed, unknown_init) {
  expect(MODEL_WITH("  init = he_norml\n  layer h1 = dense(8, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:10: error: unknown initialisation 'he_norml'\n"
         "    3 |   init = he_norml\n"
         "      |          ^~~~~~~~\n"
         "m.spn:3:10: note: did you mean 'he_normal'? (one of: glorot_uniform, he_normal, uniform)\n");
}

Test(malformed, init_without_a_parameter_called) {
  expect(MODEL_WITH("  init = glorot_uniform(1)\n  layer h1 = dense(8, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:10: error: glorot_uniform takes no arguments\n");
}

Test(malformed, boolean_must_be_true_or_false) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu, sign_trick = 1)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:42: error: expected true or false for 'sign_trick' of layer 'h1', found an "
         "integer\n");
}

Test(malformed, misspelt_boolean) {
  expect(MODEL_WITH("  sign_trick = ture\n  layer h1 = dense(8, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:16: error: expected true or false for 'sign_trick', found identifier 'ture'\n"
         "    3 |   sign_trick = ture\n"
         "      |                ^~~~\n"
         "m.spn:3:16: note: did you mean 'true'? (one of: false, true)\n");
}

Test(malformed, sign_trick_on_the_output_layer) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu)\n  layer out = dense(2, softmax, sign_trick = true)\n"),
         "m.spn:4:46: error: sign_trick is not allowed on the output layer 'out'\n");
}

Test(malformed, bias_must_be_a_number) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu, bias = \"0\")\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:36: error: expected a number for 'bias' of layer 'h1', found a string\n");
}

Test(malformed, softmax_on_a_hidden_layer) {
  expect(MODEL_WITH("  layer h1 = dense(8, softmax)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:23: warning: softmax on a hidden layer\n"
         "    3 |   layer h1 = dense(8, softmax)\n"
         "      |                       ^~~~~~~\n"
         "m.spn:3:23: error: softmax is only supported on the output layer: a hidden softmax has "
         "no derivative implemented\n");
}

Test(malformed, output_layer_must_be_a_head) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu)\n  layer out = dense(2, tanh)\n"),
         "m.spn:4:24: error: output layer 'out' must be softmax, sigmoid or linear, not tanh\n"
         "    4 |   layer out = dense(2, tanh)\n"
         "      |                        ^~~~\n");
}

Test(malformed, loss_does_not_fit_the_output) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu)\n  layer out = dense(2, sigmoid)\n  loss = nll\n"),
         "m.spn:5:10: error: loss 'nll' does not match the output activation 'sigmoid'\n"
         "    5 |   loss = nll\n"
         "      |          ^~~\n"
         "m.spn:4:24: note: the output layer 'out' is declared sigmoid here, which goes with "
         "'loss = cross_entropy'\n"
         "    4 |   layer out = dense(2, sigmoid)\n"
         "      |                        ^~~~~~~\n");
}

Test(malformed, unknown_loss) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu)\n  layer out = dense(2, linear)\n  loss = squared\n"),
         "m.spn:5:10: error: unknown loss 'squared'\n");
}

Test(malformed, layer_named_like_a_block) {
  expect(MODEL_WITH("  layer train = dense(8, relu)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:9: error: 'train' names a block; choose another layer name\n");
}

Test(malformed, duplicate_dense_argument) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu, l2 = 0, l2 = 1)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:37: error: duplicate argument 'l2'\n"
         "    3 |   layer h1 = dense(8, relu, l2 = 0, l2 = 1)\n"
         "      |                                     ^~\n"
         "m.spn:3:29: note: first defined here\n");
}

Test(malformed, misspelt_dense_argument) {
  expect(MODEL_WITH("  layer h1 = dense(8, relu, bais = 0)\n  layer out = dense(2, softmax)\n"),
         "m.spn:3:29: error: unknown argument 'bais' to dense\n"
         "    3 |   layer h1 = dense(8, relu, bais = 0)\n"
         "      |                             ^~~~\n"
         "m.spn:3:29: note: did you mean 'bias'? (one of: l1, l2, init, bias, sign_trick)\n");
}

Test(malformed, model_without_layers) {
  expect(MODEL_WITH(""), "m.spn:1:1: error: the model has no layers: it needs at least one "
                         "hidden layer and an output layer\n");
}

Test(malformed, missing_input) {
  expect("model {\n  layer h1 = dense(8, relu)\n  layer out = dense(2, softmax)\n}\n" TRAIN DATA,
         "m.spn:1:1: error: missing setting 'input' in 'model' block\n");
}

/* ---- pretrain -------------------------------------------------------------------- */

#define PRETRAIN(lines) MODEL "pretrain {\n" lines "}\n" TRAIN DATA
#define P_LINE 8

Test(malformed, pretrain_unknown_layer) {
  expect(PRETRAIN("  layers = {h1, hh2}\n"),
         "m.spn:8:17: error: unknown layer 'hh2'\n"
         "    8 |   layers = {h1, hh2}\n"
         "      |                 ^~~\n"
         "m.spn:8:17: note: did you mean 'h2'? (one of: h1, h2, out)\n");
}

Test(malformed, pretrain_the_output_layer) {
  expect(PRETRAIN("  layers = {h1, out}\n"),
         "m.spn:8:17: error: the output layer 'out' cannot be pretrained\n"
         "    8 |   layers = {h1, out}\n"
         "      |                 ^~~\n"
         "m.spn:5:9: note: the output layer is declared here\n"
         "    5 |   layer out = dense(2, softmax)\n"
         "      |         ^~~\n");
}

Test(malformed, pretrain_layer_listed_twice) {
  expect(PRETRAIN("  layers = {h1, h1}\n"),
         "m.spn:8:17: error: layer 'h1' is listed twice\n"
         "    8 |   layers = {h1, h1}\n"
         "      |                 ^~\n"
         "m.spn:8:13: note: first listed here\n"
         "    8 |   layers = {h1, h1}\n"
         "      |             ^~\n");
}

Test(malformed, pretrain_layers_out_of_order) {
  expect(PRETRAIN("  layers = {h2, h1}\n"),
         "m.spn:8:17: error: pretrain layers must be in network order: 'h1' comes before 'h2'\n");
}

Test(malformed, pretrain_layers_not_a_set) {
  expect(PRETRAIN("  layers = h1\n"),
         "m.spn:8:12: error: expected a set of layer names like {h1, h2} for 'layers', found "
         "identifier 'h1'\n");
}

Test(malformed, masking_probability_of_one) {
  expect(PRETRAIN("  noise = masking(1)\n"),
         "m.spn:8:19: error: the probability of masking noise must be at least 0 and less than "
         "1, not 1\n");
}

Test(malformed, negative_gaussian_sigma) {
  expect(PRETRAIN("  noise = gaussian(-0.1)\n"),
         "m.spn:8:20: error: the sigma of gaussian noise must be at least 0, not -0.1\n");
}

Test(malformed, unknown_noise) {
  expect(PRETRAIN("  noise = maskng(0.2)\n"),
         "m.spn:8:11: error: unknown noise 'maskng'\n"
         "    8 |   noise = maskng(0.2)\n"
         "      |           ^~~~~~\n"
         "m.spn:8:11: note: did you mean 'masking'? (one of: masking, salt_pepper, gaussian)\n");
}

Test(malformed, noise_without_its_parameter) {
  expect(PRETRAIN("  noise = salt_pepper\n"),
         "m.spn:8:11: error: salt_pepper noise needs its parameter: salt_pepper(P)\n");
}

Test(malformed, unknown_reconstruction) {
  expect(PRETRAIN("  reconstruction = softplus\n"),
         "m.spn:8:20: error: unknown reconstruction 'softplus'\n");
}

Test(malformed, misspelt_reconstruction_lists_all_four) {
  expect(PRETRAIN("  reconstruction = relu_quadratc\n"),
         "m.spn:8:20: error: unknown reconstruction 'relu_quadratc'\n"
         "    8 |   reconstruction = relu_quadratc\n"
         "      |                    ^~~~~~~~~~~~~\n"
         "m.spn:8:20: note: did you mean 'relu_quadratic'? (one of: softplus_quadratic, "
         "scaled_sigmoid_cross_entropy, linear_quadratic, relu_quadratic)\n");
}

Test(malformed, unknown_targets) {
  expect(PRETRAIN("  targets = befor\n"),
         "m.spn:8:13: error: unknown reconstruction target 'befor'\n"
         "    8 |   targets = befor\n"
         "      |             ^~~~~\n"
         "m.spn:8:13: note: did you mean 'before'? (one of: after, before)\n");
}

Test(malformed, targets_not_a_word) {
  expect(PRETRAIN("  h2 { targets = \"before\" }\n"),
         "m.spn:8:18: error: expected a reconstruction target for 'targets', found a string\n");
}

/* The default reconstruction is softplus_quadratic: before needs the linear one. */
Test(malformed, targets_before_with_the_default_reconstruction) {
  expect(PRETRAIN("  targets = before\n"),
         "m.spn:8:13: error: 'targets = before' needs 'reconstruction = linear_quadratic', but "
         "layer 'h2' reconstructs with the default softplus_quadratic\n"
         "    8 |   targets = before\n"
         "      |             ^~~~~~\n");
}

Test(malformed, targets_before_with_softplus_quadratic_per_layer) {
  expect(PRETRAIN("  reconstruction = linear_quadratic\n"
                  "  h2 { targets = before reconstruction = softplus_quadratic }\n"),
         "m.spn:9:18: error: 'targets = before' needs 'reconstruction = linear_quadratic', but "
         "layer 'h2' reconstructs with softplus_quadratic\n"
         "    9 |   h2 { targets = before reconstruction = softplus_quadratic }\n"
         "      |                  ^~~~~~\n"
         "m.spn:9:42: note: the reconstruction of layer 'h2' is set here\n"
         "    9 |   h2 { targets = before reconstruction = softplus_quadratic }\n"
         "      |                                          ^~~~~~~~~~~~~~~~~~\n");
}

/* The block's before, a layer's other decoder: the error is at the block's
 * setting, the note at the layer's. */
Test(malformed, targets_before_against_a_layer_reconstruction) {
  expect(PRETRAIN("  reconstruction = linear_quadratic\n  targets = before\n"
                  "  h2 { reconstruction = scaled_sigmoid_cross_entropy }\n"),
         "m.spn:9:13: error: 'targets = before' needs 'reconstruction = linear_quadratic', but "
         "layer 'h2' reconstructs with scaled_sigmoid_cross_entropy\n"
         "    9 |   targets = before\n"
         "      |             ^~~~~~\n"
         "m.spn:10:25: note: the reconstruction of layer 'h2' is set here\n");
}

/* The first hidden layer has no layer below: its target is the input. */
Test(malformed, targets_before_on_the_first_layer) {
  expect(PRETRAIN("  reconstruction = linear_quadratic\n  h1 { targets = before }\n"),
         "m.spn:9:18: error: 'targets = before' takes the pre-activations of the layer below, "
         "and 'h1' is the first hidden layer: its target is the input\n"
         "    9 |   h1 { targets = before }\n"
         "      |                  ^~~~~~\n");
}

/* With the first layer alone and a decoder other than the linear one, the
 * block's before is wrong, not only useless. */
Test(malformed, targets_before_in_the_block_of_the_first_layer_alone) {
  expect(PRETRAIN("  layers = {h1}\n  targets = before\n"),
         "m.spn:9:13: error: 'targets = before' needs 'reconstruction = linear_quadratic', but "
         "the block reconstructs with the default softplus_quadratic\n");
}

Test(malformed, unknown_decoder) {
  expect(PRETRAIN("  decoder = tie\n"),
         "m.spn:8:13: error: unknown decoder 'tie'\n"
         "    8 |   decoder = tie\n"
         "      |             ^~~\n"
         "m.spn:8:13: note: did you mean 'tied'? (one of: untied, tied)\n");
}

Test(malformed, pretrain_epochs_zero) {
  expect(PRETRAIN("  epochs = 0\n"), "m.spn:8:12: error: 'epochs' must be at least 1, not 0\n");
}

Test(malformed, pretrain_lr_zero) {
  expect(PRETRAIN("  h1 { lr = 0 }\n"), "m.spn:8:13: error: 'lr' must be greater than 0, not 0\n");
}

Test(malformed, per_layer_block_for_an_unlisted_layer) {
  expect(PRETRAIN("  layers = {h1}\n  h2 { epochs = 1 }\n"),
         "m.spn:9:3: error: layer 'h2' is not pretrained: it is not in 'layers'\n"
         "    9 |   h2 { epochs = 1 }\n"
         "      |   ^~\n"
         "m.spn:8:3: note: the layers to pretrain are listed here\n");
}

Test(malformed, per_layer_block_for_an_unknown_layer) {
  expect(PRETRAIN("  h3 { epochs = 1 }\n"),
         "m.spn:8:3: error: unknown layer 'h3'\n"
         "    8 |   h3 { epochs = 1 }\n"
         "      |   ^~\n"
         "m.spn:8:3: note: did you mean 'h1'? (one of: h1, h2, out)\n");
}

Test(malformed, layers_inside_a_per_layer_block) {
  expect(PRETRAIN("  h1 { layers = {h1} }\n"),
         "m.spn:8:8: error: 'layers' belongs to the 'pretrain' block, not to one layer's settings\n");
}

Test(malformed, block_inside_a_per_layer_block) {
  expect(PRETRAIN("  h1 { h2 { } }\n"),
         "m.spn:8:8: error: unexpected block 'h2' inside the 'h1' block\n");
}

Test(malformed, duplicate_per_layer_block) {
  expect(PRETRAIN("  h1 { lr = 0.5 }\n  h1 { batch = 1 }\n"),
         "m.spn:9:3: error: duplicate settings for layer 'h1'\n"
         "    9 |   h1 { batch = 1 }\n"
         "      |   ^~\n"
         "m.spn:8:3: note: first defined here\n");
}

Test(malformed, misspelt_pretrain_setting) {
  expect(PRETRAIN("  h2 { epoch = 3 }\n"),
         "m.spn:8:8: error: unknown setting 'epoch' in 'h2' block\n"
         "    8 |   h2 { epoch = 3 }\n"
         "      |        ^~~~~\n"
         "m.spn:8:8: note: did you mean 'epochs'? (one of: layers, noise, reconstruction, targets, decoder, epochs, lr, batch, l1)\n");
}

/* ---- train ----------------------------------------------------------------------- */

Test(malformed, sweep_needs_a_set) {
  expect("train {\n  lr in 0.1\n}\n",
         "m.spn:2:9: error: expected a set of learning rates after 'in', like {0.1, 0.01}\n");
}

Test(malformed, sweep_with_a_repeated_rate) {
  expect("train {\n  lr in {0.1, 0.01, 1/10}\n}\n",
         "m.spn:2:21: error: learning rate 0.1 is listed twice\n"
         "    2 |   lr in {0.1, 0.01, 1/10}\n"
         "      |                     ^~~~\n"
         "m.spn:2:10: note: first listed here\n");
}

Test(malformed, sweep_with_too_many_rates) {
  expect("train {\n  lr in {1e-1, 2e-1, 3e-1, 4e-1, 5e-1, 6e-1, 7e-1, 8e-1, 9e-1, 1e-2, 2e-2, "
         "3e-2, 4e-2, 5e-2, 6e-2, 7e-2, 8e-2}\n}\n",
         "m.spn:2:106: error: too many learning rates: at most 16\n");
}

Test(malformed, sweep_with_a_negative_rate) {
  expect("train {\n  lr in {0.1, -0.1}\n}\n", "m.spn:2:15: error: 'lr' must be greater than 0, not -0.1\n");
}

Test(malformed, sweep_of_a_setting_that_takes_one_value) {
  expect("train {\n  batch in {1, 2}\n}\n",
         "m.spn:2:3: error: 'batch' takes one value: write 'batch = VALUE', not 'in'\n");
}

Test(malformed, a_set_of_rates_written_with_equals) {
  expect("train {\n  lr = {0.1, 0.01}\n}\n",
         "m.spn:2:8: error: expected a number for 'lr', found a set\n"
         "    2 |   lr = {0.1, 0.01}\n"
         "      |        ^~~~~~~~~~~\n"
         "m.spn:2:8: note: to try several learning rates, write 'lr in {...}'\n");
}

Test(malformed, momentum_of_one) {
  expect("train {\n  momentum = 1\n}\n",
         "m.spn:2:14: error: 'momentum' must be at least 0 and less than 1, not 1\n");
}

Test(malformed, negative_patience) {
  expect("train {\n  patience = -1\n}\n", "m.spn:2:14: error: 'patience' must be at least 0, not -1\n");
}

Test(malformed, missing_learning_rate) {
  expect("train {\n  batch = 1\n  epochs = 1\n}\n" MODEL DATA,
         "m.spn:1:1: error: missing setting 'lr' in 'train' block\n");
}

/* ---- data ------------------------------------------------------------------------- */

Test(malformed, csv_without_label) {
  expect("data {\n  train = csv(\"x.csv\")\n}\n",
         "m.spn:2:11: error: csv needs the label column: csv(\"FILE\", label = \"COLUMN\")\n");
}

Test(malformed, csv_with_a_misspelt_keyword) {
  expect("data {\n  train = csv(\"x.csv\", lable = \"y\")\n}\n",
         "m.spn:2:24: error: unknown argument 'lable' to csv\n"
         "    2 |   train = csv(\"x.csv\", lable = \"y\")\n"
         "      |                        ^~~~~\n"
         "m.spn:2:24: note: did you mean 'label'? (one of: label)\n");
}

Test(malformed, csv_with_two_files) {
  expect("data {\n  train = csv(\"x.csv\", \"y.csv\", label = \"y\")\n}\n",
         "m.spn:2:11: error: csv needs one file: csv(\"FILE\", label = \"COLUMN\")\n");
}

Test(malformed, csv_label_not_a_string) {
  expect("data {\n  train = csv(\"x.csv\", label = y)\n}\n",
         "m.spn:2:32: error: expected a column name string for the label column of 'train', "
         "found identifier 'y'\n");
}

Test(malformed, csv_empty_label) {
  expect("data {\n  train = csv(\"x.csv\", label = \"\")\n}\n",
         "m.spn:2:32: error: empty name for the label column of 'train'\n");
}

Test(malformed, unknown_data_format) {
  expect("data {\n  train = cvs(\"x.csv\", label = \"y\")\n}\n",
         "m.spn:2:11: error: unknown data format 'cvs'\n"
         "    2 |   train = cvs(\"x.csv\", label = \"y\")\n"
         "      |           ^~~\n"
         "m.spn:2:11: note: did you mean 'csv'? (one of: idx, csv, libsvm)\n");
}

Test(malformed, validation_fraction_of_one_and_a_half) {
  expect("data {\n  validation = 1.5\n}\n",
         "m.spn:2:16: error: 'validation' must be a count (an integer >= 0) or a fraction "
         "between 0 and 1, not 1.5\n");
}

Test(malformed, validation_fraction_of_zero) {
  expect("data {\n  validation = 0.0\n}\n",
         "m.spn:2:16: error: 'validation' must be a count (an integer >= 0) or a fraction "
         "between 0 and 1, not 0\n");
}

Test(malformed, limit_zero) {
  expect("data {\n  limit = 0\n}\n", "m.spn:2:11: error: 'limit' must be at least 1, not 0\n");
}

Test(malformed, validation_leaves_nothing_to_train_on) {
  expect("data {\n  train = idx(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n"
         "  validation = 500\n  limit = 500\n}\n" MODEL TRAIN,
         "m.spn:4:16: error: 'validation' holds out 500 examples, leaving none of the 500 that "
         "'limit' keeps\n"
         "    4 |   validation = 500\n"
         "      |                ^~~\n"
         "m.spn:5:11: note: the limit is set here\n");
}

/* ---- output ------------------------------------------------------------------------ */

#define OUTPUT(lines) MODEL TRAIN DATA "output {\n" lines "}\n"

Test(malformed, metrics_format_unknown) {
  expect(OUTPUT("  metrics = \"run.log\"\n"),
         "m.spn:17:13: error: cannot tell the metrics format from the file name: end it in .csv "
         "or .jsonl, or add format = csv or format = jsonl\n"
         "   17 |   metrics = \"run.log\"\n"
         "      |             ^~~~~~~~~\n");
}

Test(malformed, misspelt_format) {
  expect(OUTPUT("  metrics = \"m\"\n  format = json\n"),
         "m.spn:18:12: error: unknown metrics format 'json'\n"
         "   18 |   format = json\n"
         "      |            ^~~~\n"
         "m.spn:18:12: note: did you mean 'jsonl'? (one of: csv, jsonl)\n");
}

Test(malformed, unknown_progress_mode) {
  expect(OUTPUT("  progress = yes\n"), "m.spn:17:14: error: unknown progress mode 'yes'\n");
}

Test(malformed, empty_metrics_path) {
  expect(OUTPUT("  metrics = \"\"\n"), "m.spn:17:13: error: empty path for 'metrics'\n");
}

Test(malformed, checkpoint_not_a_string) {
  expect(OUTPUT("  checkpoint = best\n"),
         "m.spn:17:16: error: expected a path string for 'checkpoint', found identifier 'best'\n");
}

/* ---- files: tests/malformed/ --------------------------------------------------- */

#define MALFORMED SPARSEC_TEST_DATA "/../malformed/"

static void expect_file(const char *name, const char *expected) {
  char path[512], *out = NULL;
  snprintf(path, sizeof path, MALFORMED "%s", name);
  size_t size;
  FILE *f = open_memstream(&out, &size);
  Spec *spec = spec_load(path, f);
  fclose(f);
  cr_assert_null(spec, "accepted: %s", path);
  /* messages start with the path as given: compare from the line:col on */
  cr_assert(starts_with(out, path), "%s", out);
  const char *rest = out + strlen(path);
  cr_assert(starts_with(rest, expected), "expected:\n%s\nfound:\n%s", expected, rest);
  free(out);
}

Test(malformed, file_with_crlf_line_ends) {
  expect_file("crlf.spn", ":3:23: error: unknown activation 'rleu'\n"
                          "    3 |   layer h1 = dense(8, rleu)\n"
                          "      |                       ^~~~\n");
}

Test(malformed, byte_order_mark_only_at_the_start) {
  expect_file("bom.spn", ":15:1: error: unexpected character '\xef\xbb\xbf'\n"
                         "   15 | bogus {}\n"
                         "      | ^\n");
}

Test(malformed, latin1_byte_in_a_name) {
  expect_file("latin1.spn", ":4:12: error: unexpected character '\\xe9'\n"
                            "    4 |   layer caf? = dense(8, relu)\n"
                            "      |            ^\n");
}

Test(malformed, nul_byte_in_a_file) {
  expect_file("nul.spn", ":2:12: error: unexpected character '\\x00'\n"
                         "    2 |   input = 4 \n"
                         "      |            ^\n");
}

Test(malformed, file_cut_off_mid_statement) {
  expect_file("truncated.spn", ":3:25: error: expected ')', found end of file\n"
                               "    3 |   layer h1 = dense(8, re\n"
                               "      |                         ^\n");
}
