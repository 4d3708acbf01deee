/* sparsec build FILE: ahead-of-time compilation (docs/aot.md).
 *
 *   -o PROG        a standalone program: train, eval, predict
 *   --bundle DIR   DIR/NAME.o + DIR/NAME.h, inference for a C program
 *   --emit KIND    LLVM IR, assembly or the object instead of a program
 *   --blas MODE    a bundle's dense products: OpenBLAS, or generated loops
 *
 * The model is prepared exactly as `sparsec run` prepares it (backend
 * prepare.c), compiled by backend/aot.c and linked by backend/link.c. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "build.h"
#include "driver.h"

typedef struct BuildArgs {
  SpecArgs spec;       /* first: see driver.h */
  const char *output, *bundle, *name, *weights;
  TargetSpec target;
  int emit;            /* --emit given */
  int mpi;             /* --mpi: link MPI, for mpirun -np N PROG train */
  int prune_dead;      /* --prune-dead: a bundle without the units the weights never fire */
  int blas;            /* --blas: BLAS_AUTO, BLAS_OPENBLAS, BLAS_NONE */
  AotKind kind;
  int verbosity;       /* --quiet, --verbose */
} BuildArgs;

/* ---- arguments ------------------------------------------------------------ */

static const char *const emit_kinds[] = {"llvm", "asm", "obj", NULL};

/* --blas, in the order of blas_modes (auto, the default, first) */
enum { BLAS_AUTO, BLAS_OPENBLAS, BLAS_NONE };
static const char *const blas_modes[] = {"auto", "openblas", "none", NULL};

/* --blas auto: a bundle whose inference products hold at most this many
 * weights is BLAS-free. Measured with bench/bundle_blas.sh (docs/aot.md,
 * "BLAS-free bundles"), one thread: the generated loops were as fast as
 * OpenBLAS at batch 1 and 128 up to 784-128-128-10 (118 thousand
 * weights); from 784-300-300-10 (330 thousand) to the paper's net (2.8
 * million) OpenBLAS was 1.2-1.5x faster at batch 128 (the same at batch
 * 1). Below the bound, the bundle leaves out a 40 MB library for free. */
#define BLAS_FREE_MAX_WEIGHTS 200000

static int set_emit(void *where, const SrOption *opt, const SrOptValue *v, SrOptError *err) {
  (void)opt, (void)err;
  static const AotKind kinds[] = {AOT_LLVM, AOT_ASSEMBLY, AOT_OBJECT};
  BuildArgs *a = where;
  a->emit = 1;
  a->kind = kinds[v->index];
  return 0;
}

static const SrOption build_options[] = {
    {NULL, 'o', SR_OPT_FILE, "PROG", "the program (default: the spec's name, here)",
     .offset = offsetof(BuildArgs, output)},
    {"bundle", 0, SR_OPT_FILE, "DIR", "instead, DIR/NAME.o and DIR/NAME.h: inference for C programs",
     .offset = offsetof(BuildArgs, bundle)},
    {"name", 0, SR_OPT_STRING, "NAME", "the bundle's name and symbol prefix (default: the spec's)",
     .offset = offsetof(BuildArgs, name)},
    {"embed-weights", 0, SR_OPT_FILE, NULL, "compile these weights (safetensors) into the object",
     .offset = offsetof(BuildArgs, weights)},
    {"prune-dead", 0, SR_OPT_FLAG, NULL,
     "with --bundle and --embed-weights: leave out the hidden\n"
     "units those weights never fire on the training data",
     .offset = offsetof(BuildArgs, prune_dead)},
    {"emit", 0, SR_OPT_ENUM, NULL,
     "write the LLVM IR, assembly or object (to -o, default\n"
     "NAME.ll/.s/.o; with --bundle, DIR/NAME.*) instead of linking",
     .values = emit_kinds, .offset = 0, .set = set_emit},
    {"target", 0, SR_OPT_STRING, "TRIPLE", "compile for this target (default: the host)",
     .offset = offsetof(BuildArgs, target.triple)},
    {"cpu", 0, SR_OPT_STRING, "NAME",
     "for this CPU: an x86-64 level (x86-64, x86-64-v2, -v3, -v4),\n"
     "a CPU name LLVM knows (znver3, skylake), or native\n"
     "(default: native, the host's CPU and features)",
     .offset = offsetof(BuildArgs, target.cpu)},
    {"blas", 0, SR_OPT_ENUM, NULL,
     "a bundle's dense products: openblas (cblas_sgemm), none\n"
     "(generated loops: links with the runtime and libm alone),\n"
     "or auto (default: none up to 200k inference weights)",
     .values = blas_modes, .offset = offsetof(BuildArgs, blas)},
    {"mpi", 0, SR_OPT_FLAG, NULL,
     "link MPI: PROG also trains data-parallel under mpirun\n"
     "(and then needs the MPI library wherever it runs)",
     .offset = offsetof(BuildArgs, mpi)},
    SET_OPTION("override a setting of the spec"),
    SR_OPT_VERBOSITY(BuildArgs, verbosity, "only the errors: nothing printed for a good build",
                     "also the runtime and libraries a program was linked with"),
    {0}};

static const SrOptTable build_table = {.command = "build", .options = build_options,
                                       .positional = spec_args_file};

static int usage(FILE *out, int status) {
  fputs("usage: sparsec build [options] FILE.spn\n"
        "Compiles the spec's model ahead of time into a program that needs no LLVM:\n"
        "  PROG train|eval|predict  (PROG --help says more).\n",
        out);
  sr_opt_help(&build_table, "", out);
  fputs("Links with $CC (default cc) against $SPARSEC_RUNTIME_DIR/libsparsert_serial.a\n"
        "(with --mpi: libsparsert.a).\n",
        out);
  return status;
}

/* 0 when parsed, 1 for --help, -1 after a message; then the combinations
 * no table can rule out. */
static int parse(BuildArgs *a, int argc, char **argv) {
  int rc = spec_command_parse(&build_table, a, argc, argv);
  if (rc != 0)
    return rc;
  if (a->bundle && a->output) {
    fputs("sparsec: -o and --bundle exclude each other\n", stderr);
    return -1;
  }
  if (a->bundle && a->mpi) {
    fputs("sparsec: --mpi is for programs that train; a bundle only infers\n", stderr);
    return -1;
  }
  if (a->blas == BLAS_NONE && !a->bundle) {
    fputs("sparsec: --blas none is for bundles (--bundle DIR): a program trains, and training's "
          "products need OpenBLAS\n",
          stderr);
    return -1;
  }
  if (a->prune_dead && (!a->bundle || !a->weights)) {
    fputs("sparsec: --prune-dead needs --bundle and --embed-weights: it cuts the units those "
          "weights never fire\n",
          stderr);
    return -1;
  }
  return 0;
}

/* ---- names ----------------------------------------------------------------- */

static int is_identifier(const char *s) {
  if (!s[0] || strlen(s) > 100 || isdigit((unsigned char)s[0]))
    return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_')
      return 0;
  return 1;
}

/* The spec's name as a C identifier: other characters become '_'. */
static void default_name(const char *spec_name, char *out, size_t size) {
  size_t n = 0;
  if (isdigit((unsigned char)spec_name[0]) && size > 2)
    out[n++] = 'm', out[n++] = '_';
  for (; *spec_name && n + 1 < size && n < 100; spec_name++)
    out[n++] = isalnum((unsigned char)*spec_name) ? *spec_name : '_';
  out[n] = '\0';
}

static const char *extension(AotKind kind) {
  return kind == AOT_LLVM ? ".ll" : kind == AOT_ASSEMBLY ? ".s" : ".o";
}

/* ---- building ---------------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct Build {
  const BuildArgs *args;
  const Spec *spec;
  PreparedModel prepared;
  BuildConfig config;
  SrState weights;     /* --embed-weights, loaded and checked */
  int has_weights;
  char name[128];      /* symbol prefix of a bundle */
  int blas_free;       /* dense products as generated loops (choose_blas) */
  double start_ms;
} Build;

static int fail(const char *msg) {
  fprintf(stderr, "sparsec: %s\n", msg);
  return 1;
}

/* The checkpoint is validated against the model here, at build time, by
 * the runtime's loader: a bad file never reaches the object. */
static int load_weights(Build *b) {
  SrError err = {{0}};
  if (sr_state_init(&b->weights, &b->prepared.model, 1, 0, &err) != 0 ||
      sr_checkpoint_load(&b->weights, b->args->weights, &err) != 0) {
    sr_state_free(&b->weights);
    return fail(err.msg);
  }
  b->has_weights = 1;
  return 0;
}

static int compile(Build *b, int bundle, AotKind kind, AotResult *r) {
  AotOptions o = {.target = b->args->target,
                  .prefix = bundle ? b->name : "sparsec",
                  .bundle = bundle,
                  .blas_free = bundle && b->blas_free,
                  .config = &b->config.cfg,
                  .weights = b->has_weights ? &b->weights : NULL};
  char err[1024];
  if (aot_compile(&b->prepared, &o, kind, r, err, sizeof err) != 0)
    return fail(err);
  return 0;
}

/* The CPU as built for, and what its code uses that the program or bundle
 * checks at start (nothing for other targets than x86-64). */
static void summary(const Build *b, const char *what, const AotResult *r, double link_ms) {
  const TargetInfo *t = &r->target;
  if (b->args->verbosity == SR_QUIET)
    return;
  printf("sparsec: built %s for %s, CPU %s%s%s%s in %.0f ms (codegen %.1f, optimise %.1f, "
         "machine code %.1f",
         what, t->triple, t->cpu, t->features[0] ? " (uses " : "", t->features,
         t->features[0] ? ")" : "", now_ms() - b->start_ms, r->codegen_ms, r->optimise_ms,
         r->emit_ms);
  if (link_ms >= 0)
    printf(", link %.1f", link_ms);
  printf(")\n");
  if (link_ms >= 0 && b->args->verbosity == SR_VERBOSE)
    printf("sparsec: linked with %s/%s %s\n", link_runtime_dir(),
           link_runtime_archive(b->args->mpi), link_flags());
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int build_program(Build *b) {
  const BuildArgs *a = b->args;
  char fallback[300];
  snprintf(fallback, sizeof fallback, "%s%s", b->spec->name, a->emit ? extension(a->kind) : "");
  const char *out = a->output ? a->output : fallback;
  AotResult r;
  if (compile(b, 0, a->emit ? a->kind : AOT_OBJECT, &r) != 0)
    return 1;
  char err[1024];
  double link_ms = -1;
  int rc = a->emit ? write_file_atomic(out, r.data, r.size, 0, err, sizeof err)
                   : link_program(r.data, r.size, r.target.triple, out, a->mpi, &link_ms, err,
                                  sizeof err);
  if (rc == 0) {
    char what[400];
    snprintf(what, sizeof what, "%s (%ld bytes)", out, file_size(out));
    summary(b, what, &r, link_ms);
  }
  free(r.data);
  return rc == 0 ? 0 : fail(err);
}

static int make_folder(const char *dir) {
  if (mkdir(dir, 0777) == 0 || errno == EEXIST)
    return 0;
  fprintf(stderr, "sparsec: cannot create the folder '%s': %s\n", dir, strerror(errno));
  return 1;
}

/* The weights the inference products multiply by: what decides --blas auto. */
static long inference_weights(const Module *m) {
  long n = 0;
  for (int i = 0; i < m->infer.nops; i++) {
    const Op *op = &m->infer.ops[i];
    if (op->kind == OP_MATMUL || op->kind == OP_SPARSE_MATMUL)
      n += (long)m->values[op->in[1]].rows * m->values[op->in[1]].cols;
  }
  return n;
}

/* A program always links OpenBLAS (training); a bundle as --blas says. */
static void choose_blas(Build *b) {
  int mode = b->args->blas;
  if (!b->args->bundle)
    b->blas_free = 0;
  else if (mode == BLAS_AUTO)
    b->blas_free = inference_weights(b->prepared.m) <= BLAS_FREE_MAX_WEIGHTS;
  else
    b->blas_free = mode == BLAS_NONE;
}

/* What links the bundle: the object, the runtime archive, and OpenBLAS,
 * zlib and libm, or libm alone for a BLAS-free one (the bundle's part of
 * the runtime calls neither OpenBLAS nor zlib). */
static void print_link_line(const Build *b, const char *code, const char *triple) {
  const char *dir = b->args->bundle;
  if (link_is_cross(triple))
    printf("sparsec: link on the target (%s) with: cc -I %s main.c %s $(pkg-config --libs "
           "%s)\n",
           triple, dir, code, b->blas_free ? "sparsec-bundle" : "sparsec");
  else
    printf("sparsec: link with: cc -I %s main.c %s %s/%s %s\n", dir, code, link_runtime_dir(),
           link_runtime_archive(0), b->blas_free ? link_blas_free_flags() : link_flags());
}

static int build_bundle(Build *b) {
  const BuildArgs *a = b->args;
  AotResult r;
  if (make_folder(a->bundle) != 0 || compile(b, 1, a->emit ? a->kind : AOT_OBJECT, &r) != 0)
    return 1;
  char code[1200], header[1200], err[1024];
  snprintf(code, sizeof code, "%s/%s%s", a->bundle, b->name, extension(a->emit ? a->kind : AOT_OBJECT));
  snprintf(header, sizeof header, "%s/%s.h", a->bundle, b->name);
  SrProgramConfig cfg = b->config.cfg;
  aot_config_target(&cfg, &r.target);
  int rc = write_file_atomic(code, r.data, r.size, 0, err, sizeof err);
  if (rc == 0)
    rc = bundle_header_write(header, b->name, &cfg, b->has_weights, b->blas_free, err, sizeof err);
  if (rc == 0) {
    char what[2600];
    snprintf(what, sizeof what, "%s (%zu bytes) and %s", code, r.size, header);
    summary(b, what, &r, -1);
    if (a->verbosity != SR_QUIET && (!a->emit || a->kind == AOT_OBJECT))
      print_link_line(b, code, r.target.triple);
  }
  free(r.data);
  return rc == 0 ? 0 : fail(err);
}

/* A program trains, so it needs a single learning rate; a bundle only
 * infers, which no learning rate changes. */
static int check_spec(const Build *b) {
  if (b->args->bundle || b->spec->train.nlrs <= 1)
    return 0;
  fprintf(stderr,
          "sparsec: %s sweeps %d learning rates; a program trains with one: pick it with "
          "--set train.lr=VALUE\n",
          b->args->spec.path, b->spec->train.nlrs);
  return 1;
}

static int choose_name(Build *b) {
  const char *name = b->args->name;
  if (name && !is_identifier(name)) {
    fprintf(stderr, "sparsec: --name '%s' is not a C identifier (letters, digits, '_')\n", name);
    return 1;
  }
  if (name)
    snprintf(b->name, sizeof b->name, "%s", name);
  else
    default_name(b->spec->name, b->name, sizeof b->name);
  return 0;
}

static int build(Build *b) {
  char err[1024];
  /* --mpi programs also carry the split step, for `mpirun -np N PROG train` */
  PassOptions passes = {.enabled = 1, .data_parallel = b->args->mpi};
  if (check_spec(b) != 0 || choose_name(b) != 0)
    return 1;
  if (prepare_model(b->spec, b->spec->train.lr, &passes, &b->prepared, err, sizeof err) != 0)
    return fail(err);
  if (build_config(b->spec, b->prepared.max_rows, 1, &b->config) != 0)
    return fail("out of memory");
  if (b->args->weights && load_weights(b) != 0)
    return 1;
  if (b->args->prune_dead &&
      build_prune_dead(b->spec, &b->prepared, &b->weights, stdout, err, sizeof err) != 0)
    return fail(err);
  choose_blas(b);
  return b->args->bundle ? build_bundle(b) : build_program(b);
}

int cmd_build(int argc, char **argv) {
  /* Past a file size limit, writes then fail with EFBIG (and leave no
   * partial file) instead of the process being killed mid-write. */
  signal(SIGXFSZ, SIG_IGN);
  outfile_catch_signals(); /* an interrupt leaves no temporary file */
  BuildArgs args = {0};
  int parsed = parse(&args, argc, argv);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  Build b = {.args = &args, .start_ms = now_ms()};
  Spec *spec = spec_load_with(args.spec.path, args.spec.overrides, args.spec.noverrides, stderr);
  if (!spec)
    return 1;
  b.spec = spec;
  int rc = build(&b);
  if (b.has_weights)
    sr_state_free(&b.weights);
  build_config_free(&b.config);
  prepared_model_free(&b.prepared);
  spec_free(spec);
  return rc;
}
