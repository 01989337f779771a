"""Paired A/B training stream (official data/aligned_dataset.py), resumable.

Two layouts (data.layout), read from the recipe's data source (tfi2i.data.sources; where
the folder source finds them: tfi2i/data/sources/folder_source.py):

  'aligned' (the official one): images (part 'AB'; the folder source's ROOT/{split}/) with
    A on the left half and B on the right half, as written by the official
    datasets/combine_A_and_B.py. An image of width w is split at w2 = w // 2:
    A = columns [0, w2), B = columns [w2, 2 * w2). Images of odd width are an
    error at start-up (the official code would give B one column more than A).
  'folders': two sets (parts 'pair_A', 'pair_B') whose files pair up by name, extension
    aside (A/0001.png <-> B/0001.jpg; in subfolders, by the path below the folder). A
    file without a partner is an error naming it, and so is a pair of two sizes unless
    preprocess='resize_and_crop' (which resizes both to load_size x load_size first): the
    official README asks for one size.

Both halves of a pair get the same augmentation (the official get_params used
for A and B): one get_transform, called on A and on B with the same seed, so the
same resize, the same crop window and the same flip. data.direction='BtoA'
swaps a and b (official --direction).

The stream is a pure function of (pairs, seed, step), like unpaired_dataset:
sample i (= step * batch_size + k) lies in epoch e = i // n_pairs; each epoch is
a stateless permutation of the pairs drawn from (seed, e); the augmentation of
sample i is seeded from (seed, i). Resuming at `start_step` skips ahead before
decoding.
"""
import math
import os

from absl import logging
import tensorflow as tf

from tfi2i.data import pipelines
from tfi2i.data import scan
from tfi2i.data import sources
from tfi2i.data import transforms
from tfi2i.data.images import DataError

LAYOUTS = ('aligned', 'folders')
DIRECTIONS = ('AtoB', 'BtoA')
_MAX_LISTED = 20
_fold_in = tf.random.experimental.stateless_fold_in
# Shared with unpaired_dataset: both streams are keyed, checked and batched alike.
check_args = pipelines.check_args
finish = pipelines.finish
stream_key = pipelines.stream_key
parallel_calls = pipelines.parallel_calls
_TAG_AUGMENT = pipelines.TAG_AUGMENT
_TAG_PERMUTATION = pipelines.TAG_PERMUTATION


def _listed(lines) -> str:
  lines = list(lines)
  out = [f'  {line}' for line in lines[:_MAX_LISTED]]
  if len(lines) > _MAX_LISTED:
    out.append(f'  ... and {len(lines) - _MAX_LISTED} more')
  return '\n'.join(out)


def direction(data_cfg) -> str:
  """data.direction ('AtoB' or 'BtoA', checked with the recipe)."""
  return data_cfg.direction


def _keyed(folder: str, paths) -> dict[str, str]:
  """{path below folder without extension: path}; DataError on a name used twice."""
  out, dupes = {}, []
  for p in paths:
    key = os.path.splitext(os.path.relpath(p, folder))[0]
    if key in out:
      dupes.append(f'{out[key]} and {p}')
    out[key] = p
  if dupes:
    raise DataError(f'{len(dupes)} names are used by two images in {folder} (pairs are '
                    f'matched by name, extension aside):\n{_listed(dupes)}')
  return out


def pair_sets(data_cfg, split=None):
  """The source's two sets of the 'folders' layout (parts 'pair_A', 'pair_B')."""
  split = split or data_cfg.split
  source = sources.get(data_cfg)
  return source.files(data_cfg, split, 'pair_A'), source.files(data_cfg, split, 'pair_B')


def pair_files(data_cfg, split=None) -> list[tuple[str, str]]:
  """(A path, B path) pairs of the 'folders' layout, sorted by name.

  Raises:
    DataError: a set is missing or empty, or a file has no partner (names
      every such file and the side its partner is missing from).
  """
  set_a, set_b = pair_sets(data_cfg, split)
  folder_a, folder_b = set_a.base, set_b.base
  by_a = _keyed(folder_a, set_a.paths)
  by_b = _keyed(folder_b, set_b.paths)
  missing = [f'{by_a[k]}: no partner in B ({os.path.join(folder_b, k)}.*)'
             for k in sorted(by_a.keys() - by_b.keys())]
  missing += [f'{by_b[k]}: no partner in A ({os.path.join(folder_a, k)}.*)'
              for k in sorted(by_b.keys() - by_a.keys())]
  if missing:
    raise DataError(f'{len(missing)} images have no partner with the same name (extension '
                    f'aside) in A={folder_a} / B={folder_b}:\n{_listed(missing)}')
  return [(by_a[k], by_b[k]) for k in sorted(by_a)]


# --------------------------------------------------------------------------- checks


def _scan_aligned(folder, paths, on_error):
  """Good records of the A|B images; DataError naming every odd-width image."""
  records = scan.scan_images(paths, on_error)
  odd = [f'{r.path}: {r.width}x{r.height}' for r in records if r.width % 2]
  if odd:
    raise DataError(f'{len(odd)} odd-width AB images in {folder}: an A|B image must have an '
                    f'even width to split into equal A and B halves:\n{_listed(odd)}')
  return records


def _scan_pairs(pairs, on_error, preprocess):
  """(A record, B record) of every pair whose two images decode."""
  flat = [p for pair in pairs for p in pair]
  good = {r.path: r for r in scan.scan_images(flat, on_error)}
  kept = [(good[a], good[b]) for a, b in pairs if a in good and b in good]
  if len(kept) < len(pairs):
    if not kept:
      raise DataError(f'none of the {len(pairs)} pairs has two readable images')
    logging.warning('Leaving out %d of %d pairs with an image that cannot be decoded.',
                    len(pairs) - len(kept), len(pairs))
  if preprocess != 'resize_and_crop':
    # Other modes crop / scale each image at its own size: the halves would not line up.
    differ = [f'{a.path} ({a.height}x{a.width}) vs {b.path} ({b.height}x{b.width})'
              for a, b in kept if (a.height, a.width) != (b.height, b.width)]
    if differ:
      raise DataError(f'{len(differ)} pairs have A and B of different sizes, which '
                      f"preprocess={preprocess!r} cannot line up (use 'resize_and_crop' or "
                      f'resize them):\n{_listed(differ)}')
  return kept


# ----------------------------------------------------------------------------- stream


def paired_dataset(data_cfg, *, batch_size: int, seed: int, start_step: int = 0,
                   split=None) -> tuple[tf.data.Dataset, pipelines.DatasetInfo]:
  """Infinite stream of aligned {'a', 'b'}: float32 [batch, H, W, 3] in [-1, 1].

  Args:
    data_cfg: the recipe's data section (tfi2i/schema/data.py); reads layout,
      direction, split, the source and its keys, the preprocessing keys, on_bad_image
      and num_parallel_calls.
    batch_size: pairs per batch (drop_remainder=True).
    seed: the stream (order and augmentation) is a function of it.
    start_step: first batch to yield; batch k here is batch start_step + k of
      the stream from step 0.
    split: 'train' / 'val' / 'test' (default data_cfg.split).

  Returns:
    (dataset, DatasetInfo) with n_a = n_b = epoch_size = the number of pairs.

  Raises:
    DataError: before any training, for a missing or empty set, an
      undecodable image (unless on_bad_image='skip'), an odd-width A|B image, a
      file without a partner or a bad key.
  """
  check_args(batch_size, start_step)
  batch_size, seed, start_step = int(batch_size), int(seed), int(start_step)
  split = split or data_cfg.split
  kind, swap = data_cfg.layout, data_cfg.direction == 'BtoA'
  on_error = data_cfg.on_bad_image
  if kind == 'aligned':
    aligned = sources.get(data_cfg).files(data_cfg, split, 'AB')
    folder = aligned.base
    records = _scan_aligned(aligned.description, aligned.paths, on_error)
    samples = [(r,) for r in records]  # one A|B file per sample
    sizes = [(r.height, r.width // 2) for r in records]
    desc = f'aligned A|B images in {aligned.description}'
  else:
    set_a, set_b = pair_sets(data_cfg, split)
    folder_a, folder_b = set_a.base, set_b.base
    samples = _scan_pairs(pair_files(data_cfg, split), on_error, data_cfg.preprocess)
    sizes = sorted({(r.height, r.width) for pair in samples for r in pair})
    desc = f'pairs A={folder_a} / B={folder_b}'
  n = len(samples)
  transform = transforms.get_transform(data_cfg, batch_size, sizes, name=desc)

  paths = tf.constant([[r.path for r in s] for s in samples])  # [n, files per sample]
  codecs = tf.constant([[r.codec for r in s] for s in samples], tf.int32)
  perm_key = stream_key(seed, _TAG_PERMUTATION)
  aug_key = stream_key(seed, _TAG_AUGMENT)

  def per_epoch(e):
    perm = tf.random.experimental.stateless_shuffle(
        tf.range(n, dtype=tf.int64), seed=_fold_in(perm_key, e))
    return tf.data.Dataset.from_tensor_slices(
        (tf.gather(paths, perm), tf.gather(codecs, perm), e * n + tf.range(n, dtype=tf.int64)))

  def load(path, codec, i):
    if kind == 'aligned':
      ab = transforms.decode_file(path[0], codec[0])
      w2 = tf.shape(ab)[1] // 2
      img_a, img_b = ab[:, :w2], ab[:, w2:2 * w2]
    else:
      img_a = transforms.decode_file(path[0], codec[0])
      img_b = transforms.decode_file(path[1], codec[1])
    key = _fold_in(_fold_in(aug_key, i), 0)  # one seed: same resize, crop and flip
    a, b = transform(img_a, key), transform(img_b, key)
    return {'a': b, 'b': a} if swap else {'a': a, 'b': b}

  start_epoch, offset = divmod(start_step * batch_size, n)
  ds = tf.data.Dataset.range(start_epoch, 2**62).flat_map(per_epoch).skip(offset)
  ds = ds.map(load, num_parallel_calls=parallel_calls(data_cfg), deterministic=True)
  desc = f'{desc} ({n} pairs{", BtoA" if swap else ""})'
  root = folder if kind == 'aligned' else os.path.dirname(folder_a)
  identity = {'n': n, 'files': pipelines.files_identity(
      [os.path.relpath(r.path, root) for sample in samples for r in sample])}
  info = pipelines.DatasetInfo(
      n_a=n, n_b=n, epoch_size=n, steps_per_epoch=math.ceil(n / batch_size), source=desc,
      identity=identity,
      sample_files=pipelines.sample_files_fn(per_epoch, lambda path, codec, i: path, n))
  logging.info('Data: %s; epoch %d samples = %d steps of %d.', desc, n,
               info.steps_per_epoch, batch_size)
  return finish(ds, batch_size), info
