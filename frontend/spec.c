/* spec.c: the frontend's entry points, read + parse + override + check, and
 * the names of the enums that the rest of sparsec prints. */
#include <math.h>
#include <stdio.h>

#include "frontend_internal.h"

/* The folder that relative data paths in a spec are relative to: "runs" for
 * "runs/a.spn", "/" for "/a.spn", NULL (the current directory) for "a.spn". */
char *spec_folder(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return NULL;
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  char *dir = xrealloc(NULL, n + 1);
  memcpy(dir, path, n);
  dir[n] = '\0';
  return dir;
}

void free_sources(Source **sources, int n) {
  for (int i = 0; i < n; i++)
    source_free(sources[i]);
  free(sources);
}

/* Takes ownership of src: it ends up in the Spec, or is freed. Overrides and
 * checking run only on a syntactically clean file; a half-parsed one would
 * mostly yield follow-on errors ("missing 'lr'" for a line the parser
 * skipped, "unknown layer" for a --set into a block that was dropped). */
Ast *parse_with_overrides(Source *src, const Override *overrides, int noverrides,
                          Source ***sets, Diag *diag) {
  Ast *ast = parse_source(src, diag);
  *sets = noverrides > 0 ? xcalloc(noverrides, sizeof **sets) : NULL;
  if (diag->errors == 0 && noverrides > 0)
    apply_overrides(ast, overrides, noverrides, *sets, diag);
  return ast;
}

Spec *load_source(Source *src, const Override *overrides, int noverrides, FILE *out) {
  Diag diag;
  diag_init(&diag, src, out);
  Source **sets;
  Ast *ast = parse_with_overrides(src, overrides, noverrides, &sets, &diag);
  Spec *spec = NULL;
  if (diag.errors == 0) {
    char *dir = spec_folder(src->path);
    spec = check_ast(ast, src, dir, &diag);
    free(dir);
  }
  ast_free(ast);
  if (spec) {
    spec->set_sources = sets;
    spec->nset_sources = noverrides;
  } else {
    free_sources(sets, noverrides);
    source_free(src);
  }
  return spec;
}

Spec *spec_load_with(const char *path, const Override *overrides, int noverrides, FILE *out) {
  char err[512];
  Source *src = source_read(path, err, sizeof err);
  if (!src) {
    fprintf(out ? out : stderr, "sparsec: %s\n", err);
    return NULL;
  }
  return load_source(src, overrides, noverrides, out);
}

Spec *spec_load(const char *path, FILE *out) {
  return spec_load_with(path, NULL, 0, out);
}

/* `name` stands for the file's path: it appears in messages, names the Spec
 * and, if it has a folder, relative data paths are resolved against it. */
Spec *spec_load_string(const char *name, const char *text, FILE *out) {
  return load_source(source_from_string(name, text), NULL, 0, out);
}

static void data_source_free(DataSource *d) {
  free(d->images);
  free(d->labels);
  free(d->label_column);
}

void spec_free(Spec *spec) {
  if (!spec)
    return;
  for (int i = 0; i < spec->nlayers; i++)
    free(spec->layers[i].name);
  free(spec->layers);
  free(spec->pretrain.stages);
  data_source_free(&spec->data.train);
  data_source_free(&spec->data.test);
  free(spec->output.metrics);
  free(spec->output.checkpoint);
  free(spec->output.state);
  free(spec->name);
  source_free(spec->src);
  free_sources(spec->set_sources, spec->nset_sources);
  free(spec);
}

/* ---- names: the spelling in the language --------------------------------- */

static const ActivationInfo activations[ACT_COUNT_] = {
#define ACT(id, keyword, parameter, lo, hi, flags) [ACT_##id] = {keyword, parameter, lo, hi, flags},
#include "activations.def"
#undef ACT
};

const ActivationInfo *activation_info(Activation a) {
  return (unsigned)a < ACT_COUNT_ ? &activations[a] : NULL;
}

int activation_has(Activation a, int flag) {
  return (unsigned)a < ACT_COUNT_ && (activations[a].flags & flag) != 0;
}

const char *activation_name(Activation a) {
  return (unsigned)a < ACT_COUNT_ ? activations[a].keyword : "?";
}

const char *activation_text(Activation a, double param, char *buf, size_t size) {
  if ((unsigned)a < ACT_COUNT_ && !isnan(activations[a].parameter) && !isnan(param))
    snprintf(buf, size, "%s(%.15g)", activations[a].keyword, param);
  else
    snprintf(buf, size, "%s", activation_name(a));
  return buf;
}

const char *loss_name(Loss l) {
  switch (l) {
  case LOSS_NLL: return "nll";
  case LOSS_CROSS_ENTROPY: return "cross_entropy";
  case LOSS_SQUARED_ERROR: return "squared_error";
  case LOSS_COUNT_: break;
  }
  return "?";
}

const char *noise_name(NoiseKind n) {
  switch (n) {
  case NOISE_MASKING: return "masking";
  case NOISE_SALT_PEPPER: return "salt_pepper";
  case NOISE_GAUSSIAN: return "gaussian";
  }
  return "?";
}

int noise_keeps_zeros(NoiseKind n) {
  switch (n) {
  case NOISE_MASKING: return 1;        /* x or 0 */
  case NOISE_SALT_PEPPER: return 0;    /* may set a zero to 1 */
  case NOISE_GAUSSIAN: return 0;       /* x + e */
  }
  return 0;
}

const char *reconstruction_name(Reconstruction r) {
  switch (r) {
  case RECON_SOFTPLUS_QUADRATIC: return "softplus_quadratic";
  case RECON_SCALED_SIGMOID_CE: return "scaled_sigmoid_cross_entropy";
  case RECON_LINEAR_QUADRATIC: return "linear_quadratic";
  case RECON_RELU_QUADRATIC: return "relu_quadratic";
  case RECON_COUNT_: break;
  }
  return "?";
}

const char *targets_name(ReconTargets t) {
  switch (t) {
  case TARGETS_AFTER: return "after";
  case TARGETS_BEFORE: return "before";
  case TARGETS_COUNT_: break;
  }
  return "?";
}
