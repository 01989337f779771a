"""The data streams a model can ask for (its `data_stream`): how it is trained and how it
is evaluated, one entry per kind of data. A new kind of data (e.g. images with attribute
vectors) is a new Stream here; the loop and tfi2i.evaluate only look streams up.

  unpaired  {'a', 'b'} from two independently shuffled domains (pipelines.unpaired_dataset)
  paired    {'a', 'b'} aligned pairs (paired.paired_dataset)
  attributes  {'image', 'attributes'}: images with binary attribute vectors (attributes.py)

data.direction='BtoA' swaps a and b for both, like the official --direction.
"""
import dataclasses
import os
from typing import Callable, Optional

import numpy as np

from tfi2i.data import attributes
from tfi2i.data import images
from tfi2i.data import paired
from tfi2i.data import pipelines
from tfi2i.data import sources
from tfi2i.data import transforms
from tfi2i.data.images import DataError

# Records of a source of records (TFDS) read into memory for an evaluation, at most.
MAX_EVAL_RECORDS = 20_000


@dataclasses.dataclass
class EvalData:
  """The inputs of one split, loaded on demand.

  Attributes:
    names: one name per input (file path below its folder).
    load: i -> (A uint8 HxWx3, ground truth B uint8 or None).
    real_b: the real B images for realism when they are not the inputs' B (unpaired
      data), each read by `load_real` (paths; encoded bytes from a source of records);
      None when the ground truth B's are the real set.
    description: where the data comes from.
    attributes: attribute data only: float32 [n, k] in {0, 1}, the inputs' attributes.
    attribute_names: their names (k).
    masks: attribute data only: {attribute: [mask path or None per input]} for the
      attributes with region masks (attributes.mask_paths); {} without.
  """
  names: list
  load: Callable
  real_b: Optional[list]
  description: str
  attributes: Optional[object] = None
  attribute_names: tuple = ()
  masks: dict = dataclasses.field(default_factory=dict)
  load_real: Callable = images.load_image


@dataclasses.dataclass(frozen=True)
class Stream:
  """train(data_cfg, *, batch_size, seed, start_step=0, split=None) -> (tf.data.Dataset,
  pipelines.DatasetInfo): the resumable training stream; evaluation(data_cfg, split) ->
  EvalData: the inputs (and ground truth) of a split, in sorted file order."""
  name: str
  train: Callable
  evaluation: Callable


def _swap_order(data_cfg):
  swap = data_cfg.direction == 'BtoA'
  order = (lambda a, b: (b, a)) if swap else (lambda a, b: (a, b))
  return order, ' (BtoA: A and B swapped)' if swap else ''


def _record_images(records, what: str) -> list:
  """The encoded images of a RecordSet, in order (for evaluation: random access)."""
  if records.count > MAX_EVAL_RECORDS:
    raise DataError(f'{records.description}: {records.count} records is more than the '
                    f'{MAX_EVAL_RECORDS} an evaluation reads into memory ({what}); use '
                    '--max_inputs or a source of files')
  return [ex['image'] for ex in records.dataset.as_numpy_iterator()]


def _decode(raw: bytes):
  return np.asarray(transforms.decode_bytes(raw), np.uint8)


def _unpaired_train(data_cfg, **kwargs):
  ds, info = pipelines.unpaired_dataset(data_cfg, **kwargs)
  if data_cfg.direction == 'BtoA':
    ds = ds.map(lambda x: {'a': x['b'], 'b': x['a']})
    # (the identity and the sample files are kept: a resume is checked as for AtoB)
    info = dataclasses.replace(info, n_a=info.n_b, n_b=info.n_a,
                               source=f'{info.source} (BtoA: a <- B, b <- A)')
  return ds, info


def _unpaired_evaluation(data_cfg, split) -> EvalData:
  """Inputs from part A, real images from part B; ground truth when every input has a
  file of the same name in B (as the demo tiles)."""
  order, suffix = _swap_order(data_cfg)
  source = sources.get(data_cfg)
  if not source.gives_files:
    return _unpaired_record_evaluation(source, data_cfg, split, order, suffix)
  set_a, set_b = order(source.files(data_cfg, split, 'A'), source.files(data_cfg, split, 'B'))
  stem = lambda name: os.path.splitext(name)[0]
  by_stem = {stem(n): p for n, p in zip(set_b.names, set_b.paths)}
  partners = [by_stem.get(stem(n)) for n in set_a.names]
  if not all(partners):
    partners = [None] * len(set_a.paths)
  paths_a = set_a.paths
  load = lambda i: (images.load_image(paths_a[i]),
                    None if partners[i] is None else images.load_image(partners[i]))
  kind = 'paired by name' if partners and partners[0] else 'unpaired'
  return EvalData(list(set_a.names), load, list(set_b.paths),
                  f'inputs {set_a.description} ({len(paths_a)}), real {set_b.description} '
                  f'({len(set_b.paths)}), {kind}{suffix}')


def _unpaired_record_evaluation(source, data_cfg, split, order, suffix) -> EvalData:
  """The same from a source of records: inputs and real images decoded from memory (no
  ground truth: records have no names to pair)."""
  rec_a, rec_b = order(source.records(data_cfg, split, 'A'),
                       source.records(data_cfg, split, 'B'))
  raw_a = _record_images(rec_a, 'inputs')
  names = [f'{i:06d}.png' for i in range(len(raw_a))]
  return EvalData(names, lambda i: (_decode(raw_a[i]), None),
                  _record_images(rec_b, 'real images'),
                  f'inputs {rec_a.description}, real {rec_b.description}, unpaired{suffix}',
                  load_real=_decode)


def _halves(path):
  ab = images.load_image(path)
  if ab.shape[1] % 2:
    raise DataError(f'{path}: {ab.shape[1]}x{ab.shape[0]} is an odd width; an A|B image '
                    'must split into two equal halves')
  w2 = ab.shape[1] // 2
  return ab[:, :w2], ab[:, w2:]


def _paired_evaluation(data_cfg, split) -> EvalData:
  """The recipe's data.layout ('aligned': A|B images; 'folders'), ground truth B for every
  input."""
  order, suffix = _swap_order(data_cfg)
  if data_cfg.layout == 'aligned':
    aligned = sources.get(data_cfg).files(data_cfg, split, 'AB')
    paths = aligned.paths
    return EvalData(list(aligned.names), lambda i: order(*_halves(paths[i])), None,
                    f'aligned A|B images in {aligned.description}{suffix}')
  pairs = paired.pair_files(data_cfg, split)
  set_a, set_b = paired.pair_sets(data_cfg, split)
  return EvalData([os.path.relpath(a, set_a.base) for a, _ in pairs],
                  lambda i: order(*(images.load_image(p) for p in pairs[i])), None,
                  f'pairs A={set_a.description} / B={set_b.description}{suffix}')


def _attribute_evaluation(data_cfg, split) -> EvalData:
  """The split's images (StarGAN's held-out test images for 'test') with their attribute
  vectors; no ground truth (an edit has none)."""
  source = sources.get(data_cfg)
  if not source.gives_files:
    return _attribute_record_evaluation(source, data_cfg, split)
  data = attributes.split_set(data_cfg, split)
  return EvalData([os.path.relpath(p, data.folder) for p in data.paths],
                  lambda i: (images.load_image(data.paths[i]), None), list(data.paths),
                  f'{data.description} ({len(data.paths)} {split} images)', data.labels,
                  data.names, attributes.mask_paths(data_cfg, data))


def _attribute_record_evaluation(source, data_cfg, split) -> EvalData:
  records = source.records(data_cfg, split, 'attributes')
  wanted = tuple(str(w) for w in data_cfg.attributes)
  attributes.select_attributes(records.attribute_names,
                               np.zeros([0, len(records.attribute_names)]), wanted,
                               records.description)
  if records.count > MAX_EVAL_RECORDS:
    _record_images(records, 'inputs')  # the error
  raw, labels = [], []
  for ex in records.dataset.as_numpy_iterator():
    raw.append(ex['image'])
    labels.append([float(bool(ex['attributes'][w])) for w in wanted])
  labels = np.asarray(labels, np.float32).reshape(len(raw), len(wanted))
  return EvalData([f'{i:06d}.png' for i in range(len(raw))], lambda i: (_decode(raw[i]), None),
                  raw, records.description, labels, wanted, load_real=_decode)


STREAMS = {
    'unpaired': Stream('unpaired', _unpaired_train, _unpaired_evaluation),
    'paired': Stream('paired', paired.paired_dataset, _paired_evaluation),
    'attributes': Stream('attributes', attributes.attribute_dataset, _attribute_evaluation),
}


def stream(name: str) -> Stream:
  if name not in STREAMS:
    raise DataError(f'unknown data stream {name!r}; one of {sorted(STREAMS)}')
  return STREAMS[name]
