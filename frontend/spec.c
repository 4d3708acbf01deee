/* spec.c: the frontend's entry points, read + parse + check, and the names
 * of the enums that the rest of sparsec prints. */
#include "frontend_internal.h"

/* The folder that relative data paths in a spec are relative to: "runs" for
 * "runs/a.spn", "/" for "/a.spn", NULL (the current directory) for "a.spn". */
static char *folder_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return NULL;
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  char *dir = xrealloc(NULL, n + 1);
  memcpy(dir, path, n);
  dir[n] = '\0';
  return dir;
}

/* Takes ownership of src: it ends up in the Spec, or is freed. Checking runs
 * only on a syntactically clean file; a half-parsed one would mostly yield
 * follow-on errors ("missing 'lr'" for a line the parser skipped). */
static Spec *load(Source *src, FILE *out) {
  Diag diag;
  diag_init(&diag, src, out);
  Ast *ast = parse_source(src, &diag);
  Spec *spec = NULL;
  if (ast && diag.errors == 0) {
    char *dir = folder_of(src->path);
    spec = check_ast(ast, src, dir, &diag);
    free(dir);
  }
  ast_free(ast);
  if (!spec)
    source_free(src);
  return spec;
}

Spec *spec_load(const char *path, FILE *out) {
  char err[512];
  Source *src = source_read(path, err, sizeof err);
  if (!src) {
    fprintf(out ? out : stderr, "sparsec: %s\n", err);
    return NULL;
  }
  return load(src, out);
}

/* `name` stands for the file's path: it appears in messages, names the Spec
 * and, if it has a folder, relative data paths are resolved against it. */
Spec *spec_load_string(const char *name, const char *text, FILE *out) {
  return load(source_from_string(name, text), out);
}

void spec_free(Spec *spec) {
  if (!spec)
    return;
  for (int i = 0; i < spec->nlayers; i++)
    free(spec->layers[i].name);
  free(spec->layers);
  free(spec->data.train.images);
  free(spec->data.train.labels);
  free(spec->data.test.images);
  free(spec->data.test.labels);
  free(spec->name);
  source_free(spec->src);
  free(spec);
}

const char *activation_name(Activation a) {
  switch (a) {
  case ACT_RELU:
    return "relu";
  case ACT_SOFTMAX:
    return "softmax";
  }
  return "?";
}

const char *loss_name(Loss l) {
  switch (l) {
  case LOSS_NLL:
    return "nll";
  }
  return "?";
}
