"""The clr_gan member of the BicycleGAN family: recipes/bicyclegan.py with model.variant='clr_gan'.

  python -m tfi2i.train --recipe=recipes/clr_gan.py --recipe.data.root=DIR --workdir=DIR
"""
from recipes import bicyclegan


def get_config():
  return bicyclegan.get_config(variant='clr_gan')
