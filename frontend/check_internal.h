/* check_internal.h: what the checker's files share.
 *
 *   check.c           the driver: blocks, statements against a table of settings
 *   check_value.c     values: numbers and constant arithmetic, integers, ranges,
 *                     booleans, names from a list, paths
 *   check_model.c     input, layers, model-wide defaults, the output head
 *   check_pretrain.c  greedy denoising-autoencoder stages
 *   check_train.c     SGD, the learning-rate sweep, early stopping
 *   check_data.c      data sources, scaling, validation split
 *   check_output.c    metrics, checkpoint, resumable state, progress
 *
 * Every problem is reported, not just the first, so that one run shows
 * everything wrong with a spec. A setting's check writes its value into the
 * Spec only when it is valid; defaults are in place before checking starts. */
#ifndef SPARSEC_CHECK_INTERNAL_H
#define SPARSEC_CHECK_INTERNAL_H

#include "frontend_internal.h"

#define WHAT_LEN 320  /* "'l1' of layer 'NAME'" with the longest name */

/* What a layer's dense(...) wrote, so that the model's defaults fill in the
 * rest. A Loc with line 0 was not written (or its value was bad). */
typedef struct LayerWritten {
  Loc act, l1, l2, init, bias, sign_trick;
} LayerWritten;

/* `l1 = 0.001` etc. in the model block: defaults for the layers. */
typedef struct ModelDefaults {
  double l1, l2, bias;
  InitSpec init;
  int sign_trick;
  Loc l1_loc, l2_loc, bias_loc, sign_trick_loc;
  Loc loss_loc;         /* `loss = NAME`, if written and known */
} ModelDefaults;

/* A layer listed in pretrain's `layers`. */
typedef struct Listed {
  int layer;
  Loc loc;
} Listed;

typedef struct Checker {
  Diag *diag;
  const Source *src;
  const char *spec_dir;
  Spec *spec;
  int have_model;         /* a model block: layer names can be looked up */
  int too_many_layers;    /* reported once */
  LayerWritten written[SPEC_MAX_LAYERS];
  ModelDefaults model;
  struct {
    PretrainStage *target;      /* where pretrain settings go */
    Listed listed[SPEC_MAX_LAYERS];
    int nlisted;
    Loc layers_loc;             /* the `layers` setting; line 0 if not written */
    int layers_bad;             /* `layers` had an error: no stages are built */
  } pretrain;
  struct {
    Loc validation_loc, limit_loc;
  } data;
  struct {
    Loc format_loc;             /* the paths' locations are in Spec.output */
    int format_given;           /* `format = ...` was valid */
  } output;
} Checker;

/* ---- check.c: statements of a block against its settings ------------------ */

typedef void CheckSetting(Checker *c, const Stmt *s, const char *what);

enum {
  REQUIRED = 1,  /* a missing setting is an error */
  TAKES_SET = 2, /* `key in {...}` is allowed as well as `key = value` */
  TAKES_STRING = 4, /* a string (a path): `--set` and the REPL's `set` take a bare
                       value literally, output.metrics=runs/m.csv */
  TAKES_FILES = 8,  /* a data source: its positional strings are paths */
};

typedef struct Setting {
  const char *key;
  CheckSetting *check;
  int flags;
} Setting;

typedef struct BlockRules {
  const char *name;                          /* the block the rules are for */
  const Setting *settings;                   /* ends with a NULL key */
  void (*layer)(Checker *c, const Stmt *s);  /* `layer x = ...`; NULL: not here */
  void (*nested)(Checker *c, const Stmt *s); /* `x { ... }`; NULL: not here */
} BlockRules;

/* Every statement of `b` in source order: settings are checked against
 * the table (unknown, duplicate, `in` where only `=` fits), layers and
 * nested blocks go to the rules' callbacks; then missing required ones. */
void check_statements(Checker *c, const Block *b, const BlockRules *rules);

/* ---- one function a block ------------------------------------------------- */

extern const BlockRules model_rules, pretrain_rules, pretrain_layer_rules, train_rules,
    data_rules, output_rules;

void check_model(Checker *c, const Block *b);
void check_pretrain(Checker *c, const Block *b);  /* after check_model */
void check_train(Checker *c, const Block *b);
void check_data(Checker *c, const Block *b);
void check_output(Checker *c, const Block *b);

/* ---- check_value.c -------------------------------------------------------- */

/* "expected EXPECTED for WHAT, found a string" at e. */
void type_error(Checker *c, const Expr *e, const char *expected, const char *what);

/* The largest values the integer settings take. A count is an int in the
 * runtime, where `epochs done + N more` (the REPL's `train N`, a resumed run)
 * and `examples + batch` must not overflow: hence a billion epochs, and a
 * batch of at most SPEC_MAX_UNITS rows (every batch-sized buffer is then at
 * most 10^6 x 10^6 floats, and size computations stay far inside 64 bits).
 * A seed is an integer a double holds exactly. */
#define MAX_EPOCHS 1000000000
#define MAX_BATCH SPEC_MAX_UNITS
#define MAX_SEED 9007199254740992LL /* 2^53 */

/* A folded number. Integers are also kept exactly: the lexer's double of
 * 9007199254740993 is 9007199254740992, and 99999999999999999999 -
 * 99999999999999999990 is 0 in doubles. */
typedef struct Number {
  double value;      /* the number, rounded to a double; -0 is 0 */
  int is_integer;    /* integer literals combined by + - * only */
  int overflow;      /* an integer beyond 64 bits: `integer` is not its value */
  long long integer; /* the exact value, when is_integer and not overflow */
} Number;

/* Each reports its own error and returns 0 if e is not what is asked for;
 * `what` names the setting in messages ("'batch'", "the width of layer
 * 'h1'"). Arithmetic on numbers is folded: `scale = 1/255`. */
int check_number(Checker *c, const Expr *e, const char *what, double *out);
int check_positive(Checker *c, const Expr *e, const char *what, double *out);     /* > 0 */
int check_non_negative(Checker *c, const Expr *e, const char *what, double *out); /* >= 0 */
int check_bool(Checker *c, const Expr *e, const char *what, int *out);            /* true/false */

/* An integer in [min, max], exactly as written: not 10.0 or 1e1 (an
 * integer has no '.' or exponent), nothing rounded or wrapped. A value
 * outside the range is reported with the range, as written (1e20,
 * 99999999999999999999). */
int check_int(Checker *c, const Expr *e, const char *what, long long min, long long max,
              long long *out);

/* Any number, folded, with its kind: for settings that take an integer or
 * a fraction (validation). */
int check_numeric(Checker *c, const Expr *e, const char *what, Number *out);

/* The range check of check_int on a folded integer `v` of e. */
int check_int_value(Checker *c, const Expr *e, const Number *v, const char *what, long long min,
                    long long max, long long *out);

/* How e's value reads in a message: an integer exactly, one beyond 64
 * bits as written ("-99999999999999999999"), any other number with
 * %.15g. */
void number_text(const Checker *c, const Expr *e, const Number *v, char *buf, size_t size);

/* An identifier among `names` (NULL-terminated): its index in *out. An
 * unknown one is "unknown KIND 'x'" with a did-you-mean. */
int check_choice(Checker *c, const Expr *e, const char *kind, const char *what,
                 const char *const *names, int *out);

/* A non-empty string, resolved against the spec's folder; the caller frees. */
int check_path(Checker *c, const Expr *e, const char *what, char **out);

/* A call's one positional number argument: `masking(0.25)`, `uniform(0.05)`. */
int check_one_argument(Checker *c, const Expr *call, const char *usage, const Expr **arg);

/* weights: glorot_uniform | he_normal | uniform(A), A > 0 */
int check_init(Checker *c, const Expr *e, const char *what, InitSpec *out);

/* The callee's name in a call, the first `len` bytes of a span. */
Loc callee_loc(const Expr *call);
Loc loc_head(Loc loc, int len);

/* Warnings that several blocks share. */
void warn_large_lr(Checker *c, const Expr *e, double lr);

#endif
