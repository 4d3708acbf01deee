/* sparsec: compile deep sparse rectifier networks to native code.
 * Dispatches to one subcommand; each returns the process exit status. */
#include <stdio.h>
#include <string.h>

#include "build.h"
#include "driver.h"

static void usage(FILE *out) {
  fputs("usage: sparsec <command> [options]\n"
        "\n"
        "commands:\n"
        "  run FILE.spn        JIT-compile the spec's model and run its experiment\n"
        "  check FILE.spn...   check specs without running them\n"
        "  ir FILE.spn         print the IR of the training step and the inference function\n"
        "  build FILE.spn      compile ahead of time: a program (-o PROG) or a bundle for C\n"
        "  repl [FILE.spn]     an interactive session: change settings, train, look at sparsity\n"
        "  help                this message\n"
        "\n"
        "`sparsec <command> --help` describes a command's options.\n",
        out);
}

int main(int argc, char **argv) {
  /* every line as it is printed, into a file or a pipe too: `tail -f` on
   * a log follows the run, and an interrupted run's log is whole */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "run") == 0)
    return cmd_run(argc - 1, argv + 1);
  if (strcmp(cmd, "check") == 0)
    return cmd_check(argc - 1, argv + 1);
  if (strcmp(cmd, "ir") == 0)
    return cmd_ir(argc - 1, argv + 1);
  if (strcmp(cmd, "build") == 0)
    return cmd_build(argc - 1, argv + 1);
  if (strcmp(cmd, "repl") == 0)
    return cmd_repl(argc - 1, argv + 1);
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "sparsec: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
