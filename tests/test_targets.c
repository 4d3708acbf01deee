/* What `sparsec build` compiles for, and that it says so truthfully: the
 * x86-64 levels give code without the instructions of the levels above
 * (read back with objdump, from binutils), the CPU and the features the
 * code uses are stated in the build output, NAME.h and PROG --version,
 * and a program or bundle on a CPU without them names what is missing
 * instead of dying of SIGILL (runtime/cpu.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h" /* the runtime's folder and link flags */
#include "program.h"
#include "workdir.h"

static void make_dir(void) {
  workdir_make("targets");
  write_blob_data(NULL);
  write_file("blobs.spn", "model {\n  input = 16\n"
                          "  layer h1 = dense(64, relu)\n  layer h2 = dense(64, relu)\n"
                          "  layer out = dense(3, softmax)\n}\n"
                          "train { lr = 0.1  batch = 8  epochs = 1  seed = 3 }\n"
                          "data {\n  train = idx(\"train-x.idx\", \"train-y.idx\")\n"
                          "  test = idx(\"test-x.idx\", \"test-y.idx\")\n  scale = 1/255\n}\n");
}

static void remove_dir(void) {
  workdir_remove();
}

static int run(const char *cmd, char **out) {
  return workdir_run_clean(cmd, out);
}

static int sparsec(const char *args, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s", SPARSEC_BINARY, args);
  return run(cmd, out);
}

/* Lines of `objdump -d FILE` that name the register class `reg` (zmm, ymm). */
static int instructions_using(const char *file, const char *reg) {
  char cmd[256], *out;
  snprintf(cmd, sizeof cmd, "objdump -d %s | grep -c '%%%s'", file, reg);
  run(cmd, &out); /* grep -c exits 1 when it counts 0 */
  int n = atoi(out);
  free(out);
  return n;
}

/* A bundle in DIR for --cpu CPU; its build output in *out. */
static void build_bundle(const char *cpu, const char *folder, char **out) {
  char args[256];
  snprintf(args, sizeof args, "build blobs.spn --bundle %s --cpu %s", folder, cpu);
  cr_assert_eq(sparsec(args, out), 0, "%s", *out);
}

Test(targets, x86_64_v3_uses_ymm_and_no_avx512, .init = make_dir, .fini = remove_dir) {
  char *out;
  build_bundle("x86-64-v3", "v3", &out);
  cr_expect(strstr(out, "for x86_64-pc-linux-gnu, CPU x86-64-v3 (uses x86-64-v3) in ") != NULL,
            "%s", out);
  free(out);
  cr_expect_eq(instructions_using("v3/blobs.o", "zmm"), 0, "AVX-512 in an x86-64-v3 object");
  cr_expect_gt(instructions_using("v3/blobs.o", "ymm"), 0, "the kernels use AVX2's ymm");
  cr_assert_eq(run("grep -c 'CPU x86-64-v3' v3/blobs.h", &out), 0, "the header says x86-64-v3");
  free(out);
}

Test(targets, x86_64_baseline_uses_no_ymm, .init = make_dir, .fini = remove_dir) {
  char *out;
  build_bundle("x86-64", "base", &out);
  cr_expect(strstr(out, ", CPU x86-64 in ") != NULL, "no feature to check: %s", out);
  free(out);
  cr_expect_eq(instructions_using("base/blobs.o", "ymm"), 0, "AVX in an x86-64 object");
  cr_expect_eq(instructions_using("base/blobs.o", "zmm"), 0, "AVX-512 in an x86-64 object");
  cr_expect_gt(instructions_using("base/blobs.o", "xmm"), 0, "SSE2 is baseline");
}

Test(targets, x86_64_v4_uses_zmm, .init = make_dir, .fini = remove_dir) {
  char *out;
  build_bundle("x86-64-v4", "v4", &out);
  free(out);
  cr_expect_gt(instructions_using("v4/blobs.o", "zmm"), 0, "x86-64-v4 has AVX-512");
}

/* By default the host's CPU: said so, with the features `sparsec --version`
 * lists for it. */
Test(targets, default_is_the_host_and_says_so, .init = make_dir, .fini = remove_dir) {
  char *out, *version;
  cr_assert_eq(sparsec("--version", &version), 0, "%s", version);
  cr_expect(strstr(version, "(LLVM 16.") != NULL, "%s", version);
  char model[64], named[80];
  sr_cpu_model(model, sizeof model);
  snprintf(named, sizeof named, "(%s)", model);
  cr_expect(!model[0] || strstr(version, named) != NULL, "no %s in: %s", named, version);
  const char *with = strstr(version, ", with ");
  cr_assert_eq(sparsec("build blobs.spn -o prog", &out), 0, "%s", out);
  cr_expect(strstr(out, ", the host's") != NULL, "%s", out);
  if (with) { /* the same features, in the same order */
    char uses[700];
    snprintf(uses, sizeof uses, "(uses %.*s)", (int)strcspn(with + 7, "\n"), with + 7);
    cr_expect(strstr(out, uses) != NULL, "%s\nnot in:\n%s", uses, out);
  }
  free(out);
  /* --target naming the host's own triple is the host too */
  const char *host = strstr(version, "host: ");
  cr_assert_not_null(host, "%s", version);
  char args[256];
  snprintf(args, sizeof args, "build blobs.spn --emit obj -o same.o --target %.*s",
           (int)strcspn(host + 6, ","), host + 6);
  cr_assert_eq(sparsec(args, &out), 0, "%s", out);
  cr_expect(strstr(out, ", the host's") != NULL, "%s", out);
  free(out);
  cr_assert_eq(run("./prog --version", &out), 0, "%s", out);
  char runs[128];
  snprintf(runs, sizeof runs, "this CPU%s%s runs it", model[0] ? " " : "", model[0] ? named : "");
  cr_expect(strstr(out, "the host's") != NULL && strstr(out, runs) != NULL, "%s", out);
  free(out);
  free(version);
}

Test(targets, unknown_cpu_is_an_error, .init = make_dir, .fini = remove_dir) {
  char *out;
  cr_expect_eq(sparsec("build blobs.spn --cpu skylak -o prog", &out), 1, "%s", out);
  cr_expect(strstr(out, "--cpu skylak: LLVM knows no such CPU for x86_64") != NULL, "%s", out);
  cr_expect(strstr(out, "not a recognized processor") == NULL, "LLVM's warning: %s", out);
  free(out);
  cr_expect_neq(run("test -e prog", &out), 0, "no program");
  free(out);
}

/* AMD's Bulldozer had FMA4 and XOP, which no later CPU has: code built for
 * it is refused, with the names, by the program and by a bundle. */
static const char *probe_c =
    "#include <stdio.h>\n#include \"blobs.h\"\n"
    "int main(void) {\n"
    "  char err[512] = \"\";\n"
    "  int rc = blobs_check_cpu(err, sizeof err);\n"
    "  printf(\"check_cpu %d: %s\\n\", rc, err);\n"
    "  blobs_ctx *m = blobs_create(NULL, err, sizeof err);\n"
    "  printf(\"create %s: %s\\n\", m ? \"ok\" : \"NULL\", err);\n"
    "  blobs_free(m);\n"
    "  return 0;\n}\n";

Test(targets, missing_features_are_named, .init = make_dir, .fini = remove_dir) {
  if (sr_cpu_has("xop") != 0 || sr_cpu_has("fma4") != 0)
    cr_skip_test("this CPU has XOP and FMA4 (or cannot tell): nothing is missing");
  char *out;
  cr_assert_eq(sparsec("build blobs.spn --cpu bdver2 -o old", &out), 0, "%s", out);
  cr_expect(strstr(out, "CPU bdver2 (uses ") != NULL && strstr(out, "fma4,xop)") != NULL, "%s",
            out);
  free(out);
  cr_expect_eq(run("./old eval", &out), 1, "%s", out);
  cr_expect(strstr(out, "error: this CPU lacks ") != NULL && strstr(out, "fma4, xop, which") &&
                strstr(out, "rebuild it with `sparsec build --cpu x86-64"),
            "%s", out);
  free(out);
  cr_expect_eq(run("./old --help", &out), 0, "help runs none of the model's code: %s", out);
  free(out);
  cr_expect_eq(run("./old --version", &out), 1, "%s", out);
  cr_expect(strstr(out, "CPU bdver2, using ") != NULL && strstr(out, "this CPU lacks "), "%s",
            out);
  free(out);

  build_bundle("bdver2", ".", &out);
  free(out);
  write_file("probe.c", probe_c);
  char link[1024];
  snprintf(link, sizeof link, "cc -I . probe.c blobs.o %s/%s %s -o probe", link_runtime_dir(),
           link_runtime_archive(0), link_flags());
  cr_assert_eq(run(link, &out), 0, "%s", out);
  free(out);
  cr_assert_eq(run("./probe", &out), 0, "%s", out);
  cr_expect(strstr(out, "check_cpu -3: this CPU lacks ") != NULL, "%s", out);
  cr_expect(strstr(out, "create NULL: this CPU lacks ") != NULL, "%s", out);
  free(out);
}

/* A program for another architecture needs that architecture's runtime:
 * said before anything is written; the bundle's object is made. */
Test(targets, aarch64_program_needs_its_runtime, .init = make_dir, .fini = remove_dir) {
  char *out;
  cr_expect_eq(run("env -u SPARSEC_RUNTIME_DIR " SPARSEC_BINARY
                   " build blobs.spn --target aarch64-linux-gnu -o arm",
                   &out),
               1, "%s", out);
  cr_expect(strstr(out, "cannot link a program for aarch64-unknown-linux-gnu") != NULL, "%s", out);
  free(out);
  cr_expect_eq(sparsec("build blobs.spn --target aarch64-linux-gnu --cpu native --bundle n", &out),
               1, "%s", out);
  cr_expect(strstr(out, "--cpu native is the host's CPU, which is not one of aarch64") != NULL,
            "%s", out);
  free(out);
  cr_assert_eq(sparsec("build blobs.spn --target aarch64-linux-gnu --bundle arm", &out), 0, "%s",
               out);
  cr_expect(strstr(out, "link on the target (aarch64-unknown-linux-gnu) with: ") != NULL, "%s",
            out);
  free(out);
  cr_assert_eq(run("od -An -tu2 -j18 -N2 arm/blobs.o", &out), 0, "%s", out);
  cr_expect_eq(atoi(out), 183, "e_machine EM_AARCH64: %s", out);
  free(out);
}
