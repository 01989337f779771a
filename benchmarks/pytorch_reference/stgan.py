"""STGAN (Liu et al., CVPR 2019): the PyTorch port paper 001 used, rebuilt for timing.

Followed: bluestyle97/STGAN-pytorch at commit 1136a5d (models/stgan.py: ConvGRUCell,
Generator, Discriminator; agents/stgan.py: STGANAgent.train (the loop, the losses, the
optimizers), classification_loss, gradient_penalty, test (the inference call);
configs/train_stgan.yaml: the settings; datasets/celeba.py: the input pipeline, not timed).
Written anew from those files; the numbers carried over (yaml unless said):

  Generator      (g_conv_dim 64, g_layers 5, shortcut_layers 3, use_stu true,
                 one_more_conv true; stu_kernel_size 3 is also the class default, which the
                 agent does not pass) encoder 5 x [conv 4x4 stride 2 pad 1 (no bias),
                 BatchNorm2d, LeakyReLU 0.2], channels 64 .. 1024. Three selective transfer
                 units, deepest first, on the encoder maps of 512, 256 and 128 channels; unit
                 of width w: state_hat = transposed conv 4x4 stride 2 pad 1 (no bias) of
                 [state (2w channels), difference tiled]; reset, update = sigmoid(BN(conv 3x3
                 (no bias) of [map, state_hat])); new_state = reset * state_hat; candidate =
                 tanh(BN(conv 3x3 (no bias) of [map, new_state])); out = (1 - update) *
                 state_hat + update * candidate. The first state is the innermost map, later
                 ones the previous unit's new_state. Decoder: [innermost map, difference tiled]
                 -> transposed conv (no bias) + BN + ReLU to 1024; then 3 x [concatenate the
                 unit's output, transposed conv (no bias) + BN + ReLU] to 512, 256, 128; then
                 (one_more_conv) transposed conv 4x4 stride 2 (no bias) to 16 + BN + ReLU,
                 transposed conv 3x3 stride 1 pad 1 (no bias) to 3, tanh.
  Discriminator  (d_conv_dim 64, d_layers 5, d_fc_dim 1024) 5 x [conv 4x4 stride 2 pad 1
                 (with bias), InstanceNorm2d(affine=True, track_running_stats=True),
                 LeakyReLU 0.2]; flattened; two heads of their own, [Linear -> 1024,
                 LeakyReLU 0.2, Linear -> 1] and the same -> 13 attribute logits.
  Losses         WGAN-GP. Critic: -mean D(x) + mean D(G(x, d).detach()) + lambda_gp (10) *
                 GP + lambda1 (1) * cls(D_cls(x), a); GP on alpha x + (1 - alpha) fake,
                 alpha ~ U(0, 1) per image. Generator: -mean D(G(x, d)) + lambda2 (10) *
                 cls(D_cls(G(x, d)), b) + lambda3 (100) * mean |x - G(x, 0)|. cls is
                 binary cross-entropy with logits summed over the attributes and averaged
                 over the batch (reduction='sum' / batch).
  Attributes     b = the batch's labels a in a random order (randperm); the generator reads
                 the difference d = (b - a) * u * 2 * thres_int, u ~ U(0, 1) per element,
                 thres_int 0.5 (so a random intensity in [0, 1) of each change); the
                 reconstruction reads a - a = 0.
  Optimizers     Adam, g_lr = d_lr = 2e-4, betas (0.5, 0.999).
  Loop           StarGAN's: each iteration takes ONE batch and makes one critic update on
                 it; when (iteration + 1) % n_critic == 0 (n_critic 5) the same iteration
                 then makes one generator update on that same batch, with the same b and d.

One step here is the unit of work of tfi2i's STGAN.train_step (tfi2i/models/attgan.py): the
same count of updates, 5 critic updates and 1 generator update, i.e. n_critic = 5 official
iterations. It consumes 5 batches, not tfi2i's n_d + 1 = 6: the port's generator update
reuses the 5th iteration's batch instead of taking one of its own. The arithmetic is the
same as tfi2i's step (7 generator forwards: one per critic update, the edit and the
reconstruction in the generator update; 5 critic updates with their gradient penalties; one
generator backward through D). As the official code: the nets are put in train mode each
iteration (batch norm on batch statistics, updating its running averages, also in the
critic updates' G forward; the critic's instance norm updating its running averages), the
critic's fake comes from G with autograd on and is detached at D's input, d_loss.backward
keeps the graph (retain_graph=True), and D's parameters are NOT frozen for the generator
update, so its backward also computes D's weight gradients (cleared by the next critic
update's zero_grad).

Inference: test()'s call, G(x, c_trg - c_org) with G in eval mode (batch norm on its running
averages), under no_grad, one image; c_trg is c_org with one attribute changed
(create_labels: a non-hair attribute flipped), so the difference is +-1 there, 0 elsewhere
(no thres_int scaling at test).

How this port differs from csmliu/STGAN at 8a206ad (the TensorFlow original that tfi2i
ports: train.py defaults, models.py Genc / Gstu / ConvGRUCell / Gdec / D):
  - shortcut_layers 3 here (units on the 512-, 256-, 128-channel maps; the 64-channel map of
    the first encoder layer is not passed to the decoder) vs 4 there (a 4th unit, width 64,
    whose output is concatenated before the last decoder layer);
  - inject_layers: here the difference is tiled only onto the decoder's input (and onto each
    unit's state, as both codes do: stu_inject_layers 4 there); there (inject_layers 4) it is
    also concatenated after each of the 4 inner decoder layers;
  - one_more_conv true here: the last layer is a transposed conv 4x4 (128 -> 16, no bias) +
    BN + ReLU + transposed conv 3x3 stride 1 (16 -> 3, no bias) + tanh; there
    (one_more_conv 0) a single transposed conv 4x4 stride 2 with bias (205 -> 3: 128 + the
    64-channel skip + 13 injected) + tanh (its option 1 / 3 would be kernel 1 / 3 with a
    bias);
  - the units' gates: conv without bias followed by BatchNorm2d here; conv with bias and no
    normalisation there (stu_norm 'none'); the units' upsampling transposed conv has no bias
    here, a bias there;
  - the critic's convs have a bias here (before instance norm); slim drops it there; its
    instance norm keeps running statistics here (eps 1e-5), none there (eps 1e-6);
  - the difference vector in training: random intensity here, (b - a) * u * 2 * thres_int
    with u ~ U(0, 1) per element; there exactly (b - a) * 2 * thres_int in {-1, 0, 1}
    (train.py --label diff: _b - _a). At test both give +-1 for a changed attribute;
  - the attribute classification loss: summed over attributes, mean over the batch here;
    tf.losses.sigmoid_cross_entropy (mean over all elements) there: with 13 attributes the
    classifier terms weigh 13x (critic) and 130x (generator) here against 1x and 10x there,
    the other weights (GP 10, reconstruction 100) the same;
  - the loop: here one batch per iteration, the generator updated every 5th iteration on that
    iteration's batch (5 batches per 5 critic + 1 generator updates); there n_d = 5 critic
    updates each on its own batch, then one generator update on a 6th (6 batches);
  - the generator update runs the whole G twice here (edit, reconstruction); there the
    encoder runs once and both decodes share it (tfi2i runs the whole G twice, as here);
  - D is not frozen in the generator update here (its weight gradients are computed and
    dropped); TF minimises g_loss over G's variables only;
  - learning rate: StepLR x 0.1 every 800k iterations of 1M (stepped per iteration) here;
    lr / 10 after 100 of 200 epochs there;
  - data: CenterCrop 178, Resize 128, RandomHorizontalFlip, 10 attributes (Bangs,
    Blond_Hair, Brown_Hair, Bushy_Eyebrows, Eyeglasses, Male, Mouth_Slightly_Open, Mustache,
    Pale_Skin, Young) here; there (and in paper 001 / tfi2i) 13 attributes, no flip. This
    reference uses the 13 of tfi2i's recipes/stgan.py (only the widths that read the
    attribute count change);
  - norms and init: BatchNorm2d eps 1e-5 / momentum 0.1 and PyTorch's default init here;
    slim batch norm eps 1e-3 / decay 0.999 and Glorot-uniform there; pad 1 here, 'SAME'
    there (the same shapes);
  - the same in both: encoder, critic trunk and heads (LeakyReLU 0.2), unit widths (64 *
    2^level), the units' state passing ('stu': new_state = reset * state_hat), the
    difference tiled into each state, wgan-gp with GP 10, reconstruction L1 x 100, Adam
    2e-4 / (0.5, 0.999), batch 32, n_critic = n_d = 5, targets by permuting the batch.

Simplifications (none changes the arithmetic of a step):
  - no data loading: 5 batches of random images in [-1, 1] and random 0/1 attributes, made
    once before timing;
  - no logging (.item() calls), tensorboardX, sample images, checkpoints or the StepLR
    schedule (host-side, and constant for the first 800k iterations);
  - CPU only, no DataParallel (the yaml's ngpu 2 needs CUDA); torchsummary not imported.
"""
import torch
import torch.nn as nn

from common import bce_summed
from common import count
from common import gradient_penalty
from common import Reference

N_ATTRS = 13  # tfi2i recipes/stgan.py (paper 001's 13); the port's yaml lists 10
DIM = 64  # g_conv_dim, d_conv_dim
G_LAYERS, D_LAYERS = 5, 5  # g_layers, d_layers
SHORTCUT = 3  # shortcut_layers (= the number of units)
STU_KERNEL = 3  # stu_kernel_size
FC_DIM = 1024  # d_fc_dim
N_CRITIC = 5  # n_critic
THRES_INT = 0.5  # thres_int
LAMBDA_GP, LAMBDA_1, LAMBDA_2, LAMBDA_3 = 10.0, 1.0, 10.0, 100.0
LR, BETAS = 2e-4, (0.5, 0.999)  # g_lr = d_lr, beta1, beta2


def _tile(a, h, w):
  return a[:, :, None, None].expand(-1, -1, h, w)


class SelectiveTransferUnit(nn.Module):
  """unit(feature, state, d) -> (output, new_state); `feature` has `width` channels,
  `state` 2 * width at half the resolution."""

  def __init__(self, width, n_attrs=N_ATTRS, kernel=STU_KERNEL):
    super().__init__()
    self.up = nn.ConvTranspose2d(2 * width + n_attrs, width, 4, 2, 1, bias=False)

    def gate(act):
      return nn.Sequential(nn.Conv2d(2 * width, width, kernel, 1, (kernel - 1) // 2, bias=False),
                           nn.BatchNorm2d(width), act)

    self.reset = gate(nn.Sigmoid())
    self.update = gate(nn.Sigmoid())
    self.candidate = gate(nn.Tanh())

  def forward(self, feature, state, d):
    state_hat = self.up(torch.cat([state, _tile(d, state.shape[2], state.shape[3])], 1))
    both = torch.cat([feature, state_hat], 1)
    r, z = self.reset(both), self.update(both)
    new_state = r * state_hat
    cand = self.candidate(torch.cat([feature, new_state], 1))
    return (1 - z) * state_hat + z * cand, new_state


class STGenerator(nn.Module):
  """G(x, d): d the attribute difference [batch, n_attrs]."""

  def __init__(self, n_attrs=N_ATTRS, n_layers=G_LAYERS, shortcut=SHORTCUT):
    super().__init__()
    self.shortcut = min(shortcut, n_layers - 1)
    width = lambda i: DIM * 2 ** i
    self.enc = nn.ModuleList()
    cin = 3
    for i in range(n_layers):
      self.enc.append(nn.Sequential(nn.Conv2d(cin, width(i), 4, 2, 1, bias=False),
                                    nn.BatchNorm2d(width(i)), nn.LeakyReLU(0.2, inplace=True)))
      cin = width(i)
    # deepest first: encoder levels n_layers - 2, ..., n_layers - 1 - shortcut
    self.units = nn.ModuleList(SelectiveTransferUnit(width(n_layers - 2 - k), n_attrs)
                               for k in range(self.shortcut))

    def up(cin, cout):
      return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                           nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    self.dec = nn.ModuleList([up(width(n_layers - 1) + n_attrs, width(n_layers - 1))])
    for i in range(1, n_layers - 1):
      cout = width(n_layers - 1 - i)
      self.dec.append(up(3 * cout if i <= self.shortcut else 2 * cout, cout))
    last_in = 3 * DIM if self.shortcut == n_layers - 1 else 2 * DIM
    self.dec.append(nn.Sequential(up(last_in, DIM // 4),  # one_more_conv
                                  nn.ConvTranspose2d(DIM // 4, 3, 3, 1, 1, bias=False),
                                  nn.Tanh()))

  def forward(self, x, d):
    maps = []
    for layer in self.enc:
      x = layer(x)
      maps.append(x)
    inner = maps[-1]
    h = self.dec[0](torch.cat([inner, _tile(d, inner.shape[2], inner.shape[3])], 1))
    state = inner
    for k, unit in enumerate(self.units):
      skip, state = unit(maps[-2 - k], state, d)
      h = self.dec[k + 1](torch.cat([h, skip], 1))
    for layer in self.dec[self.shortcut + 1:]:
      h = layer(h)
    return h


class STDiscriminator(nn.Module):
  """D(x) -> (critic score [batch, 1], attribute logits [batch, n_attrs])."""

  def __init__(self, image_size, n_attrs=N_ATTRS, n_layers=D_LAYERS):
    super().__init__()
    if image_size % 2 ** n_layers:
      raise ValueError(f'STGAN critic: size {image_size} is not a multiple of {2 ** n_layers}')
    seq, cin = [], 3
    for i in range(n_layers):
      cout = DIM * 2 ** i
      seq.append(nn.Sequential(
          nn.Conv2d(cin, cout, 4, 2, 1),
          nn.InstanceNorm2d(cout, affine=True, track_running_stats=True),
          nn.LeakyReLU(0.2, inplace=True)))
      cin = cout
    self.trunk = nn.Sequential(*seq)
    flat = cin * (image_size // 2 ** n_layers) ** 2
    head = lambda k: nn.Sequential(nn.Linear(flat, FC_DIM), nn.LeakyReLU(0.2, inplace=True),
                                   nn.Linear(FC_DIM, k))
    self.adv, self.att = head(1), head(n_attrs)

  def forward(self, x):
    h = self.trunk(x).flatten(1)
    return self.adv(h), self.att(h)


def build(size, batch, **kw):
  del kw
  G, D = STGenerator(), STDiscriminator(size)
  g_opt = torch.optim.Adam(G.parameters(), LR, betas=BETAS)
  d_opt = torch.optim.Adam(D.parameters(), LR, betas=BETAS)
  batches = [(torch.rand(batch, 3, size, size) * 2 - 1,
              torch.randint(0, 2, (batch, N_ATTRS)).float()) for _ in range(N_CRITIC)]

  def iteration(x, a, update_g):
    G.train()
    D.train()
    b = a[torch.randperm(a.shape[0])]
    # critic update
    real_score, real_logits = D(x)
    d_real, d_cls = -real_score.mean(), bce_summed(real_logits, a)
    d = b - a
    d = d * torch.rand_like(d) * (2 * THRES_INT)
    fake = G(x, d)  # autograd on, as the official code; detached at D's input
    fake_score, _ = D(fake.detach())
    gp = gradient_penalty(D, x, fake)
    d_loss = d_real + fake_score.mean() + LAMBDA_GP * gp + LAMBDA_1 * d_cls
    d_opt.zero_grad()
    d_loss.backward(retain_graph=True)
    d_opt.step()
    if update_g:  # generator update, same batch, targets and difference
      fake = G(x, d)
      fake_score, fake_logits = D(fake)
      rec = G(x, a - a)
      g_loss = (-fake_score.mean() + LAMBDA_3 * (x - rec).abs().mean()
                + LAMBDA_2 * bce_summed(fake_logits, b))
      g_opt.zero_grad()
      g_loss.backward()
      g_opt.step()

  def step():
    for i, (x, a) in enumerate(batches):
      iteration(x, a, update_g=(i + 1) % N_CRITIC == 0)

  x_test, a_test = batches[0][0][:1], batches[0][1][:1]
  b_test = a_test.clone()
  b_test[:, 0] = 1 - b_test[:, 0]  # attribute 0 (Bald) flipped, as create_labels
  d_test = b_test - a_test

  def infer():
    G.eval()
    return G(x_test, d_test)

  return Reference(step=step, infer=infer, params={'G': count(G), 'D': count(D)}, infer_batch=1)
