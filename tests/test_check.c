/* AST -> Spec: the example, defaults, and one case per rule of the language.
 * Bad specs are inline strings; each starts with the block under test so
 * that line numbers in the expected messages are easy to read. */
#include <criterion/criterion.h>
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
  cr_assert_str_eq(activation_name(ACT_RELU), "relu");
  cr_assert_str_eq(activation_name(ACT_SOFTMAX), "softmax");
  cr_assert_str_eq(loss_name(LOSS_NLL), "nll");
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
                "m.spn:16:1: note: did you mean 'train'?\n");
}

/* ---- settings -------------------------------------------------------------- */

Test(check, unknown_setting) {
  expect_output("train {\n  lr = 0.1\n  bacth = 10\n  epochs = 2\n  batch = 1\n}\n" MODEL DATA,
                "m.spn:3:3: error: unknown setting 'bacth' in 'train' block\n"
                "    3 |   bacth = 10\n"
                "      |   ^~~~~\n"
                "m.spn:3:3: note: did you mean 'batch'?\n");
}

Test(check, unknown_setting_without_close_match) {
  expect_output(MODEL TRAIN "data {\n  momentum = 0.9\n" "  train = idx(\"a\", \"b\")\n"
                "  test = idx(\"c\", \"d\")\n}\n",
                "m.spn:13:3: error: unknown setting 'momentum' in 'data' block\n"
                "   13 |   momentum = 0.9\n"
                "      |   ^~~~~~~~\n");
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
                "m.spn:3:11: error: 'batch' must be at least 1, not 0\n"
                "    3 |   batch = 0\n"
                "      |           ^\n");
  expect_error("train {\n  lr = 0.1\n  batch = 1\n  epochs = 0\n}\n" MODEL DATA,
               "m.spn:4:12: error: 'epochs' must be at least 1, not 0\n");
  expect_error("train {\n  lr = 0.1\n  batch = 1\n  epochs = 1\n  seed = -1\n}\n" MODEL DATA,
               "m.spn:5:10: error: 'seed' must be at least 0, not -1\n");
  expect_error("model {\n  input = 2000000\n}\n" TRAIN DATA,
               "m.spn:2:11: error: 'input' must be between 1 and 1000000, not 2000000\n");
  expect_error(MODEL TRAIN "data {\n  validation = -1\n}\n",
               "m.spn:13:16: error: 'validation' must be at least 0, not -1\n");
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
                "m.spn:3:26: note: did you mean 'relu'?\n");
}

Test(check, known_but_unsupported_activation) {
  expect_output("model {\n  input = 784\n  layer h1 = dense(1000, tanh)\n"
                "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
                "m.spn:3:26: error: activation 'tanh' is not supported yet\n"
                "    3 |   layer h1 = dense(1000, tanh)\n"
                "      |                          ^~~~\n");
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
                "m.spn:3:25: error: softmax is only supported on the output layer\n"
                "    3 |   layer h1 = dense(100, softmax)\n"
                "      |                         ^~~~~~~\n");
}

Test(check, output_layer_must_be_softmax) {
  expect_error("model {\n  input = 784\n  layer h1 = dense(100, relu)\n"
               "  layer out = dense(10, relu)\n  loss = nll\n}\n" TRAIN DATA,
               "m.spn:4:25: error: the output layer 'out' must use softmax, "
               "which the 'nll' loss needs\n");
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
  expect_output("model {\n  input = 784\n  layer h1 = dense(100, relu, l2 = 0.1)\n"
                "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
                "m.spn:3:31: error: unknown argument 'l2' to dense\n"
                "    3 |   layer h1 = dense(100, relu, l2 = 0.1)\n"
                "      |                               ^~\n"
                "m.spn:3:31: note: did you mean 'l1'?\n");
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
               "m.spn:3:31: error: too many arguments: dense(UNITS, ACTIVATION [, l1 = NUMBER])\n");
}

Test(check, unknown_layer_type) {
  expect_output("model {\n  input = 784\n  layer h1 = dens(100, relu)\n"
                "  layer out = dense(10, softmax)\n  loss = nll\n}\n" TRAIN DATA,
                "m.spn:3:14: error: unknown layer type 'dens'\n"
                "    3 |   layer h1 = dens(100, relu)\n"
                "      |              ^~~~\n"
                "m.spn:3:14: note: did you mean 'dense'?\n");
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
                "m.spn:2:11: note: did you mean 'idx'?\n");
  expect_error("data {\n  train = idx(\"a\")\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:11: error: idx needs two paths: idx(\"IMAGES\", \"LABELS\")\n");
  expect_error("data {\n  train = idx(\"a\", 2)\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:20: error: expected a path string for the labels of 'train', "
               "found an integer\n");
  expect_error("data {\n  train = \"a\"\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:11: error: expected idx(\"IMAGES\", \"LABELS\") for 'train', "
               "found a string\n");
  expect_error("data {\n  train = idx(\"\", \"b\")\n  test = idx(\"c\", \"d\")\n}\n" MODEL TRAIN,
               "m.spn:2:15: error: empty path for the images of 'train'\n");
}
