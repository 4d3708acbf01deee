/* The option parser every command line goes through (runtime/options.h):
 * its messages, its help, and that each command's help lists its table. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "program.h"

typedef struct Args {
  int count, verbose, mode;
  double rate;
  const char *out, *input;
  const char *files[4];
  int nfiles;
} Args;

static const char *const modes[] = {"fast", "exact", "dense", NULL};

static int add_file(void *target, const char *arg, SrOptError *err) {
  Args *a = target;
  if (a->nfiles == 4) {
    snprintf(err->msg, sizeof err->msg, "too many files at '%s'", arg);
    return -1;
  }
  a->files[a->nfiles++] = arg;
  return 0;
}

static const SrOption options[] = {
    {"count", 'n', SR_OPT_INT, NULL, "how many (default 1)", .min = 1, .max = 64,
     .offset = offsetof(Args, count)},
    {"verbose", 0, SR_OPT_FLAG, NULL, "say more", .offset = offsetof(Args, verbose)},
    {"mode", 0, SR_OPT_ENUM, NULL, "how to go\nsecond line", .values = modes,
     .offset = offsetof(Args, mode)},
    {"rate", 0, SR_OPT_REAL, "R", "a rate", .rmin = 0, .rmax = 1, .offset = offsetof(Args, rate)},
    {NULL, 'o', SR_OPT_FILE, "PROG", "the output", .offset = offsetof(Args, out)},
    {"input", 0, SR_OPT_FILE, NULL, "the input", .offset = offsetof(Args, input),
     .flags = SR_OPT_REQUIRED},
    {0}};

static const SrOptTable table = {.command = "demo", .options = options, .positional = add_file};

/* Parses the words (argv[0] is the command) into *a. */
static int parse(Args *a, SrOptError *err, const char *const *words) {
  int argc = 0;
  while (words[argc])
    argc++;
  memset(a, 0, sizeof *a);
  return sr_opt_parse(&table, a, argc, (char *const *)words, 1, err);
}

Test(options, parses_every_kind) {
  Args a;
  SrOptError err;
  const char *const w[] = {"demo", "--count", "5", "--verbose", "--mode=dense", "-o", "p",
                           "x.spn", "--rate", "0.25", "--input", "in", "--", "-y", NULL};
  cr_assert_eq(parse(&a, &err, w), 0, "%s", err.msg);
  cr_expect_eq(a.count, 5);
  cr_expect_eq(a.verbose, 1);
  cr_expect_eq(a.mode, 2);
  cr_expect_float_eq(a.rate, 0.25, 1e-12);
  cr_expect_str_eq(a.out, "p");
  cr_expect_str_eq(a.input, "in");
  cr_assert_eq(a.nfiles, 2);
  cr_expect_str_eq(a.files[0], "x.spn");
  cr_expect_str_eq(a.files[1], "-y"); /* after --, options end */
  const char *const help[] = {"demo", "--count", "2", "-h", NULL};
  cr_expect_eq(parse(&a, &err, help), SR_OPT_HELP);
}

Test(options, unknown_option_suggests_the_closest) {
  Args a;
  SrOptError err;
  const char *const w[] = {"demo", "--input", "i", "--verbos", NULL};
  cr_assert_eq(parse(&a, &err, w), -1);
  cr_expect_str_eq(err.msg, "unknown option '--verbos' of demo");
  cr_expect_str_eq(err.note, "did you mean '--verbose'?");
  cr_expect_eq(err.index, 3); /* the word to point at */
  const char *const far[] = {"demo", "--frobnicate=3", NULL};
  cr_assert_eq(parse(&a, &err, far), -1);
  cr_expect_str_eq(err.msg, "unknown option '--frobnicate' of demo");
  cr_expect_str_eq(err.note, "");
}

/* Digits only, the range stated: no sign, blank, exponent or overflow. */
Test(options, integers_are_exact_and_in_range) {
  static const char *const bad[] = {"+5", " 5", "5 ", "1e3", "0x10", "1.5", "", "-1", "0", "65",
                                    "99999999999999999999", "18446744073709551617"};
  Args a;
  SrOptError err;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *const w[] = {"demo", "--input", "i", "--count", bad[i], NULL};
    cr_assert_eq(parse(&a, &err, w), -1, "%s", bad[i]);
    char want[256];
    snprintf(want, sizeof want, "--count takes a whole number from 1 to 64, not '%s'", bad[i]);
    cr_expect_str_eq(err.msg, want);
    cr_expect_eq(err.index, 4, "the value's word");
  }
  const char *const ok[] = {"demo", "--input", "i", "-n", "64", NULL};
  cr_assert_eq(parse(&a, &err, ok), 0, "%s", err.msg);
  cr_expect_eq(a.count, 64);
  const char *const missing[] = {"demo", "--input", "i", "--count", NULL};
  cr_assert_eq(parse(&a, &err, missing), -1);
  cr_expect_str_eq(err.msg, "--count needs a value: a whole number from 1 to 64");
  cr_expect_eq(err.index, 3, "the option's word");
}

Test(options, reals_are_finite_and_in_range) {
  static const char *const bad[] = {"2", "-0.5", "nan", "inf", " 0.5", "0.5x", ""};
  Args a;
  SrOptError err;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *const w[] = {"demo", "--input", "i", "--rate", bad[i], NULL};
    cr_assert_eq(parse(&a, &err, w), -1, "%s", bad[i]);
    cr_expect(strstr(err.msg, "--rate takes a number from 0 to 1, not '") == err.msg, "%s",
              err.msg);
  }
}

Test(options, enums_list_their_values) {
  Args a;
  SrOptError err;
  const char *const w[] = {"demo", "--input", "i", "--mode", "exakt", NULL};
  cr_assert_eq(parse(&a, &err, w), -1);
  cr_expect_str_eq(err.msg, "--mode takes fast, exact or dense, not 'exakt'");
  cr_expect_str_eq(err.note, "did you mean 'exact'?");
  cr_expect_eq(err.index, 4);
  const char *const missing[] = {"demo", "--input", "i", "--mode", NULL};
  cr_assert_eq(parse(&a, &err, missing), -1);
  cr_expect_str_eq(err.msg, "--mode needs a value: fast, exact or dense");
}

Test(options, flags_required_and_positional) {
  Args a;
  SrOptError err;
  const char *const flag[] = {"demo", "--verbose=1", NULL};
  cr_assert_eq(parse(&a, &err, flag), -1);
  cr_expect_str_eq(err.msg, "--verbose takes no value");
  const char *const none[] = {"demo", "x", NULL};
  cr_assert_eq(parse(&a, &err, none), -1);
  cr_expect_str_eq(err.msg, "demo needs --input FILE");
  const char *const many[] = {"demo", "--input", "i", "1", "2", "3", "4", "5", NULL};
  cr_assert_eq(parse(&a, &err, many), -1);
  cr_expect_str_eq(err.msg, "too many files at '5'");
  cr_expect_eq(err.index, 7);
  SrOptTable closed = table;
  closed.positional = NULL;
  const char *const stray[] = {"demo", "stray", NULL};
  memset(&a, 0, sizeof a);
  cr_assert_eq(sr_opt_parse(&closed, &a, 2, (char *const *)stray, 1, &err), -1);
  cr_expect_str_eq(err.msg, "unexpected argument 'stray'");
}

static char *help_of(const SrOptTable *t, const char *indent) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  cr_assert_not_null(f);
  sr_opt_help(t, indent, f);
  fclose(f);
  return text;
}

Test(options, help_comes_from_the_table) {
  char *help = help_of(&table, "");
  cr_expect_str_eq(help, "  -n, --count N            how many (default 1)\n"
                         "  --verbose                say more\n"
                         "  --mode fast|exact|dense  how to go\n"
                         "                           second line\n"
                         "  --rate R                 a rate\n"
                         "  -o PROG                  the output\n"
                         "  --input FILE             the input\n"
                         "  -h, --help               this help\n");
  free(help);
  const char **names = sr_opt_names(&table);
  cr_assert_not_null(names);
  static const char *const want[] = {"--count", "-n", "--verbose", "--mode", "--rate", "-o",
                                     "--input", NULL};
  for (int i = 0; want[i]; i++)
    cr_expect_str_eq(names[i] ? names[i] : "(end)", want[i]);
  cr_expect_null(names[7]);
  free(names);
  cr_expect_eq(sr_opt_find(&table, "--mode=fast"), &options[2]);
  cr_expect_eq(sr_opt_find(&table, "-o"), &options[4]);
  cr_expect_null(sr_opt_find(&table, "--mod"));
}

/* A shared group (`also`) parses into its part of the target. */
typedef struct Outer {
  int strict;
  Args inner;
} Outer;

Test(options, groups_parse_into_their_part) {
  static const SrOption own[] = {
      {"strict", 0, SR_OPT_FLAG, NULL, "stop", .offset = offsetof(Outer, strict)}, {0}};
  SrOptTable inner = table;
  inner.positional = NULL;
  const SrOptTable outer = {.command = "outer", .options = own, .also = &inner,
                            .also_at = offsetof(Outer, inner)};
  Outer o = {0};
  SrOptError err;
  const char *const w[] = {"outer", "--strict", "--input", "i", "--count", "3", NULL};
  cr_assert_eq(sr_opt_parse(&outer, &o, 6, (char *const *)w, 1, &err), 0, "%s", err.msg);
  cr_expect_eq(o.strict, 1);
  cr_expect_eq(o.inner.count, 3);
  cr_expect_str_eq(o.inner.input, "i");
  char *help = help_of(&outer, "");
  cr_expect(strstr(help, "  --strict ") && strstr(help, "  --input FILE "), "%s", help);
  free(help);
}

/* Every option of each table of a built program is in PROG's help. */
Test(options, program_help_lists_each_table) {
  static const char *const commands[] = {"train", "eval", "predict", NULL};
  for (int c = 0; commands[c]; c++) {
    const SrOptTable *t = sr_program_options(commands[c]);
    cr_assert_not_null(t, "%s", commands[c]);
    char *help = help_of(t, "    ");
    const char **names = sr_opt_names(t);
    for (int i = 0; names[i]; i++) {
      char word[80], shorter[80], longer[80]; /* "  --epochs ", "-q, --quiet " */
      snprintf(word, sizeof word, "      %s ", names[i]); /* indent + "  " */
      snprintf(shorter, sizeof shorter, "      %s, --", names[i]);
      snprintf(longer, sizeof longer, ", %s ", names[i]);
      cr_expect(strstr(help, word) || strstr(help, shorter) || strstr(help, longer),
                "%s: %s not in\n%s", commands[c], names[i], help);
    }
    free(names);
    free(help);
  }
  cr_expect_null(sr_program_options("fly"));
  SrOptError err;
  const char *const w[] = {"prog", "predict", "--weights", "w", NULL};
  _Alignas(max_align_t) char dummy[512] = {0}; /* PROG's Options, unseen here */
  cr_expect_eq(sr_opt_parse(sr_program_options("predict"), dummy, 4, (char *const *)w, 2, &err),
               -1);
  cr_expect_str_eq(err.msg, "predict needs --input FILE");
}

/* `sparsec CMD --help` lists every option its table has (and the parser
 * takes each of them: an unknown one would be a usage error). */
static char *sparsec_help(const char *command) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s %s --help 2>&1", SPARSEC_BINARY, command);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  char *text = calloc(1, 65536);
  size_t n = fread(text, 1, 65535, p);
  text[n] = '\0';
  cr_expect_eq(pclose(p), 0, "%s --help: %s", command, text);
  return text;
}

Test(options, each_command_help_lists_its_options) {
  static const struct {
    const char *command;
    const char *options[16];
  } commands[] = {
      {"run", {"--set", "--passes", "--threads", "--prune-dead", "--resume", "--help"}},
      {"check", {"--set", "--help"}},
      {"ir",
       {"--set", "--program", "--after", "--passes", "--data-parallel", "--stats", "--help"}},
      {"build",
       {"-o", "--bundle", "--name", "--embed-weights", "--prune-dead", "--emit", "--target",
        "--cpu", "--mpi", "--set", "--help"}},
      {"repl", {"--strict", "--passes", "--threads", "--set", "--help"}},
  };
  for (size_t c = 0; c < sizeof commands / sizeof *commands; c++) {
    char *help = sparsec_help(commands[c].command);
    for (int i = 0; commands[c].options[i]; i++) {
      char want[80];
      snprintf(want, sizeof want, " %s", commands[c].options[i]);
      cr_expect(strstr(help, want) != NULL, "%s: %s not in\n%s", commands[c].command,
                commands[c].options[i], help);
    }
    free(help);
  }
}
