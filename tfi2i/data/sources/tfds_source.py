"""The TFDS source (data.source='tfds'): a dataset of tensorflow_datasets, read with
tfds.load, images kept encoded (SkipDecoding) so that skipping ahead on resume reads
records without decoding them.

  'A', 'B'      splits {split}A / {split}B (cycle_gan/horse2zebra's trainA, trainB, testA,
                testB)
  'attributes'  the dataset's own train / validation / test split, with its 'attributes'
                feature (celeb_a)
"""
from tfi2i.data.images import DataError
from tfi2i.data.sources.base import RecordSet
from tfi2i.data.sources.base import Source
from tfi2i.schema import Key

_ATTRIBUTE_SPLITS = ('train', 'validation', 'test')


def _load(data_cfg, split_name):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  (slow import)
  name = str(data_cfg.tfds_name)
  if not name:
    raise DataError("data.source='tfds' needs data.tfds_name, e.g. "
                    "--recipe.data.tfds_name=cycle_gan/horse2zebra")
  data_dir = str(data_cfg.tfds_data_dir) or None
  try:
    ds, info = tfds.load(name, split=split_name, data_dir=data_dir, shuffle_files=False,
                         with_info=True, decoders={'image': tfds.decode.SkipDecoding()})
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(f'cannot load TFDS dataset {name} split {split_name} '
                    f'(data_dir={data_dir}): {type(e).__name__}: {e}') from e
  if 'image' not in ds.element_spec:
    raise DataError(f"TFDS dataset {name} has no 'image' feature")
  try:
    n = int(info.splits[split_name].num_examples)
  except (KeyError, ValueError, TypeError):  # e.g. tfds.testing.mock_data
    n = -1
  if n <= 0:
    n = int(ds.cardinality())
  if n < 0:  # unknown: count the records
    n = int(ds.reduce(0, lambda c, _: c + 1))
  if n == 0:
    raise DataError(f'TFDS dataset {name} split {split_name} is empty')
  return ds, n, name


class TfdsSource(Source):
  """tensorflow_datasets (see the module docstring)."""
  name = 'tfds'
  keys = {
      'tfds_name': Key('', "a TFDS dataset name, e.g. 'cycle_gan/horse2zebra' (splits "
                       'trainA/trainB/testA/testB) or celeb_a'),
      'tfds_data_dir': Key('', "tfds.load's data_dir ('' = TFDS' default)"),
  }

  def records(self, data_cfg, split, part) -> RecordSet:
    if part in ('A', 'B'):
      split_name = f'{split}{part}'
      ds, n, name = _load(data_cfg, split_name)
      return RecordSet(ds.map(lambda ex: {'image': ex['image']}), n,
                       f'TFDS dataset {name} {split_name} ({n})', f'{name} {split_name}')
    if part == 'attributes':
      if split not in _ATTRIBUTE_SPLITS:
        raise DataError(f'data.split must be one of {sorted(_ATTRIBUTE_SPLITS)}, '
                        f'got {split!r}')
      ds, n, name = _load(data_cfg, split)
      spec = ds.element_spec
      if 'attributes' not in spec:
        raise DataError(f"TFDS dataset {name} has no 'image' and 'attributes' features")
      ds = ds.map(lambda ex: {'image': ex['image'], 'attributes': ex['attributes']})
      return RecordSet(ds, n, f'TFDS dataset {name} {split} ({n} images)', f'{name} {split}',
                       tuple(sorted(spec['attributes'])))
    raise self.no_part(part)
