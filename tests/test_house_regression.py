"""Behaviour kept across the house reshaping (issue 12): the first training steps of a
CycleGAN, a BicycleGAN and a pix2pix run give the losses recorded before it.

The values below were recorded with the code of commit e32c2dc (before the reshaping) by
running this file's `record()` (python tests/test_house_regression.py); they are what
the loop logged to TensorBoard at steps 1-3. The training runs on image folders drawn
from a fixed NumPy seed, on one CPU device, in float32.
"""
import glob
import json
import os
import sys

import numpy as np
from PIL import Image
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 3

RUNS = {
    'cyclegan': ('recipes/cyclegan.py', 'unpaired', 32, {
        'model.ngf': 4, 'model.ndf': 4, 'model.n_blocks': 1, 'loss.pool_size': 2,
        'data.preprocess': 'resize_and_crop', 'data.load_size': 36, 'data.crop_size': 32,
        'train.batch_size': 2}),
    'bicyclegan': ('recipes/bicyclegan.py', 'aligned', 128, {
        'model.ngf': 4, 'model.nef': 4, 'model.ndf': 4, 'model.net_g': 'unet_128',
        'model.net_e': 'resnet_128', 'model.net_d': 'basic_128_multi',
        'model.net_d2': 'basic_128_multi', 'data.preprocess': 'crop', 'data.load_size': 128,
        'data.crop_size': 128, 'train.batch_size': 2}),
    'pix2pix': ('recipes/pix2pix.py', 'aligned', 128, {
        'model.ngf': 4, 'model.ndf': 4, 'model.num_downs': 7, 'data.preprocess': 'crop',
        'data.load_size': 128, 'data.crop_size': 128, 'train.batch_size': 1}),
}



def _images(folder, n, h, w, seed):
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(seed)
  for i in range(n):
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
        os.path.join(folder, f'{i:03d}.png'))


def _data(root, layout, size):
  if layout == 'unpaired':
    _images(os.path.join(root, 'trainA'), 4, size + 8, size + 8, 1)
    _images(os.path.join(root, 'trainB'), 3, size + 8, size + 8, 2)
  else:
    _images(os.path.join(root, 'train'), 4, size, 2 * size, 3)
  return root


def losses_of(name, tmp):
  """{loss name: [value at step 1, 2, 3]} of a short run of RUNS[name]."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfi2i import config as recipe_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.training import loop  # pylint: disable=import-outside-toplevel
  recipe, layout, size, overrides = RUNS[name]
  root = _data(os.path.join(tmp, name + '-data'), layout, size)
  config = recipe_lib.override(recipe_lib.load_recipe(os.path.join(ROOT, recipe)), {
      **overrides, 'data.root': root, 'train.steps': STEPS, 'train.log_every': 1,
      'train.image_every': 100, 'train.checkpoint_every': 100,
      'export.at_end': False, 'train.strategy': 'default'})
  workdir = os.path.join(tmp, name)
  loop.train(config, workdir)
  values = {}
  for path in glob.glob(os.path.join(workdir, 'train', 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for v in event.summary.value:
        if v.tag.startswith('loss/'):
          values.setdefault(v.tag[5:], {})[event.step] = float(tf.make_ndarray(v.tensor))
  return {k: [v[s] for s in range(1, STEPS + 1)] for k, v in sorted(values.items())}


def _golden():
  with open(os.path.join(os.path.dirname(__file__), 'house_regression.json')) as f:
    return json.load(f)


@pytest.mark.parametrize('name', sorted(RUNS))
def test_first_steps_give_the_recorded_losses(name, tmp_path):
  want = _golden()[name]
  got = losses_of(name, str(tmp_path))
  assert sorted(got) == sorted(want)
  for key in want:
    # rtol 1e-3: since the recording, float32 Adam updates are TF's fused ResourceApplyAdam
    # (the same formula as Keras' element-wise update, other rounding; measured: the losses of
    # step 3 differ by up to 2e-4 relative, deterministically); a change of behaviour moves
    # the losses by far more
    np.testing.assert_allclose(got[key], want[key], rtol=1e-3, atol=1e-6, err_msg=key)


def record(out):
  import tempfile  # pylint: disable=import-outside-toplevel
  with tempfile.TemporaryDirectory() as tmp:
    result = {name: losses_of(name, tmp) for name in sorted(RUNS)}
  with open(out, 'w') as f:
    json.dump(result, f, indent=1, sort_keys=True)
  print(json.dumps(result, indent=1, sort_keys=True))


if __name__ == '__main__':
  sys.path.insert(0, ROOT)
  record(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'house_regression.json'))
