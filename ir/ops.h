/* ops.h: every IR operation, one row each, expanded with OP(...) wherever a
 * per-op fact is needed (the OpKind enum, names, arity, effects).
 *
 *   OP(ID, name, inputs, outputs, flags)   maths
 *
 * name    as `sparsec ir` prints it (OP_ACT and OP_ACT_GRAD print their
 *         activation's keyword instead: relu, relu_grad).
 * inputs, outputs  how many; outputs marked optional in verify.c may be
 *         absent (-1).
 * flags   OPF_EFFECT: writes its inputs in place (updates, counters), so
 *         it is never removed as dead; OPF_HYPER_COEF, OPF_HYPER_COEF2:
 *         reads coef, coef2 from the hyperparameter table at run time
 *         (ir/hyper.c; an activation's parameter adds to these).
 *
 * Each op's code: interp.c (reference), backend/kernels.c and
 * backend/sparse_kernels.c (LLVM); both dispatch on every OpKind in a
 * switch without a default, so that an op added here and not there is a
 * compile error (-Wswitch, errors in CI). verify.c checks its shapes the
 * same way. t = onehot(y) below. */

/* forward */
OP(MATMUL, "matmul", 2, 1, 0)             /* out = op(a) op(b); op(t) = t or t^T by the flags */
OP(BIAS_ADD, "bias_add", 2, 1, 0)         /* out[i,j] = x[i,j] + b[0,j] */
OP(ACT, "act", 1, 1, 0)                   /* out = act(x), act = op->act (activations.def),
                                             its parameter in coef */
OP(SCALE_COLS, "scale_cols", 2, 1, 0)     /* out[i,j] = x[i,j] * s[0,j]  (sign trick) */
OP(SOFTMAX_NLL, "softmax_nll", 2, 2, 0)   /* probs = softmax(logits) by row;
                                             loss = mean_i -log probs[i, y_i] */
OP(SIGMOID_CE, "sigmoid_ce", 2, 2, 0)     /* probs = sigmoid(logits);
                                             loss = mean_i sum_j CE(t[i,j], probs[i,j]) */
OP(SQUARED_ERROR, "squared_error", 2, 1, 0) /* loss = mean_i sum_j (pred[i,j] - t[i,j])^2 / 2 */
OP(L1, "l1_penalty", 1, 1, OPF_HYPER_COEF) /* loss = coef * (1/rows) * sum |x| */
OP(L2, "l2_penalty", 1, 1, OPF_HYPER_COEF) /* loss = coef / 2 * sum w^2 */
OP(COUNT_ZERO, "count_zero", 1, 1, 0)     /* out[0] = #{x[i,j] == 0}; out[1] (optional,
                                             fused) = #{x[i,j] not finite} */
OP(COUNT_NONFINITE, "count_nonfinite", 1, 1, 0) /* out = #{x[i,j] not finite: inf, -inf, NaN} */
OP(MAX_ABS, "max_abs", 1, 1, 0)           /* out = max over all |x[i,j]| */
OP(DIV_SCALAR, "div_scalar", 2, 1, 0)     /* out = x / s[0,0], or 0 where s[0,0] == 0 */
OP(NOISE, "noise", 2, 1, 0)               /* out = corrupt(x) by `noise` with parameter coef,
                                             seeded by coef2 and the step counter in[1]
                                             (see docs/ir.md for the generator) */
OP(STEP, "step", 1, 0, OPF_EFFECT)        /* in[0] (a uint32 counter in a state slot) += 1 */
OP(GRAD_READY, "grad_ready", 1, 0, OPF_EFFECT) /* tells the runtime that gradient in[0] is
                                             final: sr_grad_ready(its slot), which may start
                                             its exchange while the backward pass goes on
                                             (split-updates puts it in train_grads); no maths */
OP(ADD, "add", 2, 1, 0)                   /* out = a + b, same shapes */
/* backward */
OP(SOFTMAX_NLL_GRAD, "softmax_nll_grad", 2, 1, 0) /* dlogits = (probs - t) / rows */
OP(SIGMOID_CE_GRAD, "sigmoid_ce_grad", 2, 1, 0)   /* dlogits = (probs - t) / rows */
OP(SQUARED_ERROR_GRAD, "squared_error_grad", 2, 1, 0) /* dpred = (pred - t) / rows */
OP(ACT_GRAD, "act_grad", 2, 1, 0)         /* dx = dy * act'(v), v = in[1] the activation's
                                             output y, or its input x (ACT_GRAD_FROM_X) */
OP(L1_GRAD, "l1_grad", 1, 1, OPF_HYPER_COEF) /* dx = coef * (1/rows) * sign(x) */
OP(L2_GRAD, "l2_grad", 1, 1, OPF_HYPER_COEF) /* dw = coef * w */
OP(BIAS_GRAD, "bias_grad", 1, 1, 0)       /* db[0,j] = sum_i dy[i,j] */
/* fused by ir/passes/fuse_relu.c; outputs after the first may be absent (-1) */
OP(BIAS_ACT, "bias_act", 2, 4, OPF_HYPER_COEF) /* h = act(z + b); pen = coef/rows sum |h|;
                                             zeros = #{h == 0}; nonfinite = #{z + b not
                                             finite}; act's parameter in coef2 */
OP(BIAS_ACT_GRAD, "bias_act_grad", 2, 2, OPF_HYPER_COEF) /* da = (dy + coef/rows sign(h))
                                             act'(h); db = column sums of da */
/* updates: in place */
OP(SGD_UPDATE, "sgd_update", 2, 0, OPF_EFFECT | OPF_HYPER_COEF) /* p -= coef * g */
OP(MOMENTUM_UPDATE, "momentum_update", 3, 0, OPF_EFFECT | OPF_HYPER_COEF | OPF_HYPER_COEF2)
                                          /* v = coef2 * v - coef * g; p += v */
OP(MATMUL_SGD, "matmul_sgd", 3, 0, OPF_EFFECT | OPF_HYPER_COEF | OPF_HYPER_COEF2)
                                          /* p = coef2 * p - coef * op(a) op(b): the weight
                                             gradient never stored */
/* sparse products, chosen by ir/passes/sparse_products.c; a = a [n x K] output
 * of a rectifier (ACT_EXACT_ZEROS) or the input, mostly zeros. Each picks, per
 * batch, its sparse kernel when nonzeros(a) <= max_density * n * K, else the
 * dense product. */
OP(ACTIVE_UNITS, "active_units", 1, 2, 0) /* out[0] [1 x K+2]: [0] = #units (columns) of a
                                             nonzero in any row, [1] = #nonzeros of a,
                                             [2..] = those units, ascending; out[1] [n x K+1]
                                             (optional): row i = its #nonzeros, then their
                                             columns, ascending (exact as floats) */
OP(SPARSE_MATMUL, "sparse_matmul", 4, 1, 0) /* in: a, w, units, rows. out = a w, summed over
                                             each row's nonzeros */
OP(SPARSE_BACKWARD_SGD, "sparse_backward_sgd", 4, 1, OPF_EFFECT | OPF_HYPER_COEF)
                                          /* in: w, a, dz, active. da[i,k] = [a[i,k] > 0]
                                             (dz w^T)[i,k] (out[0], optional), then
                                             w -= coef a^T dz on active rows */
