"""U-GAT-IT, light variant (gamma/beta from the pooled attention features): recipes/ugatit.py
with model.light=True (official --light True).

  python -m tfi2i.train --recipe=recipes/ugatit_light.py --recipe.data.root=DIR --workdir=DIR
"""
from recipes import ugatit


def get_config():
  return ugatit.get_config(light=True)
