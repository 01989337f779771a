"""Unpaired A/B training stream (official data/unaligned_dataset.py), resumable.

Images come from the recipe's data source (tfi2i.data.sources: parts 'A' and 'B').

Sources of files (folder, list): the stream is a pure function of (files, seed, step). Sample i
(= step * batch_size + k) lies in epoch e = i // epoch_size; in each epoch, A
is a stateless permutation of its files drawn from (seed, e, 0), tiled to
epoch_size, and B one from (seed, e, 1). Crops and flips are stateless ops
seeded from (seed, i). Resuming at `start_step` skips ahead before decoding,
so it costs nothing and gives the batches an uninterrupted run would have.

Sources of records (TFDS): each split is shuffled with a seeded tf.data shuffle and repeated,
and the two are zipped; resuming replays (reads, does not decode) the records
before `start_step`.
"""
import dataclasses
import hashlib
import math
from typing import Callable, Optional

from absl import logging
import tensorflow as tf

from tfi2i.data import scan
from tfi2i.data import sources
from tfi2i.data import transforms
from tfi2i.data.images import DataError

TAG_PERMUTATION = 1
TAG_AUGMENT = 2
_MAX_TFDS_SHUFFLE = 10_000
_fold_in = tf.random.experimental.stateless_fold_in


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  n_a: int  # images in domain A
  n_b: int  # images in domain B
  epoch_size: int  # max(n_a, n_b), the official UnalignedDataset.__len__
  steps_per_epoch: int  # ceil(epoch_size / batch_size)
  source: str  # what was read, for logs
  # which images (a resumed run must see the same ones): counts and a hash of the file names
  # relative to their folders, or the TFDS name and splits
  identity: dict = dataclasses.field(default_factory=dict)
  # folders: (first sample, count) -> the files of those samples of the stream from step 0
  # ([[path, ...] per sample]), to name the files of a step whose image fails to decode or
  # whose losses turn NaN; None for TFDS
  sample_files: Optional[Callable] = dataclasses.field(default=None, compare=False,
                                                       repr=False)


def sample_files_fn(per_epoch, files_of, epoch_size: int) -> Callable:
  """A DatasetInfo.sample_files for a stream built as
  range(epochs).flat_map(per_epoch) (one element per sample, `files_of(*element)` its
  paths, a string vector): the same order, nothing decoded."""

  def sample_files(first: int, count: int) -> list:
    epoch, offset = divmod(int(first), int(epoch_size))
    ds = tf.data.Dataset.range(epoch, 2**62).flat_map(per_epoch).skip(offset).take(int(count))
    return [[p.decode('utf-8', 'surrogateescape') for p in paths]
            for paths in ds.map(files_of).as_numpy_iterator()]

  return sample_files


def files_identity(*domains) -> str:
  """A short hash of the file names of each domain, in order."""
  digest = hashlib.sha256()
  for names in domains:
    for name in names:
      digest.update(str(name).encode('utf-8', 'surrogateescape') + b'\0')
    digest.update(b'\1')
  return digest.hexdigest()[:16]


def stream_key(seed: int, tag: int):
  return _fold_in(tf.constant([seed, 0], tf.int64), tag)


def parallel_calls(data_cfg) -> int:
  n = int(data_cfg.num_parallel_calls)
  return tf.data.AUTOTUNE if n <= 0 else n


def finish(ds, batch_size: int):
  ds = ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
  opts = tf.data.Options()
  opts.deterministic = True
  return ds.with_options(opts)


def check_args(batch_size, start_step):
  if int(batch_size) < 1:
    raise DataError(f'batch_size must be >= 1, got {batch_size}')
  if int(start_step) < 0:
    raise DataError(f'start_step must be >= 0, got {start_step}')


def _file_dataset(data_cfg, batch_size, seed, start_step, split):
  source = sources.get(data_cfg)
  set_a, set_b = source.files(data_cfg, split, 'A'), source.files(data_cfg, split, 'B')
  on_error = data_cfg.on_bad_image
  rec_a = scan.scan_images(set_a.paths, on_error)
  rec_b = scan.scan_images(set_b.paths, on_error)
  n_a, n_b = len(rec_a), len(rec_b)
  epoch_size = max(n_a, n_b)
  tf_a = transforms.get_transform(data_cfg, batch_size, [(r.height, r.width) for r in rec_a],
                                  name=set_a.description)
  tf_b = transforms.get_transform(data_cfg, batch_size, [(r.height, r.width) for r in rec_b],
                                  name=set_b.description)

  files_a = tf.constant([r.path for r in rec_a])
  codecs_a = tf.constant([r.codec for r in rec_a], tf.int32)
  files_b = tf.constant([r.path for r in rec_b])
  codecs_b = tf.constant([r.codec for r in rec_b], tf.int32)
  perm_key = stream_key(seed, TAG_PERMUTATION)
  aug_key = stream_key(seed, TAG_AUGMENT)

  def per_epoch(e):
    epoch_key = _fold_in(perm_key, e)
    pos = tf.range(epoch_size, dtype=tf.int64)
    perm_a = tf.random.experimental.stateless_shuffle(
        tf.range(n_a, dtype=tf.int64), seed=_fold_in(epoch_key, 0))
    perm_b = tf.random.experimental.stateless_shuffle(
        tf.range(n_b, dtype=tf.int64), seed=_fold_in(epoch_key, 1))
    ia = tf.gather(perm_a, pos % n_a)
    ib = tf.gather(perm_b, pos % n_b)
    return tf.data.Dataset.from_tensor_slices(
        (tf.gather(files_a, ia), tf.gather(codecs_a, ia),
         tf.gather(files_b, ib), tf.gather(codecs_b, ib), e * epoch_size + pos))

  def load(path_a, codec_a, path_b, codec_b, i):
    key = _fold_in(aug_key, i)
    return {'a': tf_a(transforms.decode_file(path_a, codec_a), _fold_in(key, 0)),
            'b': tf_b(transforms.decode_file(path_b, codec_b), _fold_in(key, 1))}

  first = int(start_step) * int(batch_size)
  start_epoch, offset = divmod(first, epoch_size)
  ds = tf.data.Dataset.range(start_epoch, 2**62).flat_map(per_epoch).skip(offset)
  ds = ds.map(load, num_parallel_calls=parallel_calls(data_cfg), deterministic=True)
  desc = f'A={set_a.description} ({n_a} images), B={set_b.description} ({n_b} images)'
  if source.name == 'folder':
    desc = f'folders {desc}'
  names = [{p: n for p, n in zip(s.paths, s.names)} for s in (set_a, set_b)]
  identity = {'n_a': n_a, 'n_b': n_b,
              'files': files_identity([names[0][r.path] for r in rec_a],
                                      [names[1][r.path] for r in rec_b])}
  files = sample_files_fn(per_epoch, lambda pa, ca, pb, cb, i: tf.stack([pa, pb]), epoch_size)
  return ds, n_a, n_b, desc, identity, files


def joined_identity(a: str, b: str) -> str:
  """One text for two record sets' identities: 'name trainA' and 'name trainB' give
  'name trainA trainB' (what runs recorded before sources were pluggable)."""
  head_a, _, tail_a = a.rpartition(' ')
  head_b, _, tail_b = b.rpartition(' ')
  return f'{head_a} {tail_a} {tail_b}' if head_a and head_a == head_b else f'{a} | {b}'


def _tfds_seed(seed: int, domain: int) -> int:
  return (int(seed) * 2_654_435_761 + domain * 40_503 + 1) % (2**31 - 1)


def _record_dataset(data_cfg, batch_size, seed, start_step, split):
  source = sources.get(data_cfg)
  set_a = source.records(data_cfg, split, 'A')
  set_b = source.records(data_cfg, split, 'B')
  n_a, n_b = set_a.count, set_b.count
  tf_a = transforms.get_transform(data_cfg, batch_size, None, name='domain A')
  tf_b = transforms.get_transform(data_cfg, batch_size, None, name='domain B')
  ds_a = set_a.dataset.map(lambda ex: ex['image'])
  ds_b = set_b.dataset.map(lambda ex: ex['image'])
  ds_a = ds_a.shuffle(min(n_a, _MAX_TFDS_SHUFFLE), seed=_tfds_seed(seed, 0),
                      reshuffle_each_iteration=True).repeat()
  ds_b = ds_b.shuffle(min(n_b, _MAX_TFDS_SHUFFLE), seed=_tfds_seed(seed, 1),
                      reshuffle_each_iteration=True).repeat()
  aug_key = stream_key(seed, TAG_AUGMENT)

  def load(i, raw):
    key = _fold_in(aug_key, i)
    return {'a': tf_a(transforms.decode_bytes(raw[0]), _fold_in(key, 0)),
            'b': tf_b(transforms.decode_bytes(raw[1]), _fold_in(key, 1))}

  ds = tf.data.Dataset.zip((ds_a, ds_b)).enumerate().skip(int(start_step) * int(batch_size))
  ds = ds.map(load, num_parallel_calls=parallel_calls(data_cfg), deterministic=True)
  desc = f'{set_a.description} / {set_b.description}'
  identity = {'n_a': n_a, 'n_b': n_b,
              source.name: joined_identity(set_a.identity, set_b.identity)}
  return ds, n_a, n_b, desc, identity, None


def unpaired_dataset(data_cfg, *, batch_size: int, seed: int, start_step: int = 0,
                     split=None) -> tuple[tf.data.Dataset, DatasetInfo]:
  """Infinite stream of {'a', 'b'}: float32 [batch, H, W, 3] in [-1, 1].

  Args:
    data_cfg: the recipe's data section (tfi2i/schema/data.py).
    batch_size: images per domain per batch (drop_remainder=True).
    seed: the stream (order and augmentation) is a function of it.
    start_step: first batch to yield; batch k here is batch start_step + k of
      the stream from step 0.
    split: 'train' / 'test' (default data_cfg.split).
  """
  check_args(batch_size, start_step)
  build = _file_dataset if sources.get(data_cfg).gives_files else _record_dataset
  ds, n_a, n_b, desc, identity, files = build(data_cfg, int(batch_size), int(seed),
                                              int(start_step), split or data_cfg.split)
  epoch_size = max(n_a, n_b)
  info = DatasetInfo(n_a=n_a, n_b=n_b, epoch_size=epoch_size,
                     steps_per_epoch=math.ceil(epoch_size / int(batch_size)), source=desc,
                     identity=identity, sample_files=files)
  logging.info('Data: %s; epoch %d samples = %d steps of %d.', desc, epoch_size,
               info.steps_per_epoch, batch_size)
  return finish(ds, int(batch_size)), info
