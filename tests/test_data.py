"""Tests of tfi2i.data: files, decoding, transforms, streams, demo data."""
import dataclasses
import logging
import os

from conftest import check_seeded_stream
from conftest import take as _take
from conftest import tiny_data_cfg as _cfg
from conftest import decode_code
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from tfi2i import data
from recipes import common
from tfi2i.data import demo
from tfi2i.data import images
from tfi2i.data import scan
from tfi2i.data import sources
from tfi2i.data import transforms


def _codes(batch, key):
  """Which file (index in its sorted folder) each image of a batch came from."""
  red = np.round((batch[key][:, 0, 0, 0] + 1.0) * 127.5)
  return decode_code(red).tolist()


# ------------------------------------------------------------------------ listing


def test_list_images_sorted_recursive_filtered(tmp_path):
  for rel in ('b.png', 'A.JPG', 'sub/c.jpeg', 'sub/deeper/d.Bmp', 'e.gif', 'notes.txt',
              'f.tiff', '.hidden.png', '.git/x.png', 'g.png.bak'):
    p = tmp_path / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b'x')
  got = [os.path.relpath(p, tmp_path) for p in data.list_images(str(tmp_path))]
  assert got == ['A.JPG', 'b.png', 'e.gif', 'f.tiff', 'sub/c.jpeg', 'sub/deeper/d.Bmp']


def test_list_images_missing_and_empty_folder(tmp_path):
  missing = str(tmp_path / 'nope')
  with pytest.raises(data.DataError, match='does not exist: .*nope'):
    data.list_images(missing)
  (tmp_path / 'empty').mkdir()
  (tmp_path / 'empty' / 'readme.txt').write_text('hi')
  with pytest.raises(data.DataError, match=r'no images \(\.png.*\) found in .*empty'):
    data.list_images(str(tmp_path / 'empty'))


# ------------------------------------------------------------------- bad files


@pytest.fixture
def folder_with_bad_files(make_image_folder):
  folder = make_image_folder('mixed', 3)
  good = open(os.path.join(folder, '000.png'), 'rb').read()
  with open(os.path.join(folder, 'truncated.png'), 'wb') as f:
    f.write(good[:len(good) // 2])
  with open(os.path.join(folder, 'random.jpg'), 'wb') as f:
    f.write(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
  return folder


def test_bad_files_fail_names_every_path(folder_with_bad_files):
  paths = data.list_images(folder_with_bad_files)
  with pytest.raises(data.DataError) as e:
    data.check_images(paths)
  msg = str(e.value)
  assert 'truncated.png' in msg and 'random.jpg' in msg and '2 of 5' in msg
  assert '000.png' not in msg
  for name in ('truncated.png', 'random.jpg'):
    with pytest.raises(data.DataError, match=name):
      data.load_image(os.path.join(folder_with_bad_files, name))


def test_bad_files_skip_returns_good_and_counts(folder_with_bad_files, caplog):
  paths = data.list_images(folder_with_bad_files)
  with caplog.at_level(logging.WARNING):
    good = data.check_images(paths, on_error='skip')
  assert [os.path.basename(p) for p in good] == ['000.png', '001.png', '002.png']
  assert 'Skipping 2 of 5' in caplog.text
  bad_only = [p for p in paths if p not in good]
  with pytest.raises(data.DataError, match='none of the 2 images'):
    data.check_images(bad_only, on_error='skip')


def test_bad_files_skip_in_pipeline(tmp_path, folder_with_bad_files, make_image_folder):
  cfg = _cfg(dir_a=folder_with_bad_files, dir_b=make_image_folder('b', 2))
  with pytest.raises(data.DataError, match='truncated.png'):
    data.unpaired_dataset(cfg, batch_size=1, seed=0)
  cfg.on_bad_image = 'skip'
  ds, info = data.unpaired_dataset(cfg, batch_size=1, seed=0)
  assert (info.n_a, info.n_b, info.epoch_size) == (3, 2, 3)
  assert _take(ds, 1)[0]['a'].shape == (1, 16, 16, 3)


# ---------------------------------------------------------------------- decoding

_LOSSY = 3  # JPEG: TF and PIL use the same IDCT, allow tiny differences anyway


def test_odd_formats_load_as_uint8_rgb(odd_image_files):
  for name, (path, expected) in odd_image_files.items():
    img = data.load_image(path)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, name
    if name == 'exif_rotated.jpg':
      assert img.shape == (28, 20, 3)  # orientation 6 applied
    else:
      assert img.shape == (20, 28, 3), name
    if expected is not None:
      np.testing.assert_array_equal(img, expected, err_msg=name)
  # CMYK comes out close to the RGB it was made from.
  rgb = data.load_image(odd_image_files['rgb.jpg'][0]).astype(int)
  cmyk = data.load_image(odd_image_files['cmyk.jpg'][0]).astype(int)
  assert np.abs(rgb - cmyk).mean() < 3
  # EXIF orientation 6 = rotate 90 degrees clockwise.
  rot = data.load_image(odd_image_files['exif_rotated.jpg'][0]).astype(int)
  assert np.abs(np.rot90(rgb, k=-1) - rot).max() <= _LOSSY


def test_graph_decode_equals_load_image(odd_image_files):
  codecs = {}
  for name, (path, _) in odd_image_files.items():
    rec = scan.scan_image(path)
    codecs[name] = rec.codec
    got = transforms.decode_file(tf.constant(path), tf.constant(rec.codec)).numpy()
    ref = data.load_image(path)
    assert got.shape == ref.shape, name
    tol = _LOSSY if name.endswith('.jpg') else 0
    assert np.abs(got.astype(int) - ref).max() <= tol, name
  # The TF decoders (not the PIL fallback) handle the common and 16-bit cases.
  for name in ('rgb.png', 'rgb16.png', 'gray16.png', 'rgba.png', 'palette_transparent.png'):
    assert codecs[name] == images.CODEC_PNG, name
  for name in ('rgb.jpg', 'gray.jpg', 'cmyk.jpg', 'progressive.jpg'):
    assert codecs[name] == images.CODEC_JPEG, name
  for name in ('exif_rotated.jpg', 'rgb.bmp', 'palette.bmp', 'transparent.gif'):
    assert codecs[name] == images.CODEC_PIL, name


def test_decode_bytes_png_and_jpeg(odd_image_files):
  for name in ('rgb16.png', 'palette.png', 'rgb.jpg', 'cmyk.jpg'):
    path = odd_image_files[name][0]
    got = transforms.decode_bytes(tf.io.read_file(path)).numpy()
    assert np.abs(got.astype(int) - data.load_image(path)).max() <= _LOSSY, name


def test_pipeline_decodes_mixed_formats(odd_image_files, tmp_path):
  folder = os.path.dirname(next(iter(odd_image_files.values()))[0])
  refs = [data.load_image(p) for p, _ in odd_image_files.values()]
  cfg = _cfg(dir_a=folder, dir_b=folder, preprocess='none', flip=False)
  ds, info = data.unpaired_dataset(cfg, batch_size=1, seed=0)
  assert info.n_a == len(refs)
  seen = 0
  for b in _take(ds, 8):
    for key in ('a', 'b'):
      img = np.round((b[key][0] + 1) * 127.5).astype(int)
      # The EXIF-rotated 28x20 image becomes 28x20 (multiple of 4): same size.
      assert any(r.shape == img.shape and np.abs(r - img).max() <= _LOSSY for r in refs)
      seen += 1
  assert seen == 16


def test_save_png_round_trip(tmp_path):
  arr = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
  path = str(tmp_path / 'sub' / 'x.png')
  data.save_png(path, arr)
  np.testing.assert_array_equal(data.load_image(path), arr)
  with pytest.raises(data.DataError, match='uint8'):
    data.save_png(path, arr.astype(np.float32))


# --------------------------------------------------------------------- transforms


@pytest.mark.parametrize('mode,in_size,out_size', [
    ('resize_and_crop', (30, 40), (16, 16)),
    ('crop', (30, 40), (16, 16)),
    ('crop', (10, 13), (16, 16)),  # smaller than crop_size: resized up first
    ('scale_width', (30, 40), (18, 24)),  # width 24, height max(24*30/40, 16)
    ('scale_width', (10, 40), (16, 24)),  # height at least crop_size
    ('scale_width_and_crop', (30, 40), (16, 16)),
    ('none', (30, 42), (32, 40)),  # multiples of 4, round half to even
    ('none', (20, 28), (20, 28)),
])
def test_transform_shapes_and_range(mode, in_size, out_size):
  cfg = _cfg(preprocess=mode, load_size=24, crop_size=16)
  assert transforms.output_size(*in_size, cfg) == out_size
  img = np.random.default_rng(0).integers(0, 256, in_size + (3,), dtype=np.uint8)
  fn = transforms.get_transform(cfg)
  out = fn(tf.constant(img), tf.constant([1, 2], tf.int64)).numpy()
  assert out.shape == out_size + (3,) and out.dtype == np.float32
  assert out.min() >= -1.0 and out.max() <= 1.0 and out.std() > 0.1


def test_resize_matches_pil_bicubic():
  rng = np.random.default_rng(0)
  img = rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)
  for h, w in ((20, 26), (33, 45), (64, 80)):
    pil = np.asarray(Image.fromarray(img).resize((w, h), Image.BICUBIC)).astype(int)
    got = transforms.resize(tf.cast(img, tf.float32), [h, w]).numpy()
    assert np.abs(got - pil).max() <= 1, (h, w)


def test_random_crop_and_flip_are_stateless():
  img = tf.constant(np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8))
  fn = transforms.get_transform(_cfg(preprocess='crop', crop_size=16))
  outs = [fn(img, tf.constant([s, 7], tf.int64)).numpy() for s in range(24)]
  np.testing.assert_array_equal(outs[3], fn(img, tf.constant([3, 7], tf.int64)).numpy())
  assert len({o.tobytes() for o in outs}) > 20  # crops/flips vary with the seed
  img = img[:28]  # a multiple of 4: 'none' leaves it as it is
  flip_only = transforms.get_transform(_cfg(preprocess='none'))
  flips = sum(
      not np.array_equal(flip_only(img, tf.constant([s, 0], tf.int64)).numpy(),
                         transforms.to_float(img).numpy()) for s in range(200))
  assert 70 < flips < 130


def test_scale_width_and_none_with_batches(make_image_folder, tmp_path):
  a = make_image_folder('a', 3, size=(24, 32))
  b = make_image_folder('b', 2, size=(24, 32))
  Image.fromarray(np.zeros((40, 32, 3), np.uint8)).save(os.path.join(a, 'tall.png'))
  cfg = _cfg(dir_a=a, dir_b=b, preprocess='scale_width', load_size=24, crop_size=16)
  ds, _ = data.unpaired_dataset(cfg, batch_size=2, seed=0)
  batch = _take(ds, 1)[0]
  assert batch['a'].shape == (2, 16, 16, 3)  # mixed sizes: center crop to crop_size
  assert batch['b'].shape == (2, 18, 24, 3)  # one size: official scale_width
  cfg.preprocess = 'none'
  with pytest.raises(data.DataError, match="preprocess='none' with batch_size=2"):
    data.unpaired_dataset(cfg, batch_size=2, seed=0)
  ds, _ = data.unpaired_dataset(cfg, batch_size=1, seed=0)
  assert _take(ds, 1)[0]['b'].shape == (1, 24, 32, 3)


def test_to_float_to_uint8():
  x = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
  f = data.to_float(x).numpy()
  assert f.dtype == np.float32 and f.min() == -1.0 and f.max() == 1.0
  np.testing.assert_array_equal(data.to_uint8(f).numpy(), x)
  np.testing.assert_array_equal(data.to_uint8(np.array([-3.0, 3.0, 0.0])).numpy(), [0, 255, 128])


# ------------------------------------------------------------------------ streams


def domain_files(cfg, split=None):
  """The folder source's two domains of a split: (paths of A, paths of B)."""
  folder = sources.SOURCES['folder']
  split = split or cfg.split
  return folder.files(cfg, split, 'A').paths, folder.files(cfg, split, 'B').paths


def test_domain_files_layout_and_override(unpaired_root, make_image_folder):
  a, b = domain_files(_cfg(root=unpaired_root))
  assert len(a) == 7 and len(b) == 4 and all('/trainA/' in p for p in a)
  a, b = domain_files(_cfg(root=unpaired_root), split='test')
  assert len(a) == 3 and len(b) == 2
  other = make_image_folder('other', 5)
  a, b = domain_files(_cfg(root=unpaired_root, dir_b=other))
  assert len(a) == 7 and b[0].startswith(other)
  a, b = domain_files(_cfg(dir_a=other, dir_b=other))
  assert a == b and len(a) == 5


def test_domain_files_errors(tmp_path, unpaired_root):
  with pytest.raises(data.DataError, match='--recipe.data.root=DIR'):
    domain_files(_cfg())
  with pytest.raises(data.DataError, match='does not exist: .*nowhere'):
    domain_files(_cfg(root=str(tmp_path / 'nowhere')))
  with pytest.raises(data.DataError, match='does not exist: .*valA'):
    domain_files(_cfg(root=unpaired_root, split='val'))
  half = tmp_path / 'half'
  (half / 'trainA').mkdir(parents=True)
  Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(half / 'trainA' / 'x.png')
  with pytest.raises(data.DataError, match='does not exist: .*half/trainB'):
    domain_files(_cfg(root=str(half)))
  (half / 'trainB').mkdir()
  with pytest.raises(data.DataError, match='no images .* found in .*half/trainB'):
    data.unpaired_dataset(_cfg(root=str(half)), batch_size=1, seed=0)


def test_epoch_size_and_info(unpaired_root):
  _, info = data.unpaired_dataset(_cfg(root=unpaired_root), batch_size=3, seed=0)
  assert (info.n_a, info.n_b, info.epoch_size, info.steps_per_epoch) == (7, 4, 7, 3)
  assert 'trainA' in info.source


def test_batches_shape_range_and_domains(unpaired_root):
  ds, _ = data.unpaired_dataset(_cfg(root=unpaired_root), batch_size=2, seed=0)
  assert ds.element_spec['a'].shape.as_list() == [2, 16, 16, 3]
  b = _take(ds, 1)[0]
  for key in ('a', 'b'):
    assert b[key].shape == (2, 16, 16, 3) and b[key].dtype == np.float32
    assert -1.0 <= b[key].min() and b[key].max() <= 1.0


def test_order_is_permutation_per_epoch_and_domains_independent(unpaired_root):
  ds, _ = data.unpaired_dataset(_cfg(root=unpaired_root), batch_size=1, seed=3)
  batches = _take(ds, 28)  # 4 epochs of 7
  a = [_codes(b, 'a')[0] for b in batches]
  b = [_codes(b, 'b')[0] for b in batches]
  epochs_a = [a[i:i + 7] for i in range(0, 28, 7)]
  for e in epochs_a:
    assert sorted(e) == list(range(7))  # every A file once per epoch
  assert len({tuple(e) for e in epochs_a}) > 1  # reshuffled each epoch
  for i in range(0, 28, 7):
    eb = b[i:i + 7]
    assert sorted(eb[:4]) == list(range(4)) and eb[4:] == eb[:3]  # B tiled to 7
  # Two independent shuffles: B's order is not A's order (mod 4).
  assert [x % 4 for x in a] != b


def test_equal_sized_domains_shuffled_independently(make_image_folder):
  cfg = _cfg(dir_a=make_image_folder('a', 6), dir_b=make_image_folder('b', 6))
  batches = _take(data.unpaired_dataset(cfg, batch_size=6, seed=0)[0], 3)
  for b in batches:
    assert sorted(_codes(b, 'a')) == sorted(_codes(b, 'b')) == list(range(6))
  assert [_codes(b, 'a') for b in batches] != [_codes(b, 'b') for b in batches]


def test_augmentation_differs_between_epochs(make_image_folder):
  cfg = _cfg(dir_a=make_image_folder('a', 1), dir_b=make_image_folder('b', 1))
  batches = _take(data.unpaired_dataset(cfg, batch_size=1, seed=0)[0], 6)
  assert len({b['a'].tobytes() for b in batches}) == 6  # one file, 6 crops/flips


def test_same_seed_same_stream_and_resume(unpaired_root):
  cfg = _cfg(root=unpaired_root)
  run, other = check_seeded_stream(
      lambda seed, start: data.unpaired_dataset(cfg, batch_size=2, seed=seed,
                                                start_step=start)[0],
      8, (5, 3),  # 5 crosses an epoch boundary mid-batch (epoch 7, batch 2)
      lambda batch: _codes(batch, 'a'))
  assert any(not np.array_equal(x['a'], y['a']) for x, y in zip(run, other))


def test_unknown_source_and_bad_args(unpaired_root):
  with pytest.raises(data.DataError, match='unknown data.source'):
    data.unpaired_dataset(_cfg(source='s3'), batch_size=1, seed=0)
  with pytest.raises(data.DataError, match='unknown data.preprocess'):
    data.unpaired_dataset(_cfg(root=unpaired_root, preprocess='zoom'), batch_size=1, seed=0)
  with pytest.raises(data.DataError, match='batch_size'):
    data.unpaired_dataset(_cfg(root=unpaired_root), batch_size=0, seed=0)


# --------------------------------------------------------------------------- tfds


def test_tfds_source_with_mock_data():
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  cfg = _cfg(source='tfds', tfds_name='cycle_gan/horse2zebra')
  with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
    ds, info = data.unpaired_dataset(cfg, batch_size=2, seed=0)
    run = _take(ds, 4)
    resumed = _take(data.unpaired_dataset(cfg, batch_size=2, seed=0, start_step=2)[0], 1)
  assert (info.n_a, info.n_b, info.epoch_size, info.steps_per_epoch) == (5, 5, 5, 3)
  assert 'cycle_gan/horse2zebra trainA' in info.source
  for b in run:
    assert b['a'].shape == (2, 16, 16, 3) and b['b'].shape == (2, 16, 16, 3)
    assert -1.0 <= b['a'].min() and b['a'].max() <= 1.0
  np.testing.assert_array_equal(resumed[0]['a'], run[2]['a'])
  np.testing.assert_array_equal(resumed[0]['b'], run[2]['b'])


def test_tfds_needs_a_name():
  with pytest.raises(data.DataError, match='tfds_name'):
    data.unpaired_dataset(_cfg(source='tfds'), batch_size=1, seed=0)


# --------------------------------------------------------------------------- demo

_SMALL = demo.Layout(tile=4, cols=8, rows=4, first_row=1, last_row=2, test_cols=(5, 6))


def test_demo_cut_tiles_synthetic():
  w, h = _SMALL.size
  img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
  train, test = demo.cut_tiles(img, _SMALL)
  assert len(train) == 2 * 6 and len(test) == 2 * 2
  assert not set(train) & set(test)
  assert sorted(train) == _SMALL.names(test=False) and sorted(test) == _SMALL.names(test=True)
  np.testing.assert_array_equal(train['r01_c02.png'], img[4:8, 8:12])
  np.testing.assert_array_equal(test['r02_c06.png'], img[8:12, 24:28])
  with pytest.raises(data.DataError, match='expected 32x16'):
    demo.cut_tiles(img[:10], _SMALL)


def test_demo_make_from_given_images_is_idempotent(tmp_path, monkeypatch):
  day, night = str(tmp_path / 'day.png'), str(tmp_path / 'night.png')
  data.save_png(day, np.full((30, 50, 3), 200, np.uint8))  # resized to 32x16
  data.save_png(night, np.full((16, 32, 3), 10, np.uint8))
  out = str(tmp_path / 'demo')
  counts = demo.make_demo(out, day, night, layout=_SMALL)
  assert counts == {'trainA': 12, 'testA': 4, 'trainB': 12, 'testB': 4}
  assert demo.is_complete(out, _SMALL)
  assert 'day.png' in open(os.path.join(out, 'SOURCE.txt')).read()
  a, b = domain_files(_cfg(root=out))
  # B: the night side moonlit: the day map dimmed (MOONLIGHT) plus the lights
  want = [round(200 * m + 10) for m in demo.MOONLIGHT]
  assert data.load_image(a[0]).shape == (4, 4, 3)
  assert data.load_image(b[0])[0, 0].tolist() == want
  assert 'Night style: moonlit' in open(os.path.join(out, 'SOURCE.txt')).read()
  # a folder of the other style is written again; the lights style keeps the night map
  demo.make_demo(out, day, night, layout=_SMALL, style='lights')
  assert demo.is_complete(out, _SMALL, 'lights') and not demo.is_complete(out, _SMALL)
  assert data.load_image(b[0])[0, 0].tolist() == [10, 10, 10]
  demo.make_demo(out, day, night, layout=_SMALL)
  monkeypatch.setattr(demo, 'write_tiles', lambda *a, **k: pytest.fail('rewrote'))
  demo.make_demo(out, day, night, layout=_SMALL)
  with pytest.raises(data.DataError, match="--night_style='dark'"):
    demo.make_demo(out, day, night, layout=_SMALL, style='dark')


def test_demo_folder_of_another_layout_is_brought_to_this_one(tmp_path):
  """A folder written with other test columns (the default's before 2026-12-05) would keep
  its old test tiles in trainA next to the new ones: they are removed, other files stay."""
  day, night = str(tmp_path / 'day.png'), str(tmp_path / 'night.png')
  w, h = _SMALL.size
  rng = np.random.default_rng(0)
  data.save_png(day, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
  data.save_png(night, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
  out = str(tmp_path / 'demo')
  old = dataclasses.replace(_SMALL, test_cols=(1, 2))
  demo.make_demo(out, day, night, layout=old)
  keep = os.path.join(out, 'trainA', 'notes.txt')
  with open(keep, 'w') as f:
    f.write('mine')
  assert demo.is_complete(out, old) and not demo.is_complete(out, _SMALL)
  demo.make_demo(out, day, night, layout=_SMALL)
  assert demo.is_complete(out, _SMALL) and not demo.is_complete(out, old)
  for d in demo.SPLIT_DIRS:
    tiles = sorted(n for n in os.listdir(os.path.join(out, d)) if n.endswith('.png'))
    assert tiles == _SMALL.names(test=d.startswith('test')), d
  assert open(keep).read() == 'mine'
  assert 'test = columns 5, 6 of 8' in open(os.path.join(out, 'SOURCE.txt')).read()
  fresh = str(tmp_path / 'fresh')
  demo.make_demo(fresh, day, night, layout=_SMALL)
  for d in demo.SPLIT_DIRS:
    for n in _SMALL.names(test=d.startswith('test')):
      np.testing.assert_array_equal(data.load_image(os.path.join(out, d, n)),
                                    data.load_image(os.path.join(fresh, d, n)))


@pytest.mark.skipif(not os.path.isfile(os.path.join(demo.SYSTEM_DIR, demo.DAY_FILE)),
                    reason='xplanet-images is not installed')
def test_demo_real_maps():
  day, night, text = demo.find_maps(cache_dir='/nonexistent')
  assert 'NASA-not-copyrighted' in text
  day_map, night_map = demo.load_map(day), demo.load_map(night)
  assert day_map.shape == night_map.shape == (1024, 2048, 3)
  train, test = demo.cut_tiles(day_map)
  assert len(train) == 336 and len(test) == 48
  assert all(t.shape == (64, 64, 3) for t in train.values())
  assert night_map.mean() < day_map.mean() / 3


def _unpacked_maps():
  """The maps of the installed package or of one already unpacked in the default cache
  (nothing is downloaded); None if neither is there."""
  for root in (demo.SYSTEM_DIR, os.path.join(demo.default_cache_dir(), demo.PACKAGE,
                                             demo.IMAGE_SUBDIR)):
    if os.path.isfile(os.path.join(root, demo.NIGHT_FILE)):
      return os.path.join(root, demo.DAY_FILE), os.path.join(root, demo.NIGHT_FILE)
  return None


@pytest.mark.skipif(_unpacked_maps() is None, reason='the xplanet-images maps are not here')
def test_demo_test_tiles_show_city_lights():
  """The held-out band shows what day-to-night learns: its share of tiles with city lights
  (over a tenth of a percent of pixels above 60 at night) is over 1.5 times the training
  tiles' (0.54 against 0.29; the band used before 2026-12-05 had 0.42 against 0.31)."""
  night_train, night_test = demo.cut_tiles(demo.load_map(_unpacked_maps()[1]))
  lit = lambda tiles: np.mean([(t.mean(-1) > 60).mean() > 0.001 for t in tiles.values()])
  assert lit(night_test) > 1.5 * lit(night_train), (lit(night_test), lit(night_train))


def test_sample_files_name_the_files_of_each_batch(make_image_folder, tmp_path):
  """DatasetInfo.sample_files (what a failed decode or a NaN step names) gives the files the
  stream reads, batch by batch, for the unpaired, paired and attribute streams."""
  from tfi2i.data import attributes as attributes_lib  # pylint: disable=g-import-not-at-top
  from tfi2i.data import paired  # pylint: disable=g-import-not-at-top
  dir_a = make_image_folder('a', 5, size=(20, 20))
  dir_b = make_image_folder('b', 3, size=(20, 20), seed=1)
  ds, info = data.unpaired_dataset(_cfg(dir_a=str(dir_a), dir_b=str(dir_b)), batch_size=2,
                                   seed=3, start_step=1)
  for k, batch in enumerate(_take(ds, 4)):
    files = info.sample_files((k + 1) * 2, 2)
    assert [os.path.basename(f[0]) for f in files] == [f'{c:03d}.png' for c in _codes(batch, 'a')]
    assert [os.path.basename(f[1]) for f in files] == [f'{c:03d}.png' for c in _codes(batch, 'b')]
  # paired (folders layout): A and B of a pair share a name
  make_image_folder('p/A/train', 4, size=(20, 20))
  make_image_folder('p/B/train', 4, size=(20, 20), seed=2)
  ds, info = paired.paired_dataset(_cfg(root=str(tmp_path / 'p'), layout='folders'),
                                   batch_size=2, seed=1)
  for k, batch in enumerate(_take(ds, 3)):
    files = info.sample_files(k * 2, 2)
    assert [os.path.basename(f[0]) for f in files] == [f'{c:03d}.png' for c in _codes(batch, 'a')]
    assert all(os.path.basename(f[0]) == os.path.basename(f[1]) for f in files)
  # attributes
  root = tmp_path / 'attr'
  make_image_folder('attr/img_align_celeba', 6, size=(20, 20))
  with open(root / 'list_attr_celeba.txt', 'w') as f:
    f.write('6\nMale\n' + ''.join(f'{i:03d}.png {1 if i % 2 else -1}\n' for i in range(6)))
  cfg = common.attribute_data_config(('Male',), root=str(root), test_count=0,
                                     preprocess='resize_and_crop', load_size=20, crop_size=16)
  ds, info = attributes_lib.attribute_dataset(cfg, batch_size=2, seed=4)
  for k, batch in enumerate(_take(ds, 4)):
    files = info.sample_files(k * 2, 2)
    assert [os.path.basename(f[0]) for f in files] == [f'{c:03d}.png'
                                                        for c in _codes(batch, 'image')]
