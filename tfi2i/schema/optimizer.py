"""The recipe's `optimizer` section: Adam settings shared by every optimizer of the model,
and a subsection per optimizer (the model's `optimizer_names`) whose keys, when set,
override the shared ones for that optimizer only: --recipe.optimizer.d_optimizer.lr=4e-4.

lr, beta1 and beta2 have no default here: each recipe sets its paper's, with the source.
"""
import ml_collections

from tfi2i.schema import at_least
from tfi2i.schema import Key
from tfi2i.schema import RecipeError
from tfi2i.schema import REQUIRED
from tfi2i.schema import Section
from tfi2i.schema import unknown_key

# 'coupled': weight_decay * w added to the gradient, as torch.optim.Adam(weight_decay=) (an
# L2 term: U-GAT-IT's); 'decoupled': AdamW's decay of the weights (Keras' weight_decay)
WEIGHT_DECAY_MODES = ('coupled', 'decoupled')

OPTIMIZER = Section('optimizer', {
    'lr': Key(REQUIRED, 'the base learning rate (the schedule scales it)', check=at_least(0)),
    'beta1': Key(REQUIRED, "Adam's beta1"),
    'beta2': Key(REQUIRED, "Adam's beta2"),
    'epsilon': Key(1e-8, "torch.optim.Adam's default eps (Keras' default is 1e-7)"),
    'weight_decay': Key(0.0, "torch.optim.Adam's default weight_decay", check=at_least(0)),
    'weight_decay_mode': Key('coupled', 'coupled (an L2 term, torch) | decoupled (AdamW)',
                             choices=WEIGHT_DECAY_MODES),
})
SETTINGS = tuple(OPTIMIZER.keys)
_KINDS = {'lr': float, 'beta1': float, 'beta2': float, 'epsilon': float,
          'weight_decay': float, 'weight_decay_mode': str}


def optimizer_config(names, **values) -> ml_collections.ConfigDict:
  """The optimizer section: the shared settings (`values`: lr, beta1, beta2 required) and a
  subsection per optimizer of `names` whose keys are unset (None = the shared value)."""
  o = OPTIMIZER.config(**values)
  for name in names:
    o[name] = ml_collections.ConfigDict(
        {k: ml_collections.config_dict.placeholder(t) for k, t in _KINDS.items()})
  return o


def settings(optimizer_cfg, name) -> dict:
  """The resolved settings of optimizer `name`: its own keys where set, else the shared."""
  own = optimizer_cfg.get(name) or {}
  return {key: own[key] if own.get(key) is not None else optimizer_cfg[key]
          for key in SETTINGS}


def check(optimizer_cfg, optimizer_names=None):
  """RecipeError for a key of the section that no optimizer takes, a subsection setting
  values for an optimizer the model does not have (when `optimizer_names` are given), or a
  bad value (shared or resolved per optimizer)."""
  shared = ml_collections.ConfigDict({k: v for k, v in optimizer_cfg.items()
                                      if not isinstance(v, (ml_collections.ConfigDict, dict))})
  OPTIMIZER.check(shared)
  for key, value in optimizer_cfg.items():
    if not isinstance(value, (ml_collections.ConfigDict, dict)):
      continue
    for sub, v in value.items():
      if sub not in SETTINGS:
        raise unknown_key(f'optimizer.{key}', sub, SETTINGS)
      if v is not None and optimizer_names is not None and key not in optimizer_names:
        raise RecipeError(f'recipe key optimizer.{key}.{sub} is set, but this model has no '
                          f'{key} (its optimizers: {", ".join(optimizer_names)})')
  for name in optimizer_names or ():
    resolved = settings(optimizer_cfg, name)
    try:
      OPTIMIZER.check(ml_collections.ConfigDict(resolved))
    except RecipeError as e:
      raise RecipeError(f'optimizer {name}: {e}') from None
