/* ONNX export end to end: `sparsec export --onnx` and the REPL's `export`
 * on networks trained here, checked by tests/onnx_check.py with Debian's
 * python3-onnx (onnx.checker.check_model, then the graph evaluated by
 * numpy) against what `PROG predict` prints for the same raw inputs.
 *
 * The data are the Gaussian blobs of workdir.h (16 features, 3 classes,
 * IDX bytes scaled by 1/255 in the spec: the scale must be in the graph).
 * Without python3-onnx the checks skip with a message; SPARSEC_TEST_PYTHON
 * names another interpreter (the default is the one CMake found,
 * SPARSEC_PYTHON: Debian's, whose site has python3-onnx). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h" /* onnx_unavailable */
#include "frontend.h" /* the activations table */

#include "workdir.h"

static void make_dir(void) {
  workdir_make("onnx");
}

static void remove_dir(void) {
  workdir_remove();
}

/* Runs a shell command line in dir; its output in *out (freed by the caller). */
static int sh(const char *cmd, char **out) {
  char grouped[2048]; /* the command's own redirections come before workdir_run's */
  snprintf(grouped, sizeof grouped, "{ %s ; }", cmd);
  return workdir_run_clean(grouped, out);
}

static int sparsec(const char *args, char **out) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s %s", SPARSEC_BINARY, args);
  return sh(cmd, out);
}

static const char *python(void) {
  const char *p = getenv("SPARSEC_TEST_PYTHON");
  return p && *p ? p : SPARSEC_PYTHON;
}

/* Skips the test, saying why, where python3-onnx (or numpy) cannot be
 * imported; where it can, sparsec must have been built with the export. */
static void need_python_onnx(void) {
  char cmd[512], *out;
  snprintf(cmd, sizeof cmd, "%s -c 'import onnx, numpy'", python());
  int rc = sh(cmd, &out);
  free(out);
  if (rc != 0)
    cr_skip_test("python3-onnx or python3-numpy cannot be imported by '%s' (Debian: apt-get "
                 "install python3-onnx python3-numpy, as scripts/install-deps.sh does): the "
                 "exported model is not checked",
                 python());
  cr_assert(!onnx_unavailable(), "python3-onnx is installed but this sparsec was built without ONNX "
                              "export: run cmake again (it reports what it did not find)");
}

/* onnx_check.py MODEL INPUTS PREDICTIONS must pass. */
static void check_model(const char *model, const char *inputs, const char *predictions) {
  char cmd[1024], *out;
  snprintf(cmd, sizeof cmd, "%s %s/onnx_check.py %s %s %s", python(), SPARSEC_TESTS, model, inputs,
           predictions);
  int rc = sh(cmd, &out);
  cr_expect_eq(rc, 0, "%s\n%s", cmd, out);
  cr_expect(strstr(out, "check_model passed") != NULL, "%s", out);
  free(out);
}

static const char *data_block =
    "data {\n  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
    "  test = idx(\"test-x.idx\", \"test-y.idx\")\n  scale = 1/255\n  validation = 100\n}\n";

/* A spec of the given layers (hidden ones, then the output's), trained for
 * an epoch. */
static void write_spec(const char *name, const char *layers) {
  char spec[4096];
  snprintf(spec, sizeof spec,
           "model {\n  input = 16\n%s}\ntrain { lr = 0.05  batch = 8  epochs = 1  seed = 3 }\n%s",
           layers, data_block);
  write_file(name, spec);
}

/* Trains SPEC into w.safetensors, exports it, builds PROG and has it
 * predict the test inputs: the model must give those probabilities. */
static void export_matches_predict(const char *spec) {
  char args[512], *out;
  snprintf(args, sizeof args, "run %s --set output.checkpoint=w.safetensors", spec);
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  free(out);
  snprintf(args, sizeof args, "export --onnx m.onnx %s --weights w.safetensors", spec);
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  cr_expect(strstr(out, "sparsec: wrote m.onnx (") != NULL, "%s", out);
  free(out);
  snprintf(args, sizeof args, "build %s -o prog", spec);
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  free(out);
  cr_assert_eq(sh("./prog predict --weights w.safetensors --input test-x.idx > pred.txt", &out), 0,
               "%s", out);
  free(out);
  check_model("m.onnx", "test-x.idx", "pred.txt");
}

/* Every hidden activation of activations.def, one layer each, a parameter
 * other than its default (the attribute must carry it), the sign trick on
 * one of them: one network, one build. */
Test(onnx, every_activation_and_the_sign_trick, .init = make_dir, .fini = remove_dir) {
  need_python_onnx();
  write_blob_data(NULL);
  char layers[2048] = "", act[64];
  int n = 0;
  for (int a = 0; a < ACT_COUNT_; a++) {
    const ActivationInfo *info = activation_info((Activation)a);
    if (activation_has((Activation)a, ACT_HEAD_ONLY))
      continue;
    double param = isnan(info->parameter) ? info->parameter : (info->lo + info->hi) / 2;
    activation_text((Activation)a, param, act, sizeof act);
    size_t len = strlen(layers);
    n++;
    snprintf(layers + len, sizeof layers - len, "  layer h%d = dense(12, %s%s)\n", n, act,
             n == 1 ? ", sign_trick = true" : "");
  }
  strncat(layers, "  layer out = dense(3, softmax)\n", sizeof layers - strlen(layers) - 1);
  write_spec("act.spn", layers);
  export_matches_predict("act.spn");
}

/* The other heads: sigmoid (cross_entropy) and linear (squared_error).
 * A hidden layer named probs or x does not clash with the graph's output
 * or input. */
Test(onnx, sigmoid_and_linear_outputs, .init = make_dir, .fini = remove_dir) {
  need_python_onnx();
  write_blob_data(NULL);
  write_spec("sig.spn", "  layer x = dense(12, relu)\n  layer probs = dense(12, relu)\n"
                        "  layer out = dense(3, sigmoid)\n");
  export_matches_predict("sig.spn");
  write_spec("lin.spn", "  layer h1 = dense(12, tanh)\n  layer out = dense(3, linear)\n");
  export_matches_predict("lin.spn");
}

/* The REPL exports the session's current weights: those it then saves. */
Test(onnx, repl_exports_the_current_weights, .init = make_dir, .fini = remove_dir) {
  need_python_onnx();
  write_blob_data(NULL);
  write_spec("r.spn", "  layer h1 = dense(12, relu, sign_trick = true)\n"
                      "  layer out = dense(3, softmax)\n");
  write_file("script.sr", "train 1\nexport --onnx r.onnx\nsave r.safetensors\n"
                          "export r.onnx\nexport --onnx\n");
  char cmd[512], *out;
  snprintf(cmd, sizeof cmd, "HOME=%s %s repl r.spn < script.sr", dir, SPARSEC_BINARY);
  sh(cmd, &out);
  cr_expect(strstr(out, "exported the inference function to r.onnx (ONNX)") != NULL, "%s", out);
  cr_expect(strstr(out, "expected --onnx FILE.onnx, not 'r.onnx'") != NULL, "%s", out);
  cr_expect(strstr(out, "export --onnx needs a file") != NULL, "%s", out);
  free(out);
  cr_assert_eq(sparsec("build r.spn -o prog", &out), 0, "%s", out);
  free(out);
  cr_assert_eq(sh("./prog predict --weights r.safetensors --input test-x.idx > pred.txt", &out),
               0, "%s", out);
  free(out);
  check_model("r.onnx", "test-x.idx", "pred.txt");
}

/* Weights that do not fit the spec, and missing arguments: a message
 * naming the problem, status 1 or 2, no model written. */
Test(onnx, wrong_weights_and_arguments, .init = make_dir, .fini = remove_dir) {
  if (onnx_unavailable())
    return; /* without_onnx_support_says_what_is_missing covers this build */
  write_blob_data(NULL);
  write_spec("a.spn", "  layer h1 = dense(12, relu)\n  layer out = dense(3, softmax)\n");
  write_spec("b.spn", "  layer h1 = dense(10, relu)\n  layer out = dense(3, softmax)\n");
  write_spec("c.spn", "  layer g1 = dense(12, relu)\n  layer out = dense(3, softmax)\n");
  char *out;
  cr_assert_eq(sparsec("run a.spn --set output.checkpoint=a.safetensors", &out), 0, "%s", out);
  free(out);
  cr_expect_eq(sparsec("export --onnx m.onnx b.spn --weights a.safetensors", &out), 1, "%s", out);
  cr_expect(strstr(out, "tensor 'h1.w' has shape [16, 12], the model expects [16, 10]") != NULL,
            "%s", out);
  free(out);
  cr_expect_eq(sparsec("export --onnx m.onnx c.spn --weights a.safetensors", &out), 1, "%s", out);
  cr_expect(strstr(out, "'h1.w'") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("export --onnx m.onnx a.spn --weights none.safetensors", &out), 1, "%s",
               out);
  cr_expect(strstr(out, "none.safetensors") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("export --onnx m.onnx a.spn", &out), 2, "%s", out);
  cr_expect(strstr(out, "--weights") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("export a.spn --weights a.safetensors", &out), 2, "%s", out);
  cr_expect(strstr(out, "--onnx") != NULL, "%s", out);
  free(out);
  char model[128];
  snprintf(model, sizeof model, "%s/m.onnx", dir);
  FILE *f = fopen(model, "r");
  cr_expect_null(f, "a model was written");
  if (f)
    fclose(f);
}

/* A sparsec built without protoc-c, libprotobuf-c or onnx.proto still has
 * the command, which says what the build lacked. */
Test(onnx, without_onnx_support_says_what_is_missing, .init = make_dir, .fini = remove_dir) {
  if (!onnx_unavailable())
    return; /* the other tests cover this build */
  char *out;
  cr_expect_eq(sparsec("export --onnx m.onnx x.spn --weights w.safetensors", &out), 1, "%s", out);
  cr_expect(strstr(out, onnx_unavailable()) != NULL, "%s", out);
  free(out);
}

/* Where python3-onnx cannot be imported (here: an interpreter without its
 * site packages), the checks skip, with the message, rather than fail. The
 * suite runs itself for one test, in an environment of its own (a
 * criterion worker's variables would make it a worker). */
Test(onnx, skips_without_python_onnx, .init = make_dir, .fini = remove_dir) {
  char cmd[1024], *out;
  snprintf(cmd, sizeof cmd,
           "env -i PATH=/usr/bin:/bin SPARSEC_TEST_PYTHON='%s -S' /proc/%d/exe "
           "--filter='onnx/sigmoid_and_linear_outputs' --verbose",
           SPARSEC_PYTHON, (int)getpid());
  int rc = sh(cmd, &out);
  cr_expect_eq(rc, 0, "%s", out);
  cr_expect(strstr(out, "[SKIP] onnx::sigmoid_and_linear_outputs: python3-onnx or python3-numpy "
                        "cannot be imported") != NULL,
            "%s", out);
  free(out);
}
