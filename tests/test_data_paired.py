"""Tests of tfi2i.data.paired: aligned and folder pairs, shared augmentation, resume."""
import logging
import os

from conftest import check_seeded_stream
from conftest import take as _take
from conftest import tiny_data_cfg as _cfg
from conftest import code_value
from conftest import decode_code
import numpy as np
from PIL import Image
import pytest

from tfi2i import data
from tfi2i.data.sources import folder_source
from tfi2i.schema import data as data_schema
from tfi2i.schema import RecipeError

_LEFT_G, _RIGHT_G = 40, 200  # green of the A half / the B half in _ab_images


def _u8(x):
  return np.round((x + 1.0) * 127.5).astype(np.int64)


def _codes(batch, key):
  return decode_code(_u8(batch[key][:, 0, 0, 0])).tolist()


def _save(path, arr):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(arr).save(path)


def _ab_images(folder, n, h=16, w2=20, seed=0):
  """n A|B PNGs in `folder`; returns [(A half, B half)] as written.

  Image i: red code_value(i) on both halves, green _LEFT_G on A and _RIGHT_G on
  B, random blue.
  """
  rng = np.random.default_rng(seed)
  halves = []
  for i in range(n):
    ab = rng.integers(0, 256, (h, 2 * w2, 3), dtype=np.uint8)
    ab[..., 0] = code_value(i)
    ab[:, :w2, 1], ab[:, w2:, 1] = _LEFT_G, _RIGHT_G
    _save(os.path.join(folder, f'{i:03d}.png'), ab)
    halves.append((ab[:, :w2], ab[:, w2:]))
  return halves


def _mirror_ab_images(folder, n, h=24, w2=32, seed=0):
  """n A|B PNGs of random pixels with B = 255 - A."""
  rng = np.random.default_rng(seed)
  for i in range(n):
    a = rng.integers(0, 256, (h, w2, 3), dtype=np.uint8)
    _save(os.path.join(folder, f'{i:03d}.png'), np.concatenate([a, 255 - a], 1))


@pytest.fixture
def aligned_root(tmp_path):
  """ROOT/train with 5 A|B images (16x40), ROOT/test with 2; returns (root, halves)."""
  root = str(tmp_path / 'facades')
  halves = _ab_images(os.path.join(root, 'train'), 5)
  _ab_images(os.path.join(root, 'test'), 2, seed=1)
  return root, halves


# -------------------------------------------------------------------------- aligned


@pytest.mark.parametrize('direction', ['AtoB', 'BtoA'])
def test_aligned_split_gives_the_halves(aligned_root, direction):
  root, halves = aligned_root
  cfg = _cfg(root=root, preprocess='none', flip=False, direction=direction)
  ds, info = data.paired_dataset(cfg, batch_size=1, seed=0)
  assert ds.element_spec['a'].shape.as_list() == [1, 16, 20, 3]
  seen = []
  for b in _take(ds, info.epoch_size):
    i = _codes(b, 'a')[0]
    seen.append(i)
    left, right = halves[i]
    want_a, want_b = (left, right) if direction == 'AtoB' else (right, left)
    np.testing.assert_array_equal(_u8(b['a'][0]), want_a)
    np.testing.assert_array_equal(_u8(b['b'][0]), want_b)
  assert sorted(seen) == list(range(5))
  assert ('BtoA' in info.source) == (direction == 'BtoA')


@pytest.mark.parametrize('mode,tolerance', [
    ('crop', 0), ('scale_width_and_crop', 1), ('resize_and_crop', 1)])
def test_same_crop_and_flip_on_both_halves(tmp_path, mode, tolerance):
  root = str(tmp_path / 'r')
  _mirror_ab_images(os.path.join(root, 'train'), 2)
  cfg = _cfg(root=root, preprocess=mode, load_size=24, crop_size=16)
  batches = _take(data.paired_dataset(cfg, batch_size=2, seed=1)[0], 6)
  for b in batches:
    assert b['a'].shape == b['b'].shape == (2, 16, 16, 3)
    # B = 255 - A survives the crop and flip only if both halves got the same ones
    # (resizing rounds each half on its own: within one level).
    assert np.abs(_u8(b['a']) + _u8(b['b']) - 255).max() <= tolerance
  # The crops and flips do vary, so a mismatch would show.
  assert len({b['a'][0].tobytes() for b in batches}) >= 4


def test_odd_width_ab_image_names_the_file(aligned_root):
  root, _ = aligned_root
  _save(os.path.join(root, 'train', 'odd_one.png'), np.zeros((16, 41, 3), np.uint8))
  with pytest.raises(data.DataError, match=r'odd-width AB image.*\n.*odd_one\.png: 41x16'):
    data.paired_dataset(_cfg(root=root), batch_size=1, seed=0)
  # also with on_bad_image='skip': the folder is likely not A|B images at all
  with pytest.raises(data.DataError, match='odd_one.png'):
    data.paired_dataset(_cfg(root=root, on_bad_image='skip'), batch_size=1, seed=0)


def test_epoch_size_and_order(aligned_root):
  root, _ = aligned_root
  _, info = data.paired_dataset(_cfg(root=root), batch_size=2, seed=0)
  assert (info.n_a, info.n_b, info.epoch_size, info.steps_per_epoch) == (5, 5, 5, 3)
  _, info = data.paired_dataset(_cfg(root=root, split='test'), batch_size=2, seed=0)
  assert (info.epoch_size, info.steps_per_epoch) == (2, 1)
  ds, _ = data.paired_dataset(_cfg(root=root), batch_size=1, seed=3)
  batches = _take(ds, 20)  # 4 epochs of 5
  a = [_codes(b, 'a')[0] for b in batches]
  assert a == [_codes(b, 'b')[0] for b in batches]  # a and b from the same pair
  epochs = [a[i:i + 5] for i in range(0, 20, 5)]
  assert all(sorted(e) == list(range(5)) for e in epochs)  # every pair once an epoch
  assert len({tuple(e) for e in epochs}) > 1  # reshuffled each epoch


def test_same_seed_same_stream_and_resume(aligned_root):
  root, _ = aligned_root
  cfg = _cfg(root=root)
  check_seeded_stream(
      lambda seed, start: data.paired_dataset(cfg, batch_size=2, seed=seed,
                                              start_step=start)[0],
      6, (2, 3),  # batch 2 = samples 4, 5: across the end of epoch 0
      lambda batch: _codes(batch, 'a'))


def test_corrupt_file_fails_or_is_skipped(aligned_root, caplog):
  root, _ = aligned_root
  with open(os.path.join(root, 'train', 'broken.png'), 'wb') as f:
    f.write(open(os.path.join(root, 'train', '000.png'), 'rb').read()[:60])
  with pytest.raises(data.DataError, match=r'1 of 6 images cannot be decoded.*\n.*broken\.png'):
    data.paired_dataset(_cfg(root=root), batch_size=1, seed=0)
  with caplog.at_level(logging.WARNING):
    ds, info = data.paired_dataset(_cfg(root=root, on_bad_image='skip'), batch_size=1, seed=0)
  assert info.epoch_size == 5 and 'Skipping 1 of 6' in caplog.text
  assert _take(ds, 1)[0]['a'].shape == (1, 16, 16, 3)


def test_aligned_folder_errors(tmp_path, aligned_root):
  root, _ = aligned_root
  with pytest.raises(data.DataError, match='data.root is empty'):
    data.paired_dataset(_cfg(), batch_size=1, seed=0)
  with pytest.raises(data.DataError, match='does not exist: .*facades/val'):
    data.paired_dataset(_cfg(root=root, split='val'), batch_size=1, seed=0)
  (tmp_path / 'facades' / 'val').mkdir()
  with pytest.raises(data.DataError, match='no images .* found in .*facades/val'):
    data.paired_dataset(_cfg(root=root, split='val'), batch_size=1, seed=0)
  with pytest.raises(data.DataError, match="data.layout='folders'"):
    data.paired_dataset(_cfg(root=root, dir_a=root), batch_size=1, seed=0)
  for key, value in (('layout', 'zigzag'), ('direction', 'CtoD'), ('preprocess', 'zoom'),
                     ('source', 'nowhere')):  # refused by the recipe's schema, by name
    with pytest.raises(RecipeError, match=f'data.{key}'):
      data_schema.check(_cfg(root=root, **{key: value}), 'paired')
  with pytest.raises(data.DataError, match="source='tfds' gives encoded records"):
    data.paired_dataset(_cfg(root=root, source='tfds'), batch_size=1, seed=0)


# -------------------------------------------------------------------------- folders


def _pair_folders(root, names, size=(24, 32), ext_b='.bmp', seed=0):
  """root/A/x.png and root/B/x.bmp for each name, B = 255 - A; red codes the index."""
  rng = np.random.default_rng(seed)
  for i, name in enumerate(names):
    a = rng.integers(0, 256, size + (3,), dtype=np.uint8)
    a[..., 0] = code_value(i)
    _save(os.path.join(root, 'A', name + '.png'), a)
    _save(os.path.join(root, 'B', name + ext_b), 255 - a)


def test_folders_pair_by_name_with_same_augmentation(tmp_path):
  root = str(tmp_path / 'p')
  names = ['003', '001', 'sub/002', '000']  # sorted: 000 001 003 sub/002
  _pair_folders(root, names)
  pairs = data.pair_files(_cfg(root=root, layout='folders'))
  rel = [(os.path.relpath(a, root), os.path.relpath(b, root)) for a, b in pairs]
  assert rel == [('A/000.png', 'B/000.bmp'), ('A/001.png', 'B/001.bmp'),
                 ('A/003.png', 'B/003.bmp'), ('A/sub/002.png', 'B/sub/002.bmp')]
  cfg = _cfg(root=root, layout='folders', preprocess='crop')
  ds, info = data.paired_dataset(cfg, batch_size=2, seed=0)
  assert info.epoch_size == 4 and 'A=' in info.source
  batches = _take(ds, 4)
  for b in batches:
    # red 255 - code in B: the same pair; every pixel: the same crop and flip
    assert np.array_equal(_u8(b['a']) + _u8(b['b']), np.full(b['a'].shape, 255))
  assert len({b['a'][0].tobytes() for b in batches}) >= 3
  cfg.direction = 'BtoA'
  swapped = _take(data.paired_dataset(cfg, batch_size=2, seed=0)[0], 1)[0]
  np.testing.assert_array_equal(swapped['a'], batches[0]['b'])
  np.testing.assert_array_equal(swapped['b'], batches[0]['a'])


def test_folders_missing_partner_names_the_file(tmp_path):
  root = str(tmp_path / 'p')
  _pair_folders(root, ['000', '001', 'lonely'])
  os.remove(os.path.join(root, 'B', 'lonely.bmp'))
  _save(os.path.join(root, 'B', 'only_b.png'), np.zeros((4, 4, 3), np.uint8))
  with pytest.raises(data.DataError) as e:
    data.paired_dataset(_cfg(root=root, layout='folders'), batch_size=1, seed=0)
  msg = str(e.value)
  assert '2 images have no partner' in msg
  assert 'A/lonely.png: no partner in B' in msg and 'B/only_b.png: no partner in A' in msg
  assert '000' not in msg.replace(root, '')
  _save(os.path.join(root, 'A', 'only_b.jpg'), np.zeros((4, 4, 3), np.uint8))
  _save(os.path.join(root, 'A', 'only_b.bmp'), np.zeros((4, 4, 3), np.uint8))
  with pytest.raises(data.DataError,
                     match=r'used by two images.*\n.*only_b\.bmp and .*only_b\.jpg'):
    data.pair_files(_cfg(root=root, layout='folders'))


def test_folders_corrupt_file_and_sizes(tmp_path, caplog):
  root = str(tmp_path / 'p')
  _pair_folders(root, ['000', '001', '002'])
  with open(os.path.join(root, 'A', '001.png'), 'wb') as f:
    f.write(b'not a png')
  cfg = _cfg(root=root, layout='folders')
  with pytest.raises(data.DataError, match=r'1 of 6 images.*\n.*A/001\.png'):
    data.paired_dataset(cfg, batch_size=1, seed=0)
  cfg.on_bad_image = 'skip'
  with caplog.at_level(logging.WARNING):
    _, info = data.paired_dataset(cfg, batch_size=1, seed=0)
  assert info.epoch_size == 2 and 'Leaving out 1 of 3 pairs' in caplog.text
  _save(os.path.join(root, 'B', '002.bmp'), np.zeros((30, 32, 3), np.uint8))
  _, info = data.paired_dataset(cfg, batch_size=1, seed=0)  # resized to one size: fine
  cfg.preprocess = 'crop'
  with pytest.raises(data.DataError, match=r'different sizes.*\n.*A/002\.png \(24x32\) vs '
                     r'.*B/002\.bmp \(30x32\)'):
    data.paired_dataset(cfg, batch_size=1, seed=0)


def test_folder_layouts(tmp_path):
  def folders(root, **kw):
    cfg = _cfg(root=str(root), layout='folders', **kw)
    a, b = folder_source.pair_folders(cfg, cfg.split)
    return os.path.relpath(a, root), os.path.relpath(b, root)

  official = tmp_path / 'official'  # combine_A_and_B.py input: A/train, B/train
  for rel in ('A/train', 'B/train', 'A/test', 'B/test'):
    (official / rel).mkdir(parents=True)
  assert folders(official) == ('A/train', 'B/train')
  assert folders(official, split='test') == ('A/test', 'B/test')
  split_first = tmp_path / 'split_first'
  for rel in ('train/A', 'train/B'):
    (split_first / rel).mkdir(parents=True)
  assert folders(split_first) == ('train/A', 'train/B')
  flat = tmp_path / 'flat'
  for rel in ('A', 'B'):
    (flat / rel).mkdir(parents=True)
  assert folders(flat) == ('A', 'B')
  with pytest.raises(data.DataError, match="no A/B folders for split 'test'"):
    folders(flat, split='test')  # flat folders are the training set only
  (flat / 'A' / 'test').mkdir()
  with pytest.raises(data.DataError, match="no A/B folders for split 'train'"):
    folders(flat)  # A/test but no A/train: not read as a flat training set
  assert folders(official, dir_b=str(flat / 'B')) == ('A/train', '../flat/B')
  assert folders(tmp_path, dir_a=str(flat / 'A'), dir_b=str(official)) == ('flat/A', 'official')
  (split_first / 'train' / 'B').rmdir()
  with pytest.raises(data.DataError, match='B images does not exist: .*split_first/train/B'):
    folders(split_first)
  with pytest.raises(data.DataError, match="set data.layout='folders'"):
    data.paired_dataset(_cfg(root=str(official)), batch_size=1, seed=0)  # 'aligned'


# ---------------------------------------------------------------------- streams


def test_streams_dispatch(aligned_root, unpaired_root):
  root, _ = aligned_root
  cfg = _cfg(root=root)
  got = _take(data.stream('paired').train(cfg, batch_size=2, seed=0, start_step=1)[0], 1)[0]
  want = _take(data.paired_dataset(cfg, batch_size=2, seed=0, start_step=1)[0], 1)[0]
  np.testing.assert_array_equal(got['a'], want['a'])
  cfg = _cfg(root=unpaired_root)
  ds, info = data.stream('unpaired').train(cfg, batch_size=1, seed=0)
  ref, ref_info = data.unpaired_dataset(cfg, batch_size=1, seed=0)
  cfg.direction = 'BtoA'
  swapped, swapped_info = data.stream('unpaired').train(cfg, batch_size=1, seed=0)
  assert info == ref_info and (swapped_info.n_a, swapped_info.n_b) == (4, 7)
  x, r, s = _take(ds, 1)[0], _take(ref, 1)[0], _take(swapped, 1)[0]
  np.testing.assert_array_equal(x['a'], r['a'])
  np.testing.assert_array_equal(s['a'], r['b'])
  np.testing.assert_array_equal(s['b'], r['a'])
  with pytest.raises(data.DataError, match='unknown data stream'):
    data.stream('triplets')
