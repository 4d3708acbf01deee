/* interrupt.c: Ctrl-C (SIGINT) and kill (SIGTERM) during a long run.
 *
 * The first signal only raises a flag: training finishes the minibatch
 * under way, the engine saves its state and reports, and the process
 * exits 128 + the signal's number. A second signal ends the process at
 * once; the only thing it may have cut is a checkpoint being written, and
 * since files are written to a temporary name and renamed, the old one is
 * intact: the handler removes the temporary file (unlink is
 * async-signal-safe) and exits. A full disk or a file-size limit must be
 * an error the engine can report, not a signal that kills it: SIGXFSZ is
 * ignored, so that the write fails with EFBIG instead. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sparsert_internal.h"

static volatile sig_atomic_t stop_flag, stop_signal;

static void on_signal(int sig) {
  if (stop_flag) {
    sr_safetensors_abandon();
    _exit(128 + sig);
  }
  stop_flag = 1;
  stop_signal = sig;
  static const char msg[] =
      "\nsparsec: stopping after this step and saving the state (again to quit at once)\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

volatile sig_atomic_t *sr_interrupt_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGXFSZ, SIG_IGN);
  stop_flag = 0;
  stop_signal = 0;
  return &stop_flag;
}

int sr_interrupt_signal(void) {
  return stop_flag ? stop_signal : 0;
}

void sr_process_start(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGXFSZ, SIG_IGN);
}
