"""STGAN on the bundled attribute demo task, sized for a 2-core CPU as recipes/attgan_demo.py
sizes AttGAN (32 px, widths 32, 4 layers, batch 16, 1000 steps): recipes/paper001_stgan.py
(the port paper 001 ran, as far as tfi2i's STGAN takes its settings) with only the size and
the budget changed. With 4 layers the port's 3 shortcuts are all the skips (stu_layers =
n_layers - 1 = 3). The port's schedule scaled to the budget: both rates / 10 after 4/5 of
it (its lr_decay_iters 800k of max_iters 1M), at step 800 of 1000.

  python -m tfi2i.train --recipe=recipes/stgan_demo.py --recipe.cam.apply_to=both \\
      --workdir=runs/stgan_demo_both
"""
import ml_collections

from recipes import attgan_demo
from recipes import paper001_stgan


def get_config() -> ml_collections.ConfigDict:
  c = attgan_demo.get_config(paper001_stgan)
  c.model.stu_layers = 3  # n_layers - 1
  c.model.stu_dim = 32
  # the port's BCE summed over the attributes: here 3 of them (paper001_stgan: 13)
  n = len(c.model.attributes)
  c.loss.lambda_d_att = 1.0 * n
  c.loss.lambda_g_att = 10.0 * n
  c.schedule.decay_start_step = c.train.steps * 4 // 5  # the port's 800k of 1M iterations
  return c
