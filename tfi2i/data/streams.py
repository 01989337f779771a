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

from tfi2i.data import attributes
from tfi2i.data import images
from tfi2i.data import paired
from tfi2i.data import pipelines
from tfi2i.data import sources
from tfi2i.data import transforms
from tfi2i.data.images import DataError

# Values with fixed choices of the recipe's data section, checked before anything is read.
CHOICES = {
    'source': sources.SOURCES,
    'preprocess': transforms.PREPROCESS_MODES,
    'on_bad_image': images.ON_BAD_IMAGE,
    'layout': paired.LAYOUTS,
    'direction': paired.DIRECTIONS,
}


def check_config(data_cfg):
  """DataError naming the key for a value of the data section that is not a choice."""
  for key, choices in CHOICES.items():
    value = getattr(data_cfg, key, None)
    if value is not None and value not in choices:
      raise DataError(f'recipe key data.{key} is {value!r}; expected one of {choices}')


@dataclasses.dataclass
class EvalData:
  """The inputs of one split, loaded on demand.

  Attributes:
    names: one name per input (file path below its folder).
    load: i -> (A uint8 HxWx3, ground truth B uint8 or None).
    real_b: paths of the real B images for realism when they are not the inputs' B
      (unpaired data); None when the ground truth B's are the real set.
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


@dataclasses.dataclass(frozen=True)
class Stream:
  """train(data_cfg, *, batch_size, seed, start_step=0, split=None) -> (tf.data.Dataset,
  pipelines.DatasetInfo): the resumable training stream; evaluation(data_cfg, split) ->
  EvalData: the inputs (and ground truth) of a split, in sorted file order."""
  name: str
  train: Callable
  evaluation: Callable


def _swap_order(data_cfg):
  swap = paired.direction(data_cfg) == 'BtoA'
  order = (lambda a, b: (b, a)) if swap else (lambda a, b: (a, b))
  return order, ' (BtoA: A and B swapped)' if swap else ''


def _folder_source(data_cfg):
  source = getattr(data_cfg, 'source', 'folder') or 'folder'
  if source != 'folder':
    raise DataError(f"evaluation reads image folders (data.source='folder'), got {source!r}")


def _unpaired_train(data_cfg, **kwargs):
  ds, info = pipelines.unpaired_dataset(data_cfg, **kwargs)
  if paired.direction(data_cfg) == 'BtoA':
    ds = ds.map(lambda x: {'a': x['b'], 'b': x['a']})
    # (the identity and the sample files are kept: a resume is checked as for AtoB)
    info = dataclasses.replace(info, n_a=info.n_b, n_b=info.n_a,
                               source=f'{info.source} (BtoA: a <- B, b <- A)')
  return ds, info


def _unpaired_evaluation(data_cfg, split) -> EvalData:
  """Inputs from {split}A, real images from {split}B; ground truth when every input has a
  file of the same name in {split}B (as the demo tiles)."""
  _folder_source(data_cfg)
  order, suffix = _swap_order(data_cfg)
  folder_a, folder_b = order(*sources.domain_folders(data_cfg, split))
  paths_a, paths_b = images.list_images(folder_a), images.list_images(folder_b)
  stem = lambda p, folder: os.path.splitext(os.path.relpath(p, folder))[0]
  by_stem = {stem(p, folder_b): p for p in paths_b}
  partners = [by_stem.get(stem(p, folder_a)) for p in paths_a]
  if not all(partners):
    partners = [None] * len(paths_a)
  load = lambda i: (images.load_image(paths_a[i]),
                    None if partners[i] is None else images.load_image(partners[i]))
  kind = 'paired by name' if partners and partners[0] else 'unpaired'
  return EvalData([os.path.relpath(p, folder_a) for p in paths_a], load, paths_b,
                  f'inputs {folder_a} ({len(paths_a)}), real {folder_b} ({len(paths_b)}), '
                  f'{kind}{suffix}')


def _halves(path):
  ab = images.load_image(path)
  if ab.shape[1] % 2:
    raise DataError(f'{path}: {ab.shape[1]}x{ab.shape[0]} is an odd width; an A|B image '
                    'must split into two equal halves')
  w2 = ab.shape[1] // 2
  return ab[:, :w2], ab[:, w2:]


def _paired_evaluation(data_cfg, split) -> EvalData:
  """The recipe's data.layout ('aligned': ROOT/{split}/ A|B images; 'folders'), ground
  truth B for every input."""
  _folder_source(data_cfg)
  order, suffix = _swap_order(data_cfg)
  if paired.layout(data_cfg) == 'aligned':
    folder = paired.aligned_folder(data_cfg, split)
    paths = images.list_images(folder)
    return EvalData([os.path.relpath(p, folder) for p in paths],
                    lambda i: order(*_halves(paths[i])), None,
                    f'aligned A|B images in {folder}{suffix}')
  pairs = paired.pair_files(data_cfg, split)
  folder_a, folder_b = paired.pair_folders(data_cfg, split)
  return EvalData([os.path.relpath(a, folder_a) for a, _ in pairs],
                  lambda i: order(*(images.load_image(p) for p in pairs[i])), None,
                  f'pairs A={folder_a} / B={folder_b}{suffix}')


def _attribute_evaluation(data_cfg, split) -> EvalData:
  """The split's images (StarGAN's held-out test images for 'test') with their attribute
  vectors; no ground truth (an edit has none)."""
  _folder_source(data_cfg)
  data = attributes.folder_split(data_cfg, split)
  return EvalData([os.path.relpath(p, data.folder) for p in data.paths],
                  lambda i: (images.load_image(data.paths[i]), None), list(data.paths),
                  f'{data.folder} with {os.path.basename(data.attr_file)} '
                  f'({len(data.paths)} {split} images)', data.labels, data.names,
                  attributes.mask_paths(data_cfg, data))


STREAMS = {
    'unpaired': Stream('unpaired', _unpaired_train, _unpaired_evaluation),
    'paired': Stream('paired', paired.paired_dataset, _paired_evaluation),
    'attributes': Stream('attributes', attributes.attribute_dataset, _attribute_evaluation),
}


def stream(name: str) -> Stream:
  if name not in STREAMS:
    raise DataError(f'unknown data stream {name!r}; one of {sorted(STREAMS)}')
  return STREAMS[name]
