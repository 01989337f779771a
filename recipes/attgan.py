"""AttGAN at the official defaults (He et al., TIP 2019: LynnHo/AttGAN-Tensorflow v1, the
released 128 px model "shortcut1_inject1"), on the 13 attributes of paper 001, with the
CAM-consistency loss switched by cam.apply_to (none | generator | discriminator | both;
paper 001 trains with both).

model, loss, cam: every argument of tfi2i.models.AttGAN at its default; the official
source of each default is cited next to it in the constructor (tfi2i/models/attgan.py).
The rest from train.py (T); data and train keys in recipes/common.py.

  python -m tfi2i.train --recipe=recipes/attgan.py --recipe.cam.apply_to=both \\
      --recipe.data.root=DIR --workdir=DIR
  (DIR/list_attr_celeba.txt and DIR/img_align_celeba/, the CelebA convention)
"""
import ml_collections

from recipes import common
from tfi2i import models
from tfi2i.attribute_rules import PAPER_ATTRIBUTES


def get_config(model: str = 'attgan') -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model, c.loss, c.cam = models.recipe_sections(model, attributes=PAPER_ATTRIBUTES)
  # T: Adam(lr, beta1=0.5) for D and for G (beta2: TF's default 0.999)
  c.optimizer = common.optimizer_config(('g_optimizer', 'd_optimizer'), lr=2e-4, beta1=0.5,
                                        beta2=0.999)  # T --lr, --beta1
  # T: lr = lr_base / 10 ** (epoch // 100), for --epoch 200
  c.schedule = common.schedule_config(n_epochs=100, n_epochs_decay=100, policy='step')
  # Paper 001 sec. 4.1: CelebA centre-cropped to 178 and resized to 128 for all three
  # editors (T crops 170 px at (26, 3), bicubic, no flip: BUILD_NOTES.md)
  c.data = common.attribute_data_config(c.model.get_ref('attributes'))
  c.data.flip = False  # T: no augmentation
  c.train = common.train_config()
  c.export = common.export_config()
  c.train.batch_size = 32  # T --batch_size
  c.train.log_every = 10
  c.train.image_every = 100
  c.train.checkpoint_every = 1000
  return c
