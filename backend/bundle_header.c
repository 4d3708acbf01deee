/* NAME.h of a bundle: the C API a program uses to run the model in NAME.o,
 * documented where the user reads it. Declarations only: no code is
 * generated as C; the functions are emitted as LLVM IR (descriptor.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

static void upper(const char *name, char *out, size_t size) {
  size_t i = 0;
  for (; name[i] && i + 1 < size; i++)
    out[i] = (char)toupper((unsigned char)name[i]);
  out[i] = '\0';
}

/* What the code was compiled for, and what the runtime checks of it. */
static void target_lines(FILE *f, const char *n, const SrProgramConfig *cfg) {
  fprintf(f, " * for %s, CPU %s, by %s.\n", cfg->target, cfg->cpu, cfg->compiler);
  if (cfg->cpu_features[0])
    fprintf(f,
            " * Its code uses %s: %s_create fails on a CPU\n"
            " * without them, and %s_check_cpu says so beforehand.\n",
            cfg->cpu_features, n, n);
}

/* How to link: a BLAS-free bundle needs the runtime and libm alone. */
static void link_lines(FILE *f, const char *n, int blas_free) {
  fprintf(f,
          " * Link a program with it and the runtime (docs/aot.md):\n"
          " *\n"
          " *   cc -I DIR main.c DIR/%s.o $(pkg-config --libs %s)\n"
          " *\n",
          n, blas_free ? "sparsec-bundle" : "sparsec");
  if (blas_free)
    fprintf(f, " * DIR is this folder. Its dense products are generated loops, so it\n"
               " * needs no BLAS: from a build tree, name the runtime:\n"
               " * RUNTIME/libsparsert_serial.a -lm.\n");
  else
    fprintf(f, " * DIR is this folder; pkg-config finds sparsec's installed runtime\n"
               " * (sparsec-serial: the same without MPI). From a build tree, name\n"
               " * the runtime: RUNTIME/libsparsert_serial.a -lopenblas -lz -lm.\n");
}

static void comment(FILE *f, const char *n, const SrProgramConfig *cfg, int embedded,
                    int blas_free) {
  fprintf(f,
          "/* %s.h: inference with the model of %s.spn\n"
          " * (%d inputs, %d classes), compiled by `sparsec build --bundle`\n",
          n, cfg->name, cfg->input, cfg->classes);
  target_lines(f, n, cfg);
  fprintf(f, " * %s.o holds its code, the runtime's description of it%s.\n", n,
          embedded ? " and its trained weights" : "");
  link_lines(f, n, blas_free);
  fprintf(f,
          " * Bundles of different names link into one program.\n"
          " *\n"
          " *   char err[256];\n"
          " *   %s_ctx *m = %s_create(\"weights.safetensors\", err, sizeof err);\n"
          " *   if (!m) { fprintf(stderr, \"%%s\\n\", err); return 1; }\n"
          " *   if (%s_infer(m, x, rows, probs) != 0)  // probs[r * CLASSES + k]: class k of row r\n"
          " *     fprintf(stderr, \"%%s\\n\", %s_error(m));\n"
          " *   %s_free(m);\n"
          " *%s\n"
          " *\n"
          " * x holds rows x INPUTS floats, row by row, scaled as the spec's data (raw\n"
          " * values times SCALE). The predicted class of a row is the first index of\n"
          " * its largest probability. A context is not thread-safe: use one per thread. */\n",
          n, n, n, n, n,
          embedded ? "\n * With NULL for the file name, create uses the embedded weights." : "");
}

/* A C double literal: 1 would be an int. */
static void double_literal(double v, char *out, size_t size) {
  snprintf(out, size, "%.17g", v);
  if (!strpbrk(out, ".eEn"))
    strncat(out, ".0", size - strlen(out) - 1);
}

static void declarations(FILE *f, const char *n, const char *u, const SrProgramConfig *cfg,
                         int embedded) {
  char scale[64];
  double_literal(cfg->scale, scale, sizeof scale);
  fprintf(f,
          "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n"
          "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
          "#define %s_INPUTS %d\n#define %s_CLASSES %d\n"
          "#define %s_SCALE %s /* multiplies raw feature values */\n"
          "#define %s_MAX_ROWS %d /* rows per batch inside %s_infer; any count may be passed */\n"
          "#define %s_EMBEDDED_WEIGHTS %d\n\n"
          "typedef struct %s_ctx %s_ctx;\n\n"
          "/* Loads the weights from the safetensors file `weights`, or with NULL those\n"
          " * embedded in %s.o (if any). Returns NULL on failure with a message in\n"
          " * err[0..errlen) (err may be NULL): a file that is not safetensors, is\n"
          " * truncated, or whose tensor names or shapes differ from the model's. */\n"
          "%s_ctx *%s_create(const char *weights, char *err, size_t errlen);\n\n"
          "/* probs[rows * %s_CLASSES] = the class probabilities of x[rows * %s_INPUTS].\n"
          " * Returns 0; -1 if ctx, x or probs is NULL or rows < 0; -2 if a value is\n"
          " * not finite: an input, or one the model computed (finite weights can\n"
          " * still overflow float), and then probs is not to be used. %s_error\n"
          " * says why, naming the row and input or the first layer with such a\n"
          " * value. */\n"
          "int %s_infer(%s_ctx *ctx, const float *x, int rows, float *probs);\n\n"
          "/* Why the last %s_infer on ctx failed, \"\" if it did not. */\n"
          "const char *%s_error(const %s_ctx *ctx);\n\n"
          "void %s_free(%s_ctx *ctx);\n\n"
          "/* 0 if this CPU has every feature the model's code was compiled for;\n"
          " * else -3 and err[0..errlen) names those it lacks (err may be NULL). */\n"
          "int %s_check_cpu(char *err, size_t errlen);\n\n"
          "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
          u, u, u, cfg->input, u, cfg->classes, u, scale, u, cfg->max_rows, n, u, embedded,
          n, n, n, n, n, u, u, n, n, n, n, n, n, n, n, n);
}

int bundle_header_write(const char *path, const char *name, const SrProgramConfig *cfg,
                        int embedded, int blas_free, char *err, int errlen) {
  char u[256];
  upper(name, u, sizeof u);
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f) {
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  comment(f, name, cfg, embedded, blas_free);
  fputc('\n', f);
  declarations(f, name, u, cfg, embedded);
  int rc = -1;
  if (fclose(f) != 0)
    snprintf(err, errlen, "%s: out of memory", path);
  else
    rc = write_file_atomic(path, text, size, 0, err, errlen);
  free(text);
  return rc;
}
