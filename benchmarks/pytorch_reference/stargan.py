"""StarGAN (Choi et al., CVPR 2018): the official PyTorch training step, rebuilt for timing.

Followed: yunjey/stargan at commit 94dd002 (model.py: Generator, ResidualBlock,
Discriminator; solver.py: build_model, gradient_penalty, classification_loss, train();
main.py: the defaults). Written anew from those files; the numbers carried over:

  Generator      [image, target labels tiled over H x W] -> conv 7x7 (64) -> 2 x conv 4x4
                 stride 2 (128, 256) -> 6 residual blocks (conv 3x3, IN, ReLU, conv 3x3, IN)
                 -> 2 x transposed conv 4x4 stride 2 (128, 64) -> conv 7x7 (3), tanh. Zero
                 padding, no biases, InstanceNorm2d(affine=True, track_running_stats=True),
                 ReLU after every norm outside the residual sums.
  Discriminator  6 x [conv 4x4 stride 2 with bias, LeakyReLU 0.01], channels 64 .. 2048;
                 adversarial head conv 3x3 (1 channel, no bias, one score per patch);
                 classifier head conv with a kernel as large as the last map (size / 64), no
                 bias -> c_dim logits.
  Losses         critic: -mean D(x) + mean D(G(x, c_trg).detach()) + lambda_cls * BCE(cls(x),
                 c_org) + lambda_gp * (||grad D(x_hat)||_2 - 1)^2 on x_hat = a x + (1 - a)
                 fake, a ~ U(0, 1) per image; generator: -mean D(G(x, c_trg)) + lambda_cls *
                 BCE(cls(G(x, c_trg)), c_trg) + lambda_rec * mean |x - G(G(x, c_trg), c_org)|.
                 BCE is summed over the attributes and the batch, divided by the batch size.
                 lambda_cls 1, lambda_rec 10, lambda_gp 10.
  Optimizers     Adam lr 1e-4, betas (0.5, 0.999), one for G and one for D.
  Targets        each iteration: the batch's labels in a random order (randperm).

One step here is the unit of work of tfi2i's StarGAN.train_step (tfi2i/models/stargan.py):
n_critic = 5 official iterations, i.e. 5 batches, 5 critic updates, and after the last one
the generator update on that same (5th) batch with that iteration's targets (the official
loop updates G when (i + 1) % n_critic == 0, on iteration i's batch). As in solver.py, the
fake for the critic is produced by G with autograd on and then detached, both optimizers'
gradients are cleared before each backward, and D's parameters keep requires_grad during the
generator update (their gradients are computed and then discarded, as in the official code).

c_dim = 13, the attributes of tfi2i's recipes/stargan.py (tfi2i.attribute_rules.
PAPER_ATTRIBUTES, paper 001's). The networks are at the official defaults (conv dims 64,
g_repeat_num 6, d_repeat_num 6); the critic is built for SIZE px (the classifier's kernel is
SIZE / 64, so SIZE must be a multiple of 64; tfi2i needs --set=model.image_size=SIZE).

Inference: G(x, c) on one image under no_grad. The official test() never switches the nets
to eval mode, so instance norm uses each image's own statistics there too; so does this.

Simplifications (none changes the arithmetic of a step):
  - no data loading: n_critic batches of random images in [-1, 1] and random 0/1 labels,
    made once before timing;
  - no logging (.item() calls), no tensorboard, no sample images, no checkpoints;
  - no learning-rate decay (a host-side update every 1000 iterations in the official code);
  - CPU only (no .to(device) transfers).
"""
import torch
import torch.nn as nn

from common import bce_summed
from common import count
from common import gradient_penalty
from common import Reference

C_DIM = 13  # tfi2i recipes/stargan.py: PAPER_ATTRIBUTES
CONV_DIM = 64  # main.py --g_conv_dim, --d_conv_dim
G_REPEAT = 6  # --g_repeat_num
D_REPEAT = 6  # --d_repeat_num
N_CRITIC = 5  # --n_critic
LAMBDA_CLS, LAMBDA_REC, LAMBDA_GP = 1.0, 10.0, 10.0  # --lambda_cls, --lambda_rec, --lambda_gp
LR, BETAS = 1e-4, (0.5, 0.999)  # --g_lr, --d_lr, --beta1, --beta2


def _norm(channels):
  return nn.InstanceNorm2d(channels, affine=True, track_running_stats=True)


class Residual(nn.Module):
  """x + [conv 3x3, IN, ReLU, conv 3x3, IN](x), zero padding, no bias."""

  def __init__(self, channels):
    super().__init__()
    self.body = nn.Sequential(
        nn.Conv2d(channels, channels, 3, 1, 1, bias=False), _norm(channels), nn.ReLU(True),
        nn.Conv2d(channels, channels, 3, 1, 1, bias=False), _norm(channels))

  def forward(self, x):
    return x + self.body(x)


class StarGenerator(nn.Module):
  """G(x, c): the labels c [batch, c_dim] tiled and stacked after the image's channels."""

  def __init__(self, c_dim=C_DIM, dim=CONV_DIM, repeat=G_REPEAT):
    super().__init__()
    seq = [nn.Conv2d(3 + c_dim, dim, 7, 1, 3, bias=False), _norm(dim), nn.ReLU(True)]
    for _ in range(2):  # down: 64 -> 128 -> 256
      seq += [nn.Conv2d(dim, 2 * dim, 4, 2, 1, bias=False), _norm(2 * dim), nn.ReLU(True)]
      dim *= 2
    seq += [Residual(dim) for _ in range(repeat)]
    for _ in range(2):  # up: 256 -> 128 -> 64
      seq += [nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False), _norm(dim // 2),
              nn.ReLU(True)]
      dim //= 2
    seq += [nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()]
    self.net = nn.Sequential(*seq)

  def forward(self, x, c):
    tiled = c[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return self.net(torch.cat([x, tiled], 1))


class StarDiscriminator(nn.Module):
  """D(x) -> (patch scores [batch, 1, s/64, s/64], attribute logits [batch, c_dim])."""

  def __init__(self, image_size, c_dim=C_DIM, dim=CONV_DIM, repeat=D_REPEAT):
    super().__init__()
    if image_size % 2 ** repeat:
      raise ValueError(f'StarGAN critic: size {image_size} is not a multiple of {2 ** repeat}')
    seq, cin = [], 3
    for _ in range(repeat):
      seq += [nn.Conv2d(cin, dim, 4, 2, 1), nn.LeakyReLU(0.01)]
      cin, dim = dim, 2 * dim
    self.trunk = nn.Sequential(*seq)
    self.src = nn.Conv2d(cin, 1, 3, 1, 1, bias=False)
    self.cls = nn.Conv2d(cin, c_dim, image_size // 2 ** repeat, bias=False)

  def forward(self, x):
    h = self.trunk(x)
    return self.src(h), self.cls(h).flatten(1)


def build(size, batch, **kw):
  del kw
  G, D = StarGenerator(), StarDiscriminator(size)
  g_opt = torch.optim.Adam(G.parameters(), LR, betas=BETAS)
  d_opt = torch.optim.Adam(D.parameters(), LR, betas=BETAS)
  batches = [(torch.rand(batch, 3, size, size) * 2 - 1,
              torch.randint(0, 2, (batch, C_DIM)).float()) for _ in range(N_CRITIC)]

  def step():
    for i, (x, c_org) in enumerate(batches):
      c_trg = c_org[torch.randperm(c_org.shape[0])]
      # critic update
      src_real, cls_real = D(x)
      fake = G(x, c_trg)
      src_fake, _ = D(fake.detach())
      d_loss = (-src_real.mean() + src_fake.mean()
                + LAMBDA_CLS * bce_summed(cls_real, c_org)
                + LAMBDA_GP * gradient_penalty(D, x, fake))
      g_opt.zero_grad()
      d_opt.zero_grad()
      d_loss.backward()
      d_opt.step()
      if i + 1 == N_CRITIC:  # generator update, on this batch and its targets
        fake = G(x, c_trg)
        src_fake, cls_fake = D(fake)
        rec = G(fake, c_org)
        g_loss = (-src_fake.mean() + LAMBDA_REC * (x - rec).abs().mean()
                  + LAMBDA_CLS * bce_summed(cls_fake, c_trg))
        g_opt.zero_grad()
        d_opt.zero_grad()
        g_loss.backward()
        g_opt.step()

  x_test = batches[0][0][:1]
  c_test = 1 - batches[0][1][:1]  # every attribute flipped: any 0/1 vector costs the same

  def infer():
    return G(x_test, c_test)

  return Reference(step=step, infer=infer, params={'G': count(G), 'D': count(D)}, infer_batch=1)
