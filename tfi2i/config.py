"""Recipes: loading `recipes/*.py`, checking them whole, checking overrides, saving the
resolved recipe, reading it back (and bringing one written by an older tfi2i up to date).

A recipe's sections are checked by their schema: the model's constructor (model, loss and
its other sections, e.g. cam: tfi2i.models.model_args) and tfi2i.schema (data, train,
optimizer, schedule, export). `check_recipe` asks each, before anything is read or written.
"""
import difflib
import importlib.util
import json
import os
import sys

import ml_collections

from tfi2i import models
from tfi2i import schema
from tfi2i import workdir as workdir_lib
from tfi2i.schema import data as data_schema
from tfi2i.schema import export as export_schema
from tfi2i.schema import optimizer as optimizer_schema
from tfi2i.schema import RecipeError
from tfi2i.schema import schedule as schedule_schema
from tfi2i.schema import train as train_schema

# The sections every recipe has besides the model's own (models.sections_of).
# recipe.json's entry for what a run made of machine-dependent values ('auto'), not a section
RESOLVED = 'resolved'
SECTIONS = {'data': data_schema.DATA, 'train': train_schema.TRAIN,
            'optimizer': optimizer_schema.OPTIMIZER, 'schedule': schedule_schema.SCHEDULE,
            'export': export_schema.EXPORT}


def _make_importable(path):
  # Recipes import their shared pieces as `recipes.common`: put the folder that holds
  # `recipes/` on sys.path, wherever the command is run from.
  root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
  if root not in sys.path:
    sys.path.insert(0, root)


def load_recipe(path: str) -> ml_collections.ConfigDict:
  """Runs `get_config()` of a recipe file."""
  if not os.path.isfile(path):
    raise RecipeError(f'recipe file not found: {path}')
  _make_importable(path)
  spec = importlib.util.spec_from_file_location(
      f'_tfi2i_recipe_{os.path.basename(path)[:-3]}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, 'get_config'):
    raise RecipeError(f'recipe {path} has no get_config() function')
  return module.get_config()


def _lookup(config, dotted: str):
  node, walked = config, []
  parts = dotted.split('.')
  if dotted in schema.MOVED:
    raise schema.unknown_key(parts[0], '.'.join(parts[1:]), ())
  for i, part in enumerate(parts):
    if not isinstance(node, ml_collections.ConfigDict) or part not in node:
      options = list(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
      close = difflib.get_close_matches(part, options, n=1)
      hint = f' (did you mean {".".join(walked + close)!r}?)' if close else ''
      where = '.'.join(walked) or 'the top level'
      raise RecipeError(f'unknown recipe key {dotted!r}: {part!r} is not in {where}{hint}; '
                        f'known keys there: {", ".join(sorted(options))}')
    walked.append(part)
    if i < len(parts) - 1:
      node = node[part]
  return node, parts[-1]


def check_override_keys(config, argv, flag='recipe'):
  """Raises RecipeError for any `--recipe.KEY=...` whose KEY is not in the recipe."""
  prefix = f'--{flag}.'
  for arg in argv:
    if arg.startswith(prefix):
      _lookup(config, arg[len(prefix):].split('=', 1)[0])


def parse_overrides(items, flag='--set') -> dict:
  """{'train.steps': 300, ...} of ['train.steps=300', ...]: each value a Python literal, or
  the text itself when it is not one."""
  import ast  # pylint: disable=import-outside-toplevel
  values = {}
  for item in items:
    key, sep, text = item.partition('=')
    if not sep:
      raise RecipeError(f'{flag}={item}: expected KEY=VALUE')
    try:
      values[key] = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      values[key] = text
  return values


def override(config, values: dict) -> ml_collections.ConfigDict:
  """Sets dotted keys (e.g. {'train.steps': 10}); unknown keys and wrong types are errors."""
  config = ml_collections.ConfigDict(config.to_dict())
  for dotted, value in values.items():
    node, key = _lookup(config, dotted)
    old = node[key]
    if isinstance(old, bool) != isinstance(value, bool) or (
        isinstance(old, (int, float)) and not isinstance(value, (int, float))) or (
        isinstance(old, str) and not isinstance(value, str)):
      raise RecipeError(f'recipe key {dotted!r} takes a {type(old).__name__}, '
                        f'got {value!r} ({type(value).__name__})')
    node[key] = type(old)(value) if isinstance(old, float) else value
  return config


def check_recipe(config):
  """RecipeError naming the first unknown section or key, or bad value, of a whole recipe:
  the model's sections by its constructor, the others by their schema. The optimizer
  subsections are matched to the model's optimizers when the optimizers are made (a
  BicycleGAN variant has fewer)."""
  cls = models.model_class(config)
  known = (*models.sections_of(cls), *SECTIONS)
  for section in config.keys():
    if section not in known:
      raise schema.unknown_key('', section, known)
  models.model_args(config)
  for name, section in SECTIONS.items():
    if name not in config:
      raise RecipeError(f'the recipe has no {name} section (recipes/common.py makes each)')
  data_schema.check(config.data, cls.data_stream)
  train_schema.TRAIN.check(config.train)
  optimizer_schema.check(config.optimizer)
  schedule_schema.SCHEDULE.check(config.schedule)
  export_schema.EXPORT.check(config.export)
  if config.schedule.policy == 'linear_steps' and not config.train.steps:
    raise RecipeError("schedule.policy='linear_steps' decays over train.steps: set "
                      'train.steps')


def upgrade(recipe: dict) -> tuple[dict, list]:
  """A recipe as an older tfi2i wrote it (a plain dict from recipe.json) brought to the
  current schema: moved keys in their new place, missing keys at the default the code of
  that time used for them. Returns (the recipe, what was changed). The model's sections
  are the model's business (its `retired_args`)."""
  recipe = json.loads(json.dumps(recipe))
  recipe.pop(RESOLVED, None)  # what this machine made of 'auto' values: not part of the recipe
  stream = models.model_class(recipe['model']['name']).data_stream
  done = data_schema.upgrade(recipe, stream)
  for name in ('train', 'schedule', 'export'):
    done += SECTIONS[name].upgrade(recipe)
  return recipe, done


def save_recipe(config, workdir, resolved: dict | None = None):
  """Writes WORKDIR/recipe.json: the recipe, and under RESOLVED what this run made of its
  machine-dependent values (train.precision='auto': the policy used and why)."""
  recipe = config.to_dict()
  if resolved:
    recipe[RESOLVED] = resolved
  return workdir_lib.atomic_write(os.path.join(workdir, workdir_lib.RECIPE),
                                  json.dumps(recipe, indent=2, sort_keys=True))


def load_workdir_recipe(workdir) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, workdir_lib.RECIPE)
  if not os.path.isfile(path):
    raise RecipeError(f'no {workdir_lib.RECIPE} in {workdir}: is it a tfi2i training workdir?')
  with open(path, encoding='utf-8') as f:
    saved = json.load(f)
  recipe, _ = upgrade(saved)
  return ml_collections.ConfigDict(recipe)
