"""AttGAN (He et al., TIP 2019): the PyTorch port paper 001 used, rebuilt for timing.

Followed: elvisyjlin/AttGAN-PyTorch at commit be2d6c6 (attgan.py: Generator,
Discriminators, AttGAN.trainD / trainG; nn.py: Conv2dBlock, ConvTranspose2dBlock,
LinearBlock and the norm / activation tables; train.py: the defaults and the loop; test.py:
the inference call; README.md: the 128 px command, which sets --shortcut_layers 1
--inject_layers 1). switchable_norm.py is not used at the defaults. Written anew from those
files; the numbers carried over:

  Generator      encoder 5 x [conv 4x4 stride 2 pad 1 (no bias), BatchNorm2d, LeakyReLU
                 0.01 (nn.LeakyReLU's default)], channels 64 .. 1024; decoder input
                 [innermost map, attributes tiled], 4 x [transposed conv 4x4 stride 2 pad 1
                 (no bias), BatchNorm2d, ReLU], channels 1024, 512, 256, 128; after the first
                 one the encoder's 512-channel map (shortcut_layers 1), then the attributes
                 tiled again (inject_layers 1); last transposed conv (bias) to 3 channels, tanh.
  Discriminator  5 x [conv 4x4 stride 2 pad 1 (no bias), InstanceNorm2d(affine=True),
                 LeakyReLU 0.01], channels 64 .. 1024; flattened, two heads of their own:
                 [Linear 1024*f*f -> 1024, ReLU (train.py --dis_fc_acti relu), Linear -> 1]
                 and the same -> 13 attribute logits (f = size / 32).
  Losses         mode wgan. Critic: -(mean D(x) - mean D(fake)) + lambda_gp * GP + lambda_3 *
                 BCE(cls(x), a), GP on a + alpha (fake - a), alpha ~ U(0, 1) per image;
                 generator: -mean D(G(x, b_)) + lambda_2 * BCE(cls(G(x, b_)), b) + lambda_1 *
                 L1(G(x, a_), x), the edit and the reconstruction decoded from one encoding.
                 BCE and L1 are means over all elements. lambda_1 100, lambda_2 10, lambda_3 1,
                 lambda_gp 10.
  Attributes     b = a in a random order (randperm); a_ = (2a - 1) * thres_int, b_ likewise,
                 thres_int 0.5 (b_distribution none).
  Optimizers     Adam lr 2e-4, betas (0.5, 0.999), one for G and one for D.

One step here is the unit of work of tfi2i's AttGAN.train_step (tfi2i/models/attgan.py):
n_d + 1 = 6 official iterations, each on a batch of its own: 5 critic updates (trainD), then
one generator update (trainG) on the 6th batch. train.py does exactly this: iteration `it`
updates D unless (it + 1) % (n_d + 1) == 0, when it updates G. As the official code: the
nets are in train mode during training (batch norm uses batch statistics and updates its
running averages, also in the critic updates' G forward), the critic's fake comes from G
with autograd on and is then detached, and D's parameters are frozen (requires_grad False)
for the generator update.

Inference: test.py's call, G(x, b_) with the nets in eval mode (batch norm on its running
averages), under no_grad, one image; b_ at +-thres_int except the changed attribute at
+-test_int (1.0).

Where this port differs from tfi2i's AttGAN, a port of the original LynnHo/AttGAN-Tensorflow
(v1, 4b00e6c; tfi2i/nets/attgan.py): the layers, channel counts, shortcut / inject
positions, losses, weights, optimizer and batches per step are the same, and so are the
parameter counts. The differences:
  - LeakyReLU slope 0.01 (PyTorch's default) everywhere here, 0.2 in LynnHo's / tfi2i's;
  - the discriminator's fc heads use ReLU here (--dis_fc_acti relu), LeakyReLU 0.2 there;
  - norms: BatchNorm eps 1e-5 / momentum 0.1 here, slim's eps 1e-3 / decay 0.999 there;
    InstanceNorm eps 1e-5 here, 1e-6 there;
  - init: PyTorch's defaults here, Glorot-uniform / zero biases there;
  - padding: explicit pad 1 here; TF 'SAME' there (the same at even sizes);
  - the generator update encodes once here (and in LynnHo's graph) and decodes twice;
    tfi2i calls the whole generator twice, so its encoder runs once more per update;
  - the discriminator's heads are built for 1024 channels x f x f and 13 attributes
    (hard-coded in elvisyjlin's Discriminators), so the size is a multiple of 32 and the
    attributes are 13 here; tfi2i needs --set=model.image_size=SIZE.

Simplifications (none changes the arithmetic of a step):
  - no data loading: 6 batches of random images in [-1, 1] and random 0/1 attributes, made
    once before timing;
  - no logging (.item() calls), no tensorboard, no progress bar, no sample images, no
    checkpoints, no learning-rate schedule (lr / 10 every 100 epochs, host-side);
  - CPU only, no DataParallel; torchsummary's network printout omitted.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import count
from common import Reference
from common import set_requires_grad

N_ATTRS = 13  # train.py attrs_default (= paper 001's 13, tfi2i recipes/attgan.py)
DIM = 64  # --enc_dim, --dec_dim, --dis_dim
N_LAYERS = 5  # --enc_layers, --dec_layers, --dis_layers
SHORTCUT, INJECT = 1, 1  # README's 128 px command
FC_DIM = 1024  # --dis_fc_dim
MAX_DIM = 1024
N_D = 5  # --n_d
LAMBDA_1, LAMBDA_2, LAMBDA_3, LAMBDA_GP = 100.0, 10.0, 1.0, 10.0
LR, BETAS = 2e-4, (0.5, 0.999)  # --lr, --beta1, --beta2
THRES_INT, TEST_INT = 0.5, 1.0  # --thres_int, --test_int


def _width(i):
  return min(DIM * 2 ** i, MAX_DIM)


def _tile(a, like):
  return a[:, :, None, None].expand(-1, -1, like.shape[2], like.shape[3])


class AttGenerator(nn.Module):
  """G(x, a) = decode(encode(x), a); encode and decode are callable on their own."""

  def __init__(self, n_attrs=N_ATTRS, n_layers=N_LAYERS, shortcut=SHORTCUT, inject=INJECT):
    super().__init__()
    self.shortcut = min(shortcut, n_layers - 1)
    self.inject = min(inject, n_layers - 1)
    self.enc = nn.ModuleList()
    cin = 3
    for i in range(n_layers):
      self.enc.append(nn.Sequential(nn.Conv2d(cin, _width(i), 4, 2, 1, bias=False),
                                    nn.BatchNorm2d(_width(i)), nn.LeakyReLU(0.01)))
      cin = _width(i)
    self.dec = nn.ModuleList()
    cin += n_attrs
    for i in range(n_layers - 1):
      cout = _width(n_layers - 1 - i)
      self.dec.append(nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                                    nn.BatchNorm2d(cout), nn.ReLU()))
      cin = cout
      if self.shortcut > i:
        cin += _width(n_layers - 2 - i)
      if self.inject > i:
        cin += n_attrs
    self.out = nn.Sequential(nn.ConvTranspose2d(cin, 3, 4, 2, 1), nn.Tanh())

  def encode(self, x):
    maps = []
    for layer in self.enc:
      x = layer(x)
      maps.append(x)
    return maps

  def decode(self, maps, a):
    z = torch.cat([maps[-1], _tile(a, maps[-1])], 1)
    n = len(self.enc)
    for i, layer in enumerate(self.dec):
      z = layer(z)
      if self.shortcut > i:
        z = torch.cat([z, maps[n - 2 - i]], 1)
      if self.inject > i:
        z = torch.cat([z, _tile(a, z)], 1)
    return self.out(z)

  def forward(self, x, a):
    return self.decode(self.encode(x), a)


class AttDiscriminator(nn.Module):
  """D(x) -> (critic score [batch, 1], attribute logits [batch, n_attrs])."""

  def __init__(self, image_size, n_attrs=N_ATTRS, n_layers=N_LAYERS):
    super().__init__()
    if image_size % 2 ** n_layers:
      raise ValueError(f'AttGAN critic: size {image_size} is not a multiple of {2 ** n_layers}')
    seq, cin = [], 3
    for i in range(n_layers):
      seq += [nn.Conv2d(cin, _width(i), 4, 2, 1, bias=False),
              nn.InstanceNorm2d(_width(i), affine=True), nn.LeakyReLU(0.01)]
      cin = _width(i)
    self.trunk = nn.Sequential(*seq)
    flat = cin * (image_size // 2 ** n_layers) ** 2
    self.adv = nn.Sequential(nn.Linear(flat, FC_DIM), nn.ReLU(), nn.Linear(FC_DIM, 1))
    self.att = nn.Sequential(nn.Linear(flat, FC_DIM), nn.ReLU(), nn.Linear(FC_DIM, n_attrs))

  def forward(self, x):
    h = self.trunk(x).flatten(1)
    return self.adv(h), self.att(h)


def _gradient_penalty(disc, real, fake):
  alpha = torch.rand(real.shape[0], 1, 1, 1)
  mixed = (real + alpha * (fake - real)).requires_grad_(True)
  scores, _ = disc(mixed)
  grad, = torch.autograd.grad(scores, mixed, torch.ones_like(scores), create_graph=True)
  return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def _scaled(a):
  return (a * 2 - 1) * THRES_INT


def build(size, batch, **kw):
  del kw
  G, D = AttGenerator(), AttDiscriminator(size)
  g_opt = torch.optim.Adam(G.parameters(), LR, betas=BETAS)
  d_opt = torch.optim.Adam(D.parameters(), LR, betas=BETAS)
  batches = [(torch.rand(batch, 3, size, size) * 2 - 1,
              torch.randint(0, 2, (batch, N_ATTRS)).float()) for _ in range(N_D + 1)]

  def critic_update(x, a, b):
    set_requires_grad([D], True)
    fake = G(x, _scaled(b)).detach()
    real_score, real_logits = D(x)
    fake_score, _ = D(fake)
    d_loss = (-(real_score.mean() - fake_score.mean()) + LAMBDA_GP * _gradient_penalty(D, x, fake)
              + LAMBDA_3 * F.binary_cross_entropy_with_logits(real_logits, a))
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()

  def generator_update(x, a, b):
    set_requires_grad([D], False)
    maps = G.encode(x)
    fake = G.decode(maps, _scaled(b))
    rec = G.decode(maps, _scaled(a))
    fake_score, fake_logits = D(fake)
    g_loss = (-fake_score.mean() + LAMBDA_2 * F.binary_cross_entropy_with_logits(fake_logits, b)
              + LAMBDA_1 * F.l1_loss(rec, x))
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()

  def step():
    G.train()
    D.train()
    for i, (x, a) in enumerate(batches):
      b = a[torch.randperm(a.shape[0])]
      (critic_update if i < N_D else generator_update)(x, a, b)

  x_test, a_test = batches[0][0][:1], batches[0][1][:1]
  b_test = a_test.clone()
  b_test[:, 0] = 1 - b_test[:, 0]  # one attribute changed, as test.py's per-attribute edit
  b_test = _scaled(b_test)
  b_test[:, 0] *= TEST_INT / THRES_INT

  def infer():
    G.eval()
    D.eval()
    return G(x_test, b_test)

  return Reference(step=step, infer=infer, params={'G': count(G), 'D': count(D)}, infer_batch=1)
