/* program.c: the command line of a program built by `sparsec build -o
 * PROG`: train, eval, predict. Everything it runs is the runtime's (data
 * loaders, sr_fit, sr_evaluate, checkpoints) and the object's kernels;
 * train does what `sparsec run` does with the same spec, so that with the
 * same seed both give the same weights, bit for bit. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist.h"
#include "experiment.h"
#include "options.h"

/* At small batches one thread is fastest (see driver/run.c), and it makes
 * runs repeatable. --threads goes to OpenBLAS and the sparse kernels' pool,
 * as `sparsec run --threads` does. */
#define DEFAULT_THREADS 1
#define MAX_THREADS 64

typedef struct Seed {
  int given; /* a seed may be 0 */
  uint64_t value;
} Seed;

typedef struct Options {
  const char *command;
  int epochs;          /* 0: the spec's */
  Seed seed;
  int seeds;           /* --seeds N; 0: the spec's train.seeds */
  int threads;
  const char *save, *weights, *input, *label, *resume;
  const char *line;     /* PROG train and its options, for the resume line */
  int verbosity;        /* --quiet, --verbose */
} Options;

/* Where train saves when --save is not given. */
static const char *save_path(const SrProgramConfig *cfg, char *fallback, size_t size) {
  snprintf(fallback, size, "%s.safetensors", cfg->name);
  return cfg->checkpoint ? cfg->checkpoint : fallback;
}

/* --verbose: what the program was built from and for. */
static void describe_build(const SrProgramConfig *cfg, FILE *out) {
  fprintf(out, "built by %s for %s, CPU %s; data: %s, %s\n", cfg->compiler, cfg->target, cfg->cpu,
          cfg->train.path ? cfg->train.path : "?", cfg->test.path ? cfg->test.path : "?");
}

/* ---- options ------------------------------------------------------------------- */

#define SEED_MAX (1ll << 53) /* the spec's limit: a seed is exact in a double (REPL, state) */

static int set_seed(void *where, const SrOption *opt, const SrOptValue *v, SrOptError *err) {
  (void)opt, (void)err;
  Seed *seed = where;
  seed->given = 1;
  seed->value = (uint64_t)v->integer;
  return 0;
}

#define THREADS_OPTION                                                                         \
  {"threads", 0, SR_OPT_INT, NULL, "threads for dense products and sparse kernels (default 1)", \
   .min = 1, .max = MAX_THREADS, .offset = offsetof(Options, threads)}

/* quiet: the results only; verbose: what was read, and from where */
#define VERBOSITY_OPTIONS                                                                      \
  SR_OPT_VERBOSITY(Options, verbosity, "only the results: no data, weights or epoch lines",     \
                   "also the data files read and the CPU the code was built for")

static const SrOption train_options[] = {
    {"epochs", 0, SR_OPT_INT, NULL, "epochs to train (default: the spec's)", .min = 1,
     .max = 1000000, .offset = offsetof(Options, epochs)},
    {"seed", 0, SR_OPT_INT, NULL, "parameter init and shuffling (default: the spec's)", .min = 0,
     .max = SEED_MAX, .offset = offsetof(Options, seed), .set = set_seed},
    SR_SEEDS_OPTION(Options, seeds),
    {"save", 0, SR_OPT_FILE, NULL, "where the best-validation weights go", .offset =
     offsetof(Options, save)},
    {"resume", 0, SR_OPT_FILE, "STATE", "go on from a state an earlier train saved",
     .offset = offsetof(Options, resume)},
    THREADS_OPTION,
    VERBOSITY_OPTIONS,
    {0}};

#define WEIGHTS_OPTION                                                                         \
  {"weights", 0, SR_OPT_FILE, NULL, "safetensors weights (default: below)",                   \
   .offset = offsetof(Options, weights)}

static const SrOption eval_options[] = {WEIGHTS_OPTION, THREADS_OPTION, VERBOSITY_OPTIONS, {0}};

static const SrOption predict_options[] = {
    WEIGHTS_OPTION,
    {"input", 0, SR_OPT_FILE, NULL, "the examples: IDX images, CSV with a header, or libsvm rows\n"
     "(those of a model trained on libsvm rows)",
     .offset = offsetof(Options, input), .flags = SR_OPT_REQUIRED},
    {"label", 0, SR_OPT_STRING, "COLUMN", "a CSV column that must be there and is not a feature",
     .offset = offsetof(Options, label)},
    THREADS_OPTION,
    VERBOSITY_OPTIONS,
    {0}};

/* PROG's commands, each with its table. */
static const SrOptTable command_tables[] = {
    {.command = "train", .options = train_options},
    {.command = "eval", .options = eval_options},
    {.command = "predict", .options = predict_options},
};
#define NCOMMANDS 3

const SrOptTable *sr_program_options(const char *command) {
  for (int i = 0; i < NCOMMANDS; i++)
    if (strcmp(command_tables[i].command, command) == 0)
      return &command_tables[i];
  return NULL;
}

static void usage(const SrProgramConfig *cfg, const char *prog, FILE *out) {
  char fallback[300];
  fprintf(out,
          "usage: %s <command> [options]\n"
          "The model of %s.spn (%d inputs, %d classes), compiled by %s\n"
          "for %s, CPU %s.\n"
          "\n"
          "commands:\n"
          "  train [options]\n"
          "      trains on the spec's data as its train block says (lr %g, batch %d, %d epochs,\n"
          "      seed %" PRIu64 ") and saves the best-validation weights as safetensors to FILE\n"
          "      (default %s); the resumable state goes beside it (.state.safetensors),\n"
          "      every epoch and on Ctrl-C; --resume continues from such a state\n",
          prog, cfg->name, cfg->input, cfg->classes, cfg->compiler, cfg->target, cfg->cpu, cfg->lr,
          cfg->batch,
          cfg->epochs, cfg->seed, save_path(cfg, fallback, sizeof fallback));
  sr_opt_help(&command_tables[0], "    ", out);
  fputs("  eval [options]\n"
        "      loss, error and hidden sparsity on the spec's test set\n",
        out);
  sr_opt_help(&command_tables[1], "    ", out);
  fputs("  predict --input FILE [options]\n"
        "      one line per example of FILE (IDX images, or CSV with a header): the class,\n"
        "      then the probability of each class\n",
        out);
  sr_opt_help(&command_tables[2], "    ", out);
  fputs("  --version\n"
        "      what compiled the program, for which CPU, and whether this CPU runs it\n",
        out);
  fprintf(out,
          "\n"
          "Without --weights, eval and predict use the weights train saved (%s) when\n"
          "that file exists, else the weights embedded in the program, if any%s.\n",
          save_path(cfg, fallback, sizeof fallback),
          cfg->weights ? " (there are)" : " (there are none)");
}

static const char *const command_names[] = {"train", "eval", "predict", NULL};

/* 0 when parsed, 1 for --help, -1 after a message. */
static int parse(Options *o, int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    return argc < 2 ? -1 : 1;
  o->command = argv[1];
  const SrOptTable *t = sr_program_options(o->command);
  SrOptError err;
  if (!t) {
    fprintf(stderr, "error: unknown command '%s'\n", o->command);
    const char *close = sr_opt_closest(o->command, command_names);
    if (close)
      fprintf(stderr, "error: did you mean '%s'?\n", close);
    return -1;
  }
  int rc = sr_opt_parse(t, o, argc, argv, 2, &err);
  if (rc < 0)
    sr_opt_report(&err, "error: ", stderr);
  return rc;
}

/* ---- commands ---------------------------------------------------------------- */

static int fail(const SrError *err) {
  fprintf(stderr, "error: %s\n", err->msg);
  return 1;
}

static void print_sparsity(const SrModel *m, const SrMetrics *r) {
  for (int i = 0; i < m->nhidden; i++)
    printf(" %s %.1f%%", m->hidden_names[i], 100 * r->sparsity[i]);
  printf("; mean %.1f%%\n", 100 * r->mean_sparsity);
}

/* The spec's schedule with the command line's changes; train always saves
 * a checkpoint, by default beside the program. */
static SrProgramConfig train_config(const SrProgramConfig *cfg, const Options *o, char *fallback,
                                    size_t size) {
  SrProgramConfig c = *cfg;
  if (o->epochs)
    c.epochs = o->epochs;
  if (o->seed.given)
    c.seed = o->seed.value;
  if (o->seeds > 0)
    c.seeds = o->seeds;
  c.checkpoint = o->save ? o->save : save_path(cfg, fallback, size);
  if (c.nlrs < 1) { /* one lr */
    c.nlrs = 1;
    c.lrs[0] = c.lr;
  }
  return c;
}

/* The engine (experiment.h) runs the experiment as `sparsec run` does. */
static int train(const SrModel *m, const SrProgramConfig *c, const Options *o, SrDist *dist,
                 SrProgramData *d, SrState *st, SrError *err) {
  SrRunSetup setup = {.log = stdout, .quiet = o->verbosity == SR_QUIET, .dist = dist,
                      .command = o->line};
  SrRun *run = sr_run_new(st, c, &setup, d, err);
  int rc = run ? 0 : -1;
  if (rc == 0 && o->resume)
    rc = sr_run_resume(run, o->resume, err);
  if (dist)
    rc = sr_dist_agree(dist, rc, err);
  if (rc == 0)
    rc = sr_run_experiment(run, err);
  if (rc == 0)
    sr_dist_print_stats(dist, stdout);
  sr_run_free(run);
  (void)m;
  return rc;
}

static int cmd_train(const SrModel *m, const SrProgramConfig *cfg, const Options *o) {
  SrError err = {{0}};
  SrProgramData d = {0};
  SrState st = {0};
  char fallback[300];
  SrProgramConfig c = train_config(cfg, o, fallback, sizeof fallback);
  if (!m->train_step) {
    fputs("error: this model was compiled for inference only (a bundle)\n", stderr);
    return 1;
  }
  SrDist *dist; /* under mpirun: data-parallel across the ranks (dist.h) */
  if (sr_dist_open(&dist, &err) != 0)
    return fail(&err);
  sr_dist_silence_others(dist);
  /* every output checked before the work: rank 0 writes them */
  const char *setting = NULL;
  int rc = sr_dist_is_root(dist) && sr_outputs_check(&c, &setting, &err) != 0 ? -1 : 0;
  if (rc != 0) {
    SrError why = err;
    int save = strcmp(setting, "output.checkpoint") == 0 && o->save;
    sr_fail(&err, "%s: %s", save ? "--save" : setting, why.msg);
  }
  if (dist)
    rc = sr_dist_agree(dist, rc, &err);
  if (rc == 0)
    rc = sr_program_load_data(&c, &d, &err);
  if (dist) /* every rank has its data, or every rank stops */
    rc = sr_dist_agree(dist, rc, &err);
  if (rc == 0 && o->verbosity != SR_QUIET)
    printf("data: %d train, %d validation, %d test examples\n", d.train.n, d.valid.n, d.test.n);
  if (rc == 0 && o->verbosity == SR_VERBOSE)
    describe_build(&c, stdout);
  if (rc == 0)
    rc = sr_state_init(&st, m, c.max_rows, c.seed, &err);
  if (rc == 0)
    rc = train(m, &c, o, dist, &d, &st, &err);
  sr_state_free(&st);
  sr_program_data_free(&d);
  int status = rc == 0 ? 0 : rc == SR_RUN_INTERRUPTED ? 128 + sr_interrupt_signal() : fail(&err);
  sr_dist_close(dist, rc < 0);
  return status;
}

/* eval and predict without --weights: what train saved, if it is there,
 * else the weights compiled in; one line on stderr says which (not when
 * quiet; with --verbose, --weights too). */
static const char *weights_to_use(const SrProgramConfig *cfg, const Options *o, char *fallback,
                                  size_t size) {
  const char *saved = o->weights ? o->weights : save_path(cfg, fallback, size);
  const char *use = o->weights || access(saved, F_OK) == 0 ? saved : NULL;
  if (o->verbosity == SR_VERBOSE)
    describe_build(cfg, stderr);
  if (o->verbosity == SR_QUIET || (o->weights && o->verbosity != SR_VERBOSE))
    return use;
  if (use)
    fprintf(stderr, "weights: %s%s\n", use, o->weights ? "" : " (saved by train)");
  else
    fprintf(stderr, "weights: %s\n", cfg->weights ? "embedded in the program" : "none");
  return use;
}

static int cmd_eval(const SrModel *m, const SrProgramConfig *cfg, const Options *o) {
  SrError err = {{0}};
  char fallback[300];
  const char *weights = weights_to_use(cfg, o, fallback, sizeof fallback);
  SrBundle *b = sr_bundle_create(m, cfg, weights, err.msg, sizeof err.msg);
  SrDataset test = {0};
  SrMetrics r;
  int rc = b ? sr_program_load_set(cfg, &cfg->test, "test data", &test, &err) : -1;
  if (rc == 0 && sr_evaluate(sr_bundle_state(b), &test, &r, &err) != 0) {
    SrError why = err; /* e.g. a layer whose values are not finite: no -nan printed */
    rc = sr_fail(&err, "test data (%s): %s", cfg->test.path ? cfg->test.path : "?", why.msg);
  }
  if (rc == 0) {
    printf("test: %d examples, data loss %.4f, error %.2f%%\n", test.n, r.loss, 100 * r.error);
    printf("hidden activations exactly zero:");
    print_sparsity(m, &r);
  }
  sr_dataset_free(&test);
  sr_bundle_free(b);
  return rc == 0 ? 0 : fail(&err);
}

static int cmd_predict(const SrModel *m, const SrProgramConfig *cfg, const Options *o) {
  SrError err = {{0}};
  char fallback[300];
  const char *weights = weights_to_use(cfg, o, fallback, sizeof fallback);
  SrBundle *b = sr_bundle_create(m, cfg, weights, err.msg, sizeof err.msg);
  /* --label names a column that must be there; the spec's may be left out */
  int rc = b ? sr_predict(sr_bundle_state(b), cfg, o->input, o->label,
                          o->label != NULL, stdout, "standard output", &err)
             : -1;
  sr_bundle_free(b);
  return rc == 0 ? 0 : fail(&err);
}

/* What the program was compiled by and for, and whether this CPU runs it:
 * it says so even where the CPU check would stop every command. */
static int version(const SrProgramConfig *cfg, const char *prog) {
  char why[1024];
  int rc = sr_bundle_check_cpu(cfg, why, sizeof why);
  if (rc == -1) { /* another runtime's object: its config cannot be read */
    fprintf(stderr, "error: %s\n", why);
    return 1;
  }
  printf("%s: the model of %s.spn, compiled by %s\n"
         "for %s, CPU %s%s%s\n",
         prog, cfg->name, cfg->compiler, cfg->target, cfg->cpu,
         cfg->cpu_features[0] ? ", using " : "", cfg->cpu_features);
  char model[64];
  sr_cpu_model(model, sizeof model);
  if (rc == 0)
    printf("this CPU%s%s%s runs it\n", model[0] ? " (" : "", model, model[0] ? ")" : "");
  else
    printf("%s\n", why);
  return rc == 0 ? 0 : 1;
}

int sr_program_main(const SrModel *m, const SrProgramConfig *cfg, int argc, char **argv) {
  const char *prog = argc > 0 ? argv[0] : "prog";
  if (argc == 2 && strcmp(argv[1], "--version") == 0)
    return version(cfg, prog);
  SrError err = {{0}};
  if (sr_program_check(m, cfg, &err) != 0)
    return fail(&err);
  Options o = {.threads = DEFAULT_THREADS};
  char command[2048];
  int parsed = parse(&o, argc, argv);
  o.line = sr_run_command(NULL, argc, argv, command, sizeof command);
  if (parsed != 0) {
    usage(cfg, prog, parsed > 0 ? stdout : stderr);
    return parsed > 0 ? 0 : 2;
  }
  if (sr_cpu_check(cfg, &err) != 0) /* before any of the model's code runs */
    return fail(&err);
  sr_blas_threads(o.threads);
  sr_set_threads(o.threads);
  if (strcmp(o.command, "train") == 0)
    return cmd_train(m, cfg, &o);
  if (strcmp(o.command, "eval") == 0)
    return cmd_eval(m, cfg, &o);
  return cmd_predict(m, cfg, &o);
}
