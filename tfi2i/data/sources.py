"""Where the two domains come from: image folders or a TFDS dataset."""
import os

from tfi2i.data import images
from tfi2i.data.images import DataError

SOURCES = ('folder', 'tfds')


def _cfg(data_cfg, key, default=''):
  value = getattr(data_cfg, key, default)
  return default if value is None else value


def pick(data_cfg, folder, tfds):
  """`folder` or `tfds` by the recipe's data.source (default 'folder'); DataError otherwise."""
  source = _cfg(data_cfg, 'source', 'folder') or 'folder'
  if source not in SOURCES:
    raise DataError(f'unknown data.source {source!r}; one of {SOURCES}')
  return folder if source == 'folder' else tfds


def domain_folders(data_cfg, split=None) -> tuple[str, str]:
  """(folder A, folder B): dir_a / dir_b when set, else ROOT/{split}A, ROOT/{split}B."""
  split = split or _cfg(data_cfg, 'split', 'train')
  root = os.path.expanduser(str(_cfg(data_cfg, 'root')))
  folders = []
  for domain in ('a', 'b'):
    explicit = str(_cfg(data_cfg, f'dir_{domain}'))
    if explicit:
      folders.append(os.path.expanduser(explicit))
      continue
    if not root:
      raise DataError(f'no data folder: data.root is empty (set --recipe.data.root=DIR, '
                      f'a folder with {split}A/ and {split}B/, or data.dir_a and data.dir_b)')
    if not os.path.isdir(root):
      raise DataError(f'data.root does not exist: {root} (set --recipe.data.root=DIR, '
                      f'a folder with {split}A/ and {split}B/)')
    folders.append(os.path.join(root, f'{split}{domain.upper()}'))
  return folders[0], folders[1]


def domain_files(data_cfg, split=None) -> tuple[list[str], list[str]]:
  """Sorted image paths of domain A and domain B (folder source)."""
  source = _cfg(data_cfg, 'source', 'folder')
  if source != 'folder':
    raise DataError(f"domain_files needs data.source='folder', got {source!r}")
  folder_a, folder_b = domain_folders(data_cfg, split)
  return images.list_images(folder_a), images.list_images(folder_b)


def tfds_splits(data_cfg, split=None) -> tuple[str, str]:
  split = split or _cfg(data_cfg, 'split', 'train')
  return f'{split}A', f'{split}B'


def load_tfds(data_cfg, split=None):
  """(ds_a, ds_b, n_a, n_b) of encoded images (tf.string) from tfds.load.

  Images are not decoded here (SkipDecoding), so skipping ahead on resume
  only reads records.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  name = str(_cfg(data_cfg, 'tfds_name'))
  if not name:
    raise DataError("data.source='tfds' needs data.tfds_name, e.g. "
                    "--recipe.data.tfds_name=cycle_gan/horse2zebra")
  data_dir = str(_cfg(data_cfg, 'tfds_data_dir')) or None
  splits = tfds_splits(data_cfg, split)
  try:
    (ds_a, ds_b), info = tfds.load(
        name, split=list(splits), data_dir=data_dir, shuffle_files=False,
        with_info=True, decoders={'image': tfds.decode.SkipDecoding()})
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(f'cannot load TFDS dataset {name} splits {splits} '
                    f'(data_dir={data_dir}): {type(e).__name__}: {e}') from e
  if 'image' not in ds_a.element_spec:
    raise DataError(f"TFDS dataset {name} has no 'image' feature")
  sizes = []
  for s, ds in zip(splits, (ds_a, ds_b)):
    try:
      n = int(info.splits[s].num_examples)
    except (KeyError, ValueError, TypeError):  # e.g. tfds.testing.mock_data
      n = -1
    if n < 0:
      n = int(ds.cardinality())
    if n < 0:  # unknown: count the records
      n = int(ds.reduce(0, lambda c, _: c + 1))
    if n == 0:
      raise DataError(f'TFDS dataset {name} split {s} is empty')
    sizes.append(n)
  return (ds_a.map(lambda ex: ex['image']), ds_b.map(lambda ex: ex['image']),
          sizes[0], sizes[1])
