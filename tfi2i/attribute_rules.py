"""What the attribute editors (tfi2i.models) and their data (tfi2i.data.attributes) both
know about CelebA's attributes: paper 001's list of 13, the attributes that exclude each
other, and the rules that change one attribute of a vector (each editor's official test-time
targets: StarGAN's create_labels, AttGAN's and STGAN's flip and check_attribute_conflict).
Below both: it imports NumPy only.
"""
import numpy as np

# The 13 attributes of paper 001 (sec. 4.1), AttGAN's and STGAN's default list.
PAPER_ATTRIBUTES = ('Bald', 'Bangs', 'Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Bushy_Eyebrows',
                    'Eyeglasses', 'Male', 'Mouth_Slightly_Open', 'Mustache', 'No_Beard',
                    'Pale_Skin', 'Young')
# Mutually exclusive attributes: setting one clears the others (StarGAN create_labels;
# AttGAN / STGAN check_attribute_conflict)
HAIR_COLOURS = ('Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Gray_Hair')


# The official test-time targets (one per attribute j of each input):
CREATE_LABELS = 'create_labels'  # StarGAN solver.py create_labels: a hair colour set to 1 and
# the other hair colours cleared; any other attribute flipped
FLIP = 'flip_check_conflict'  # AttGAN / STGAN test.py: attribute j flipped (1 - a), then
# data.check_attribute_conflict: when j is now 1, the attributes it excludes are cleared
TARGET_RULES = (CREATE_LABELS, FLIP)
# What setting an attribute clears, by rule. StarGAN's create_labels knows the hair colours
# only; AttGAN's / STGAN's check_attribute_conflict also Bald / Receding_Hairline vs Bangs and
# Straight_Hair vs Wavy_Hair (Mustache vs No_Beard is commented out there: not conflicting).
_EXCLUDES = {
    CREATE_LABELS: {h: tuple(o for o in HAIR_COLOURS if o != h) for h in HAIR_COLOURS},
    FLIP: {'Bald': ('Bangs',), 'Receding_Hairline': ('Bangs',),
           'Bangs': ('Bald', 'Receding_Hairline'),
           'Straight_Hair': ('Wavy_Hair',), 'Wavy_Hair': ('Straight_Hair',),
           **{h: tuple(o for o in HAIR_COLOURS if o != h) for h in HAIR_COLOURS}},
}


def check_rule(rule):
  if rule not in TARGET_RULES:
    raise ValueError(f'unknown test-time target rule {rule!r}; expected one of {TARGET_RULES}')
  return rule


def conflicts(names, rule=CREATE_LABELS) -> np.ndarray:
  """float32 [k, k]: 1 at (i, j) when setting attribute i clears attribute j under `rule`."""
  names = list(names)
  out = np.zeros((len(names), len(names)), np.float32)
  for i, name in enumerate(names):
    for other in _EXCLUDES[check_rule(rule)].get(name, ()):
      if other in names:
        out[i, names.index(other)] = 1.0
  return out


def change_rule(names, index, value=None, rule=CREATE_LABELS):
  """(scale, offset, clear), float32 [k] each: the target of changing attribute `index` is
  t = source * scale + offset, then t * clear where t[index] is 1 (the attributes that
  attribute excludes cleared). value None is the rule's own change (CREATE_LABELS: a hair
  colour set, any other attribute flipped; FLIP: flipped); a value (1 or 0) sets it. One rule
  for the NumPy targets (`change`) and the models' in-graph ones (AttributeEditor.flipped)."""
  names = list(names)
  scale, offset = np.ones(len(names), np.float32), np.zeros(len(names), np.float32)
  clear = 1.0 - conflicts(names, rule)[index]
  if value is None and not (rule == CREATE_LABELS and names[index] in HAIR_COLOURS):
    scale[index], offset[index] = -1.0, 1.0  # flipped
  else:
    scale[index], offset[index] = 0.0, 1.0 if value is None else float(value)
  return scale, offset, clear


def change(source, names, index, value=None, rule=CREATE_LABELS):
  """Attribute vectors ({0, 1}, [n, k], NumPy) with attribute `index` changed by
  change_rule."""
  scale, offset, clear = change_rule(names, index, value, rule)
  target = np.asarray(source, np.float32) * scale + offset
  return np.where(target[:, index:index + 1] > 0.5, target * clear, target)


def emphasised(source, target, excludes):
  """bool [n, k]: the attributes an AttGAN / STGAN edit drives at test_int (their test.py
  scales the flipped attribute only): those that change, except one cleared because an
  attribute that excludes it was set (check_attribute_conflict's). source, target: float32
  {0, 1} [n, k]; excludes: conflicts(names, FLIP). Written with operators only, so the same
  code runs on NumPy arrays and, in the graph (AttGAN.emphasised), on tensors: an export
  finds the driven attributes from the target alone."""
  cleared_by_a_set = (target * (1.0 - source)) @ excludes > 0.5
  return (target != source) & ~((source * (1.0 - target) > 0.5) & cleared_by_a_set)
