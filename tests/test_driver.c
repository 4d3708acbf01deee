/* End to end: the `sparsec` binary on spec files and data written here.
 * Synthetic data: two-dimensional Gaussian blobs padded with zero features,
 * written as IDX files, learnable to near 0% error in a few epochs. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sparsert.h"

#include "workdir.h"

static void make_dir(void) {
  workdir_make("driver");
}

static void remove_dir(void) {
  workdir_remove();
}

static const char *blob_spec =
    "model {\n"
    "  input = 16\n"
    "  layer h1 = dense(32, relu, l1 = 0.0001)\n"
    "  layer h2 = dense(32, relu)\n"
    "  layer out = dense(3, softmax)\n"
    "  loss = nll\n"
    "}\n"
    "train { lr = 0.1  batch = 8  epochs = 4  seed = 3 }\n"
    "data {\n"
    "  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
    "  test = idx(\"test-x.idx\", \"test-y.idx\")\n"
    "  scale = 1/255\n"
    "  validation = 100\n"
    "}\n";

Test(driver, trains_blobs_end_to_end, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  write_file("blobs.spn", blob_spec);
  char *out;
  int rc = workdir_sparsec("run blobs.spn", &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(strstr(out, "data: 500 train, 100 validation, 200 test examples") != NULL, "%s", out);
  cr_expect(strstr(out, "epoch   4") != NULL, "%s", out);
  const char *line = strstr(out, "test error: ");
  cr_assert_not_null(line, "%s", out);
  double err = atof(line + strlen("test error: "));
  cr_expect_lt(err, 5.0, "blobs should be nearly separable: %s", out);
  free(out);
}

/* Outputs go into folders made for them, however deep (runtime/outputs.c;
 * it used to make only the last level). */
Test(driver, makes_nested_output_folders, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  write_file("blobs.spn", blob_spec);
  char *out;
  int rc = workdir_sparsec("run blobs.spn --set 'output.checkpoint=\"n1/n2/n3/c.safetensors\"'", &out);
  cr_assert_eq(rc, 0, "%s", out);
  char path[128];
  snprintf(path, sizeof path, "%s/n1/n2/n3/c.safetensors", dir);
  cr_expect_eq(access(path, R_OK), 0, "no %s:\n%s", path, out);
  free(out);
}

Test(driver, prints_ir, .init = make_dir, .fini = remove_dir) {
  write_file("blobs.spn", blob_spec);
  char *out;
  cr_assert_eq(workdir_sparsec("ir blobs.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "program train(n) {") != NULL, "%s", out);
  cr_expect(strstr(out, "sparse_backward_sgd h1.w, x, d.h1.a, x.active, lr=0.1") != NULL, "%s", out);
  cr_expect(strstr(out, "program infer(n) {") != NULL, "%s", out);
  free(out);
  cr_assert_eq(workdir_sparsec("ir --passes dense blobs.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "matmul_sgd h1.w, x^T, d.h1.a, lr=0.1") != NULL, "%s", out);
  free(out);
  cr_assert_eq(workdir_sparsec("ir --passes none blobs.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "sgd_update h1.w, d.h1.w, lr=0.1") != NULL, "%s", out);
  free(out);
  cr_assert_eq(workdir_sparsec("ir --stats --passes dense blobs.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "[per hidden output: h1 2, h2 2]") != NULL, "%s", out);
  free(out);
  cr_assert_eq(workdir_sparsec("ir --stats blobs.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "[per hidden output: h1 3, h2 3]") != NULL, "%s", out); /* + active_units */
  free(out);
  cr_expect_eq(workdir_sparsec("ir --after fuse-rleu blobs.spn", &out), 2);
  cr_expect(strstr(out, "--after takes prune-zero, fuse-relu, ") != NULL, "%s", out);
  cr_expect(strstr(out, ", not 'fuse-rleu'\nsparsec: did you mean 'fuse-relu'?") != NULL, "%s",
            out);
  free(out);
}

Test(driver, spec_error_is_located, .init = make_dir, .fini = remove_dir) {
  write_file("bad.spn", "model {\n  input = 16\n  layer h1 = dense(32, rleu)\n"
                        "  layer out = dense(3, softmax)\n  loss = nll\n}\n");
  char *out;
  cr_expect_neq(workdir_sparsec("run bad.spn", &out), 0);
  cr_expect(strstr(out, "bad.spn:3:24: error: unknown activation 'rleu'") != NULL, "%s", out);
  free(out);
}

Test(driver, missing_data_file_is_named, .init = make_dir, .fini = remove_dir) {
  write_file("blobs.spn", blob_spec);
  char *out;
  cr_expect_eq(workdir_sparsec("run blobs.spn", &out), 1);
  cr_expect(strstr(out, "train-x.idx") != NULL, "%s", out);
  cr_expect(strstr(out, "No such file or directory") != NULL, "%s", out);
  free(out);
}

Test(driver, truncated_data_file_is_refused, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  write_file("blobs.spn", blob_spec);
  char path[256];
  snprintf(path, sizeof path, "%s/test-x.idx", dir);
  cr_assert_eq(truncate(path, 1000), 0);
  char *out;
  cr_expect_eq(workdir_sparsec("run blobs.spn", &out), 1);
  cr_expect(strstr(out, "test-x.idx") != NULL && strstr(out, "truncated") != NULL, "%s", out);
  free(out);
}

Test(driver, wrong_input_width_is_refused, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  char *spec = strdup(blob_spec);
  memcpy(strstr(spec, "input = 16"), "input = 15", 10);
  write_file("blobs.spn", spec);
  free(spec);
  char *out;
  cr_expect_eq(workdir_sparsec("run blobs.spn", &out), 1);
  cr_expect(strstr(out, "16 features") != NULL, "%s", out);
  free(out);
}

Test(driver, usage_errors) {
  char *out;
  strcpy(dir, "/tmp");
  cr_expect_eq(workdir_sparsec("frobnicate", &out), 2);
  cr_expect(strstr(out, "unknown command 'frobnicate'") != NULL, "%s", out);
  free(out);
  cr_expect_eq(workdir_sparsec("run", &out), 2);
  cr_expect(strstr(out, "usage: sparsec run") != NULL, "%s", out);
  free(out);
  cr_expect_eq(workdir_sparsec("run /nonexistent/model.spn", &out), 1);
  cr_expect(strstr(out, "/nonexistent/model.spn") != NULL, "%s", out);
  free(out);
}

/* `sparsec help COMMAND` prints exactly what `COMMAND --help` does, for
 * every command the usage lists; an unknown one is a usage error. */
Test(driver, help_command_equals_command_help) {
  char *usage, *a, *b;
  strcpy(dir, "/tmp");
  cr_assert_eq(workdir_sparsec("help", &usage), 0);
  const char *commands[] = {"run", "check", "ir", "build", "repl"};
  for (int i = 0; i < 5; i++) {
    char with_help[64], help_with[64], listed[64];
    snprintf(with_help, sizeof with_help, "%s --help", commands[i]);
    snprintf(help_with, sizeof help_with, "help %s", commands[i]);
    snprintf(listed, sizeof listed, "\n  %s ", commands[i]);
    cr_expect(strstr(usage, listed) != NULL, "%s is not in the usage:\n%s", commands[i], usage);
    cr_expect_eq(workdir_sparsec(with_help, &a), 0);
    cr_expect_eq(workdir_sparsec(help_with, &b), 0);
    cr_expect_str_eq(a, b);
    cr_expect(strstr(a, "usage: sparsec ") == a, "%s", a);
    free(a), free(b);
  }
  free(usage);
  cr_expect_eq(workdir_sparsec("help biuld", &a), 2);
  cr_expect(strstr(a, "unknown command 'biuld'\nsparsec: did you mean 'build'?") != NULL, "%s", a);
  free(a);
}

/* --quiet and --verbose on every command: in its help, exclusive; quiet
 * leaves the results (run's test error), and nothing for a clean check or
 * build. */
Test(driver, quiet_and_verbose_on_every_command, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  write_file("blobs.spn", blob_spec);
  const char *commands[] = {"run", "check", "ir", "build", "repl", "export"};
  char *out, cmd[128];
  for (int i = 0; i < 6; i++) {
    snprintf(cmd, sizeof cmd, "%s --help", commands[i]);
    cr_assert_eq(workdir_sparsec(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "-q, --quiet") && strstr(out, "-v, --verbose"), "%s: %s", commands[i],
              out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s -q -v blobs.spn", commands[i]);
    cr_expect_eq(workdir_sparsec(cmd, &out), 2, "%s", out);
    cr_expect(strstr(out, "--quiet and --verbose exclude each other"), "%s", out);
    free(out);
  }
  cr_assert_eq(workdir_sparsec("run --quiet blobs.spn", &out), 0, "%s", out);
  cr_expect(strncmp(out, "test error: ", 12) == 0 && !strchr(out, '\n')[1], "%s", out);
  free(out);
  cr_assert_eq(workdir_sparsec("check -q blobs.spn", &out), 0, "%s", out);
  cr_expect_str_eq(out, "");
  free(out);
  cr_assert_eq(workdir_sparsec("check --verbose blobs.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "blobs.spn: ok (h1 32 relu, h2 32 relu, out 3 softmax; "), "%s", out);
  free(out);
  cr_assert_eq(workdir_sparsec("build -q -o prog blobs.spn", &out), 0, "%s", out);
  cr_expect_str_eq(out, "");
  free(out);
  cr_assert_eq(workdir_sparsec("run -v blobs.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "(build ") && strstr(out, "machine code "), "%s", out);
  free(out);
}

/* --threads N: digits only, 1 to 64; anything else is a usage error that
 * names the option and the value, before any spec is read. */
Test(driver, threads_must_be_a_whole_number_in_range) {
  static const char *const bad[] = {"0", "65", "-1", "1.5", "4x", "+4", "' 4'", "''", "1e1",
                                    "99999999999999999999", "4294967298"};
  char *out, args[128];
  strcpy(dir, "/tmp");
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(args, sizeof args, "run --threads %s /nonexistent/model.spn", bad[i]);
    cr_expect_eq(workdir_sparsec(args, &out), 2, "%s: %s", args, out);
    cr_expect(strstr(out, "sparsec: --threads takes a whole number from 1 to 64, not '") != NULL,
              "%s: %s", args, out);
    cr_expect(strstr(out, "usage: sparsec run") != NULL, "%s: %s", args, out);
    free(out);
  }
  cr_expect_eq(workdir_sparsec("run /nonexistent/model.spn --threads", &out), 2);
  cr_expect(strstr(out, "sparsec: --threads needs a value: a whole number from 1 to 64\n") != NULL,
            "%s", out);
  free(out);
  /* a good value gets as far as the spec */
  cr_expect_eq(workdir_sparsec("run --threads 64 /nonexistent/model.spn", &out), 1);
  cr_expect(strstr(out, "/nonexistent/model.spn") != NULL, "%s", out);
  free(out);
}

/* Integer settings from the command line are checked exactly, located in
 * the override. */
Test(driver, integer_overrides_are_exact, .init = make_dir, .fini = remove_dir) {
  write_file("blobs.spn", blob_spec);
  char *out;
  cr_expect_eq(workdir_sparsec("check --set train.seed=9007199254740993 --set train.batch=2147483648 "
                   "blobs.spn",
                   &out),
               1);
  cr_expect(strstr(out, "--set 1:1:12: error: 'seed' must be between 0 and 9007199254740992, "
                        "not 9007199254740993\n"
                        "    1 | train.seed=9007199254740993\n"
                        "      |            ^~~~~~~~~~~~~~~~\n") != NULL,
            "%s", out);
  cr_expect(strstr(out, "--set 2:1:13: error: 'batch' must be between 1 and 1000000, not "
                        "2147483648") != NULL,
            "%s", out);
  free(out);
  cr_expect_eq(workdir_sparsec("check --set train.seed=9007199254740992 blobs.spn", &out), 0, "%s", out);
  free(out);
}

Test(driver, sweep_keeps_the_best_and_writes_outputs, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  char *spec = malloc(strlen(blob_spec) + 256);
  strcpy(spec, blob_spec);
  char *lr = strstr(spec, "lr = 0.1");
  memmove(lr + strlen("lr in {0.1, 0.0001}"), lr + strlen("lr = 0.1"), strlen(lr + strlen("lr = 0.1")) + 1);
  memcpy(lr, "lr in {0.1, 0.0001}", strlen("lr in {0.1, 0.0001}"));
  strcat(spec, "output {\n  metrics = \"m.csv\"\n  checkpoint = \"best.safetensors\"\n}\n");
  write_file("sweep.spn", spec);
  free(spec);
  char *out;
  cr_assert_eq(workdir_sparsec("run sweep.spn", &out), 0, "%s", out);
  cr_expect(strstr(out, "sweep: kept lr 0.1") != NULL, "%s", out);
  cr_expect(strstr(out, "checkpoint: ") != NULL, "%s", out);
  free(out);
  char path[256];
  snprintf(path, sizeof path, "%s/m.csv", dir);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  char line[512];
  int lines = 0;
  while (fgets(line, sizeof line, f))
    lines++;
  fclose(f);
  cr_expect_eq(lines, 1 + 2 * 4, "a header and 4 epochs for each of 2 learning rates");
  snprintf(path, sizeof path, "%s/best.safetensors", dir);
  f = fopen(path, "rb");
  cr_assert_not_null(f, "the checkpoint exists");
  fclose(f);
}

/* The epoch lines of `out` for run `tag` ("lr=0.03  epoch ..."), without the
 * tag and the time at the end of each line. */
static char *epoch_lines(const char *out, const char *tag) {
  char *lines = calloc(1, strlen(out) + 1);
  for (const char *p = out; (p = strstr(p, "epoch   ")); p++) {
    const char *start = p, *end = strchr(p, '\n');
    size_t taglen = strlen(tag);
    if (taglen > 0 && (start - out < (long)taglen + 2 || strncmp(start - taglen - 2, tag, taglen)))
      continue;
    if (strstr(start, "loss") > end) /* a pretraining line */
      continue;
    const char *last_percent = start;
    for (const char *q = start; q < end; q++)
      if (*q == '%')
        last_percent = q;
    strncat(lines, start, (size_t)(last_percent - start + 1));
    strcat(lines, "\n");
  }
  return lines;
}

/* Pretraining does not depend on the supervised lr: a sweep pretrains once and
 * its second lr fine-tunes exactly as a run of that lr alone does. */
Test(driver, sweep_pretrains_once, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  char *spec = malloc(strlen(blob_spec) + 256);
  strcpy(spec, blob_spec);
  strcat(spec, "pretrain { layers = {h1, h2}  epochs = 2  lr = 0.01  batch = 8 }\n");
  write_file("pre.spn", spec);
  free(spec);
  char *sweep, *alone;
  cr_assert_eq(workdir_sparsec("run pre.spn --set 'train.lr={0.1,0.03}'", &sweep), 0, "%s", sweep);
  cr_assert_eq(workdir_sparsec("run pre.spn --set train.lr=0.03", &alone), 0, "%s", alone);
  int stages = 0;
  for (const char *p = sweep; (p = strstr(p, "pretrain h")); p++)
    stages++;
  cr_expect_eq(stages, 4, "2 layers x 2 epochs, once: %s", sweep);
  cr_expect(strstr(sweep, "pretraining: the encoders of the first learning rate's pretraining"),
            "%s", sweep);
  char *a = epoch_lines(sweep, "lr=0.03"), *b = epoch_lines(alone, "");
  cr_expect(strlen(b) > 0, "%s", alone);
  cr_expect_str_eq(a, b);
  free(a);
  free(b);
  free(sweep);
  free(alone);
}

/* blob_spec with layer h1 replaced, a pretrain block and a checkpoint. */
static void write_pretrain_spec(const char *name, const char *layer_h1, const char *pretrain) {
  char *spec = malloc(strlen(blob_spec) + 512);
  strcpy(spec, blob_spec);
  char *h1 = strstr(spec, "  layer h1");
  char *eol = strchr(h1, '\n');
  memmove(h1 + strlen(layer_h1), eol + 1, strlen(eol + 1) + 1);
  memcpy(h1, layer_h1, strlen(layer_h1));
  strcat(spec, pretrain);
  strcat(spec, "output { checkpoint = \"out.safetensors\" }\n");
  write_file(name, spec);
  free(spec);
}

static int file_exists(const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

/* h1's bias keeps every h1 code at 0: pretraining h2 on them cannot learn,
 * and says so, naming the layer and the epoch; nothing is saved. */
Test(driver, pretraining_on_a_dead_layer_stops, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  write_pretrain_spec("dead.spn", "  layer h1 = dense(32, relu, bias = -1000)\n",
                      "pretrain { layers = {h1, h2}  epochs = 2  lr = 0.01  batch = 8 }\n");
  char *out;
  cr_expect_eq(workdir_sparsec("run dead.spn", &out), 1, "%s", out);
  cr_expect(strstr(out, "pretraining h2, epoch 1: its input codes are zero on every example: "
                        "the layer below is dead"),
            "%s", out);
  cr_expect(!file_exists("out.safetensors"), "no checkpoint of a failed run");
  free(out);
}

/* A learning rate that makes the reconstruction overflow: the first
 * non-finite cost stops the run, naming layer and epoch; nothing is saved. */
Test(driver, diverging_pretraining_stops, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  write_pretrain_spec("nan.spn", "  layer h1 = dense(32, relu, l1 = 0.0001)\n",
                      "pretrain { layers = {h1, h2}  epochs = 2  lr = 1e30  batch = 8 }\n");
  char *out;
  cr_expect_eq(workdir_sparsec("run nan.spn", &out), 1, "%s", out);
  cr_expect(strstr(out, "pretraining h1, epoch 1: the reconstruction cost is not finite"), "%s",
            out);
  cr_expect(!file_exists("out.safetensors"), "no checkpoint of a failed run");
  free(out);
}

/* A data error names the file and the example (IDX: the labels file and
 * record; CSV: the data row), and a note points at the spec's clause that
 * named the set, with its caret. */
Test(driver, data_errors_name_file_example_and_clause, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  char *out;
  /* blobs have labels 0..2: a model of 2 classes cannot take them */
  char *two = strdup(blob_spec);
  char *three = strstr(two, "dense(3, softmax)");
  three[6] = '2';
  write_file("two.spn", two);
  cr_assert_eq(workdir_sparsec("run two.spn", &out), 1, "%s", out);
  cr_expect(strstr(out, "train-y.idx: record ") != NULL, "%s", out);
  cr_expect(strstr(out, "is outside the model's classes 0..1") != NULL, "%s", out);
  cr_expect(strstr(out, "two.spn:10:11: note: the training set is named here") != NULL, "%s", out);
  cr_expect(strstr(out, "   10 |   train = idx(\"train-x.idx\", \"train-y.idx\")") != NULL, "%s",
            out);
  cr_expect(strstr(out, "epoch") == NULL, "nothing trained: %s", out);
  free(out);
  free(two);
  /* a CSV test set whose second data row (line 3) has label 7 */
  write_file("test.csv", "x1,x2,label\n1,2,0\n3,4,7\n");
  write_file("train.csv", "x1,x2,label\n1,2,0\n3,4,1\n5,6,1\n");
  write_file("csv.spn", "model { input = 2 layer h1 = dense(4, relu) layer out = dense(2, "
                        "softmax) }\ntrain { lr = 0.1 batch = 1 epochs = 1 }\n"
                        "data {\n  train = csv(\"train.csv\", label = \"label\")\n"
                        "  test = csv(\"test.csv\", label = \"label\")\n}\n");
  cr_assert_eq(workdir_sparsec("run csv.spn", &out), 1, "%s", out);
  cr_expect(strstr(out, "test.csv:3: label 7 in column 'label' is outside the model's "
                        "classes 0..1") != NULL, "%s", out);
  cr_expect(strstr(out, "csv.spn:5:10: note: the test set is named here") != NULL, "%s", out);
  free(out);
  /* --set data.validation leaves nothing: the split names the file */
  write_file("test.csv", "x1,x2,label\n1,2,0\n3,4,1\n");
  cr_assert_eq(workdir_sparsec("run csv.spn --set data.validation=3", &out), 1, "%s", out);
  cr_expect(strstr(out, "train.csv: the validation hold-out (3 examples) leaves no training data "
                        "(3 in all)") != NULL, "%s", out);
  cr_expect(strstr(out, "csv.spn:4:11: note: the training set, split by data.limit and "
                        "data.validation, is named here") != NULL, "%s", out);
  free(out);
}
