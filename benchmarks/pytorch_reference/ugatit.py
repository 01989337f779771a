"""U-GAT-IT (Kim et al., ICLR 2020), full and light variants: the official PyTorch training
iteration, rebuilt for timing.

Followed: znxlwm/UGATIT-pytorch (commit b8c4251823673189999484d07e97fdcb9300e9e0)
  networks.py  ResnetGenerator (CAM, AdaILN / ILN, the light option), ResnetBlock,
               ResnetAdaILNBlock, adaILN, ILN, Discriminator (spectral norm, CAM), RhoClipper;
  UGATIT.py    build_model (two generators, global D n_layers=7 and local D n_layers=5 per
               domain, MSE / L1 / BCE-with-logits losses, the two Adam optimizers) and one
               iteration of train() (the D update, then the G update, then the rho clip);
  main.py      the defaults: ch 64, n_res 4, adv 1, cycle 10, identity 10, cam 1000,
               lr 1e-4, weight_decay 1e-4, batch 1, img_size 256 (here: img_size = SIZE).
The code is written anew; layer sizes, loss terms and weights are the official ones.

One step = one official iteration on one batch of A and one of B: the D update (both
generators forward on the real images, the four discriminators on reals and fakes, least
squares on score maps and CAM logits), then the G update (six generator passes: the two
translations, the two cycle reconstructions, the two identity mappings; the four
discriminators on the translations; adversarial, cycle, identity and CAM losses), then rho
clipped to [0, 1] in every AdaILN / ILN. Same unit of work as tfi2i's UGATIT.train_step.

As the official code (kept because it is part of its cost):
  - the D update does not detach the fakes, so its backward also runs through both
    generators (their gradients are discarded by G_optim.zero_grad()); the G update does
    not freeze the discriminators, so its backward also forms their weight gradients
    (discarded by the next D_optim.zero_grad()). tfi2i stops the gradient at the fakes and
    differentiates only the variables being updated. build(..., lean=True) removes both
    (detached fakes, frozen discriminators in the G update) for comparison; step.py does
    not pass it;
  - the discriminator CAM re-weights its features with the raw `weight_orig` of the
    spectrally normalised gap/gmp layers (the official takes `parameters()[0]`), while the
    logits use the normalised weight; torch.var is the unbiased variance in AdaILN / ILN;
  - PyTorch default initialisation (the official code sets none).

Simplifications: no data loading or augmentation (random inputs in [-1, 1], made once);
no learning-rate decay (it only changes the lr value); no printing, sample grids or
checkpoints. Inference: genA2B(x)[0] in eval mode, as the official test().
"""
import itertools

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import count
from common import Reference

N_DOWN = 2  # the generator's stride-2 stages


def _padded_conv(cin, cout, kernel, stride, pad, bias):
  return [nn.ReflectionPad2d(pad), nn.Conv2d(cin, cout, kernel, stride, 0, bias=bias)]


def _instance_layer_mix(x, rho, eps):
  """rho * instance-normalised x + (1 - rho) * layer-normalised x (unbiased variances)."""
  m_i = x.mean(dim=(2, 3), keepdim=True)
  v_i = x.var(dim=(2, 3), keepdim=True)
  m_l = x.mean(dim=(1, 2, 3), keepdim=True)
  v_l = x.var(dim=(1, 2, 3), keepdim=True)
  return rho * (x - m_i) / torch.sqrt(v_i + eps) + (1 - rho) * (x - m_l) / torch.sqrt(v_l + eps)


class AdaILN(nn.Module):
  """The mix above with per-sample gamma/beta from the generator's MLP; rho starts at 0.9."""

  def __init__(self, channels, eps=1e-5):
    super().__init__()
    self.eps = eps
    self.rho = nn.Parameter(torch.full((1, channels, 1, 1), 0.9))

  def forward(self, x, gamma, beta):
    y = _instance_layer_mix(x, self.rho, self.eps)
    return y * gamma[:, :, None, None] + beta[:, :, None, None]


class ILN(nn.Module):
  """The mix with learned per-channel gamma (1) and beta (0); rho starts at 0."""

  def __init__(self, channels, eps=1e-5):
    super().__init__()
    self.eps = eps
    self.rho = nn.Parameter(torch.zeros(1, channels, 1, 1))
    self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
    self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

  def forward(self, x):
    return _instance_layer_mix(x, self.rho, self.eps) * self.gamma + self.beta


class ResBlock(nn.Module):
  """x + [pad, conv3x3, IN, ReLU, pad, conv3x3, IN](x), no biases."""

  def __init__(self, dim):
    super().__init__()
    self.body = nn.Sequential(
        *_padded_conv(dim, dim, 3, 1, 1, False), nn.InstanceNorm2d(dim), nn.ReLU(True),
        *_padded_conv(dim, dim, 3, 1, 1, False), nn.InstanceNorm2d(dim))

  def forward(self, x):
    return x + self.body(x)


class AdaResBlock(nn.Module):
  """x + [pad, conv3x3, AdaILN, ReLU, pad, conv3x3, AdaILN](x), no biases."""

  def __init__(self, dim):
    super().__init__()
    self.conv_a = nn.Sequential(*_padded_conv(dim, dim, 3, 1, 1, False))
    self.norm_a = AdaILN(dim)
    self.conv_b = nn.Sequential(*_padded_conv(dim, dim, 3, 1, 1, False))
    self.norm_b = AdaILN(dim)

  def forward(self, x, gamma, beta):
    y = F.relu(self.norm_a(self.conv_a(x), gamma, beta))
    return x + self.norm_b(self.conv_b(y), gamma, beta)


class Generator(nn.Module):
  """x -> (image, cam_logit [B, 2], heatmap [B, 1, H/4, W/4]).

  The full variant's MLP reads the whole flattened (img_size/4)^2 x 4*ngf map (so its first
  layer has (img_size/4)^2 * (4 ngf)^2 weights); the light one its global average."""

  def __init__(self, cin=3, cout=3, ngf=64, n_blocks=4, img_size=256, light=False):
    super().__init__()
    self.light = light
    enc = [*_padded_conv(cin, ngf, 7, 1, 3, False), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
    for i in range(N_DOWN):
      c = ngf * 2 ** i
      enc += [*_padded_conv(c, 2 * c, 3, 2, 1, False), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
    dim = ngf * 2 ** N_DOWN
    enc += [ResBlock(dim) for _ in range(n_blocks)]
    self.encoder = nn.Sequential(*enc)
    # class activation map: two 1-unit bias-free classifiers on the pooled features
    self.gap_fc = nn.Linear(dim, 1, bias=False)
    self.gmp_fc = nn.Linear(dim, 1, bias=False)
    self.mix = nn.Conv2d(2 * dim, dim, 1, 1, bias=True)
    mlp_in = dim if light else (img_size // 2 ** N_DOWN) ** 2 * dim
    self.mlp = nn.Sequential(nn.Linear(mlp_in, dim, bias=False), nn.ReLU(True),
                             nn.Linear(dim, dim, bias=False), nn.ReLU(True))
    self.to_gamma = nn.Linear(dim, dim, bias=False)
    self.to_beta = nn.Linear(dim, dim, bias=False)
    self.ada_blocks = nn.ModuleList(AdaResBlock(dim) for _ in range(n_blocks))
    dec = []
    for i in range(N_DOWN):
      c = ngf * 2 ** (N_DOWN - i)
      dec += [nn.Upsample(scale_factor=2, mode='nearest'), *_padded_conv(c, c // 2, 3, 1, 1, False),
              ILN(c // 2), nn.ReLU(True)]
    dec += [*_padded_conv(ngf, cout, 7, 1, 3, False), nn.Tanh()]
    self.decoder = nn.Sequential(*dec)

  def forward(self, x):
    h = self.encoder(x)
    n = h.shape[0]
    gap_logit = self.gap_fc(F.adaptive_avg_pool2d(h, 1).view(n, -1))
    gmp_logit = self.gmp_fc(F.adaptive_max_pool2d(h, 1).view(n, -1))
    weighted = torch.cat([h * self.gap_fc.weight[:, :, None, None],
                          h * self.gmp_fc.weight[:, :, None, None]], dim=1)
    h = F.relu(self.mix(weighted))
    heatmap = h.sum(dim=1, keepdim=True)
    z = F.adaptive_avg_pool2d(h, 1).view(n, -1) if self.light else h.reshape(n, -1)
    z = self.mlp(z)
    gamma, beta = self.to_gamma(z), self.to_beta(z)
    for block in self.ada_blocks:
      h = block(h, gamma, beta)
    return self.decoder(h), torch.cat([gap_logit, gmp_logit], dim=1), heatmap


class Discriminator(nn.Module):
  """x -> (score map, cam_logit [B, 2], heatmap): n_layers - 2 spectrally normalised 4x4
  stride-2 convs (reflect pad 1, LeakyReLU 0.2; ndf, then doubling), one 4x4 stride-1 conv
  doubling again, the CAM (spectrally normalised logits), 1x1 conv + LeakyReLU, and a
  spectrally normalised 4x4 conv to one channel."""

  def __init__(self, cin=3, ndf=64, n_layers=5):
    super().__init__()
    sn = nn.utils.spectral_norm
    down = lambda ci, co, stride: [nn.ReflectionPad2d(1), sn(nn.Conv2d(ci, co, 4, stride, 0)),
                                   nn.LeakyReLU(0.2, True)]
    layers, c = down(cin, ndf, 2), ndf
    for _ in range(n_layers - 3):
      layers += down(c, 2 * c, 2)
      c *= 2
    layers += down(c, 2 * c, 1)
    c *= 2
    self.features = nn.Sequential(*layers)
    self.gap_fc = sn(nn.Linear(c, 1, bias=False))
    self.gmp_fc = sn(nn.Linear(c, 1, bias=False))
    self.mix = nn.Conv2d(2 * c, c, 1, 1, bias=True)
    self.head = nn.Sequential(nn.ReflectionPad2d(1), sn(nn.Conv2d(c, 1, 4, 1, 0, bias=False)))

  def forward(self, x):
    h = self.features(x)
    n = h.shape[0]
    gap_logit = self.gap_fc(F.adaptive_avg_pool2d(h, 1).view(n, -1))
    gmp_logit = self.gmp_fc(F.adaptive_max_pool2d(h, 1).view(n, -1))
    # the raw (un-normalised) weights, as the official parameters()[0]
    weighted = torch.cat([h * self.gap_fc.weight_orig[:, :, None, None],
                          h * self.gmp_fc.weight_orig[:, :, None, None]], dim=1)
    h = F.leaky_relu(self.mix(weighted), 0.2)
    heatmap = h.sum(dim=1, keepdim=True)
    return self.head(h), torch.cat([gap_logit, gmp_logit], dim=1), heatmap


def build(size, batch, light=False, lean=False):
  ch, n_res = 64, 4
  adv_w, cycle_w, identity_w, cam_w = 1.0, 10.0, 10.0, 1000.0
  g_ab = Generator(3, 3, ch, n_res, img_size=size, light=light)
  g_ba = Generator(3, 3, ch, n_res, img_size=size, light=light)
  d_ga, d_gb = Discriminator(3, ch, 7), Discriminator(3, ch, 7)
  d_la, d_lb = Discriminator(3, ch, 5), Discriminator(3, ch, 5)
  gens, discs = (g_ab, g_ba), (d_ga, d_gb, d_la, d_lb)
  for net in gens + discs:
    net.train()
  opt_g = torch.optim.Adam(itertools.chain(*(g.parameters() for g in gens)), lr=1e-4,
                           betas=(0.5, 0.999), weight_decay=1e-4)
  opt_d = torch.optim.Adam(itertools.chain(*(d.parameters() for d in discs)), lr=1e-4,
                           betas=(0.5, 0.999), weight_decay=1e-4)
  rho_layers = [m for g in gens for m in g.modules() if isinstance(m, (AdaILN, ILN))]
  real_a = torch.rand(batch, 3, size, size) * 2 - 1
  real_b = torch.rand(batch, 3, size, size) * 2 - 1
  mse, l1, bce = nn.MSELoss(), nn.L1Loss(), nn.BCEWithLogitsLoss()

  def lsq(t, target):
    return mse(t, torch.full_like(t, target))

  def freeze(nets, frozen):
    for p in itertools.chain(*(m.parameters() for m in nets)):
      p.requires_grad_(not frozen)

  def step():
    # discriminators (on the fakes of the current generators)
    opt_d.zero_grad()
    fake_b = g_ab(real_a)[0]
    fake_a = g_ba(real_b)[0]
    if lean:
      fake_a, fake_b = fake_a.detach(), fake_b.detach()
    pairs = ((d_ga, real_a, fake_a), (d_la, real_a, fake_a),
             (d_gb, real_b, fake_b), (d_lb, real_b, fake_b))
    d_real = [d(real)[:2] for d, real, _ in pairs]
    d_fake = [d(fake)[:2] for d, _, fake in pairs]
    d_loss = 0.0
    for (r_score, r_cam), (f_score, f_cam) in zip(d_real, d_fake):
      d_loss = d_loss + adv_w * (lsq(r_score, 1.0) + lsq(f_score, 0.0)
                                 + lsq(r_cam, 1.0) + lsq(f_cam, 0.0))
    d_loss.backward()
    opt_d.step()

    # generators (scored by the updated discriminators)
    if lean:
      freeze(discs, True)
    opt_g.zero_grad()
    fake_b, fake_b_cam, _ = g_ab(real_a)
    fake_a, fake_a_cam, _ = g_ba(real_b)
    rec_a = g_ba(fake_b)[0]
    rec_b = g_ab(fake_a)[0]
    same_a, same_a_cam, _ = g_ba(real_a)
    same_b, same_b_cam, _ = g_ab(real_b)
    g_loss = 0.0
    for d_g, d_l, fake, real, rec, same, cam_src, cam_same in (
        (d_ga, d_la, fake_a, real_a, rec_a, same_a, fake_a_cam, same_a_cam),
        (d_gb, d_lb, fake_b, real_b, rec_b, same_b, fake_b_cam, same_b_cam)):
      adv = 0.0
      for d in (d_g, d_l):
        score, cam, _ = d(fake)
        adv = adv + lsq(score, 1.0) + lsq(cam, 1.0)
      cam_loss = (bce(cam_src, torch.ones_like(cam_src))
                  + bce(cam_same, torch.zeros_like(cam_same)))
      g_loss = (g_loss + adv_w * adv + cycle_w * l1(rec, real) + identity_w * l1(same, real)
                + cam_w * cam_loss)
    g_loss.backward()
    opt_g.step()
    if lean:
      freeze(discs, False)
    # rho in [0, 1] after the generator update
    with torch.no_grad():
      for m in rho_layers:
        m.rho.clamp_(0.0, 1.0)

  x = real_a[:1]

  def infer():
    g_ab.eval()
    return g_ab(x)[0]

  return Reference(step=step, infer=infer,
                   params={'G': count(g_ab), 'D_global': count(d_ga), 'D_local': count(d_la)},
                   infer_batch=1)
