"""One keras.Model subclass per paper family, and the registry that maps a recipe to one.

The registry is the only place outside the model files that names the model classes:
`model.name` in a recipe picks an entry; `register` adds one (a model of your own, or a
test's).
"""
import ml_collections

from tfi2i.schema import RecipeError
from tfi2i.models.attgan import AttGAN
from tfi2i.models.attgan import STGAN
from tfi2i.models.base import ImagePool
from tfi2i.models.base import schema
from tfi2i.models.base import TranslationModel
from tfi2i.models.bicyclegan import BicycleGAN
from tfi2i.models.cyclegan import CycleGAN
from tfi2i.models.pix2pix import Pix2Pix
from tfi2i.models.stargan import StarGAN
from tfi2i.models.ugatit import UGATIT

MODELS = {'cyclegan': CycleGAN, 'pix2pix': Pix2Pix, 'bicyclegan': BicycleGAN, 'ugatit': UGATIT,
          'stargan': StarGAN, 'attgan': AttGAN, 'stgan': STGAN}


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


def placement(cls) -> dict:
  """{constructor argument: (recipe section, key)}: `loss_args` live in `loss`, arguments
  named PREFIX + KEY in a section of the model's `arg_sections` ({section: PREFIX}, e.g.
  {'cam': 'cam_'}: cam.apply_to is the argument cam_apply_to), the rest in `model`."""
  out = {}
  for name in schema(cls):
    if name in cls.loss_args:
      out[name] = ('loss', name)
      continue
    section = next((s for s, prefix in cls.arg_sections.items() if name.startswith(prefix)), None)
    out[name] = ((section, name[len(cls.arg_sections[section]):]) if section else ('model', name))
  return out


def sections_of(cls) -> tuple:
  """The recipe sections that hold the model's constructor arguments."""
  return ('model', 'loss', *cls.arg_sections)


def recipe_sections(name: str, **values):
  """The recipe sections of the model's constructor arguments (model, loss, then those of
  its `arg_sections`), as ConfigDicts: model.name and every argument at its default (the
  official value, cited in the model's constructor), with `values` (argument names)
  changed."""
  cls = model_class(name)
  args = schema(cls)
  unknown = sorted(set(values) - set(args))
  if unknown:
    raise RecipeError(f'{cls.__name__} takes no argument {", ".join(unknown)}')
  args.update(values)
  sections = {s: ml_collections.ConfigDict() for s in sections_of(cls)}
  sections['model'].name = name
  for arg, (section, key) in placement(cls).items():
    sections[section][key] = args[arg]
  return tuple(sections.values())


def model_args(config) -> dict:
  """The constructor arguments of the recipe's model: its `model` (without name), `loss`
  and `arg_sections` sections, checked against the constructor (an unknown key is a
  RecipeError naming it and the keys the model takes)."""
  cls = model_class(config)
  where = placement(cls)
  by_key = {v: k for k, v in where.items()}
  values = {}
  for section in sections_of(cls):
    for key, value in (config.get(section) or {}).items():
      if section == 'model' and key == 'name':
        continue
      if section == 'model' and key in cls.retired_args and ('model', key) not in by_key:
        if value != cls.retired_args[key]:
          raise RecipeError(
              f'recipe key model.{key}={value!r}: {cls.__name__} no longer takes {key!r} (it '
              f'always uses {cls.retired_args[key]!r}); remove the key')
        continue
      if (section, key) not in by_key:
        elsewhere = [f'{s}.{k}' for s, k in where.values() if k == key]
        hint = f'; it is {elsewhere[0]}' if elsewhere else ''
        takes = '; '.join(
            f'{s}: {", ".join(sorted(k for s2, k in where.values() if s2 == s))}'
            for s in sections_of(cls) if any(s2 == s for s2, _ in where.values()))
        raise RecipeError(f'unknown recipe key {section}.{key}: {cls.__name__} takes no such '
                          f'argument{hint}. It takes {takes}')
      values[by_key[(section, key)]] = (value.to_dict() if isinstance(value, ml_collections.ConfigDict)
                                        else value)
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


__all__ = ['AttGAN', 'BicycleGAN', 'CycleGAN', 'Pix2Pix', 'StarGAN', 'STGAN', 'UGATIT', 'ImagePool', 'MODELS', 'TranslationModel',
           'build_model', 'model_args', 'model_class', 'placement', 'recipe_sections', 'register',
           'sections_of']
