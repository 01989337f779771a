"""The start-up check: every image decoded as training will decode it, before a run starts,
so that a bad file is named at once instead of failing hours later.

`scan_image` picks the decoder training uses for a file (PNG and JPEG through TF's decoders,
the rest through PIL: images.CODEC_*) and decodes it with that decoder.
"""
import concurrent.futures
import dataclasses
import os
import re

from absl import logging
from PIL import Image

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


def scan_images(paths, on_error: str = 'fail') -> list[ImageRecord]:
  """scan_image for every path (thread pool); returns the good records.

  on_error: 'fail' raises DataError listing every bad path; 'skip' logs a warning
  with the count and drops them (DataError if none is left).
  """
  if on_error not in ON_BAD_IMAGE:
    raise DataError(f"on_bad_image must be 'fail' or 'skip', got {on_error!r}")
  paths = [str(p) for p in paths]
  if not paths:
    raise DataError('no image paths to check')
  workers = min(16, 2 * (os.cpu_count() or 1), len(paths))
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    records = list(pool.map(scan_image, paths))
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
