"""tfi2i.data.demo_multimodal on a synthetic map: hue rotation, tile positions, the files."""
import csv
import os

import numpy as np
from PIL import Image
import pytest

from tfi2i.data import demo_multimodal as mm
from tfi2i.data.images import DataError

# 64x32 map, 16 px tiles; test columns 40-56.
SMALL = mm.TileLayout(size=16, stride=8, test_stride=4, map_size=(64, 32), rows=(0, 32),
                      test_band=(40, 56))


def _map(seed=0):
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:32, 0:64]
  img = np.stack([xx * 4, yy * 8, 255 - xx * 4], -1) + rng.integers(-20, 20, (32, 64, 3))
  return np.clip(img, 0, 255).astype(np.uint8)


def test_hue_rotation_keeps_luma_and_the_three_hues_average_to_gray():
  rng = np.random.default_rng(0)
  # moderately saturated colours: no clipping after a rotation
  rgb = np.clip(rng.normal(128, 15, (20, 20, 3)), 0, 255).astype(np.uint8)
  y_row = np.array([0.299, 0.587, 0.114])
  for h in (0, 120, 240, 33):  # exact in floating point: Y is unchanged
    np.testing.assert_allclose(y_row @ mm.hue_matrix(h), y_row, atol=1e-12)
  np.testing.assert_array_equal(mm.hue_rotate(rgb, 0), rgb)
  np.testing.assert_array_equal(mm.hue_rotate(rgb, 360), rgb)
  gray = mm.luma(rgb).astype(float)
  assert np.all(gray[..., 0] == gray[..., 1]) and np.all(gray[..., 1] == gray[..., 2])
  turned = [mm.hue_rotate(rgb, h).astype(float) for h in mm.HUES]
  for t in turned:
    assert np.abs(mm.luma(t.astype(np.uint8)) - gray).max() <= 1
  assert np.abs(turned[1] - turned[0]).mean() > 5  # the colours really change
  assert np.abs(np.mean(turned, axis=0) - gray).max() <= 1.5
  back = mm.hue_rotate(mm.hue_rotate(mm.hue_rotate(rgb, 120), 120), 120)
  assert np.abs(back.astype(int) - rgb).max() <= 2
  np.testing.assert_allclose(mm.hue_matrix(120) @ mm.hue_matrix(240), np.eye(3), atol=1e-9)


def test_hue_modes_find_each_valid_colouring_and_reject_gray():
  rng = np.random.default_rng(1)
  tile = np.clip(rng.normal(128, 30, (16, 16, 3)), 0, 255).astype(np.uint8)
  f = lambda u: u.astype(np.float32) / 127.5 - 1.0
  target = f(mm.hue_rotate(tile, 120))
  valid = np.stack([f(mm.hue_rotate(tile, 120 + h)) for h in mm.HUES])
  np.testing.assert_array_equal(mm.hue_modes(valid, target), [0, 1, 2])
  angle, gain = mm.hue_alignment(valid, target)
  assert np.all(np.abs((angle - [0, 120, 240] + 180) % 360 - 180) < 5)
  assert np.all(np.abs(gain - 1) < 0.2)
  gray = f(mm.luma(tile))[None]
  assert mm.hue_modes(gray, target).tolist() == [-1]
  faint = 0.3 * valid[:1] + 0.7 * gray  # 30 % of the chroma: too gray to count
  assert mm.hue_alignment(faint, target)[1][0] == pytest.approx(0.3, abs=0.1)
  assert mm.hue_modes(faint, target).tolist() == [-1]
  two = (valid[:1] + valid[1:2]) / 2  # the average of two modes is no mode
  angle, gain = mm.hue_alignment(two, target)
  assert gain[0] == pytest.approx(0.5, abs=0.1) and abs(angle[0] - 60) < 10
  assert mm.hue_modes(two, target).tolist() == [-1]
  near = np.stack([f(mm.hue_rotate(tile, 120 + 20))])  # 20 degrees off mode 0: still it
  assert mm.hue_modes(near, target).tolist() == [0]


def test_tile_positions_hold_out_the_test_band_and_wrap():
  train, test = SMALL.positions('train'), SMALL.positions('test')
  # train columns start at 56 and wrap: 56, 0, 8, 16, 24 (24 + 16 = 40); 3 rows
  assert sorted({x for _, x in train}) == [0, 8, 16, 24, 56]
  assert sorted({y for y, _ in train}) == [0, 8, 16]
  assert sorted({x for _, x in test}) == [40] and len(test) == 5  # rows 0, 4, ..., 16
  for _, x in train:
    covered = {(x + i) % 64 for i in range(16)}
    assert not covered & set(range(40, 56))
  img = _map()
  np.testing.assert_array_equal(mm.cut(img, 0, 56, 16),
                                np.concatenate([img[:16, 56:], img[:16, :8]], axis=1))
  with pytest.raises(ValueError, match='split'):
    SMALL.positions('val')


def test_default_layout_sizes():
  layout = mm.default_layout()
  assert (len(layout.positions('train')), len(layout.positions('test'))) == (297, 105)
  big = mm.default_layout(256)
  assert big.test_band == (1600, 2112) and len(big.positions('test')) > 0


def test_hue_draw_is_seeded_and_balanced():
  a = mm.draw_hues(30, seed=0, split='train')
  np.testing.assert_array_equal(a, mm.draw_hues(30, seed=0, split='train'))
  assert not np.array_equal(a, mm.draw_hues(30, seed=1, split='train'))
  assert sorted(np.unique(a, return_counts=True)[1]) == [10, 10, 10]


def test_writes_aligned_pairs_with_every_hue_and_is_idempotent(tmp_path):
  src = str(tmp_path / 'map.png')
  img = _map()
  Image.fromarray(img).save(src)
  out = str(tmp_path / 'mm')
  counts = mm.make_multimodal_demo(out, day=src, layout=SMALL)
  assert counts == {'train': 15, 'test': 5}
  with open(os.path.join(out, 'tiles.csv')) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 20
  for split in ('train', 'test'):
    assert {int(r['hue']) for r in rows if r['split'] == split} == set(mm.HUES)
  for r in rows:
    ab = np.asarray(Image.open(os.path.join(out, r['split'], r['name'])))
    assert ab.shape == (16, 32, 3)
    tile = mm.cut(img, int(r['y']), int(r['x']), 16)
    np.testing.assert_array_equal(ab[:, :16], mm.luma(tile))
    np.testing.assert_array_equal(ab[:, 16:], mm.hue_rotate(tile, int(r['hue'])))
  with open(os.path.join(out, 'SOURCE.txt')) as f:
    text = f.read()
  assert 'hues=0,120,240 seed=0' in text and 'Tiles: train 15, test 5.' in text

  first = os.path.join(out, 'train', rows[0]['name'])
  mtime = os.stat(first).st_mtime_ns
  assert mm.make_multimodal_demo(out, day=src, layout=SMALL) == counts
  assert os.stat(first).st_mtime_ns == mtime  # complete: nothing rewritten
  with pytest.raises(DataError, match='other settings'):
    mm.make_multimodal_demo(out, day=src, layout=SMALL, seed=1)


def test_refuses_a_folder_with_other_images(tmp_path):
  src = str(tmp_path / 'map.png')
  Image.fromarray(_map()).save(src)
  os.makedirs(tmp_path / 'mm' / 'train')
  Image.fromarray(_map()).save(tmp_path / 'mm' / 'train' / 'mine.png')
  with pytest.raises(DataError, match='mine.png'):
    mm.make_multimodal_demo(str(tmp_path / 'mm'), day=src, layout=SMALL)
