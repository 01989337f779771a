"""The folder source (data.source='folder'): image folders in the official layouts.

  'A', 'B'            ROOT/{split}A, ROOT/{split}B (junyanz/pytorch-CycleGAN-and-pix2pix
                      unaligned_dataset.py), or data.dir_a / data.dir_b
  'AB'                ROOT/{split}/ of A|B images (aligned_dataset.py)
  'pair_A', 'pair_B'  data.dir_a / data.dir_b, else the first of ROOT/A/{split} +
                      ROOT/B/{split} (combine_A_and_B.py's input), ROOT/{split}/A +
                      ROOT/{split}/B, ROOT/A + ROOT/B (no split folders: 'train' only)
  'attributes'        CelebA's convention: ROOT/list_attr_celeba.txt and
                      ROOT/img_align_celeba/ (or the images directly in ROOT);
                      data.attr_file / data.images_dir point elsewhere
"""
import os

from tfi2i.data import attribute_table
from tfi2i.data import images
from tfi2i.data.images import DataError
from tfi2i.data.sources.base import FileSet
from tfi2i.data.sources.base import Source
from tfi2i.data.sources.base import Table
from tfi2i.schema import Key

IMAGES_DIR = 'img_align_celeba'
_SPLIT_NAMES = ('train', 'val', 'test')


def _path(value) -> str:
  return os.path.expanduser(str(value or ''))


def _root(data_cfg, what: str) -> str:
  root = _path(data_cfg.root)
  if not root:
    raise DataError(f'no data folder: data.root is empty (set --recipe.data.root=DIR, {what})')
  if not os.path.isdir(root):
    raise DataError(f'data.root does not exist: {root} (set --recipe.data.root=DIR, {what})')
  return root


def file_set(folder: str, description: str = '') -> FileSet:
  paths = images.list_images(folder)
  return FileSet(paths, [os.path.relpath(p, folder) for p in paths], folder,
                 description or folder)


def domain_folders(data_cfg, split) -> tuple[str, str]:
  """(folder A, folder B): dir_a / dir_b when set, else ROOT/{split}A, ROOT/{split}B."""
  folders = []
  for domain in ('a', 'b'):
    explicit = _path(data_cfg[f'dir_{domain}'])
    if explicit:
      folders.append(explicit)
      continue
    root = _root(data_cfg, f'a folder with {split}A/ and {split}B/, or data.dir_a and '
                           'data.dir_b')
    folders.append(os.path.join(root, f'{split}{domain.upper()}'))
  return folders[0], folders[1]


def aligned_folder(data_cfg, split) -> str:
  """ROOT/{split}: the folder of A|B images of the 'aligned' layout."""
  if _path(data_cfg.dir_a) or _path(data_cfg.dir_b):
    raise DataError("data.dir_a / data.dir_b are for data.layout='folders' (two folders "
                    "that pair by file name); data.layout='aligned' reads data.root/"
                    f'{split}/ (set --recipe.data.layout=folders to use them)')
  root = _root(data_cfg, f'a folder with {split}/ of A|B images side by side')
  folder = os.path.join(root, split)
  if not os.path.isdir(folder):
    hint = ''
    if os.path.isdir(os.path.join(root, 'A')) or os.path.isdir(os.path.join(root, 'B')):
      hint = " (it has A/ and B/: for separate A and B images set data.layout='folders')"
    raise DataError(f'{split} folder of A|B images does not exist: {folder}{hint}')
  if os.path.isdir(os.path.join(folder, 'A')) and os.path.isdir(os.path.join(folder, 'B')):
    raise DataError(f"{folder} holds A/ and B/ folders: set data.layout='folders' for "
                    "separate A and B images ('aligned' expects A|B images side by side)")
  return folder


def pair_folders(data_cfg, split) -> tuple[str, str]:
  """(folder A, folder B) of the 'folders' layout (see the module docstring)."""
  dir_a, dir_b = _path(data_cfg.dir_a), _path(data_cfg.dir_b)
  if dir_a and dir_b:
    return dir_a, dir_b
  root = _root(data_cfg, f'a folder with A/{split}/ and B/{split}/, or set data.dir_a and '
                         'data.dir_b')
  candidates = [(os.path.join(root, 'A', split), os.path.join(root, 'B', split)),
                (os.path.join(root, split, 'A'), os.path.join(root, split, 'B'))]
  flat = (os.path.join(root, 'A'), os.path.join(root, 'B'))
  if split == 'train':
    # Without split folders, ROOT/A and ROOT/B are the training set; not when they
    # hold split folders (another split's images would be trained on).
    if not any(os.path.isdir(os.path.join(d, s)) for d in flat for s in _SPLIT_NAMES):
      candidates.append(flat)
  found = None
  for a, b in candidates:
    a, b = dir_a or a, dir_b or b
    from_root = [x for x, given in ((a, dir_a), (b, dir_b)) if not given]
    if any(os.path.isdir(x) for x in from_root):
      found = (a, b)
      break
  if found is None:
    looked = ', '.join(f'{dir_a or a} + {dir_b or b}' for a, b in candidates)
    raise DataError(f"no A/B folders for split {split!r} (data.layout='folders'); looked "
                    f'for {looked}; or set data.dir_a and data.dir_b')
  for side, folder, other in (('A', found[0], found[1]), ('B', found[1], found[0])):
    if not os.path.isdir(folder):
      raise DataError(f'folder of the {side} images does not exist: {folder} '
                      f'(its partner folder is {other})')
  return found


def attribute_paths(data_cfg) -> tuple[str, str]:
  """(images folder, attribute file) of CelebA's convention."""
  attr_file, folder = _path(data_cfg.attr_file), _path(data_cfg.images_dir)
  if not (attr_file and folder):
    root = _root(data_cfg, f'a folder with {attribute_table.ATTR_FILE} and {IMAGES_DIR}/, '
                           'or data.attr_file and data.images_dir')
    attr_file = attr_file or os.path.join(root, attribute_table.ATTR_FILE)
    if not folder:
      nested = os.path.join(root, IMAGES_DIR)
      folder = nested if os.path.isdir(nested) else root
  return folder, attr_file


def attribute_set(data_cfg) -> FileSet:
  """Every image of the attribute folder with its row of the attribute file; a row without
  an image or an image without a row is a DataError listing them."""
  folder, attr_file = attribute_paths(data_cfg)
  names, files, values = attribute_table.read_file(attr_file)
  on_disk = {os.path.relpath(p, folder).replace(os.sep, '/'): p
             for p in images.list_images(folder)}
  no_file = [f for f in files if f not in on_disk]
  if no_file:
    raise DataError(f'{len(no_file)} row(s) of {attr_file} name no image in {folder}: '
                    f'{attribute_table.names_list(no_file)}')
  listed = set(files)
  no_row = sorted(k for k in on_disk if k not in listed)
  if no_row:
    raise DataError(f'{len(no_row)} image(s) in {folder} have no row in {attr_file}: '
                    f'{attribute_table.names_list(no_row)}')
  paths = [on_disk[f] for f in files]
  return FileSet(paths, [os.path.relpath(p, folder) for p in paths], folder,
                 f'{folder} with {os.path.basename(attr_file)}', Table(tuple(names), values))


class FolderSource(Source):
  """Image folders (see the module docstring)."""
  name = 'folder'
  keys = {
      'root': Key('', 'the data folder, in the official layout of the stream (ROOT/trainA, '
                  'ROOT/train/, ...)'),
      'dir_a': Key('', 'domain A (or the A images of pairs) in any folder; overrides root'),
      'dir_b': Key('', 'domain B (or the B images of pairs) in any folder; overrides root'),
  }

  def files(self, data_cfg, split, part) -> FileSet:
    if part in ('A', 'B'):
      folder = domain_folders(data_cfg, split)['AB'.index(part)]
      return file_set(folder)
    if part == 'AB':
      return file_set(aligned_folder(data_cfg, split))
    if part in ('pair_A', 'pair_B'):
      return file_set(pair_folders(data_cfg, split)[part == 'pair_B'])
    if part == 'attributes':
      return attribute_set(data_cfg)
    raise self.no_part(part)
