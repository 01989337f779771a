"""Recipes: loading `recipes/*.py`, checking overrides, saving the resolved recipe.

Values are checked by the part that owns them (tfi2i.training.loop.check_recipe asks each):
the model's constructor (model, loss), the data streams (data), the optimizers and
schedules (optimizer, schedule) and the loop (train)."""
import difflib
import importlib.util
import json
import os
import sys

import ml_collections

from tfi2i import workdir as workdir_lib

class RecipeError(ValueError):
  """A recipe file, key or value that cannot be used; the message names it."""


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


def save_recipe(config, workdir):
  return workdir_lib.atomic_write(os.path.join(workdir, workdir_lib.RECIPE),
                                  json.dumps(config.to_dict(), indent=2, sort_keys=True))


def load_workdir_recipe(workdir) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, workdir_lib.RECIPE)
  if not os.path.isfile(path):
    raise RecipeError(f'no {workdir_lib.RECIPE} in {workdir}: is it a tfi2i training workdir?')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))
