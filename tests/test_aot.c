/* Ahead-of-time compilation end to end: `sparsec build` on specs and data
 * written here, the programs and bundles it makes, and what they refuse.
 *
 * The data are the Gaussian blobs of test_driver.c (16 features, 3
 * classes, IDX files); the bundle example is examples/embed/ on
 * examples/toy_xor.spn. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend.h" /* the activations table */
#include "sparsert.h"
#include "sparsert_internal.h"

#include "workdir.h"

static void make_dir(void) {
  workdir_make("aot");
}

static void remove_dir(void) {
  workdir_remove();
}

/* ---- data and files ------------------------------------------------------------ */

static char *read_file(const char *name, size_t *size) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  char *text = calloc(1, 1 << 20);
  *size = fread(text, 1, (1 << 20) - 1, f);
  fclose(f);
  return text;
}

static int exists(const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

/* Files in dir whose name contains `part` (temporary files: ".tmp."). */
static int files_containing(const char *part) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strstr(e->d_name, part) != NULL;
  closedir(d);
  return n;
}

/* ---- running commands ------------------------------------------------------------ */

/* Runs `cmd` in dir (a shell command line); output and errors in *out. */
static int sh(const char *cmd, char **out) {
  char *line = malloc(strlen(cmd) + 256);
  sprintf(line, "cd %s && { %s ; } > out.txt 2>&1", dir, cmd);
  int status = system(line);
  free(line);
  size_t size;
  *out = read_file("out.txt", &size);
  cr_expect(strstr(*out, "Sanitizer") == NULL && strstr(*out, "runtime error:") == NULL,
            "sanitizer report from '%s':\n%s", cmd, *out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs `sparsec ARGS` in dir. */
static int sparsec(const char *args, char **out) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s %s", SPARSEC_BINARY, args);
  return sh(cmd, out);
}

static double percent_after(const char *out, const char *label) {
  const char *at = strstr(out, label);
  cr_assert_not_null(at, "no '%s' in:\n%s", label, out);
  return atof(at + strlen(label));
}

static const char *blob_spec =
    "model {\n"
    "  input = 16\n"
    "  layer h1 = dense(32, relu, l1 = 0.0001)\n"
    "  layer h2 = dense(32, relu)\n"
    "  layer out = dense(3, softmax)\n"
    "  loss = nll\n"
    "}\n"
    "train { lr = 0.1  batch = 8  epochs = 3  seed = 3 }\n"
    "data {\n"
    "  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
    "  test = idx(\"test-x.idx\", \"test-y.idx\")\n"
    "  scale = 1/255\n"
    "  validation = 100\n"
    "}\n";

static uint8_t test_labels[200];

static void write_blob_experiment(void) {
  write_blob_data(test_labels);
  write_file("blobs.spn", blob_spec);
}

static void build_blob_program(void) {
  char *out;
  cr_assert_eq(sparsec("build blobs.spn -o prog", &out), 0, "%s", out);
  cr_expect(strstr(out, "sparsec: built prog (") != NULL, "%s", out);
  free(out);
}

/* ---- programs ------------------------------------------------------------------ */

Test(aot, program_trains_bit_identical_to_run, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  build_blob_program();
  char *run_out, *prog_out;
  cr_assert_eq(sparsec("run blobs.spn --set 'output.checkpoint=\"run.safetensors\"'", &run_out),
               0, "%s", run_out);
  cr_assert_eq(sh("./prog train --threads 1 --save prog.safetensors", &prog_out), 0, "%s",
               prog_out);
  cr_expect_float_eq(percent_after(prog_out, "test error: "), percent_after(run_out, "test error: "),
                     1e-9);
  size_t a, b;
  char *ra = read_file("run.safetensors", &a), *rb = read_file("prog.safetensors", &b);
  cr_assert_eq(a, b);
  cr_expect(memcmp(ra, rb, a) == 0, "the checkpoints differ");
  free(ra);
  free(rb);
  free(run_out);
  free(prog_out);
}

/* Every hidden activation of activations.def, one hidden layer each in one
 * net (one build: cheap enough for the sanitizer run too): the built
 * program trains the same weights, bit for bit, as `sparsec run` (AOT
 * against JIT). */
Test(aot, every_activation_trains_as_run_does, .init = make_dir, .fini = remove_dir) {
  write_blob_data(test_labels);
  char spec[4096] = "model {\n  input = 16\n", act[64];
  int layers = 0;
  for (int a = 0; a < ACT_COUNT_; a++) {
    if (activation_has((Activation)a, ACT_HEAD_ONLY))
      continue;
    activation_text((Activation)a, activation_info((Activation)a)->parameter, act, sizeof act);
    size_t len = strlen(spec);
    snprintf(spec + len, sizeof spec - len, "  layer h%d = dense(12, %s, l1 = 0.0001)\n",
             ++layers, act);
  }
  size_t len = strlen(spec);
  snprintf(spec + len, sizeof spec - len,
           "  layer out = dense(3, softmax)\n}\n"
           "train { lr = 0.05  batch = 8  epochs = 1  seed = 3 }\n"
           "data {\n  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
           "  test = idx(\"test-x.idx\", \"test-y.idx\")\n  scale = 1/255\n"
           "  validation = 100\n}\n");
  write_file("act.spn", spec);
  char *run_out, *prog_out;
  cr_assert_eq(sparsec("build act.spn -o prog", &prog_out), 0, "%s\n%s", spec, prog_out);
  free(prog_out);
  cr_assert_eq(sparsec("run act.spn --set 'output.checkpoint=\"run.safetensors\"'", &run_out), 0,
               "%s", run_out);
  cr_assert_eq(sh("./prog train --save prog.safetensors", &prog_out), 0, "%s", prog_out);
  size_t na, nb;
  char *ra = read_file("run.safetensors", &na), *rb = read_file("prog.safetensors", &nb);
  cr_expect(na == nb && memcmp(ra, rb, na) == 0, "the checkpoints differ:\n%s", spec);
  free(ra), free(rb), free(run_out), free(prog_out);
}

Test(aot, program_needs_no_llvm_and_no_mpi, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  build_blob_program();
  char *out;
  cr_assert_eq(sh("readelf -d prog", &out), 0, "%s", out);
  cr_expect(strstr(out, "libopenblas") != NULL, "%s", out);
  cr_expect(strstr(out, "LLVM") == NULL && strstr(out, "llvm") == NULL, "%s", out);
  cr_expect(strstr(out, "mpi") == NULL, "without --mpi, no MPI library: %s", out);
  free(out);
  /* one process: launched as one of two ranks (the launcher's variable
   * stands in for mpirun), it says so instead of training two copies */
  cr_expect_eq(sh("env OMPI_COMM_WORLD_SIZE=2 ./prog train", &out), 1, "%s", out);
  cr_expect(strstr(out, "mpirun started 2 ranks, but this program was built without MPI"), "%s",
            out);
  free(out);
  cr_assert_eq(sh("./prog --help", &out), 0, "%s", out);
  cr_expect(strstr(out, "The model of blobs.spn (16 inputs, 3 classes)") != NULL, "%s", out);
  free(out);
}

/* eval reports run's test error; predict's classes give the same error. */
Test(aot, program_evaluates_and_predicts, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  build_blob_program();
  char *out;
  cr_assert_eq(sh("./prog train --epochs 2 --seed 5 --save w.safetensors", &out), 0, "%s", out);
  cr_expect(strstr(out, "epoch   2") != NULL && strstr(out, "epoch   3") == NULL, "%s", out);
  double trained = percent_after(out, "test error: ");
  free(out);
  cr_assert_eq(sh("./prog eval --weights w.safetensors", &out), 0, "%s", out);
  cr_expect_float_eq(percent_after(out, ", error "), trained, 1e-9, "%s", out);
  free(out);
  cr_assert_eq(sh("./prog predict --weights w.safetensors --input test-x.idx", &out), 0, "%s",
               out);
  int errors = 0, rows = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), rows++) {
    int cls;
    float p[3];
    cr_assert_eq(sscanf(line, "%d %f %f %f", &cls, &p[0], &p[1], &p[2]), 4, "line '%s'", line);
    cr_expect_float_eq(p[0] + p[1] + p[2], 1.0f, 1e-5);
    errors += rows < 200 && cls != test_labels[rows];
  }
  cr_expect_eq(rows, 200);
  cr_expect_float_eq(100.0 * errors / 200, trained, 1e-6);
  free(out);
}

Test(aot, corrupt_checkpoints_are_refused, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  build_blob_program();
  char *out;
  cr_assert_eq(sh("./prog train --epochs 1 --save w.safetensors", &out), 0, "%s", out);
  free(out);
  cr_assert_eq(sh("head -c 200 w.safetensors > cut.safetensors", &out), 0);
  free(out);
  cr_expect_eq(sh("./prog eval --weights cut.safetensors", &out), 1);
  cr_expect(strstr(out, "cut.safetensors: truncated") != NULL, "%s", out);
  free(out);
  cr_assert_eq(sh("sed 's/h2.w/h9.w/' w.safetensors > renamed.safetensors", &out), 0);
  free(out);
  cr_expect_eq(sh("./prog predict --weights renamed.safetensors --input test-x.idx", &out), 1);
  cr_expect(strstr(out, "'h9.w'") != NULL, "%s", out);
  free(out);
  write_file("text.safetensors", "this is not a safetensors file at all\n");
  cr_expect_eq(sparsec("build blobs.spn --bundle b --embed-weights text.safetensors", &out), 1);
  cr_expect(strstr(out, "text.safetensors: header length") != NULL, "%s", out);
  cr_expect(!exists("b"), "nothing is written for a refused checkpoint");
  free(out);
}

/* A copy of checkpoint `from` whose weight matrices are all about +-1e30:
 * finite, so loading takes them, but the products of the second hidden
 * layer (1e30 times 1e30) overflow float. */
static void write_huge_checkpoint(const char *from, const char *to) {
  char in[256], out[256];
  snprintf(in, sizeof in, "%s/%s", dir, from);
  snprintf(out, sizeof out, "%s/%s", dir, to);
  SrStFile f;
  SrError err;
  cr_assert_eq(sr_safetensors_read(in, &f, &err), 0, "%s", err.msg);
  SrRng rng;
  sr_rng_seed(&rng, 11);
  for (int i = 0; i < f.h.n; i++) {
    const SrStTensor *t = &f.h.t[i];
    size_t len = strlen(t->name);
    if (len < 2 || strcmp(t->name + len - 2, ".w") != 0)
      continue;
    for (uint64_t at = f.h.data_at + t->begin; at < f.h.data_at + t->end; at += 4) {
      float w = (float)(0.5 + sr_rng_uniform(&rng)) * 1e30f;
      w = sr_rng_below(&rng, 2) ? -w : w;
      memcpy(f.buf + at, &w, 4); /* little-endian hosts only, as checkpoints are */
    }
  }
  FILE *o = fopen(out, "wb");
  cr_assert_not_null(o);
  cr_assert_eq(fwrite(f.buf, 1, f.size, o), f.size);
  fclose(o);
  sr_safetensors_close(&f);
}

/* eval and predict never print a NaN: finite weights that overflow float
 * are an error naming the layer where a value first is not finite. */
Test(aot, overflowing_weights_are_an_error_naming_the_layer, .init = make_dir,
     .fini = remove_dir) {
  write_blob_experiment();
  build_blob_program();
  char *out;
  cr_assert_eq(sh("./prog train --epochs 1 --save w.safetensors", &out), 0, "%s", out);
  free(out);
  write_huge_checkpoint("w.safetensors", "huge.safetensors");
  cr_expect_eq(sh("./prog eval --weights huge.safetensors", &out), 1, "%s", out);
  cr_expect(strstr(out, "error: test data (") != NULL, "%s", out);
  cr_expect(strstr(out, "): layer h2: ") != NULL, "%s", out);
  cr_expect(strstr(out, " activations are not finite (inf or NaN) in examples 1..") != NULL,
            "%s", out);
  cr_expect(strstr(out, "loss") == NULL && strstr(out, "nan") == NULL, "%s", out);
  free(out);
  cr_expect_eq(sh("./prog predict --weights huge.safetensors --input test-x.idx > p.txt", &out), 1,
               "%s", out);
  cr_expect(strstr(out, "error: test-x.idx: layer h2: ") != NULL, "%s", out);
  free(out);
  size_t size;
  free(read_file("p.txt", &size));
  cr_expect_eq(size, 0, "nothing is predicted");
  /* the same weights, finite: fine */
  cr_expect_eq(sh("./prog eval --weights w.safetensors", &out), 0, "%s", out);
  free(out);
}

/* ---- bundles ------------------------------------------------------------------- */

/* The link line sparsec prints, with the example's main.c, run in dir. */
static void link_example(const char *build_out, const char *main_c, const char *exe) {
  const char *line = strstr(build_out, "link with: ");
  cr_assert_not_null(line, "%s", build_out);
  line += strlen("link with: ");
  char cmd[2048], rest[1800];
  snprintf(rest, sizeof rest, "%.*s", (int)strcspn(line, "\n"), line);
  char *at = strstr(rest, " main.c ");
  cr_assert_not_null(at, "%s", rest);
  *at = '\0';
  snprintf(cmd, sizeof cmd, "%s %s %s -o %s", rest, main_c, at + strlen(" main.c "), exe);
  char *out;
  cr_assert_eq(sh(cmd, &out), 0, "%s\n%s", cmd, out);
  free(out);
}

static char *xor_spec(void) {
  static char path[512];
  snprintf(path, sizeof path, "%s/toy_xor.spn --set train.lr=0.1", SPARSEC_EXAMPLES);
  return path;
}

Test(aot, bundle_example_predicts_what_run_predicts, .init = make_dir, .fini = remove_dir) {
  char args[1024], *run_out, *out;
  snprintf(args, sizeof args, "run %s --set 'output.checkpoint=\"%s/w.safetensors\"'", xor_spec(),
           dir);
  cr_assert_eq(sparsec(args, &run_out), 0, "%s", run_out);
  double run_error = percent_after(run_out, "test error: ");
  /* OpenBLAS's products, as the program's: the same bits (a BLAS-free
   * bundle's are within 1e-5: blas_free_bundle_...) */
  snprintf(args, sizeof args, "build %s --bundle b --blas openblas --embed-weights w.safetensors",
           xor_spec());
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  cr_expect(exists("b/toy_xor.o") && exists("b/toy_xor.h"));
  link_example(out, SPARSEC_EXAMPLES "/embed/main.c", "embed");
  free(out);
  snprintf(args, sizeof args, "build %s -o xor", xor_spec());
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  free(out);

  char cmd[1024], *embedded, *from_file, *predicted;
  snprintf(cmd, sizeof cmd, "./embed %s/toy_xor_test.csv 2>err.txt", SPARSEC_EXAMPLES);
  cr_assert_eq(sh(cmd, &embedded), 0, "%s", embedded);
  snprintf(cmd, sizeof cmd, "./embed %s/toy_xor_test.csv w.safetensors 2>/dev/null",
           SPARSEC_EXAMPLES);
  cr_assert_eq(sh(cmd, &from_file), 0, "%s", from_file);
  snprintf(cmd, sizeof cmd, "./xor predict --weights w.safetensors --input %s/toy_xor_test.csv",
           SPARSEC_EXAMPLES);
  cr_assert_eq(sh(cmd, &predicted), 0, "%s", predicted);
  cr_expect_str_eq(embedded, predicted);
  cr_expect_str_eq(from_file, predicted);
  /* the same inputs without their label column predict the same */
  char *unlabelled;
  snprintf(cmd, sizeof cmd, "cut -d, -f1,2 %s/toy_xor_test.csv > inputs.csv", SPARSEC_EXAMPLES);
  cr_assert_eq(sh(cmd, &unlabelled), 0, "%s", unlabelled);
  free(unlabelled);
  cr_assert_eq(sh("./xor predict --weights w.safetensors --input inputs.csv", &unlabelled), 0,
               "%s", unlabelled);
  cr_expect_str_eq(unlabelled, predicted);
  free(unlabelled);
  /* columns matched by the training file's header names: shuffled, the
   * same predictions; a column the model does not know is named */
  cr_assert_eq(sh("awk -F, '{print $2\",\"$1}' inputs.csv > shuffled.csv && "
                  "./xor predict --weights w.safetensors --input shuffled.csv",
                  &unlabelled),
               0, "%s", unlabelled);
  cr_expect_str_eq(unlabelled, predicted);
  free(unlabelled);
  cr_expect_eq(sh("sed 1s/x2/x3/ inputs.csv | ./xor predict --weights w.safetensors --input -",
                  &unlabelled),
               1);
  cr_expect(strstr(unlabelled, "<stdin>:1: no column for the feature 'x2' (the model's features: "
                               "x1,x2)"),
            "%s", unlabelled);
  free(unlabelled);
  /* --input -: the same CSV from standard input; its errors say <stdin> */
  cr_assert_eq(sh("./xor predict --weights w.safetensors --input - < inputs.csv", &unlabelled), 0,
               "%s", unlabelled);
  cr_expect_str_eq(unlabelled, predicted);
  free(unlabelled);
  cr_expect_eq(sh("printf 'x1,x2\\n1,2,3\\n' | ./xor predict --weights w.safetensors --input -",
                  &unlabelled),
               1);
  cr_expect(strstr(unlabelled, "<stdin>:2: expected 2 fields, found 3"), "%s", unlabelled);
  free(unlabelled);
  cr_expect_eq(sh("./xor predict --weights w.safetensors --input inputs.csv --label label",
                  &unlabelled),
               1);
  cr_expect(strstr(unlabelled, "inputs.csv:1: no column named 'label' for the labels"), "%s",
            unlabelled);
  free(unlabelled);
  size_t n;
  char *err = read_file("err.txt", &n);
  cr_expect_float_eq(percent_after(err, "error: "), run_error, 1e-9, "%s vs\n%s", err, run_out);
  free(err);
  free(embedded);
  free(from_file);
  free(predicted);
  free(run_out);
}

static const char *two_bundles_main =
    "#include <stdio.h>\n"
    "#include \"first.h\"\n"
    "#include \"second.h\"\n"
    "int main(void) {\n"
    "  char err[256];\n"
    "  first_ctx *a = first_create(\"w1.safetensors\", err, sizeof err);\n"
    "  second_ctx *b = second_create(\"w2.safetensors\", err, sizeof err);\n"
    "  if (!a || !b) {\n"
    "    fprintf(stderr, \"%s\\n\", err);\n"
    "    first_free(a);\n"
    "    second_free(b);\n"
    "    return 1;\n"
    "  }\n"
    "  float x[FIRST_INPUTS] = {0.9f, 0.1f}, p[FIRST_CLASSES], q[SECOND_CLASSES];\n"
    "  if (first_infer(a, x, 1, p) || second_infer(b, x, 1, q)) return 1;\n"
    "  printf(\"%.6f %.6f\\n\", p[0] + p[1], q[0] + q[1]);\n"
    "  int bad = first_infer(a, NULL, 1, p) != -1 || first_infer(a, x, -1, p) != -1;\n"
    "  first_free(a);\n"
    "  second_free(b);\n"
    "  return bad;\n"
    "}\n";

/* Prefixed symbols: two models in one program, each with its weights. */
Test(aot, two_bundles_link_into_one_program, .init = make_dir, .fini = remove_dir) {
  char args[1024], *out;
  for (int k = 1; k <= 2; k++) {
    snprintf(args, sizeof args,
             "run %s --set train.epochs=%d --set 'output.checkpoint=\"%s/w%d.safetensors\"'",
             xor_spec(), k, dir, k);
    cr_assert_eq(sparsec(args, &out), 0, "%s", out);
    free(out);
  }
  snprintf(args, sizeof args, "build %s --bundle . --name first", xor_spec());
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  free(out);
  snprintf(args, sizeof args, "build %s --bundle . --name second", xor_spec());
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  write_file("main.c", two_bundles_main);
  char main_c[128];
  snprintf(main_c, sizeof main_c, "main.c ./first.o");
  link_example(out, main_c, "both");
  free(out);
  cr_assert_eq(sh("./both", &out), 0, "%s", out);
  cr_expect_str_eq(out, "1.000000 1.000000\n");
  free(out);
  cr_expect_eq(sh("rm w1.safetensors && ./both", &out), 1);
  cr_expect(strstr(out, "w1.safetensors: cannot open") != NULL, "%s", out);
  free(out);
}

static const char *overflow_main =
    "#include <math.h>\n"
    "#include <stdio.h>\n"
    "#include \"blobs.h\"\n"
    "int main(void) {\n"
    "  char err[256];\n"
    "  blobs_ctx *huge = blobs_create(NULL, err, sizeof err);\n"
    "  blobs_ctx *fine = blobs_create(\"w.safetensors\", err, sizeof err);\n"
    "  if (!huge || !fine) {\n"
    "    fprintf(stderr, \"%s\\n\", err);\n"
    "    return 1;\n"
    "  }\n"
    "  float x[3 * BLOBS_INPUTS], p[3 * BLOBS_CLASSES];\n"
    "  for (int i = 0; i < 3 * BLOBS_INPUTS; i++) x[i] = 0.5f;\n"
    "  int rc = blobs_infer(huge, x, 3, p);\n"
    "  printf(\"huge %d: %s\\n\", rc, blobs_error(huge));\n"
    "  rc = blobs_infer(fine, x, 3, p);\n"
    "  printf(\"fine %d: [%s] %.3f\\n\", rc, blobs_error(fine), p[0] + p[1] + p[2]);\n"
    "  x[BLOBS_INPUTS + 5] = NAN;\n"
    "  rc = blobs_infer(fine, x, 3, p);\n"
    "  printf(\"nan input %d: %s\\n\", rc, blobs_error(fine));\n"
    "  rc = blobs_infer(fine, NULL, 3, p);\n"
    "  printf(\"null %d: %s\\n\", rc, blobs_error(fine));\n"
    "  blobs_free(huge);\n"
    "  blobs_free(fine);\n"
    "  return 0;\n"
    "}\n";

/* NAME_infer returns -2 for a value that is not finite, and NAME_error
 * says where: the layer, or the row and input. */
Test(aot, bundle_reports_values_that_are_not_finite, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  build_blob_program();
  char *out;
  cr_assert_eq(sh("./prog train --epochs 1 --save w.safetensors", &out), 0, "%s", out);
  free(out);
  write_huge_checkpoint("w.safetensors", "huge.safetensors");
  cr_assert_eq(sparsec("build blobs.spn --bundle . --embed-weights huge.safetensors", &out), 0,
               "%s", out);
  write_file("main.c", overflow_main);
  link_example(out, "main.c", "overflow");
  free(out);
  cr_assert_eq(sh("./overflow", &out), 0, "%s", out);
  cr_expect(strstr(out, "huge -2: layer h2: 96 of 96 activations are not finite (inf or NaN) in "
                        "examples 1..3: the values overflow float (weights or inputs too large)\n")
                != NULL, "%s", out);
  cr_expect(strstr(out, "fine 0: [] 1.000\n") != NULL, "%s", out);
  cr_expect(strstr(out, "nan input -2: row 1, input 5 is not finite (nan)\n") != NULL, "%s", out);
  cr_expect(strstr(out, "null -1: x or probs is NULL (rows 3)\n") != NULL, "%s", out);
  free(out);
  char *header = read_file("blobs.h", &(size_t){0});
  cr_expect(strstr(header, "const char *blobs_error(const blobs_ctx *ctx);") != NULL, "%s", header);
  free(header);
}

/* ---- what is emitted ------------------------------------------------------------ */

Test(aot, emits_llvm_assembly_and_objects, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  char *out;
  cr_assert_eq(sparsec("build blobs.spn --emit llvm", &out), 0, "%s", out);
  free(out);
  size_t n;
  char *text = read_file("blobs.ll", &n);
  cr_expect(strstr(text, "define ptr @sparsec_model()") != NULL);
  cr_expect(strstr(text, "define internal void @sparsec.train(") != NULL);
  cr_expect(strstr(text, "call void @cblas_sgemm(") != NULL);
  free(text);
  cr_assert_eq(sparsec("build blobs.spn --emit asm -o blobs.s", &out), 0, "%s", out);
  free(out);
  text = read_file("blobs.s", &n);
  cr_expect(strstr(text, "sparsec_config:") != NULL);
  free(text);
  cr_assert_eq(sparsec("build blobs.spn --emit obj --target aarch64-linux-gnu -o arm.o", &out), 0,
               "%s", out);
  free(out);
  text = read_file("arm.o", &n);
  cr_expect(n > 64 && memcmp(text, "\177ELF", 4) == 0 && (uint8_t)text[18] == 183,
            "an AArch64 ELF object");
  free(text);
}

Test(aot, portable_cpu, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  char *out;
  cr_assert_eq(sparsec("build blobs.spn --cpu x86-64 -o portable", &out), 0, "%s", out);
  cr_expect(strstr(out, ", CPU x86-64 in ") != NULL, "%s", out);
  free(out);
  cr_assert_eq(sh("./portable train --epochs 1 --save p.safetensors", &out), 0, "%s", out);
  cr_expect(strstr(out, "test error: ") != NULL, "%s", out);
  free(out);
}

/* ---- failures ------------------------------------------------------------------- */

Test(aot, failed_link_prints_the_linkers_message, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  char *out;
  cr_expect_eq(sh("CC='cc -lsparsec_no_such_library' " SPARSEC_BINARY " build blobs.spn -o prog",
                  &out),
               1);
  cr_expect(strstr(out, "sparsec_no_such_library") != NULL, "%s", out);
  cr_expect(strstr(out, "sparsec: linking failed: cc exited with status 1") != NULL, "%s", out);
  cr_expect(!exists("prog"));
  cr_expect_eq(files_containing(".tmp."), 0);
  free(out);
  cr_expect_eq(sh("SPARSEC_RUNTIME_DIR=/nonexistent " SPARSEC_BINARY " build blobs.spn", &out), 1);
  cr_expect(strstr(out, "cannot find the runtime library /nonexistent/libsparsert") != NULL, "%s",
            out);
  free(out);
}

Test(aot, unwritable_folder_fails_cleanly, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  /* root writes anywhere it has permission bits for: /proc takes no files */
  const char *ro = geteuid() == 0 ? "/proc" : "ro";
  char args[256], *out;
  char path[128];
  snprintf(path, sizeof path, "%s/ro", dir);
  cr_assert_eq(mkdir(path, 0555), 0);
  snprintf(args, sizeof args, "build blobs.spn -o %s/prog", ro);
  cr_expect_eq(sparsec(args, &out), 1);
  cr_expect(strstr(out, "cannot create a file in") != NULL, "%s", out);
  free(out);
  snprintf(args, sizeof args, "build blobs.spn --emit obj -o %s/prog.o", ro);
  cr_expect_eq(sparsec(args, &out), 1);
  cr_expect(strstr(out, "cannot create a file in") != NULL, "%s", out);
  free(out);
  cr_expect_eq(files_containing("prog"), 0);
}

/* A file size limit stands in for a full disk: writes fail with EFBIG. */
Test(aot, full_disk_leaves_no_partial_file, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  char *out;
  cr_expect_eq(sh("ulimit -f 4; " SPARSEC_BINARY " build blobs.spn --emit obj -o big.o", &out), 1);
  cr_expect(strstr(out, "big.o: write error: File too large") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sh("ulimit -f 4; " SPARSEC_BINARY " build blobs.spn --bundle b", &out), 1);
  cr_expect(strstr(out, "write error: File too large") != NULL, "%s", out);
  free(out);
  cr_expect(!exists("big.o") && !exists("b/blobs.o") && !exists("b/blobs.h"));
  cr_expect_eq(files_containing(".tmp."), 0);
}

/* A built program's predictions on standard output, into a file that may
 * not grow: an error naming the output and status 1, not SIGXFSZ. */
Test(aot, predictions_under_a_file_size_limit, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  build_blob_program();
  char *out;
  cr_assert_eq(sh("./prog train --epochs 1 --save w.safetensors", &out), 0, "%s", out);
  free(out);
  /* the limit on the program alone: out.txt, where its stderr goes, is a file too */
  cr_expect_eq(sh("{ (ulimit -f 0; exec ./prog predict --weights w.safetensors --input test-x.idx "
                  "> p.txt) 2>&1; echo \"status $?\"; } | cat",
                  &out),
               0, "%s", out);
  cr_expect(strstr(out, "error: writing the predictions to standard output: File too large\n"
                        "status 1\n") != NULL,
            "%s", out);
  free(out);
}

/* SIGINT or SIGTERM at any moment of a build (compiling, writing the
 * object, linking) ends it with 130/143 or lets it finish, and leaves no
 * temporary file or linking folder behind and the old program whole. */
Test(aot, interrupted_build_leaves_nothing, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  char *out;
  cr_assert_eq(sh("mkdir t && TMPDIR=$PWD/t " SPARSEC_BINARY " build blobs.spn -o prog", &out), 0,
               "%s", out);
  free(out);
  cr_assert_eq(sh("cp prog prog.before", &out), 0);
  free(out);
  const char *signals[] = {"INT", "TERM"};
  int interrupted = 0;
  for (int i = 0; i < 12; i++) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "TMPDIR=$PWD/t " SPARSEC_BINARY " build blobs.spn -o prog > /dev/null 2>&1 & "
             "p=$!; sleep 0.%02d; kill -%s $p; wait $p; echo status=$?",
             5 + 8 * i, signals[i % 2]);
    cr_assert_eq(sh(cmd, &out), 0, "%s", out);
    int status = atoi(strstr(out, "status=") + 7);
    cr_expect(status == 0 || status == (i % 2 ? 143 : 130), "status %d after %s", status,
              signals[i % 2]);
    interrupted += status != 0;
    free(out);
    cr_expect_eq(files_containing(".tmp."), 0, "a temporary file after %s at 0.%02d s",
                 signals[i % 2], 5 + 8 * i);
    cr_expect_eq(sh("ls t | grep -c sparsec-link", &out), 1, "a linking folder was left: %s", out);
    free(out);
    cr_expect_eq(sh("cmp -s prog prog.before", &out), 0, "the program changed or broke");
    free(out);
  }
  cr_expect_gt(interrupted, 0, "no build was interrupted: the delays are too long");
}

/* --prune-dead: a strong L1 leaves most units dead on the training set; the
 * bundle without them predicts what the whole one does on that set. */
Test(aot, pruned_bundle_predicts_what_the_whole_one_does, .init = make_dir, .fini = remove_dir) {
  char sets[600], args[1536], *out;
  snprintf(sets, sizeof sets, "%s --set h1.units=64 --set h1.l1=0.01 --set h2.l1=0.01", xor_spec());
  snprintf(args, sizeof args, "run %s --set 'output.checkpoint=\"%s/w.safetensors\"'", sets, dir);
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  free(out);
  snprintf(args, sizeof args, "build %s --bundle whole --embed-weights w.safetensors", sets);
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  link_example(out, SPARSEC_EXAMPLES "/embed/main.c", "whole_exe");
  free(out);
  snprintf(args, sizeof args, "build %s --bundle small --embed-weights w.safetensors --prune-dead",
           sets);
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  int dead1 = -1, dead2 = -1;
  const char *line = strstr(out, "pruned the units dead on the training set: ");
  cr_assert_not_null(line, "%s", out);
  cr_assert_eq(sscanf(line, "pruned the units dead on the training set: h1 %d, h2 %d", &dead1,
                      &dead2),
               2, "%s", out);
  cr_expect_gt(dead1 + dead2, 10, "the L1 penalty kills units: %s", out);
  float before = 0, after = 0;
  const char *weights = strstr(line, "; weights ");
  cr_assert_not_null(weights, "%s", out);
  cr_expect_eq(sscanf(weights, "; weights %f KB -> %f KB", &before, &after), 2, "%s", out);
  cr_expect_lt(after, before, "%s", out);
  link_example(out, SPARSEC_EXAMPLES "/embed/main.c", "small_exe");
  free(out);
  /* the training rows: the first 320 of 400 (validation = 0.2) */
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "head -n 321 %s/toy_xor_train.csv > train.csv", SPARSEC_EXAMPLES);
  cr_assert_eq(sh(cmd, &out), 0, "%s", out);
  free(out);
  char *whole, *small;
  cr_assert_eq(sh("./whole_exe train.csv 2>/dev/null", &whole), 0, "%s", whole);
  cr_assert_eq(sh("./small_exe train.csv 2>/dev/null", &small), 0, "%s", small);
  int rows = 0;
  for (char *a = whole, *b = small; *a && *b; rows++) {
    int ca, cb;
    float pa[2], pb[2];
    cr_assert_eq(sscanf(a, "%d %f %f", &ca, &pa[0], &pa[1]), 3, "%s", a);
    cr_assert_eq(sscanf(b, "%d %f %f", &cb, &pb[0], &pb[1]), 3, "%s", b);
    cr_expect_eq(ca, cb, "row %d: class %d vs %d", rows, ca, cb);
    for (int k = 0; k < 2; k++)
      cr_expect_leq(fabsf(pa[k] - pb[k]), 1e-5f, "row %d: %g vs %g", rows, pa[k], pb[k]);
    a += strcspn(a, "\n") + (a[strcspn(a, "\n")] != 0);
    b += strcspn(b, "\n") + (b[strcspn(b, "\n")] != 0);
  }
  cr_expect_eq(rows, 320);
  free(whole);
  free(small);
}

Test(aot, usage_errors, .init = make_dir, .fini = remove_dir) {
  write_blob_experiment();
  char *out;
  cr_expect_eq(sparsec("build blobs.spn --emit exe", &out), 2);
  cr_expect(strstr(out, "--emit takes llvm, asm or obj, not 'exe'") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("build blobs.spn -o p --bundle b", &out), 2);
  cr_expect(strstr(out, "exclude each other") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("build blobs.spn --mpi --bundle b", &out), 2);
  cr_expect(strstr(out, "--mpi is for programs that train; a bundle only infers") != NULL, "%s",
            out);
  free(out);
  cr_expect_eq(sparsec("build blobs.spn --bundle b --prune-dead", &out), 2);
  cr_expect(strstr(out, "--prune-dead needs --bundle and --embed-weights") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("build blobs.spn --bundle b --name 9lives", &out), 1);
  cr_expect(strstr(out, "'9lives' is not a C identifier") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("build blobs.spn --set 'train.lr={0.1, 0.01}'", &out), 1);
  cr_expect(strstr(out, "sweeps 2 learning rates") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("build blobs.spn --target bogus-none -o p", &out), 1);
  cr_expect(strstr(out, "no LLVM target for 'bogus-none'") != NULL, "%s", out);
  free(out);
  build_blob_program();
  cr_expect_eq(sh("./prog fly", &out), 2);
  cr_expect(strstr(out, "unknown command 'fly'") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sh("./prog train --epochs 0", &out), 2);
  cr_expect(strstr(out, "--epochs takes a whole number") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sh("./prog eval --input x", &out), 2);
  cr_expect(strstr(out, "unknown option '--input' of eval") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sh("./prog predict --weights w", &out), 2);
  cr_expect(strstr(out, "predict needs --input FILE") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sh("./prog eval", &out), 1);
  cr_expect(strstr(out, "no weights file given and none embedded") != NULL, "%s", out);
  free(out);
}

/* ---- BLAS-free bundles ------------------------------------------------------------ */

/* The blobs with layers wide enough for every block of the generated
 * product (groups of 256 columns, vectors of 16, single columns: 300 =
 * 256 + 2 x 16 + 12) and a narrow one (40). */
static const char *wide_spec =
    "model {\n"
    "  input = 16\n"
    "  layer h1 = dense(300, relu)\n"
    "  layer h2 = dense(40, relu)\n"
    "  layer out = dense(3, softmax)\n"
    "}\n"
    "train { lr = 0.1  batch = 8  epochs = 1  seed = 5 }\n"
    "data {\n"
    "  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
    "  test = idx(\"test-x.idx\", \"test-y.idx\")\n"
    "  scale = 1/255\n"
    "}\n";

/* Predicts the examples of an IDX file of bytes (test-x.idx) with the
 * embedded weights, 7 at a time, in the format of PROG predict. */
static const char *idx_main =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include \"wide.h\"\n"
    "int main(void) {\n"
    "  FILE *f = fopen(\"test-x.idx\", \"rb\");\n"
    "  unsigned char h[12];\n"
    "  if (!f || fread(h, 1, 12, f) != 12) return 1;\n"
    "  int n = h[4] << 24 | h[5] << 16 | h[6] << 8 | h[7];\n"
    "  unsigned char *raw = malloc((size_t)n * WIDE_INPUTS);\n"
    "  float *x = malloc(sizeof *x * n * WIDE_INPUTS), *p = malloc(sizeof *p * n * WIDE_CLASSES);\n"
    "  if (fread(raw, 1, (size_t)n * WIDE_INPUTS, f) != (size_t)n * WIDE_INPUTS) return 1;\n"
    "  fclose(f);\n"
    "  for (int i = 0; i < n * WIDE_INPUTS; i++) x[i] = raw[i] * (float)WIDE_SCALE;\n"
    "  char err[256];\n"
    "  wide_ctx *m = wide_create(NULL, err, sizeof err);\n"
    "  if (!m) { fprintf(stderr, \"%s\\n\", err); return 1; }\n"
    "  for (int r = 0; r < n; r += 7) /* 4 rows at a time, and 3 left */\n"
    "    if (wide_infer(m, x + r * WIDE_INPUTS, n - r < 7 ? n - r : 7, p + r * WIDE_CLASSES)) {\n"
    "      fprintf(stderr, \"%s\\n\", wide_error(m));\n"
    "      return 1;\n"
    "    }\n"
    "  for (int r = 0; r < n; r++) {\n"
    "    int best = 0;\n"
    "    for (int k = 1; k < WIDE_CLASSES; k++) if (p[r * WIDE_CLASSES + k] > p[r * WIDE_CLASSES + best]) best = k;\n"
    "    printf(\"%d\", best);\n"
    "    for (int k = 0; k < WIDE_CLASSES; k++) printf(\" %.9g\", p[r * WIDE_CLASSES + k]);\n"
    "    printf(\"\\n\");\n"
    "  }\n"
    "  wide_free(m);\n"
    "  free(raw); free(x); free(p);\n"
    "  return 0;\n"
    "}\n";

/* --blas none: the object calls no cblas_* function, links with the
 * runtime archive and libm alone, and predicts what the program
 * (OpenBLAS, the JIT's code) predicts. */
Test(aot, blas_free_bundle_links_without_openblas_and_predicts_the_same, .init = make_dir,
     .fini = remove_dir) {
  write_blob_data(test_labels);
  write_file("wide.spn", wide_spec);
  char *out, *predicted, *embedded;
  cr_assert_eq(sparsec("build wide.spn -o prog", &out), 0, "%s", out);
  free(out);
  cr_assert_eq(sh("./prog train --save w.safetensors", &out), 0, "%s", out);
  free(out);
  cr_assert_eq(sh("./prog predict --weights w.safetensors --input test-x.idx", &predicted), 0,
               "%s", predicted);
  cr_assert_eq(sparsec("build wide.spn --bundle . --blas none --embed-weights w.safetensors", &out),
               0, "%s", out);
  cr_expect(strstr(out, "libsparsert_serial.a -lm") != NULL, "%s", out);
  cr_expect(strstr(out, "openblas") == NULL && strstr(out, "-lz") == NULL, "%s", out);
  write_file("main.c", idx_main);
  link_example(out, "main.c", "wide_exe");
  free(out);
  char *symbols;
  cr_assert_eq(sh("nm -u wide.o && ldd wide_exe", &symbols), 0, "%s", symbols);
  cr_expect(strstr(symbols, "cblas") == NULL && strstr(symbols, "openblas") == NULL &&
                strstr(symbols, "libz") == NULL,
            "%s", symbols);
  cr_expect(strstr(symbols, "sr_bundle_infer") != NULL, "%s", symbols);
  free(symbols);
  char *header;
  size_t size;
  header = read_file("wide.h", &size);
  cr_expect(strstr(header, "pkg-config --libs sparsec-bundle") != NULL, "%s", header);
  free(header);
  cr_assert_eq(sh("./wide_exe", &embedded), 0, "%s", embedded);
  expect_close_predictions(embedded, predicted, 3, 200);
  free(embedded);
  free(predicted);
}

/* --blas auto (the default) is BLAS-free for a small net; --blas openblas
 * calls sgemm; a program (which trains) cannot be BLAS-free. */
Test(aot, blas_option_chooses_the_dense_products, .init = make_dir, .fini = remove_dir) {
  char args[1024], *out;
  snprintf(args, sizeof args, "build %s --bundle auto && nm -u auto/toy_xor.o", xor_spec());
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  cr_expect(strstr(out, "libsparsert_serial.a -lm") != NULL && strstr(out, "cblas") == NULL,
            "%s", out);
  free(out);
  snprintf(args, sizeof args, "build %s --bundle blas --blas openblas && nm -u blas/toy_xor.o",
           xor_spec());
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  cr_expect(strstr(out, "-lopenblas") != NULL && strstr(out, "cblas_sgemm") != NULL, "%s", out);
  free(out);
  snprintf(args, sizeof args, "build %s -o prog --blas none", xor_spec());
  cr_expect_eq(sparsec(args, &out), 2, "%s", out);
  cr_expect(strstr(out, "--blas none is for bundles") != NULL, "%s", out);
  free(out);
}
