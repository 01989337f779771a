"""pix2pix at the official defaults (Isola et al. 2017).

Source of each default: junyanz/pytorch-CycleGAN-and-pix2pix, options/base_options.py (B),
options/train_options.py (T), models/pix2pix_model.py modify_commandline_options (P),
models/networks.py (N).

  python -m tfi2i.train --recipe=recipes/pix2pix.py --recipe.data.root=DIR --workdir=DIR
  (DIR/train/*.jpg holds A|B side by side, the official "aligned" layout)
"""
import ml_collections

from recipes import common


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model = m = ml_collections.ConfigDict()
  m.name = 'pix2pix'
  m.input_nc = 3  # B --input_nc
  m.output_nc = 3  # B --output_nc
  m.generator = 'unet'  # P --netG unet_256
  m.num_downs = 8  # N unet_256: 8 down steps (unet_128: 7)
  m.ngf = 64  # B --ngf
  m.discriminator = 'patch'  # B --netD basic (70x70 PatchGAN on the A|B pair)
  m.n_layers_d = 3  # N n_layers=3 for 'basic'
  m.ndf = 64  # B --ndf
  m.norm = 'batch'  # P --norm batch
  m.use_dropout = True  # B --no_dropout not set: dropout 0.5 in the inner U-Net blocks
  m.init_gain = 0.02  # B --init_type normal --init_gain 0.02
  m.eval_mode = False  # B --eval off: test time runs G as in training (dropout, batch stats)

  c.loss = l = ml_collections.ConfigDict()
  l.gan_mode = 'vanilla'  # P gan_mode vanilla
  l.lambda_l1 = 100.0  # P --lambda_L1

  c.optimizer = o = ml_collections.ConfigDict()
  o.lr = 2e-4  # T --lr
  o.beta1 = 0.5  # T --beta1
  o.beta2 = 0.999  # pix2pix_model.py Adam betas=(beta1, 0.999)

  c.schedule = common.schedule_config(n_epochs=100, n_epochs_decay=100)  # T --n_epochs(_decay)
  c.data = common.data_config()
  c.train = common.train_config()
  return c
