"""Attribute tables: which binary attributes each image has, read from a file.

Two formats:
  CelebA's list_attr_celeba.txt   line 1: the number of rows; line 2: the attribute names;
                                  then `filename v1 v2 ...` with 1 (has it) / -1 (not)
  a CSV with a header             `path,Attr1,Attr2,...`, then a row per image with 1 / -1
0 is read as -1 in both (files written 0/1).
"""
import csv
import io
import os
import random

from absl import logging
import numpy as np

from tfi2i.data.images import DataError

ATTR_FILE = 'list_attr_celeba.txt'  # CelebA's name, the folder source's default
_LISTED = 10


def names_list(names) -> str:
  names = list(names)
  shown = ', '.join(names[:_LISTED])
  more = len(names) - _LISTED
  return shown + (f' ... ({more} more)' if more > 0 else '')


def _values(path, number, fields, n, line):
  if len(fields) != n + 1:
    raise DataError(f'{path}, line {number}: expected a file name and {n} values, '
                    f'got {len(fields)} fields')
  try:
    values = [int(v) for v in fields[1:]]
  except ValueError:
    raise DataError(f'{path}, line {number}: attribute values must be 1 or -1 '
                    f'(or 0), got {line[:80]!r}') from None
  if any(v not in (-1, 0, 1) for v in values):
    raise DataError(f'{path}, line {number}: attribute values must be 1 or -1 (or 0), '
                    f'got {sorted(set(values) - {-1, 0, 1})}')
  return values


def _finish(path, names, files, rows):
  if len(set(names)) != len(names):
    twice = sorted({n for n in names if names.count(n) > 1})
    raise DataError(f'{path}: attribute names given twice: {", ".join(twice)}')
  if len(set(files)) != len(files):
    seen, twice = set(), []
    for f in files:
      (twice.append(f) if f in seen else seen.add(f))
    raise DataError(f'{path}: {len(twice)} file(s) have more than one row: {names_list(twice)}')
  values = np.asarray(rows, np.int8).reshape(len(files), len(names))
  return list(names), files, np.where(values > 0, 1, -1).astype(np.int8)


def parse_celeba(path: str, text: str):
  """(attribute names, file names, values int8 [rows, attributes] in {-1, 1}) of a file in
  CelebA's list_attr_celeba.txt format."""
  lines = [line.strip() for line in text.splitlines()]
  while lines and not lines[-1]:
    lines.pop()
  if len(lines) < 2:
    raise DataError(f'{path}: an attribute file needs a count line and a line of attribute '
                    f'names, got {len(lines)} line(s)')
  try:
    count = int(lines[0].split()[0])
  except (ValueError, IndexError):
    raise DataError(f'{path}, line 1: expected the number of rows, got {lines[0][:80]!r}') from None
  names = lines[1].split()
  if not names:
    raise DataError(f'{path}, line 2: expected the attribute names, got an empty line')
  files, rows = [], []
  for number, line in enumerate(lines[2:], start=3):
    if line:
      fields = line.split()
      rows.append(_values(path, number, fields, len(names), line))
      files.append(fields[0])
  if len(files) != count:
    logging.warning('%s: line 1 says %d rows, the file has %d', path, count, len(files))
  return _finish(path, names, files, rows)


def parse_csv(path: str, text: str):
  """The same from a CSV whose header is `path,Attr1,Attr2,...`."""
  reader = csv.reader(io.StringIO(text))
  rows_in = [(i, r) for i, r in enumerate(reader, start=1) if any(f.strip() for f in r)]
  if not rows_in:
    raise DataError(f'{path}: empty attribute table (expected a header path,Attr1,...)')
  header = [f.strip() for f in rows_in[0][1]]
  names = header[1:]
  if not names:
    raise DataError(f'{path}, line {rows_in[0][0]}: expected a header path,Attr1,Attr2,...; '
                    f'got {",".join(header)[:80]!r}')
  files, rows = [], []
  for number, fields in rows_in[1:]:
    fields = [f.strip() for f in fields]
    rows.append(_values(path, number, fields, len(names), ','.join(fields)))
    files.append(fields[0])
  return _finish(path, names, files, rows)


def read(path: str, text: str):
  """A table in either format: a first line with a comma is a CSV header."""
  first = text.lstrip().split('\n', 1)[0]
  return parse_csv(path, text) if ',' in first else parse_celeba(path, text)


def read_file(path: str):
  """`read` of a local file; DataError when it is missing."""
  if not os.path.isfile(path):
    raise DataError(f'no attribute file at {path} (a CelebA-style {ATTR_FILE} or a CSV '
                    'path,Attr1,...; set --recipe.data.attr_file=FILE)')
  with open(path, encoding='utf-8', errors='replace') as f:
    return read(path, f.read())


def split_order(n: int, split_seed) -> list:
  """The rows 0..n-1 in the test split's order (StarGAN's: shuffled with Python's
  random.Random(split_seed)); tfi2i.data.attributes holds out the first data.test_count."""
  order = list(range(n))
  random.Random(int(split_seed)).shuffle(order)
  return order
