"""Data sources by name, as models are (tfi2i.models.MODELS): `data.source` in a recipe picks
an entry of SOURCES; `register_source` adds one (a source of your own, or a test's). What a
source is and gives: tfi2i/data/sources/base.py.
"""
from tfi2i.data.images import DataError
from tfi2i.data.sources.base import FileSet
from tfi2i.data.sources.base import PARTS
from tfi2i.data.sources.base import RecordSet
from tfi2i.data.sources.base import Source
from tfi2i.data.sources.base import Table
from tfi2i.data.sources.folder_source import FolderSource
from tfi2i.data.sources.list_source import ListSource
from tfi2i.data.sources.tfds_source import TfdsSource

SOURCES = {'folder': FolderSource(), 'tfds': TfdsSource(), 'list': ListSource()}


def register_source(source: Source, replace: bool = False) -> Source:
  """Makes `data.source=<source.name>` read from `source` (a Source instance); its `keys`
  join the data section's schema. Returns the source."""
  if not isinstance(source, Source) or not source.name:
    raise TypeError(f'register_source needs a named Source instance, got {source!r}')
  taken = SOURCES.get(source.name)
  if taken is not None and taken is not source and not replace:
    raise ValueError(f'data source name {source.name!r} is taken by {type(taken).__name__}')
  for other in SOURCES.values():
    clash = set(source.keys) & set(other.keys)
    if other.name != source.name and clash:
      raise ValueError(f'data source {source.name!r} declares keys of source {other.name!r}: '
                       f'{", ".join(sorted(clash))}')
  SOURCES[source.name] = source
  return source


def source_keys() -> dict:
  """{data key: Key} of every registered source."""
  out = {}
  for source in SOURCES.values():
    out.update(source.keys)
  return out


def get(data_cfg) -> Source:
  """The source named by the recipe's data.source."""
  name = data_cfg.source
  if name not in SOURCES:
    raise DataError(f'unknown data.source {name!r}; one of {sorted(SOURCES)}')
  return SOURCES[name]


__all__ = ['DataError', 'FileSet', 'PARTS', 'RecordSet', 'SOURCES', 'Source', 'Table', 'get',
           'register_source', 'source_keys']
