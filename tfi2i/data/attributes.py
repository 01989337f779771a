"""Images with binary attribute vectors (the attribute editors' data): a folder in the CelebA
convention or CelebA through TFDS.

Folder convention (CelebA's `list_attr_celeba.txt`):

    ROOT/list_attr_celeba.txt      line 1: the number of rows
                                   line 2: the attribute names
                                   then:   `filename v1 v2 ...` with 1 (has it) / -1 (not)
    ROOT/img_align_celeba/*.jpg    the images (or the images directly in ROOT)

`data.attr_file` and `data.images_dir` point elsewhere. Every row must name an image of the
folder and every image must have a row: either mismatch is a DataError listing the names.
The recipe's `data.attributes` picks and orders the attributes the model edits; a name the
file lacks is a DataError listing those it has. 0 is read as -1 (files written 0/1).

Test split (folders): StarGAN's (yunjey/stargan data_loader.py `preprocess`): the rows are
shuffled with Python's `random.Random(data.split_seed)` (1234) and the first
`data.test_count` (2000) are the test images. A folder too small for that holds out a tenth
(a warning says so). TFDS: the dataset's own train / validation / test partition.

The training stream is a pure function of (files, seed, step), as the unpaired stream: a
stateless permutation per epoch, stateless crops and flips, so a resumed run reads the
batches an uninterrupted one would.
"""
import dataclasses
import math
import os
import random

from absl import logging
import numpy as np
import tensorflow as tf

from tfi2i import attribute_rules
from tfi2i.data import images
from tfi2i.data import pipelines
from tfi2i.data import sources
from tfi2i.data import transforms
from tfi2i.data.images import DataError

ATTR_FILE = 'list_attr_celeba.txt'
IMAGES_DIR = 'img_align_celeba'
MASKS_DIR = 'masks'  # ROOT/masks/<Attribute>/<image>: the region an edit may change
_LISTED = 10


def _names_list(names, total=None):
  names = list(names)
  shown = ', '.join(names[:_LISTED])
  more = len(names) - _LISTED
  return shown + (f' ... ({more} more)' if more > 0 else '')


def read_attribute_file(path: str):
  """(attribute names, file names, values int8 [rows, attributes] in {-1, 1})."""
  if not os.path.isfile(path):
    raise DataError(f'no attribute file at {path} (a CelebA-style list_attr_celeba.txt; '
                    'set --recipe.data.attr_file=FILE)')
  with open(path, encoding='utf-8', errors='replace') as f:
    lines = [line.strip() for line in f]
  while lines and not lines[-1]:
    lines.pop()
  if len(lines) < 2:
    raise DataError(f'{path}: an attribute file needs a count line and a line of attribute '
                    f'names, got {len(lines)} line(s)')
  try:
    count = int(lines[0].split()[0])
  except (ValueError, IndexError):
    raise DataError(f'{path}, line 1: expected the number of rows, got {lines[0][:80]!r}') from None
  names = lines[1].split()
  if not names:
    raise DataError(f'{path}, line 2: expected the attribute names, got an empty line')
  if len(set(names)) != len(names):
    twice = sorted({n for n in names if names.count(n) > 1})
    raise DataError(f'{path}, line 2: attribute names given twice: {", ".join(twice)}')
  files, rows = [], []
  for number, line in enumerate(lines[2:], start=3):
    if not line:
      continue
    parts = line.split()
    if len(parts) != len(names) + 1:
      raise DataError(f'{path}, line {number}: expected a file name and {len(names)} values, '
                      f'got {len(parts)} fields')
    try:
      values = [int(v) for v in parts[1:]]
    except ValueError:
      raise DataError(f'{path}, line {number}: attribute values must be 1 or -1 '
                      f'(or 0), got {line[:80]!r}') from None
    if any(v not in (-1, 0, 1) for v in values):
      raise DataError(f'{path}, line {number}: attribute values must be 1 or -1 (or 0), '
                      f'got {sorted(set(values) - {-1, 0, 1})}')
    files.append(parts[0])
    rows.append(values)
  if len(files) != count:
    logging.warning('%s: line 1 says %d rows, the file has %d', path, count, len(files))
  if len(set(files)) != len(files):
    seen, twice = set(), []
    for f in files:
      (twice.append(f) if f in seen else seen.add(f))
    raise DataError(f'{path}: {len(twice)} file(s) have more than one row: {_names_list(twice)}')
  values = np.asarray(rows, np.int8).reshape(len(files), len(names))
  return names, files, np.where(values > 0, 1, -1).astype(np.int8)


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
  """One split of a folder: image paths and their attribute vectors ({0, 1})."""
  paths: list
  labels: np.ndarray  # float32 [n, k]
  names: tuple  # the attribute names, in the labels' order
  folder: str
  attr_file: str


def _cfg(data_cfg, key, default=''):
  value = getattr(data_cfg, key, default) if key in data_cfg else default
  return default if value is None else value


def folder_paths(data_cfg) -> tuple[str, str]:
  """(images folder, attribute file) of the recipe's data section."""
  root = os.path.expanduser(str(_cfg(data_cfg, 'root')))
  attr_file = os.path.expanduser(str(_cfg(data_cfg, 'attr_file')))
  folder = os.path.expanduser(str(_cfg(data_cfg, 'images_dir')))
  if not (attr_file and folder):
    if not root:
      raise DataError('no data folder: data.root is empty (set --recipe.data.root=DIR, a '
                      f'folder with {ATTR_FILE} and {IMAGES_DIR}/, or data.attr_file and '
                      'data.images_dir)')
    if not os.path.isdir(root):
      raise DataError(f'data.root does not exist: {root}')
  attr_file = attr_file or os.path.join(root, ATTR_FILE)
  if not folder:
    nested = os.path.join(root, IMAGES_DIR)
    folder = nested if os.path.isdir(nested) else root
  return folder, attr_file


def test_count(data_cfg, n: int) -> int:
  """data.test_count, or a tenth of the images when that leaves fewer than half to train."""
  wanted = int(_cfg(data_cfg, 'test_count', 2000))
  if wanted < 0:
    raise DataError(f'data.test_count must be >= 0, got {wanted}')
  if 2 * wanted > n:
    fallback = n // 10
    logging.warning('data.test_count=%d is more than half of the %d images: holding out %d '
                    '(a tenth) instead; set --recipe.data.test_count to choose.',
                    wanted, n, fallback)
    return fallback
  return wanted


def folder_split(data_cfg, split=None) -> AttributeData:
  """The split ('train' or 'test'; default data.split) of a CelebA-convention folder."""
  split = split or _cfg(data_cfg, 'split', 'train')
  if split not in ('train', 'test'):
    raise DataError(f"data.split must be 'train' or 'test' for attribute data, got {split!r}")
  folder, attr_file = folder_paths(data_cfg)
  names, files, values = read_attribute_file(attr_file)
  wanted = _cfg(data_cfg, 'attributes', attribute_rules.PAPER_ATTRIBUTES)
  labels = select_attributes(names, values, wanted, attr_file)
  on_disk = {os.path.relpath(p, folder): p for p in images.list_images(folder)}
  on_disk = {k.replace(os.sep, '/'): v for k, v in on_disk.items()}
  no_file = [f for f in files if f not in on_disk]
  if no_file:
    raise DataError(f'{len(no_file)} row(s) of {attr_file} name no image in {folder}: '
                    f'{_names_list(no_file)}')
  listed = set(files)
  no_row = sorted(k for k in on_disk if k not in listed)
  if no_row:
    raise DataError(f'{len(no_row)} image(s) in {folder} have no row in {attr_file}: '
                    f'{_names_list(no_row)}')
  order = list(range(len(files)))
  random.Random(int(_cfg(data_cfg, 'split_seed', 1234))).shuffle(order)
  n_test = test_count(data_cfg, len(files))
  chosen = order[:n_test] if split == 'test' else order[n_test:]
  if not chosen:
    raise DataError(f'the {split} split of {folder} is empty ({len(files)} images, '
                    f'{n_test} held out for test)')
  return AttributeData([on_disk[files[i]] for i in chosen], labels[chosen], tuple(wanted),
                       folder, attr_file)


def masks_folder(data_cfg) -> str:
  """data.masks_dir, or ROOT/masks when that exists; '' when there are no masks."""
  folder = os.path.expanduser(str(_cfg(data_cfg, 'masks_dir')))
  if folder:
    if not os.path.isdir(folder):
      raise DataError(f'data.masks_dir does not exist: {folder}')
    return folder
  root = os.path.expanduser(str(_cfg(data_cfg, 'root')))
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


def _folder_dataset(data_cfg, batch_size, seed, start_step, split):
  data = folder_split(data_cfg, split)
  records = images.scan_images(data.paths, _cfg(data_cfg, 'on_bad_image', 'fail'))
  index = {p: i for i, p in enumerate(data.paths)}
  rows = [index[r.path] for r in records]
  labels = data.labels[rows]
  n = len(records)
  transform = transforms.get_transform(data_cfg, batch_size, [(r.height, r.width) for r in records],
                                       name=data.folder)
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
  source = (f'{data.folder} with {os.path.basename(data.attr_file)} ({n} {split or "train"} '
            f'images, {len(data.names)} attributes)')
  sample_files = pipelines.sample_files_fn(per_epoch, lambda i, sample: files[i][None], n)
  return ds, n, source, identity, sample_files


# TFDS: celeb_a's splits by data.split.
_TFDS_SPLITS = {'train': 'train', 'test': 'test', 'validation': 'validation'}


def _tfds_dataset(data_cfg, batch_size, seed, start_step, split):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  split = split or _cfg(data_cfg, 'split', 'train')
  name = str(_cfg(data_cfg, 'tfds_name')) or 'celeb_a'
  if split not in _TFDS_SPLITS:
    raise DataError(f'data.split must be one of {sorted(_TFDS_SPLITS)}, got {split!r}')
  data_dir = str(_cfg(data_cfg, 'tfds_data_dir')) or None
  try:
    ds, info = tfds.load(name, split=_TFDS_SPLITS[split], data_dir=data_dir,
                         shuffle_files=False, with_info=True,
                         decoders={'image': tfds.decode.SkipDecoding()})
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(f'cannot load TFDS dataset {name} split {split} (data_dir={data_dir}): '
                    f'{type(e).__name__}: {e}') from e
  spec = ds.element_spec
  if 'image' not in spec or 'attributes' not in spec:
    raise DataError(f"TFDS dataset {name} has no 'image' and 'attributes' features")
  wanted = [str(w) for w in _cfg(data_cfg, 'attributes', attribute_rules.PAPER_ATTRIBUTES)]
  select_attributes(sorted(spec['attributes']), np.zeros([0, len(spec['attributes'])]), wanted,
                    f'TFDS dataset {name}')
  try:
    n = int(info.splits[_TFDS_SPLITS[split]].num_examples)
  except (KeyError, ValueError, TypeError):
    n = -1
  if n <= 0:
    n = int(ds.reduce(0, lambda c, _: c + 1))
  if n == 0:
    raise DataError(f'TFDS dataset {name} split {split} is empty')
  transform = transforms.get_transform(data_cfg, batch_size, None, name=f'{name} {split}')
  aug_key = pipelines.stream_key(seed, pipelines.TAG_AUGMENT)
  shuffle_seed = (int(seed) * 2_654_435_761 + 7) % (2**31 - 1)
  ds = ds.shuffle(min(n, 10_000), seed=shuffle_seed, reshuffle_each_iteration=True).repeat()

  def load(i, example):
    attrs = tf.stack([tf.cast(example['attributes'][w], tf.float32) for w in wanted])
    image = transforms.decode_bytes(example['image'])
    return {'image': transform(image, tf.random.experimental.stateless_fold_in(aug_key, i)),
            'attributes': attrs}

  ds = ds.enumerate().skip(int(start_step) * int(batch_size))
  ds = ds.map(load, num_parallel_calls=pipelines.parallel_calls(data_cfg), deterministic=True)
  identity = {'n': n, 'tfds': f'{name} {split}', 'attributes': ','.join(wanted)}
  return ds, n, f'tfds {name} {split} ({n} images, {len(wanted)} attributes)', identity, None


def attribute_dataset(data_cfg, *, batch_size: int, seed: int, start_step: int = 0,
                      split=None) -> tuple[tf.data.Dataset, pipelines.DatasetInfo]:
  """Infinite stream of {'image': float32 [batch, H, W, 3] in [-1, 1], 'attributes':
  float32 [batch, k] in {0, 1}} (k = len(data.attributes)); batch k here is batch
  start_step + k of the stream from step 0."""
  pipelines.check_args(batch_size, start_step)
  build = sources.pick(data_cfg, _folder_dataset, _tfds_dataset)
  ds, n, desc, identity, files = build(data_cfg, int(batch_size), int(seed), int(start_step),
                                       split)
  info = pipelines.DatasetInfo(n_a=n, n_b=0, epoch_size=n,
                               steps_per_epoch=math.ceil(n / int(batch_size)), source=desc,
                               identity=identity, sample_files=files)
  logging.info('Data: %s; epoch %d samples = %d steps of %d.', desc, n, info.steps_per_epoch,
               batch_size)
  return pipelines.finish(ds, int(batch_size)), info
