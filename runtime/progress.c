/* progress.c: the progress bar within an epoch, labelled with its phase,
 * with the running mean of the loss (or a pretraining stage's cost):
 *
 *   lr=0.1 epoch 3 [=========>          ] 23450/50000  2410 ex/s  loss 0.4312  11 s left
 *   pretrain h2 epoch 1 [===>           ] 2340/8000  5210 ex/s  cost 31.2209  1 s left
 *
 * One line, redrawn in place with \r, so it only makes sense on a terminal:
 * the caller (sr_fit, told by the driver, which knows whether stderr is
 * one) decides whether to draw at all. Redraws are limited to one per
 * SR_PROGRESS_INTERVAL so that small batches do not flood the terminal,
 * and an epoch shorter than that draws nothing. */
#include <string.h>

#include "sparsert_internal.h"

#define BAR_WIDTH 20

void sr_progress_start(SrProgress *p, FILE *out, const char *label, const char *loss_name,
                       int total, double now) {
  *p = (SrProgress){.out = out, .loss_name = loss_name, .total = total, .start = now,
                    .last_draw = now};
  snprintf(p->label, sizeof p->label, "%s", label);
}

/* "=========>          ": full cells for what is done, an arrow head at
 * the front unless the bar is full. */
static void format_bar(char *bar, int done, int total) {
  int full = total > 0 ? (int)((double)done / total * BAR_WIDTH) : BAR_WIDTH;
  full = full < 0 ? 0 : full > BAR_WIDTH ? BAR_WIDTH : full;
  for (int i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < full ? '=' : i == full ? '>' : ' ';
  bar[BAR_WIDTH] = '\0';
}

void sr_progress_update(SrProgress *p, int done, double loss_sum, double now) {
  double elapsed = now - p->start;
  if (!p->out || now - p->last_draw < SR_PROGRESS_INTERVAL || elapsed <= 0)
    return;
  char bar[BAR_WIDTH + 1];
  format_bar(bar, done, p->total);
  double rate = done / elapsed;
  double left = rate > 0 ? (p->total - done) / rate : 0;
  char line[256];
  int len = snprintf(line, sizeof line, "%s [%s] %d/%d  %.0f ex/s  %s %.4f  %.0f s left",
                     p->label, bar, done, p->total, rate, p->loss_name,
                     done > 0 ? loss_sum / done : 0.0, left);
  if (len < 0)
    return;
  len = len < (int)sizeof line ? len : (int)sizeof line - 1;
  /* A shorter line than the last one (the time left shrinks) would leave
   * the old line's tail visible: pad over it. */
  fprintf(p->out, "\r%s%*s", line, p->shown > len ? p->shown - len : 0, "");
  fflush(p->out);
  p->shown = p->shown > len ? p->shown : len;
  p->last_draw = now;
}

void sr_progress_clear(SrProgress *p) {
  if (!p->out || p->shown == 0)
    return;
  fprintf(p->out, "\r%*s\r", p->shown, "");
  fflush(p->out);
  p->shown = 0;
}
