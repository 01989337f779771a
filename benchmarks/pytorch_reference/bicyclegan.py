"""BicycleGAN reference step: the official PyTorch networks and one hybrid training iteration.

Followed: junyanz/BicycleGAN (commit 40b9d52c27b9831f56c1c7c7a6ddde8bc9149067),
models/networks.py (define_G -> G_Unet_add_all / UnetBlock_with_z, define_E -> E_ResNet /
BasicBlock, define_D -> D_NLayersMulti, get_norm_layer('instance'), init_weights 'xavier'
gain 0.02, GANLoss lsgan summed over the scales) and models/bicycle_gan_model.py
(forward, backward_EG, backward_G_alone, update_G_and_E, update_D, optimize_parameters);
options/base_options.py and options/train_options.py defaults: nz 8, ngf = nef = ndf = 64,
where_add 'all' (z tiled and joined to the input of every U-Net level), upsample 'basic'
(transposed convs), nl relu, norm instance, num_Ds 2, conditional_D off, gan_mode lsgan,
lambda_L1 10, lambda_GAN = lambda_GAN2 = 1, lambda_z 0.5, lambda_kl 0.01, use_same_D off,
batch_size 2, Adam lr 2e-4, betas (0.5, 0.999) for each of G, E, D, D2; --use_dropout, which
every official training script passes.

Networks by size. The official defaults are the 256 px family (crop_size 256): netG
unet_256, netE resnet_256, netD = netD2 basic_256_multi; below 256 px this module takes the
official 128 px family: unet_128, resnet_128, basic_128_multi (as tfi2i's
recipes/bicyclegan_demo.py). E ends in an 8x8 average pool that must leave a 1x1 map, so
only 128 and 256 px run. tfi2i's recipe uses the 256 family; at 128 px it needs
--set=model.net_g=unet_128 --set=model.net_e=resnet_128 --set=model.net_d=basic_128_multi
--set=model.net_d2=basic_128_multi, and --batch_size=2 (any even batch) at every size.

One step (official optimize_parameters; tfi2i's BicycleGAN.train_step does the same work)
on one batch of `batch` (even) pairs, split in halves: (A1, B1) encoded, B2 only the real
images for D2.
  forward: mu, logvar = E(B1); z_enc = mu + exp(logvar / 2) * eps; z_rand ~ N(0, I);
           fake_enc = G(A1, z_enc); fake_rand = G(A1, z_rand); mu2 = E(fake_rand)[0];
  G and E (D, D2 frozen): lsgan(D(fake_enc), real) + lsgan(D2(fake_rand), real)
           + 10 |fake_enc - B1| + 0.01 KL (summed over the half batch), back-propagated with
           the graph kept; then with E frozen 0.5 |mu2 - z_rand| back-propagated (it reaches
           G only); one Adam step for E, one for G;
  D:       lsgan(D(fake_enc.detach()), fake) + lsgan(D(B1), real) (not halved), Adam step;
  D2:      the same on (fake_rand, B2), Adam step.

Inference: G(A, z) for one image and a fresh z ~ N(0, I), under no_grad with G in eval mode
(dropout off), as the official test.py (model.eval(), then netG(real_A, z)). tfi2i.bench
times its first endpoint, G(A, 0): the same network pass.

Simplifications: no data loading, logging, checkpoints or learning-rate schedule. Inputs
are random images in [-1, 1], made once; z and eps are drawn inside the step, as the
official code does.
"""
import torch
from torch import nn

from common import count
from common import Reference
from common import set_requires_grad
from cyclegan import instance_norm
from cyclegan import lsgan

# The official network families: size -> (U-Net down steps, encoder blocks, D layers).
FAMILIES = {256: ('unet_256', 8, 'resnet_256', 5, 'basic_256_multi', 3),
            128: ('unet_128', 7, 'resnet_128', 4, 'basic_128_multi', 2)}


def init_xavier(net, gain=0.02):
  """Official init_weights('xavier'): conv / linear weights xavier-normal with `gain`,
  biases 0 (instance norm has no parameters)."""
  for m in net.modules():
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
      nn.init.xavier_normal_(m.weight, gain=gain)
      if m.bias is not None:
        nn.init.zeros_(m.bias)
  return net


def tile(z, like):
  """z [B, nz] spread over like's H x W: [B, nz, H, W]."""
  return z[:, :, None, None].expand(-1, -1, like.shape[2], like.shape[3])


class ZLevel(nn.Module):
  """One level of G_Unet_add_all (UnetBlock_with_z): z is tiled and joined to the level's
  input x, every conv has a bias, the up path uses ReLU (nl relu):
    outermost: conv4 s2 -> inner(., z) -> ReLU -> convT4 s2 -> tanh
    middle:    LReLU -> conv4 s2 -> IN -> inner(., z) -> ReLU -> convT4 s2 -> IN [-> dropout]
    innermost: LReLU -> conv4 s2 -> ReLU -> convT4 s2 -> IN
  Every level but the outermost returns concat([up path, x]) (x without z)."""

  def __init__(self, in_ch, outer_ch, inner_ch, nz, inner=None, outermost=False,
               dropout=False):
    super().__init__()
    self.outermost, self.inner = outermost, inner
    down = nn.Conv2d(in_ch + nz, inner_ch, 4, 2, 1)
    up_in = inner_ch if inner is None else inner_ch * 2
    up = nn.ConvTranspose2d(up_in, outer_ch, 4, 2, 1)
    if outermost:
      self.down = nn.Sequential(down)
      self.up = nn.Sequential(nn.ReLU(True), up, nn.Tanh())
    elif inner is None:  # innermost
      self.down = nn.Sequential(nn.LeakyReLU(0.2, True), down)
      self.up = nn.Sequential(nn.ReLU(True), up, instance_norm(outer_ch))
    else:
      self.down = nn.Sequential(nn.LeakyReLU(0.2, True), down, instance_norm(inner_ch))
      self.up = nn.Sequential(nn.ReLU(True), up, instance_norm(outer_ch),
                              *([nn.Dropout(0.5)] if dropout else []))

  def forward(self, x, z):
    y = self.down(torch.cat([x, tile(z, x)], 1))
    if self.inner is not None:
      y = self.inner(y, z)
    y = self.up(y)
    return y if self.outermost else torch.cat([y, x], 1)


def generator(num_downs, in_ch=3, out_ch=3, nz=8, ngf=64):
  """Official G_Unet_add_all from the bottleneck out: the innermost level, num_downs - 5
  levels of ngf*8 with dropout, then ngf*8 -> ngf*4, ngf*4 -> ngf*2, ngf*2 -> ngf and the
  outermost level (in_ch -> out_ch)."""
  level = ZLevel(ngf * 8, ngf * 8, ngf * 8, nz)
  for _ in range(num_downs - 5):
    level = ZLevel(ngf * 8, ngf * 8, ngf * 8, nz, level, dropout=True)
  for mult in (4, 2, 1):
    level = ZLevel(ngf * mult, ngf * mult, ngf * mult * 2, nz, level)
  return init_xavier(ZLevel(in_ch, out_ch, ngf, nz, level, outermost=True))


class DownBlock(nn.Module):
  """Official E_ResNet BasicBlock: [IN, LReLU, conv3x3 (c -> c), IN, LReLU, conv3x3
  (c -> c_out), avgpool 2] + [avgpool 2, conv1x1 (c -> c_out)]."""

  def __init__(self, ch, out_ch):
    super().__init__()
    self.body = nn.Sequential(
        instance_norm(ch), nn.LeakyReLU(0.2, True), nn.Conv2d(ch, ch, 3, 1, 1),
        instance_norm(ch), nn.LeakyReLU(0.2, True), nn.Conv2d(ch, out_ch, 3, 1, 1),
        nn.AvgPool2d(2))
    self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(ch, out_ch, 1))

  def forward(self, x):
    return self.body(x) + self.shortcut(x)


class Encoder(nn.Module):
  """Official E_ResNet (vaeLike): conv4 s2 (3 -> nef), n_blocks - 1 DownBlocks from
  nef * min(4, n) to nef * min(4, n + 1) channels, LReLU, avgpool 8 (to 1x1), then two
  linear heads: mu and logvar."""

  def __init__(self, n_blocks, in_ch=3, nz=8, nef=64):
    super().__init__()
    layers = [nn.Conv2d(in_ch, nef, 4, 2, 1)]
    for n in range(1, n_blocks):
      layers.append(DownBlock(nef * min(4, n), nef * min(4, n + 1)))
    layers += [nn.LeakyReLU(0.2, True), nn.AvgPool2d(8)]
    self.features = nn.Sequential(*layers)
    width = nef * min(4, n_blocks)
    self.mu, self.logvar = nn.Linear(width, nz), nn.Linear(width, nz)
    init_xavier(self)

  def forward(self, x):
    h = self.features(x).flatten(1)
    return self.mu(h), self.logvar(h)


def patch_layers(in_ch, ndf, n_layers):
  """One scale of D_NLayersMulti: conv4 s2 + LReLU, (n_layers - 1) x [conv4 s2, IN, LReLU],
  conv4 s1, IN, LReLU, conv4 s1 -> 1 channel; every conv has a bias."""
  layers = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
  mult = 1
  for n in range(1, n_layers + 1):
    prev, mult = mult, min(2 ** n, 8)
    layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2 if n < n_layers else 1, 1),
               instance_norm(ndf * mult), nn.LeakyReLU(0.2, True)]
  layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
  return nn.Sequential(*layers)


class MultiScaleD(nn.Module):
  """Official D_NLayersMulti: num_d PatchGANs, scale i with round(ndf / 2**i) filters on the
  input average-pooled i times (3x3, stride 2, pad 1, padding left out of the mean)."""

  def __init__(self, n_layers, in_ch=3, ndf=64, num_d=2):
    super().__init__()
    self.scales = nn.ModuleList(
        patch_layers(in_ch, int(round(ndf / 2 ** i)), n_layers) for i in range(num_d))
    self.pool = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
    init_xavier(self)

  def forward(self, x):
    out = []
    for i, scale in enumerate(self.scales):
      if i:
        x = self.pool(x)
      out.append(scale(x))
    return out


def lsgan_multi(predictions, real: bool):
  """Official GANLoss over a multi-scale D: the per-scale lsgan losses summed."""
  return sum(lsgan(p, real) for p in predictions)


def build(size, batch=2, nz=8, lambda_l1=10.0, lambda_gan=1.0, lambda_gan2=1.0, lambda_z=0.5,
          lambda_kl=0.01, lr=2e-4, beta1=0.5):
  if size not in FAMILIES:
    raise ValueError(f'the official BicycleGAN nets run at 256 px (resnet_256 encoder) or '
                     f'128 px (resnet_128), got {size}')
  if batch % 2:
    raise ValueError(f'BicycleGAN needs an even batch (the official assert: one half is '
                     f'encoded, the other gives D2 its real images), got {batch}: pass BATCH 2')
  _, num_downs, _, e_blocks, _, d_layers = FAMILIES[size]
  gen = generator(num_downs, nz=nz)
  enc = Encoder(e_blocks, nz=nz)
  disc, disc2 = MultiScaleD(d_layers), MultiScaleD(d_layers)
  adam = lambda net: torch.optim.Adam(net.parameters(), lr, betas=(beta1, 0.999))
  opt_g, opt_e, opt_d, opt_d2 = adam(gen), adam(enc), adam(disc), adam(disc2)
  l1 = nn.functional.l1_loss
  real_a = torch.rand(batch, 3, size, size) * 2 - 1
  real_b = torch.rand(batch, 3, size, size) * 2 - 1
  half = batch // 2
  a1, b1, b2 = real_a[:half], real_b[:half], real_b[half:]

  def step():
    # forward: both cycles from A1, and E's estimate of the random code (E trainable here)
    mu, logvar = enc(b1)
    z_enc = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    z_rand = torch.randn(half, nz)
    fake_enc = gen(a1, z_enc)
    fake_rand = gen(a1, z_rand)
    mu2, _ = enc(fake_rand)
    # G and E, with both discriminators frozen
    set_requires_grad((disc, disc2), False)
    opt_e.zero_grad()
    opt_g.zero_grad()
    kl = torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) * (-0.5 * lambda_kl)
    loss_ge = (lsgan_multi(disc(fake_enc), True) * lambda_gan
               + lsgan_multi(disc2(fake_rand), True) * lambda_gan2
               + l1(fake_enc, b1) * lambda_l1 + kl)
    loss_ge.backward(retain_graph=True)
    # the latent regression updates G alone: E is frozen after its graph was recorded, as
    # the official backward_G_alone (E's weight gradients are formed and dropped)
    set_requires_grad((enc,), False)
    (l1(mu2, z_rand) * lambda_z).backward()
    set_requires_grad((enc,), True)
    opt_e.step()
    opt_g.step()
    # D on the encoded path, D2 on the random path, each its own Adam step
    set_requires_grad((disc, disc2), True)
    for net, opt, real, fake in ((disc, opt_d, b1, fake_enc), (disc2, opt_d2, b2, fake_rand)):
      opt.zero_grad()
      loss_d = lsgan_multi(net(fake.detach()), False) + lsgan_multi(net(real), True)
      loss_d.backward()
      opt.step()

  def infer():
    gen.eval()
    out = gen(real_a[:1], torch.randn(1, nz))
    gen.train()
    return out

  return Reference(step=step, infer=infer,
                   params={'G': count(gen), 'E': count(enc), 'D': count(disc),
                           'D2': count(disc2)})
