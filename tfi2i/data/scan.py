"""The start-up check: every image decoded as training will decode it, before a run starts,
so that a bad file is named at once instead of failing hours later.

`scan_image` picks the decoder training uses for a file (PNG and JPEG through TF's decoders,
the rest through PIL: images.CODEC_*) and decodes it with that decoder.
"""
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import re
import time

from absl import logging
from PIL import Image

from tfi2i import workdir as workdir_lib
from tfi2i.data import images
from tfi2i.data import transforms
from tfi2i.data.images import CODEC_JPEG
from tfi2i.data.images import CODEC_PIL
from tfi2i.data.images import CODEC_PNG
from tfi2i.data.images import DataError

_MAX_LISTED = 20


@dataclasses.dataclass(frozen=True)
class ImageRecord:
  """What a scan learned about one file."""
  path: str
  error: str = ''  # empty when the file decodes
  codec: int = CODEC_PIL
  height: int = 0  # after EXIF orientation
  width: int = 0


def _codec(fmt: str, mode: str, orientation: int) -> int:
  """How training decodes a file PIL identified (see CODEC_*)."""
  if orientation == 1:
    if fmt == 'PNG':
      return CODEC_PNG
    if fmt == 'JPEG' and mode in ('RGB', 'L', 'CMYK'):
      return CODEC_JPEG
  return CODEC_PIL


def _first_line(e: Exception) -> str:
  """'<Type>: <first line>' of an exception, without TF's '{{function_node ...}}' prefix and
  ' [Op:...]' suffix."""
  text = str(getattr(e, 'message', '') or e).strip()
  text = text.splitlines()[0] if text else ''
  text = re.sub(r'^\{\{[^}]*\}\}\s*', '', text)
  text = re.sub(r'\s*\[Op:[^\]]*\].*$', '', text)
  return f'{type(e).__name__}: {text}'.rstrip(': ')


def scan_image(path: str) -> ImageRecord:
  """Decodes `path` exactly as training will; records the error or how to decode it.

  PIL reads the header (format, mode, size, EXIF orientation), which picks the decoder
  training uses (`_codec`); then the file is decoded with that decoder: libpng / libjpeg
  through TF for CODEC_PNG / CODEC_JPEG (transforms.decode_file, the op the tf.data graph
  runs), `load_image` for the rest. So a file that passes decodes in training: PIL accepts
  some PNGs libpng refuses (an IDAT chunk with a bad CRC, a file cut after its last IDAT).
  """
  try:
    with Image.open(path) as img:
      fmt, mode, (w, h) = img.format, img.mode, img.size
      orientation = images.orientation(img)
  except Exception as e:  # pylint: disable=broad-except
    return ImageRecord(path, error=_first_line(e))
  if orientation in (5, 6, 7, 8):
    w, h = h, w
  if w < 1 or h < 1:
    return ImageRecord(path, error=f'empty image ({w}x{h})')
  codec = _codec(fmt, mode, orientation)
  try:
    if codec == CODEC_PIL:
      shape = images.load_image(path).shape
    else:
      shape = tuple(transforms.decode_file(path, codec).shape)
  except DataError as e:
    return ImageRecord(path, error=str(e).split(': ', 1)[-1])
  except Exception as e:  # pylint: disable=broad-except  (tf.errors.OpError and the like)
    return ImageRecord(path, error=_first_line(e))
  if tuple(shape[:2]) != (h, w):
    return ImageRecord(path, error=f'the header says {w}x{h}, the decoder gives '
                       f'{shape[1]}x{shape[0]}')
  return ImageRecord(path, codec=codec, height=h, width=w)


def _bad_list(bad: list[ImageRecord]) -> str:
  lines = [f'  {r.path}: {r.error}' for r in bad[:_MAX_LISTED]]
  if len(bad) > _MAX_LISTED:
    lines.append(f'  ... and {len(bad) - _MAX_LISTED} more')
  return '\n'.join(lines)


ON_BAD_IMAGE = ('fail', 'skip')


_cache = {'path': None}  # where scan_images keeps what it decoded (set by `cached_in`)
_PROGRESS_SECONDS = 10.0


@contextlib.contextmanager
def cached_in(path):
  """While active, scan_images remembers the files it decoded in `path` (a JSON file of
  path -> size, mtime and what the scan learned) and does not decode again a file whose
  size and modification time are unchanged: a run resumed after a preemption does not pay
  for the whole check again. A file rewritten with the same size within the same
  nanosecond mtime would be missed; the decode of each batch still fails loudly then."""
  previous, _cache['path'] = _cache['path'], path
  try:
    yield
  finally:
    _cache['path'] = previous


def _stat_key(path):
  try:
    st = os.stat(path)
  except OSError:
    return None
  return [st.st_size, st.st_mtime_ns]


def _load_cache() -> dict:
  if not _cache['path'] or not os.path.isfile(_cache['path']):
    return {}
  try:
    with open(_cache['path'], encoding='utf-8', errors='surrogateescape') as f:
      return json.load(f)
  except (OSError, ValueError):
    return {}


def _save_cache(entries: dict):
  if not _cache['path']:
    return
  try:
    workdir_lib.atomic_write(_cache['path'], json.dumps(entries, ensure_ascii=True))
  except OSError as e:  # a cache only: the run goes on
    logging.warning('could not write the image check cache %s: %s', _cache['path'], e)


def forget(paths):
  """Drops `paths` from the cache (files that failed later: they are decoded again)."""
  cache = _load_cache()
  if any(cache.pop(str(p), None) for p in paths):
    _save_cache(cache)


def scan_images(paths, on_error: str = 'fail') -> list[ImageRecord]:
  """scan_image for every path (thread pool); returns the good records.

  on_error: 'fail' raises DataError listing every bad path; 'skip' logs a warning
  with the count and drops them (DataError if none is left). Prints a progress line every
  few seconds for a long check; inside `cached_in`, unchanged files are not decoded again.
  """
  if on_error not in ON_BAD_IMAGE:
    raise DataError(f"on_bad_image must be 'fail' or 'skip', got {on_error!r}")
  paths = [str(p) for p in paths]
  if not paths:
    raise DataError('no image paths to check')
  cache = _load_cache()
  records, todo = [None] * len(paths), []
  for i, p in enumerate(paths):
    hit = cache.get(p)
    if hit and hit[:2] == _stat_key(p):
      records[i] = ImageRecord(p, codec=hit[2], height=hit[3], width=hit[4])
    else:
      todo.append(i)
  workers = max(1, min(16, 2 * (os.cpu_count() or 1), len(todo)))
  started = last = time.monotonic()
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    for n, (i, record) in enumerate(zip(todo, pool.map(scan_image, [paths[i] for i in todo])),
                                    start=1):
      records[i] = record
      if time.monotonic() - last >= _PROGRESS_SECONDS:
        last = time.monotonic()
        print(f'Checking images: {n:,} of {len(todo):,} decoded '
              f'({len(paths) - len(todo):,} unchanged since the last check), '
              f'{n / (last - started):.0f}/s', flush=True)
  if _cache['path'] and todo:
    for i in todo:
      r, key = records[i], _stat_key(paths[i])
      if not r.error and key:
        cache[paths[i]] = key + [r.codec, r.height, r.width]
    _save_cache(cache)
  good = [r for r in records if not r.error]
  bad = [r for r in records if r.error]
  if bad and on_error == 'fail':
    raise DataError(f'{len(bad)} of {len(paths)} images cannot be decoded '
                    f"(set on_bad_image='skip' to leave them out):\n{_bad_list(bad)}")
  if bad:
    logging.warning('Skipping %d of %d images that cannot be decoded:\n%s',
                    len(bad), len(paths), _bad_list(bad))
  if not good:
    raise DataError(f'none of the {len(paths)} images can be decoded:\n'
                    f'{_bad_list(bad)}')
  return good


def check_images(paths, on_error: str = 'fail') -> list[str]:
  """Decodes every file as training will; returns the good paths (see scan_images)."""
  return [r.path for r in scan_images(paths, on_error)]
