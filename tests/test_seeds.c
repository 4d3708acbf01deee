/* train.seeds = N / --seeds N: the whole run repeated with seed+1 ..
 * seed+N-1 at the sweep's kept lr, each figure's mean and sample standard
 * deviation (runtime/experiment.c, runtime/seed_stats.c). On
 * examples/toy_xor.spn (320 training examples, 32 minibatches an epoch;
 * at lr 0.03 seed 1 stops early after 36 epochs: steps 1..1152), each run
 * a second or two: same seed, same numbers; seeds differ; the summary is
 * the per-seed figures' mean and sd; the first seed is the plain run
 * (and seed k the plain run with seed k); interrupted in the second seed
 * and resumed, the uninterrupted run; bad values are located errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workdir.h"

static void make_dir(void) {
  workdir_make("seeds");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cp %s/toy_xor.spn %s/toy_xor_train.csv %s/toy_xor_test.csv %s",
           SPARSEC_EXAMPLES, SPARSEC_EXAMPLES, SPARSEC_EXAMPLES, dir);
  cr_assert_eq(system(cmd), 0);
}

static void remove_dir(void) {
  workdir_remove();
}

TestSuite(seeds, .init = make_dir, .fini = remove_dir);

#define OUTPUTS "--set output.checkpoint=out/c.safetensors --set output.metrics=out/m.csv"

/* `sparsec run toy_xor.spn ARGS OUTPUTS` (with env assignments in `env`):
 * its exit status, its output in *out. */
static int run(const char *env, const char *args, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s run toy_xor.spn %s " OUTPUTS, env, SPARSEC_BINARY, args);
  return workdir_run_clean(cmd, out);
}

static void shell(const char *fmt, const char *arg) {
  char cmd[512], line[700];
  snprintf(cmd, sizeof cmd, fmt, arg);
  snprintf(line, sizeof line, "cd %s && %s", dir, cmd);
  cr_assert_eq(system(line), 0, "%s", line);
}

/* The lines of `out` that start with `prefix`, joined. */
static char *lines_with(const char *out, const char *prefix) {
  char *joined = calloc(1, strlen(out) + 1), *o = joined;
  for (const char *line = out; *line;) {
    size_t len = strcspn(line, "\n");
    if (strncmp(line, prefix, strlen(prefix)) == 0) {
      memcpy(o, line, len + (line[len] == '\n'));
      o += len + (line[len] == '\n');
    }
    line += len + (line[len] == '\n');
  }
  return joined;
}

/* The first line starting with `prefix`, or NULL. */
static const char *line_at(const char *out, const char *prefix) {
  for (const char *line = out; *line;) {
    if (strncmp(line, prefix, strlen(prefix)) == 0)
      return line;
    line += strcspn(line, "\n");
    line += *line == '\n';
  }
  return NULL;
}

/* A file of dir without its last column (the seconds), for comparing. */
static char *without_seconds(const char *name) {
  char cmd[256], *out;
  snprintf(cmd, sizeof cmd, "sed 's/,[^,]*$//' %s", name);
  cr_assert_eq(workdir_run(cmd, &out), 0, "%s", out);
  return out;
}

static int same_files(const char *a, const char *b) {
  char cmd[512], *out;
  snprintf(cmd, sizeof cmd, "cmp %s %s", a, b);
  int rc = workdir_run(cmd, &out);
  free(out);
  return rc == 0;
}

/* ---- (a) the same seed gives the same numbers -------------------------------- */

Test(seeds, the_same_seeds_give_identical_numbers) {
  char *first, *second;
  cr_assert_eq(run("", "--set train.lr=0.03 --seeds 2", &first), 0, "%s", first);
  shell("cp out/c.safetensors c1.safetensors && cp out/m.csv m1.csv", "");
  cr_assert_eq(run("", "--set train.lr=0.03 --seeds 2", &second), 0, "%s", second);
  char *a = lines_with(first, "seed"), *b = lines_with(second, "seed");
  cr_expect(strlen(a) > 0 && line_at(first, "seeds: test error "), "%s", first);
  cr_expect_str_eq(a, b);
  char *m1 = without_seconds("m1.csv"), *m2 = without_seconds("out/m.csv");
  cr_expect_str_eq(m1, m2, "the metrics differ");
  cr_expect(same_files("c1.safetensors", "out/c.safetensors"), "the checkpoints differ");
  free(first), free(second), free(a), free(b), free(m1), free(m2);
}

/* ---- (b) seeds differ; the summary is their mean and sd ------------------------ */

/* Each seed's value of the figure `name` ("test error ") on its line
 * "seed S: ..., NAME X..." into x[]; their count. */
static int per_seed(const char *out, const char *name, double *x, int max) {
  int n = 0;
  for (const char *line = out; *line && n < max;) {
    size_t len = strcspn(line, "\n");
    if (strncmp(line, "seed ", 5) == 0) {
      char *text = strndup(line, len);
      const char *at = strstr(text, name);
      cr_assert_not_null(at, "no '%s' in '%s'", name, text);
      x[n++] = strtod(at + strlen(name), NULL);
      free(text);
    }
    line += len + (line[len] == '\n');
  }
  return n;
}

/* "seeds: NAME M% +- SD (a, b, c)": M and SD, and the values listed. */
static void summary(const char *out, const char *name, double *mean, double *sd, double *x,
                    int n) {
  char prefix[128];
  snprintf(prefix, sizeof prefix, "seeds: %s ", name);
  const char *line = line_at(out, prefix);
  cr_assert_not_null(line, "no line '%s':\n%s", prefix, out);
  char *end;
  *mean = strtod(line + strlen(prefix), &end);
  end += *end == '%';
  cr_assert(strncmp(end, " +- ", 4) == 0, "%s", line);
  *sd = strtod(end + 4, &end);
  cr_assert(strncmp(end, " (", 2) == 0, "%s", line);
  end += 2;
  for (int i = 0; i < n; i++) {
    x[i] = strtod(end, &end);
    cr_assert(*end == (i == n - 1 ? ')' : ','), "%s", line);
    end += 2;
  }
}

static void expect_mean_sd(const char *out, const char *line_name, const char *summary_name,
                           double digits) {
  double x[3], listed[3], mean, sd, want_mean = 0, want_sd = 0;
  cr_assert_eq(per_seed(out, line_name, x, 3), 3, "%s", out);
  summary(out, summary_name, &mean, &sd, listed, 3);
  for (int i = 0; i < 3; i++) {
    cr_expect(fabs(listed[i] - x[i]) < 0.5 * digits, "%s: seed %d", summary_name, i + 1);
    want_mean += x[i] / 3;
  }
  for (int i = 0; i < 3; i++)
    want_sd += (x[i] - want_mean) * (x[i] - want_mean) / 2;
  want_sd = sqrt(want_sd);
  /* the per-seed values are rounded to `digits`: so may the mean be */
  cr_expect(fabs(mean - want_mean) <= digits, "%s: mean %g, from the seeds %g", summary_name, mean,
            want_mean);
  cr_expect(fabs(sd - want_sd) <= 2 * digits, "%s: sd %g, from the seeds %g", summary_name, sd,
            want_sd);
  cr_expect(!(x[0] == x[1] && x[1] == x[2]), "%s: three seeds, one value", summary_name);
}

/* A "seed S:" line's figures without its name. */
static char *figures_of(const char *out, const char *prefix) {
  const char *line = line_at(out, prefix);
  cr_assert_not_null(line, "no '%s':\n%s", prefix, out);
  line += strlen(prefix);
  return strndup(line, strcspn(line, "\n"));
}

Test(seeds, three_seeds_differ_and_the_summary_is_their_mean_and_sd) {
  char *out;
  cr_assert_eq(run("", "--seeds 3", &out), 0, "%s", out);
  cr_expect(line_at(out, "seeds: 3 (1, 2, 3) at lr 0.03\n"), "%s", out);
  expect_mean_sd(out, "test error ", "test error", 0.01);
  expect_mean_sd(out, "valid error ", "valid error", 0.01);
  expect_mean_sd(out, "test data loss ", "test data loss", 0.0001);
  expect_mean_sd(out, " h1 ", "zeros h1", 0.1);
  /* the kept model's lines stay, last, the first seed's */
  cr_expect(line_at(out, "seeds: the model kept is seed 1's"), "%s", out);
  char *first = figures_of(out, "seed 1: "), *kept = figures_of(out, "test error: ");
  cr_expect(strncmp(first, "test error ", 11) == 0 && strcmp(first + 11, kept) > 0 &&
                strncmp(first + 11, kept, strlen(kept)) == 0,
            "seed 1: %s; kept: %s", first, kept);
  free(first), free(kept);
  /* every seed's epochs in the metrics, told apart by the seed column */
  char *rows, cmd[] = "awk -F, 'NR > 1 { n[$1 \" \" $(NF-1)]++ } END { for (k in n) print k }' "
                      "out/m.csv | sort";
  cr_assert_eq(workdir_run(cmd, &rows), 0);
  cr_expect_str_eq(rows, "lr=0.01 1\nlr=0.03 1\nlr=0.03 2\nlr=0.03 3\nlr=0.1 1\n");
  free(rows);
  free(out);
}

/* ---- (c) the first seed is the plain run; seed k the run with seed k ----------- */

Test(seeds, the_first_seed_is_the_plain_run) {
  char *seeds, *plain, *second;
  cr_assert_eq(run("", "--seeds 2", &seeds), 0, "%s", seeds);
  shell("cp out/c.safetensors seeds.safetensors", "");
  /* the sweep picks lr 0.03: a run of it alone is the first seed */
  cr_assert_eq(run("", "--set train.lr=0.03", &plain), 0, "%s", plain);
  cr_expect(same_files("seeds.safetensors", "out/c.safetensors"),
            "the kept model is not the plain run's");
  char want[256];
  snprintf(want, sizeof want, "%s", line_at(plain, "test error: "));
  cr_expect(strstr(seeds, want), "the kept test error %s", want);
  /* seed 2 is the run with seed 2, pretraining and early stopping included */
  cr_assert_eq(run("", "--set train.lr=0.03 --set train.seed=2 --seeds 1", &second), 0, "%s",
               second);
  char *alone = lines_with(second, "best validation error");
  char *in_seeds = figures_of(seeds, "seed 2: ");
  const char *best = strstr(in_seeds, "best epoch ");
  char epoch[64];
  snprintf(epoch, sizeof epoch, "at epoch %d ", atoi(best + strlen("best epoch ")));
  cr_expect(strstr(alone, epoch), "seed 2: %s; alone: %s", in_seeds, alone);
  double test = strtod(strstr(in_seeds, "test error ") + 11, NULL);
  char *last = figures_of(second, "test error: ");
  cr_expect(fabs(strtod(last, NULL) - test) < 1e-9, "seed 2: %s; alone: %s", in_seeds, last);
  free(seeds), free(plain), free(second), free(alone), free(in_seeds), free(last);
}

/* ---- (d) interrupted in the second seed, resumed ------------------------------- */

Test(seeds, interrupted_in_the_second_seed_resumes_as_one_run) {
  char *base, *stopped, *resumed, *refused;
  cr_assert_eq(run("", "--set train.lr=0.03 --seeds 3", &base), 0, "%s", base);
  shell("cp out/c.safetensors base.safetensors && cp out/m.csv base.csv && rm -r out", "");
  /* step 1200: seed 1 took steps 1..1152; the 48th of seed 2 */
  int st = run("SPARSEC_SIGNAL_AT=step:1200", "--set train.lr=0.03 --seeds 3", &stopped);
  cr_assert_eq(st, 130, "%s", stopped);
  cr_expect(strstr(stopped, "interrupted in epoch 2, step 15 of 32, seed 2 (2 of 3): 1 epoch "
                            "done; best validation error at epoch "),
            "%s", stopped);
  cr_expect(line_at(stopped, "seed 1: "), "seed 1 was done:\n%s", stopped);
  shell("cp out/c.state.safetensors seed2.state.safetensors", "");
  /* a run of fewer seeds than the state is in refuses it */
  cr_expect_eq(run("", "--set train.lr=0.03 --resume seed2.state.safetensors", &refused), 1,
               "%s", refused);
  cr_expect(strstr(refused, "resume it with --seeds 2 or more"), "%s", refused);
  cr_assert_eq(run("", "--set train.lr=0.03 --seeds 3 --resume out/c.state.safetensors",
                   &resumed), 0, "%s", resumed);
  cr_expect(strstr(resumed, "resuming from out/c.state.safetensors: epoch 2, step 15 of 32, "
                            "seed 2 (2 of 3)\n"), "%s", resumed);
  cr_expect(!line_at(resumed, "seed 1: "), "seed 1 is not run again:\n%s", resumed);
  char *a = lines_with(base, "seeds: "), *b = lines_with(resumed, "seeds: ");
  cr_expect_str_eq(b, a, "the summary differs");
  cr_expect(same_files("base.safetensors", "out/c.safetensors"), "the checkpoints differ");
  char *m1 = without_seconds("base.csv"), *m2 = without_seconds("out/m.csv");
  cr_expect_str_eq(m2, m1, "the metrics differ");
  free(base), free(stopped), free(resumed), free(refused), free(a), free(b), free(m1), free(m2);
}

/* ---- data without a validation set --------------------------------------------- */

Test(seeds, without_validation_the_figures_that_exist) {
  char *out;
  cr_assert_eq(run("", "--set train.lr=0.03 --set data.validation=0 --set train.epochs=3 "
                       "--seeds 2", &out), 0, "%s", out);
  cr_expect(line_at(out, "seeds: test error "), "%s", out);
  cr_expect(!strstr(out, "valid error"), "%s", out);
  cr_expect(line_at(out, "seeds: best epoch 3.0 +- 0.0 (3, 3)\n"), "%s", out);
  free(out);
}

/* ---- (e) bad values: located errors -------------------------------------------- */

Test(seeds, bad_values_are_located_errors) {
  char *out;
  shell("sed 's/patience = 10 /seeds = 0 patience = 10/' toy_xor.spn > bad.spn", "");
  cr_expect_eq(workdir_run(SPARSEC_BINARY " check bad.spn", &out), 1);
  cr_expect(strstr(out, "bad.spn:19:11: error: 'seeds' must be between 1 and 1000, not 0\n"
                        "   19 |   seeds = 0 patience = 10"),
            "%s", out);
  cr_expect(strstr(out, "\n      |           ^\n"), "%s", out);
  free(out);
  cr_expect_eq(workdir_run(SPARSEC_BINARY " check toy_xor.spn --set train.seeds=1001", &out), 1);
  cr_expect(strstr(out, "--set 1:1:13: error: 'seeds' must be between 1 and 1000, not 1001\n"),
            "%s", out);
  free(out);
  const char *bad[] = {"0", "-1", "1001", "3.5"};
  for (int i = 0; i < 4; i++) {
    char cmd[256], want[128];
    snprintf(cmd, sizeof cmd, SPARSEC_BINARY " run toy_xor.spn --seeds %s", bad[i]);
    cr_expect_eq(workdir_run(cmd, &out), 2, "%s", out);
    snprintf(want, sizeof want, "sparsec: --seeds takes a whole number from 1 to 1000, not '%s'\n",
             bad[i]);
    cr_expect(strncmp(out, want, strlen(want)) == 0, "%s", out);
    free(out);
  }
}

/* PROG train takes --seeds from the same table entry. */
Test(seeds, built_programs_take_seeds_too) {
  char *out;
  cr_assert_eq(workdir_run(SPARSEC_BINARY " build toy_xor.spn --set train.lr=0.03 -o prog", &out),
               0, "%s", out);
  free(out);
  cr_assert_eq(workdir_run("./prog train --epochs 3 --seeds 2", &out), 0, "%s", out);
  cr_expect(line_at(out, "seed 2: "), "%s", out);
  cr_expect(line_at(out, "seeds: 2 (1, 2) at lr 0.03\n"), "%s", out);
  free(out);
  cr_expect_eq(workdir_run("./prog train --seeds 1001", &out), 2, "%s", out);
  cr_expect(strstr(out, "--seeds takes a whole number from 1 to 1000, not '1001'"), "%s", out);
  free(out);
}
