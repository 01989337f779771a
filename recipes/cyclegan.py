"""CycleGAN at the official defaults (Zhu et al. 2017).

model, loss: every argument of tfi2i.models.CycleGAN at its default; the official source
of each default is cited next to it in the constructor (tfi2i/models/cyclegan.py).
The rest, from junyanz/pytorch-CycleGAN-and-pix2pix: options/train_options.py (T),
models/cycle_gan_model.py (C); data and train keys in recipes/common.py.

  python -m tfi2i.train --recipe=recipes/cyclegan.py --recipe.data.root=DIR --workdir=DIR
"""
import ml_collections

from recipes import common
from tfi2i import models


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model, c.loss = models.recipe_sections('cyclegan')
  # C: one Adam for both generators, one for both discriminators, betas (T --beta1, 0.999)
  c.optimizer = common.optimizer_config(('g_optimizer', 'd_optimizer'), lr=2e-4, beta1=0.5,
                                        beta2=0.999)  # T --lr, --beta1
  c.schedule = common.schedule_config(n_epochs=100, n_epochs_decay=100)  # T --n_epochs, --n_epochs_decay
  c.data = common.data_config()
  c.train = common.train_config()
  c.export = common.export_config()
  return c
