/* The REPL end to end: the `sparsec` binary reading scripted sessions from
 * stdin (tiny nets, synthetic IDX data written here), and a pseudo-terminal
 * for line editing, completion, history and Ctrl-C. */
#include <criterion/criterion.h>
#include <math.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sparsert.h"

#include "workdir.h"

static void make_dir(void) {
  workdir_make("repl");
}

static void remove_dir(void) {
  workdir_remove();
}

/* ---- data and specs ----------------------------------------------------------- */

#define BLOB_MODEL                                  \
  "model {\n"                                       \
  "  input = 16\n"                                  \
  "  layer h1 = dense(32, relu, l1 = 0.0001)\n"     \
  "  layer h2 = dense(32, relu)\n"                  \
  "  layer out = dense(3, softmax)\n"               \
  "}\n"
#define BLOB_TRAIN "train { lr = 0.1  batch = 8  epochs = 2  seed = 3 }\n"
#define BLOB_DATA                                   \
  "data {\n"                                        \
  "  train = idx(\"train-x.idx\", \"train-y.idx\")\n" \
  "  test = idx(\"test-x.idx\", \"test-y.idx\")\n"  \
  "  scale = 1/255\n"                               \
  "  validation = 100\n"                            \
  "}\n"

static void write_blob_spec(void) {
  write_blob_data(NULL);
  write_file("blobs.spn", BLOB_MODEL BLOB_TRAIN BLOB_DATA);
}

/* ---- scripted sessions --------------------------------------------------------- */

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s", path);
  char *text = calloc(1, 1 << 18);
  size_t n = fread(text, 1, (1 << 18) - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* `sparsec repl ARGS < script`, in dir with HOME there; the exit status,
 * stdout and stderr together in *out. */
static int repl(const char *args, const char *script, char **out) {
  write_file("script.sr", script);
  char cmd[512], log[128];
  snprintf(log, sizeof log, "%s/out.txt", dir);
  snprintf(cmd, sizeof cmd, "cd %s && HOME=%s %s repl %s < script.sr > out.txt 2>&1", dir, dir,
           SPARSEC_BINARY, args);
  int status = system(cmd);
  *out = slurp(log);
  cr_expect(!strstr(*out, "Sanitizer") && !strstr(*out, "runtime error:"), "%s", *out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int contains(const char *out, const char *what) {
  return strstr(out, what) != NULL;
}

/* The text of the line after the n-th occurrence (0-based) of `prefix`. */
static char *line_after(const char *out, const char *prefix, int n) {
  const char *at = out;
  for (int i = 0; at && i <= n; i++) {
    at = strstr(at, prefix);
    if (at && i < n)
      at += strlen(prefix);
  }
  if (!at)
    return strdup("(none)");
  return strndup(at, strcspn(at, "\n"));
}

/* The n-th line of `out` starting with `epoch`, without its seconds (they
 * differ from run to run). */
static char *epoch_line(const char *out, const char *epoch, int n) {
  char *a = line_after(out, epoch, n);
  if (strlen(a) > 8)
    a[strlen(a) - 8] = '\0';
  return a;
}

/* `sparsec run blobs.spn ARGS`: its first line starting with `epoch`, as
 * epoch_line gives it; its whole output in *ran. */
static char *run_epoch_line(const char *args, const char *epoch, char **ran) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cd %s && %s run blobs.spn %s > run.txt 2>&1", dir, SPARSEC_BINARY,
           args);
  cr_assert_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s/run.txt", dir);
  *ran = slurp(cmd);
  return epoch_line(*ran, epoch, 0);
}

Test(repl, trains_evaluates_and_saves, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  int rc = repl("blobs.spn", "show\ntrain\neval\neval test\nsparsity\nsave w.safetensors\n"
                             "reset\neval\nrestore w.safetensors\neval\nquit\nshow\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "compiled in "), "%s", out);
  cr_expect(contains(out, "h1       dense(32, relu, l1 = 0.0001)"), "%s", out);
  cr_expect(contains(out, "data:     500 train, 100 validation, 200 test examples"), "%s", out);
  cr_expect(contains(out, "epoch   2"), "%s", out);
  cr_expect(contains(out, "2 epochs done; best epoch "), "%s", out);
  cr_expect(contains(out, "test (200 examples): data loss "), "%s", out);
  cr_expect(contains(out, "activations exactly zero, and dead units"), "%s", out);
  cr_expect(contains(out, "saved the weights to w.safetensors"), "%s", out);
  cr_expect(contains(out, "weights initialised from seed 3"), "%s", out);
  char *trained = line_after(out, "valid (100 examples): data loss", 0);
  char *fresh = line_after(out, "valid (100 examples): data loss", 1);
  char *restored = line_after(out, "valid (100 examples): data loss", 2);
  cr_expect_str_neq(trained, fresh, "reset draws new weights");
  cr_expect_str_eq(trained, restored, "restore brings the saved weights back");
  cr_expect_eq(strstr(strstr(out, "restored the weights"), "model:"), NULL,
               "nothing runs after quit: %s", out);
  free(trained), free(fresh), free(restored), free(out);
}

/* predict FILE prints what a built program's predict prints for the same
 * weights (to 1e-5: JIT and AOT code may round apart); metrics FILE writes
 * the session's epochs as a metrics file; bad names are located. */
Test(repl, predict_and_metrics, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  int rc = repl("blobs.spn", "train 3\nsave w.safetensors\nmetrics runs/m.csv\n"
                             "metrics runs/m.jsonl\npredict test-x.idx\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "wrote 3 epoch records to runs/m.csv"), "%s", out);
  char path[256];
  snprintf(path, sizeof path, "%s/runs/m.csv", dir);
  char *csv = slurp(path);
  cr_expect(strncmp(csv, "run,epoch,train_loss,", 21) == 0, "%s", csv);
  cr_expect(contains(csv, "\n,3,"), "three epochs: %s", csv);
  snprintf(path, sizeof path, "%s/runs/m.jsonl", dir);
  char *jsonl = slurp(path);
  cr_expect(contains(jsonl, "\"epoch\": 3") || contains(jsonl, "\"epoch\":3"), "%s", jsonl);
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "cd %s && %s build -o prog blobs.spn >/dev/null && ./prog predict --input test-x.idx "
           "--weights w.safetensors > p.txt 2>/dev/null",
           dir, SPARSEC_BINARY);
  cr_assert_eq(system(cmd), 0);
  snprintf(path, sizeof path, "%s/p.txt", dir);
  char *built = slurp(path);
  const char *a = strstr(out, "records to runs/m.jsonl\n"), *b = built;
  cr_assert_not_null(a, "%s", out);
  a = strchr(a, '\n') + 1; /* the predictions follow */
  int lines = 0;
  for (; *b; lines++) {
    int ca, cb, n1 = 0, n2 = 0;
    double pa[3], pb[3];
    cr_assert_eq(sscanf(a, "%d %lf %lf %lf%n", &ca, &pa[0], &pa[1], &pa[2], &n1), 4, "%s", a);
    cr_assert_eq(sscanf(b, "%d %lf %lf %lf%n", &cb, &pb[0], &pb[1], &pb[2], &n2), 4, "%s", b);
    cr_expect_eq(ca, cb, "example %d", lines + 1);
    for (int k = 0; k < 3; k++)
      cr_expect(fabs(pa[k] - pb[k]) <= 1e-5, "example %d: %g and %g", lines + 1, pa[k], pb[k]);
    a += n1 + 1, b += n2 + 1;
  }
  cr_expect_eq(lines, 200);
  free(built), free(csv), free(jsonl), free(out);
  rc = repl("blobs.spn", "metrics m.txt\npredict nothing.csv\npredict -\n", &out);
  cr_expect(contains(out, "m.txt: the name says the format: .csv or .jsonl"), "%s", out);
  cr_expect(contains(out, "nothing.csv: cannot open"), "%s", out);
  cr_expect(contains(out, "standard input is the REPL's"), "%s", out);
  free(out);
}

Test(repl, the_first_train_is_runs_training, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out, *ran;
  cr_assert_eq(repl("blobs.spn", "train\n", &out), 0, "%s", out);
  char *a = epoch_line(out, "epoch   2", 0), *b = run_epoch_line("", "epoch   2", &ran);
  cr_expect_str_eq(a, b, "same seed, same shuffles:\n%s\n%s", out, ran);
  free(a), free(b), free(out), free(ran);
}

/* save spec writes the session's settings (overrides, typed blocks) as a
 * spec that `sparsec run` trains to the same epochs (after `reset`: the
 * REPL carries weights over changes, run starts from the seed), from
 * another folder too (its relative data paths made absolute there). */
Test(repl, save_spec_then_run_trains_the_same, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out, *ran;
  int rc = repl("blobs.spn", "set train.lr 0.05\nset h1.l1 0.001\n"
                             "model { input = 16 layer h1 = dense(24, relu) "
                             "layer h2 = dense(32, relu, l1 = 0.0001) layer out = dense(3, softmax) }\n"
                             "set data.scale 1/255\nreset\ntrain\nsave spec sub/s.spn\n"
                             "save spec s.spn\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "saved the spec to sub/s.spn (its relative paths made absolute)"), "%s",
            out);
  cr_expect(contains(out, "saved the spec to s.spn (paths as written)"), "%s", out);
  char *a = epoch_line(out, "epoch   2", 0);
  char cmd[512];
  for (int k = 0; k < 2; k++) {
    snprintf(cmd, sizeof cmd, "cd %s && %s run %s > run.txt 2>&1", dir, SPARSEC_BINARY,
             k ? "s.spn" : "sub/s.spn");
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/run.txt", dir);
    ran = slurp(cmd);
    char *b = epoch_line(ran, "epoch   2", 0);
    cr_expect_str_eq(a, b, "the REPL and run of the saved spec:\n%s\n%s", out, ran);
    free(b), free(ran);
  }
  snprintf(cmd, sizeof cmd, "%s/s.spn", dir);
  char *saved = slurp(cmd);
  cr_expect(contains(saved, "  layer h1 = dense(24, relu)\n"), "the typed block: %s", saved);
  cr_expect(contains(saved, "  lr = 0.05\n"), "%s", saved);
  cr_expect(contains(saved, "  scale = 1 / 255\n"), "%s", saved);
  free(saved), free(a), free(out);
}

Test(repl, set_recompiles_and_keeps_the_weights, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  int rc = repl("blobs.spn", "train 2\neval\nset h2.l1 0.001\ntime\neval\nset train.lr=0.05\n"
                             "show\nset h1.units 20\nshow spec\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  char *before = line_after(out, "valid (100 examples): data loss", 0);
  char *after = line_after(out, "valid (100 examples): data loss", 1);
  cr_expect_str_eq(before, after, "the L1 penalty does not change inference: %s", out);
  cr_expect(!contains(out, "kept 6 of 6"), "%s", out);
  cr_expect(contains(out, "set h2.l1 0.001: "), "%s", out);
  cr_expect(contains(out, "last compile: "), "%s", out);
  cr_expect(contains(out, "h2       dense(32, relu, l1 = 0.001)"), "%s", out);
  cr_expect(contains(out, "train:    lr 0.05, batch 8"), "%s", out);
  cr_expect(contains(out, "overrides: [1] h2.l1=0.001 [2] train.lr=0.05"), "%s", out);
  cr_expect(contains(out, "weights:  2 epochs and 0 steps"), "%s", out);
  cr_expect(contains(out, "weights: kept 3 of 6 tensors; initialised afresh: h1.w, h1.b, h2.w"),
            "%s", out);
  cr_expect(contains(out, "--set 3: h1.units=20"), "%s", out);
  free(before), free(after), free(out);
}

/* A change the module does not see (data, schedule), or one its code reads
 * from the hyperparameter table (learning rate, nonzero penalties), keeps
 * the compiled code: no LLVM run. Training then uses the new values: the
 * same epochs as `run` with them. A change of the code compiles again. */
Test(repl, unchanged_code_is_kept, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out, *ran;
  int rc = repl("--strict blobs.spn",
                "set train.epochs 1\ntime\nset data.limit 400\nshow\ntrain\nset train.lr 0.05\n"
                "set h1.l1 0.001\nreset\ntrain\nset h1.activation tanh\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "(the same code as before: kept, LLVM not run)"), "%s", out);
  cr_expect(contains(out, "data:     300 train, 100 validation"), "%s", out);
  for (int k = 1; k <= 4; k++) { /* epochs, limit, lr, l1 */
    char *line = line_after(out, "compiled in ", k);
    cr_expect(contains(line, "): the same code, kept"), "change %d: %s", k, out);
    free(line);
  }
  char *recompiled = line_after(out, "compiled in ", 5); /* the activation */
  cr_expect(contains(recompiled, "optimise "), "%s", out);
  free(recompiled);
  char *a = epoch_line(out, "epoch   1", 1);
  char *b = run_epoch_line(
      "--set train.epochs=1 --set data.limit=400 --set train.lr=0.05 --set h1.l1=0.001",
      "epoch   1", &ran);
  cr_expect_str_eq(a, b, "the kept code trains with the new lr and L1:\n%s\n%s", out, ran);
  free(a), free(b), free(out), free(ran);
}

/* leaky_relu's slope is a hyperparameter: changing it keeps the code, and
 * training then uses the new slope (the epoch `run` gives with it). */
Test(repl, activation_parameter_changes_without_compiling, .init = make_dir,
     .fini = remove_dir) {
  write_blob_spec();
  char *out, *ran;
  int rc = repl("--strict blobs.spn",
                "set train.epochs 1\nset h1.activation leaky_relu\nset h1.activation "
                "leaky_relu(0.2)\nshow\ntrain\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  /* 0: the start, 1: epochs (kept) */
  char *first = line_after(out, "compiled in ", 2), *second = line_after(out, "compiled in ", 3);
  cr_expect(contains(first, "optimise "), "relu to leaky_relu compiles: %s", out);
  cr_expect(contains(second, "): the same code, kept"), "only the slope changed: %s", out);
  cr_expect(contains(out, "dense(32, leaky_relu(0.2)"), "%s", out);
  char *a = epoch_line(out, "epoch   1", 0);
  char *b = run_epoch_line("--set train.epochs=1 --set 'h1.activation=leaky_relu(0.2)'",
                           "epoch   1", &ran);
  cr_expect_str_eq(a, b, "the kept code trains with the new slope:\n%s\n%s", out, ran);
  free(first), free(second), free(a), free(b), free(out), free(ran);
}

Test(repl, steps_pretraining_and_ir, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  write_file("pre.spn", BLOB_MODEL "pretrain { layers = {h1, h2} epochs = 1 }\n" BLOB_TRAIN
                        BLOB_DATA);
  char *out;
  int rc = repl("pre.spn", "train 10 steps\npretrain h2\npretrain\npretrain out\n"
                           "ir --program infer\nir --after fuse-rleu\nir --bogus\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "10 steps (80 examples) in "), "%s", out);
  cr_expect(contains(out, "pretrain h2  epoch   1  cost"), "%s", out);
  cr_expect(contains(out, "pretrain h1  epoch   1  cost"), "%s", out);
  cr_expect(contains(out, "no pretraining stage for 'out'; the stages are h1, h2"), "%s", out);
  cr_expect(contains(out, "program infer(n) {"), "%s", out);
  cr_expect(contains(out, "error: --after takes prune-zero, fuse-relu, "), "%s", out);
  cr_expect(contains(out, "<stdin>:6:12: note: did you mean 'fuse-relu'?"), "%s", out);
  cr_expect(contains(out, "<stdin>:7:4: error: unknown option '--bogus' of ir"), "%s", out);
  free(out);
}

Test(repl, counts_dead_units, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  int rc = repl("blobs.spn", "sparsity train\nset h2.bias -100\nsparsity train\n", &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "train (500 examples): activations exactly zero"), "%s", out);
  cr_expect(contains(out, "  h2              32   100.0%     32 (100.0%)"), "%s", out);
  char *optimised = line_after(out, "  h1  ", 0), *plain;
  free(out);
  cr_assert_eq(repl("--passes none blobs.spn", "sparsity train\n", &out), 0, "%s", out);
  plain = line_after(out, "  h1  ", 0);
  cr_expect_str_eq(optimised, plain, "the same counts without the optimiser: %s", out);
  free(optimised), free(plain), free(out);
}

Test(repl, typed_blocks_replace_blocks, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  int rc = repl("blobs.spn", "set train.lr 0.2\nset h1.l1 0\n"
                             "train {\n  lr = 0.05   # a comment with a } brace\n"
                             "  batch = 4 epochs = 1\n}\nshow\ntrain\n"
                             "model { input = 16 layer h1 = dense(8, relu) layer out = dense(3, "
                             "softmax) }\nshow\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "dropped override train.lr=0.2: its block was typed in"), "%s", out);
  cr_expect(contains(out, "train:    lr 0.05, batch 4, epochs 1"), "%s", out);
  cr_expect(contains(out, "overrides: [1] h1.l1=0"), "%s", out);
  cr_expect(contains(out, "1 epoch done; best epoch 1"), "%s", out);
  cr_expect(contains(out, "dropped override h1.l1=0: its block was typed in"), "%s", out);
  cr_expect(contains(out, "h1       dense(8, relu)"), "%s", out);
  cr_expect(contains(out, "weights: kept 1 of 4 tensors; initialised afresh: h1.w, h1.b, out.w"),
            "%s", out);
  free(out);
}

Test(repl, a_spec_typed_from_nothing, .init = make_dir, .fini = remove_dir) {
  write_blob_data(NULL);
  char *out;
  int rc = repl("", "train\n" BLOB_MODEL BLOB_TRAIN BLOB_DATA "train 1\n", &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "no model yet: `load FILE.spn`, or type the spec's blocks"), "%s", out);
  cr_expect(contains(out, "the blocks typed so far are kept"), "%s", out);
  cr_expect(contains(out, "1 epoch done; best epoch 1"), "%s", out);
  free(out);
}

/* The session's own refusals are located too: at the word they are about. */
Test(repl, session_errors_are_located, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  int rc = repl("blobs.spn", "ir --after nosuch\npretrain h1\nsave /nonexistent/w.safetensors\n"
                             "restore best\nir --after\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "<stdin>:1:12: error: --after takes prune-zero, fuse-relu, "), "%s",
            out);
  cr_expect(contains(out, "    1 | ir --after nosuch\n      |            ^~~~~~\n"), "%s", out);
  cr_expect(contains(out, "<stdin>:2:10: error: the spec has no pretraining"), "%s", out);
  cr_expect(contains(out, "<stdin>:3:6: error: /nonexistent/w.safetensors: cannot create a "
                          "temporary file in '/nonexistent'"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:4:9: error: no epoch is complete yet"), "%s", out);
  cr_expect(contains(out, "<stdin>:5:4: error: --after needs a value"), "%s", out);
  free(out);
}

Test(repl, bad_input_is_located_and_changes_nothing, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  int rc = repl("blobs.spn",
                "trian 2\ntrain x\ntrain 2 weeks\neval vaild\nfrobnicate\nshow modle\n"
                "set h1.activation rleu\nset h9.l1 0\nset train.lr\nunset h1.l1\n"
                "train { lr = -1 batch = 8 epochs = 1 }\nload nope.spn\nrestore nope.safetensors\n"
                "}\nmodel\nhelp trian\ntime\nshow\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "<stdin>:1:1: error: unknown command 'trian'\n"
                          "    1 | trian 2\n"
                          "      | ^~~~~\n"
                          "<stdin>:1:1: note: did you mean 'train'?\n"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:2:7: error: expected a whole number of epochs or steps "
                          "(1 or more), not 'x'"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:3:9: error: expected epochs or steps, not 'weeks'"), "%s", out);
  cr_expect(contains(out, "<stdin>:4:6: note: did you mean 'valid'?"), "%s", out);
  cr_expect(contains(out, "<stdin>:5:1: note: `help` lists the commands"), "%s", out);
  cr_expect(contains(out, "<stdin>:6:6: note: did you mean 'model'?"), "%s", out);
  cr_expect(contains(out, "--set 1:1:15: error: unknown activation 'rleu'"), "%s", out);
  cr_expect(contains(out, "--set 1:1:1: error: unknown block or layer 'h9'"), "%s", out);
  cr_expect(contains(out, "<stdin>:9:1: error: set needs a value"), "%s", out);
  cr_expect(contains(out, "<stdin>:10:7: error: no override of 'h1.l1'\n"
                          "   10 | unset h1.l1\n"
                          "      |       ^~~~~\n"),
            "%s", out);
  cr_expect(contains(out, "blobs.spn (session):7:14: error: 'lr' must be greater than 0"), "%s",
            out);
  cr_expect(contains(out, "<stdin>:12:6: error: cannot read 'nope.spn': No such file or directory\n"
                          "   12 | load nope.spn\n"
                          "      |      ^~~~~~~~\n"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:13:9: error: cannot read 'nope.safetensors'"), "%s", out);
  cr_expect(contains(out, "<stdin>:14:1: error: unmatched '}'"), "%s", out);
  cr_expect(contains(out, "a spec block is typed with its brace on the first line"), "%s", out);
  cr_expect(contains(out, "<stdin>:16:6: error: unknown command 'trian'"), "%s", out);
  cr_expect(contains(out, "help trian: "), "%s", out);
  /* the session is as it was loaded */
  cr_expect(contains(out, "h1       dense(32, relu, l1 = 0.0001)"), "%s", out);
  cr_expect(contains(out, "train:    lr 0.1, batch 8, epochs 2"), "%s", out);
  cr_expect(!contains(out, "overrides:"), "%s", out);
  free(out);
}

/* train N: a whole number of epochs or steps, from 1 to a billion; nothing
 * rounded, wrapped or read past. Nothing is trained by a refused one. */
Test(repl, train_counts_are_exact, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  int rc = repl("blobs.spn",
                "train 1.5\ntrain 1e3\ntrain 0\ntrain -2\ntrain +2\ntrain 99999999999999999999\n"
                "train 1000000001 steps\ntrain 4294967297\ntrain 2x\nshow\n",
                &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "<stdin>:1:7: error: expected a whole number of epochs or steps (1 or "
                          "more), not '1.5'\n"
                          "    1 | train 1.5\n"
                          "      |       ^~~\n"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:2:7: error: expected a whole number of epochs or steps (1 or "
                          "more), not '1e3'"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:3:7: error: the number of epochs or steps must be at least 1, "
                          "not '0'"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:4:7: error: the number of epochs or steps must be at least 1, "
                          "not '-2'"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:5:7: error: expected a whole number of epochs or steps (1 or "
                          "more), not '+2'"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:6:7: error: at most 1000000000 epochs or steps at a time, not "
                          "'99999999999999999999'\n"
                          "    6 | train 99999999999999999999\n"
                          "      |       ^~~~~~~~~~~~~~~~~~~~\n"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:7:7: error: at most 1000000000 epochs or steps at a time, not "
                          "'1000000001'"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:8:7: error: at most 1000000000 epochs or steps at a time, not "
                          "'4294967297'"),
            "%s", out);
  cr_expect(contains(out, "<stdin>:9:7: error: expected a whole number of epochs or steps (1 or "
                          "more), not '2x'"),
            "%s", out);
  cr_expect(!contains(out, "epoch   1"), "nothing was trained: %s", out);
  free(out);
  /* a setting typed in the REPL goes through the spec's checks */
  rc = repl("blobs.spn", "set train.epochs 1e10\nset train.seed 9007199254740993\nshow\n", &out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(contains(out, "--set 1:1:14: error: 'epochs' must be between 1 and 1000000000, not "
                          "10000000000"),
            "%s", out);
  cr_expect(contains(out, "--set 1:1:12: error: 'seed' must be between 0 and 9007199254740992, "
                          "not 9007199254740993"),
            "%s", out);
  cr_expect(contains(out, "train:    lr 0.1, batch 8, epochs 2"), "%s", out);
  free(out);
}

Test(repl, strict_stops_at_the_first_error, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  cr_expect_eq(repl("--strict blobs.spn", "show\nset h1.units -3\nshow spec\n", &out), 1);
  cr_expect(contains(out, "--set 1:1:10: error:"), "%s", out);
  cr_expect(!contains(out, "    1 | model {"), "nothing runs after the error: %s", out);
  free(out);
  cr_expect_eq(repl("--strict blobs.spn", "train {\n lr = 0.1\n", &out), 1);
  cr_expect(contains(out, "the input ended inside a block opened at line 1"), "%s", out);
  free(out);
  cr_expect_eq(repl("--strict nope.spn", "show\n", &out), 1);
  cr_expect(!contains(out, "no model yet"), "%s", out);
  free(out);
  cr_expect_eq(repl("--strict --set train.lr=0.05 blobs.spn", "show\n", &out), 0, "%s", out);
  cr_expect(contains(out, "train:    lr 0.05"), "%s", out);
  free(out);
  cr_expect_eq(repl("--bogus", "", &out), 2);
  cr_expect(contains(out, "usage: sparsec repl"), "%s", out);
  free(out);
}

/* --threads and --passes as `run` takes them. */
Test(repl, threads_and_passes_options, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  char *out;
  cr_expect_eq(repl("--strict --threads 2 --passes dense blobs.spn", "train\n", &out), 0, "%s",
               out);
  cr_expect(contains(out, "epoch   2"), "%s", out);
  free(out);
  cr_expect_eq(repl("--threads 0 blobs.spn", "", &out), 2);
  cr_expect(contains(out, "--threads takes a whole number from 1 to 64, not '0'"), "%s", out);
  free(out);
  cr_expect_eq(repl("--threads 99999999999999999999 blobs.spn", "", &out), 2);
  cr_expect(contains(out, "--threads takes a whole number from 1 to 64, not '99999999999999999999'"),
            "%s", out);
  free(out);
  cr_expect_eq(repl("--threads 2.0 blobs.spn", "", &out), 2);
  cr_expect(contains(out, "--threads takes a whole number from 1 to 64, not '2.0'"), "%s", out);
  free(out);
  cr_expect_eq(repl("blobs.spn --passes fast", "", &out), 2);
  cr_expect(contains(out, "--passes takes none or dense, not 'fast'"), "%s", out);
  free(out);
}

/* ---- a pseudo-terminal ------------------------------------------------------------ */

typedef struct Pty {
  int fd;
  pid_t pid;
  char seen[1 << 20]; /* everything read so far */
  size_t n, mark;     /* mark: where the next expect starts looking */
} Pty;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pty_start(Pty *p, const char *spec) {
  p->n = p->mark = 0;
  p->pid = forkpty(&p->fd, NULL, NULL, NULL);
  cr_assert_neq(p->pid, -1);
  if (p->pid == 0) {
    if (chdir(dir) != 0)
      _exit(127);
    setenv("HOME", dir, 1);
    setenv("TERM", "xterm", 1);
    execl(SPARSEC_BINARY, SPARSEC_BINARY, "repl", spec, (char *)NULL);
    _exit(127);
  }
}

/* Reads until `what` shows up after the mark (then the mark moves past
 * it) or `seconds` pass; 1 if it did. Output is drained meanwhile. */
static int expect(Pty *p, const char *what, double seconds) {
  double end = now_s() + seconds;
  for (;;) {
    p->seen[p->n] = '\0';
    char *at = strstr(p->seen + p->mark, what);
    if (at) {
      p->mark = (size_t)(at - p->seen) + strlen(what);
      return 1;
    }
    double left = end - now_s();
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
      return 0;
    if (p->n + 4096 >= sizeof p->seen) { /* keep the tail only */
      memmove(p->seen, p->seen + p->n / 2, p->n - p->n / 2);
      p->mark = p->mark > p->n / 2 ? p->mark - p->n / 2 : 0;
      p->n -= p->n / 2;
    }
    ssize_t got = read(p->fd, p->seen + p->n, 4096);
    if (got <= 0)
      return 0;
    p->n += (size_t)got;
  }
}

static void type(Pty *p, const char *keys) {
  cr_assert_eq(write(p->fd, keys, strlen(keys)), (ssize_t)strlen(keys));
}

/* Waits (up to 20 s) for the REPL to leave, reading what it prints. */
static int pty_finish(Pty *p) {
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 200 && done == 0; i++) {
    expect(p, "(never printed)", 0.1);
    done = waitpid(p->pid, &status, WNOHANG);
  }
  if (done == 0) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
  }
  expect(p, "(never printed)", 0.1);
  cr_expect(!strstr(p->seen, "Sanitizer") && !strstr(p->seen, "runtime error:"), "%s", p->seen);
  close(p->fd);
  cr_expect(WIFEXITED(status), "the REPL left by itself: %s", p->seen);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(repl_terminal, line_editing_completion_and_history, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  static Pty p;
  pty_start(&p, "blobs.spn");
  cr_assert(expect(&p, "sparsec> ", 30), "%s", p.seen);
  type(&p, "evak\x7fl tset\x7f\x7f\x7f\x7fvalid\r"); /* typos, fixed with backspace */
  cr_expect(expect(&p, "valid (100 examples): data loss", 10), "%s", p.seen);
  cr_assert(expect(&p, "sparsec> ", 10), "%s", p.seen);
  type(&p, "spars\t\r"); /* Tab completes the command */
  cr_expect(expect(&p, "activations exactly zero", 10), "%s", p.seen);
  cr_assert(expect(&p, "sparsec> ", 10), "%s", p.seen);
  type(&p, "set h2.l\t"); /* a setting path: h2.l1 and h2.l2 */
  cr_expect(expect(&p, "h2.l1", 5), "%s", p.seen);
  type(&p, "1 0.001\r");
  cr_expect(expect(&p, "compiled in ", 10), "%s", p.seen);
  cr_assert(expect(&p, "sparsec> ", 10), "%s", p.seen);
  type(&p, "\x03"); /* Ctrl-C at the prompt: a new prompt, the REPL stays */
  cr_expect(expect(&p, "sparsec> ", 5), "%s", p.seen);
  type(&p, "\x1b[A\x1b[A\r"); /* up twice: the history, `sparsity` */
  cr_expect(expect(&p, "activations exactly zero", 10), "%s", p.seen);
  cr_assert(expect(&p, "sparsec> ", 10), "%s", p.seen);
  type(&p, "\x04"); /* Ctrl-D leaves */
  cr_expect_eq(pty_finish(&p), 0);
  char path[128];
  snprintf(path, sizeof path, "%s/.sparsec_history", dir);
  char *history = slurp(path);
  /* libedit's file encodes blanks as \040 */
  cr_expect(contains(history, "eval\\040valid\nsparsity\nset\\040h2.l1\\0400.001\n"), "%s",
            history);
  free(history);
}

Test(repl_terminal, ctrl_c_stops_training, .init = make_dir, .fini = remove_dir) {
  write_blob_spec();
  static Pty p;
  pty_start(&p, "blobs.spn");
  cr_assert(expect(&p, "sparsec> ", 30), "%s", p.seen);
  type(&p, "train 1000000\r");
  cr_assert(expect(&p, "epoch  20", 30), "%s", p.seen);
  double sent = now_s();
  type(&p, "\x03");
  cr_expect(expect(&p, "interrupted in epoch ", 5), "%s", p.seen + p.mark);
  cr_assert(expect(&p, "sparsec> ", 5), "%s", p.seen + p.mark);
  double waited = now_s() - sent;
  cr_expect_lt(waited, 1.0, "the prompt came back after %.2f s", waited);
  type(&p, "show\r"); /* the model is intact: its epochs are counted, it evaluates */
  cr_expect(expect(&p, "weights:  ", 10), "%s", p.seen + p.mark);
  type(&p, "eval\r");
  cr_expect(expect(&p, "valid (100 examples): data loss", 10), "%s", p.seen + p.mark);
  cr_assert(expect(&p, "sparsec> ", 10), "%s", p.seen + p.mark);
  type(&p, "quit\r");
  cr_expect_eq(pty_finish(&p), 0);
}
