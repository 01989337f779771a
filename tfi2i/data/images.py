"""Image files: listing, checking, loading with PIL, saving.

`load_image` is the reference decoder: every format the library reads comes out as
uint8 HxWx3 RGB, like the official code's `Image.open(path).convert('RGB')`, plus
EXIF orientation, first GIF frame and a correct 16-bit -> 8-bit scale (PIL's own
convert clips 16-bit grayscale). The graph decoder in transforms.py matches it.
"""
import concurrent.futures
import dataclasses
import os
import re

from absl import logging
import numpy as np
from PIL import Image
from PIL import ImageOps

# read by PNG/JPEG graph decoders when they can, else by PIL (load_image) in the graph
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.jfif', '.bmp', '.gif', '.webp', '.tif', '.tiff')

# How an image is decoded in the tf.data graph (see transforms.decode_image).
CODEC_PIL = 0  # tf.numpy_function(load_image): BMP, GIF, EXIF-rotated, ...
CODEC_PNG = 1  # tf.io.decode_png, 8 or 16 bit
CODEC_JPEG = 2  # tf.io.decode_jpeg: RGB, grayscale or CMYK, no EXIF rotation

_EXIF_ORIENTATION = 0x0112
_MAX_LISTED = 20


class DataError(ValueError):
  """A problem with the data: names the path(s) and what is wrong."""


def is_image_file(name: str) -> bool:
  return name.lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder: str) -> list[str]:
  """Image files under `folder`, recursive and sorted (official make_dataset).

  Hidden files and folders (name starting with '.', e.g. macOS '._x.jpg') are
  skipped.
  """
  folder = os.path.expanduser(str(folder))
  if not os.path.isdir(folder):
    raise DataError(f'image folder does not exist: {folder}')
  paths, others = [], []
  for root, dirs, names in os.walk(folder, followlinks=True):
    dirs[:] = [d for d in dirs if not d.startswith('.')]
    for n in names:
      if n.startswith('.'):
        continue
      (paths if is_image_file(n) else others).append(os.path.join(root, n))
  if not paths:
    raise DataError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) found in {folder}'
                    + (f'; other files: {", ".join(sorted(others)[:5])}' if others else ''))
  if others:
    kinds = sorted({os.path.splitext(p)[1].lower() or '(no extension)' for p in others})
    logging.warning('%d files in %s are not images of a kind read here (%s) and are left '
                    'out, e.g. %s', len(others), folder, ', '.join(kinds[:8]),
                    sorted(others)[0])
  return sorted(paths)


@dataclasses.dataclass(frozen=True)
class ImageRecord:
  """What a scan learned about one file."""
  path: str
  error: str = ''  # empty when the file decodes
  codec: int = CODEC_PIL
  height: int = 0  # after EXIF orientation
  width: int = 0


def _orientation(img: Image.Image) -> int:
  try:
    return int(img.getexif().get(_EXIF_ORIENTATION, 1) or 1)
  except Exception:  # pylint: disable=broad-except
    return 1  # a broken EXIF block does not stop the image from loading


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
      orientation = _orientation(img)
  except Exception as e:  # pylint: disable=broad-except
    return ImageRecord(path, error=_first_line(e))
  if orientation in (5, 6, 7, 8):
    w, h = h, w
  if w < 1 or h < 1:
    return ImageRecord(path, error=f'empty image ({w}x{h})')
  codec = _codec(fmt, mode, orientation)
  try:
    if codec == CODEC_PIL:
      shape = load_image(path).shape
    else:
      from tfi2i.data import transforms  # pylint: disable=import-outside-toplevel
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


def _to_rgb(img: Image.Image) -> np.ndarray:
  """PIL image of any mode -> uint8 HxWx3."""
  if img.mode.startswith('I;16') or img.mode == 'I':
    # 16-bit grayscale: keep the high byte, as PIL does for 16-bit RGB PNGs.
    v = np.asarray(img).astype(np.int64)
    v = (np.clip(v, 0, 65535) >> 8).astype(np.uint8)
    return np.repeat(v[..., None], 3, axis=-1)
  if img.mode == 'F':
    v = np.clip(np.asarray(img), 0, 255).round().astype(np.uint8)
    return np.repeat(v[..., None], 3, axis=-1)
  if img.mode != 'RGB':
    img = img.convert('RGB')  # drops alpha, like the official code
  return np.asarray(img, dtype=np.uint8)


def load_image(path) -> np.ndarray:
  """Decodes any PNG/JPEG/BMP/GIF/WebP/TIFF as uint8 HxWx3 RGB (the first frame of an
  animation or a multi-page TIFF); DataError naming `path`."""
  if isinstance(path, np.ndarray):  # from tf.numpy_function
    path = path.item()
  if isinstance(path, bytes):
    path = path.decode('utf-8')
  path = os.fspath(path)
  try:
    with Image.open(path) as img:
      img.seek(0)  # first frame of an animation
      img.load()
      img = ImageOps.exif_transpose(img) if _orientation(img) != 1 else img
      arr = _to_rgb(img)
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(f'cannot load image {path}: {type(e).__name__}: {e}') from e
  return np.ascontiguousarray(arr)


def save_png(path, array_uint8_hwc) -> None:
  """Writes a uint8 HxWx3 (or HxW, HxWx1) array as PNG, creating folders."""
  arr = np.asarray(array_uint8_hwc)
  if arr.dtype != np.uint8:
    raise DataError(f'save_png({path}): expected uint8, got {arr.dtype}')
  if arr.ndim == 3 and arr.shape[-1] == 1:
    arr = arr[..., 0]
  if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
    raise DataError(f'save_png({path}): expected HxWx3, got shape {arr.shape}')
  path = os.fspath(path)
  parent = os.path.dirname(path)
  if parent:
    os.makedirs(parent, exist_ok=True)
  Image.fromarray(arr).save(path, format='PNG')
