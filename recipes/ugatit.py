"""U-GAT-IT, full variant, at the official defaults (Kim et al., ICLR 2020).

model, loss: every argument of tfi2i.models.UGATIT at its default; the official source of
each default is cited next to it in the constructor (tfi2i/models/ugatit.py). The rest,
from znxlwm/UGATIT-pytorch: main.py (M), UGATIT.py (U); data and train keys in
recipes/common.py.

  python -m tfi2i.train --recipe=recipes/ugatit.py --recipe.data.root=DIR --workdir=DIR
"""
import ml_collections

from recipes import common
from tfi2i import models


def get_config(light: bool = False) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model, c.loss = models.recipe_sections('ugatit', light=light)
  # U: Adam(lr, betas=(0.5, 0.999), weight_decay) for G (both generators) and D (all four):
  # torch's weight_decay is an L2 term added to the gradient ('coupled').
  c.optimizer = common.optimizer_config(('g_optimizer', 'd_optimizer'), lr=1e-4, beta1=0.5,
                                        beta2=0.999, weight_decay=1e-4,
                                        weight_decay_mode='coupled')  # M --lr, --weight_decay
  # M --decay_flag: linear to zero per iteration over the second half of --iteration
  c.schedule = common.schedule_config(policy='linear_steps')
  c.data = common.data_config()
  # U: RandomHorizontalFlip, Resize(img_size + 30), RandomCrop(img_size)
  c.data.load_size = 286
  c.data.crop_size = 256
  c.train = common.train_config()
  c.export = common.export_config()
  c.train.steps = 1_000_000  # M --iteration
  c.train.batch_size = 1  # M --batch_size
  c.train.image_every = 1000  # M --print_freq
  c.train.checkpoint_every = 100_000  # M --save_freq
  return c
