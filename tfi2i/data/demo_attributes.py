"""Attribute demo data: the bundled Earth tiles with three local attributes of known region.

  python -m tfi2i.data.demo_attributes --out=data/demo_attributes [--source=data/demo]
      [--orientations=8 --out=data/demo_attributes_x8]

A small attribute-editing task in the CelebA convention (tfi2i.data.attributes) on which
masked PSNR is exact: no face data with parser masks can be had here, so each attribute
is an edit of a fixed region of a real photo (the day tiles of tfi2i.data.demo, NASA
Visible Earth imagery), and the region is written out as a mask. Regions are fixed in the
frame, as face parts are roughly fixed in CelebA's aligned crops, and each is symmetric
under a horizontal flip (training flips):

  Red_Top        rows [0, H/4): blended half-and-half with red (230, 40, 40)
                 (a colour change of a band, as a hair colour);
  Bright_Centre  the disc of radius H/6 at the centre: 0.4 x + 0.6 * 255 (washed out);
  Dark_Bottom    rows [3H/4, H): 0.35 x (darkened).

The regions do not overlap, so each pixel carries at most one attribute. Every tile of
SOURCE/trainA and SOURCE/testA (the day tiles; 384 at the default demo data) gets each
attribute with probability 1/2, independently (NumPy generator seeded with --seed), and is
written once, with those attributes applied:

  OUT/list_attr_celeba.txt                 count line, names line, `name.png v1 v2 v3` (1/-1)
  OUT/img_align_celeba/<tile>.png          the images
  OUT/masks/<Attribute>/<tile>.png         255 where that attribute acts, 0 elsewhere: the
                                           region an edit of the attribute may change, for
                                           every image whether it has the attribute or not
  OUT/SOURCE.txt                           where the tiles come from, construction, settings
                                           (written last)

More training images (--orientations=K, 2-8; default 1, the set above): each tile the demo
recipes train on (every tile but the 64 their split holds out: data.split_seed 1234,
data.test_count 64, recorded in SOURCE.txt) is also written in K-1 more of its 8 dihedral
orientations (rotated by 90, 180, 270 degrees, then mirrored and rotated), as
`<tile>_<r90|r180|r270|m|m_r90|m_r180|m_r270>.png`, with attributes drawn anew and applied
after turning, so every region stays where it is. A satellite tile turned is still a
plausible tile. The held-out tiles are written once, unturned, with the attributes of the
set above, and the rows are ordered so that that split holds out exactly them: the test
images, their attributes and their order are the set above's, and no turned copy of a test
tile exists. Another split_seed or test_count would mix them (pass the same to both).

tfi2i.evaluate reads OUT/masks for masked PSNR (PSNR between the input and the edit over
the pixels outside the edited attribute's region; paper 001 Table 2's protocol with exact
masks instead of a face parser). Seeded and idempotent: a complete folder made with the
same settings is left as it is; one made with other settings is an error.
"""
import argparse
import os
import sys
import textwrap

from absl import logging
import numpy as np

from tfi2i.data import attribute_table
from tfi2i.data import demo
from tfi2i.data import images
from tfi2i.data.images import DataError
from tfi2i.data.sources import folder_source

ATTRIBUTES = ('Red_Top', 'Bright_Centre', 'Dark_Bottom')
MASKS_DIR = 'masks'
SOURCE_DIRS = ('trainA', 'testA')  # the day tiles of tfi2i.data.demo
SETTINGS_PREFIX = 'settings: '
RED = np.array([230.0, 40.0, 40.0])


def region(name: str, height: int, width: int) -> np.ndarray:
  """The bool [H, W] region attribute `name` acts on."""
  rows = np.arange(height)[:, None] + 0.5
  cols = np.arange(width)[None, :] + 0.5
  if name == 'Red_Top':
    return np.broadcast_to(rows < height / 4, (height, width)).copy()
  if name == 'Dark_Bottom':
    return np.broadcast_to(rows >= 3 * height / 4, (height, width)).copy()
  if name == 'Bright_Centre':
    r = min(height, width) / 6
    return (rows - height / 2) ** 2 + (cols - width / 2) ** 2 <= r * r
  raise DataError(f'unknown demo attribute {name!r}; one of {ATTRIBUTES}')


def apply(image: np.ndarray, values) -> np.ndarray:
  """uint8 HxWx3 `image` with the attributes whose value is 1 applied (ATTRIBUTES order)."""
  x = np.asarray(image, np.float64)
  h, w = x.shape[:2]
  out = x.copy()
  effects = {
      'Red_Top': lambda v: 0.5 * v + 0.5 * RED,
      'Bright_Centre': lambda v: 0.4 * v + 0.6 * 255.0,
      'Dark_Bottom': lambda v: 0.35 * v,
  }
  for name, value in zip(ATTRIBUTES, values):
    if value > 0:
      where = region(name, h, w)
      out[where] = effects[name](x[where])
  return np.clip(np.round(out), 0, 255).astype(np.uint8)


def draw(n: int, seed) -> np.ndarray:
  """[n, 3] in {0, 1}: each attribute of each tile with probability 1/2 (seed: what
  np.random.default_rng takes)."""
  return np.random.default_rng(seed).integers(0, 2, size=(n, len(ATTRIBUTES)))


# The order of the tiles (and so which tile draws which attributes, and the test split's
# shuffle) is fixed by name, whatever columns tfi2i.data.demo holds out: the tiles of columns
# 25-28 (the demo's test band until 2026-12-05) come last, each group sorted by name. That is
# the order trainA-then-testA gave when the set was first made, so the set, and the CAM
# ablation figures in BUILD_NOTES.md made on it, stay the same byte for byte.
ORDER_LAST_COLS = (25, 26, 27, 28)


def _order_key(path: str):
  name = os.path.basename(path)
  grid = demo.TILE_NAME.fullmatch(name)
  return (bool(grid) and int(name[5:7]) in ORDER_LAST_COLS, name)


def source_tiles(source: str) -> list[str]:
  paths = []
  for d in SOURCE_DIRS:
    folder = os.path.join(source, d)
    if os.path.isdir(folder):
      paths += images.list_images(folder)
  if not paths:
    raise DataError(f'no day tiles in {source}/{{{",".join(SOURCE_DIRS)}}}: make the demo '
                    'data first (python -m tfi2i.data.demo --out=data/demo) or pass --source')
  return sorted(paths, key=_order_key)


# the 8 dihedral orientations: (mirrored left-right first, quarter turns counter-clockwise)
ORIENTATIONS = ((False, 0), (False, 1), (False, 2), (False, 3),
                (True, 0), (True, 1), (True, 2), (True, 3))
# the split the demo recipes use (recipes/stargan_demo.py sets these; tfi2i.data.attributes)
SPLIT_SEED = 1234
TEST_COUNT = 64


def orientation_tag(mirrored: bool, turns: int) -> str:
  parts = (['m'] if mirrored else []) + ([f'r{90 * turns}'] if turns else [])
  return '_'.join(parts)


def turn(image: np.ndarray, mirrored: bool, turns: int) -> np.ndarray:
  x = image[:, ::-1] if mirrored else image
  return np.ascontiguousarray(np.rot90(x, turns))


def _settings_line(seed: int, count: int, orientations: int = 1) -> str:
  line = f'{SETTINGS_PREFIX}attributes={",".join(ATTRIBUTES)} seed={seed} tiles={count}'
  if orientations > 1:
    line += f' orientations={orientations} split_seed={SPLIT_SEED} test_count={TEST_COUNT}'
  return line


def _rows(tiles: list, seed: int, orientations: int) -> list:
  """[(source path, out name, (mirrored, turns), attribute values)] in the list's order."""
  names = [os.path.basename(p) for p in tiles]
  labels = draw(len(tiles), seed)
  base = [(p, n, ORIENTATIONS[0], v) for p, n, v in zip(tiles, names, labels)]
  if orientations == 1:
    return base
  if len(tiles) < 2 * TEST_COUNT:
    raise DataError(f'--orientations needs at least {2 * TEST_COUNT} tiles for the demo '
                    f'split to hold out {TEST_COUNT}; {len(tiles)} found')
  held = attribute_table.split_order(len(tiles), SPLIT_SEED)[:TEST_COUNT]
  held_set = set(held)
  train = [base[i] for i in range(len(tiles)) if i not in held_set]
  more = [(p, n, o) for p, n, _, _ in train for o in ORIENTATIONS[1:orientations]]
  more_labels = draw(len(more), [seed, 1])  # a stream of its own: the base draws stay
  train += [(p, f'{os.path.splitext(n)[0]}_{orientation_tag(*o)}.png', o, v)
            for (p, n, o), v in zip(more, more_labels)]
  total = len(tiles) + len(more)
  order = attribute_table.split_order(total, SPLIT_SEED)
  rows = [None] * total
  for position, i in zip(order[:TEST_COUNT], held):
    rows[position] = base[i]
  rest = iter(train)
  return [r if r is not None else next(rest) for r in rows]


def _recorded(out: str):
  try:
    with open(os.path.join(out, 'SOURCE.txt'), encoding='utf-8') as f:
      return next((l for l in f.read().splitlines() if l.startswith(SETTINGS_PREFIX)), '')
  except OSError:
    return None


def _construction(source: str, seed: int, labels: np.ndarray, tiles: int,
                  orientations: int) -> str:
  share = ', '.join(f'{a} {int(labels[:, j].sum())}' for j, a in enumerate(ATTRIBUTES))
  text = (
      'Construction (tfi2i.data.demo_attributes): every day tile of '
      f'{source}/trainA and testA ({tiles} tiles) gets each of {", ".join(ATTRIBUTES)} '
      f'with probability 1/2 (seed {seed}): Red_Top blends the top quarter half-and-half with '
      'red (230, 40, 40); Bright_Centre maps the centre disc of radius H/6 to '
      '0.4 x + 0.6 * 255; Dark_Bottom multiplies the bottom quarter by 0.35. masks/<Attribute>/ '
      f'holds each region (255 inside).')
  if orientations > 1:
    text += (f' Every tile but the {TEST_COUNT} the split (split_seed {SPLIT_SEED}, '
             f'test_count {TEST_COUNT}) holds out is also written in {orientations - 1} more '
             'dihedral orientations (_r90, _r180, _r270, _m, _m_r90, ... in that order), each '
             'with its own attributes drawn after turning; the rows are ordered so that the '
             f'split holds out exactly those {TEST_COUNT} tiles, unturned ({len(labels)} '
             'images).')
  text += f' Images with the attribute: {share}.'
  return '\n' + textwrap.fill(text, 88) + '\n'


def make_attribute_demo(out: str, source: str = 'data/demo', seed: int = 0,
                        orientations: int = 1) -> dict:
  """Writes the attribute demo set to `out` unless it is complete already; returns
  {'images': count, attribute: count with it ...}. orientations: 1-8 (module docstring)."""
  if not 1 <= int(orientations) <= len(ORIENTATIONS):
    raise DataError(f'--orientations must be 1-{len(ORIENTATIONS)}, got {orientations}')
  orientations = int(orientations)
  tiles = source_tiles(source)
  names = [os.path.basename(p) for p in tiles]
  if len(set(names)) != len(names):
    raise DataError(f'two day tiles of {source} have one name')
  wanted = _settings_line(seed, len(tiles), orientations)
  recorded = _recorded(out)
  attr_path = os.path.join(out, attribute_table.ATTR_FILE)
  if recorded == wanted and os.path.isfile(attr_path):
    logging.info('Attribute demo data already complete in %s.', out)
    _, _, values = attribute_table.read_file(attr_path)
    return {'images': len(values), **{a: int((values[:, j] > 0).sum())
                                      for j, a in enumerate(ATTRIBUTES)}}
  if recorded is not None and recorded != wanted:
    raise DataError(f'{out} holds attribute demo data made with other settings '
                    f'({recorded or "no settings line"}; wanted {wanted}): pass another --out '
                    'or delete the folder')
  rows = _rows(tiles, seed, orientations)
  for path, name, orientation, values in rows:
    img = turn(images.load_image(path), *orientation)
    images.save_png(os.path.join(out, folder_source.IMAGES_DIR, name), apply(img, values))
    for a in ATTRIBUTES:
      mask = region(a, *img.shape[:2]).astype(np.uint8) * 255
      images.save_png(os.path.join(out, MASKS_DIR, a, name), mask)
  labels = np.array([r[3] for r in rows])
  lines = [str(len(rows)), ' '.join(ATTRIBUTES)]
  lines += [f'{r[1]} ' + ' '.join('1' if v else '-1' for v in r[3]) for r in rows]
  tmp = attr_path + '.tmp'
  with open(tmp, 'w', encoding='utf-8') as f:
    f.write('\n'.join(lines) + '\n')
  os.replace(tmp, attr_path)
  with open(os.path.join(source, 'SOURCE.txt'), encoding='utf-8') as f:
    origin = f.read()
  text = ('tfi2i attribute demo data: the day tiles of the tfi2i demo data with three '
          'local attributes applied.\n\nThe tiles come from:\n\n' + origin
          + _construction(source, seed, labels, len(tiles), orientations) + wanted + '\n')
  with open(os.path.join(out, 'SOURCE.txt'), 'w', encoding='utf-8') as f:
    f.write(text)
  return {'images': len(rows), **{a: int(labels[:, j].sum()) for j, a in enumerate(ATTRIBUTES)}}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--out', default='data/demo_attributes', help='folder to write to')
  parser.add_argument('--source', default='data/demo',
                      help='the demo data (tfi2i.data.demo) whose day tiles are used')
  parser.add_argument('--seed', type=int, default=0, help='seeds the attributes of each tile')
  parser.add_argument('--orientations', type=int, default=1,
                      help='1-8: also write each training tile in this many dihedral '
                      'orientations in all (8: every turn and mirror), for more training images')
  args = parser.parse_args(argv)
  return demo.write_and_report(args.out, lambda: make_attribute_demo(
      args.out, args.source, args.seed, args.orientations))


if __name__ == '__main__':
  sys.exit(main())
