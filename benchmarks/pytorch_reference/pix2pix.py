"""pix2pix reference step: the official PyTorch networks and one training iteration.

Followed: junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py (UnetGenerator /
UnetSkipConnectionBlock, NLayerDiscriminator n_layers 3, get_norm_layer('batch'),
init_weights 'normal' 0.02, GANLoss vanilla = BCE with logits) and models/pix2pix_model.py
(modify_commandline_options, optimize_parameters); default options: ngf = ndf = 64, norm
batch, dropout on (no --no_dropout), gan_mode vanilla, lambda_L1 100, Adam lr 2e-4, betas
(0.5, 0.999), pool_size 0. Restated from the project's ../shared/bench/pytorch_reference_step.py
as a `build(size, batch)` module.

Generator by size, as that script and tfi2i.bench do: unet_128 (num_downs 7) below 256 px,
unet_256 (num_downs 8, the official default) at 256 px and above; the size must be a
multiple of 2**num_downs. tfi2i's recipe needs --set=model.num_downs=7 below 256 px
(tfi2i.bench --compare-pytorch adds it).

One step, as the official optimize_parameters and tfi2i's Pix2Pix.train_step:
  fake_B = G(A) once;
  D update: 0.5 * (bce(D([A, fake_B.detach()]), fake) + bce(D([A, B]), real));
  G update (D frozen): bce(D([A, fake_B]), real) + 100 |fake_B - B|, scored by the updated D.
One batch of `batch` (A, B) pairs per step.

Inference: G(A) on one image under no_grad in train mode (dropout on, batch-norm statistics
of the input): the official test.py calls model.eval() only with --eval, and tfi2i's
Pix2Pix runs G so by default too.

Simplifications: no data loading, logging, checkpoints or learning-rate schedule (the pool
is off for pix2pix: pool_size 0). Inputs are random images in [-1, 1], made once.
"""
import torch
from torch import nn

from common import count
from common import Reference
from common import set_requires_grad
from cyclegan import init_normal
from cyclegan import patch_discriminator


class UnetLevel(nn.Module):
  """One level of the official U-Net (UnetSkipConnectionBlock), batch norm, so the convs
  inside carry no bias except the outermost up-conv:
    outermost: conv4 s2 -> inner -> ReLU -> convT4 s2 (bias) -> tanh
    middle:    LReLU -> conv4 s2 -> BN -> inner -> ReLU -> convT4 s2 -> BN [-> dropout 0.5]
    innermost: LReLU -> conv4 s2 -> ReLU -> convT4 s2 -> BN
  and every level but the outermost returns concat([x, level(x)])."""

  def __init__(self, outer_ch, inner_ch, in_ch=None, inner=None, outermost=False,
               dropout=False):
    super().__init__()
    in_ch = in_ch or outer_ch
    self.outermost = outermost
    down = nn.Conv2d(in_ch, inner_ch, 4, 2, 1, bias=False)
    if outermost:
      layers = [down, inner, nn.ReLU(True), nn.ConvTranspose2d(inner_ch * 2, outer_ch, 4, 2, 1),
                nn.Tanh()]
    elif inner is None:  # innermost
      layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                nn.ConvTranspose2d(inner_ch, outer_ch, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer_ch)]
    else:
      layers = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner_ch), inner, nn.ReLU(True),
                nn.ConvTranspose2d(inner_ch * 2, outer_ch, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer_ch)] + ([nn.Dropout(0.5)] if dropout else [])
    self.body = nn.Sequential(*layers)

  def forward(self, x):
    return self.body(x) if self.outermost else torch.cat([x, self.body(x)], 1)


def unet_generator(num_downs, in_ch=3, out_ch=3, ngf=64):
  """Official UnetGenerator, built from the bottleneck out: the innermost level, then
  num_downs - 5 levels of ngf*8 with dropout, then ngf*4, ngf*2, ngf and the outermost."""
  level = UnetLevel(ngf * 8, ngf * 8)
  for _ in range(num_downs - 5):
    level = UnetLevel(ngf * 8, ngf * 8, inner=level, dropout=True)
  for mult in (4, 2, 1):
    level = UnetLevel(ngf * mult, ngf * mult * 2, inner=level)
  return init_normal(UnetLevel(out_ch, ngf, in_ch=in_ch, inner=level, outermost=True))


def vanilla(prediction, real: bool):
  """Official GANLoss('vanilla'): BCE with logits against 1 (real) or 0 (fake)."""
  return nn.functional.binary_cross_entropy_with_logits(
      prediction, torch.full_like(prediction, float(real)))


def build(size, batch=1, lambda_l1=100.0, lr=2e-4, beta1=0.5):
  num_downs = 8 if size >= 256 else 7  # unet_256 / unet_128
  if size % 2 ** num_downs:
    raise ValueError(f'pix2pix\'s unet_{2 ** num_downs} needs a size that is a multiple of '
                     f'{2 ** num_downs}, got {size}')
  gen = unet_generator(num_downs)
  disc = patch_discriminator(6, norm=nn.BatchNorm2d)  # judges the (A, B) pair
  opt_g = torch.optim.Adam(gen.parameters(), lr, betas=(beta1, 0.999))
  opt_d = torch.optim.Adam(disc.parameters(), lr, betas=(beta1, 0.999))
  real_a = torch.rand(batch, 3, size, size) * 2 - 1
  real_b = torch.rand(batch, 3, size, size) * 2 - 1

  def step():
    fake_b = gen(real_a)
    # discriminator first, on the detached fake
    set_requires_grad((disc,), True)
    opt_d.zero_grad()
    loss_d = 0.5 * (vanilla(disc(torch.cat([real_a, fake_b.detach()], 1)), False)
                    + vanilla(disc(torch.cat([real_a, real_b], 1)), True))
    loss_d.backward()
    opt_d.step()
    # then the generator, scored by the updated discriminator
    set_requires_grad((disc,), False)
    opt_g.zero_grad()
    loss_g = (vanilla(disc(torch.cat([real_a, fake_b], 1)), True)
              + nn.functional.l1_loss(fake_b, real_b) * lambda_l1)
    loss_g.backward()
    opt_g.step()

  def infer():
    return gen(real_a[:1])

  return Reference(step=step, infer=infer, params={'G': count(gen), 'D': count(disc)})
