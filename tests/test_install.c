/* `cmake --install`: a prefix that works on its own. The build tree is
 * installed into a scratch prefix, the prefix is moved (an installed
 * sparsec finds its runtime from its own path, backend/link.c), and,
 * where a mount namespace can be had (unshare), every command runs with
 * the build tree hidden behind an empty file system: building and
 * training a program, and embedding a bundle in a C program linked by
 * pkg-config. Also: sparsec(1) names every option of every command. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "program.h"
#include "workdir.h"

static void make_dir(void) {
  workdir_make("install");
}

static void remove_dir(void) {
  workdir_remove();
}

static int run(const char *cmd, char **out) {
  return workdir_run_clean(cmd, out);
}

/* ./hide CMD...: CMD with the build tree hidden, when this system lets a
 * process have its own mounts; else "" and every command runs as is. */
static const char *hiding(void) {
  write_file("hide", "#!/bin/sh\n"
                     "exec unshare --mount sh -c 'mount -t tmpfs hidden \"$1\" && shift && "
                     "exec \"$@\"' hide " SPARSEC_BUILD_TREE " \"$@\"\n");
  char *out;
  cr_assert_eq(run("chmod +x hide", &out), 0, "%s", out);
  free(out);
  int hidden = run("./hide test ! -e " SPARSEC_BINARY, &out) == 0;
  free(out);
  if (!hidden)
    cr_log_info("no mount namespace here: the prefix is tested moved, the build tree in place");
  return hidden ? "./hide " : "";
}

static void expect_file(const char *prefix, const char *path) {
  char full[512];
  snprintf(full, sizeof full, "%s/%s/%s", dir, prefix, path);
  cr_expect_eq(access(full, R_OK), 0, "%s is not installed", path);
}

static const char *const installed[] = {
    "bin/sparsec", "lib/libsparsert_serial.a", "lib/libsparsert.a", "lib/libsparsert_main.a",
    "lib/pkgconfig/sparsec.pc", "lib/pkgconfig/sparsec-bundle.pc", "include/sparsec/program.h", "include/sparsec/sparsert.h",
    "share/man/man1/sparsec.1", "share/man/man5/sparsec-spec.5",
    "share/sparsec/examples/toy_xor.spn", "share/sparsec/examples/embed/main.c",
    "share/doc/sparsec/README.md", "share/doc/sparsec/docs/aot.md", NULL};

/* `hide` and the prefix P, then CMD: its status, output in *out. */
static int in_prefix(const char *hide, const char *cmd, char **out) {
  char line[2048];
  snprintf(line, sizeof line, "{ P=%s/moved && %s%s; }", dir, hide, cmd);
  return run(line, out);
}

Test(install, prefix_works_moved_and_without_the_build_tree, .init = make_dir,
     .fini = remove_dir) {
  char *out;
  cr_assert_eq(run("{ cmake --install " SPARSEC_BUILD_TREE " --prefix first && mv first moved; }",
                   &out),
               0, "%s", out);
  free(out);
  for (int i = 0; installed[i]; i++)
    expect_file("moved", installed[i]);
  const char *hide = hiding();

  cr_assert_eq(in_prefix(hide, "$P/bin/sparsec --version", &out), 0, "%s", out);
  cr_expect(strstr(out, "sparsec ") == out && strstr(out, "(LLVM 16.") && strstr(out, ", CPU "),
            "%s", out);
  free(out);
  cr_assert_eq(in_prefix(hide,
                         "$P/bin/sparsec build $P/share/sparsec/examples/toy_xor.spn "
                         "--set train.lr=0.1 -o prog",
                         &out),
               0, "%s", out);
  free(out);
  cr_assert_eq(in_prefix(hide, "./prog train --epochs 2 --save w.safetensors", &out), 0, "%s",
               out);
  free(out);
  cr_assert_eq(in_prefix(hide,
                         "$P/bin/sparsec build $P/share/sparsec/examples/toy_xor.spn "
                         "--bundle b --blas openblas --embed-weights w.safetensors && "
                         "$P/bin/sparsec build $P/share/sparsec/examples/toy_xor.spn "
                         "--bundle lean --embed-weights w.safetensors",
                         &out),
               0, "%s", out);
  cr_expect(strstr(out, "/moved/lib/libsparsert_serial.a ") != NULL, "its own runtime: %s", out);
  free(out);
  /* the bundle, linked as a user would, by pkg-config */
  cr_assert_eq(in_prefix(hide,
                         "sh -c 'cc -I b $0/share/sparsec/examples/embed/main.c b/toy_xor.o "
                         "$(PKG_CONFIG_PATH=$0/lib/pkgconfig pkg-config --cflags --libs sparsec) "
                         "-o embed' $P",
                         &out),
               0, "%s", out);
  free(out);
  char *embedded, *predicted;
  cr_assert_eq(in_prefix(hide, "./embed $P/share/sparsec/examples/toy_xor_test.csv 2>/dev/null",
                         &embedded),
               0, "%s", embedded);
  cr_assert_eq(in_prefix(hide,
                         "./prog predict --weights w.safetensors "
                         "--input $P/share/sparsec/examples/toy_xor_test.csv 2>/dev/null",
                         &predicted),
               0, "%s", predicted);
  cr_expect(strlen(embedded) > 200, "%s", embedded);
  cr_expect_str_eq(embedded, predicted);
  free(embedded);
  /* by default (--blas auto) the toy net is BLAS-free: sparsec-bundle
   * links it without OpenBLAS or zlib; its loops sum in another order */
  cr_assert_eq(in_prefix(hide,
                         "sh -c 'cc -I lean $0/share/sparsec/examples/embed/main.c lean/toy_xor.o "
                         "$(PKG_CONFIG_PATH=$0/lib/pkgconfig pkg-config --cflags --libs "
                         "sparsec-bundle) -o lean_exe && ldd lean_exe' $P",
                         &out),
               0, "%s", out);
  cr_expect(strstr(out, "openblas") == NULL && strstr(out, "libz") == NULL, "%s", out);
  free(out);
  cr_assert_eq(in_prefix(hide,
                         "./lean_exe $P/share/sparsec/examples/toy_xor_test.csv 2>/dev/null",
                         &embedded),
               0, "%s", embedded);
  expect_close_predictions(embedded, predicted, 2, 200);
  free(embedded);
  free(predicted);
}

/* ---- sparsec(1) against the option tables ----------------------------------- */

static char *man_page(void) {
  FILE *f = fopen(SPARSEC_DOCS "/man/sparsec.1", "r");
  cr_assert_not_null(f);
  char *text = calloc(1, 1 << 17);
  size_t n = fread(text, 1, (1 << 17) - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* "--prune-dead" as troff writes it: "\-\-prune\-dead". */
static void expect_in_page(const char *page, const char *spelling, const char *where) {
  char troff[128] = "";
  for (const char *c = spelling; *c && strlen(troff) < sizeof troff - 3; c++)
    strncat(troff, *c == '-' ? "\\-" : (char[]){*c, 0}, sizeof troff - strlen(troff) - 1);
  cr_expect(strstr(page, troff) != NULL, "sparsec.1 lacks %s (%s)", spelling, where);
}

/* The option spellings of `sparsec CMD --help` (the lines of its table). */
static void expect_help_options(const char *page, const char *cmd) {
  char line[256], *out;
  snprintf(line, sizeof line, "%s %s --help", SPARSEC_BINARY, cmd);
  cr_assert_eq(run(line, &out), 0, "%s", out);
  int found = 0;
  for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
    if (strncmp(l, "  -", 3) != 0)
      continue;
    for (char *w = l + 2; *w == '-'; found++) { /* "-o PROG", "--name NAME", "-h, --help" */
      char spelling[64];
      snprintf(spelling, sizeof spelling, "%.*s", (int)strcspn(w, " ,"), w);
      expect_in_page(page, spelling, cmd);
      w += strcspn(w, ",");
      w += strspn(w, ", ");
    }
  }
  cr_expect_gt(found, 1, "no options in the help of %s", cmd);
  free(out);
}

Test(install, man_page_names_every_command_and_option, .init = make_dir, .fini = remove_dir) {
  char *page = man_page(), *out;
  cr_assert_eq(run(SPARSEC_BINARY " help", &out), 0, "%s", out);
  int commands = 0;
  for (char *l = strstr(out, "commands:\n"); l && (l = strstr(l, "\n  ")); commands++) {
    char cmd[32], heading[64];
    l += 3;
    snprintf(cmd, sizeof cmd, "%.*s", (int)strcspn(l, " \n"), l);
    snprintf(heading, sizeof heading, ".SS %s", cmd);
    if (cmd[0] == '-')
      expect_in_page(page, cmd, "sparsec help");
    else
      cr_expect(strstr(page, heading) != NULL, "sparsec.1 has no section for %s", cmd);
    if (strcmp(cmd, "help") != 0 && cmd[0] != '-')
      expect_help_options(page, cmd);
  }
  cr_expect_geq(commands, 6, "%s", out);
  free(out);
  /* PROG's commands: their tables */
  static const char *const prog[] = {"train", "eval", "predict"};
  for (int i = 0; i < 3; i++) {
    const char **names = sr_opt_names(sr_program_options(prog[i]));
    cr_assert_not_null(names);
    for (int k = 0; names[k]; k++)
      expect_in_page(page, names[k], prog[i]);
    free(names);
  }
  free(page);
}
