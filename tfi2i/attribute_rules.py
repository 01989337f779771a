"""What the attribute editors (tfi2i.models) and their data (tfi2i.data.attributes) both
know about CelebA's attributes: paper 001's list of 13, the hair colours that exclude each
other, and the rule that changes one attribute of a vector (the official test-time
targets). Below both: it imports NumPy only.
"""
import numpy as np

# The 13 attributes of paper 001 (sec. 4.1), AttGAN's and STGAN's default list.
PAPER_ATTRIBUTES = ('Bald', 'Bangs', 'Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Bushy_Eyebrows',
                    'Eyeglasses', 'Male', 'Mouth_Slightly_Open', 'Mustache', 'No_Beard',
                    'Pale_Skin', 'Young')
# Mutually exclusive attributes: setting one clears the others (StarGAN create_labels;
# AttGAN / STGAN check_attribute_conflict)
HAIR_COLOURS = ('Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Gray_Hair')


def change_rule(names, index, value=None):
  """(scale, offset), float32 [k] each: the target of changing attribute `index` is
  source * scale + offset, as the official test-time targets: value None is StarGAN's
  create_labels (a hair colour is set, any other attribute flipped); setting a hair colour
  clears the other hair colours (create_labels; AttGAN / STGAN check_attribute_conflict);
  the rest are kept. One rule for the NumPy targets (`change`) and the models' in-graph
  ones (AttributeEditor.flipped)."""
  names = list(names)
  scale, offset = np.ones(len(names), np.float32), np.zeros(len(names), np.float32)
  if value is None and names[index] not in HAIR_COLOURS:
    scale[index], offset[index] = -1.0, 1.0  # flipped
    return scale, offset
  value = 1.0 if value is None else float(value)
  scale[index], offset[index] = 0.0, value
  if names[index] in HAIR_COLOURS and value > 0:
    for j, name in enumerate(names):
      if j != index and name in HAIR_COLOURS:
        scale[j] = 0.0
  return scale, offset


def change(source, names, index, value=None):
  """Attribute vectors ({0, 1}, [n, k], NumPy) with attribute `index` changed by
  change_rule."""
  scale, offset = change_rule(names, index, value)
  return np.asarray(source, np.float32) * scale + offset
