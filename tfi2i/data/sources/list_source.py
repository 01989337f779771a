"""The list source (data.source='list'): images named in list files, for datasets that are
not laid out as folders (a selection of a large set, images spread over several disks).

data.list_a / data.list_b: a text file with one image path per line (blank lines and lines
starting with '#' are skipped), or a CSV whose first column is the path (a header row
whose first field is 'path' is skipped). A relative path is read from the list file's
folder. '{split}' in the list's name is replaced by the split: lists/{split}_a.txt reads
lists/train_a.txt for training and lists/test_a.txt for evaluation.

  'A', 'B'            list_a, list_b
  'AB'                list_a (A|B images)
  'pair_A', 'pair_B'  list_a, list_b: images pair up by their name below each list's common
                      folder, as two folders' would (A/0001.png <-> B/0001.jpg)
  'attributes'        list_a: a CSV `path,Attr1,Attr2,...` with 1 / -1 values (or CelebA's
                      list_attr_celeba.txt format)

An image's name (which pairs and identifies it) is its path below the common folder of the
list's images.
"""
import collections
import csv
import io
import os

from tfi2i.data import attribute_table
from tfi2i.data import images
from tfi2i.data.images import DataError
from tfi2i.data.sources.base import FileSet
from tfi2i.data.sources.base import Source
from tfi2i.data.sources.base import Table
from tfi2i.schema import Key

_LISTED = 10


def list_path(data_cfg, key: str, split: str) -> str:
  value = os.path.expanduser(str(data_cfg[key] or ''))
  if not value:
    raise DataError(f"data.source='list' needs data.{key}: a file listing image paths "
                    f'(--recipe.data.{key}=FILE; {{split}} in it is replaced by the split)')
  path = value.replace('{split}', split)
  if not os.path.isfile(path):
    raise DataError(f'data.{key}: no list file {path}')
  return path


def _read(path: str) -> str:
  with open(path, encoding='utf-8', errors='surrogateescape') as f:
    return f.read()


def _entries(path: str, text: str) -> list:
  """The image paths a list names, in order (relative to the list's folder)."""
  entries = []
  if ',' in text.split('\n', 1)[0]:
    for row in csv.reader(io.StringIO(text)):
      if row and row[0].strip() and not row[0].strip().startswith('#'):
        entries.append(row[0].strip())
    if entries and entries[0].lower() == 'path':
      entries = entries[1:]
  else:
    entries = [line.strip() for line in text.splitlines()
               if line.strip() and not line.strip().startswith('#')]
  if not entries:
    raise DataError(f'list file {path} names no images')
  return entries


def _resolve(path: str, entries) -> list:
  here = os.path.dirname(os.path.abspath(path))
  out = [os.path.normpath(os.path.join(here, os.path.expanduser(e))) for e in entries]
  missing = [p for p in out if not os.path.isfile(p)]
  if missing:
    shown = ', '.join(missing[:_LISTED]) + (f' ... ({len(missing) - _LISTED} more)'
                                             if len(missing) > _LISTED else '')
    raise DataError(f'{len(missing)} image(s) named in {path} do not exist: {shown}')
  others = [p for p in out if not images.is_image_file(p)]
  if others:
    raise DataError(f'{len(others)} file(s) named in {path} are not images of a kind read '
                    f'here ({", ".join(images.IMAGE_EXTENSIONS)}): {", ".join(others[:5])}')
  twice = sorted(p for p, n in collections.Counter(out).items() if n > 1)
  if twice:
    raise DataError(f'{path} names {len(twice)} image(s) twice: {", ".join(twice[:5])}')
  return out


def _base(paths) -> str:
  return os.path.commonpath([os.path.dirname(p) for p in paths])


def listed_set(path: str, paths, table=None) -> FileSet:
  base = _base(paths)
  return FileSet(list(paths), [os.path.relpath(p, base) for p in paths], base,
                 f'{len(paths)} images listed in {path}', table)


class ListSource(Source):
  """Images named in list files (see the module docstring)."""
  name = 'list'
  keys = {
      'list_a': Key('', 'list source: a file of image paths (domain A; A|B images; the '
                    'attribute CSV); {split} in it is replaced by the split'),
      'list_b': Key('', 'list source: a file of image paths (domain B; the B images of '
                    'pairs); {split} in it is replaced by the split'),
  }

  def files(self, data_cfg, split, part) -> FileSet:
    key = 'list_b' if part in ('B', 'pair_B') else 'list_a'
    path = list_path(data_cfg, key, split)
    text = _read(path)
    if part == 'attributes':
      names, files, values = attribute_table.read(path, text)
      return listed_set(path, _resolve(path, files), Table(tuple(names), values))
    if part not in ('A', 'B', 'AB', 'pair_A', 'pair_B'):
      raise self.no_part(part)
    paths = _resolve(path, _entries(path, text))
    order = sorted(range(len(paths)), key=lambda i: paths[i])
    return listed_set(path, [paths[i] for i in order])
