/* fuzz_util.h: what the targets of the readers share. The runtime's
 * readers take paths, so each input is handed to them as a file: a memfd
 * (a regular file in memory, named /proc/self/fd/N), reused from one input
 * to the next, so nothing is left on disk and nothing needs cleaning up. */
#ifndef SPARSEC_FUZZ_UTIL_H
#define SPARSEC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A regular file holding exactly data[0..size), as a path the runtime can
 * open (each open starts at offset 0). The same path every call: the
 * previous content is replaced. Aborts if no file can be made. */
const char *fuzz_file(const uint8_t *data, size_t size);

/* The same bytes behind a pipe (a file whose size fstat does not know),
 * already written and closed for writing; NULL if they do not fit the
 * pipe's buffer. fuzz_pipe_close() after the reader is done. */
const char *fuzz_pipe(const uint8_t *data, size_t size);
void fuzz_pipe_close(void);

/* A private folder for targets that write files (the state target's run
 * saves its state): made once, removed with its files at exit. */
const char *fuzz_tmpdir(void);

/* gzip (one member) of data[0..size) into a malloc'd buffer; NULL on
 * failure. */
uint8_t *fuzz_gzip(const uint8_t *data, size_t size, size_t *out_size);

#ifdef SPARSEC_LIBFUZZER
/* libFuzzer's mutation of a safetensors file (the input of fuzz_state and
 * fuzz_safetensors) that keeps its framing: a quarter of the time the
 * whole input is mutated as bytes; half the time only the JSON header,
 * the length before it rewritten to fit; a quarter of the time only the
 * tensor data, in place. Mutating the header's text otherwise nearly
 * always breaks the length or the data offsets, and the loaders behind
 * them would see little but refusals. */
size_t fuzz_mutate_safetensors(uint8_t *data, size_t size, size_t max_size, unsigned seed);
#endif

/* Stops the process with a message: an invariant of a reader was broken
 * (libFuzzer and the replayer report it as a crash, with the input). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
