"""tfi2i.evaluate on workdirs trained for one step: keys, K samples per input, diversity of
stochastic and deterministic models, the command line, deterministic preprocessing."""
import json
import os
import shutil

import numpy as np
from PIL import Image
import pytest

from tfi2i import config as recipe_lib
from tfi2i import data as data_lib
from tfi2i import evaluate as evaluate_lib
from tfi2i.models.bicyclegan import latent_codes
from tfi2i import metrics as metrics_lib
from tfi2i.data import demo_multimodal
from tfi2i.training import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_BICYCLE = dict(ngf=4, nef=4, ndf=4, net_g='unet_128', net_e='resnet_128',
                    net_d='basic_128_multi', net_d2='basic_128_multi')
TINY_PIX2PIX = dict(ngf=4, ndf=4, num_downs=7)
# 512x256 map: 6 train and 3 test tiles of 128 px.
LAYOUT = demo_multimodal.TileLayout(size=128, stride=128, test_stride=64, map_size=(512, 256),
                                    rows=(0, 256), test_band=(384, 512))
SAMPLES = 3
INPUTS = 2


@pytest.fixture(scope='module')
def small_features():
  # 48 features instead of 960: FID's eigendecompositions take milliseconds, not seconds
  return metrics_lib.random_conv_features(seed=0, widths=(8, 16))


@pytest.fixture(scope='module')
def aligned_root(tmp_path_factory):
  """The multimodal demo task built from a synthetic colour map."""
  tmp = tmp_path_factory.mktemp('data')
  yy, xx = np.mgrid[0:256, 0:512]
  rng = np.random.default_rng(0)
  img = np.stack([xx % 256, yy, (xx + yy) % 256], -1) + rng.integers(0, 40, (256, 512, 3))
  Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(tmp / 'map.png')
  out = str(tmp / 'mm')
  demo_multimodal.make_multimodal_demo(out, day=str(tmp / 'map.png'), layout=LAYOUT)
  return out


def _train(recipe, tiny, root, workdir):
  config = recipe_lib.load_recipe(os.path.join(ROOT, 'recipes', f'{recipe}.py'))
  overrides = {f'model.{k}': v for k, v in tiny.items()}
  overrides.update({'data.root': root, 'data.load_size': 128, 'data.crop_size': 128,
                    'data.preprocess': 'crop', 'train.steps': 1, 'train.batch_size': 2,
                    'export.at_end': False})
  loop.train(recipe_lib.override(config, overrides), workdir)
  return workdir


@pytest.fixture(scope='module')
def bicycle_workdir(aligned_root, tmp_path_factory):
  return _train('bicyclegan', TINY_BICYCLE, aligned_root,
                str(tmp_path_factory.mktemp('runs') / 'bicycle'))


@pytest.fixture(scope='module')
def pix2pix_workdirs(aligned_root, tmp_path_factory):
  """(dropout at test time, eval_mode=True): one checkpoint, two recipes."""
  runs = tmp_path_factory.mktemp('runs')
  noisy = _train('pix2pix', TINY_PIX2PIX, aligned_root, str(runs / 'pix2pix'))
  frozen = str(runs / 'pix2pix_eval')
  shutil.copytree(noisy, frozen)
  path = os.path.join(frozen, 'recipe.json')
  with open(path) as f:
    recipe = json.load(f)
  recipe['model']['eval_mode'] = True
  with open(path, 'w') as f:
    json.dump(recipe, f)
  return noisy, frozen


def _numbers(tree):
  if isinstance(tree, dict):
    for v in tree.values():
      yield from _numbers(v)
  elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
    yield tree


def test_bicyclegan_scores_k_samples_per_input(bicycle_workdir, small_features):
  result = evaluate_lib.evaluate(bicycle_workdir, samples=SAMPLES, max_inputs=INPUTS,
                                 hue_modes=3, extractor=small_features)
  assert result['model'] == 'BicycleGAN' and result['variant'] == 'bicycle'
  assert result['step'] == 1 and result['split'] == 'test'
  assert (result['num_inputs'], result['samples_per_input'], result['num_samples']) == (
      INPUTS, SAMPLES, INPUTS * SAMPLES)
  for key in ('diversity', 'fidelity', 'realism', 'input_as_output'):
    assert result[key] is not None, key
  assert set(result['diversity']) == {'pairwise_l1', 'pairwise_feature', 'extractor'}
  assert result['diversity']['pairwise_l1'] > 0 and result['diversity']['pairwise_feature'] > 0
  metrics = {'l1', 'psnr', 'ssim', 'feature_distance'}
  for group in ('sample0', 'best_of_k', 'mean'):
    assert set(result['fidelity'][group]) == metrics, group
  fid = result['fidelity']
  assert fid['best_of_k']['l1'] <= fid['mean']['l1'] + 1e-9
  assert fid['best_of_k']['psnr'] >= fid['mean']['psnr'] - 1e-9
  assert result['realism']['num_fake'] == INPUTS * SAMPLES
  assert result['realism']['num_real'] == INPUTS
  assert result['realism']['extractor'] == small_features.name
  assert set(result['colourfulness']) == {'samples', 'real', 'inputs'}
  assert result['colourfulness']['inputs'] == pytest.approx(0, abs=1e-6)  # A is gray
  assert result['colourfulness']['real'] > 1
  modes = result['hue_modes']
  assert modes['n'] == 3 and modes['num_inputs'] == INPUTS and len(modes['histogram']) == 3
  assert 0 <= modes['coverage'] <= 1 and 0 <= modes['matched'] <= 1
  assert all(np.isfinite(v) for v in _numbers(result))
  json.dumps(result, allow_nan=False)


def test_pix2pix_diversity_comes_from_test_time_dropout(pix2pix_workdirs, small_features):
  noisy, frozen = pix2pix_workdirs
  with_dropout = evaluate_lib.evaluate(noisy, samples=SAMPLES, max_inputs=INPUTS,
                                       extractor=small_features)
  assert with_dropout['diversity']['pairwise_l1'] > 0
  deterministic = evaluate_lib.evaluate(frozen, samples=SAMPLES, max_inputs=INPUTS,
                                        extractor=small_features)
  assert deterministic['samples_per_input'] == SAMPLES
  assert deterministic['diversity']['pairwise_l1'] == 0.0
  assert deterministic['diversity']['pairwise_feature'] == 0.0
  best, first = deterministic['fidelity']['best_of_k'], deterministic['fidelity']['sample0']
  assert best == pytest.approx(first)


def test_command_line_prints_and_writes_json(pix2pix_workdirs, tmp_path, capsys):
  _, frozen = pix2pix_workdirs
  out = str(tmp_path / 'scores.json')
  assert evaluate_lib.cli(frozen, samples=2, max_inputs=1, output=out) == 0
  printed = json.loads(capsys.readouterr().out)
  with open(out) as f:
    assert json.load(f) == printed
  assert printed['num_samples'] == 2
  assert printed['diversity']['extractor'].startswith('random_conv(seed=0,widths=32-64-128-256')
  assert printed['realism'] is None  # FID needs two real images
  assert evaluate_lib.cli(str(tmp_path / 'nowhere')) == 1
  assert 'recipe.json' in capsys.readouterr().err


def test_step_scores_an_earlier_checkpoint_and_names_the_steps_there(aligned_root, tmp_path,
                                                                      small_features, capsys):
  workdir = str(tmp_path / 'pix2pix')
  config = recipe_lib.load_recipe(os.path.join(ROOT, 'recipes', 'pix2pix.py'))
  overrides = {f'model.{k}': v for k, v in TINY_PIX2PIX.items()}
  overrides.update({'model.eval_mode': True, 'data.root': aligned_root,
                    'data.load_size': 128, 'data.crop_size': 128, 'data.preprocess': 'crop',
                    'train.steps': 2, 'train.checkpoint_every': 1, 'train.batch_size': 2,
                    'export.at_end': False})
  loop.train(recipe_lib.override(config, overrides), workdir)
  score = lambda step=None: evaluate_lib.evaluate(workdir, samples=1, max_inputs=INPUTS,
                                                  extractor=small_features, step=step)
  newest, first = score(), score(1)
  assert (newest['step'], newest['checkpoint']) == (2, 'ckpt-2')
  assert (first['step'], first['checkpoint']) == (1, 'ckpt-1')
  assert score(2)['fidelity'] == newest['fidelity']
  assert first['fidelity']['sample0']['l1'] != newest['fidelity']['sample0']['l1']
  with pytest.raises(FileNotFoundError, match=r'no checkpoint of step 5 .*steps there: 1, 2\)'):
    score(5)
  capsys.readouterr()
  assert evaluate_lib.cli(workdir, samples=1, max_inputs=1, step=3) == 1
  assert 'no checkpoint of step 3' in capsys.readouterr().err
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))).count('ckpt-1.index') == 1


def test_colourfulness_is_zero_for_gray_and_grows_with_saturation():
  gray = np.tile(np.linspace(-1, 1, 16, dtype=np.float32)[None, :, None, None], (1, 1, 16, 3))
  np.testing.assert_allclose(evaluate_lib.colourfulness(gray), [0.0], atol=1e-9)
  colour = gray.copy()
  colour[..., 0] *= 0.5
  more = gray.copy()
  more[..., 0] *= -1
  c = evaluate_lib.colourfulness(np.concatenate([colour, more]))
  assert 0 < c[0] < c[1]


def test_latent_codes_depend_on_seed_and_input_only():
  a = latent_codes(0, 5, 4, 8)
  np.testing.assert_array_equal(a, latent_codes(0, 5, 4, 8))
  np.testing.assert_array_equal(a[:2], latent_codes(0, 5, 2, 8))
  assert not np.allclose(a, latent_codes(0, 6, 4, 8))
  assert not np.allclose(a, latent_codes(1, 5, 4, 8))


@pytest.mark.parametrize('mode,size', [('crop', (4, 4)), ('resize_and_crop', (6, 6)),
                                       ('scale_width_and_crop', (6, 6)), ('none', (8, 12))])
def test_eval_transform_is_deterministic_center_crop(mode, size):
  from recipes import common
  cfg = common.data_config()
  cfg.preprocess, cfg.load_size, cfg.crop_size = mode, 8, size[0]
  img = np.arange(8 * 12 * 3, dtype=np.uint8).reshape(8, 12, 3)
  fn = evaluate_lib.eval_transform(cfg)
  out = fn(img)
  assert out.shape == size + (3,) and out.dtype == np.float32
  np.testing.assert_array_equal(out, fn(img))
  assert out.min() >= -1 and out.max() <= 1
  if mode == 'crop':  # the middle 4x4, no flip
    np.testing.assert_allclose(out, img[2:6, 4:8] / 127.5 - 1.0, atol=1e-6)


def test_unpaired_inputs_pair_by_name(tmp_path):
  from recipes import common
  for folder, names in (('testA', ('x', 'y')), ('testB', ('x', 'y', 'z'))):
    (tmp_path / folder).mkdir()
    for i, name in enumerate(names):
      Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(tmp_path / folder / f'{name}.png')
  cfg = common.data_config()
  cfg.root = str(tmp_path)
  data = data_lib.stream('unpaired').evaluation(cfg, 'test')
  assert data.names == ['x.png', 'y.png'] and len(data.real_b) == 3
  a, b = data.load(1)
  assert a[0, 0, 0] == 1 and b[0, 0, 0] == 1
  os.remove(tmp_path / 'testB' / 'y.png')
  assert data_lib.stream('unpaired').evaluation(cfg, 'test').load(1)[1] is None
