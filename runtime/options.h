/* options.h: one table-driven parser for every command line: `sparsec`'s
 * commands, the programs `sparsec build` makes (PROG train|eval|predict)
 * and the REPL's `ir`. Each command describes its options once, in a
 * table (name, argument, range or allowed values, help line, where the
 * value goes); parsing, the error messages ("did you mean", the range, the
 * allowed values), the help text and the REPL's completion all come from
 * that table. It lives in the runtime because built programs link only
 * the runtime; it needs nothing but libc. */
#ifndef SPARSEC_OPTIONS_H
#define SPARSEC_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef enum SrOptKind {
  SR_OPT_FLAG,   /* no argument: the int at `offset` becomes 1 */
  SR_OPT_INT,    /* digits only, min..max: an int at `offset` (or the callback) */
  SR_OPT_REAL,   /* a finite number in rmin..rmax: a double at `offset` */
  SR_OPT_STRING, /* any text: a const char * at `offset` */
  SR_OPT_ENUM,   /* one of `values`: its index, an int at `offset` */
  SR_OPT_FILE,   /* a path (completed as a file name): a const char * at `offset` */
} SrOptKind;

/* An argument, as read: the word and what the kind made of it. */
typedef struct SrOptValue {
  const char *text;    /* NULL for a flag */
  long long integer;   /* SR_OPT_INT */
  double real;         /* SR_OPT_REAL */
  int index;           /* SR_OPT_ENUM: in `values` */
} SrOptValue;

/* What went wrong, and which argv word it is about, so that a caller with
 * a location (the REPL) can point at the word. */
typedef struct SrOptError {
  int index;           /* into argv */
  char msg[512];       /* "unknown option '--thread' of run" */
  char note[512];      /* "did you mean '--threads'?", or "" */
} SrOptError;

struct SrOption;
/* Stores a value itself (a repeated option, a value with a side effect):
 * `where` is the target plus the option's offset. 0, or -1 with err->msg
 * (err->index is set by the parser). */
typedef int (*SrOptSet)(void *where, const struct SrOption *opt, const SrOptValue *v,
                        SrOptError *err);

#define SR_OPT_REQUIRED 1u /* the command needs it: "predict needs --input FILE" */

typedef struct SrOption {
  const char *name;    /* long name without the dashes ("threads"), or NULL */
  char short_name;     /* 'o' for -o, or 0 */
  SrOptKind kind;
  const char *arg;     /* the argument in help ("N", "PATH=VALUE"); NULL: from the kind */
  const char *help;    /* '\n' starts an aligned continuation line */
  long long min, max;  /* SR_OPT_INT */
  double rmin, rmax;   /* SR_OPT_REAL */
  /* SR_OPT_ENUM: the allowed values, NULL-terminated; or, with
   * values_stride, an array of structs (of that size) each starting with
   * its name, ended by one whose name is NULL (ir.h's pass_table). */
  const char *const *values;
  size_t values_stride;
  size_t offset;       /* where the value goes in the parser's target */
  SrOptSet set;        /* instead of storing at offset, when not NULL */
  unsigned flags;      /* SR_OPT_REQUIRED */
} SrOption;

/* A command's options: its own (ended by an entry without a name), then
 * those of `also` (shared groups: --set, ir's options), whose target is
 * at `also_at` inside this table's. Words that are not options go to
 * `positional` (NULL: none are taken). */
typedef struct SrOptTable {
  const char *command;       /* in messages: "unknown option '--x' of ir" */
  const SrOption *options;
  const struct SrOptTable *also;
  size_t also_at;
  int (*positional)(void *target, const char *arg, SrOptError *err);
} SrOptTable;

#define SR_OPT_HELP 1 /* what sr_opt_parse returns for --help or -h */

/* --quiet and --verbose, which every command has (sparsec's and built
 * programs'): an int at `offset`, SR_QUIET, 0 (the default) or SR_VERBOSE;
 * giving both is an error. What each prints is in its help line. */
#define SR_QUIET (-1)
#define SR_VERBOSE 1
int sr_opt_set_verbosity(void *where, const struct SrOption *opt, const SrOptValue *v,
                         SrOptError *err);
#define SR_OPT_VERBOSITY(type, field, quiet_help, verbose_help)                              \
  {"quiet", 'q', SR_OPT_FLAG, NULL, quiet_help, .offset = offsetof(type, field),             \
   .set = sr_opt_set_verbosity},                                                             \
  {"verbose", 'v', SR_OPT_FLAG, NULL, verbose_help, .offset = offsetof(type, field),         \
   .set = sr_opt_set_verbosity}

/* Parses argv[first..argc) into `target`: 0, SR_OPT_HELP, or -1 with
 * *err filled. `--opt VALUE`, `--opt=VALUE`, `-o VALUE`; `--` ends the
 * options; the last of a repeated option wins unless its callback keeps
 * them all. */
int sr_opt_parse(const SrOptTable *t, void *target, int argc, char *const *argv, int first,
                 SrOptError *err);

/* The option `word` names (--name, --name=VALUE, -o), or NULL. */
const SrOption *sr_opt_find(const SrOptTable *t, const char *word);

/* Every spelling of the table's options (--name and -o), NULL-terminated,
 * in table order, in one allocation: free() it; NULL if out of memory. */
const char **sr_opt_names(const SrOptTable *t);

/* Allowed value i of an SR_OPT_ENUM option; NULL past the last. */
const char *sr_opt_value(const SrOption *opt, int i);

/* The argument as help shows it: opt->arg, else from the kind ("N", the
 * allowed values joined by '|'). */
const char *sr_opt_arg_name(const SrOption *opt, char *buf, size_t size);

/* One line per option, aligned: "  --threads N   threads for ...", then
 * "  -h, --help" ; each line starts with `indent`. */
void sr_opt_help(const SrOptTable *t, const char *indent, FILE *out);

/* The error as plain lines "PREFIXmsg" and "PREFIXnote" (the command
 * line: prefix "sparsec: " or "error: "). */
void sr_opt_report(const SrOptError *err, const char *prefix, FILE *out);

/* The closest of `known` (NULL-terminated) at most two edits away, and
 * not a rewrite of a very short word; NULL if none. */
const char *sr_opt_closest(const char *word, const char *const *known);

#endif
