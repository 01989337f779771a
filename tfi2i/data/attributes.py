"""Images with binary attribute vectors (the attribute editors' data), from the recipe's data
source (part 'attributes': every image with its row of an attribute table; the folder
source reads CelebA's convention, ROOT/list_attr_celeba.txt and ROOT/img_align_celeba/,
see tfi2i/data/sources/folder_source.py; the list source a CSV; TFDS celeb_a).

The recipe's `data.attributes` picks and orders the attributes the model edits; a name the
table lacks is a DataError listing those it has.

Test split (sources of files): StarGAN's (yunjey/stargan data_loader.py `preprocess`): the
rows are shuffled with Python's `random.Random(data.split_seed)` (1234) and the first
`data.test_count` (2000) are the test images. A set too small for that holds out a tenth
(a warning says so). TFDS: the dataset's own train / validation / test partition.

The training stream is a pure function of (files, seed, step), as the unpaired stream: a
stateless permutation per epoch, stateless crops and flips, so a resumed run reads the
batches an uninterrupted one would.
"""
import dataclasses
import math
import os

from absl import logging
import numpy as np
import tensorflow as tf

from tfi2i.data import attribute_table
from tfi2i.data import pipelines
from tfi2i.data import scan
from tfi2i.data import sources
from tfi2i.data import transforms
from tfi2i.data.images import DataError

MASKS_DIR = 'masks'  # ROOT/masks/<Attribute>/<image>: the region an edit may change


def select_attributes(names, values, wanted, where: str):
  """float32 [rows, len(wanted)] in {0, 1}: the wanted columns, in the wanted order."""
  wanted = [str(w) for w in wanted]
  if not wanted:
    raise DataError('data.attributes is empty: name the attributes to edit')
  if len(set(wanted)) != len(wanted):
    raise DataError(f'data.attributes names an attribute twice: {wanted}')
  missing = [w for w in wanted if w not in names]
  if missing:
    raise DataError(f'{where} has no attribute {", ".join(missing)} (data.attributes); it has: '
                    f'{", ".join(names)}')
  columns = [list(names).index(w) for w in wanted]
  return (np.asarray(values)[:, columns] > 0).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class AttributeData:
  """One split of an attribute set: image paths and their attribute vectors ({0, 1})."""
  paths: list
  labels: np.ndarray  # float32 [n, k]
  names: tuple  # the attribute names, in the labels' order
  folder: str  # the images' names are their paths below it
  description: str  # where they come from


def test_count(data_cfg, n: int) -> int:
  """data.test_count, or a tenth of the images when that leaves fewer than half to train."""
  wanted = int(data_cfg.test_count)
  if 2 * wanted > n:
    fallback = n // 10
    logging.warning('data.test_count=%d is more than half of the %d images: holding out %d '
                    '(a tenth) instead; set --recipe.data.test_count to choose.',
                    wanted, n, fallback)
    return fallback
  return wanted


def split_set(data_cfg, split=None) -> AttributeData:
  """The split ('train' or 'test'; default data.split) of the source's attribute set (a
  source of files), with the recipe's attributes."""
  split = split or data_cfg.split
  if split not in ('train', 'test'):
    raise DataError(f"data.split must be 'train' or 'test' for attribute data, got {split!r}")
  found = sources.get(data_cfg).files(data_cfg, split, 'attributes')
  if found.table is None:
    raise DataError(f'data.source={data_cfg.source!r} gave no attribute table for '
                    f'{found.description}')
  wanted = tuple(data_cfg.attributes)
  labels = select_attributes(found.table.names, found.table.values, wanted, found.description)
  order = attribute_table.split_order(len(found.paths), data_cfg.split_seed)
  n_test = test_count(data_cfg, len(found.paths))
  chosen = order[:n_test] if split == 'test' else order[n_test:]
  if not chosen:
    raise DataError(f'the {split} split of {found.description} is empty '
                    f'({len(found.paths)} images, {n_test} held out for test)')
  return AttributeData([found.paths[i] for i in chosen], labels[chosen], wanted, found.base,
                       found.description)


def masks_folder(data_cfg) -> str:
  """data.masks_dir, or ROOT/masks when that exists; '' when there are no masks."""
  folder = os.path.expanduser(str(data_cfg.masks_dir))
  if folder:
    if not os.path.isdir(folder):
      raise DataError(f'data.masks_dir does not exist: {folder}')
    return folder
  root = os.path.expanduser(str(data_cfg.root))
  nested = os.path.join(root, MASKS_DIR) if root else ''
  return nested if nested and os.path.isdir(nested) else ''


def mask_paths(data_cfg, data: AttributeData) -> dict:
  """{attribute: [mask path or None per image of `data`]} for the attributes with a folder
  MASKS/<attribute>/ (see masks_folder); a mask is MASKS/<attribute>/<the image's path below
  the images folder>, or the same with the extension .png. A mask is an image whose nonzero
  pixels are the attribute's region: what an edit of that attribute may change (paper 001
  Table 2: the hair for a hair colour, the skin for Pale_Skin); masked PSNR
  (tfi2i.evaluate) is PSNR over the other pixels. {} without masks."""
  folder = masks_folder(data_cfg)
  if not folder:
    return {}
  found = {}
  for name in data.names:
    sub = os.path.join(folder, name)
    if not os.path.isdir(sub):
      continue
    paths = []
    for p in data.paths:
      rel = os.path.relpath(p, data.folder)
      candidates = (os.path.join(sub, rel), os.path.join(sub, os.path.splitext(rel)[0] + '.png'))
      paths.append(next((c for c in candidates if os.path.isfile(c)), None))
    found[name] = paths
  if not found:
    logging.warning('%s has no folder named after an attribute (%s): no masked PSNR',
                    folder, ', '.join(data.names))
  return found


def _file_dataset(data_cfg, batch_size, seed, start_step, split):
  data = split_set(data_cfg, split)
  records = scan.scan_images(data.paths, data_cfg.on_bad_image)
  index = {p: i for i, p in enumerate(data.paths)}
  rows = [index[r.path] for r in records]
  labels = data.labels[rows]
  n = len(records)
  transform = transforms.get_transform(data_cfg, batch_size, [(r.height, r.width) for r in records],
                                       name=data.description)
  files = tf.constant([r.path for r in records])
  codecs = tf.constant([r.codec for r in records], tf.int32)
  label_table = tf.constant(labels, tf.float32)
  perm_key = pipelines.stream_key(seed, pipelines.TAG_PERMUTATION)
  aug_key = pipelines.stream_key(seed, pipelines.TAG_AUGMENT)
  fold_in = tf.random.experimental.stateless_fold_in

  def per_epoch(e):
    perm = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64),
                                                    seed=fold_in(perm_key, e))
    return tf.data.Dataset.from_tensor_slices((perm, e * n + tf.range(n, dtype=tf.int64)))

  def load(i, sample):
    image = transforms.decode_file(files[i], codecs[i])
    return {'image': transform(image, fold_in(aug_key, sample)), 'attributes': label_table[i]}

  first = int(start_step) * int(batch_size)
  start_epoch, offset = divmod(first, n)
  ds = tf.data.Dataset.range(start_epoch, 2**62).flat_map(per_epoch).skip(offset)
  ds = ds.map(load, num_parallel_calls=pipelines.parallel_calls(data_cfg), deterministic=True)
  names = [os.path.relpath(r.path, data.folder) for r in records]
  identity = {'n': n, 'files': pipelines.files_identity(names),
              'attributes': ','.join(data.names),
              'labels': pipelines.files_identity([labels.astype(np.int8).tobytes().hex()])}
  source = (f'{data.description} ({n} {split} images, {len(data.names)} attributes)')
  sample_files = pipelines.sample_files_fn(per_epoch, lambda i, sample: files[i][None], n)
  return ds, n, source, identity, sample_files


def _record_dataset(data_cfg, batch_size, seed, start_step, split):
  records = sources.get(data_cfg).records(data_cfg, split, 'attributes')
  wanted = [str(w) for w in data_cfg.attributes]
  select_attributes(records.attribute_names, np.zeros([0, len(records.attribute_names)]),
                    wanted, records.description)
  n = records.count
  transform = transforms.get_transform(data_cfg, batch_size, None, name=records.description)
  aug_key = pipelines.stream_key(seed, pipelines.TAG_AUGMENT)
  shuffle_seed = (int(seed) * 2_654_435_761 + 7) % (2**31 - 1)
  ds = records.dataset.shuffle(min(n, 10_000), seed=shuffle_seed,
                               reshuffle_each_iteration=True).repeat()

  def load(i, example):
    attrs = tf.stack([tf.cast(example['attributes'][w], tf.float32) for w in wanted])
    image = transforms.decode_bytes(example['image'])
    return {'image': transform(image, tf.random.experimental.stateless_fold_in(aug_key, i)),
            'attributes': attrs}

  ds = ds.enumerate().skip(int(start_step) * int(batch_size))
  ds = ds.map(load, num_parallel_calls=pipelines.parallel_calls(data_cfg), deterministic=True)
  identity = {'n': n, sources.get(data_cfg).name: records.identity,
              'attributes': ','.join(wanted)}
  return (ds, n, f'{records.description}, {len(wanted)} attributes', identity, None)


def attribute_dataset(data_cfg, *, batch_size: int, seed: int, start_step: int = 0,
                      split=None) -> tuple[tf.data.Dataset, pipelines.DatasetInfo]:
  """Infinite stream of {'image': float32 [batch, H, W, 3] in [-1, 1], 'attributes':
  float32 [batch, k] in {0, 1}} (k = len(data.attributes)); batch k here is batch
  start_step + k of the stream from step 0."""
  pipelines.check_args(batch_size, start_step)
  build = _file_dataset if sources.get(data_cfg).gives_files else _record_dataset
  ds, n, desc, identity, files = build(data_cfg, int(batch_size), int(seed), int(start_step),
                                       split or data_cfg.split)
  info = pipelines.DatasetInfo(n_a=n, n_b=0, epoch_size=n,
                               steps_per_epoch=math.ceil(n / int(batch_size)), source=desc,
                               identity=identity, sample_files=files)
  logging.info('Data: %s; epoch %d samples = %d steps of %d.', desc, n, info.steps_per_epoch,
               batch_size)
  return pipelines.finish(ds, int(batch_size)), info
