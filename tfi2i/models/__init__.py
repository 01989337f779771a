"""One keras.Model subclass per paper family, and the registry that maps a recipe to one.

The registry is the only place outside the model files that names the model classes:
`model.name` in a recipe picks an entry; `register` adds one (a model of your own, or a
test's).
"""
import ml_collections

from tfi2i.config import RecipeError
from tfi2i.models.base import ImagePool
from tfi2i.models.base import schema
from tfi2i.models.base import TranslationModel
from tfi2i.models.bicyclegan import BicycleGAN
from tfi2i.models.cyclegan import CycleGAN
from tfi2i.models.pix2pix import Pix2Pix
from tfi2i.models.ugatit import UGATIT

MODELS = {'cyclegan': CycleGAN, 'pix2pix': Pix2Pix, 'bicyclegan': BicycleGAN, 'ugatit': UGATIT}
SECTIONS = ('model', 'loss')  # the recipe sections that hold constructor arguments


def register(name: str, cls, replace: bool = False):
  """Makes `model.name=NAME` build `cls` (a TranslationModel subclass); returns cls."""
  if not (isinstance(cls, type) and issubclass(cls, TranslationModel)):
    raise TypeError(f'register({name!r}, ...) needs a TranslationModel subclass, got {cls!r}')
  if name in MODELS and MODELS[name] is not cls and not replace:
    raise ValueError(f'model name {name!r} is taken by {MODELS[name].__name__}')
  MODELS[name] = cls
  return cls


def model_class(config_or_name):
  """The TranslationModel subclass named by a recipe's model.name (or by a name)."""
  name = config_or_name if isinstance(config_or_name, str) else config_or_name.model.name
  if name not in MODELS:
    raise RecipeError(f'unknown model {name!r} in recipe model.name; known: {sorted(MODELS)}')
  return MODELS[name]


def recipe_sections(name: str, **values):
  """(model, loss) ConfigDicts of a recipe: model.name and every constructor argument of
  the model at its default (the official value, cited in the model's constructor), with
  `values` changed."""
  cls = model_class(name)
  args = schema(cls)
  unknown = sorted(set(values) - set(args))
  if unknown:
    raise RecipeError(f'{cls.__name__} takes no argument {", ".join(unknown)}')
  args.update(values)
  model = ml_collections.ConfigDict({'name': name})
  loss = ml_collections.ConfigDict()
  for key, value in args.items():
    (loss if key in cls.loss_args else model)[key] = value
  return model, loss


def model_args(config) -> dict:
  """The constructor arguments of the recipe's model: its `model` (without name) and
  `loss` sections, checked against the constructor (an unknown key is a RecipeError
  naming it and the keys the model takes)."""
  cls = model_class(config)
  args = schema(cls)
  where = {k: 'loss' if k in cls.loss_args else 'model' for k in args}
  values = {}
  for section in SECTIONS:
    for key, value in (config.get(section) or {}).items():
      if section == 'model' and key == 'name':
        continue
      if section == 'model' and key in cls.retired_args and key not in args:
        if value != cls.retired_args[key]:
          raise RecipeError(
              f'recipe key model.{key}={value!r}: {cls.__name__} no longer takes {key!r} (it '
              f'always uses {cls.retired_args[key]!r}); remove the key')
        continue
      if key not in args or where[key] != section:
        hint = (f'; it is {where[key]}.{key}' if key in args else '')
        takes = '; '.join(f'{s}: {", ".join(sorted(k for k in args if where[k] == s))}'
                          for s in SECTIONS if any(where[k] == s for k in args))
        raise RecipeError(f'unknown recipe key {section}.{key}: {cls.__name__} takes no such '
                          f'argument{hint}. It takes {takes}')
      values[key] = value.to_dict() if isinstance(value, ml_collections.ConfigDict) else value
  return values


def build_model(config, mode: str | None = None):
  """The recipe's model (model.name), built from its model and loss sections, seeded with
  train.seed; `mode` is one of the model's inference_modes (e.g. pix2pix 'eval')."""
  cls = model_class(config)
  args = model_args(config)
  if mode is not None:
    if mode not in cls.inference_modes:
      modes = ', '.join(sorted(cls.inference_modes)) or 'none'
      raise ValueError(f'{cls.__name__} has no {mode} mode (its inference modes: {modes})')
    args.update(cls.inference_modes[mode])
  seed = config.train.seed if 'train' in config else 0
  try:
    return cls(**args, seed=seed, name=config.model.name)
  except (ValueError, TypeError) as e:
    raise RecipeError(f'cannot build {cls.__name__} from the recipe: {e}') from e


__all__ = ['BicycleGAN', 'CycleGAN', 'Pix2Pix', 'UGATIT', 'ImagePool', 'MODELS', 'TranslationModel',
           'build_model', 'model_args', 'model_class', 'recipe_sections', 'register']
