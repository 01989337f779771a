"""Recipes: official defaults, overrides, clear errors on unknown keys and wrong types."""
import os
import subprocess
import sys

import pytest

from tfi2i import config as recipe_lib
from tfi2i import models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CYCLEGAN = os.path.join(ROOT, 'recipes', 'cyclegan.py')


def test_cyclegan_recipe_holds_the_official_defaults():
  c = recipe_lib.load_recipe(CYCLEGAN)
  assert (c.model.name, c.model.n_blocks, c.model.ngf) == ('cyclegan', 9, 64)
  assert (c.model.n_layers_d, c.model.ndf) == (3, 64)
  assert c.model.norm == 'instance' and c.model.init_gain == 0.02
  assert (c.loss.gan_mode, c.loss.lambda_a, c.loss.lambda_b) == ('lsgan', 10.0, 10.0)
  assert (c.loss.lambda_identity, c.loss.pool_size) == (0.5, 50)
  assert (c.optimizer.lr, c.optimizer.beta1) == (2e-4, 0.5)
  assert (c.train.batch_size, c.data.load_size, c.data.crop_size, c.data.flip) == (1, 286, 256, True)
  assert (c.schedule.n_epochs, c.schedule.n_epochs_decay, c.schedule.policy) == (100, 100, 'linear')
  recipe_lib.check_recipe(c)


def test_override_sets_values_and_names_unknown_keys():
  c = recipe_lib.load_recipe(CYCLEGAN)
  c2 = recipe_lib.override(c, {'train.batch_size': 4, 'loss.lambda_a': 5})
  assert c2.train.batch_size == 4 and c2.loss.lambda_a == 5.0 and c.train.batch_size == 1
  with pytest.raises(recipe_lib.RecipeError, match=r"'train.stepz'.*did you mean 'train.steps'"):
    recipe_lib.override(c, {'train.stepz': 3})
  with pytest.raises(recipe_lib.RecipeError, match=r"'trian.steps'.*'trian' is not in the top level"):
    recipe_lib.override(c, {'trian.steps': 3})
  with pytest.raises(recipe_lib.RecipeError, match=r"'train.batch_size' takes a int"):
    recipe_lib.override(c, {'train.batch_size': 'four'})


def test_validate_rejects_bad_choices():
  c = recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN), {'data.preprocess': 'zoom'})
  with pytest.raises(recipe_lib.RecipeError, match="data.preprocess.*'zoom'"):
    recipe_lib.check_recipe(c)
  c = recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN), {'train.batch_size': 0})
  with pytest.raises(recipe_lib.RecipeError, match='batch_size must be >= 1'):
    recipe_lib.check_recipe(c)


def _train_cli(*args):
  return subprocess.run([sys.executable, '-m', 'tfi2i.train', *args], capture_output=True,
                        text=True, cwd='/', timeout=120)


def test_cli_unknown_key_is_an_error_naming_it(tmp_path):
  r = _train_cli(f'--recipe={CYCLEGAN}', f'--workdir={tmp_path}', '--recipe.train.stepz=3')
  assert r.returncode == 2
  assert "unknown recipe key 'train.stepz'" in r.stderr and "'train.steps'" in r.stderr
  assert 'Traceback' not in r.stderr
  assert not os.listdir(tmp_path)


def test_cli_wrong_value_type_is_an_error_naming_it(tmp_path):
  r = _train_cli(f'--recipe={CYCLEGAN}', f'--workdir={tmp_path}', '--recipe.train.batch_size=two')
  assert r.returncode != 0
  assert '--recipe.train.batch_size=two' in r.stderr
  assert not os.listdir(tmp_path)


def test_cli_missing_recipe_file(tmp_path):
  r = _train_cli('--recipe=/nonexistent/recipe.py', f'--workdir={tmp_path}')
  assert r.returncode != 0 and 'recipe file not found: /nonexistent/recipe.py' in r.stderr


def test_cli_refuses_keys_the_model_does_not_take(tmp_path):
  """Issue 12: --recipe.model.generator=unet_256 used to train a ResNet silently."""
  r = _train_cli(f'--recipe={CYCLEGAN}', f'--workdir={tmp_path}', '--recipe.model.generator=unet_256')
  assert r.returncode == 2 and "unknown recipe key 'model.generator'" in r.stderr
  assert 'n_blocks' in r.stderr  # the keys that exist
  recipe = tmp_path / 'mine.py'
  recipe.write_text(
      f'import sys\nsys.path.insert(0, {ROOT!r})\nfrom recipes import cyclegan\n\n\n'
      'def get_config():\n  c = cyclegan.get_config()\n'
      "  c.model.depth = 3\n  c.loss.lambda_cycle = 5.0\n  return c\n")
  work = tmp_path / 'run'
  r = _train_cli(f'--recipe={recipe}', f'--workdir={work}', '--recipe.data.root=/nonexistent')
  assert r.returncode == 1
  assert 'unknown recipe key model.depth: CycleGAN takes no such argument' in r.stderr
  assert 'loss: gan_mode, lambda_a, lambda_b, lambda_identity, pool_size' in r.stderr
  assert not os.path.exists(work / 'checkpoints')


def test_old_recipes_keep_their_retired_keys_at_the_only_value():
  c = recipe_lib.load_recipe(CYCLEGAN)
  c.model.generator = 'resnet'  # as in a recipe.json written before issue 12
  assert 'generator' not in models.model_args(c)
  c.model.generator = 'unet_256'
  with pytest.raises(recipe_lib.RecipeError, match="no longer takes 'generator'"):
    models.model_args(c)


def test_model_choices_are_checked_by_the_model():
  c = recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN), {'loss.gan_mode': 'lsq'})
  with pytest.raises(recipe_lib.RecipeError, match="loss.gan_mode is 'lsq'"):
    models.build_model(c)
  c = recipe_lib.load_recipe(os.path.join(ROOT, 'recipes', 'bicyclegan.py'))
  c.model.variant = 'light'
  with pytest.raises(recipe_lib.RecipeError, match="model.variant is 'light'"):
    models.build_model(c)
