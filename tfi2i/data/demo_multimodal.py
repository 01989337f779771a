"""Multimodal demo data: grayscale Earth tiles (A) and three equally valid colourings (B).

  python -m tfi2i.data.demo_multimodal --out=data/demo_multimodal [--size=128]

A paired task with several right answers, for the BicycleGAN vs pix2pix + noise diversity
comparison (the BicycleGAN paper's central claim). Built from the day Earth map of
tfi2i.data.demo (earth.jpg, 2048x1024, Debian package xplanet-images, found or fetched as
there; --day uses any image instead):

  B = the colour tile, its hue rotated by an angle drawn per tile from HUES (0, 120 and 240
      degrees, a balanced seeded draw: each angle goes to a third of the tiles);
  A = the luma of the colour tile (Rec. 601, Y = 0.299 R + 0.587 G + 0.114 B), in all three
      channels.

The hue rotation turns the chroma vector (I, Q) of each pixel in YIQ space by the angle and
keeps Y, so A is the grayscale of every one of the three B's (up to clipping of colours
pushed out of the RGB cube and 8-bit rounding). The angle is drawn independently of the
tile, so given A the three colourings are equally likely: a conditional distribution with
three modes. The three chroma vectors of a pixel sum to zero, so their mean is gray: a model
that averages the modes (what L1 training pushes a deterministic generator to) outputs A.

Tiles of `size` px (default 128, 22.5 degrees of the 2048x1024 map) are cut with a stride
(default size // 2) from the band 78.75N-56.25S (as demo.py: no polar ice, which has no
colour to rotate). Longitudes wrap around. Test tiles come from 101.25E-146.25E only (the
band demo.py held out until 2026-12-05; widened to 2 * size for sizes above 128) with a
finer stride (default stride // 2); train tiles from the rest of the globe, never
overlapping that band. At the defaults: 297 train and 105 test tiles.

Output, the official aligned layout (tfi2i.data.paired, data.layout='aligned'):
  OUT/train/y<top>_x<left>.png, OUT/test/...  A|B side by side, 2 * size x size px;
  OUT/tiles.csv                               split, name, x, y, hue of every tile;
  OUT/SOURCE.txt                              source, licence, construction (written last).
Seeded and idempotent: a complete folder made with the same settings is left as it is;
one made with other settings is an error (pass another --out).
"""
import argparse
import csv
import dataclasses
import os
import sys
import textwrap

from absl import logging
import numpy as np
from PIL import Image

from tfi2i.data import demo
from tfi2i.data import images
from tfi2i.data.images import DataError

HUES = (0, 120, 240)
MAP_SIZE = (2048, 1024)  # (width, height) the day map is resized to
SPLITS = ('train', 'test')
MANIFEST = 'tiles.csv'
SETTINGS_PREFIX = 'Settings: '
# hue_modes: a sample is a mode when it keeps at least MIN_GAIN of the target's chroma and
# its hue is within MAX_ANGLE degrees of the mode's (a 50/50 blend of two modes lies
# 60 degrees from both, with gain 0.5).
MIN_GAIN = 0.5
MAX_ANGLE = 30.0

# Rec. 601 luma and the YIQ chroma axes (FCC NTSC); the inverse is computed, not rounded.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.595716, -0.274453, -0.321263],
                        [0.211456, -0.522591, 0.311135]])
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


# ----------------------------------------------------------------------------- colour


def hue_matrix(degrees: float) -> np.ndarray:
  """3x3 RGB -> RGB matrix turning the YIQ chroma by `degrees` and keeping the luma Y."""
  t = np.deg2rad(degrees)
  turn = np.array([[1.0, 0.0, 0.0],
                   [0.0, np.cos(t), -np.sin(t)],
                   [0.0, np.sin(t), np.cos(t)]])
  return _YIQ_TO_RGB @ turn @ _RGB_TO_YIQ


def hue_rotate(rgb: np.ndarray, degrees: float) -> np.ndarray:
  """uint8 HxWx3 with its hue rotated by `degrees` (luma kept), rounded and clipped.

  0 (mod 360) returns an exact copy.
  """
  rgb = np.asarray(rgb)
  if degrees % 360 == 0:
    return rgb.astype(np.uint8, copy=True)
  out = rgb.astype(np.float64) @ hue_matrix(degrees).T
  return np.clip(np.round(out), 0, 255).astype(np.uint8)


def luma(rgb: np.ndarray) -> np.ndarray:
  """uint8 HxWx3 -> uint8 HxWx3 gray: Rec. 601 luma, rounded, in all three channels."""
  y = np.asarray(rgb, np.float64) @ _RGB_TO_YIQ[0]
  y = np.clip(np.round(y), 0, 255).astype(np.uint8)
  return np.repeat(y[..., None], 3, axis=-1)


def chroma(rgb) -> np.ndarray:
  """HxWx3 (any affine scale of RGB, e.g. [-1, 1]) -> complex HxW chroma I + iQ (gray = 0)."""
  yiq = np.asarray(rgb, np.float64) @ _RGB_TO_YIQ.T
  return yiq[..., 1] + 1j * yiq[..., 2]


def hue_alignment(samples, target) -> tuple[np.ndarray, np.ndarray]:
  """How each sample's colours relate to the target's: (angle in degrees, gain), each [K].

  The least-squares fit chroma(sample) ~ gain * e^(i angle) * chroma(target) over all
  pixels: the sample is the target with its hue turned by `angle` and its chroma scaled by
  `gain`. A gray sample has gain 0; a valid output of this task has gain about 1 and an
  angle near one of HUES relative to the target (whose own angle is one of them too).

  Args:
    samples: [K, H, W, 3] in [-1, 1] (or any common affine scale of RGB with the target).
    target: [H, W, 3], the ground truth B.
  """
  ct = chroma(target)
  cs = chroma(samples)
  z = np.sum(cs * np.conj(ct), axis=(1, 2))
  energy = np.sum(np.abs(ct) ** 2)
  gain = np.abs(z) / energy if energy > 1e-12 else np.full(z.shape, np.nan)
  return np.degrees(np.angle(z)) % 360.0, gain


def hue_modes(samples, target, n: int = len(HUES), min_gain: float = MIN_GAIN,
              max_angle: float = MAX_ANGLE) -> np.ndarray:
  """Which of the n valid colourings each sample is: [K] ints in 0..n-1, or -1 for none.

  Mode j is the target turned by j * 360 / n degrees (0 = the target's own colouring). A
  sample is mode j when its `hue_alignment` angle is within max_angle of j * 360 / n and
  its gain is at least min_gain; a grayish, unrelated or blended sample is no mode.
  """
  angle, gain = hue_alignment(samples, target)
  step = 360.0 / n
  mode = np.round(angle / step).astype(int) % n
  off = np.abs((angle - mode * step + 180.0) % 360.0 - 180.0)
  ok = (np.nan_to_num(gain) >= min_gain) & (off <= max_angle)
  return np.where(ok, mode, -1)


# ----------------------------------------------------------------------------- tiles


@dataclasses.dataclass(frozen=True)
class TileLayout:
  """Where tiles are cut from a map of `map_size`, in pixels; columns wrap around.

  Attributes:
    size: tile side.
    stride: step between train tiles (both directions).
    test_stride: step between test tiles.
    map_size: (width, height) the map is resized to before cutting.
    rows: [top, bottom) band of rows tiles are cut from.
    test_band: [left, right) columns of the test tiles; train tiles stay out of it. right
      may exceed the map width (the band wraps).
  """
  size: int = 128
  stride: int = 64
  test_stride: int = 32
  map_size: tuple[int, int] = MAP_SIZE
  rows: tuple[int, int] = (64, 832)  # 78.75N - 56.25S (demo.Layout rows 1-12)
  # 101.25E - 146.25E (demo.Layout's test columns until 2026-12-05)
  test_band: tuple[int, int] = (1600, 1856)

  def check(self):
    w, h = self.map_size
    top, bottom = self.rows
    left, right = self.test_band
    if min(self.size, self.stride, self.test_stride) < 1:
      raise DataError(f'size, stride and test_stride must be >= 1: {self}')
    if not 0 <= top < bottom <= h or bottom - top < self.size:
      raise DataError(f'rows {self.rows} do not hold a {self.size} px tile in a map '
                      f'{h} px high')
    if right - left < self.size or w - (right - left) < self.size:
      raise DataError(f'test band {self.test_band} and the rest of a map {w} px wide '
                      f'must each hold a {self.size} px tile')

  def _starts(self, first: int, length: int, stride: int) -> list[int]:
    return list(range(first, first + length - self.size + 1, stride))

  def positions(self, split: str) -> list[tuple[int, int]]:
    """(top, left) of every tile of `split`, left in [0, map width); row-major."""
    self.check()
    w = self.map_size[0]
    left, right = self.test_band
    if split == 'test':
      stride, cols = self.test_stride, self._starts(left, right - left, self.test_stride)
    elif split == 'train':  # from the band's right edge around the globe to its left edge
      stride, cols = self.stride, self._starts(right, w - (right - left), self.stride)
    else:
      raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    top, bottom = self.rows
    return [(y, x % w) for y in self._starts(top, bottom - top, stride) for x in cols]

  def settings(self) -> str:
    return (f'size={self.size} stride={self.stride} test_stride={self.test_stride} '
            f'map={self.map_size[0]}x{self.map_size[1]} rows={self.rows[0]}-{self.rows[1]} '
            f'test_band={self.test_band[0]}-{self.test_band[1]}')


def default_layout(size: int = 128, stride: int = 0, test_stride: int = 0) -> TileLayout:
  """The layout for tiles of `size` px: stride size // 2, test stride stride // 2, the
  test band 101.25E-146.25E widened to 2 * size px if smaller."""
  stride = stride or max(1, size // 2)
  test_stride = test_stride or max(1, stride // 2)
  left = TileLayout.test_band[0]
  band = (left, max(TileLayout.test_band[1], left + 2 * size))
  return TileLayout(size=size, stride=stride, test_stride=test_stride, test_band=band)


def tile_name(top: int, left: int) -> str:
  return f'y{top:04d}_x{left:04d}.png'


def cut(img: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
  """size x size tile at (top, left); columns wrap around the map."""
  cols = (left + np.arange(size)) % img.shape[1]
  return img[top:top + size][:, cols]


def draw_hues(n: int, seed: int, split: str, hues=HUES) -> np.ndarray:
  """Angle of each of n tiles: a seeded permutation of hues repeated (balanced)."""
  rng = np.random.default_rng([int(seed), SPLITS.index(split)])
  return np.asarray(hues)[rng.permutation(np.arange(n) % len(hues))]


def make_pairs(img: np.ndarray, layout: TileLayout, split: str, seed: int = 0,
               hues=HUES) -> list[tuple[str, int, int, int, np.ndarray]]:
  """(name, top, left, hue, A|B uint8 size x 2*size x 3) of every tile of `split`."""
  w, h = layout.map_size
  if img.shape[:2] != (h, w):
    raise DataError(f'map is {img.shape[1]}x{img.shape[0]}, expected {w}x{h}')
  positions = layout.positions(split)
  out = []
  for (top, left), hue in zip(positions, draw_hues(len(positions), seed, split, hues)):
    tile = cut(img, top, left, layout.size)
    ab = np.concatenate([luma(tile), hue_rotate(tile, hue)], axis=1)
    out.append((tile_name(top, left), top, left, int(hue), ab))
  return out


# ----------------------------------------------------------------------------- files


def _settings_line(layout: TileLayout, seed: int, hues) -> str:
  return f'{SETTINGS_PREFIX}{layout.settings()} hues={",".join(map(str, hues))} seed={seed}'


def _recorded_settings(out: str):
  try:
    with open(os.path.join(out, 'SOURCE.txt'), encoding='utf-8') as f:
      lines = f.read().splitlines()
  except OSError:
    return None
  return next((l for l in lines if l.startswith(SETTINGS_PREFIX)), '')


def is_complete(out: str, layout: TileLayout, seed: int = 0, hues=HUES) -> bool:
  """True if `out` holds SOURCE.txt of these settings, the manifest and every tile."""
  if _recorded_settings(out) != _settings_line(layout, seed, hues):
    return False
  if not os.path.isfile(os.path.join(out, MANIFEST)):
    return False
  return all(os.path.isfile(os.path.join(out, split, tile_name(*p)))
             for split in SPLITS for p in layout.positions(split))


def _check_target(out: str, layout: TileLayout, seed: int, hues):
  """DataError if `out` holds another build or images this one would not write."""
  recorded = _recorded_settings(out)
  wanted = _settings_line(layout, seed, hues)
  if recorded is not None and recorded != wanted:
    raise DataError(f'{out} holds multimodal demo data made with other settings\n'
                    f'  ({recorded or "no settings line in SOURCE.txt"}; wanted {wanted}):\n'
                    '  pass another --out or delete the folder')
  for split in SPLITS:
    folder = os.path.join(out, split)
    if not os.path.isdir(folder):
      continue
    try:
      present = images.list_images(folder)
    except DataError:  # no images yet
      present = []
    expected = {os.path.join(folder, tile_name(*p)) for p in layout.positions(split)}
    stray = [p for p in present if p not in expected]
    if stray:
      raise DataError(f'{folder} holds {len(stray)} images this data set does not have '
                      f'(e.g. {stray[0]}): pass another --out or delete them')


def write_pairs(out: str, img: np.ndarray, source_text: str, layout: TileLayout,
                seed: int = 0, hues=HUES) -> dict:
  """Writes OUT/{train,test}/*.png, OUT/tiles.csv, then OUT/SOURCE.txt; returns counts."""
  counts, rows = {}, []
  for split in SPLITS:
    pairs = make_pairs(img, layout, split, seed, hues)
    for name, top, left, hue, ab in pairs:
      images.save_png(os.path.join(out, split, name), ab)
      rows.append((split, name, left, top, hue))
    counts[split] = len(pairs)
  with open(os.path.join(out, MANIFEST), 'w', encoding='utf-8', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(('split', 'name', 'x', 'y', 'hue'))
    writer.writerows(rows)
  with open(os.path.join(out, 'SOURCE.txt'), 'w', encoding='utf-8') as f:
    f.write(source_text)
  return counts


def _load_map(path: str, layout: TileLayout) -> np.ndarray:
  arr = images.load_image(path)
  w, h = layout.map_size
  if arr.shape[:2] != (h, w):
    logging.info('Resizing %s from %dx%d to %dx%d.', path, arr.shape[1], arr.shape[0], w, h)
    arr = np.asarray(Image.fromarray(arr).resize((w, h), Image.BICUBIC))
  return arr


def _construction(layout: TileLayout, seed: int, hues, counts: dict) -> str:
  w, h = layout.map_size
  paragraphs = (
      'Construction (tfi2i.data.demo_multimodal): the day map, resized to '
      f'{w}x{h}, is cut into {layout.size}x{layout.size} px tiles from rows '
      f'{layout.rows[0]}-{layout.rows[1]} (columns wrap around). Test tiles: columns '
      f'{layout.test_band[0]}-{layout.test_band[1]} only (held out), stride '
      f'{layout.test_stride}; train tiles: every other longitude, stride {layout.stride}, '
      'never overlapping the test columns.',
      'Each file is A|B side by side (the official aligned layout). B = the colour tile '
      'with its hue rotated (YIQ chroma turned, luma kept) by an angle drawn per tile from '
      f'{", ".join(map(str, hues))} degrees (a seeded balanced draw, seed {seed}); A = the '
      'Rec. 601 luma of the tile (0.299 R + 0.587 G + 0.114 B) in all three channels. '
      'So A is the grayscale of each of the equally likely B\'s: three valid outputs per '
      f'input. {MANIFEST} lists the angle of every tile.',
      f'Tiles: train {counts["train"]}, test {counts["test"]}.')
  return ''.join('\n' + textwrap.fill(p, 88) + '\n' for p in paragraphs)


def make_multimodal_demo(out: str, day: str = '', cache_dir: str = '', size: int = 128,
                         seed: int = 0, layout: TileLayout = None, hues=HUES) -> dict:
  """Writes the multimodal demo set to `out` unless it is complete already.

  Args:
    out: folder to write train/, test/, tiles.csv and SOURCE.txt to.
    day: an image to use instead of the package's day map (any size; resized).
    cache_dir: where demo.find_maps unpacks the package if it is not installed.
    size: tile side in px (ignored when layout is given).
    seed: seeds the angle of each tile.
    layout: where tiles are cut; default `default_layout(size)`.
    hues: the valid rotation angles in degrees.

  Returns:
    {'train': count, 'test': count}.
  """
  layout = layout or default_layout(size)
  layout.check()
  hues = tuple(int(h) for h in hues)
  if is_complete(out, layout, seed, hues):
    logging.info('Multimodal demo data already complete in %s.', out)
    return {s: len(layout.positions(s)) for s in SPLITS}
  _check_target(out, layout, seed, hues)
  if day:
    text = (f'tfi2i multimodal demo data: tiles of {day} (user-supplied image; its licence '
            "is the user's to check).\n")
  else:
    day, _, package_text = demo.find_maps(cache_dir or demo.default_cache_dir())
    # find_maps describes both maps of demo.py; keep its source and licence paragraphs.
    text = ('tfi2i multimodal demo data: grayscale (A) and hue-rotated colour (B) tiles of '
            f'the NASA day Earth map {demo.DAY_FILE} (the night map is not used).\n\n'
            + package_text.split('\n\n', 1)[-1])
  counts = {s: len(layout.positions(s)) for s in SPLITS}
  text += _construction(layout, seed, hues, counts)
  text += _settings_line(layout, seed, hues) + '\n'
  counts = write_pairs(out, _load_map(day, layout), text, layout, seed, hues)
  logging.info('Multimodal demo data written to %s: %s', out, counts)
  return counts


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--out', default='data/demo_multimodal',
                      help='folder to write train/ and test/ (A|B images) to')
  parser.add_argument('--size', type=int, default=128, help='tile side in px')
  parser.add_argument('--stride', type=int, default=0, help='train stride (default size // 2)')
  parser.add_argument('--test_stride', type=int, default=0,
                      help='test stride (default stride // 2)')
  parser.add_argument('--seed', type=int, default=0, help='seeds the angle of each tile')
  parser.add_argument('--day', default='', help='an image to use instead of the package map')
  demo.add_cache_dir_flag(parser)
  args = parser.parse_args(argv)
  return demo.write_and_report(args.out, lambda: make_multimodal_demo(
      args.out, args.day, args.cache_dir, seed=args.seed,
      layout=default_layout(args.size, args.stride, args.test_stride)))


if __name__ == '__main__':
  sys.exit(main())
