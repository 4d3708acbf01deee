/* bundle.c: a compiled model ready for inference, as NAME_create,
 * NAME_infer and NAME_free of a bundle (and PROG's predict) use it.
 *
 * The model's description comes from an object file that may have been
 * built by another sparsec, so before anything is allocated it is checked
 * against this runtime: the ABI version, the sizes of the structs as the
 * compiler laid them out, and the slots the roles name. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "sparsert_internal.h"

struct SrBundle {
  const SrModel *model;
  const SrProgramConfig *cfg;
  SrState state;
  SrError err;         /* why the last sr_bundle_infer failed; "" after a success */
};

/* ---- checking an object's description ------------------------------------ */

static int check_abi(const SrProgramConfig *cfg, SrError *err) {
  if (cfg->abi != SR_PROGRAM_ABI)
    return sr_fail(err, "the model was compiled for runtime ABI %d, this runtime has ABI %d: "
                        "rebuild it with the sparsec that built this runtime",
                   cfg->abi, SR_PROGRAM_ABI);
  if (cfg->sizeof_config != (int)sizeof(SrProgramConfig) ||
      cfg->sizeof_model != (int)sizeof(SrModel) || cfg->sizeof_slot != (int)sizeof(SrSlot))
    return sr_fail(err, "the model's tables were laid out for another runtime (config/model/slot "
                        "%d/%d/%d bytes, here %zu/%zu/%zu): rebuild it with this sparsec",
                   cfg->sizeof_config, cfg->sizeof_model, cfg->sizeof_slot,
                   sizeof(SrProgramConfig), sizeof(SrModel), sizeof(SrSlot));
  return 0;
}

/* A role's slot must exist, be of `kind` and `cols` wide (cols 0: any). */
static int check_role(const SrModel *m, const char *role, int slot, SrSlotKind kind, int cols,
                      SrError *err) {
  if (slot < 0 || slot >= m->nslots)
    return sr_fail(err, "model: the %s slot %d does not exist (%d slots)", role, slot, m->nslots);
  const SrSlot *s = &m->slots[slot];
  if (s->kind != kind || (cols > 0 && s->cols != cols))
    return sr_fail(err, "model: the %s slot %d (%s) is of kind %d and %d wide, expected kind %d "
                        "and %d wide",
                   role, slot, s->name ? s->name : "?", (int)s->kind, s->cols, (int)kind, cols);
  return 0;
}

int sr_program_check(const SrModel *m, const SrProgramConfig *cfg, SrError *err) {
  if (!m || !cfg)
    return sr_fail(err, "no model description");
  if (check_abi(cfg, err) < 0)
    return -1;
  if (!cfg->cpu_features || !cfg->compiler)
    return sr_fail(err, "model: the config lacks its CPU features or compiler");
  if (!m->slots || m->nslots < 1 || !m->infer)
    return sr_fail(err, "model: no slots or no inference kernel");
  if (!cfg->name || !cfg->target || !cfg->cpu)
    return sr_fail(err, "model: the config lacks its name or target");
  if (cfg->input < 1 || cfg->classes < 1 || cfg->classes != m->classes || cfg->max_rows < 1)
    return sr_fail(err, "model: bad sizes (input %d, classes %d/%d, rows %d)", cfg->input,
                   cfg->classes, m->classes, cfg->max_rows);
  if (check_role(m, "input", m->slot_x, SR_SLOT_INPUT, cfg->input, err) < 0 ||
      check_role(m, "labels", m->slot_y, SR_SLOT_LABELS, 1, err) < 0 ||
      check_role(m, "probabilities", m->slot_probs, SR_SLOT_TEMP, m->classes, err) < 0 ||
      check_role(m, "loss", m->slot_loss, SR_SLOT_TEMP, 1, err) < 0)
    return -1;
  if (m->nhidden < 0 || m->nhidden > SR_MAX_HIDDEN)
    return sr_fail(err, "model: %d hidden layers (at most %d)", m->nhidden, SR_MAX_HIDDEN);
  for (int k = 0; k < m->nhidden; k++)
    if (check_role(m, "non-finite count", m->slot_nonfinite[k], SR_SLOT_TEMP, 1, err) < 0)
      return -1;
  return 0;
}

/* ---- weights --------------------------------------------------------------- */

static int is_model_slot(SrSlotKind kind) {
  return kind == SR_SLOT_PARAM || kind == SR_SLOT_CONST;
}

/* Embedded weights were validated against the model when the object was
 * built; every PARAM and CONST slot must have its array. */
static int load_embedded(SrBundle *b, SrError *err) {
  const SrModel *m = b->model;
  if (!b->cfg->weights)
    return sr_fail(err, "no weights file given and none embedded in the model "
                        "(build it with --embed-weights FILE)");
  for (int i = 0; i < m->nslots; i++) {
    const SrSlot *s = &m->slots[i];
    if (!is_model_slot(s->kind))
      continue;
    if (!b->cfg->weights[i])
      return sr_fail(err, "the embedded weights lack tensor '%s'", s->name ? s->name : "?");
    memcpy(b->state.slots[i], b->cfg->weights[i], (size_t)s->rows * (size_t)s->cols * 4);
  }
  return 0;
}

static void copy_message(const SrError *e, char *err, size_t errlen) {
  if (err && errlen > 0) {
    strncpy(err, e->msg, errlen - 1);
    err[errlen - 1] = '\0';
  }
}

int sr_bundle_check_cpu(const SrProgramConfig *cfg, char *err, size_t errlen) {
  SrError e = {{0}};
  int rc = cfg ? check_abi(cfg, &e) : sr_fail(&e, "no model description");
  if (rc == 0 && sr_cpu_check(cfg, &e) < 0)
    rc = SR_BUNDLE_CPU;
  if (rc != 0)
    copy_message(&e, err, errlen);
  return rc;
}

SrBundle *sr_bundle_create(const SrModel *m, const SrProgramConfig *cfg, const char *weights,
                           char *err, size_t errlen) {
  SrError e = {{0}};
  SrBundle *b = calloc(1, sizeof *b);
  int rc = b ? 0 : sr_fail(&e, "out of memory");
  if (rc == 0)
    rc = sr_program_check(m, cfg, &e);
  if (rc == 0)
    rc = sr_cpu_check(cfg, &e); /* before any of the model's code runs */
  if (rc == 0) {
    b->model = m;
    b->cfg = cfg;
    rc = sr_state_init(&b->state, m, cfg->max_rows, cfg->seed, &e);
  }
  if (rc == 0)
    rc = weights ? sr_checkpoint_load(&b->state, weights, &e) : load_embedded(b, &e);
  if (rc != 0) {
    copy_message(&e, err, errlen);
    sr_bundle_free(b);
    return NULL;
  }
  return b;
}

/* ---- inference --------------------------------------------------------------- */

int sr_bundle_infer(SrBundle *b, const float *x, int rows, float *probs) {
  if (!b)
    return SR_BUNDLE_BAD_ARGS;
  b->err.msg[0] = '\0';
  if (rows < 0 || (rows > 0 && (!x || !probs))) {
    sr_fail(&b->err, rows < 0 ? "rows is %d" : "x or probs is NULL (rows %d)", rows);
    return SR_BUNDLE_BAD_ARGS;
  }
  return sr_infer_rows(&b->state, x, rows, probs, &b->err) < 0 ? SR_BUNDLE_NOT_FINITE : 0;
}

const char *sr_bundle_error(const SrBundle *b) {
  return b ? b->err.msg : "no context (NULL)";
}

SrState *sr_bundle_state(SrBundle *b) {
  return &b->state;
}

void sr_bundle_free(SrBundle *b) {
  if (!b)
    return;
  sr_state_free(&b->state);
  free(b);
}
