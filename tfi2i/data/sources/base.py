"""What a data source is: the contract every source (tfi2i.data.sources.SOURCES) keeps, and
what it hands to the streams.

A source answers, for a split ('train', 'test', ...) and a part, with the images of that
part. The parts are the streams' vocabulary, not a source's:

  'A', 'B'            the two domains of unpaired data (unpaired stream, its evaluation)
  'AB'                images holding A on the left half and B on the right (paired,
                      data.layout='aligned')
  'pair_A', 'pair_B'  two sets whose images pair up by name (paired, data.layout='folders')
  'attributes'        images with a table of binary attributes, the whole set (the
                      attributes stream splits it)

A source that reads files returns a FileSet (paths, and each image's name below its set's
base folder, which pairs images and identifies the set on resume); the streams check,
decode, shuffle and batch them the same whatever the source. A source of encoded records
(TFDS) returns a RecordSet. A new source is a subclass in one file, registered with one line
(SOURCES in tfi2i/data/sources/__init__.py, or `register_source` from your own code); the
recipe keys it reads are its `keys`, added to the data section's schema
(tfi2i/schema/data.py).
"""
import dataclasses
from typing import Optional

from tfi2i.data.images import DataError

PARTS = {'A': 'domain A of unpaired data', 'B': 'domain B of unpaired data',
         'AB': "A|B images of paired data (data.layout='aligned')",
         'pair_A': "the A images of pairs (data.layout='folders')",
         'pair_B': "the B images of pairs (data.layout='folders')",
         'attributes': 'images with an attribute table (the attribute editors)'}


@dataclasses.dataclass(frozen=True)
class Table:
  """Binary attributes of a FileSet's images: `names` (every attribute the source has) and
  `values`, int8 [images, attributes] in {-1, 1}, one row per path, in order."""
  names: tuple
  values: object


@dataclasses.dataclass(frozen=True)
class FileSet:
  """Image files of one part of a split, sorted by name.

  paths: the files; names: each one's name below `base` (os.path.relpath(path, base)),
  which pairs images across sets and identifies the set on resume; description: where
  they come from, for messages; table: the 'attributes' part's attribute table.
  """
  paths: list
  names: list
  base: str
  description: str
  table: Optional[Table] = None

  def __post_init__(self):
    if len(self.paths) != len(self.names):
      raise ValueError('a FileSet needs one name per path')


@dataclasses.dataclass(frozen=True)
class RecordSet:
  """Encoded images of one part of a split, as a tf.data.Dataset of dicts {'image': encoded
  bytes (tf.string)[, 'attributes': {name: bool tensor}]} in a fixed order; `count`
  records; `identity`: a text naming the set (for the resume check)."""
  dataset: object
  count: int
  description: str
  identity: str
  attribute_names: tuple = ()


class Source:
  """A source of images. Subclasses set `name`, `keys` ({data key: tfi2i.schema.Key}: the
  recipe keys it reads, in the recipe's data section) and implement `files` (a source of
  files) or `records` (a source of encoded records)."""
  name = ''
  keys: dict = {}

  def files(self, data_cfg, split: str, part: str) -> FileSet:
    raise DataError(f'data.source={self.name!r} gives encoded records, not files: this '
                    'stream or command needs image files (data.source=folder or list)')

  def records(self, data_cfg, split: str, part: str) -> RecordSet:
    raise self.no_part(part)

  def no_part(self, part: str) -> DataError:
    """The error for a part this source does not have."""
    return DataError(f'data.source={self.name!r} has no {part!r} images '
                     f'({PARTS.get(part, "an unknown part")}) for this stream')

  @property
  def gives_files(self) -> bool:
    return type(self).files is not Source.files
