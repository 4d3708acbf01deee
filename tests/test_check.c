/* AST -> Spec: the examples, defaults, every setting of the language, and
 * the rules that tie blocks together. Bad specs are inline strings; each
 * starts with the block under test so that line numbers in the expected
 * messages are easy to read. (Many more bad specs: test_malformed.c.) */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>

#include "frontend_internal.h"

#define MODEL                              \
  "model {\n"                              \
  "  input = 784\n"                        \
  "  layer h1 = dense(100, relu)\n"        \
  "  layer out = dense(10, softmax)\n"     \
  "  loss = nll\n"                         \
  "}\n"
#define TRAIN                              \
  "train {\n"                              \
  "  lr = 0.1\n"                           \
  "  batch = 10\n"                         \
  "  epochs = 2\n"                         \
  "}\n"
#define DATA                               \
  "data {\n"                               \
  "  train = idx(\"tr-img\", \"tr-lbl\")\n" \
  "  test = idx(\"te-img\", \"te-lbl\")\n"  \
  "}\n"

typedef struct Loaded {
  Spec *spec;
  char *out;  /* all diagnostics */
} Loaded;

static Loaded load_named(const char *name, const char *text) {
  Loaded r = {0};
  size_t size;
  FILE *out = open_memstream(&r.out, &size);
  r.spec = spec_load_string(name, text, out);
  fclose(out);
  return r;
}

static Loaded load(const char *text) {
  return load_named("m.spn", text);
}

static void loaded_free(Loaded *r) {
  spec_free(r->spec);
  free(r->out);
}

/* The spec must be rejected and the diagnostics must be exactly `expected`. */
static void expect_output(const char *text, const char *expected) {
  Loaded r = load(text);
  cr_assert_null(r.spec, "accepted:\n%s", text);
  cr_assert_str_eq(r.out, expected);
  loaded_free(&r);
}

/* Rejected, and `line` (a whole first line of a message) is among them. */
static void expect_error(const char *text, const char *line) {
  Loaded r = load(text);
  cr_assert_null(r.spec, "accepted:\n%s", text);
  cr_assert_not_null(strstr(r.out, line), "expected\n  %s\namong\n%s", line, r.out);
  loaded_free(&r);
}

static int count(const char *haystack, const char *needle) {
  int n = 0;
  for (const char *p = haystack; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

/* ---- good specs ------------------------------------------------------------ */

Test(check, example_file) {
  size_t size;
  char *out = NULL;
  FILE *f = open_memstream(&out, &size);
  Spec *spec = spec_load(SPARSEC_EXAMPLES "/fashion_mnist_relu.spn", f);
  fclose(f);
  cr_assert_not_null(spec, "%s", out);
  cr_assert_str_eq(out, "");
  cr_assert_str_eq(spec->name, "fashion_mnist_relu");
  cr_assert_eq(spec->input, 784);
  cr_assert_eq(spec->input_loc.line, 8);
  cr_assert_eq(spec->nlayers, 4);
  const char *names[] = {"h1", "h2", "h3", "out"};
  const int units[] = {1000, 1000, 1000, 10};
  for (int i = 0; i < 4; i++) {
    cr_assert_str_eq(spec->layers[i].name, names[i]);
    cr_assert_eq(spec->layers[i].units, units[i]);
    cr_assert_eq(spec->layers[i].act, i < 3 ? ACT_RELU : ACT_SOFTMAX);
    cr_assert_eq(spec->layers[i].l1, i < 3 ? 0.001 : 0.0);
    cr_assert_eq(spec->layers[i].loc.line, 9 + i);
  }
  cr_assert_eq(spec->loss, LOSS_NLL);
  cr_assert_eq(spec->train.lr, 0.01);
  cr_assert_eq(spec->train.batch, 10);
  cr_assert_eq(spec->train.epochs, 3);
  cr_assert_eq(spec->train.seed, 1);
  cr_assert_str_eq(spec->data.train.images,
                   "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
  cr_assert_str_eq(spec->data.train.labels,
                   "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
  cr_assert_str_eq(spec->data.test.images,
                   "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  cr_assert_str_eq(spec->data.test.labels,
                   "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
  cr_assert(fabs(spec->data.scale - 1.0 / 255) < 1e-12);
  cr_assert_eq(spec->data.validation, 10000);
  cr_assert_not_null(spec->src);
  spec_free(spec);
  free(out);
}

Test(check, defaults) {
  Loaded r = load(MODEL TRAIN DATA);
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->train.seed, 1);
  cr_assert_eq(r.spec->data.scale, 1.0);
  cr_assert_eq(r.spec->data.validation, 0);
  cr_assert_eq(r.spec->layers[0].l1, 0.0);
  /* no folder in the name: relative paths stay relative to the cwd */
  cr_assert_str_eq(r.spec->data.train.images, "tr-img");
  cr_assert_str_eq(r.spec->name, "m");
  loaded_free(&r);
}

Test(check, settings_in_any_order_with_constant_arithmetic) {
  Loaded r = load("data {\n  validation = 2 * 500\n  scale = 2 * (1 / 510)\n"
                  "  test = idx(\"a\", \"b\")\n  train = idx(\"c\", \"d\")\n}\n"
                  "train { seed = 0 epochs = 1 batch = 5 - 4 lr = -(-0.5) }\n" MODEL);
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->data.validation, 1000);
  cr_assert(fabs(r.spec->data.scale - 1.0 / 255) < 1e-12);
  cr_assert_eq(r.spec->train.seed, 0);
  cr_assert_eq(r.spec->train.batch, 1);
  cr_assert_eq(r.spec->train.lr, 0.5);
  loaded_free(&r);
}

Test(check, spec_name_drops_folder_and_extension) {
  Loaded r = load_named("runs/v2/mnist.spn", MODEL TRAIN DATA);
  cr_assert_str_eq(r.spec->name, "mnist");
  loaded_free(&r);
  r = load_named("plain", MODEL TRAIN DATA);
  cr_assert_str_eq(r.spec->name, "plain");
  loaded_free(&r);
}

Test(check, relative_paths_resolve_against_the_spec_folder) {
  Spec *spec = spec_load(SPARSEC_TEST_DATA "/spec_relative.spn", stderr);
  cr_assert_not_null(spec);
  cr_assert_str_eq(spec->data.train.images, SPARSEC_TEST_DATA "/tiny/train-images");
  cr_assert_str_eq(spec->data.train.labels, SPARSEC_TEST_DATA "/tiny/train-labels");
  cr_assert_str_eq(spec->data.test.images, "/abs/test-images");
  cr_assert_str_eq(spec->data.test.labels, SPARSEC_TEST_DATA "/../up/test-labels");
  cr_assert_str_eq(spec->name, "spec_relative");
  spec_free(spec);

  Loaded r = load_named("/srv/specs/m.spn", MODEL TRAIN DATA);
  cr_assert_str_eq(r.spec->data.test.labels, "/srv/specs/te-lbl");
  loaded_free(&r);
}

Test(check, check_ast_takes_spec_dir) {
  Source *src = source_from_string("x.spn", MODEL TRAIN DATA);
  Diag diag;
  diag_init(&diag, src, stderr);
  Ast *ast = parse_source(src, &diag);
  Spec *spec = check_ast(ast, src, "/data/", &diag);
  ast_free(ast);
  cr_assert_not_null(spec);
  cr_assert_eq(spec->src, src);
  cr_assert_str_eq(spec->data.train.images, "/data/tr-img");
  spec_free(spec);  /* frees src too */
}

Test(check, large_learning_rate_is_a_warning) {
  Loaded r = load(MODEL "train {\n  lr = 1.5\n  batch = 10\n  epochs = 2\n}\n" DATA);
  cr_assert_not_null(r.spec);
  cr_assert_str_eq(r.out,
                   "m.spn:8:8: warning: learning rate 1.5 is unusually large; "
                   "SGD usually diverges when lr >= 1\n"
                   "    8 |   lr = 1.5\n"
                   "      |        ^~~\n");
  loaded_free(&r);
}

Test(check, enum_names) {
  /* the first rows keep their spelling and order (specs and saved states
   * name them); every keyword is a word of the language, and unique */
  const char *first[] = {"relu", "tanh", "softplus", "sigmoid", "linear", "softmax"};
  for (int a = 0; a < 6; a++)
    cr_assert_str_eq(activation_name(a), first[a]);
  for (int a = 0; a < ACT_COUNT_; a++) {
    const char *k = activation_name(a);
    cr_expect(k[0] && strspn(k, "abcdefghijklmnopqrstuvwxyz_0123456789") == strlen(k), "%s", k);
    for (int b = 0; b < a; b++)
      cr_expect_str_neq(activation_name(b), k);
  }
  cr_assert_str_eq(loss_name(LOSS_NLL), "nll");
  cr_assert_str_eq(loss_name(LOSS_CROSS_ENTROPY), "cross_entropy");
  cr_assert_str_eq(loss_name(LOSS_SQUARED_ERROR), "squared_error");
  cr_assert_str_eq(noise_name(NOISE_MASKING), "masking");
  cr_assert_str_eq(noise_name(NOISE_SALT_PEPPER), "salt_pepper");
  cr_assert_str_eq(noise_name(NOISE_GAUSSIAN), "gaussian");
  cr_assert_str_eq(reconstruction_name(RECON_SOFTPLUS_QUADRATIC), "softplus_quadratic");
  cr_assert_str_eq(reconstruction_name(RECON_SCALED_SIGMOID_CE), "scaled_sigmoid_cross_entropy");
  cr_assert_str_eq(reconstruction_name(RECON_LINEAR_QUADRATIC), "linear_quadratic");
  cr_assert_str_eq(reconstruction_name(RECON_RELU_QUADRATIC), "relu_quadratic");
  cr_assert_str_eq(targets_name(TARGETS_AFTER), "after");
  cr_assert_str_eq(targets_name(TARGETS_BEFORE), "before");
}

/* ---- files and blocks ------------------------------------------------------ */

Test(check, missing_file) {
  char *out = NULL;
  size_t size;
  FILE *f = open_memstream(&out, &size);
  cr_assert_null(spec_load("/nonexistent/x.spn", f));
  fclose(f);
  cr_assert_str_eq(out, "sparsec: cannot read '/nonexistent/x.spn': No such file or directory\n");
  free(out);
}

Test(check, missing_block) {
  expect_output(MODEL DATA,
                "m.spn:1:1: error: missing 'train' block\n"
                "    1 | model {\n"
                "      | ^\n");
}

Test(check, empty_file_misses_every_block) {
  Loaded r = load("");
  cr_assert_null(r.spec);
  cr_assert_eq(count(r.out, "error: missing '"), 3, "%s", r.out);
  loaded_free(&r);
}

Test(check, duplicate_block) {
  expect_output(MODEL TRAIN DATA "train { lr = 1 }\n",
                "m.spn:16:1: error: duplicate 'train' block\n"
                "   16 | train { lr = 1 }\n"
                "      | ^~~~~\n"
                "m.spn:7:1: note: first defined here\n"
                "    7 | train {\n"
                "      | ^~~~~\n");
}

Test(check, unknown_block) {
  expect_output(MODEL TRAIN DATA "traning { }\n",
                "m.spn:16:1: error: unknown block 'traning'\n"
                "   16 | traning { }\n"
                "      | ^~~~~~~\n"
                "m.spn:16:1: note: did you mean 'train'? (one of: model, pretrain, train, data, output)\n");
}

/* ---- settings -------------------------------------------------------------- */

Test(check, unknown_setting) {
  expect_output("train {\n  lr = 0.1\n  bacth = 10\n  epochs = 2\n  batch = 1\n}\n" MODEL DATA,
                "m.spn:3:3: error: unknown setting 'bacth' in 'train' block\n"
                "    3 |   bacth = 10\n"
                "      |   ^~~~~\n"
                "m.spn:3:3: note: did you mean 'batch'? (one of: lr, momentum, batch, epochs, patience, seed, seeds)\n");
}

Test(check, unknown_setting_without_close_match) {
  expect_output(MODEL TRAIN "data {\n  momentum = 0.9\n" "  train = idx(\"a\", \"b\")\n"
                "  test = idx(\"c\", \"d\")\n}\n",
                "m.spn:13:3: error: unknown setting 'momentum' in 'data' block\n"
                "   13 |   momentum = 0.9\n"
                "      |   ^~~~~~~~\n"
                "m.spn:13:3: note: one of: train, test, scale, validation, limit\n");
}

Test(check, duplicate_setting) {
  expect_output("train {\n  lr = 0.1\n  batch = 10\n  lr = 0.2\n  epochs = 2\n}\n" MODEL DATA,
                "m.spn:4:3: error: duplicate setting 'lr'\n"
                "    4 |   lr = 0.2\n"
                "      |   ^~\n"
                "m.spn:2:3: note: first defined here\n"
                "    2 |   lr = 0.1\n"
                "      |   ^~\n");
}

Test(check, missing_setting) {
  expect_output("train {\n  batch = 10\n  epochs = 2\n}\n" MODEL DATA,
                "m.spn:1:1: error: missing setting 'lr' in 'train' block\n"
                "    1 | train {\n"
                "      | ^~~~~\n");
}

Test(check, learning_rate_must_be_positive) {
  expect_output("train {\n  lr = 0\n  batch = 10\n  epochs = 2\n}\n" MODEL DATA,
                "m.spn:2:8: error: 'lr' must be greater than 0, not 0\n"
                "    2 |   lr = 0\n"
                "      |        ^\n");
  expect_error("train {\n  lr = -0.1\n  batch = 10\n  epochs = 2\n}\n" MODEL DATA,
               "m.spn:2:8: error: 'lr' must be greater than 0, not -0.1\n");
}

Test(check, integer_ranges) {
  expect_output("train {\n  lr = 0.1\n  batch = 0\n  epochs = 2\n}\n" MODEL DATA,
                "m.spn:3:11: error: 'batch' must be between 1 and 1000000, not 0\n"
                "    3 |   batch = 0\n"
                "      |           ^\n");
  expect_error("train {\n  lr = 0.1\n  batch = 1\n  epochs = 0\n}\n" MODEL DATA,
               "m.spn:4:12: error: 'epochs' must be at least 1, not 0\n");
  expect_error("train {\n  lr = 0.1\n  batch = 1\n  epochs = 1\n  seed = -1\n}\n" MODEL DATA,
               "m.spn:5:10: error: 'seed' must be at least 0, not -1\n");
  expect_error("model {\n  input = 2000000\n}\n" TRAIN DATA,
               "m.spn:2:11: error: 'input' must be between 1 and 1000000, not 2000000\n");
  expect_error(MODEL TRAIN "data {\n  validation = -1\n}\n",
               "m.spn:13:16: error: 'validation' must be a count (an integer >= 0) or a fraction "
               "between 0 and 1, not -1\n");
}

Test(check, save_every_is_an_integer_from_0_to_a_million) {
  expect_output(MODEL TRAIN DATA "output {\n  save_every = -1\n}\n",
                "m.spn:17:16: error: 'save_every' must be between 0 and 1000000, not -1\n"
                "   17 |   save_every = -1\n"
                "      |                ^~\n");
  expect_error(MODEL TRAIN DATA "output {\n  save_every = 1000001\n}\n",
               "m.spn:17:16: error: 'save_every' must be between 0 and 1000000, not 1000001\n");
  expect_output(MODEL TRAIN DATA "output {\n  save_every = 1.5\n}\n",
                "m.spn:17:16: error: expected an integer for 'save_every', found a number\n"
                "   17 |   save_every = 1.5\n"
                "      |                ^~~\n");
  expect_output(MODEL TRAIN DATA "output {\n  save_every = \"x\"\n}\n",
                "m.spn:17:16: error: expected an integer for 'save_every', found a string\n"
                "   17 |   save_every = \"x\"\n"
                "      |                ^~~\n");
  Loaded r = load(MODEL TRAIN DATA "output {\n  save_every = 1000000\n}\n");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->output.save_every, 1000000);
  loaded_free(&r);
}

/* ---- integers are exact: nothing rounded to a double, wrapped to an int or
 * clamped; each setting's range is what the runtime can hold ------------------ */

/* `train { ... }` with `line` as its third setting: line 10 of the spec. */
#define TRAIN_WITH(line) \
  MODEL "train {\n  lr = 0.1\n  batch = 10\n  " line "\n  epochs = 2\n}\n" DATA

Test(check, seed_is_exact_up_to_two_to_the_53) {
  Loaded r = load(TRAIN_WITH("seed = 9007199254740992"));
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->train.seed, 9007199254740992ULL);
  loaded_free(&r);
  /* the lexer's double of 2^53 + 1 is 2^53: the digits decide */
  expect_output(TRAIN_WITH("seed = 9007199254740993"),
                "m.spn:10:10: error: 'seed' must be between 0 and 9007199254740992, not "
                "9007199254740993\n"
                "   10 |   seed = 9007199254740993\n"
                "      |          ^~~~~~~~~~~~~~~~\n");
  /* arithmetic is exact too; 2^53 + 1 again, and a difference of two
   * numbers a double cannot tell apart */
  expect_error(TRAIN_WITH("seed = 3 * 3002399751580331"),
               "m.spn:10:10: error: 'seed' must be between 0 and 9007199254740992, not "
               "9007199254740993\n");
  expect_error(TRAIN_WITH("seed = 99999999999999999999 - 99999999999999999990"),
               "m.spn:10:10: error: 'seed' must be between 0 and 9007199254740992; this "
               "arithmetic overflows a 64-bit integer\n");
  /* brackets (and a comment with digits in them) do not hide the digits */
  expect_error(TRAIN_WITH("seed = ( # 1\n 9007199254740993 )"),
               "m.spn:10:10: error: 'seed' must be between 0 and 9007199254740992, not "
               "9007199254740993\n");
  expect_error(TRAIN_WITH("seed = 1e300"),
               "m.spn:10:10: error: 'seed' must be between 0 and 9007199254740992, not 1e+300\n");
  expect_error(TRAIN_WITH("seed = -99999999999999999999"),
               "m.spn:10:10: error: 'seed' must be at least 0, not -99999999999999999999\n");
  r = load(TRAIN_WITH("seed = 4503599627370496 * 2 - 0"));
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->train.seed, 9007199254740992ULL);
  loaded_free(&r);
}

Test(check, integer_settings_are_not_wrapped_or_rounded) {
  /* 2^32 + 1 would be 1 as a 32-bit int */
  expect_error(MODEL "train {\n  lr = 0.1\n  batch = 10\n  epochs = 4294967297\n}\n" DATA,
               "m.spn:10:12: error: 'epochs' must be between 1 and 1000000000, not 4294967297\n");
  expect_error(MODEL "train {\n  lr = 0.1\n  batch = 10\n  epochs = 99999999999999999999\n}\n" DATA,
               "m.spn:10:12: error: 'epochs' must be between 1 and 1000000000, not "
               "99999999999999999999\n");
  /* a number that is whole but out of range is told its range */
  expect_error(MODEL "train {\n  lr = 0.1\n  batch = 10\n  epochs = 1e10\n}\n" DATA,
               "m.spn:10:12: error: 'epochs' must be between 1 and 1000000000, not 10000000000\n");
  expect_output(MODEL "train {\n  lr = 0.1\n  batch = 10\n  epochs = 3.0000000001\n}\n" DATA,
                "m.spn:10:12: error: expected an integer for 'epochs', found a number\n"
                "   10 |   epochs = 3.0000000001\n"
                "      |            ^~~~~~~~~~~~\n");
  expect_output(MODEL "train {\n  lr = 0.1\n  batch = 10\n  epochs = 3.0\n}\n" DATA,
                "m.spn:10:12: error: expected an integer for 'epochs', found a number\n"
                "   10 |   epochs = 3.0\n"
                "      |            ^~~\n"
                "m.spn:10:12: note: an integer is written without '.' or an exponent: 3\n");
  expect_error(MODEL "train {\n  lr = 0.1\n  batch = 10\n  epochs = -0\n}\n" DATA,
               "m.spn:10:12: error: 'epochs' must be at least 1, not 0\n");
  expect_error(MODEL "train {\n  lr = 0.1\n  batch = 10\n  epochs = 1000000001\n}\n" DATA,
               "m.spn:10:12: error: 'epochs' must be between 1 and 1000000000, not 1000000001\n");
  /* batch-sized buffers: a batch of up to a million rows */
  expect_error(MODEL "train {\n  lr = 0.1\n  batch = 2147483647\n  epochs = 1\n}\n" DATA,
               "m.spn:9:11: error: 'batch' must be between 1 and 1000000, not 2147483647\n");
  expect_error(TRAIN_WITH("patience = 2147483648"),
               "m.spn:10:14: error: 'patience' must be between 0 and 2147483647, not "
               "2147483648\n");
  expect_error(MODEL TRAIN "data {\n  limit = 2147483647 + 1\n}\n",
               "m.spn:13:11: error: 'limit' must be between 1 and 2147483647, not 2147483648\n");
  expect_error("model {\n  input = 4294967297\n}\n" TRAIN DATA,
               "m.spn:2:11: error: 'input' must be between 1 and 1000000, not 4294967297\n");
  expect_error("model {\n  input = 784\n  layer h1 = dense(1e3, relu)\n"
               "  layer out = dense(10, softmax)\n}\n" TRAIN DATA,
               "m.spn:3:20: error: expected an integer for the width of layer 'h1', found a "
               "number\n");
  expect_error(MODEL "pretrain {\n  epochs = 1000000001\n}\n" TRAIN DATA,
               "m.spn:8:12: error: 'epochs' must be between 1 and 1000000000, not 1000000001\n");
  expect_error(MODEL "pretrain {\n  batch = 1000001\n}\n" TRAIN DATA,
               "m.spn:8:11: error: 'batch' must be between 1 and 1000000, not 1000001\n");
  expect_error(MODEL TRAIN DATA "output {\n  save_every = 4294967297\n}\n",
               "m.spn:17:16: error: 'save_every' must be between 0 and 1000000, not 4294967297\n");
}

Test(check, the_largest_values_each_setting_holds) {
  Loaded r = load("model {\n  input = 1000000\n  layer h1 = dense(1000000, relu)\n"
                  "  layer out = dense(10, softmax)\n}\n"
                  "pretrain {\n  epochs = 1000000000\n  batch = 1000000\n}\n"
                  "train {\n  lr = 0.1\n  batch = 1000000\n  epochs = 1000000000\n"
                  "  patience = 2147483647\n}\n"
                  "data {\n  train = idx(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n"
                  "  validation = 2147483646\n  limit = 2147483647\n}\n"
                  "output {\n  save_every = 1000000\n}\n");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->input, 1000000);
  cr_assert_eq(r.spec->layers[0].units, 1000000);
  cr_assert_eq(r.spec->train.batch, 1000000);
  cr_assert_eq(r.spec->train.epochs, 1000000000);
  cr_assert_eq(r.spec->train.patience, 2147483647);
  cr_assert_eq(r.spec->data.validation, 2147483646);
  cr_assert_eq(r.spec->data.limit, 2147483647);
  cr_assert_eq(r.spec->output.save_every, 1000000);
  loaded_free(&r);
}

Test(check, validation_is_a_count_or_a_fraction) {
#define VALIDATION(v)                                                                      \
  MODEL TRAIN "data {\n  train = idx(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n  validation = " v \
              "\n}\n"
  expect_error(VALIDATION("1.5"), "m.spn:15:16: error: 'validation' must be a count (an integer "
                                  ">= 0) or a fraction between 0 and 1, not 1.5\n");
  expect_error(VALIDATION("1e20"), "m.spn:15:16: error: 'validation' must be a count (an "
                                   "integer >= 0) or a fraction between 0 and 1, not 1e+20\n");
  expect_output(VALIDATION("1.0"),
                "m.spn:15:16: error: 'validation' must be a count (an integer >= 0) or a "
                "fraction between 0 and 1, not 1\n"
                "   15 |   validation = 1.0\n"
                "      |                ^~~\n"
                "m.spn:15:16: note: a count is written without '.' or an exponent: 1\n");
  expect_error(VALIDATION("2147483648"), "m.spn:15:16: error: a 'validation' count must be "
                                         "between 0 and 2147483647, not 2147483648\n");
  expect_error(VALIDATION("99999999999999999999"),
               "m.spn:15:16: error: a 'validation' count must be between 0 and 2147483647, not "
               "99999999999999999999\n");
  Loaded r = load(MODEL TRAIN "data {\n  train = idx(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n"
                  "  validation = 1\n}\n");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->data.validation, 1);
  cr_assert_eq(r.spec->data.validation_fraction, 0.0);
  loaded_free(&r);
#undef VALIDATION
}

Test(check, state_is_a_path) {
  expect_output(MODEL TRAIN DATA "output {\n  state = 3\n}\n",
                "m.spn:17:11: error: expected a path string for 'state', found an integer\n"
                "   17 |   state = 3\n"
                "      |           ^\n");
  expect_error(MODEL TRAIN DATA "output {\n  state = \"\"\n}\n",
               "m.spn:17:11: error: empty path for 'state'\n");
}

Test(check, type_errors_point_at_the_value) {
  expect_output("train {\n  lr = 0.1\n  batch = \"ten\"\n  epochs = 2\n}\n" MODEL DATA,
                "m.spn:3:11: error: expected an integer for 'batch', found a string\n"
                "    3 |   batch = \"ten\"\n"
                "      |           ^~~~~\n");
  expect_error("train {\n  lr = 0.1\n  batch = 10.0\n  epochs = 2\n}\n" MODEL DATA,
               "m.spn:3:11: error: expected an integer for 'batch', found a number\n");
  expect_error("train {\n  lr = 0.1\n  batch = 10 / 2\n  epochs = 2\n}\n" MODEL DATA,
               "m.spn:3:11: error: expected an integer for 'batch', found a number\n");
  expect_error("train {\n  lr = fast\n  batch = 1\n  epochs = 2\n}\n" MODEL DATA,
               "m.spn:2:8: error: expected a number for 'lr', found identifier 'fast'\n");
  expect_error("train {\n  lr = {1}\n  batch = 1\n  epochs = 2\n}\n" MODEL DATA,
               "m.spn:2:8: error: expected a number for 'lr', found a set\n");
  expect_error(MODEL TRAIN "data {\n  scale = 1 / \"x\"\n}\n",
               "m.spn:13:15: error: expected a number for 'scale', found a string\n");
  expect_error(MODEL TRAIN "data {\n  scale = f(2)\n}\n",
               "m.spn:13:11: error: expected a number for 'scale', found a call to 'f'\n");
}

Test(check, every_error_is_reported) {
  Loaded r = load("train {\n  lr = 0\n  batch = 0\n  epochs = \"x\"\n}\n"
                  "model {\n  input = 0\n  layer h1 = dense(10, rleu)\n"
                  "  layer out = dense(10, softmax)\n  loss = nll\n}\n");
  cr_assert_null(r.spec);
  cr_assert_eq(count(r.out, ": error: "), 6, "%s", r.out);  /* 5 + missing data */
  loaded_free(&r);
}

Test(check, layers_belong_in_the_model_block) {
  expect_output("train {\n  lr = 0.1\n  batch = 10\n  epochs = 2\n  layer x = dense(1, relu)\n}\n"
                MODEL DATA,
                "m.spn:5:3: error: layers belong in the 'model' block\n"
                "    5 |   layer x = dense(1, relu)\n"
                "      |   ^~~~~\n");
}

/* ---- layers ---------------------------------------------------------------- */

Test(check, unknown_activation_suggests) {
  expect_output("model {\n  input = 784\n  layer h1 = dense(1000, rleu)\n"
                "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
                "m.spn:3:26: error: unknown activation 'rleu'\n"
                "    3 |   layer h1 = dense(1000, rleu)\n"
                "      |                          ^~~~\n"
                "m.spn:3:26: note: did you mean 'relu'? (one of: relu, tanh, softplus, sigmoid, linear, softmax, leaky_relu, abs)\n");
}

Test(check, missing_width) {
  expect_output("model {\n  input = 784\n  layer h1 = dense(relu)\n"
                "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
                "m.spn:3:14: error: layer 'h1' needs a width: dense(UNITS, ACTIVATION)\n"
                "    3 |   layer h1 = dense(relu)\n"
                "      |              ^~~~~~~~~~~\n");
  expect_error("model {\n  input = 784\n  layer h1 = dense()\n"
               "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:3:14: error: layer 'h1' needs a width: dense(UNITS, ACTIVATION)\n");
}

Test(check, missing_activation) {
  expect_error("model {\n  input = 784\n  layer h1 = dense(100)\n"
               "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:3:14: error: layer 'h1' needs an activation: dense(UNITS, ACTIVATION)\n");
}

Test(check, bad_width) {
  expect_error("model {\n  input = 784\n  layer h1 = dense(0, relu)\n"
               "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:3:20: error: the width of layer 'h1' must be between 1 and 1000000, not 0\n");
  expect_error("model {\n  input = 784\n  layer h1 = dense(\"wide\", relu)\n"
               "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:3:20: error: expected an integer for the width of layer 'h1', "
               "found a string\n");
}

Test(check, duplicate_layer) {
  expect_output("model {\n  input = 784\n  layer h1 = dense(100, relu)\n"
                "  layer h1 = dense(100, relu)\n  layer out = dense(10, softmax)\n"
                "  loss = nll\n}\n" TRAIN DATA,
                "m.spn:4:9: error: duplicate layer 'h1'\n"
                "    4 |   layer h1 = dense(100, relu)\n"
                "      |         ^~\n"
                "m.spn:3:9: note: first defined here\n"
                "    3 |   layer h1 = dense(100, relu)\n"
                "      |         ^~\n");
}

Test(check, softmax_only_on_the_output_layer) {
  expect_output("model {\n  input = 784\n  layer h1 = dense(100, softmax)\n"
                "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
                "m.spn:3:25: warning: softmax on a hidden layer\n"
                "    3 |   layer h1 = dense(100, softmax)\n"
                "      |                         ^~~~~~~\n"
                "m.spn:3:25: error: softmax is only supported on the output layer: a hidden "
                "softmax has no derivative implemented\n"
                "    3 |   layer h1 = dense(100, softmax)\n"
                "      |                         ^~~~~~~\n");
}

Test(check, output_layer_must_be_a_head) {
  expect_error("model {\n  input = 784\n  layer h1 = dense(100, relu)\n"
               "  layer out = dense(10, relu)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:4:25: error: output layer 'out' must be softmax, sigmoid or linear, "
               "not relu\n");
}

Test(check, needs_a_hidden_layer) {
  expect_error("model {\n  input = 784\n  layer out = dense(10, softmax)\n  loss = nll\n}\n"
               TRAIN DATA,
               "m.spn:3:9: error: the model needs a hidden layer before its output layer 'out'\n");
  expect_error("model {\n  input = 784\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:1:1: error: the model has no layers: it needs at least one hidden layer "
               "and an output layer\n");
}

Test(check, too_many_layers) {
  char text[8192] = "model {\n  input = 4\n";
  for (int i = 0; i <= SPEC_MAX_LAYERS; i++)
    snprintf(text + strlen(text), sizeof text - strlen(text), "  layer h%d = dense(4, relu)\n", i);
  strcat(text, "  layer out = dense(2, softmax)\n  loss = nll\n}\n" TRAIN DATA);
  Loaded r = load(text);
  cr_assert_null(r.spec);
  cr_assert_not_null(strstr(r.out, "m.spn:67:9: error: too many layers: at most 64 are supported\n"),
                     "%s", r.out);
  cr_assert_eq(count(r.out, ": error: "), 1, "%s", r.out);
  loaded_free(&r);
}

Test(check, layer_arguments) {
  expect_output("model {\n  input = 784\n  layer h1 = dense(100, relu, l3 = 0.1)\n"
                "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
                "m.spn:3:31: error: unknown argument 'l3' to dense\n"
                "    3 |   layer h1 = dense(100, relu, l3 = 0.1)\n"
                "      |                               ^~\n"
                "m.spn:3:31: note: did you mean 'l1'? (one of: l1, l2, init, bias, sign_trick)\n");
  expect_error("model {\n  input = 784\n  layer h1 = dense(100, relu, l1 = -0.1)\n"
               "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:3:36: error: 'l1' of layer 'h1' must be at least 0, not -0.1\n");
  expect_error("model {\n  input = 784\n  layer h1 = dense(100, relu, l1 = 0, l1 = 1)\n"
               "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:3:39: error: duplicate argument 'l1'\n");
  expect_error("model {\n  input = 784\n  layer h1 = dense(100, l1 = 0, relu)\n"
               "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:3:33: error: positional argument after keyword argument\n");
  expect_error("model {\n  input = 784\n  layer h1 = dense(100, relu, 3)\n"
               "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:3:31: error: too many arguments: dense(UNITS, ACTIVATION, KEY = VALUE...)\n");
}

Test(check, unknown_layer_type) {
  expect_output("model {\n  input = 784\n  layer h1 = dens(100, relu)\n"
                "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
                "m.spn:3:14: error: unknown layer type 'dens'\n"
                "    3 |   layer h1 = dens(100, relu)\n"
                "      |              ^~~~\n"
                "m.spn:3:14: note: did you mean 'dense'? (one of: dense)\n");
}

Test(check, unknown_loss) {
  expect_error("model {\n  input = 784\n  layer h1 = dense(100, relu)\n"
               "  layer out = dense(10, softmax)\n  loss = mse\n}\n" TRAIN DATA,
               "m.spn:5:10: error: unknown loss 'mse'\n");
}

/* ---- data ------------------------------------------------------------------ */

Test(check, division_by_zero_points_at_the_slash) {
  expect_output("data {\n  scale = 1 / (2 - 2)\n"
                "  train = idx(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
                "m.spn:2:13: error: division by zero\n"
                "    2 |   scale = 1 / (2 - 2)\n"
                "      |             ^\n");
}

Test(check, scale_must_be_positive) {
  expect_error("data {\n  scale = 0\n}\n" MODEL TRAIN,
               "m.spn:2:11: error: 'scale' must be greater than 0, not 0\n");
}

Test(check, missing_data_sets) {
  Loaded r = load("data {\n  scale = 1\n}\n" MODEL TRAIN);
  cr_assert_null(r.spec);
  cr_assert_not_null(strstr(r.out, "m.spn:1:1: error: missing setting 'train' in 'data' block\n"));
  cr_assert_not_null(strstr(r.out, "m.spn:1:1: error: missing setting 'test' in 'data' block\n"));
  loaded_free(&r);
}

Test(check, bad_data_sets) {
  expect_output("data {\n  train = idz(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
                "m.spn:2:11: error: unknown data format 'idz'\n"
                "    2 |   train = idz(\"a\", \"b\")\n"
                "      |           ^~~\n"
                "m.spn:2:11: note: did you mean 'idx'? (one of: idx, csv, libsvm)\n");
  expect_error("data {\n  train = idx(\"a\")\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:11: error: idx needs two paths: idx(\"IMAGES\", \"LABELS\")\n");
  expect_error("data {\n  train = idx(\"a\", 2)\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:20: error: expected a path string for the labels of 'train', "
               "found an integer\n");
  expect_error("data {\n  train = \"a\"\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:11: error: expected idx(\"IMAGES\", \"LABELS\"), "
               "csv(\"FILE\", label = \"COLUMN\") or libsvm(\"FILE\") for 'train', found a "
               "string\n");
  expect_error("data {\n  train = libsvm(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:11: error: libsvm needs one file: libsvm(\"FILE\")\n");
  expect_error("data {\n  train = libsvm(\"a\", label = \"y\")\n  test = idx(\"c\", \"d\")\n}\n"
               MODEL TRAIN,
               "m.spn:2:23: error: libsvm takes no argument 'label': libsvm(\"FILE\")\n");
  expect_error("data {\n  train = idx(\"\", \"b\")\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:15: error: empty path for the images of 'train'\n");
}

/* ---- the full language: every setting, written ------------------------------- */

static const char *const full_spec =
  "model {\n"                                                        /* 1 */
  "  input = 784\n"
  "  l1 = 0.001\n"
  "  l2 = 0.0001\n"
  "  init = uniform(0.05)\n"                                         /* 5 */
  "  bias = 0.01\n"
  "  sign_trick = true\n"
  "  layer h1 = dense(500, relu)\n"
  "  layer h2 = dense(400, tanh, l1 = 0, l2 = 0.5, init = he_normal, bias = -1, "
  "sign_trick = false)\n"
  "  layer h3 = dense(300, softplus, init = glorot_uniform)\n"         /* 10 */
  "  layer h4 = dense(200, sigmoid)\n"
  "  layer h5 = dense(100, linear)\n"
  "  layer out = dense(10, softmax)\n"
  "  loss = nll\n"
  "}\n"                                                              /* 15 */
  "pretrain {\n"
  "  layers = {h1, h3, h4}\n"
  "  noise = salt_pepper(0.1)\n"
  "  reconstruction = linear_quadratic\n"
  "  decoder = untied\n"                                             /* 20 */
  "  epochs = 4\n"
  "  lr = 0.05\n"
  "  batch = 20\n"
  "  l1 = 0.002\n"
  "  h3 { noise = gaussian(0.3) epochs = 1 targets = before }\n"    /* 25 */
  "  h4 { reconstruction = scaled_sigmoid_cross_entropy decoder = tied lr = 0.1 batch = 5 "
  "l1 = 0 noise = masking(0.5) }\n"
  "}\n"
  "train {\n"
  "  lr in {0.1, 0.01, 0.001, 0.0001}\n"
  "  momentum = 0.9\n"                                               /* 30 */
  "  batch = 10\n"
  "  epochs = 20\n"
  "  patience = 3\n"
  "  seed = 42\n"
  "}\n"                                                              /* 35 */
  "data {\n"
  "  train = csv(\"train.csv\", label = \"digit\")\n"
  "  test = idx(\"t-img\", \"t-lbl\")\n"
  "  scale = 1/255\n"
  "  validation = 0.2\n"                                             /* 40 */
  "  limit = 5000\n"
  "}\n"
  "output {\n"
  "  metrics = \"runs/metrics.jsonl\"\n"
  "  checkpoint = \"/abs/best.safetensors\"\n"                       /* 45 */
  "  progress = on\n"
  "  state = \"runs/resume.safetensors\"\n"
  "  save_every = 0\n"
  "}\n";

Test(check, every_setting_of_the_model) {
  Loaded r = load_named("exp/full.spn", full_spec);
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.out, "");
  const Spec *s = r.spec;
  cr_assert_eq(s->input, 784);
  cr_assert_eq(s->nlayers, 6);
  const LayerSpec *h1 = &s->layers[0], *h2 = &s->layers[1], *h3 = &s->layers[2];
  const LayerSpec *out = &s->layers[5];
  /* h1 takes every model default */
  cr_assert_eq(h1->units, 500);
  cr_assert_eq(h1->act, ACT_RELU);
  cr_assert_eq(h1->l1, 0.001);
  cr_assert_eq(h1->l1_loc.line, 3);
  cr_assert_eq(h1->l2, 0.0001);
  cr_assert_eq(h1->init.kind, INIT_UNIFORM);
  cr_assert_eq(h1->init.a, 0.05);
  cr_assert_eq(h1->init.loc.line, 5);
  cr_assert_eq(h1->bias, 0.01);
  cr_assert_eq(h1->sign_trick, 1);
  cr_assert_eq(h1->act_loc.line, 8);
  /* h2 overrides every one of them */
  cr_assert_eq(h2->act, ACT_TANH);
  cr_assert_eq(h2->l1, 0.0);
  cr_assert_eq(h2->l1_loc.line, 9);
  cr_assert_eq(h2->l2, 0.5);
  cr_assert_eq(h2->init.kind, INIT_HE_NORMAL);
  cr_assert_eq(h2->bias, -1.0);
  cr_assert_eq(h2->sign_trick, 0);
  cr_assert_eq(h3->act, ACT_SOFTPLUS);
  cr_assert_eq(h3->init.kind, INIT_GLOROT_UNIFORM);
  cr_assert_eq(s->layers[3].act, ACT_SIGMOID);
  cr_assert_eq(s->layers[4].act, ACT_LINEAR);
  /* the output layer: l2, init and bias defaults apply; l1 and sign_trick do not */
  cr_assert_eq(out->act, ACT_SOFTMAX);
  cr_assert_eq(out->l1, 0.0);
  cr_assert_eq(out->l1_loc.line, 0);
  cr_assert_eq(out->l2, 0.0001);
  cr_assert_eq(out->init.kind, INIT_UNIFORM);
  cr_assert_eq(out->bias, 0.01);
  cr_assert_eq(out->sign_trick, 0);
  cr_assert_eq(s->loss, LOSS_NLL);
  loaded_free(&r);
}

Test(check, every_setting_of_pretrain) {
  Loaded r = load(full_spec);
  cr_assert_not_null(r.spec, "%s", r.out);
  const Spec *s = r.spec;
  cr_assert(s->pretrain.present);
  cr_assert_eq(s->pretrain.loc.line, 16);
  cr_assert_eq(s->pretrain.nstages, 3);
  const PretrainStage *a = &s->pretrain.stages[0], *b = &s->pretrain.stages[1];
  const PretrainStage *c = &s->pretrain.stages[2];
  /* h1: the block's settings */
  cr_assert_eq(a->layer, 0);
  cr_assert_eq(a->loc.line, 17);
  cr_assert_eq(a->loc.col, 13);
  cr_assert_eq(a->noise.kind, NOISE_SALT_PEPPER);
  cr_assert_eq(a->noise.p, 0.1);
  cr_assert_eq(a->recon, RECON_LINEAR_QUADRATIC);
  cr_assert_eq(a->recon_loc.line, 19);
  cr_assert_eq(a->targets, TARGETS_AFTER);
  cr_assert_eq(a->targets_loc.line, 0);
  cr_assert_eq(a->tied, 0);
  cr_assert_eq(a->epochs, 4);
  cr_assert_eq(a->lr, 0.05);
  cr_assert_eq(a->batch, 20);
  cr_assert_eq(a->l1, 0.002);
  /* h3: two overrides, the rest from the block */
  cr_assert_eq(b->layer, 2);
  cr_assert_eq(b->noise.kind, NOISE_GAUSSIAN);
  cr_assert_eq(b->noise.p, 0.3);
  cr_assert_eq(b->epochs, 1);
  cr_assert_eq(b->recon, RECON_LINEAR_QUADRATIC);
  cr_assert_eq(b->targets, TARGETS_BEFORE);
  cr_assert_eq(b->targets_loc.line, 25);
  cr_assert_eq(b->targets_loc.col, 51);
  cr_assert_eq(b->lr, 0.05);
  /* h4: everything overridden */
  cr_assert_eq(c->layer, 3);
  cr_assert_eq(c->recon, RECON_SCALED_SIGMOID_CE);
  cr_assert_eq(c->recon_loc.line, 26);
  cr_assert_eq(c->targets, TARGETS_AFTER);
  cr_assert_eq(c->tied, 1);
  cr_assert_eq(c->lr, 0.1);
  cr_assert_eq(c->batch, 5);
  cr_assert_eq(c->l1, 0.0);
  cr_assert_eq(c->noise.kind, NOISE_MASKING);
  cr_assert_eq(c->noise.p, 0.5);
  cr_assert_eq(c->epochs, 4);
  loaded_free(&r);
}

Test(check, every_setting_of_train_data_and_output) {
  Loaded r = load_named("exp/full.spn", full_spec);
  cr_assert_not_null(r.spec, "%s", r.out);
  const Spec *s = r.spec;
  cr_assert_eq(s->train.nlrs, 4);
  const double lrs[] = {0.1, 0.01, 0.001, 0.0001};
  for (int i = 0; i < 4; i++)
    cr_assert_eq(s->train.lrs[i], lrs[i]);
  cr_assert_eq(s->train.lr, 0.1);
  cr_assert_eq(s->train.lr_loc.line, 29);
  cr_assert_eq(s->train.lr_loc.col, 9);
  cr_assert_eq(s->train.momentum, 0.9);
  cr_assert_eq(s->train.batch, 10);
  cr_assert_eq(s->train.epochs, 20);
  cr_assert_eq(s->train.patience, 3);
  cr_assert_eq(s->train.seed, 42);
  cr_assert_eq(s->data.train.format, DATA_CSV);
  cr_assert_str_eq(s->data.train.images, "exp/train.csv");
  cr_assert_null(s->data.train.labels);
  cr_assert_str_eq(s->data.train.label_column, "digit");
  cr_assert_eq(s->data.test.format, DATA_IDX);
  cr_assert_str_eq(s->data.test.images, "exp/t-img");
  cr_assert_null(s->data.test.label_column);
  cr_assert(fabs(s->data.scale - 1.0 / 255) < 1e-12);
  cr_assert_eq(s->data.validation, 0);
  cr_assert_eq(s->data.validation_fraction, 0.2);
  cr_assert_eq(s->data.limit, 5000);
  cr_assert_str_eq(s->output.metrics, "exp/runs/metrics.jsonl");
  cr_assert_eq(s->output.metrics_format, METRICS_JSONL);
  cr_assert_str_eq(s->output.checkpoint, "/abs/best.safetensors");
  cr_assert_eq(s->output.progress, 1);
  cr_assert_str_eq(s->output.state, "exp/runs/resume.safetensors");
  cr_assert_eq(s->output.save_every, 0);
  /* the paths' values, for the driver's messages */
  cr_assert_eq(s->output.metrics_loc.line, 44);
  cr_assert_eq(s->output.metrics_loc.col, 13);
  cr_assert_eq(s->output.checkpoint_loc.line, 45);
  cr_assert_eq(s->output.checkpoint_loc.col, 16);
  cr_assert_eq(s->output.state_loc.line, 47);
  cr_assert_eq(s->output.state_loc.col, 11);
  loaded_free(&r);
}

Test(check, defaults_of_the_full_language) {
  Loaded r = load(MODEL TRAIN DATA);
  cr_assert_not_null(r.spec, "%s", r.out);
  const Spec *s = r.spec;
  for (int i = 0; i < s->nlayers; i++) {
    cr_assert_eq(s->layers[i].l2, 0.0);
    cr_assert_eq(s->layers[i].init.kind, INIT_GLOROT_UNIFORM);
    cr_assert_eq(s->layers[i].init.loc.line, 0);
    cr_assert_eq(s->layers[i].bias, 0.0);
    cr_assert_eq(s->layers[i].sign_trick, 0);
  }
  cr_assert_not(s->pretrain.present);
  cr_assert_eq(s->pretrain.nstages, 0);
  cr_assert_eq(s->train.nlrs, 1);
  cr_assert_eq(s->train.lrs[0], 0.1);
  cr_assert_eq(s->train.lr_loc.line, 8);
  cr_assert_eq(s->train.momentum, 0.0);
  cr_assert_eq(s->train.patience, 0);
  cr_assert_eq(s->data.train.format, DATA_IDX);
  cr_assert_eq(s->data.validation_fraction, 0.0);
  cr_assert_eq(s->data.limit, 0);
  cr_assert_null(s->output.metrics);
  cr_assert_null(s->output.checkpoint);
  cr_assert_null(s->output.state);
  cr_assert_eq(s->output.save_every, 1);
  cr_assert_eq(s->output.progress, -1);
  cr_assert_eq(s->output.metrics_loc.line, 0);
  cr_assert_eq(s->output.checkpoint_loc.line, 0);
  cr_assert_eq(s->output.state_loc.line, 0);
  loaded_free(&r);
}

Test(check, pretrain_defaults_cover_every_hidden_layer) {
  Loaded r = load("model {\n  input = 4\n  layer a = dense(3, relu)\n  layer b = dense(3, relu)\n"
                  "  layer out = dense(2, softmax)\n}\npretrain {}\n" TRAIN DATA);
  cr_assert_not_null(r.spec, "%s", r.out);
  const Spec *s = r.spec;
  cr_assert(s->pretrain.present);
  cr_assert_eq(s->pretrain.nstages, 2);
  for (int i = 0; i < 2; i++) {
    const PretrainStage *st = &s->pretrain.stages[i];
    cr_assert_eq(st->layer, i);
    cr_assert_eq(st->noise.kind, NOISE_MASKING);
    cr_assert_eq(st->noise.p, 0.25);
    cr_assert_eq(st->recon, RECON_SOFTPLUS_QUADRATIC);
    cr_assert_eq(st->targets, TARGETS_AFTER);
    cr_assert_eq(st->tied, 1);
    cr_assert_eq(st->epochs, 10);
    cr_assert_eq(st->lr, 0.01);
    cr_assert_eq(st->batch, 10);
    cr_assert_eq(st->l1, 0.0);
    cr_assert_eq(st->loc.line, 7);  /* the block, since no layer was listed */
  }
  loaded_free(&r);
}

Test(check, per_layer_settings_without_a_layers_list) {
  Loaded r = load("model {\n  input = 4\n  layer a = dense(3, relu)\n  layer b = dense(3, relu)\n"
                  "  layer out = dense(2, softmax)\n}\npretrain {\n  b { epochs = 2 }\n  epochs = 7\n}\n"
                  TRAIN DATA);
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->pretrain.stages[0].epochs, 7);
  cr_assert_eq(r.spec->pretrain.stages[1].epochs, 2);
  loaded_free(&r);
}

/* ---- reconstruction targets (strategy 3) --------------------------------------- */

#define THREE_LAYERS                                                                      \
  "model {\n  input = 4\n  layer h1 = dense(3, relu)\n  layer h2 = dense(3, relu)\n"    \
  "  layer h3 = dense(3, relu)\n  layer out = dense(2, softmax)\n}\n"

/* The block's `before` is for the layers above the first (which
 * reconstructs the input): no message. */
Test(check, targets_before_in_the_block) {
  Loaded r = load(THREE_LAYERS "pretrain {\n  reconstruction = linear_quadratic\n"
                               "  targets = before\n}\n" TRAIN DATA);
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.out, "");
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(r.spec->pretrain.stages[i].recon, RECON_LINEAR_QUADRATIC);
    cr_assert_eq(r.spec->pretrain.stages[i].targets, TARGETS_BEFORE);
    cr_assert_eq(r.spec->pretrain.stages[i].targets_loc.line, 10);
  }
  loaded_free(&r);
}

/* A layer's own `before` with its own linear decoder; the others keep the
 * block's softplus and `after`. Also the block's `before` over a first
 * layer that reconstructs with another decoder: nothing to object to. */
Test(check, targets_before_per_layer) {
  Loaded r = load(THREE_LAYERS "pretrain {\n"
                               "  h3 { reconstruction = linear_quadratic targets = before }\n"
                               "  h2 { targets = after }\n}\n" TRAIN DATA);
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.out, "");
  const PretrainStage *st = r.spec->pretrain.stages;
  cr_assert_eq(st[0].recon, RECON_SOFTPLUS_QUADRATIC);
  cr_assert_eq(st[0].targets, TARGETS_AFTER);
  cr_assert_eq(st[1].targets, TARGETS_AFTER);
  cr_assert_eq(st[1].targets_loc.line, 10);
  cr_assert_eq(st[2].recon, RECON_LINEAR_QUADRATIC);
  cr_assert_eq(st[2].targets, TARGETS_BEFORE);
  loaded_free(&r);
  r = load(THREE_LAYERS "pretrain {\n  targets = before\n"
                        "  h1 { reconstruction = relu_quadratic }\n"
                        "  h2 { reconstruction = linear_quadratic }\n"
                        "  h3 { reconstruction = linear_quadratic }\n}\n" TRAIN DATA);
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.out, "");
  cr_assert_eq(r.spec->pretrain.stages[0].recon, RECON_RELU_QUADRATIC);
  loaded_free(&r);
}

/* One error for the block's setting, not one per stage that inherits it. */
Test(check, targets_before_against_the_block_reconstruction_is_one_error) {
  Loaded r = load(THREE_LAYERS "pretrain {\n  reconstruction = relu_quadratic\n"
                               "  targets = before\n}\n" TRAIN DATA);
  cr_assert_null(r.spec);
  cr_assert_eq(count(r.out, "error:"), 1, "%s", r.out);
  cr_assert_str_eq(r.out,
                   "m.spn:10:13: error: 'targets = before' needs 'reconstruction = "
                   "linear_quadratic', but layer 'h2' reconstructs with relu_quadratic\n"
                   "   10 |   targets = before\n"
                   "      |             ^~~~~~\n"
                   "m.spn:9:20: note: the reconstruction of layer 'h2' is set here\n"
                   "    9 |   reconstruction = relu_quadratic\n"
                   "      |                    ^~~~~~~~~~~~~~\n");
  loaded_free(&r);
}

static void expect_head(const char *act, const char *loss, Loss expected) {
  char text[1024];
  snprintf(text, sizeof text,
           "model {\n  input = 4\n  layer h = dense(3, relu)\n  layer out = dense(2, %s)\n%s}\n"
           TRAIN DATA, act, loss);
  Loaded r = load(text);
  cr_assert_not_null(r.spec, "%s\n%s", text, r.out);
  cr_assert_str_eq(r.out, "");
  cr_assert_eq(r.spec->loss, expected, "%s", text);
  loaded_free(&r);
}

Test(check, output_heads_and_their_losses) {
  expect_head("softmax", "", LOSS_NLL);
  expect_head("sigmoid", "", LOSS_CROSS_ENTROPY);
  expect_head("linear", "", LOSS_SQUARED_ERROR);
  expect_head("softmax", "  loss = nll\n", LOSS_NLL);
  expect_head("sigmoid", "  loss = cross_entropy\n", LOSS_CROSS_ENTROPY);
  expect_head("linear", "  loss = squared_error\n", LOSS_SQUARED_ERROR);
}

Test(check, metrics_format_from_the_extension_or_the_setting) {
  Loaded r = load(MODEL TRAIN DATA "output {\n  metrics = \"m.csv\"\n}\n");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->output.metrics_format, METRICS_CSV);
  cr_assert_eq(r.spec->output.progress, -1);
  loaded_free(&r);
  r = load(MODEL TRAIN DATA "output {\n  metrics = \"m.log\"\n  format = jsonl\n  progress = off\n}\n");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.out, "");
  cr_assert_eq(r.spec->output.metrics_format, METRICS_JSONL);
  cr_assert_eq(r.spec->output.progress, 0);
  loaded_free(&r);
  r = load(MODEL TRAIN DATA "output {\n  progress = auto\n}\n");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->output.progress, -1);
  loaded_free(&r);
}

Test(check, validation_count_and_limit) {
  Loaded r = load(MODEL TRAIN "data {\n  train = idx(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n"
                  "  validation = 100\n  limit = 1000\n}\n");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->data.validation, 100);
  cr_assert_eq(r.spec->data.validation_fraction, 0.0);
  cr_assert_eq(r.spec->data.limit, 1000);
  loaded_free(&r);
}

Test(check, a_single_learning_rate_in_a_sweep) {
  Loaded r = load(MODEL "train {\n  lr in {0.5}\n  batch = 1\n  epochs = 1\n}\n" DATA);
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->train.nlrs, 1);
  cr_assert_eq(r.spec->train.lr, 0.5);
  loaded_free(&r);
}

/* ---- warnings: legal but suspicious ------------------------------------------ */

static void expect_warning(const char *text, const char *expected) {
  Loaded r = load(text);
  cr_assert_not_null(r.spec, "rejected:\n%s", r.out);
  cr_assert_str_eq(r.out, expected);
  loaded_free(&r);
}

Test(check, each_large_rate_of_a_sweep_is_a_warning) {
  expect_warning(MODEL "train {\n  lr in {0.1, 2}\n  batch = 1\n  epochs = 1\n}\n" DATA,
                 "m.spn:8:15: warning: learning rate 2 is unusually large; "
                 "SGD usually diverges when lr >= 1\n"
                 "    8 |   lr in {0.1, 2}\n"
                 "      |               ^\n");
}

Test(check, heavy_masking_noise_is_a_warning) {
  expect_warning(MODEL "pretrain {\n  noise = masking(0.95)\n}\n" TRAIN DATA,
                 "m.spn:8:19: warning: masking noise with p = 0.95: most inputs will be zeroed\n"
                 "    8 |   noise = masking(0.95)\n"
                 "      |                   ^~~~\n");
}

Test(check, large_validation_fraction_is_a_warning) {
  expect_warning(MODEL TRAIN "data {\n  train = idx(\"a\", \"b\")\n  test = idx(\"c\", \"d\")\n"
                 "  validation = 0.5\n}\n",
                 "m.spn:15:16: warning: validation fraction 0.5 holds out most of the training "
                 "set\n"
                 "   15 |   validation = 0.5\n"
                 "      |                ^~~\n");
}

Test(check, checkpoint_not_named_safetensors_is_a_warning) {
  expect_warning(MODEL TRAIN DATA "output {\n  checkpoint = \"best.bin\"\n}\n",
                 "m.spn:17:16: warning: checkpoint 'best.bin' does not end in .safetensors, the "
                 "format it is written in\n"
                 "   17 |   checkpoint = \"best.bin\"\n"
                 "      |                ^~~~~~~~~~\n");
}

Test(check, state_not_named_safetensors_is_a_warning) {
  expect_warning(MODEL TRAIN DATA "output {\n  state = \"run.state\"\n}\n",
                 "m.spn:17:11: warning: state 'run.state' does not end in .safetensors, the "
                 "format it is written in\n"
                 "   17 |   state = \"run.state\"\n"
                 "      |           ^~~~~~~~~~~\n");
}

Test(check, format_against_the_extension_is_a_warning) {
  expect_warning(MODEL TRAIN DATA "output {\n  metrics = \"m.csv\"\n  format = jsonl\n}\n",
                 "m.spn:18:12: warning: metrics are written as jsonl although the file name "
                 "ends in .csv\n"
                 "   18 |   format = jsonl\n"
                 "      |            ^~~~~\n");
}

Test(check, pretraining_tanh_needs_no_warning) {
  expect_warning("model {\n  input = 4\n  layer h = dense(3, tanh)\n  layer out = dense(2, linear)\n"
                 "}\npretrain {\n  reconstruction = scaled_sigmoid_cross_entropy\n}\n" TRAIN DATA,
                 "");
}

Test(check, targets_before_with_only_the_first_layer_is_a_warning) {
  expect_warning(THREE_LAYERS "pretrain {\n  layers = {h1}\n  reconstruction = linear_quadratic\n"
                              "  targets = before\n}\n" TRAIN DATA,
                 "m.spn:11:13: warning: 'targets = before' changes nothing: the only layer "
                 "pretrained, 'h1', is the first hidden layer, and its target is the input\n"
                 "   11 |   targets = before\n"
                 "      |             ^~~~~~\n");
}

/* ---- examples ------------------------------------------------------------------ */

static int is_spec(const char *name) {
  size_t n = strlen(name);
  return n > 4 && strcmp(name + n - 4, ".spn") == 0;
}

Test(check, every_example_checks_clean) {
  DIR *dir = opendir(SPARSEC_EXAMPLES);
  cr_assert_not_null(dir);
  int specs = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    if (!is_spec(e->d_name))
      continue;
    char path[1024], *out = NULL;
    size_t size;
    snprintf(path, sizeof path, "%s/%s", SPARSEC_EXAMPLES, e->d_name);
    FILE *f = open_memstream(&out, &size);
    Spec *spec = spec_load(path, f);
    fclose(f);
    cr_expect_not_null(spec, "%s:\n%s", path, out);
    cr_expect_str_eq(out, "", "%s", path);
    spec_free(spec);
    free(out);
    specs++;
  }
  closedir(dir);
  cr_assert_geq(specs, 7);
}

Test(check, paper_examples_say_what_they_are) {
  Spec *relu = spec_load(SPARSEC_EXAMPLES "/fashion_mnist_relu_pretrain.spn", stderr);
  Spec *tanh = spec_load(SPARSEC_EXAMPLES "/fashion_mnist_tanh_pretrain.spn", stderr);
  Spec *xor = spec_load(SPARSEC_EXAMPLES "/toy_xor.spn", stderr);
  cr_assert(relu && tanh && xor);
  cr_assert_eq(relu->pretrain.nstages, 3);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(relu->pretrain.stages[i].noise.kind, NOISE_MASKING);
    cr_assert_eq(relu->pretrain.stages[i].noise.p, 0.25);
    cr_assert_eq(relu->pretrain.stages[i].recon, RECON_SOFTPLUS_QUADRATIC);
    cr_assert_eq(tanh->pretrain.stages[i].recon, RECON_LINEAR_QUADRATIC);
    cr_assert(tanh->pretrain.stages[i].tied);
    cr_assert_eq(tanh->layers[i].act, ACT_TANH);
  }
  cr_assert_eq(xor->data.train.format, DATA_CSV);
  cr_assert_str_eq(xor->data.train.images, SPARSEC_EXAMPLES "/toy_xor_train.csv");
  cr_assert_str_eq(xor->data.train.label_column, "label");
  cr_assert_eq(xor->input, 2);
  spec_free(relu);
  spec_free(tanh);
  spec_free(xor);
}

/* ---- the activations' table --------------------------------------------------- */

/* docs/language.md's table of activations lists frontend/activations.def's
 * rows, in order, and nothing else. */
Test(check, documented_activations_are_the_table) {
  FILE *f = fopen(SPARSEC_DOCS "/language.md", "r");
  cr_assert_not_null(f);
  char line[1024];
  int in_table = 0, row = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "| activation | y = f(x)", 23) == 0) {
      in_table = 1;
      continue;
    }
    if (!in_table || strncmp(line, "| ---", 5) == 0)
      continue;
    if (line[0] != '|')
      break;
    cr_assert_lt(row, ACT_COUNT_, "docs list more activations than the table: %s", line);
    const ActivationInfo *a = activation_info((Activation)row);
    char want[64];
    snprintf(want, sizeof want, "| `%s%s", a->keyword, isnan(a->parameter) ? "`" : "(");
    cr_expect(strncmp(line, want, strlen(want)) == 0, "row %d: want %s..., docs have %s", row,
              want, line);
    row++;
  }
  fclose(f);
  cr_expect_eq(row, ACT_COUNT_, "docs list %d activations, activations.def %d", row, ACT_COUNT_);
}

/* Every activation the table has is a keyword of the language: its row
 * parses, and one with a parameter takes it written and without. */
Test(check, every_activation_of_the_table_parses) {
  for (int a = 0; a < ACT_COUNT_; a++) {
    const ActivationInfo *info = activation_info((Activation)a);
    char text[512], act[64];
    int head = (info->flags & ACT_HEAD_ONLY) != 0;
    snprintf(act, sizeof act, "%s", info->keyword);
    for (int written = 0; written < 1 + !isnan(info->parameter); written++) {
      if (written)
        snprintf(act, sizeof act, "%s(%g)", info->keyword, (info->lo + info->hi) / 2);
      snprintf(text, sizeof text,
               "model {\n  input = 4\n  layer h1 = dense(3, %s)\n  layer out = dense(2, %s)\n}\n"
               TRAIN DATA,
               head ? "relu" : act, head ? act : "softmax");
      Loaded r = load(text);
      cr_expect_not_null(r.spec, "%s: %s", act, r.out);
      if (r.spec) {
        const LayerSpec *l = &r.spec->layers[head];
        cr_expect_eq(l->act, (Activation)a, "%s", act);
        if (!isnan(info->parameter))
          cr_expect_float_eq(l->act_param, written ? (info->lo + info->hi) / 2 : info->parameter,
                             1e-12, "%s", act);
      }
      loaded_free(&r);
    }
  }
}
