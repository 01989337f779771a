"""The data and training contract (issue 25): data sources by name (a source defined here,
in the test file, trains, resumes and evaluates with nothing under tfi2i/ specific to it;
the list source), and each recipe section's schema (a misspelled key in a recipe file is
refused by name; an old recipe.json is brought to today's keys)."""
import glob
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from test_train import CYCLEGAN
from test_train import TINY
from tfi2i import config as recipe_lib
from tfi2i import data
from tfi2i import evaluate as evaluate_lib
from tfi2i.data import sources
from tfi2i.schema import Key
from tfi2i.schema import RecipeError
from tfi2i.training import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARGAN = os.path.join(ROOT, 'recipes', 'stargan.py')


class GlobSource(sources.Source):
  """A user's source: each domain is a glob pattern ('{split}' replaced by the split)."""
  name = 'test_glob'
  keys = {'glob_a': Key('', 'pattern of the A images'),
          'glob_b': Key('', 'pattern of the B images')}

  def files(self, data_cfg, split, part):
    if part not in ('A', 'B'):
      raise self.no_part(part)
    pattern = data_cfg[f'glob_{part.lower()}'].replace('{split}', split)
    paths = sorted(glob.glob(pattern))
    if not paths:
      raise data.DataError(f'no file matches {pattern}')
    base = os.path.dirname(pattern)
    return sources.FileSet(paths, [os.path.relpath(p, base) for p in paths], base,
                           f'files matching {pattern}')


sources.register_source(GlobSource(), replace=True)


def _images(folder, n, seed, size=(40, 44)):
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(seed)
  for i in range(n):
    Image.fromarray(rng.integers(0, 256, (*size, 3), np.uint8)).save(
        os.path.join(folder, f'{i:03d}.png'))
  return sorted(glob.glob(os.path.join(folder, '*.png')))


@pytest.fixture
def tiny_root(tmp_path):
  for rel, n, seed in (('trainA', 5, 1), ('trainB', 3, 2), ('testA', 2, 3), ('testB', 2, 4)):
    _images(str(tmp_path / 'data' / rel), n, seed)
  return str(tmp_path / 'data')


def _ckpt(workdir, step):
  reader = tf.train.load_checkpoint(os.path.join(workdir, 'checkpoints', f'ckpt-{step}'))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if 'save_counter' not in k and not k.startswith('_CHECKPOINTABLE')}


def test_a_source_defined_here_trains_resumes_and_evaluates(tiny_root, tmp_path):
  glob_source = {'data.source': 'test_glob',
                 'data.glob_a': os.path.join(tiny_root, '{split}A', '*.png'),
                 'data.glob_b': os.path.join(tiny_root, '{split}B', '*.png')}
  config = recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN), {**TINY, **glob_source})
  straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
  result = loop.train(config, straight)
  assert result.step == 4 and all(np.isfinite(v) for v in result.logs.values())
  # the same run stopped at step 2 and resumed: the same weights as the straight run
  assert loop.train(config, resumed, stop_at=2).step == 2
  assert loop.train(config, resumed).step == 4
  a, b = _ckpt(straight, 4), _ckpt(resumed, 4)
  assert a.keys() == b.keys()
  for k in a:
    np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
  # and the same images as the folder source: same identity in run.json
  with open(os.path.join(straight, 'run.json')) as f:
    identity = json.load(f)['data']
  folder = recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN), {**TINY, 'data.root': tiny_root})
  _, info = data.stream('unpaired').train(folder.data, batch_size=2, seed=0)
  assert identity == info.identity and identity['n_a'] == 5
  report = evaluate_lib.evaluate(straight, split='test', samples=1, batch_size=2)
  assert report['num_inputs'] == 2 and 'files matching' in report['data']
  assert report['fidelity'] is not None  # testA and testB pair up by name


def test_a_source_keys_and_errors_are_its_own(tiny_root):
  config = recipe_lib.load_recipe(CYCLEGAN)
  assert config.data.glob_a == '' and config.data.source == 'folder'
  config = recipe_lib.override(config, {'data.source': 'test_glob',
                                        'data.glob_a': '/nowhere/{split}/*.png'})
  with pytest.raises(data.DataError, match='no file matches /nowhere/train/'):
    data.stream('unpaired').train(config.data, batch_size=1, seed=0)
  config.data.layout = 'aligned'  # paired data asks for part 'AB': this source has none
  with pytest.raises(data.DataError, match=r"source='test_glob' has no 'AB' images \(A\|B"):
    data.paired_dataset(config.data, batch_size=1, seed=0)
  with pytest.raises(ValueError, match='declares keys of source'):
    class Clash(sources.Source):
      name, keys = 'test_clash', {'root': Key('', 'x')}
    sources.register_source(Clash())


def _write_list(path, paths, csv=False):
  with open(path, 'w', encoding='utf-8') as f:
    if csv:
      f.write('path,weight\n' + ''.join(f'{os.path.relpath(p, os.path.dirname(path))},1\n'
                                          for p in paths))
    else:
      f.write('# my images\n' + ''.join(f'{p}\n' for p in paths))


def test_list_source_reads_text_and_csv_lists(tiny_root, tmp_path):
  lists = tmp_path / 'lists'
  lists.mkdir()
  for split in ('train', 'test'):
    _write_list(lists / f'{split}_a.txt', sorted(glob.glob(f'{tiny_root}/{split}A/*.png')))
    _write_list(lists / f'{split}_b.csv', sorted(glob.glob(f'{tiny_root}/{split}B/*.png')),
                csv=True)
  config = recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN), {
      **TINY, 'data.source': 'list', 'data.list_a': str(lists / '{split}_a.txt'),
      'data.list_b': str(lists / '{split}_b.csv')})
  recipe_lib.check_recipe(config)
  _, info = data.stream('unpaired').train(config.data, batch_size=2, seed=0)
  folder = recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN), {**TINY, 'data.root': tiny_root})
  _, folder_info = data.stream('unpaired').train(folder.data, batch_size=2, seed=0)
  assert info.identity == folder_info.identity  # the same images, the same names
  test = data.stream('unpaired').evaluation(config.data, 'test')
  assert test.names == ['000.png', '001.png'] and len(test.real_b) == 2
  a, b = test.load(1)
  assert a.shape == (40, 44, 3) and b is not None  # paired by name, as two folders
  # errors name the list and the line's file
  _write_list(lists / 'train_a.txt', [os.path.join(tiny_root, 'trainA', 'gone.png')])
  with pytest.raises(data.DataError, match=r'1 image\(s\) named in .*train_a.txt do not exist: '
                     r'.*gone.png'):
    data.stream('unpaired').train(config.data, batch_size=2, seed=0)
  config.data.list_b = ''
  with pytest.raises(data.DataError, match="source='list' needs data.list_b"):
    data.stream('unpaired').evaluation(config.data, 'test')


def test_list_source_attribute_csv(tmp_path):
  folder = tmp_path / 'faces'
  paths = _images(str(folder), 8, seed=5, size=(36, 36))
  with open(tmp_path / 'attrs.csv', 'w') as f:
    f.write('path,Male,Young\n' + ''.join(
        f'faces/{os.path.basename(p)},{1 if i % 2 else -1},{-1 if i % 3 else 1}\n'
        for i, p in enumerate(paths)))
  config = recipe_lib.override(recipe_lib.load_recipe(STARGAN), {
      'data.source': 'list', 'data.list_a': str(tmp_path / 'attrs.csv'),
      'data.test_count': 2, 'data.load_size': 32, 'data.crop_size': 16,
      'model.attributes': ('Young', 'Male'), 'data.attributes': ('Young', 'Male')})
  recipe_lib.check_recipe(config)
  ds, info = data.stream('attributes').train(config.data, batch_size=2, seed=0)
  batch = next(iter(ds))
  assert batch['image'].shape == (2, 16, 16, 3) and info.n_a == 6
  test = data.stream('attributes').evaluation(config.data, 'test')
  assert len(test.names) == 2 and test.attribute_names == ('Young', 'Male')
  for name, row in zip(test.names, test.attributes):
    i = int(name[:3])
    assert list(row) == [float(i % 3 == 0), float(i % 2 == 1)]


def test_misspelled_data_or_train_key_in_a_recipe_file_is_refused(tmp_path):
  for line, named in (('c.data.lod_size = 300', r'data.lod_size \(did you mean data.load_size'),
                      ('c.train.bach_size = 4', r'train.bach_size \(did you mean '
                                                r'train.batch_size'),
                      ('c.trian = c.train', r'recipe key trian \(did you mean train'),
                      ('c.train.export_at_end = False', 'train.export_at_end is now '
                                                        'export.at_end')):
    path = tmp_path / 'recipes' / 'mine.py'
    path.parent.mkdir(exist_ok=True)
    path.write_text('from recipes import cyclegan\n\n\ndef get_config():\n'
                    f'  c = cyclegan.get_config()\n  {line}\n  return c\n')
    config = recipe_lib.load_recipe(str(path))
    with pytest.raises(RecipeError, match=named):
      recipe_lib.check_recipe(config)
  # and the command says so, before anything is read or written
  os.symlink(os.path.join(ROOT, 'recipes', 'cyclegan.py'), tmp_path / 'recipes' / 'cyclegan.py')
  os.symlink(os.path.join(ROOT, 'recipes', 'common.py'), tmp_path / 'recipes' / 'common.py')
  path.write_text('from recipes import cyclegan\n\n\ndef get_config():\n'
                  '  c = cyclegan.get_config()\n  c.data.lod_size = 300\n  return c\n')
  workdir = tmp_path / 'run'
  r = subprocess.run([sys.executable, '-m', 'tfi2i.train', f'--recipe={path}',
                      f'--workdir={workdir}', f'--recipe.data.root={tmp_path}'],
                     capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
  assert r.returncode == 1, r.stderr[-2000:]
  assert 'unknown recipe key data.lod_size (did you mean data.load_size?)' in r.stderr
  assert 'Traceback' not in r.stderr and not os.path.exists(workdir / 'recipe.json')


def test_an_old_recipe_json_is_brought_to_todays_keys(tmp_path):
  config = recipe_lib.load_recipe(CYCLEGAN)
  old = config.to_dict()
  old['train']['export_at_end'] = False  # where an older tfi2i kept it
  del old['export'], old['data']['list_a'], old['data']['on_bad_image']
  (tmp_path / 'recipe.json').write_text(json.dumps(old))
  loaded = recipe_lib.load_workdir_recipe(str(tmp_path))
  assert loaded.export.at_end is False and 'export_at_end' not in loaded.train
  assert loaded.data.on_bad_image == 'fail' and loaded.data.list_a == ''
  recipe_lib.check_recipe(loaded)
  upgraded, done = recipe_lib.upgrade(old)
  assert 'train.export_at_end -> export.at_end' in done
  assert upgraded['data'] == config.data.to_dict()


def test_every_default_of_a_section_is_written_once():
  """The code reads recipe values without fallbacks: no `getattr(cfg, key, default)` or
  `.get(key, default)` on a recipe section under tfi2i/ (the schema holds the defaults)."""
  import re  # pylint: disable=g-import-not-at-top
  section = r'(t|cfg|data_cfg|train_cfg|schedule_cfg|optimizer_cfg|config\.\w+)'
  pattern = re.compile(rf'\b(_cfg|_get)\(|getattr\({section}, [^,]+,|'
                       rf'\b{section}\.get\([^,)]+,')
  found = []
  for path in glob.glob(os.path.join(ROOT, 'tfi2i', '**', '*.py'), recursive=True):
    with open(path, encoding='utf-8') as f:
      for number, line in enumerate(f, 1):
        if pattern.search(line):
          found.append(f'{os.path.relpath(path, ROOT)}:{number}: {line.strip()}')
  assert not found, '\n'.join(found)
