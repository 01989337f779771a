"""Attribute data (tfi2i/data/attributes.py): CelebA-convention folders, TFDS celeb_a,
StarGAN's split and transform, the errors a bad attribute file gives."""
import os
import random

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from recipes import common
from tfi2i import data
from tfi2i.data import attribute_table
from tfi2i.data import attributes
from tfi2i.data import streams

from conftest import write_attribute_folder as write_folder

def cfg(root, wanted=('Male', 'Bangs'), **kw):
  c = common.attribute_data_config(tuple(wanted))
  c.root, c.load_size, c.crop_size = str(root), 36, 32
  c.update(kw)
  return c


def test_folder_split_follows_stargan(tmp_path):
  truth = write_folder(tmp_path, n=30)
  c = cfg(tmp_path, test_count=5)
  test, train = attributes.split_set(c, 'test'), attributes.split_set(c, 'train')
  # StarGAN data_loader.py: the rows shuffled by Python's random with seed 1234
  rows = sorted(truth)
  random.Random(1234).shuffle(rows)
  assert [os.path.basename(p) for p in test.paths] == rows[:5]
  assert [os.path.basename(p) for p in train.paths] == rows[5:]
  for split in (test, train):
    for path, label in zip(split.paths, split.labels):
      want = truth[os.path.basename(path)]
      np.testing.assert_array_equal(label, [want['Male'], want['Bangs']])  # recipe order


def test_small_folder_holds_out_a_tenth(tmp_path):
  write_folder(tmp_path, n=20)
  assert len(attributes.split_set(cfg(tmp_path), 'test').paths) == 2  # not 2000


def test_stream_batches_resume_and_transform(tmp_path):
  truth = write_folder(tmp_path, n=10, size=(218, 178))
  c = cfg(tmp_path, load_size=178, crop_size=32, test_count=2, flip=False)
  ds, info = attributes.attribute_dataset(c, batch_size=3, seed=4)
  run = [{k: v.numpy() for k, v in b.items()} for b in ds.take(4)]
  resumed = next(iter(attributes.attribute_dataset(c, batch_size=3, seed=4, start_step=3)[0]))
  assert (info.n_a, info.epoch_size, info.steps_per_epoch) == (8, 8, 3)
  np.testing.assert_array_equal(resumed['image'], run[3]['image'])
  np.testing.assert_array_equal(resumed['attributes'], run[3]['attributes'])
  assert run[0]['image'].shape == (3, 32, 32, 3) and run[0]['attributes'].shape == (3, 2)
  # every image appears once per epoch with its own labels: the transform of each file
  # (StarGAN: CenterCrop(178), Resize(32) bilinear) identifies it
  train = attributes.split_set(c, 'train')
  by_file = {}
  for path in train.paths:
    img = Image.open(path).convert('RGB')
    w, h = img.size
    box = ((w - 178) // 2, (h - 178) // 2, (w - 178) // 2 + 178, (h - 178) // 2 + 178)
    want = np.asarray(img.crop(box).resize((32, 32), Image.BILINEAR), np.float32) / 127.5 - 1
    by_file[os.path.basename(path)] = want
  seen = []
  images = np.concatenate([b['image'] for b in run[:3]])[:8]
  labels = np.concatenate([b['attributes'] for b in run[:3]])[:8]
  for image, label in zip(images, labels):
    errors = {f: np.abs(image - w).max() for f, w in by_file.items()}
    name = min(errors, key=errors.get)
    assert errors[name] <= 2.5 / 127.5  # PIL's bilinear, within rounding
    np.testing.assert_array_equal(label, [truth[name]['Male'], truth[name]['Bangs']])
    seen.append(name)
  assert sorted(seen) == sorted(by_file)


def test_the_stream_is_registered(tmp_path):
  write_folder(tmp_path, n=10)
  ev = streams.stream('attributes').evaluation(cfg(tmp_path, test_count=3), 'test')
  assert len(ev.names) == 3 and ev.attributes.shape == (3, 2)
  assert ev.attribute_names == ('Male', 'Bangs')
  assert ev.load(0)[0].shape == (44, 36, 3)


@pytest.mark.parametrize('mutate, match', [
    (lambda root, lines: lines.__setitem__(1, lines[1].replace('Male', 'Female')),
     r'has no attribute Male .*it has: 5_o_Clock_Shadow, Bangs'),
    (lambda root, lines: os.remove(os.path.join(root, 'img_align_celeba', '000003.jpg')),
     r'1 row\(s\) of .*list_attr_celeba.txt name no image .*000003.jpg'),
    (lambda root, lines: lines.pop(5),  # the row of 000003.jpg
     r'1 image\(s\) in .*img_align_celeba have no row in .*: 000003.jpg'),
    (lambda root, lines: lines.__setitem__(4, lines[4] + ' 1'),
     r'list_attr_celeba.txt, line 5: expected a file name and 6 values, got 8 fields'),
    (lambda root, lines: lines.__setitem__(4, lines[4].replace('-1', ' 2', 1).replace(' 1', ' 2', 1)),
     r'line 5: attribute values must be 1 or -1'),
    (lambda root, lines: lines.__setitem__(0, 'many'), r'line 1: expected the number of rows'),
    (lambda root, lines: lines.append(lines[2]), r'1 file\(s\) have more than one row: 000000.jpg'),
])
def test_attribute_file_errors_name_what_and_where(tmp_path, mutate, match):
  write_folder(tmp_path, n=8)
  path = os.path.join(tmp_path, attribute_table.ATTR_FILE)
  lines = open(path).read().splitlines()
  mutate(str(tmp_path), lines)
  with open(path, 'w') as f:
    f.write('\n'.join(lines) + '\n')
  with pytest.raises(data.DataError, match=match):
    attributes.split_set(cfg(tmp_path), 'train')


def test_missing_folder_and_file(tmp_path):
  with pytest.raises(data.DataError, match='data.root is empty'):
    attributes.split_set(cfg(''), 'train')
  os.makedirs(tmp_path / 'img_align_celeba')
  with pytest.raises(data.DataError, match='no attribute file at .*list_attr_celeba.txt'):
    attributes.split_set(cfg(tmp_path), 'train')


def test_zero_means_absent_and_flat_folders(tmp_path):
  write_folder(tmp_path, n=6, nested=False)
  path = os.path.join(tmp_path, attribute_table.ATTR_FILE)
  text = open(path).read().replace('-1', ' 0')
  open(path, 'w').write(text)
  split = attributes.split_set(cfg(tmp_path, test_count=0), 'train')
  assert len(split.paths) == 6 and set(np.unique(split.labels)) <= {0.0, 1.0}
  assert split.folder == str(tmp_path)


def test_tfds_celeb_a_with_mock_data():
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  c = cfg('', wanted=('Bangs', 'Male', 'Black_Hair'), source='tfds', load_size=64)
  with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
    ds, info = attributes.attribute_dataset(c, batch_size=2, seed=0)
    run = [{k: v.numpy() for k, v in b.items()} for b in ds.take(3)]
    resumed = next(iter(attributes.attribute_dataset(c, batch_size=2, seed=0, start_step=2)[0]))
    c.attributes = ('Bangs', 'Hat')
    with pytest.raises(data.DataError, match='TFDS dataset celeb_a .*has no attribute Hat'):
      attributes.attribute_dataset(c, batch_size=2, seed=0)
  assert info.epoch_size == 6 and 'celeb_a train' in info.source
  # a static size (the editors check it before training), as for folders
  assert ds.element_spec['image'].shape == (2, 32, 32, 3)
  assert run[0]['image'].shape == (2, 32, 32, 3) and run[0]['attributes'].shape == (2, 3)
  assert set(np.unique(np.concatenate([b['attributes'] for b in run]))) <= {0.0, 1.0}
  np.testing.assert_array_equal(resumed['image'], run[2]['image'])
  np.testing.assert_array_equal(resumed['attributes'], run[2]['attributes'])
