/* sparsec export --onnx OUT.onnx FILE.spn --weights W.safetensors: the
 * spec's inference function with trained weights, as a standard ONNX model
 * (backend/onnx.c, docs/export.md). The weights are loaded by the runtime's
 * checkpoint loader, so a file that does not fit the model is refused with
 * the message `eval` and `build --embed-weights` give. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "backend.h"
#include "build.h"
#include "driver.h"

typedef struct ExportArgs {
  SpecArgs spec; /* first: see driver.h */
  const char *onnx, *weights;
  int verbosity;
} ExportArgs;

static const SrOption export_options[] = {
    {"onnx", 0, SR_OPT_FILE, "OUT.onnx", "write an ONNX model (opset 13) of the inference function",
     .offset = offsetof(ExportArgs, onnx), .flags = SR_OPT_REQUIRED},
    {"weights", 0, SR_OPT_FILE, "W.safetensors",
     "the trained weights (a checkpoint or state that run, train or\n"
     "the REPL's save wrote)",
     .offset = offsetof(ExportArgs, weights), .flags = SR_OPT_REQUIRED},
    SET_OPTION("override a setting of the spec"),
    SR_OPT_VERBOSITY(ExportArgs, verbosity, "only the errors: no 'wrote' line",
                     "also the weights' file and the model's layers"),
    {0}};

static const SrOptTable export_table = {.command = "export", .options = export_options,
                                        .positional = spec_args_file};

static int usage(FILE *out, int status) {
  fputs("usage: sparsec export --onnx OUT.onnx [options] FILE.spn --weights W.safetensors\n"
        "Writes the inference function of FILE.spn with the weights W as an ONNX model:\n"
        "input x [N x inputs] of raw values (the data's scale is in the graph), output\n"
        "probs [N x classes], what `PROG predict` prints.\n",
        out);
  sr_opt_help(&export_table, "", out);
  return status;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The weights as a state of the model the spec describes (unoptimised: no
 * kernels are compiled, only names and shapes matter), then the export. */
static int export_onnx(const Spec *spec, const ExportArgs *a) {
  PassOptions none = {.enabled = 0};
  PreparedModel p;
  SrState weights = {0};
  SrError e = {{0}};
  char err[1024] = "";
  int rc = prepare_model(spec, spec->train.lr, &none, &p, err, sizeof err);
  if (rc == 0 && (sr_state_init(&weights, &p.model, 1, 0, &e) != 0 ||
                  sr_checkpoint_load(&weights, a->weights, &e) != 0)) {
    snprintf(err, sizeof err, "%s", e.msg);
    rc = -1;
  }
  if (rc == 0)
    rc = onnx_export(spec, &weights, a->onnx, err, sizeof err);
  if (rc == 0 && a->verbosity != SR_QUIET)
    printf("sparsec: wrote %s (%ld bytes): ONNX opset 13, input x [N x %d], output probs "
           "[N x %d]\n",
           a->onnx, file_size(a->onnx), spec->input, spec->layers[spec->nlayers - 1].units);
  if (rc == 0 && a->verbosity == SR_VERBOSE) {
    char *layers = spec_structure(spec);
    printf("sparsec: weights from %s; layers %s\n", a->weights, layers ? layers : "?");
    free(layers);
  }
  else if (rc != 0)
    fprintf(stderr, "sparsec: %s\n", err);
  sr_state_free(&weights);
  if (p.m)
    prepared_model_free(&p);
  return rc == 0 ? 0 : 1;
}

int cmd_export(int argc, char **argv) {
  ExportArgs args = {.onnx = NULL};
  int parsed = spec_command_parse(&export_table, &args, argc, argv);
  if (parsed != 0)
    return parsed > 0 ? usage(stdout, 0) : usage(stderr, 2);
  if (onnx_unavailable()) { /* before any work: say what the build lacks */
    fprintf(stderr, "sparsec: %s\n", onnx_unavailable());
    return 1;
  }
  Spec *spec = spec_load_with(args.spec.path, args.spec.overrides, args.spec.noverrides, stderr);
  if (!spec)
    return 1;
  int rc = export_onnx(spec, &args);
  spec_free(spec);
  return rc;
}
