"""Image files: listing, loading with PIL, saving (the start-up check that decodes them as
training will is tfi2i.data.scan).

`load_image` is the reference decoder: every format the library reads comes out as
uint8 HxWx3 RGB, like the official code's `Image.open(path).convert('RGB')`, plus
EXIF orientation, first GIF frame and a correct 16-bit -> 8-bit scale (PIL's own
convert clips 16-bit grayscale). The graph decoder in transforms.py matches it.
"""
import os

from absl import logging
import numpy as np
from PIL import Image
from PIL import ImageOps

# read by PNG/JPEG graph decoders when they can, else by PIL (load_image) in the graph
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.jfif', '.bmp', '.gif', '.webp', '.tif', '.tiff')

# How an image is decoded in the tf.data graph (transforms.decode_file; chosen by
# scan.scan_image).
CODEC_PIL = 0  # tf.numpy_function(load_image): BMP, GIF, EXIF-rotated, ...
CODEC_PNG = 1  # tf.io.decode_png, 8 or 16 bit
CODEC_JPEG = 2  # tf.io.decode_jpeg: RGB, grayscale or CMYK, no EXIF rotation

_EXIF_ORIENTATION = 0x0112


class DataError(ValueError):
  """A problem with the data: names the path(s) and what is wrong."""


def is_image_file(name: str) -> bool:
  return name.lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder: str) -> list[str]:
  """Image files under `folder`, recursive and sorted (official make_dataset).

  Hidden files and folders (name starting with '.', e.g. macOS '._x.jpg') are
  skipped. A symlinked folder inside is followed only when it stays inside `folder` and
  was not listed already: a link that leaves the folder (`..`, another domain, the test
  split) or loops is skipped with a warning naming it.
  """
  folder = os.path.expanduser(str(folder))
  if not os.path.isdir(folder):
    raise DataError(f'image folder does not exist: {folder}')
  top = os.path.realpath(folder)
  visited, skipped = {top}, []
  paths, others = [], []
  for root, dirs, names in os.walk(folder, followlinks=True):
    kept = []
    for d in dirs:
      if d.startswith('.'):
        continue
      full = os.path.join(root, d)
      real = os.path.realpath(full)
      inside = real == top or real.startswith(top.rstrip(os.sep) + os.sep)
      if os.path.islink(full) and (not inside or real in visited):
        skipped.append(f'{full} -> {real}')
        continue
      if real in visited and real != top:
        continue
      visited.add(real)
      kept.append(d)
    dirs[:] = kept
    for n in names:
      if n.startswith('.'):
        continue
      (paths if is_image_file(n) else others).append(os.path.join(root, n))
  if skipped:
    logging.warning('%d symlinked folder(s) in %s leave it or loop and are not followed: %s',
                    len(skipped), folder, '; '.join(skipped[:5]))
  if not paths:
    raise DataError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) found in {folder}'
                    + (f'; other files: {", ".join(sorted(others)[:5])}' if others else ''))
  if others:
    kinds = sorted({os.path.splitext(p)[1].lower() or '(no extension)' for p in others})
    logging.warning('%d files in %s are not images of a kind read here (%s) and are left '
                    'out, e.g. %s', len(others), folder, ', '.join(kinds[:8]),
                    sorted(others)[0])
  return sorted(paths)


def orientation(img: Image.Image) -> int:
  try:
    return int(img.getexif().get(_EXIF_ORIENTATION, 1) or 1)
  except Exception:  # pylint: disable=broad-except
    return 1  # a broken EXIF block does not stop the image from loading


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
      img = ImageOps.exif_transpose(img) if orientation(img) != 1 else img
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
