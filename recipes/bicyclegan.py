"""BicycleGAN (the cVAE-GAN + cLR-GAN hybrid) at the official defaults.

model, loss: every argument of tfi2i.models.BicycleGAN at its default; the official source
of each default is cited next to it in the constructor (tfi2i/models/bicyclegan.py).
The rest, from junyanz/BicycleGAN: options/base_options.py (B), options/train_options.py
(T), models/bicycle_gan_model.py (M). The other members of the family are variants of the
same model: recipes/cvae_gan.py, recipes/clr_gan.py, recipes/pix2pix_noise.py.

  python -m tfi2i.train --recipe=recipes/bicyclegan.py --recipe.data.root=DIR --workdir=DIR
"""
import ml_collections

from recipes import common
from tfi2i import models


def get_config(variant: str = 'bicycle') -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model, c.loss = models.recipe_sections('bicyclegan', variant=variant)
  # M: one Adam per network (G, E, D, D2; a variant uses those it trains), betas (beta1, 0.999)
  c.optimizer = common.optimizer_config(
      ('g_optimizer', 'e_optimizer', 'd_optimizer', 'd2_optimizer'), lr=2e-4, beta1=0.5,
      beta2=0.999)  # T --lr, --beta1
  c.schedule = common.schedule_config(n_epochs=100, n_epochs_decay=100)  # T --niter(_decay)
  c.data = common.data_config()  # B --load_size 286, --crop_size 256, flip unless --no_flip
  c.train = common.train_config()
  c.export = common.export_config()
  c.train.batch_size = 2  # B --batch_size: one half encoded, one half random z
  return c
