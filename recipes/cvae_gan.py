"""The cvae_gan member of the BicycleGAN family: recipes/bicyclegan.py with model.variant='cvae_gan'.

  python -m tfi2i.train --recipe=recipes/cvae_gan.py --recipe.data.root=DIR --workdir=DIR
"""
from recipes import bicyclegan


def get_config():
  return bicyclegan.get_config(variant='cvae_gan')
