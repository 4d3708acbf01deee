/* --set PATH=VALUE: each form of path, values checked like the file's, and
 * errors shown in the override's own text ("--set N"). */
#include <criterion/criterion.h>

#include "frontend_internal.h"

#define SPEC                                       \
  "model {\n"                                      \
  "  input = 784\n"                                \
  "  layer h1 = dense(100, relu, l1 = 0.001)\n"    \
  "  layer h2 = dense(50, relu)\n"                 \
  "  layer out = dense(10, softmax)\n"             \
  "}\n"                                            \
  "train {\n"                                      \
  "  lr = 0.1\n"                                   \
  "  batch = 10\n"                                 \
  "  epochs = 2\n"                                 \
  "}\n"                                            \
  "data {\n"                                       \
  "  train = idx(\"tr-img\", \"tr-lbl\")\n"        \
  "  test = idx(\"te-img\", \"te-lbl\")\n"         \
  "}\n"

typedef struct Loaded {
  Spec *spec;
  char *out;
} Loaded;

/* Up to 8 overrides, NULL-terminated, on `text` named runs/m.spn. */
static Loaded load_text(const char *text, const char *const *sets) {
  Override overrides[8];
  int n = 0;
  while (sets[n])
    overrides[n] = (Override){sets[n]}, n++;
  Loaded r = {0};
  size_t size;
  FILE *out = open_memstream(&r.out, &size);
  r.spec = load_source(source_from_string("runs/m.spn", text), overrides, n, out);
  fclose(out);
  return r;
}

#define LOAD(...) load_text(SPEC, (const char *const[]){__VA_ARGS__, NULL})

static void loaded_free(Loaded *r) {
  spec_free(r->spec);
  free(r->out);
}

static void expect_output(Loaded r, const char *expected) {
  cr_assert_null(r.spec);
  cr_assert_str_eq(r.out, expected);
  loaded_free(&r);
}

/* ---- paths that work ------------------------------------------------------------ */

Test(override, block_setting_replaces_the_file_value) {
  Loaded r = LOAD("train.lr=0.5");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.out, "");
  cr_assert_eq(r.spec->train.lr, 0.5);
  /* the value's location is in the override, which the Spec keeps */
  cr_assert_eq(r.spec->nset_sources, 1);
  cr_assert_str_eq(r.spec->set_sources[0]->path, "--set 1");
  cr_assert_eq(r.spec->train.lr_loc.src, r.spec->set_sources[0]);
  cr_assert_eq(r.spec->train.lr_loc.col, 10);
  loaded_free(&r);
}

Test(override, block_setting_absent_from_the_file_is_added) {
  Loaded r = LOAD("data.limit=100", "train.momentum = 0.5", "model.l1=0.01");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->data.limit, 100);
  cr_assert_eq(r.spec->train.momentum, 0.5);
  cr_assert_eq(r.spec->layers[0].l1, 0.001);  /* written on the layer: kept */
  cr_assert_eq(r.spec->layers[1].l1, 0.01);   /* the new default */
  cr_assert_eq(r.spec->layers[2].l1, 0.0);    /* the output layer: not affected */
  loaded_free(&r);
}

Test(override, block_absent_from_the_file_is_added) {
  Loaded r = LOAD("output.metrics=\"log.csv\"", "output.progress=off");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.spec->output.metrics, "runs/log.csv");
  cr_assert_eq(r.spec->output.metrics_format, METRICS_CSV);
  cr_assert_eq(r.spec->output.progress, 0);
  loaded_free(&r);
}

Test(override, state_and_save_every) {
  Loaded r = LOAD("output.state=\"x.safetensors\"", "output.save_every=2");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.out, "");
  cr_assert_str_eq(r.spec->output.state, "runs/x.safetensors");
  cr_assert_eq(r.spec->output.save_every, 2);
  cr_assert_eq(r.spec->output.state_loc.src, r.spec->set_sources[0]);
  cr_assert_eq(r.spec->output.state_loc.col, 14);
  loaded_free(&r);
  expect_output(LOAD("output.save_every=-1"),
                "--set 1:1:19: error: 'save_every' must be between 0 and 1000000, not -1\n"
                "    1 | output.save_every=-1\n"
                "      |                   ^~\n");
}

Test(override, layer_keyword_is_replaced_or_added) {
  Loaded r = LOAD("h1.l1=0.5", "h2.l2=0.25", "h2.init=uniform(0.1)", "out.bias=1");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->layers[0].l1, 0.5);
  cr_assert_eq(r.spec->layers[1].l2, 0.25);
  cr_assert_eq(r.spec->layers[1].init.kind, INIT_UNIFORM);
  cr_assert_eq(r.spec->layers[1].init.a, 0.1);
  cr_assert_eq(r.spec->layers[2].bias, 1.0);
  loaded_free(&r);
}

Test(override, layer_units_and_activation_are_the_positional_arguments) {
  Loaded r = LOAD("h1.units=20", "h2.activation=softplus", "out.activation=sigmoid");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->layers[0].units, 20);
  cr_assert_eq(r.spec->layers[0].l1, 0.001);
  cr_assert_eq(r.spec->layers[1].act, ACT_SOFTPLUS);
  cr_assert_eq(r.spec->layers[2].act, ACT_SIGMOID);
  cr_assert_eq(r.spec->loss, LOSS_CROSS_ENTROPY);  /* inferred again */
  loaded_free(&r);
}

Test(override, missing_activation_is_added) {
  Loaded r = load_text("model {\n  input = 4\n  layer h = dense(3)\n  layer out = dense(2, softmax)\n}"
                       "train { lr = 1 batch = 1 epochs = 1 }\n"
                       "data { train = idx(\"a\", \"b\") test = idx(\"c\", \"d\") }\n",
                       (const char *const[]){"h.activation=tanh", "train.lr=0.1", NULL});
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->layers[0].act, ACT_TANH);
  loaded_free(&r);
}

Test(override, pretrain_layer_setting_creates_what_is_missing) {
  Loaded r = LOAD("pretrain.h2.epochs=3", "pretrain.noise=gaussian(0.1)");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert(r.spec->pretrain.present);
  cr_assert_eq(r.spec->pretrain.nstages, 2);
  cr_assert_eq(r.spec->pretrain.stages[0].epochs, 10);
  cr_assert_eq(r.spec->pretrain.stages[1].epochs, 3);
  cr_assert_eq(r.spec->pretrain.stages[1].noise.kind, NOISE_GAUSSIAN);
  loaded_free(&r);
}

Test(override, pretrain_layer_setting_replaces_the_file_value) {
  Loaded r = load_text(SPEC "pretrain {\n  h1 { lr = 0.5 batch = 3 }\n}\n",
                       (const char *const[]){"pretrain.h1.lr=0.25", NULL});
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->pretrain.stages[0].lr, 0.25);
  cr_assert_eq(r.spec->pretrain.stages[0].batch, 3);
  loaded_free(&r);
}

/* Strategy 3's targets for one layer from the command line; the first
 * layer's own `before` is an error located in the override. */
Test(override, pretrain_layer_targets) {
  Loaded r = LOAD("pretrain.h2.reconstruction=linear_quadratic", "pretrain.h2.targets=before");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_str_eq(r.out, "");
  cr_assert_eq(r.spec->pretrain.stages[0].targets, TARGETS_AFTER);
  cr_assert_eq(r.spec->pretrain.stages[1].targets, TARGETS_BEFORE);
  cr_assert_eq(r.spec->pretrain.stages[1].targets_loc.src, r.spec->set_sources[1]);
  loaded_free(&r);
  expect_output(LOAD("pretrain.reconstruction=linear_quadratic", "pretrain.h1.targets=before"),
                "--set 2:1:21: error: 'targets = before' takes the pre-activations of the layer "
                "below, and 'h1' is the first hidden layer: its target is the input\n"
                "    1 | pretrain.h1.targets=before\n"
                "      |                     ^~~~~~\n");
}

/* `save spec`: the printed text names the reconstruction and the targets
 * (block and layer), and checks to the same stages. */
Test(override, printed_spec_keeps_reconstruction_and_targets) {
  const char *text = SPEC "pretrain {\n  reconstruction = linear_quadratic\n  targets = before\n"
                          "  h1 { reconstruction = relu_quadratic }\n}\n";
  Override set = {"pretrain.h2.targets=after"};
  char *printed = NULL, *messages = NULL;
  size_t size, msize;
  FILE *out = open_memstream(&printed, &size), *msg = open_memstream(&messages, &msize);
  cr_assert_eq(spec_print_with("runs/m.spn", text, &set, 1, NULL, out, msg), 0);
  fclose(out);
  fclose(msg);
  cr_assert_str_eq(messages, "");
  cr_expect_not_null(strstr(printed, "  targets = before\n"), "%s", printed);
  cr_expect_not_null(strstr(printed, "  h1 {\n    reconstruction = relu_quadratic\n"), "%s", printed);
  cr_expect_not_null(strstr(printed, "    targets = after\n"), "%s", printed);
  Loaded a = load_text(text, (const char *const[]){set.text, NULL});
  Loaded b = load_text(printed, (const char *const[]){NULL});
  cr_assert(a.spec && b.spec, "%s%s\n%s", a.out, b.out, printed);
  cr_assert_eq(b.spec->pretrain.nstages, 2);
  for (int i = 0; i < 2; i++) {
    cr_expect_eq(a.spec->pretrain.stages[i].recon, b.spec->pretrain.stages[i].recon);
    cr_expect_eq(a.spec->pretrain.stages[i].targets, b.spec->pretrain.stages[i].targets);
  }
  cr_expect_eq(b.spec->pretrain.stages[0].recon, RECON_RELU_QUADRATIC);
  cr_expect_eq(b.spec->pretrain.stages[0].targets, TARGETS_BEFORE);
  cr_expect_eq(b.spec->pretrain.stages[1].recon, RECON_LINEAR_QUADRATIC);
  cr_expect_eq(b.spec->pretrain.stages[1].targets, TARGETS_AFTER);
  loaded_free(&a);
  loaded_free(&b);
  free(printed);
  free(messages);
}

Test(override, a_set_becomes_a_sweep) {
  Loaded r = LOAD("train.lr={0.1, 0.01, 0.001}");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->train.nlrs, 3);
  cr_assert_eq(r.spec->train.lrs[2], 0.001);
  loaded_free(&r);
}

Test(override, a_number_replaces_a_sweep_and_the_last_override_wins) {
  Loaded r = load_text(SPEC, (const char *const[]){"train.lr=0.2", "train.lr=0.3", NULL});
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->train.lr, 0.3);
  cr_assert_eq(r.spec->train.nlrs, 1);
  cr_assert_str_eq(r.spec->set_sources[1]->path, "--set 2");
  loaded_free(&r);
}

Test(override, data_source_and_strings) {
  Loaded r = LOAD("data.train=csv(\"x.csv\", label = \"y\")", "data.validation=0.1");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->data.train.format, DATA_CSV);
  cr_assert_str_eq(r.spec->data.train.images, "runs/x.csv");
  cr_assert_str_eq(r.spec->data.train.label_column, "y");
  cr_assert_eq(r.spec->data.validation_fraction, 0.1);
  loaded_free(&r);
}

/* A path setting takes a bare value literally (what a shell passes for
 * output.metrics=runs/m.csv); quoted, it is read as in a file; other
 * settings do not (a bare word there is still a name, checked as such). */
Test(override, a_path_setting_takes_a_bare_value) {
  Loaded r = LOAD("output.metrics=out/m-1.csv", "output.checkpoint= \"b c.safetensors\" ",
                  "output.state=  s=1.safetensors ");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_expect_str_eq(r.spec->output.metrics, "runs/out/m-1.csv");
  cr_expect_eq(r.spec->output.metrics_format, METRICS_CSV);
  cr_expect_str_eq(r.spec->output.checkpoint, "runs/b c.safetensors");
  cr_expect_str_eq(r.spec->output.state, "runs/s=1.safetensors");
  loaded_free(&r);
  expect_output(LOAD("output.format=out/m.csv"),
                "--set 1:1:20: error: unexpected character '.'\n"
                "    1 | output.format=out/m.csv\n"
                "      |                    ^\n"
                "--set 1:1:21: error: expected end of file or '(', found identifier\n"
                "    1 | output.format=out/m.csv\n"
                "      |                     ^~~\n");
}

Test(override, from_a_file) {
  Override sets[] = {{"train.lr=0.05"}, {"h1.units=16"}};
  char *out = NULL;
  size_t size;
  FILE *f = open_memstream(&out, &size);
  Spec *spec = spec_load_with(SPARSEC_TEST_DATA "/spec_override.spn", sets, 2, f);
  fclose(f);
  cr_assert_not_null(spec, "%s", out);
  cr_assert_eq(spec->train.nlrs, 1);
  cr_assert_eq(spec->train.lr, 0.05);
  cr_assert_eq(spec->layers[0].units, 16);
  cr_assert_str_eq(spec->data.train.images, SPARSEC_TEST_DATA "/tiny/train-images");
  spec_free(spec);
  free(out);
  /* and without overrides it is spec_load */
  spec = spec_load_with(SPARSEC_TEST_DATA "/spec_override.spn", NULL, 0, stderr);
  cr_assert_not_null(spec);
  cr_assert_eq(spec->train.nlrs, 2);
  cr_assert_eq(spec->nset_sources, 0);
  spec_free(spec);
}

/* ---- errors in the path ------------------------------------------------------ */

Test(override, unknown_block_or_layer) {
  expect_output(LOAD("trian.lr=0.5"),
                "--set 1:1:1: error: unknown block or layer 'trian'\n"
                "    1 | trian.lr=0.5\n"
                "      | ^~~~~\n"
                "--set 1:1:1: note: did you mean 'train'? (one of: model, pretrain, train, data, output, h1, h2, out)\n");
  expect_output(LOAD("train.lr=0.5", "h3.l1=0"),
                "--set 2:1:1: error: unknown block or layer 'h3'\n"
                "    1 | h3.l1=0\n"
                "      | ^~\n"
                "--set 2:1:1: note: did you mean 'h1'? (one of: model, pretrain, train, data, output, h1, "
                "h2, out)\n");
}

Test(override, unknown_setting_in_a_block) {
  expect_output(LOAD("train.bacth=5"),
                "--set 1:1:7: error: unknown setting 'bacth' in 'train' block\n"
                "    1 | train.bacth=5\n"
                "      |       ^~~~~\n"
                "--set 1:1:7: note: did you mean 'batch'? (one of: lr, momentum, batch, epochs, patience, seed, seeds)\n");
}

Test(override, unknown_key_of_a_layer) {
  expect_output(LOAD("h2.unit=5"),
                "--set 1:1:4: error: unknown setting 'unit' of layer 'h2'\n"
                "    1 | h2.unit=5\n"
                "      |    ^~~~\n"
                "--set 1:1:4: note: did you mean 'units'? (one of: units, activation, l1, l2, init, bias, sign_trick)\n");
}

Test(override, unknown_pretrain_layer_and_setting) {
  expect_output(LOAD("pretrain.h4.lr=0.1"),
                "--set 1:1:10: error: unknown layer 'h4'\n"
                "    1 | pretrain.h4.lr=0.1\n"
                "      |          ^~\n"
                "--set 1:1:10: note: did you mean 'h1'? (one of: h1, h2, out)\n");
  expect_output(LOAD("pretrain.h1.epoch=1"),
                "--set 1:1:13: error: unknown pretrain setting 'epoch'\n"
                "    1 | pretrain.h1.epoch=1\n"
                "      |             ^~~~~\n"
                "--set 1:1:13: note: did you mean 'epochs'? (one of: layers, noise, reconstruction, targets, "
                "decoder, epochs, lr, batch, l1)\n");
}

Test(override, layer_name_where_a_pretrain_setting_belongs) {
  expect_output(LOAD("pretrain.h2=3"),
                "--set 1:1:10: error: unknown setting 'h2' in 'pretrain' block\n"
                "    1 | pretrain.h2=3\n"
                "      |          ^~\n"
                "--set 1:1:10: note: a layer's pretraining settings are pretrain.h2.SETTING\n");
}

Test(override, malformed_paths) {
  expect_output(LOAD("train.lr"),
                "--set 1:1:1: error: expected PATH=VALUE, like train.lr=0.01\n"
                "    1 | train.lr\n"
                "      | ^~~~~~~~\n");
  expect_output(LOAD("train..lr=1"),
                "--set 1:1:7: error: missing name in the path\n"
                "    1 | train..lr=1\n"
                "      |       ^\n");
  expect_output(LOAD("lr=1"),
                "--set 1:1:1: error: the path needs a block or layer and a setting, like "
                "train.lr\n"
                "    1 | lr=1\n"
                "      | ^~\n");
  expect_output(LOAD("train.lr.x=1"),
                "--set 1:1:10: error: too many parts in the path: 'train.lr' already names a "
                "setting\n"
                "    1 | train.lr.x=1\n"
                "      |          ^\n");
  expect_output(LOAD("a.b.c.d=1"),
                "--set 1:1:7: error: too many parts in the path: BLOCK.SETTING, LAYER.KEY or "
                "pretrain.LAYER.SETTING\n"
                "    1 | a.b.c.d=1\n"
                "      |       ^\n");
  expect_output(LOAD("train.2x=1"),
                "--set 1:1:7: error: '2x' is not a name\n"
                "    1 | train.2x=1\n"
                "      |       ^~\n");
  expect_output(LOAD(" train . lr = 0.5 ", "data.limit = 0"),
                "--set 2:1:14: error: 'limit' must be at least 1, not 0\n"
                "    1 | data.limit = 0\n"
                "      |              ^\n");
}

/* ---- errors in the value: shown in the override ------------------------------------ */

Test(override, syntax_error_in_the_value) {
  expect_output(LOAD("train.lr=0.1 *"),
                "--set 1:1:15: error: expected expression, found end of file\n"
                "    1 | train.lr=0.1 *\n"
                "      |               ^\n");
  expect_output(LOAD("train.lr="),
                "--set 1:1:10: error: expected expression, found end of file\n"
                "    1 | train.lr=\n"
                "      |          ^\n");
  expect_output(LOAD("train.lr=@"),
                "--set 1:1:10: error: unexpected character '@'\n"
                "    1 | train.lr=@\n"
                "      |          ^\n"
                "--set 1:1:10: error: expected expression, found end of file\n"
                "    1 | train.lr=@\n"
                "      |          ^\n");
}

Test(override, value_is_checked_like_the_file) {
  expect_output(LOAD("train.lr=-1"),
                "--set 1:1:10: error: 'lr' must be greater than 0, not -1\n"
                "    1 | train.lr=-1\n"
                "      |          ^~\n");
  expect_output(LOAD("h1.units=relu"),
                "--set 1:1:10: error: expected an integer for the width of layer 'h1', found "
                "identifier 'relu'\n"
                "    1 | h1.units=relu\n"
                "      |          ^~~~\n");
  expect_output(LOAD("h1.activation=rleu"),
                "--set 1:1:15: error: unknown activation 'rleu'\n"
                "    1 | h1.activation=rleu\n"
                "      |               ^~~~\n"
                "--set 1:1:15: note: did you mean 'relu'? (one of: relu, tanh, softplus, sigmoid, linear, softmax, leaky_relu, abs)\n");
  expect_output(LOAD("data.scale=1/0"),
                "--set 1:1:13: error: division by zero\n"
                "    1 | data.scale=1/0\n"
                "      |             ^\n");
}

/* Integers in an override are read exactly, as in the file: the digits
 * decide, not the double they round to, and nothing wraps. */
Test(override, integers_are_exact) {
  expect_output(LOAD("train.seed=9007199254740993"),
                "--set 1:1:12: error: 'seed' must be between 0 and 9007199254740992, not "
                "9007199254740993\n"
                "    1 | train.seed=9007199254740993\n"
                "      |            ^~~~~~~~~~~~~~~~\n");
  expect_output(LOAD("train.epochs=4294967297"),
                "--set 1:1:14: error: 'epochs' must be between 1 and 1000000000, not 4294967297\n"
                "    1 | train.epochs=4294967297\n"
                "      |              ^~~~~~~~~~\n");
  expect_output(LOAD("data.validation=1.5"),
                "--set 1:1:17: error: 'validation' must be a count (an integer >= 0) or a "
                "fraction between 0 and 1, not 1.5\n"
                "    1 | data.validation=1.5\n"
                "      |                 ^~~\n");
  expect_output(LOAD("train.batch=10.0"),
                "--set 1:1:13: error: expected an integer for 'batch', found a number\n"
                "    1 | train.batch=10.0\n"
                "      |             ^~~~\n"
                "--set 1:1:13: note: an integer is written without '.' or an exponent: 10\n");
  expect_output(LOAD("pretrain.h2.epochs=99999999999999999999"),
                "--set 1:1:20: error: 'epochs' must be between 1 and 1000000000, not "
                "99999999999999999999\n"
                "    1 | pretrain.h2.epochs=99999999999999999999\n"
                "      |                    ^~~~~~~~~~~~~~~~~~~~\n");
  Loaded r = LOAD("train.seed=9007199254740992", "h1.units=1000000");
  cr_assert_not_null(r.spec, "%s", r.out);
  cr_assert_eq(r.spec->train.seed, 9007199254740992ULL);
  cr_assert_eq(r.spec->layers[0].units, 1000000);
  loaded_free(&r);
}

Test(override, notes_may_point_into_the_file) {
  expect_output(LOAD("model.loss=squared_error"),
                "--set 1:1:12: error: loss 'squared_error' does not match the output "
                "activation 'softmax'\n"
                "    1 | model.loss=squared_error\n"
                "      |            ^~~~~~~~~~~~~\n"
                "runs/m.spn:5:25: note: the output layer 'out' is declared softmax here, which "
                "goes with 'loss = nll'\n"
                "    5 |   layer out = dense(10, softmax)\n"
                "      |                         ^~~~~~~\n");
}

/* An added block comes last in the file, and is checked in that order. */
Test(override, added_statement_is_located_in_the_override) {
  expect_output(LOAD("pretrain.h2.layers={h1}", "train.seed=-1"),
                "--set 2:1:12: error: 'seed' must be at least 0, not -1\n"
                "    1 | train.seed=-1\n"
                "      |            ^~\n"
                "--set 1:1:13: error: 'layers' belongs to the 'pretrain' block, not to one "
                "layer's settings\n"
                "    1 | pretrain.h2.layers={h1}\n"
                "      |             ^~~~~~\n");
}

Test(override, every_bad_override_is_reported) {
  Loaded r = LOAD("trian.lr=1", "h1.l3=2", "train.lr=(", "x=1");
  cr_assert_null(r.spec);
  cr_assert_not_null(strstr(r.out, "--set 1:1:1: error: "), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "--set 2:1:4: error: "), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "--set 3:1:11: error: "), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "--set 4:1:1: error: "), "%s", r.out);
  loaded_free(&r);
}

Test(override, not_applied_to_a_file_with_syntax_errors) {
  Loaded r = load_text("model {\n  input 784\n}\n", (const char *const[]){"trian.lr=1", NULL});
  cr_assert_null(r.spec);
  cr_assert_str_eq(r.out,
                   "runs/m.spn:2:9: error: expected '=', found number\n"
                   "    2 |   input 784\n"
                   "      |         ^~~\n");
  loaded_free(&r);
}

Test(override, missing_file) {
  char *out = NULL;
  size_t size;
  FILE *f = open_memstream(&out, &size);
  Override set = {"train.lr=1"};
  cr_assert_null(spec_load_with("/nonexistent/x.spn", &set, 1, f));
  fclose(f);
  cr_assert_str_eq(out, "sparsec: cannot read '/nonexistent/x.spn': No such file or directory\n");
  free(out);
}
