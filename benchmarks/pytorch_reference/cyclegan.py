"""CycleGAN reference step: the official PyTorch networks and one training iteration.

Followed: junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py (ResnetGenerator with 9
ResnetBlocks, NLayerDiscriminator n_layers 3, get_norm_layer('instance'), init_weights
'normal' 0.02, GANLoss lsgan) and models/cycle_gan_model.py (optimize_parameters); default
options (options/base_options.py, options/train_options.py): ngf = ndf = 64, netG
resnet_9blocks, netD basic, norm instance, no dropout, gan_mode lsgan, lambda_A = lambda_B =
10, lambda_identity 0.5, Adam lr 2e-4, betas (0.5, 0.999). Restated from the project's
../shared/bench/pytorch_reference_step.py as a `build(size, batch)` module.

One step, as the official optimize_parameters and tfi2i's CycleGAN.train_step:
  forward  fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A);
  G update (D_A, D_B frozen): identity passes G_A(B), G_B(A), then
           lsgan(D_A(fake_B), real) + lsgan(D_B(fake_A), real) + 10 |rec_A - A| + 10 |rec_B - B|
           + 5 |G_A(B) - B| + 5 |G_B(A) - A|, one Adam step over both generators;
  D update: for D_A (real B, fake_B) and D_B (real A, fake_A), each
           0.5 * (lsgan(D(real), real) + lsgan(D(fake.detach()), fake)) back-propagated on its
           own, then one Adam step over both discriminators.
One batch of `batch` A images and `batch` B images per step.

Inference: G_A(A) on one image under no_grad; the official test.py leaves the networks in
train mode unless --eval, which makes no difference here (instance norm without running
statistics, no dropout).

Simplifications: no data loading, logging, checkpoints or learning-rate schedule; the image
pools (pool_size 50) are left out, as in the project's older reference: they are a
host-side buffer of past fakes (the D step sees this step's fakes, which costs the same).
Inputs are random images in [-1, 1], made once.
"""
import torch
from torch import nn

from common import count
from common import Reference
from common import set_requires_grad


def instance_norm(channels):
  """Official get_norm_layer('instance'): no affine parameters, no running statistics."""
  return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def init_normal(net, gain=0.02):
  """Official init_weights('normal'): conv / linear weights N(0, gain), biases 0; batch-norm
  scales N(1, gain), shifts 0."""
  for m in net.modules():
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
      nn.init.normal_(m.weight, 0.0, gain)
      if m.bias is not None:
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
      nn.init.normal_(m.weight, 1.0, gain)
      nn.init.zeros_(m.bias)
  return net


class ResidualBlock(nn.Module):
  """x + [reflect pad 1, conv3x3, IN, ReLU, reflect pad 1, conv3x3, IN](x)."""

  def __init__(self, dim):
    super().__init__()
    self.body = nn.Sequential(
        nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), instance_norm(dim), nn.ReLU(True),
        nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), instance_norm(dim))

  def forward(self, x):
    return x + self.body(x)


def resnet_generator(in_ch=3, out_ch=3, ngf=64, n_blocks=9):
  """c7s1-64, d128, d256, n_blocks x R256, u128, u64, c7s1-3 + tanh; every conv has a bias
  (instance norm has no shift of its own)."""
  layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), instance_norm(ngf), nn.ReLU(True)]
  ch = ngf
  for _ in range(2):
    layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1), instance_norm(ch * 2), nn.ReLU(True)]
    ch *= 2
  layers += [ResidualBlock(ch) for _ in range(n_blocks)]
  for _ in range(2):
    layers += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1),
               instance_norm(ch // 2), nn.ReLU(True)]
    ch //= 2
  layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_ch, 7), nn.Tanh()]
  return init_normal(nn.Sequential(*layers))


def patch_discriminator(in_ch=3, ndf=64, n_layers=3, norm=instance_norm):
  """Official NLayerDiscriminator (70x70 PatchGAN at n_layers 3): conv4 s2 + LReLU, then
  (n_layers - 1) x [conv4 s2, norm, LReLU], conv4 s1, norm, LReLU, conv4 s1 -> 1 channel.
  The middle convs carry a bias only with instance norm (batch norm has its own shift)."""
  bias = norm is instance_norm
  layers = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
  mult = 1
  for n in range(1, n_layers + 1):
    prev, mult = mult, min(2 ** n, 8)
    stride = 2 if n < n_layers else 1
    layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias), norm(ndf * mult),
               nn.LeakyReLU(0.2, True)]
  layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
  return init_normal(nn.Sequential(*layers))


def lsgan(prediction, real: bool):
  """Official GANLoss('lsgan'): mean squared distance to a target of 1 (real) or 0 (fake)."""
  return nn.functional.mse_loss(prediction, torch.full_like(prediction, float(real)))


def build(size, batch=1, lambda_a=10.0, lambda_b=10.0, lambda_idt=0.5, lr=2e-4, beta1=0.5):
  if size % 4:
    raise ValueError(f'CycleGAN\'s ResNet generator needs a size divisible by 4, got {size}')
  g_a, g_b = resnet_generator(), resnet_generator()  # A -> B, B -> A
  d_a, d_b = patch_discriminator(), patch_discriminator()  # judge B, judge A
  opt_g = torch.optim.Adam(list(g_a.parameters()) + list(g_b.parameters()), lr,
                           betas=(beta1, 0.999))
  opt_d = torch.optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), lr,
                           betas=(beta1, 0.999))
  l1 = nn.functional.l1_loss
  real_a = torch.rand(batch, 3, size, size) * 2 - 1
  real_b = torch.rand(batch, 3, size, size) * 2 - 1

  def step():
    fake_b = g_a(real_a)
    rec_a = g_b(fake_b)
    fake_a = g_b(real_b)
    rec_b = g_a(fake_a)
    # generators, with the discriminators frozen
    set_requires_grad((d_a, d_b), False)
    opt_g.zero_grad()
    identity = (l1(g_a(real_b), real_b) * lambda_b * lambda_idt
                + l1(g_b(real_a), real_a) * lambda_a * lambda_idt)
    loss_g = (lsgan(d_a(fake_b), True) + lsgan(d_b(fake_a), True)
              + l1(rec_a, real_a) * lambda_a + l1(rec_b, real_b) * lambda_b + identity)
    loss_g.backward()
    opt_g.step()
    # discriminators, on this step's fakes (the official pools are left out)
    set_requires_grad((d_a, d_b), True)
    opt_d.zero_grad()
    for disc, real, fake in ((d_a, real_b, fake_b), (d_b, real_a, fake_a)):
      loss_d = 0.5 * (lsgan(disc(real), True) + lsgan(disc(fake.detach()), False))
      loss_d.backward()
    opt_d.step()

  def infer():
    return g_a(real_a[:1])

  return Reference(step=step, infer=infer, params={'G': count(g_a), 'D': count(d_a)})
