"""CycleGAN at the official defaults (Zhu et al. 2017).

Source of each default: junyanz/pytorch-CycleGAN-and-pix2pix, options/base_options.py (B),
options/train_options.py (T), models/cycle_gan_model.py (C), models/networks.py (N).

  python -m tfi2i.train --recipe=recipes/cyclegan.py --recipe.data.root=DIR --workdir=DIR
"""
import ml_collections

from recipes import common


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model = m = ml_collections.ConfigDict()
  m.name = 'cyclegan'
  m.input_nc = 3  # B --input_nc
  m.output_nc = 3  # B --output_nc
  m.generator = 'resnet'  # B --netG resnet_9blocks
  m.n_blocks = 9  # B --netG resnet_9blocks
  m.ngf = 64  # B --ngf
  m.discriminator = 'patch'  # B --netD basic = 70x70 PatchGAN
  m.n_layers_d = 3  # N NLayerDiscriminator n_layers=3 for 'basic'
  m.ndf = 64  # B --ndf
  m.norm = 'instance'  # B --norm instance (affine=False, no running stats)
  m.use_dropout = False  # B --no_dropout is set for CycleGAN
  m.init_gain = 0.02  # B --init_type normal --init_gain 0.02

  c.loss = l = ml_collections.ConfigDict()
  l.gan_mode = 'lsgan'  # T --gan_mode lsgan
  l.lambda_a = 10.0  # C --lambda_A
  l.lambda_b = 10.0  # C --lambda_B
  l.lambda_identity = 0.5  # C --lambda_identity (scaled by lambda_a / lambda_b)
  l.pool_size = 50  # T --pool_size

  c.optimizer = o = ml_collections.ConfigDict()
  o.lr = 2e-4  # T --lr
  o.beta1 = 0.5  # T --beta1
  o.beta2 = 0.999  # C Adam betas=(beta1, 0.999)

  c.schedule = common.schedule_config(n_epochs=100, n_epochs_decay=100)  # T --n_epochs, --n_epochs_decay
  c.data = common.data_config()
  c.train = common.train_config()
  return c
