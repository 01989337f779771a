"""pix2pix at the official defaults (Isola et al. 2017).

model, loss: every argument of tfi2i.models.Pix2Pix at its default; the official source
of each default is cited next to it in the constructor (tfi2i/models/pix2pix.py).
The rest, from junyanz/pytorch-CycleGAN-and-pix2pix: options/train_options.py (T),
models/pix2pix_model.py (P); data and train keys in recipes/common.py.

  python -m tfi2i.train --recipe=recipes/pix2pix.py --recipe.data.root=DIR --workdir=DIR
  (DIR/train/*.jpg holds A|B side by side, the official "aligned" layout)
"""
import ml_collections

from recipes import common
from tfi2i import models


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model, c.loss = models.recipe_sections('pix2pix')
  # P: Adam for G and for D, betas (T --beta1, 0.999)
  c.optimizer = common.optimizer_config(('g_optimizer', 'd_optimizer'), lr=2e-4, beta1=0.5,
                                        beta2=0.999)  # T --lr, --beta1
  c.schedule = common.schedule_config(n_epochs=100, n_epochs_decay=100)  # T --n_epochs(_decay)
  c.data = common.data_config()
  c.train = common.train_config()
  c.export = common.export_config()
  return c
