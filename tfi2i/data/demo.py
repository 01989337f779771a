"""Demo data: day (A) and night (B) tiles of NASA Earth maps, made offline.

  python -m tfi2i.data.demo --out=data/demo

The maps are earth.jpg (day) and night.jpg (city lights), 2048x1024
equirectangular, from the Debian package xplanet-images (NASA Visible Earth
imagery, not copyrighted). They are read from /usr/share/xplanet/images when the
package is installed, else the package is fetched with `apt-get download` into a
cache folder and unpacked there with `dpkg-deb -x` (the system is not changed).
--day and --night use any two images instead.

Each map is cut into 64x64 tiles (11.25 degrees square) between 78.75N and
56.25S: train tiles from every longitude except 0-45E, test tiles from that band
only (Europe, Africa, the Middle East: unseen in training). That band has the
most land and city lights of any four columns (54 % of its night tiles show city
lights, 29 % of the training tiles), so the test gallery shows what the model
learnt; the band used until 2026-12-05 (101.25E-146.25E) was half open ocean.
Tiles of A and B have the same names, so the set is also an aligned pair set. A
folder written with another layout is brought to this one: its tiles that the
layout puts elsewhere are removed.

The night tiles (B) show the night side as a night-time render of the Earth does: the
land and sea under moonlight (the day map at MOONLIGHT brightness, tinted blue) with
the city lights of night.jpg over it (`night_view`). night.jpg alone is black wherever
there are no lights (sea, deserts, most of Africa): trained on it, the demo's CycleGAN
drew all-black tiles from day to night and invented coastlines from night to day, and a
black tile says nothing of what it should become (issue 26). --night_style=lights
keeps night.jpg as it is. A folder written with another style is written again.
"""
import argparse
import dataclasses
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from absl import logging
import numpy as np
from PIL import Image

from tfi2i.data import images
from tfi2i.data.images import DataError

PACKAGE = 'xplanet-images'
IMAGE_SUBDIR = 'usr/share/xplanet/images'  # inside the package
SYSTEM_DIR = '/' + IMAGE_SUBDIR
DAY_FILE, NIGHT_FILE = 'earth.jpg', 'night.jpg'
COPYRIGHT = f'usr/share/doc/{PACKAGE}/copyright'
SPLIT_DIRS = ('trainA', 'trainB', 'testA', 'testB')
# The night side under moonlight: the day map's brightness per channel (R, G, B).
MOONLIGHT = (0.14, 0.18, 0.25)
NIGHT_STYLES = ('moonlit', 'lights')
STYLE_LINE = 'Night style: {}'  # in SOURCE.txt: a folder of another style is rewritten


def check_style(style: str) -> str:
  if style not in NIGHT_STYLES:
    raise DataError(f'--night_style={style!r}: expected one of {NIGHT_STYLES}')
  return style


def night_view(day: np.ndarray, lights: np.ndarray, style: str = 'moonlit') -> np.ndarray:
  """The night tiles' map: 'moonlit' = the day map at MOONLIGHT brightness plus the city
  lights (clipped to 255); 'lights' = the lights map as it is."""
  if check_style(style) == 'lights':
    return lights
  moon = day.astype(np.float32) * np.asarray(MOONLIGHT, np.float32)
  return np.clip(np.round(moon + lights.astype(np.float32)), 0, 255).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class Layout:
  """How a map is cut: a grid of `cols` x `rows` tiles of `tile` px."""
  tile: int = 64
  cols: int = 32  # 360 / 32 = 11.25 degrees of longitude per tile
  rows: int = 16
  first_row: int = 1  # skip the Arctic row (78.75N-90N) ...
  last_row: int = 12  # ... and the rows south of 56.25S (Antarctica)
  test_cols: tuple[int, ...] = (16, 17, 18, 19)  # 0E - 45E

  @property
  def size(self) -> tuple[int, int]:
    """Map size (width, height) before cutting."""
    return self.cols * self.tile, self.rows * self.tile

  def names(self, test: bool) -> list[str]:
    return [f'r{r:02d}_c{c:02d}.png'
            for r in range(self.first_row, self.last_row + 1)
            for c in range(self.cols) if (c in self.test_cols) == test]


def cut_tiles(img: np.ndarray, layout: Layout = Layout()) -> tuple[dict, dict]:
  """HxWx3 map of layout.size -> ({name: tile} train, {name: tile} test)."""
  w, h = layout.size
  if img.shape[:2] != (h, w):
    raise DataError(f'map is {img.shape[1]}x{img.shape[0]}, expected {w}x{h}')
  t = layout.tile
  train, test = {}, {}
  for r in range(layout.first_row, layout.last_row + 1):
    for c in range(layout.cols):
      name = f'r{r:02d}_c{c:02d}.png'
      (test if c in layout.test_cols else train)[name] = img[r * t:(r + 1) * t,
                                                             c * t:(c + 1) * t]
  return train, test


def load_map(path: str, layout: Layout = Layout()) -> np.ndarray:
  """Loads a map and resizes it (bicubic) to layout.size if needed."""
  arr = images.load_image(path)
  w, h = layout.size
  if arr.shape[:2] != (h, w):
    logging.info('Resizing %s from %dx%d to %dx%d.', path, arr.shape[1], arr.shape[0], w, h)
    arr = np.asarray(Image.fromarray(arr).resize((w, h), Image.BICUBIC))
  return arr


TILE_NAME = re.compile(r'r\d\d_c\d\d\.png')


def _tiles_in(folder: str) -> set:
  """The names of demo tiles (rNN_cNN.png) in `folder`."""
  try:
    return {n for n in os.listdir(folder) if TILE_NAME.fullmatch(n)}
  except OSError:
    return set()


def is_complete(out: str, layout: Layout = Layout(), style: str = 'moonlit') -> bool:
  """True if `out` has SOURCE.txt naming night style `style` and exactly the tiles of
  `layout` in each split."""
  try:
    with open(os.path.join(out, 'SOURCE.txt'), encoding='utf-8') as f:
      if STYLE_LINE.format(style) not in f.read():
        return False
  except OSError:
    return False
  return all(_tiles_in(os.path.join(out, d)) == set(layout.names(test=d.startswith('test')))
             for d in SPLIT_DIRS)


def remove_stale_tiles(out: str, layout: Layout = Layout()) -> int:
  """Removes the tiles (rNN_cNN.png only) of `out`'s split folders that `layout` does not
  put there: left by a layout with other test columns, they would put test tiles in training.
  Returns how many were removed; other files are left alone."""
  removed = 0
  for d in SPLIT_DIRS:
    folder = os.path.join(out, d)
    for name in sorted(_tiles_in(folder) - set(layout.names(test=d.startswith('test')))):
      os.remove(os.path.join(folder, name))
      removed += 1
  return removed


def write_tiles(out: str, day: np.ndarray, night: np.ndarray, source_text: str,
                layout: Layout = Layout()) -> dict:
  """Cuts both maps into out/{train,test}{A,B}/ and writes out/SOURCE.txt last."""
  counts = {}
  for domain, img in (('A', day), ('B', night)):
    train, test = cut_tiles(img, layout)
    for split, tiles in (('train', train), ('test', test)):
      for name, tile in tiles.items():
        images.save_png(os.path.join(out, f'{split}{domain}', name), tile)
      counts[f'{split}{domain}'] = len(tiles)
  with open(os.path.join(out, 'SOURCE.txt'), 'w', encoding='utf-8') as f:
    f.write(source_text)
  return counts


# ----------------------------------------------------------------------------- maps


def _run(cmd, cwd=None) -> subprocess.CompletedProcess:
  logging.info('Running: %s', ' '.join(cmd))
  try:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
  except OSError as e:  # the tool is not there
    return subprocess.CompletedProcess(cmd, 127, '', str(e))


def _download_package(cache_dir: str) -> str:
  """apt-get download + dpkg-deb -x into cache_dir; returns the unpacked root."""
  root = os.path.join(cache_dir, PACKAGE)
  if os.path.isfile(os.path.join(root, IMAGE_SUBDIR, DAY_FILE)):
    return root
  deb_dir = os.path.join(cache_dir, 'deb')
  os.makedirs(deb_dir, exist_ok=True)
  steps = []
  p = _run(['apt-get', 'download', PACKAGE], cwd=deb_dir)
  steps.append(p)
  if p.returncode != 0 and os.geteuid() == 0:
    # Usually empty package lists on a fresh machine: update them once, retry.
    steps.append(_run(['apt-get', 'update']))
    p = _run(['apt-get', 'download', PACKAGE], cwd=deb_dir)
    steps.append(p)
  debs = sorted(glob.glob(os.path.join(deb_dir, f'{PACKAGE}_*.deb')))
  if not debs:
    log = '\n'.join(f'$ {" ".join(s.args)}  (exit {s.returncode})\n{s.stderr.strip()}'
                    for s in steps)
    raise DataError(_help(f'could not fetch the package {PACKAGE}:\n{log}'))
  tmp = tempfile.mkdtemp(prefix='unpack-', dir=cache_dir)
  p = _run(['dpkg-deb', '-x', debs[-1], tmp])
  if p.returncode != 0:
    shutil.rmtree(tmp, ignore_errors=True)
    raise DataError(_help(f'dpkg-deb -x {debs[-1]} failed: {p.stderr.strip()}'))
  shutil.rmtree(root, ignore_errors=True)
  os.replace(tmp, root)
  with open(os.path.join(root, 'VERSION'), 'w', encoding='utf-8') as f:
    f.write(os.path.basename(debs[-1]).split('_')[1] + '\n')
  return root


def _help(reason: str) -> str:
  return (f'{reason}\nTo make the demo data, either install the maps '
          f'(`apt-get install {PACKAGE}`, which puts {DAY_FILE} and {NIGHT_FILE} in '
          f'{SYSTEM_DIR}), or pass any two images: --day=DAY.jpg --night=NIGHT.jpg')


def _copyright_excerpt(text: str) -> str:
  """The paragraph of a Debian copyright file about xplanet/images/*."""
  paragraphs = text.split('\n\n')
  for p in paragraphs:
    if p.startswith('Files:') and 'xplanet/images/*' in p.splitlines()[0]:
      return p
  return text


def find_maps(cache_dir: str, system_dir: str = SYSTEM_DIR) -> tuple[str, str, str]:
  """(day path, night path, SOURCE.txt text) from the package, fetching it if needed."""
  if all(os.path.isfile(os.path.join(system_dir, f)) for f in (DAY_FILE, NIGHT_FILE)):
    image_dir, root = system_dir, '/'
    p = _run(['dpkg-query', '-W', '-f=${Version}', PACKAGE])
    version = p.stdout.strip() if p.returncode == 0 else 'unknown'
    how = f'installed package {PACKAGE} {version}'
  else:
    root = _download_package(cache_dir)
    try:
      with open(os.path.join(root, 'VERSION'), encoding='utf-8') as f:
        version = f.read().strip()
    except OSError:
      version = 'unknown'
    how = f'package {PACKAGE} {version} (apt-get download, unpacked in {root})'
    image_dir = os.path.join(root, IMAGE_SUBDIR)
  day, night = (os.path.join(image_dir, f) for f in (DAY_FILE, NIGHT_FILE))
  copyright_path = os.path.join(root, COPYRIGHT)
  try:
    with open(copyright_path, encoding='utf-8') as f:
      excerpt = _copyright_excerpt(f.read())
  except OSError:
    excerpt = f'({copyright_path} not found)'
  text = (
      'tfi2i demo data: day (A) and night (B) tiles of two NASA Earth maps.\n\n'
      f'Maps: {DAY_FILE} (day) and {NIGHT_FILE} (city lights) from the Debian {how}.\n'
      'Licence: NASA Visible Earth imagery, not copyrighted (Debian licence name\n'
      '"NASA-not-copyrighted"); NASA asks to be credited as the source.\n'
      'Images courtesy of NASA Visible Earth (http://visibleearth.nasa.gov/).\n\n'
      f'From {COPYRIGHT.replace("usr/", "/usr/", 1)}:\n\n{excerpt}\n')
  return day, night, text


# ----------------------------------------------------------------------------- main


def make_demo(out: str, day: str = '', night: str = '', cache_dir: str = '',
              layout: Layout = Layout(), style: str = 'moonlit') -> dict:
  """Writes the demo data set to `out` unless it is complete already (in that style)."""
  check_style(style)  # before anything in `out` is touched
  if is_complete(out, layout, style):
    logging.info('Demo data already complete in %s.', out)
    return {d: len(layout.names(d.startswith('test'))) for d in SPLIT_DIRS}
  if bool(day) != bool(night):
    raise DataError('pass both --day and --night, or neither')
  if day:
    text = (f'tfi2i demo data: day (A) tiles of {day} and night (B) tiles of {night}\n'
            '(user-supplied images; their licence is the user\'s to check).\n')
  else:
    day, night, text = find_maps(cache_dir or default_cache_dir())
  w, h = layout.size
  text += (f'\nTiles: {layout.tile}x{layout.tile} px of the maps resized to {w}x{h}; '
           f'rows {layout.first_row}-{layout.last_row} of {layout.rows}; test = columns '
           f'{", ".join(map(str, layout.test_cols))} of {layout.cols} (held out).\n'
           f'{STYLE_LINE.format(style)}'
           + (f' (B: the day map at {MOONLIGHT} of its brightness plus the night map\'s '
              'lights)\n' if style == 'moonlit' else ' (B: the night map as it is)\n'))
  day_map = load_map(day, layout)
  night_map = night_view(day_map, load_map(night, layout), style)
  source_txt = os.path.join(out, 'SOURCE.txt')
  if os.path.exists(source_txt):
    os.remove(source_txt)  # written again last, once the tiles are complete
  stale = remove_stale_tiles(out, layout)
  if stale:
    logging.warning('Removed %d tile(s) of %s that another layout (other test columns) had '
                    'written; writing the tiles of this one.', stale, out)
  counts = write_tiles(out, day_map, night_map, text, layout)
  logging.info('Demo data written to %s: %s', out, counts)
  return counts


def default_cache_dir() -> str:
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'tfi2i')


def add_cache_dir_flag(parser):
  parser.add_argument('--cache_dir', default='', help='where to unpack the package '
                      '(default $XDG_CACHE_HOME/tfi2i or ~/.cache/tfi2i)')


def write_and_report(out, make) -> int:
  """Runs `make()` (which writes demo data to `out` and returns {split: count}), prints the
  counts or the DataError; returns the exit status."""
  logging.set_verbosity(logging.INFO)
  try:
    counts = make()
  except DataError as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  print(f'{out}: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))
  return 0


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--out', default='data/demo',
                      help='folder to write trainA/trainB/testA/testB to')
  parser.add_argument('--day', default='', help='a day image to use instead of the package map')
  parser.add_argument('--night', default='',
                      help='a night image to use instead of the package map')
  parser.add_argument('--night_style', default='moonlit', choices=NIGHT_STYLES,
                      help="B tiles: 'moonlit' (the day map dimmed, plus the city lights) "
                      "or 'lights' (the night map as it is)")
  add_cache_dir_flag(parser)
  args = parser.parse_args(argv)
  return write_and_report(
      args.out, lambda: make_demo(args.out, args.day, args.night, args.cache_dir,
                                  style=args.night_style))


if __name__ == '__main__':
  sys.exit(main())
