"""STGAN at the official defaults (Liu et al., CVPR 2019: csmliu/STGAN), on the 13
attributes of paper 001, with the CAM-consistency loss switched by cam.apply_to (none |
generator | discriminator | both; paper 001 trains with both).

model, loss, cam: every argument of tfi2i.models.STGAN at its default; the official source
of each default is cited next to it in the constructor (tfi2i/models/attgan.py). Training
(optimizer, schedule, batch) as AttGAN's, which STGAN's train.py keeps (recipes/attgan.py).

  python -m tfi2i.train --recipe=recipes/stgan.py --recipe.data.root=DIR --workdir=DIR
"""
import ml_collections

from recipes import attgan


def get_config() -> ml_collections.ConfigDict:
  return attgan.get_config('stgan')
