"""StarGAN at the official defaults (Choi et al., CVPR 2018), on the 13 attributes of paper
001, with the CAM-consistency loss switched by cam.apply_to (none | generator |
discriminator | both; paper 001 trains with both).

model, loss, cam: every argument of tfi2i.models.StarGAN at its default; the official
source of each default is cited next to it in the constructor (tfi2i/models/stargan.py).
The rest, from yunjey/stargan: main.py (M), solver.py (S); data and train keys in
recipes/common.py.

  python -m tfi2i.train --recipe=recipes/stargan.py --recipe.data.root=DIR --workdir=DIR
  (DIR/list_attr_celeba.txt and DIR/img_align_celeba/, the CelebA convention)
"""
import ml_collections

from recipes import common
from tfi2i import models
from tfi2i.attribute_rules import PAPER_ATTRIBUTES


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model, c.loss, c.cam = models.recipe_sections('stargan', attributes=PAPER_ATTRIBUTES)
  # S build_model: Adam(g_lr / d_lr, [beta1, beta2]) for G and for D
  c.optimizer = common.optimizer_config(('g_optimizer', 'd_optimizer'), lr=1e-4, beta1=0.5,
                                        beta2=0.999)  # M --g_lr --d_lr --beta1 --beta2
  # The paper: lr decayed linearly to zero over the last 100k of 200k iterations (M
  # --num_iters_decay). (S's own update subtracts lr/num_iters_decay every 1000
  # iterations, which leaves 9.99e-5 at the end: BUILD_NOTES.md.)
  c.schedule = common.schedule_config(policy='linear_steps')
  c.data = common.attribute_data_config(c.model.get_ref('attributes'))
  c.train = common.train_config()
  c.export = common.export_config()
  # A step is n_critic iterations (n_critic critic updates, one generator update):
  # M --num_iters 200000 iterations = 40000 steps.
  c.train.steps = 40_000
  c.train.batch_size = 16  # M --batch_size
  c.train.log_every = 10  # M --log_step (iterations; here steps)
  c.train.image_every = 200  # M --sample_step 1000 iterations
  c.train.checkpoint_every = 2000  # M --model_save_step 10000 iterations
  return c
