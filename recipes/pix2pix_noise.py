"""The pix2pix_noise member of the BicycleGAN family: recipes/bicyclegan.py with model.variant='pix2pix_noise'.

  python -m tfi2i.train --recipe=recipes/pix2pix_noise.py --recipe.data.root=DIR --workdir=DIR
"""
from recipes import bicyclegan


def get_config():
  return bicyclegan.get_config(variant='pix2pix_noise')
