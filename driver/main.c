/* sparsec: compile deep sparse rectifier networks to native code.
 * Dispatches to one subcommand; each returns the process exit status. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "driver.h"

/* runtime/blas.c: under a memory limit, no OpenBLAS worker before main */
__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **,
                                                                              char **) =
    sr_blas_preinit;

/* Out of memory inside LLVM (compiling: run, repl, build, ir). LLVM's
 * allocations are C++ `new` (std::bad_alloc, which nothing catches:
 * std::terminate, SIGABRT) or its own malloc checks (report_bad_alloc_error:
 * "LLVM ERROR: out of memory", abort). LLVMInstallFatalErrorHandler sees
 * neither, so both handlers are looked up by their C++ names and, where
 * found, end the process with a message and status 1. The size of the
 * request is not known to either. */
static void llvm_out_of_memory_message(const char *why) {
  static const char head[] = "sparsec: out of memory while compiling (an allocation in LLVM failed";
  if (write(STDERR_FILENO, head, sizeof head - 1) < 0)
    return;
  if (why && *why &&
      (write(STDERR_FILENO, ": ", 2) < 0 || write(STDERR_FILENO, why, strlen(why)) < 0))
    return;
  if (write(STDERR_FILENO, ")\n", 2) < 0)
    return;
}

static void new_failed(void) {
  llvm_out_of_memory_message(NULL);
  _exit(1); /* no exit(): other threads may be inside LLVM */
}

static void llvm_bad_alloc(void *data, const char *reason, bool crash_diag) {
  (void)data, (void)crash_diag;
  llvm_out_of_memory_message(reason);
  _exit(1);
}

static void on_out_of_memory_in_llvm(void) {
  typedef void (*NewHandler)(void);
  typedef NewHandler (*SetNewHandler)(NewHandler);
  typedef void (*BadAllocHandler)(void *, const char *, bool);
  typedef void (*InstallBadAlloc)(BadAllocHandler, void *);
  /* std::set_new_handler (libstdc++), llvm::install_bad_alloc_error_handler */
  SetNewHandler set_new = (SetNewHandler)dlsym(RTLD_DEFAULT, "_ZSt15set_new_handlerPFvvE");
  InstallBadAlloc install = (InstallBadAlloc)dlsym(
      RTLD_DEFAULT, "_ZN4llvm31install_bad_alloc_error_handlerEPFvPvPKcbES0_");
  if (set_new)
    set_new(new_failed);
  if (install)
    install(llvm_bad_alloc, NULL);
}

/* The version, LLVM's, and the CPU `sparsec build` compiles for by
 * default (the host's) with the features its code then uses. */
static int version(void) {
  char err[512];
  LLVMTargetMachineRef tm = target_host_machine(err, sizeof err);
  if (!tm) {
    fprintf(stderr, "sparsec: %s\n", err);
    return 1;
  }
  TargetInfo host;
  target_describe(tm, 0, &host);
  LLVMDisposeTargetMachine(tm);
  char model[64];
  sr_cpu_model(model, sizeof model);
  printf("%s\nhost: %s, CPU %s%s%s%s%s%s\n", target_compiler(), host.triple, host.cpu,
         model[0] ? " (" : "", model, model[0] ? ")" : "", host.features[0] ? ", with " : "",
         host.features);
  return 0;
}

/* The commands: one row each, read by the dispatch, `help` and the usage. */
typedef struct Command {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the command's name */
  const char *synopsis;              /* "NAME ARGS  what it does" */
} Command;

static const Command commands[] = {
    {"run", cmd_run, "run FILE.spn        JIT-compile the spec's model and run its experiment"},
    {"check", cmd_check, "check FILE.spn...   check specs without running them"},
    {"ir", cmd_ir, "ir FILE.spn         print the IR of the training step and the inference function"},
    {"build", cmd_build, "build FILE.spn      compile ahead of time: a program (-o PROG) or a bundle for C"},
    {"export", cmd_export, "export FILE.spn     the inference function with trained weights as ONNX (--onnx)"},
    {"repl", cmd_repl, "repl [FILE.spn]     an interactive session: change settings, train, look at sparsity"},
};
#define NCOMMANDS (int)(sizeof commands / sizeof *commands)

static void usage(FILE *out) {
  fputs("usage: sparsec <command> [options]\n\ncommands:\n", out);
  for (int i = 0; i < NCOMMANDS; i++)
    fprintf(out, "  %s\n", commands[i].synopsis);
  fputs("  help [COMMAND]      this message, or the command's options (as COMMAND --help)\n"
        "  --version           the version, LLVM's, and the host's CPU\n"
        "\n"
        "`sparsec <command> --help` describes a command's options.\n",
        out);
}

static const Command *find_command(const char *name) {
  for (int i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

/* An unknown command: its name, the closest and every command. */
static int unknown_command(const char *name) {
  const char *names[NCOMMANDS + 2];
  for (int i = 0; i < NCOMMANDS; i++)
    names[i] = commands[i].name;
  names[NCOMMANDS] = "help";
  names[NCOMMANDS + 1] = NULL;
  const char *close = sr_opt_closest(name, names);
  fprintf(stderr, "sparsec: unknown command '%s'\n", name);
  if (close)
    fprintf(stderr, "sparsec: did you mean '%s'?\n", close);
  fputc('\n', stderr);
  usage(stderr);
  return 2;
}

/* help: the usage; help COMMAND: exactly what COMMAND --help prints. */
static int help(int argc, char **argv) {
  if (argc < 3) {
    usage(stdout);
    return 0;
  }
  const Command *c = find_command(argv[2]);
  if (!c)
    return unknown_command(argv[2]);
  char *args[] = {(char *)c->name, "--help", NULL};
  return c->run(2, args);
}

int main(int argc, char **argv) {
  sr_process_start();
  on_out_of_memory_in_llvm();
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  const Command *c = find_command(cmd);
  if (c)
    return c->run(argc - 1, argv + 1);
  if (strcmp(cmd, "--version") == 0)
    return version();
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
    return help(argc, argv);
  return unknown_command(cmd);
}
