/* Def-use queries and edits the passes share. Programs are short (tens of
 * ops), so plain scans beat maintaining use lists. */
#include <string.h>

#include "ir.h"

int program_def(const Program *p, int value) {
  for (int i = 0; i < p->nops; i++)
    for (int k = 0; k < p->ops[i].nout; k++)
      if (p->ops[i].out[k] == value)
        return i;
  return -1;
}

int program_uses(const Program *p, int value) {
  int n = 0;
  for (int i = 0; i < p->nops; i++)
    for (int k = 0; k < p->ops[i].nin; k++)
      n += p->ops[i].in[k] == value;
  return n;
}

static void replace_role(int *role, int from, int to) {
  if (*role == from)
    *role = to;
}

void program_replace_uses(Module *m, Program *p, int from, int to) {
  for (int i = 0; i < p->nops; i++)
    for (int k = 0; k < p->ops[i].nin; k++)
      if (p->ops[i].in[k] == from)
        p->ops[i].in[k] = to;
  for (int i = 0; i < p->nlive; i++)
    replace_role(&p->live[i], from, to);
  replace_role(&m->train_loss, from, to);
  replace_role(&m->head_loss, from, to);
  replace_role(&m->probs, from, to);
}

void program_remove_op(Program *p, int index) {
  memmove(&p->ops[index], &p->ops[index + 1], sizeof(Op) * (p->nops - index - 1));
  p->nops--;
}
