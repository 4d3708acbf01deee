/* Interrupted experiments, resumed: `sparsec run`, a built program's
 * `train` and the REPL stopped by SIGINT/SIGTERM (SPARSEC_SIGNAL_AT places
 * the signal at a chosen step, evaluation batch or file write), killed in
 * the middle of a write, out of file size (ulimit -f), and resumed from
 * their state file; the final checkpoint must be byte for byte the one of
 * a run that was never stopped, and the metrics the same but for the
 * seconds. Also: states of another model refused, unwritable outputs
 * refused before any training, eval/predict after train.
 *
 * The data are real Fashion-MNIST images (Debian's dataset-fashion-mnist),
 * the first 2000 training and 1000 test examples copied here uncompressed
 * (reading the whole gzipped set costs most of a second a run); the spec's
 * `limit = 1500`, `validation = 300` leave 1200 training examples: 120
 * minibatches of 10 an epoch. A run: 3 pretraining stages of 2 epochs
 * (steps 1..720, a state written after each epoch: writes 1..6), then 3
 * training epochs (steps 721..1080, writes 7..9, then the checkpoint).
 *
 * Every command runs through /bin/sh with `exec`, so that waitpid sees the
 * program's own status: exit(130) and death by SIGINT are told apart. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workdir.h"

#define FASHION "/usr/share/datasets/fashion-mnist/"

static void make_dir(void) {
  workdir_make("resume");
}

static void remove_dir(void) {
  workdir_remove();
}

/* ---- files -------------------------------------------------------------------- */

static void path_of(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", dir, name);
}

/* The whole file (NUL-terminated; *size without the NUL), or NULL. */
static char *slurp(const char *name, size_t *size) {
  char path[256];
  path_of(path, sizeof path, name);
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  cr_assert_not_null(text);
  size_t got = fread(text, 1, (size_t)n, f);
  fclose(f);
  text[got] = '\0';
  if (size)
    *size = got;
  return text;
}

static long file_size(const char *name) {
  char path[256];
  struct stat sb;
  path_of(path, sizeof path, name);
  return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static int exists(const char *name) {
  return file_size(name) >= 0;
}

/* Whether two files in dir hold the same bytes (both must exist). */
static int same_bytes(const char *a, const char *b) {
  size_t na, nb;
  char *x = slurp(a, &na), *y = slurp(b, &nb);
  int same = x && y && na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

/* A metrics CSV without its last column (the seconds an epoch took). */
static char *without_seconds(const char *name) {
  char *text = slurp(name, NULL);
  if (!text)
    return strdup("(missing)");
  char *out = calloc(1, strlen(text) + 1), *o = out;
  for (char *line = text; *line;) {
    size_t len = strcspn(line, "\n");
    char *comma = NULL;
    for (char *p = line; p < line + len; p++)
      if (*p == ',')
        comma = p;
    size_t keep = comma ? (size_t)(comma - line) : len;
    memcpy(o, line, keep);
    o += keep;
    *o++ = '\n';
    line += len + (line[len] == '\n');
  }
  free(text);
  return out;
}

/* Files whose name contains `part`, in `sub` (a folder of dir) and dir. */
static int files_containing(const char *sub, const char *part) {
  int n = 0;
  for (int i = 0; i < 2; i++) {
    char path[256];
    path_of(path, sizeof path, i == 0 ? "." : sub);
    DIR *d = opendir(path);
    if (!d)
      continue;
    for (struct dirent *e; (e = readdir(d));)
      n += strstr(e->d_name, part) != NULL;
    closedir(d);
  }
  return n;
}

static void shell(const char *fmt, const char *arg) {
  char cmd[512], line[600];
  snprintf(cmd, sizeof cmd, fmt, arg);
  snprintf(line, sizeof line, "cd %s && %s", dir, cmd);
  cr_assert_eq(system(line), 0, "%s", line);
}

/* ---- the data: the first n examples of a Fashion-MNIST file, uncompressed ----- */

static void copy_fashion(const char *gz, const char *name, uint32_t n) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "gzip -dc %s%s", FASHION, gz);
  FILE *in = popen(cmd, "r");
  cr_assert_not_null(in);
  uint8_t magic[4];
  cr_assert_eq(fread(magic, 1, 4, in), 4);
  int ndim = magic[3];
  cr_assert(ndim >= 1 && ndim <= 3);
  uint8_t dims[12];
  cr_assert_eq(fread(dims, 4, (size_t)ndim, in), (size_t)ndim);
  size_t item = 1;
  for (int k = 1; k < ndim; k++)
    item *= (size_t)dims[4 * k] << 24 | (size_t)dims[4 * k + 1] << 16 |
            (size_t)dims[4 * k + 2] << 8 | dims[4 * k + 3];
  uint8_t *body = malloc(item * n);
  cr_assert_eq(fread(body, item, n, in), n);
  pclose(in); /* gzip stops on a closed pipe: not an error */
  for (int b = 0; b < 4; b++) /* the count, big-endian */
    dims[b] = (uint8_t)(n >> (24 - 8 * b));
  char path[256];
  path_of(path, sizeof path, name);
  FILE *out = fopen(path, "wb");
  cr_assert_not_null(out);
  fwrite(magic, 1, 4, out);
  fwrite(dims, 4, (size_t)ndim, out);
  fwrite(body, item, n, out);
  cr_assert_eq(fclose(out), 0);
  free(body);
}

static void write_fashion(void) {
  if (access(FASHION "train-images-idx3-ubyte.gz", R_OK) != 0 ||
      access(FASHION "t10k-images-idx3-ubyte.gz", R_OK) != 0)
    cr_skip_test("Fashion-MNIST not installed in " FASHION " (dataset-fashion-mnist)");
  copy_fashion("train-images-idx3-ubyte.gz", "train-x.idx", 2000);
  copy_fashion("train-labels-idx1-ubyte.gz", "train-y.idx", 2000);
  copy_fashion("t10k-images-idx3-ubyte.gz", "test-x.idx", 1000);
  copy_fashion("t10k-labels-idx1-ubyte.gz", "test-y.idx", 1000);
}

/* ---- the specs ---------------------------------------------------------------- */

/* examples/paper/fashion_relu_pretrain.spn, small. `lr` is the train
 * block's learning rate (or sweep), `checkpoint` output.checkpoint. */
static const char *spec_format =
    "# Fashion-MNIST, relu, pretrained (examples/paper/fashion_relu_pretrain.spn), small\n"
    "model {\n"
    "  input = 784\n"
    "  l1 = 0.001\n"
    "  layer h1  = dense(32, relu)\n"
    "  layer h2  = dense(32, relu)\n"
    "  layer h3  = dense(32, relu)\n"
    "  layer out = dense(10, softmax)\n"
    "  loss = nll\n"
    "}\n"
    "pretrain {\n"
    "  layers = {h1, h2, h3}\n"
    "  noise = masking(0.25)\n"
    "  epochs = 2\n"
    "  lr = 0.01\n"
    "  batch = 10\n"
    "}\n"
    "train { %s  momentum = 0.9  batch = 10  epochs = 3  seed = 1 }\n"
    "data {\n"
    "  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
    "  test  = idx(\"test-x.idx\", \"test-y.idx\")\n"
    "  scale = 1/255\n"
    "  limit = 1500\n"
    "  validation = 300\n"
    "}\n"
    "\n"
    "# the best epoch's parameters; the state goes beside them\n"
    "# (out/ckpt.state.safetensors)\n"
    "\n"
    "output {\n"
    "  checkpoint = \"%s\"\n"
    "  metrics = \"out/metrics.csv\"\n"
    "}\n";

static void write_spec(const char *name, const char *lr, const char *checkpoint) {
  char text[4096];
  snprintf(text, sizeof text, spec_format, lr, checkpoint);
  write_file(name, text);
}

#define CKPT "out/ckpt.safetensors"
#define STATE "out/ckpt.state.safetensors"
#define METRICS "out/metrics.csv"

/* ---- running commands --------------------------------------------------------- */

/* Starts `cmd` in dir after the shell statements `pre` (e.g. a ulimit;
 * may be ""), with SPARSEC_SIGNAL_AT=at unless NULL; its output and errors
 * to `log` there, stdin from /dev/null unless cmd redirects it. */
static pid_t launch(const char *pre, const char *at, const char *cmd, const char *log) {
  char *line = malloc(strlen(pre) + strlen(cmd) + 512);
  sprintf(line, "cd %s && %s exec env %s%s %s > %s 2>&1%s", dir, pre,
          at ? "SPARSEC_SIGNAL_AT=" : "", at ? at : "", cmd, log,
          strstr(cmd, " < ") ? "" : " < /dev/null");
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", line, (char *)NULL);
    _exit(127);
  }
  free(line);
  return pid;
}

static int wait_for(pid_t pid) {
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  return status;
}

/* Runs it to its end (launch's arguments); its output in *out; the wait
 * status. */
static int run_cmd(const char *pre, const char *at, const char *cmd, char **out) {
  int status = wait_for(launch(pre, at, cmd, "log.txt"));
  *out = slurp("log.txt", NULL);
  cr_assert_not_null(*out);
  cr_expect(!strstr(*out, "Sanitizer") && !strstr(*out, "runtime error:"),
            "sanitizer report from '%s':\n%s", cmd, *out);
  return status;
}

/* The status in words, for messages. */
static const char *how(int status) {
  static char buf[64];
  if (WIFEXITED(status))
    snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(status));
  else
    snprintf(buf, sizeof buf, "status %#x", status);
  return buf;
}

static int exited(int status, int code) {
  return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* `sparsec ARGS` (SPARSEC_SIGNAL_AT=AT unless NULL). */
static int sparsec(const char *at, const char *args, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s", SPARSEC_BINARY, args);
  return run_cmd("", at, cmd, out);
}

/* `./prog ARGS` (SPARSEC_SIGNAL_AT=AT unless NULL). */
static int prog(const char *at, const char *args, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "./prog %s", args);
  return run_cmd("", at, cmd, out);
}

/* The last line of the output (without its newline). */
static char *last_line(const char *out) {
  size_t n = strlen(out);
  while (n > 0 && out[n - 1] == '\n')
    n--;
  size_t start = n;
  while (start > 0 && out[start - 1] != '\n')
    start--;
  return strndup(out + start, n - start);
}

/* The first line of the output that contains `part`, or "(none)". */
static char *line_with(const char *out, const char *part) {
  const char *at = strstr(out, part);
  if (!at)
    return strdup("(none)");
  while (at > out && at[-1] != '\n')
    at--;
  return strndup(at, strcspn(at, "\n"));
}

/* Lines of the output that start with `prefix` ("": every line). */
static int count_lines(const char *out, const char *prefix) {
  int n = 0;
  for (const char *line = out; *line;) {
    size_t len = strcspn(line, "\n");
    n += strncmp(line, prefix, strlen(prefix)) == 0;
    line += len + (line[len] == '\n');
  }
  return n;
}

/* The resume line's command, run as printed (its `sparsec` is the one
 * under test); SPARSEC_SIGNAL_AT=AT unless NULL. */
static int run_resume_line(const char *interrupted, const char *at, char **out) {
  char *line = last_line(interrupted);
  const char *prefix = "to resume: ";
  cr_assert(strncmp(line, prefix, strlen(prefix)) == 0, "no resume line at the end:\n%s",
            interrupted);
  const char *cmd = line + strlen(prefix);
  char full[1200];
  int is_sparsec = strncmp(cmd, "sparsec ", 8) == 0;
  snprintf(full, sizeof full, "%s%s", is_sparsec ? SPARSEC_BINARY " " : "",
           is_sparsec ? cmd + 8 : cmd);
  free(line);
  return run_cmd("", at, full, out);
}

/* The folder of the outputs, emptied: nothing of an earlier run is left
 * to be mistaken for this one's. */
static void fresh_outputs(void) {
  shell("rm -rf %s", "out");
}

/* The run ended as a run never stopped would: the checkpoint `reference`
 * byte for byte, the metrics `metrics` but for the seconds, no temporary
 * file left. */
static void expect_identical(const char *what, const char *out, const char *reference,
                             const char *metrics) {
  cr_expect(same_bytes(CKPT, reference), "%s: the checkpoint differs from %s's:\n%s", what,
            reference, out);
  char *have = without_seconds(METRICS), *want = without_seconds(metrics);
  cr_expect_str_eq(have, want, "%s: the metrics differ", what);
  free(have);
  free(want);
  cr_expect_eq(files_containing("out", ".tmp."), 0, "%s: a temporary file is left", what);
}

/* ---- sparsec run -------------------------------------------------------------- */

/* An interrupted run's output: the status, where it stopped, the state
 * file, and as last line the command that resumes it. */
static void expect_interrupted(const char *what, int status, int code, const char *out,
                               const char *where, const char *spec) {
  cr_expect(exited(status, code), "%s: %s, not exit %d\n%s", what, how(status), code, out);
  cr_expect(strstr(out, where) != NULL, "%s: not '%s':\n%s", what, where, out);
  cr_expect(strstr(out, "\nstate: " STATE "\n") != NULL, "%s: %s", what, out);
  char *line = last_line(out), want[256];
  snprintf(want, sizeof want, "to resume: sparsec run %s --resume " STATE, spec);
  cr_expect_str_eq(line, want, "%s: the last line", what);
  free(line);
  cr_expect_eq(files_containing("out", ".tmp."), 0, "%s: a temporary file is left", what);
}

/* One run stopped four times, each time resumed by the command it printed:
 * SIGINT in a pretraining step, SIGINT in the middle of writing a state,
 * SIGINT in an evaluation, SIGTERM in a training step; then the end, with
 * the numbers of the run that never stopped. */
Test(resume, run_interrupted_four_times_ends_as_one_run, .init = make_dir, .fini = remove_dir) {
  write_fashion();
  write_spec("m.spn", "lr = 0.03", CKPT);
  char *out, *next;
  int st = sparsec(NULL, "run m.spn", &out);
  cr_assert(exited(st, 0), "%s\n%s", how(st), out);
  cr_assert_eq(count_lines(out, "pretrain h"), 6, "%s", out);
  cr_assert_eq(count_lines(out, "epoch "), 3, "%s", out);
  cr_assert(exists(STATE), "no state file beside the checkpoint:\n%s", out);
  shell("cp %s base.safetensors", CKPT);
  shell("cp %s base.csv", METRICS);
  free(out);

  /* its step 100: 99 of pretraining h1's first epoch done */
  fresh_outputs();
  st = sparsec("step:100", "run m.spn", &out);
  expect_interrupted("step:100", st, 130, out,
                     "interrupted in pretraining h1, epoch 1, step 99 of 120: 0 epochs done\n",
                     "m.spn");
  cr_expect_eq(count_lines(out, "pretrain h"), 0, "%s", out);
  cr_expect(!exists(CKPT), "a checkpoint before any epoch");
  shell("cp %s pretraining.state.safetensors", STATE); /* for the structure check below */

  /* its 3rd write is the state after h2's first epoch: finished, then
   * saved again before h2's second epoch */
  st = run_resume_line(out, "write:3", &next);
  cr_expect(strstr(next, "resuming from " STATE ": pretraining h1, epoch 1, step 99 of 120\n"),
            "%s", next);
  expect_interrupted("write:3", st, 130, next,
                     "interrupted in pretraining h2, epoch 2, step 0 of 120: 0 epochs done\n",
                     "m.spn");
  cr_expect_eq(count_lines(next, "pretrain h"), 3, "%s", next);
  free(out), out = next;

  /* its 2nd evaluation batch is in the first epoch's: the epoch ends */
  st = run_resume_line(out, "eval:2", &next);
  expect_interrupted("eval:2", st, 130, next, "interrupted in epoch 2, step 0 of 120: 1 epoch done",
                     "m.spn");
  cr_expect(strstr(next, "\ncheckpoint: " CKPT "\n") != NULL, "the best so far is saved:\n%s",
            next);
  cr_expect_eq(count_lines(next, "epoch "), 1, "%s", next);
  free(out), out = next;

  /* SIGTERM before the second epoch's 59th minibatch */
  st = run_resume_line(out, "step:59:TERM", &next);
  expect_interrupted("step:59:TERM", st, 143, next,
                     "interrupted in epoch 2, step 58 of 120: 1 epoch done", "m.spn");
  cr_expect_eq(count_lines(next, "epoch "), 0, "%s", next);
  free(out), out = next;

  st = run_resume_line(out, NULL, &next);
  cr_expect(exited(st, 0), "%s\n%s", how(st), next);
  cr_expect_eq(count_lines(next, "epoch "), 2, "epochs 2 and 3 only:\n%s", next);
  expect_identical("interrupted four times", next, "base.safetensors", "base.csv");
  free(out);
  free(next);

  /* SIGINT in the middle of the first training epoch (no epoch done) */
  fresh_outputs();
  st = sparsec("step:780", "run m.spn", &out);
  expect_interrupted("step:780", st, 130, out,
                     "interrupted in epoch 1, step 59 of 120: 0 epochs done\n", "m.spn");
  st = run_resume_line(out, NULL, &next);
  cr_expect(exited(st, 0), "step:780: resumed: %s\n%s", how(st), next);
  expect_identical("step:780", next, "base.safetensors", "base.csv");
  free(out);
  free(next);

  /* a state of this 32-unit model is not a state of a 48-unit one */
  st = sparsec(NULL, "run m.spn --set h1.units=48 --resume pretraining.state.safetensors", &out);
  cr_expect(exited(st, 1), "%s\n%s", how(st), out);
  cr_expect(strstr(out, "'h1.") != NULL && strstr(out, "32") && strstr(out, "48"),
            "the message names the tensor and both widths:\n%s", out);
  cr_expect_eq(count_lines(out, "pretrain h"), 0, "refused before training:\n%s", out);
  cr_expect_eq(count_lines(out, "epoch "), 0, "%s", out);
  free(out);
}

/* ---- built programs ----------------------------------------------------------- */

/* An interrupted `./prog train` (SPARSEC_SIGNAL_AT=at), resumed by its own
 * resume line: the uninterrupted program's checkpoint and metrics. */
static void program_case(const char *at, const char *where) {
  fresh_outputs();
  char *out, *resumed;
  int st = prog(at, "train", &out);
  cr_expect(exited(st, 130), "%s: %s\n%s", at, how(st), out);
  cr_expect(strstr(out, where) != NULL, "%s: not '%s':\n%s", at, where, out);
  char state_line[300];
  snprintf(state_line, sizeof state_line, "state: %s/" STATE "\n", dir);
  cr_expect(strstr(out, state_line) != NULL, "%s", out);
  char *line = last_line(out), want[300];
  snprintf(want, sizeof want, "to resume: ./prog train --resume %s/" STATE, dir);
  cr_expect_str_eq(line, want);
  free(line);
  cr_expect_eq(files_containing("out", ".tmp."), 0, "%s: a temporary file is left", at);
  st = run_resume_line(out, NULL, &resumed);
  cr_expect(exited(st, 0), "%s: resumed: %s\n%s", at, how(st), resumed);
  expect_identical(at, resumed, "prog.safetensors", "prog.csv");
  free(out);
  free(resumed);
}

/* Two SIGINTs: the first raised in the middle of the second write, the
 * second sent as soon as the first is acknowledged. Either the second
 * came in time (exit at once) or the run had saved and ended already; in
 * both cases 130, no temporary file, and a state that resumes. */
static void second_sigint(void) {
  fresh_outputs();
  pid_t pid = launch("", "write:2", "./prog train", "log.txt");
  int acknowledged = 0, ended = 0, st = 0;
  for (int i = 0; i < 20000 && !acknowledged && !ended; i++) { /* up to 20 s */
    char *seen = slurp("log.txt", NULL);
    acknowledged = seen && strstr(seen, "stopping after this step") != NULL;
    free(seen);
    ended = waitpid(pid, &st, WNOHANG) == pid;
    if (!acknowledged && !ended)
      usleep(1000);
  }
  int sent = !ended && kill(pid, acknowledged ? SIGINT : SIGKILL) == 0;
  if (!ended)
    st = wait_for(pid);
  char *out = slurp("log.txt", NULL);
  cr_assert_not_null(out);
  cr_expect(!strstr(out, "Sanitizer") && !strstr(out, "runtime error:"), "%s", out);
  cr_expect(acknowledged, "the first SIGINT was not acknowledged:\n%s", out);
  cr_log_info("second SIGINT %s", !sent                       ? "too late: the run had ended"
                                  : strstr(out, "to resume:") ? "after the state was saved"
                                                              : "in time: exited at once");
  cr_expect(exited(st, 130), "%s\n%s", how(st), out);
  cr_expect_eq(files_containing("out", ".tmp."), 0, "a temporary file is left:\n%s", out);
  cr_expect(exists(STATE), "no state at all (one was written before the signals)");
  free(out);
  st = prog(NULL, "train --resume " STATE, &out);
  cr_expect(exited(st, 0), "%s\n%s", how(st), out);
  cr_expect(same_bytes(CKPT, "prog.safetensors"), "the resumed run differs:\n%s", out);
  free(out);
}

Test(resume, program_interrupted_anywhere_resumes_identically, .init = make_dir,
     .fini = remove_dir) {
  write_fashion();
  write_spec("m.spn", "lr = 0.03", CKPT);
  char *out;
  int st = sparsec(NULL, "run m.spn", &out);
  cr_assert(exited(st, 0), "%s\n%s", how(st), out);
  shell("cp %s run.safetensors", CKPT);
  shell("cp %s run.csv", METRICS);
  free(out);
  st = sparsec(NULL, "build m.spn -o prog", &out);
  cr_assert(exited(st, 0), "%s\n%s", how(st), out);
  free(out);

  /* before train: no saved weights; after: train's checkpoint */
  fresh_outputs();
  st = prog(NULL, "eval", &out);
  cr_expect(strstr(out, "weights: none") != NULL, "%s", out);
  free(out);
  st = prog(NULL, "train", &out);
  cr_assert(exited(st, 0), "%s\n%s", how(st), out);
  cr_expect(same_bytes(CKPT, "run.safetensors"), "./prog train and sparsec run differ");
  char *have = without_seconds(METRICS), *want = without_seconds("run.csv");
  cr_expect_str_eq(have, want, "./prog train's metrics and sparsec run's differ");
  free(have);
  free(want);
  const char *test_error = strstr(out, "test error: ");
  cr_assert_not_null(test_error, "%s", out);
  double trained = atof(test_error + strlen("test error: "));
  shell("cp %s prog.safetensors", CKPT);
  shell("cp %s prog.csv", METRICS);
  free(out);

  /* eval and predict without --weights: what train saved */
  char saved[300];
  snprintf(saved, sizeof saved, "weights: %s/" CKPT " (saved by train)\n", dir);
  st = prog(NULL, "eval", &out);
  cr_expect(exited(st, 0), "%s\n%s", how(st), out);
  cr_expect(strstr(out, saved) != NULL, "%s", out);
  const char *error = strstr(out, ", error ");
  cr_expect(error && atof(error + 8) == trained, "eval: not train's %.2f%%:\n%s", trained, out);
  free(out);
  st = prog(NULL, "predict --input test-x.idx", &out);
  cr_expect(exited(st, 0), "%s", how(st));
  cr_expect(strncmp(out, saved, strlen(saved)) == 0, "%.300s", out);
  char *explicit;
  st = prog(NULL, "predict --input test-x.idx --weights " CKPT, &explicit);
  cr_expect(exited(st, 0), "%s", how(st));
  cr_expect_eq(count_lines(explicit, ""), 1000, "one line an example");
  cr_expect(strncmp(out, saved, strlen(saved)) == 0 && strcmp(out + strlen(saved), explicit) == 0,
            "predict without --weights is not predict --weights " CKPT);
  free(out);
  free(explicit);

  /* interrupted anywhere */
  program_case("step:100", "interrupted in pretraining h1, epoch 1, step 99 of 120");
  program_case("step:780", "interrupted in epoch 1, step 59 of 120: 0 epochs done");
  program_case("eval:1", "interrupted in epoch 2, step 0 of 120: 1 epoch done");
  program_case("write:3", "interrupted in pretraining h2, epoch 2, step ");
  program_case("write:8", "interrupted in epoch 3, step ");

  /* SIGKILL in the middle of the 8th write (the state after epoch 2):
   * nothing runs, a temporary file may stay; the state of epoch 1 is
   * intact and resumes */
  fresh_outputs();
  st = prog("write:8:KILL", "train", &out);
  cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s\n%s", how(st), out);
  cr_expect_eq(count_lines(out, "epoch "), 2, "%s", out);
  char *resumed;
  st = prog(NULL, "train --resume " STATE, &resumed);
  cr_expect(exited(st, 0), "%s\n%s", how(st), resumed);
  cr_expect(strstr(resumed, "resuming from " STATE ": epoch 2, step 0 of 120") != NULL, "%s",
            resumed);
  cr_expect(same_bytes(CKPT, "prog.safetensors"), "after SIGKILL: the checkpoint differs:\n%s",
            resumed);
  have = without_seconds(METRICS), want = without_seconds("prog.csv");
  cr_expect_str_eq(have, want, "after SIGKILL: the metrics differ");
  free(have);
  free(want);
  free(out);
  free(resumed);

  second_sigint();
}

/* ---- the learning-rate sweep -------------------------------------------------- */

/* A sweep whose second lr wins. Its states grow: about 3 times the
 * parameters' bytes in pretraining (weights, momentum, the stage's start),
 * 4 while the first lr trains (and its pretrained encoders), 5 in the
 * second lr (and the first lr's best). A file size limit of 3.5 times the
 * parameters lets the six pretraining states be written and fails the 7th
 * write, after the first epoch. Resumed from the state it kept, then
 * interrupted in the second lr and resumed again: the sweep's numbers. */
Test(resume, sweep_survives_a_full_disk_and_an_interrupt, .init = make_dir, .fini = remove_dir) {
  write_fashion();
  write_spec("sweep.spn", "lr in {0.03, 0.01}", CKPT);
  char *out;
  int st = sparsec(NULL, "run sweep.spn", &out);
  cr_assert(exited(st, 0), "%s\n%s", how(st), out);
  cr_assert(strstr(out, "sweep: kept lr 0.01") != NULL,
            "the second lr must win for this test to mean anything:\n%s", out);
  shell("cp %s base.safetensors", CKPT);
  shell("cp %s base.csv", METRICS);
  long params = file_size(CKPT);
  free(out);

  fresh_outputs();
  long blocks = (7 * params / 2 + 511) / 512; /* ulimit -f counts 512-byte blocks in sh */
  char limit[64];
  snprintf(limit, sizeof limit, "ulimit -f %ld;", blocks);
  st = run_cmd(limit, NULL, SPARSEC_BINARY " run sweep.spn", &out);
  cr_expect(exited(st, 1), "%s\n%s", how(st), out);
  char *error = line_with(out, "File too large"); /* strerror(EFBIG) */
  cr_expect(strstr(error, STATE) != NULL, "the message names the file and why:\n%s", out);
  free(error);
  cr_expect_eq(count_lines(out, "pretrain h"), 6, "%s", out);
  cr_expect_eq(files_containing("out", ".tmp."), 0, "a temporary file is left:\n%s", out);
  long kept = file_size(STATE);
  cr_expect(kept > 0 && kept <= blocks * 512, "the state of before: %ld bytes (limit %ld)", kept,
            blocks * 512);
  free(out);

  /* resumed from the state kept (pretraining done), interrupted in the
   * second lr's second epoch: its step 540 is the 60th minibatch after 360
   * of lr 0.03 and 120 of lr 0.01 */
  st = sparsec("step:540", "run sweep.spn --resume " STATE, &out);
  cr_expect(exited(st, 130), "%s\n%s", how(st), out);
  cr_expect(strstr(out, "resuming from " STATE ": ") != NULL, "%s", out);
  cr_expect_eq(count_lines(out, "pretrain h"), 0, "pretraining was done:\n%s", out);
  cr_expect(strstr(out, "interrupted in epoch 2, step 59 of 120, lr 0.01: 1 epoch done") != NULL,
            "%s", out);
  char *line = last_line(out);
  cr_expect_str_eq(line, "to resume: sparsec run sweep.spn --resume " STATE);
  free(line);
  char *resumed;
  st = run_resume_line(out, NULL, &resumed);
  cr_expect(exited(st, 0), "%s\n%s", how(st), resumed);
  cr_expect(strstr(resumed, "sweep: kept lr 0.01") != NULL, "%s", resumed);
  expect_identical("sweep", resumed, "base.safetensors", "base.csv");
  free(out);
  free(resumed);
}

/* ---- the REPL ----------------------------------------------------------------- */

/* `sparsec repl m.spn < script` (SPARSEC_SIGNAL_AT=at unless NULL). */
static int repl(const char *at, const char *script, char **out) {
  write_file("script.sr", script);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "HOME=%s %s repl m.spn < script.sr", dir, SPARSEC_BINARY);
  return run_cmd("", at, cmd, out);
}

/* The n-th line starting with `epoch ` without its seconds (what follows
 * its last column of zeros, "h3 77.3%"). */
static char *epoch_line(const char *out, int n) {
  int i = 0;
  for (const char *line = out; *line;) {
    size_t len = strcspn(line, "\n");
    if (strncmp(line, "epoch ", 6) == 0 && i++ == n) {
      char *copy = strndup(line, len), *pct = strrchr(copy, '%');
      if (pct)
        pct[1] = '\0';
      return copy;
    }
    line += len + (line[len] == '\n');
  }
  return strdup("(none)");
}

Test(resume, repl_trains_on_from_where_it_is, .init = make_dir, .fini = remove_dir) {
  write_fashion();
  write_spec("m.spn", "lr = 0.03", CKPT);
  char *out, *two;
  int st = sparsec(NULL, "run m.spn", &out);
  cr_assert(exited(st, 0), "%s\n%s", how(st), out);
  shell("cp %s run.safetensors", CKPT);
  free(out);

  /* train 1, train 1 = train 2; pretrain + train + restore best = run */
  st = repl(NULL, "train 1\nsave state s.safetensors\ntrain 1\nsave a.safetensors\n", &out);
  cr_expect(exited(st, 0), "%s\n%s", how(st), out);
  st = repl(NULL,
            "train 2\nsave b.safetensors\n"
            "reset\npretrain\ntrain\nrestore best\nsave w.safetensors\n",
            &two);
  cr_expect(exited(st, 0), "%s\n%s", how(st), two);
  cr_expect(same_bytes("a.safetensors", "b.safetensors"), "train 1 twice is not train 2");
  for (int i = 0; i < 2; i++) {
    char *x = epoch_line(out, i), *y = epoch_line(two, i);
    cr_expect_str_eq(x, y, "epoch line %d", i + 1);
    free(x);
    free(y);
  }
  cr_expect(strstr(two, "restored the weights of epoch 2, the best so far") != NULL, "%s", two);
  cr_expect(same_bytes("w.safetensors", "run.safetensors"),
            "REPL pretrain + train + restore best is not sparsec run:\n%s", two);
  free(out);
  free(two);

  /* Ctrl-C (SIGINT) with commands from a file: the state saved, exit 130;
   * step 150 is the 30th minibatch of the second epoch of `train 2` */
  fresh_outputs();
  st = repl("step:150", "train 2\nsave never.safetensors\n", &out);
  cr_expect(exited(st, 130), "SIGINT from a script: %s\n%s", how(st), out);
  cr_expect(!exists("never.safetensors"), "the script went on after SIGINT");
  cr_expect(exists(STATE), "SIGINT did not save the state (" STATE "):\n%s", out);
  cr_expect(strstr(out, "saved the state to " STATE "\n") != NULL, "%s", out);
  free(out);

  /* a new REPL: a saved state goes on as the old one would have */
  st = repl(NULL,
            "restore s.safetensors\ntrain 1\nsave c.safetensors\n"
            "restore " STATE "\ntrain 1\nsave d.safetensors\n",
            &out);
  cr_expect(exited(st, 0), "%s\n%s", how(st), out);
  cr_expect(same_bytes("c.safetensors", "a.safetensors"),
            "save state + restore + train 1 is not train 1 + train 1:\n%s", out);
  cr_expect(same_bytes("d.safetensors", "b.safetensors"),
            "the state saved on SIGINT in epoch 2 + train 1 is not train 2:\n%s", out);
  free(out);
}

/* ---- outputs checked first ---------------------------------------------------- */

Test(resume, unwritable_outputs_are_refused_before_training, .init = make_dir,
     .fini = remove_dir) {
  write_fashion();
  write_file("afile", "a file, not a folder\n");
  write_spec("m.spn", "lr = 0.03", "afile/sub/ckpt.safetensors");
  char *out;
  int st = sparsec(NULL, "run m.spn", &out);
  cr_expect(exited(st, 1), "%s\n%s", how(st), out);
  char *spec = slurp("m.spn", NULL), *at = strstr(spec, "checkpoint = \"");
  int line = 1, col = 1 + (int)(strchr(at, '"') - at);
  for (const char *p = spec; p < at; p++)
    line += *p == '\n';
  for (const char *p = at; p > spec && p[-1] != '\n'; p--)
    col++;
  free(spec);
  char where[64]; /* m.spn:LINE:COL of the checkpoint's string */
  snprintf(where, sizeof where, "m.spn:%d:%d: error: output.checkpoint: ", line, col);
  cr_expect(strstr(out, where) != NULL, "not located at '%s':\n%s", where, out);
  cr_expect(strstr(out, "afile") != NULL, "%s", out);
  cr_expect(strstr(out, "^~~~") != NULL, "no caret under the setting:\n%s", out);
  cr_expect(!strstr(out, "compiled in"), "checked after compiling:\n%s", out);
  cr_expect_eq(count_lines(out, "pretrain h"), 0, "%s", out);
  cr_expect_eq(count_lines(out, "epoch "), 0, "%s", out);
  free(out);

  /* where permissions are enforced (not as root), a read-only folder too */
  if (geteuid() != 0) {
    shell("mkdir -p %s && chmod 0555 ro", "ro");
    write_spec("m.spn", "lr = 0.03", "ro/ckpt.safetensors");
    st = sparsec(NULL, "run m.spn", &out);
    cr_expect(exited(st, 1), "%s\n%s", how(st), out);
    cr_expect(strstr(out, where) != NULL, "not located at '%s':\n%s", where, out);
    cr_expect_eq(count_lines(out, "epoch "), 0, "%s", out);
    free(out);
  }

  /* a state path given on the command line: the setting, no spec line */
  write_spec("m.spn", "lr = 0.03", CKPT);
  st = sparsec(NULL, "run m.spn --set 'output.state=\"afile/s.safetensors\"'", &out);
  cr_expect(exited(st, 1), "%s\n%s", how(st), out);
  cr_expect(strstr(out, "--set 1:1:") != NULL && strstr(out, "error: output.state: ") != NULL &&
                strstr(out, "afile") != NULL,
            "%s", out);
  cr_expect(!strstr(out, "compiled in"), "checked after compiling:\n%s", out);
  cr_expect_eq(count_lines(out, "epoch "), 0, "%s", out);
  free(out);
}
