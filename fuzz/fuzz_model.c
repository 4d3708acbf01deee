/* fuzz_model.c: the fixed model of fuzz_model.h, kernels by hand. */
#include <math.h>
#include <string.h>

#include "fuzz_model.h"

enum {
  W1, B1, W2, B2, SIGNS, V1, DEC_B, NOISE, /* what a state file holds */
  X, Y, H, PROBS, LOSS, TRAIN_LOSS, ZEROS, NONFINITE, COST, INPUT_MAX,
  NSLOTS
};

#define IN 2
#define UNITS 3
#define CLASSES 2

static const SrSlot slots[NSLOTS] = {
    [W1] = {"h1.w", SR_SLOT_PARAM, IN, UNITS, SR_INIT_GLOROT_UNIFORM, 0, IN, UNITS, 0, 0},
    [B1] = {"h1.b", SR_SLOT_PARAM, 1, UNITS, SR_INIT_CONSTANT, 0.125, 0, 0, 0, 0},
    [W2] = {"out.w", SR_SLOT_PARAM, UNITS, CLASSES, SR_INIT_HE_NORMAL, 0, UNITS, CLASSES, 0, 0},
    [B2] = {"out.b", SR_SLOT_PARAM, 1, CLASSES, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [SIGNS] = {"h1.signs", SR_SLOT_CONST, 1, UNITS, SR_INIT_SIGNS, 0, 0, 0, 0, 0},
    [V1] = {"h1.w.velocity", SR_SLOT_STATE, IN, UNITS, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [DEC_B] = {"pretrain.h1.decoder.b", SR_SLOT_PARAM, 1, IN, SR_INIT_UNIFORM, 0.5, 0, 0, 0, 0},
    [NOISE] = {"pretrain.h1.noise_step", SR_SLOT_STATE, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [X] = {"x", SR_SLOT_INPUT, -1, IN, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [Y] = {"y", SR_SLOT_LABELS, -1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [H] = {"h1.out", SR_SLOT_TEMP, -1, UNITS, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [PROBS] = {"out.probs", SR_SLOT_TEMP, -1, CLASSES, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [LOSS] = {"loss", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [TRAIN_LOSS] = {"train.loss", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [ZEROS] = {"h1.zeros", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [NONFINITE] = {"h1.nonfinite", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [COST] = {"pretrain.h1.cost", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
    [INPUT_MAX] = {"pretrain.h1.input_max", SR_SLOT_TEMP, 1, 1, SR_INIT_ZERO, 0, 0, 0, 0, 0},
};

float fuzz_model_lr = 0.5f;
int fuzz_model_stop_after;
volatile sig_atomic_t *fuzz_model_stop;

static void count_down(void) {
  if (fuzz_model_stop_after > 0 && --fuzz_model_stop_after == 0 && fuzz_model_stop)
    *fuzz_model_stop = 1;
}

#define F(slot) ((float *)s[slot])

/* h = relu(x w1 + b1), probs = softmax(h w2 + b2), loss = mean cross-entropy. */
static float forward(void **s, int64_t rows) {
  const int32_t *y = s[Y];
  float loss = 0, zeros = 0, nonfinite = 0;
  for (int64_t r = 0; r < rows; r++) {
    const float *x = F(X) + r * IN;
    float *h = F(H) + r * UNITS, *p = F(PROBS) + r * CLASSES;
    for (int j = 0; j < UNITS; j++) {
      float a = F(B1)[j];
      for (int i = 0; i < IN; i++)
        a += x[i] * F(W1)[i * UNITS + j];
      nonfinite += !isfinite(a);
      h[j] = a > 0 ? a : 0;
      zeros += h[j] == 0;
    }
    float top = -INFINITY, sum = 0;
    for (int k = 0; k < CLASSES; k++) {
      p[k] = F(B2)[k];
      for (int j = 0; j < UNITS; j++)
        p[k] += h[j] * F(W2)[j * CLASSES + k];
      top = p[k] > top ? p[k] : top;
    }
    for (int k = 0; k < CLASSES; k++)
      sum += p[k] = expf(p[k] - top);
    for (int k = 0; k < CLASSES; k++)
      p[k] /= sum;
    int label = y[r] >= 0 && y[r] < CLASSES ? y[r] : 0;
    loss -= logf(p[label] > 1e-30f ? p[label] : 1e-30f);
  }
  *F(ZEROS) = zeros;
  *F(NONFINITE) = nonfinite;
  return rows > 0 ? loss / (float)rows : 0;
}

static void infer(void **s, int64_t rows) {
  *F(LOSS) = forward(s, rows);
}

/* Plain SGD, with momentum 0.9 (the velocity slot) on h1.w. */
static void train_step(void **s, int64_t rows) {
  const int32_t *y = s[Y];
  *F(TRAIN_LOSS) = forward(s, rows);
  float g1[IN * UNITS] = {0}, gb1[UNITS] = {0}, g2[UNITS * CLASSES] = {0}, gb2[CLASSES] = {0};
  for (int64_t r = 0; r < rows; r++) {
    const float *x = F(X) + r * IN, *h = F(H) + r * UNITS, *p = F(PROBS) + r * CLASSES;
    float d[CLASSES], dh[UNITS] = {0};
    for (int k = 0; k < CLASSES; k++)
      d[k] = (p[k] - (k == y[r])) / (float)rows;
    for (int k = 0; k < CLASSES; k++) {
      gb2[k] += d[k];
      for (int j = 0; j < UNITS; j++) {
        g2[j * CLASSES + k] += h[j] * d[k];
        dh[j] += F(W2)[j * CLASSES + k] * d[k];
      }
    }
    for (int j = 0; j < UNITS; j++) {
      if (h[j] <= 0)
        continue;
      gb1[j] += dh[j];
      for (int i = 0; i < IN; i++)
        g1[i * UNITS + j] += x[i] * dh[j];
    }
  }
  for (int i = 0; i < IN * UNITS; i++) {
    F(V1)[i] = 0.9f * F(V1)[i] + g1[i];
    F(W1)[i] -= fuzz_model_lr * F(V1)[i];
  }
  for (int j = 0; j < UNITS; j++)
    F(B1)[j] -= fuzz_model_lr * gb1[j];
  for (int i = 0; i < UNITS * CLASSES; i++)
    F(W2)[i] -= fuzz_model_lr * g2[i];
  for (int k = 0; k < CLASSES; k++)
    F(B2)[k] -= fuzz_model_lr * gb2[k];
  count_down();
}

/* A denoising autoencoder's step in miniature: the decoder (tied weights,
 * its own bias) reconstructs x from h; only the bias learns. */
static void pretrain_step(void **s, int64_t rows) {
  float cost = 0, input_max = 0, grad[IN] = {0};
  for (int64_t r = 0; r < rows; r++) {
    const float *x = F(X) + r * IN;
    float h[UNITS];
    for (int j = 0; j < UNITS; j++) {
      float a = F(B1)[j];
      for (int i = 0; i < IN; i++)
        a += x[i] * F(W1)[i * UNITS + j];
      h[j] = a > 0 ? a : 0;
    }
    for (int i = 0; i < IN; i++) {
      float rec = F(DEC_B)[i];
      for (int j = 0; j < UNITS; j++)
        rec += h[j] * F(W1)[i * UNITS + j];
      float e = rec - x[i];
      cost += e * e;
      grad[i] += e / (float)rows;
      input_max = fabsf(x[i]) > input_max ? fabsf(x[i]) : input_max;
    }
  }
  for (int i = 0; i < IN; i++)
    F(DEC_B)[i] -= 0.1f * grad[i];
  *F(COST) = rows > 0 ? cost / (float)rows : 0;
  *F(INPUT_MAX) = input_max;
  ((uint32_t *)s[NOISE])[0]++;
  count_down();
}

const SrModel fuzz_model = {
    .slots = slots,
    .nslots = NSLOTS,
    .train_step = train_step,
    .infer = infer,
    .slot_x = X,
    .slot_y = Y,
    .slot_train_loss = TRAIN_LOSS,
    .slot_loss = LOSS,
    .slot_probs = PROBS,
    .classes = CLASSES,
    .nhidden = 1,
    .hidden_names = {"h1"},
    .hidden_units = {UNITS},
    .slot_zeros = {ZEROS},
    .slot_nonfinite = {NONFINITE},
    .output_name = "out",
    .npretrain = 1,
    .pretrain = {{.layer = "h1",
                  .step = pretrain_step,
                  .slot_cost = COST,
                  .slot_input_max = INPUT_MAX,
                  .epochs = 2,
                  .batch = 2,
                  .slot_noise_step = NOISE}},
};

const char fuzz_model_structure[] = "h1 3 relu, out 2 softmax";

/* Two blobs: class 0 around (-1, -1), class 1 around (1, 1). */
static float xs[12][IN] = {{-1, -0.5f}, {1, 0.75f}, {-0.5f, -1}, {0.5f, 1},   {-1, -1},
                           {1, 1},      {-0.75f, -1}, {1, 0.5f}, /* train; last 2 validation */
                           {-1, -0.25f}, {0.25f, 1},  {-0.5f, -0.5f}, {0.75f, 0.5f}}; /* test */
static int32_t ys[12] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};

void fuzz_model_data(SrProgramData *d) {
  memset(d, 0, sizeof *d);
  d->train_all = (SrDataset){.n = 8, .dim = IN, .x = xs[0], .y = ys, .owns = 0};
  d->train_read = 8;
  d->train = (SrDataset){.n = 6, .dim = IN, .x = xs[0], .y = ys, .owns = 0};
  d->valid = (SrDataset){.n = 2, .dim = IN, .x = xs[6], .y = ys + 6, .owns = 0};
  d->test = (SrDataset){.n = 4, .dim = IN, .x = xs[8], .y = ys + 8, .owns = 0};
}

SrProgramConfig fuzz_model_config(const char *state) {
  return (SrProgramConfig){.abi = SR_PROGRAM_ABI,
                           .sizeof_config = sizeof(SrProgramConfig),
                           .sizeof_model = sizeof(SrModel),
                           .sizeof_slot = sizeof(SrSlot),
                           .name = "fuzz",
                           .structure = fuzz_model_structure,
                           .input = IN,
                           .classes = CLASSES,
                           .max_rows = FUZZ_MODEL_ROWS,
                           .epochs = 2,
                           .batch = 2,
                           .seed = 7,
                           .lr = 0.5,
                           .momentum = 0.9,
                           .nlrs = 2,
                           .lrs = {0.5, 0.25},
                           .validation = 2,
                           .state = state,
                           .progress = 0};
}

static int use_lr(void *ctx, int i, SrError *err) {
  const SrProgramConfig *cfg = ctx;
  if (i < 0 || i >= cfg->nlrs)
    return sr_fail(err, "fuzz model: no learning rate %d", i);
  fuzz_model_lr = (float)cfg->lrs[i];
  return 0;
}

SrRunSetup fuzz_model_setup(FILE *log, volatile sig_atomic_t *stop) {
  static SrProgramConfig lrs;
  lrs = fuzz_model_config(NULL);
  return (SrRunSetup){.log = log, .stop = stop, .use_lr = use_lr, .lr_ctx = &lrs};
}
