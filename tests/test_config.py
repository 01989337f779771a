"""Recipes: official defaults, overrides, clear errors on unknown keys and wrong types."""
import os
import subprocess
import sys

import pytest

from tfi2i import config as recipe_lib
from tfi2i.data import DataError
from tfi2i.training import loop

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
  loop.check_recipe(c)


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
  with pytest.raises(DataError, match="data.preprocess.*'zoom'"):
    loop.check_recipe(c)
  c = recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN), {'train.batch_size': 0})
  with pytest.raises(recipe_lib.RecipeError, match='batch_size must be >= 1'):
    loop.check_recipe(c)


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
