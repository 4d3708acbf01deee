/* IR construction, the verifier and the printer. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "support.h"

static Module *build(double l1) {
  int widths[] = {6, 5, 3};
  Spec *s = test_spec(4, widths, 3, l1, 0.1);
  char err[256];
  Module *m = module_build(s, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  test_spec_free(s);
  return m;
}

static int count_ops(const Program *p, OpKind kind) {
  int n = 0;
  for (int i = 0; i < p->nops; i++)
    n += p->ops[i].kind == kind;
  return n;
}

Test(ir, builds_and_verifies_all_programs) {
  Module *m = build(0.01);
  char err[256];
  cr_expect_eq(verify_program(m, &m->forward, err, sizeof err), 0, "%s", err);
  cr_expect_eq(verify_program(m, &m->train, err, sizeof err), 0, "%s", err);
  cr_expect_eq(verify_program(m, &m->infer, err, sizeof err), 0, "%s", err);
  cr_expect_eq(m->nhidden, 2);
  cr_expect_eq(m->classes, 3);
  module_free(m);
}

Test(ir, train_updates_every_parameter_once) {
  Module *m = build(0.01);
  cr_expect_eq(count_ops(&m->train, OP_SGD_UPDATE), 6); /* 3 layers x (w, b) */
  cr_expect_eq(count_ops(&m->train, OP_COUNT_ZERO), 0, "dce keeps zero counts out of train");
  cr_expect_eq(count_ops(&m->train, OP_L1_GRAD), 2);
  /* the first layer's input gradient is never needed */
  cr_expect_eq(count_ops(&m->train, OP_MATMUL), 3 + 3 + 2);
  module_free(m);
}

Test(ir, infer_has_no_backward_or_penalty) {
  Module *m = build(0.01);
  cr_expect_eq(count_ops(&m->infer, OP_SGD_UPDATE), 0);
  cr_expect_eq(count_ops(&m->infer, OP_L1), 0);
  cr_expect_eq(count_ops(&m->infer, OP_COUNT_ZERO), 2);
  module_free(m);
}

Test(ir, zero_l1_adds_no_penalty) {
  Module *m = build(0);
  cr_expect_eq(count_ops(&m->train, OP_L1), 0);
  cr_expect_eq(count_ops(&m->train, OP_L1_GRAD), 0);
  cr_expect_eq(m->train_loss, m->head_loss);
  module_free(m);
}

static void expect_rejected(Module *m, Program *p, const char *phrase) {
  char err[256] = "";
  cr_expect_eq(verify_program(m, p, err, sizeof err), -1);
  cr_expect(strstr(err, phrase) != NULL, "message '%s' lacks '%s'", err, phrase);
}

Test(verify, rejects_matmul_with_mismatched_inner_dimension) {
  Module *m = build(0);
  Program p = {.name = "bad"};
  int w = value_named(m, "h2.w"); /* [6 x 5], but x is [n x 4] */
  int out = value_new(m, "bad.z", VAL_TEMP, ROWS_BATCH, 5);
  op_emit2(&p, OP_MATMUL, out, m->x, w);
  expect_rejected(m, &p, "inner dimensions differ (4 vs 6)");
  free(p.ops);
  module_free(m);
}

Test(verify, rejects_wrong_result_shape) {
  Module *m = build(0);
  Program p = {.name = "bad"};
  int a = value_new(m, "a", VAL_TEMP, ROWS_BATCH, 6);
  int b = value_new(m, "b", VAL_TEMP, ROWS_BATCH, 7);
  op_emit2(&p, OP_ACT, a, m->x, -1);
  expect_rejected(m, &p, "x is [n x 4]");
  p.nops = 0;
  op_emit2(&p, OP_MATMUL, b, m->x, value_named(m, "h1.w"));
  expect_rejected(m, &p, "wrong shape");
  free(p.ops);
  module_free(m);
}

Test(verify, rejects_use_before_definition_and_double_definition) {
  Module *m = build(0);
  Program p = {.name = "bad"};
  int a = value_new(m, "a", VAL_TEMP, ROWS_BATCH, 4);
  int b = value_new(m, "b", VAL_TEMP, ROWS_BATCH, 4);
  op_emit2(&p, OP_ACT, b, a, -1);
  expect_rejected(m, &p, "a is used before it is defined");
  p.nops = 0;
  op_emit2(&p, OP_ACT, a, m->x, -1);
  op_emit2(&p, OP_ACT, a, m->x, -1);
  expect_rejected(m, &p, "a is defined twice");
  free(p.ops);
  module_free(m);
}

Test(verify, rejects_bias_of_wrong_width_and_update_of_a_non_parameter) {
  Module *m = build(0);
  Program p = {.name = "bad"};
  int a = value_new(m, "a", VAL_TEMP, ROWS_BATCH, 4);
  op_emit2(&p, OP_BIAS_ADD, a, m->x, value_named(m, "h1.b")); /* b is [1 x 6] */
  expect_rejected(m, &p, "bias h1.b must be [1 x 4]");
  p.nops = 0;
  op_emit2(&p, OP_SGD_UPDATE, -1, m->x, m->x);
  expect_rejected(m, &p, "x is not a parameter");
  free(p.ops);
  module_free(m);
}

Test(print, shows_transposes_shapes_and_updates) {
  Module *m = build(0.01);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  print_module(m, out);
  fclose(out);
  cr_expect(strstr(text, "param h1.w [4 x 6] glorot_uniform(fan_in=4, fan_out=6)") != NULL, "%s", text);
  cr_expect(strstr(text, "  h1.z [n x 6] = matmul x, h1.w\n") != NULL, "%s", text);
  cr_expect(strstr(text, "  d.h1.w [4 x 6] = matmul x^T, d.h1.a\n") != NULL, "%s", text);
  cr_expect(strstr(text, "  sgd_update h1.w, d.h1.w, lr=0.1\n") != NULL, "%s", text);
  cr_expect(strstr(text, "  probs, nll = softmax_nll out.a, y\n") != NULL, "%s", text);
  free(text);
  module_free(m);
}

/* module_same_code: the same spec twice is the same code, and so is a
 * change the module does not see (the training epochs) or one the code reads
 * from its hyperparameter table (a learning rate, a nonzero penalty); a zero
 * penalty, a noise rate, an activation or a width are different code. */
static Module *build_with(const NetOptions *o, double lr, int epochs) {
  int widths[] = {6, 5, 3};
  Spec *s = test_spec_with(4, widths, 3, o, lr);
  s->train.epochs = epochs;
  char err[256];
  Module *m = module_build(s, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  test_spec_free(s);
  return m;
}

Test(ir, same_code_only_for_the_same_module) {
  NetOptions o = {.act = ACT_RELU, .loss = LOSS_NLL, .l1 = 0.01, .pretrain = 1,
                  .noise = NOISE_MASKING, .noise_p = 0.25};
  Module *a = build_with(&o, 0.1, 1), *same = build_with(&o, 0.1, 7);
  cr_expect(module_same_code(a, same));
  Module *lr = build_with(&o, 0.05, 1);
  cr_expect(module_same_code(a, lr), "the learning rate is read from the table");
  NetOptions l1 = o, no_l1 = o, noise = o, act = o;
  l1.l1 = 0.02;
  no_l1.l1 = 0;
  noise.noise_p = 0.5;
  act.act = ACT_TANH;
  Module *ml1 = build_with(&l1, 0.1, 1), *mnoise = build_with(&noise, 0.1, 1),
         *mact = build_with(&act, 0.1, 1), *mno_l1 = build_with(&no_l1, 0.1, 1);
  cr_expect(module_same_code(a, ml1), "a nonzero L1 coefficient is read from the table");
  cr_expect(!module_same_code(a, mno_l1), "no L1 penalty is no code");
  cr_expect(!module_same_code(a, mnoise), "the noise rate is compiled in");
  cr_expect(!module_same_code(a, mact));
  /* the tables differ where the values do */
  int n = module_hyper_values(a, NULL);
  cr_assert_eq(module_hyper_values(lr, NULL), n);
  double ta[256], tb[256];
  cr_assert_leq(n, 256);
  module_hyper_values(a, ta);
  module_hyper_values(lr, tb);
  int lrs = 0;
  for (int i = 0; i < n; i++)
    lrs += ta[i] == 0.1 && tb[i] == 0.05;
  cr_expect_gt(lrs, 0, "the learning rate's entries");
  int widths[] = {6, 4, 3};
  Spec *s = test_spec_with(4, widths, 3, &o, 0.1);
  char err[256];
  Module *narrow = module_build(s, err, sizeof err);
  cr_assert_not_null(narrow, "%s", err);
  test_spec_free(s);
  cr_expect(!module_same_code(a, narrow));
  Module *all[] = {a, same, lr, ml1, mnoise, mact, mno_l1, narrow};
  for (int i = 0; i < 8; i++)
    module_free(all[i]);
}

/* ops.h: every op has a name, unique, and an arity within the Op's arrays;
 * activations.def: every activation but the head's has its maths in the
 * interpreter and in the backend (a row without them does not compile; a
 * NULL, as softmax has, only for ACT_HEAD_ONLY). */
Test(ir, every_op_and_activation_has_its_hooks) {
  for (int k = 0; k < OP_COUNT_; k++) {
    const OpInfo *info = op_info((OpKind)k);
    cr_assert_not_null(info);
    cr_assert_not_null(info->name, "op %d", k);
    cr_expect(info->nin >= 0 && info->nin <= OP_MAX_IN, "%s", info->name);
    cr_expect(info->nout >= 0 && info->nout <= OP_MAX_OUT, "%s", info->name);
    for (int j = 0; j < k; j++)
      cr_expect_str_neq(op_info((OpKind)j)->name, info->name);
  }
  for (int a = 0; a < ACT_COUNT_; a++) {
    int head = activation_has((Activation)a, ACT_HEAD_ONLY);
    cr_expect_eq(act_has_maths((Activation)a), !head, "%s", activation_name((Activation)a));
    cr_expect_eq(backend_has_activation((Activation)a), !head, "%s",
                 activation_name((Activation)a));
  }
}
