/* What session.c shares with session_edit.c. */
#ifndef SPARSEC_DRIVER_SESSION_INTERNAL_H
#define SPARSEC_DRIVER_SESSION_INTERNAL_H

#include "session.h"

/* Checks text + overrides (messages name the text after the session's
 * file, "FILE (session)" once `edited`), compiles, reads or splits the
 * data, and only if all of that worked replaces the session's spec, model
 * and state; with `carry` the weights carry over. 0, or -1 with the
 * session unchanged. The text and overrides stay the caller's. */
int session_rebuild(Session *s, const char *text, int edited, char *const *overrides, int n,
                    int carry);
void session_free_overrides(char **overrides, int n);

#endif
