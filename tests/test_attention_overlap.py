"""The attention-overlap task of issue 13 (tfi2i.experiments.attention_overlap): the data it
makes and the Otsu / IoU score."""
import os

import numpy as np
from PIL import Image
import pytest

from tfi2i.experiments import attention_overlap as ao


def _source(tmp_path):
  rng = np.random.default_rng(0)
  for split, n in (('trainA', 6), ('testA', 3)):
    os.makedirs(tmp_path / 'src' / split)
    for i in range(n):
      tile = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
      Image.fromarray(tile).save(tmp_path / 'src' / split / f't{i}.png')
  flat = np.full((16, 16, 3), 30, np.uint8)  # open ocean: left out
  Image.fromarray(flat).save(tmp_path / 'src' / 'trainA' / 'flat.png')
  return str(tmp_path / 'src')


def _read(path):
  return np.asarray(Image.open(path))


def test_make_changes_b_only_inside_its_square(tmp_path):
  out = tmp_path / 'task'
  counts = ao.make(_source(tmp_path), str(out), size=32, square=8, seed=1)
  assert counts == {'trainA': 3, 'trainB': 3, 'testA': 3, 'testB': 3, 'masks': 3}
  assert not set(os.listdir(out / 'trainA')) & set(os.listdir(out / 'trainB'))  # unpaired
  assert 'flat.png' not in os.listdir(out / 'trainA') + os.listdir(out / 'trainB')
  for name in os.listdir(out / 'masks'):
    a, b = _read(out / 'testA' / name), _read(out / 'testB' / name)
    mask = _read(out / 'masks' / name) > 127
    assert a.shape == (32, 32, 3) and mask.sum() == 64
    np.testing.assert_array_equal(a[~mask], b[~mask])
    np.testing.assert_array_equal(b[mask], 255 - a[mask])


def test_otsu_separates_two_modes_and_iou_scores_the_overlap():
  rng = np.random.default_rng(3)
  mask = np.zeros((40, 40), bool)
  mask[5:15, 20:30] = True
  heat = np.where(mask, 0.8, 0.1) + rng.normal(0, 0.03, mask.shape)
  assert 0.2 < ao.otsu_threshold(heat.ravel()) < 0.7
  assert ao.overlap(heat, mask) == 1.0
  shifted = np.roll(heat, 5, axis=1)  # half of the square's columns still overlap
  assert ao.overlap(shifted, mask) == pytest.approx(50 / 150)


def test_score_reads_translate_attention_maps(tmp_path):
  masks, maps = tmp_path / 'masks', tmp_path / 'out'
  masks.mkdir(), maps.mkdir()
  mask = np.zeros((20, 20), np.uint8)
  mask[:10, :10] = 255
  Image.fromarray(mask).save(masks / 'x.png')
  Image.fromarray(mask // 2 + 20).save(maps / 'x__attention.png')
  result = ao.score(str(maps), str(masks))
  assert result['iou'] == [1.0] and result['whole_image'] == [0.25]
  Image.fromarray(mask).save(masks / 'y.png')
  with pytest.raises(SystemExit, match='y__attention.png: no attention map'):
    ao.score(str(maps), str(masks))
