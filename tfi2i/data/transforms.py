"""Decoding and preprocessing in the tf.data graph (official data/base_dataset.py).

`get_transform` follows get_transform() of the official code: resize (bicubic, as
PIL BICUBIC) and/or random crop, random horizontal flip, scale to [-1, 1]. Every
random choice is a stateless op on a seed passed in, so a sample's augmentation
is a pure function of that seed.

Deviations, all where the official code would crash or cannot batch:
  * an image smaller than crop_size (after resizing) is first resized up,
    keeping its aspect, so that its short side is crop_size;
  * 'scale_width' with batch_size > 1 and images that do not all come out the
    same size: center crop to crop_size x crop_size;
  * 'none' with batch_size > 1 needs images that all come out the same size
    (checked up front for folders; a tf.data error at run time for TFDS).
"""
from typing import Callable, Optional, Sequence

from absl import logging
import tensorflow as tf

from tfi2i.data import images

PREPROCESS_MODES = ('resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop',
                    'none', 'center_crop_and_resize')
# the modes whose every output is crop_size x crop_size
SQUARE_CROP_MODES = ('resize_and_crop', 'crop', 'scale_width_and_crop', 'center_crop_and_resize')
_MAKE_POWER_2_BASE = 4  # official __make_power_2(img, base=4)


def to_float(img_uint8):
  """uint8 [0, 255] -> float32 [-1, 1] (official Normalize((0.5,)*3, (0.5,)*3))."""
  return tf.cast(img_uint8, tf.float32) / 127.5 - 1.0


def to_uint8(img_float):
  """float [-1, 1] -> uint8 [0, 255], rounded and clipped."""
  x = (tf.cast(img_float, tf.float32) + 1.0) * 127.5
  return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)


# ----------------------------------------------------------------------------- decode


def _png(raw):
  # 8-bit PNGs come back multiplied by 257, so >> 8 restores them exactly; 16-bit
  # ones keep their high byte, as PIL does for 16-bit RGB.
  img = tf.io.decode_png(raw, channels=3, dtype=tf.uint16)
  return tf.cast(tf.bitwise.right_shift(img, tf.constant(8, tf.uint16)), tf.uint8)


def _jpeg(raw):
  # INTEGER_ACCURATE is libjpeg's default and so PIL's: same pixels as PIL.
  return tf.io.decode_jpeg(raw, channels=3, dct_method='INTEGER_ACCURATE')


def _pil(path):
  img = tf.numpy_function(images.load_image, [path], tf.uint8, stateful=False)
  return tf.ensure_shape(img, [None, None, 3])


def decode_file(path, codec):
  """File -> uint8 HxWx3; `codec` from scan.scan_image (PNG, JPEG or PIL)."""
  img = tf.switch_case(
      tf.cast(codec, tf.int32),
      {images.CODEC_PIL: lambda: _pil(path),
       images.CODEC_PNG: lambda: _png(tf.io.read_file(path)),
       images.CODEC_JPEG: lambda: _jpeg(tf.io.read_file(path))})
  img.set_shape([None, None, 3])
  return img


def decode_bytes(raw):
  """Encoded PNG/JPEG (GIF, BMP through TF's decoders) bytes -> uint8 HxWx3."""
  img = tf.cond(tf.io.is_jpeg(raw), lambda: _jpeg(raw), lambda: _png(raw))
  img.set_shape([None, None, 3])
  return img


# ----------------------------------------------------------------------------- sizes


def _check_cfg(cfg) -> tuple[str, int, int]:
  mode = cfg.preprocess
  if mode not in PREPROCESS_MODES:
    raise images.DataError(f'unknown data.preprocess {mode!r}; one of {PREPROCESS_MODES}')
  load, crop = int(cfg.load_size), int(cfg.crop_size)
  if load < 1 or crop < 1:
    raise images.DataError(f'data.load_size ({load}) and data.crop_size ({crop}) must be > 0')
  return mode, load, crop


def _scale_width_size(h, w, load, crop):
  """Official __scale_width: width load_size, height max(load*h/w, crop)."""
  if w == load and h >= crop:
    return h, w
  return max(int(load * h / w), crop), load


def _power_2_size(h, w):
  """Official __make_power_2: nearest multiple of 4 (round half to even)."""
  b = _MAKE_POWER_2_BASE
  return max(b, int(round(h / b) * b)), max(b, int(round(w / b) * b))


def output_size(h: int, w: int, cfg) -> tuple[int, int]:
  """(H, W) that get_transform(cfg, batch_size=1) gives for an h x w image."""
  mode, load, crop = _check_cfg(cfg)
  if mode in SQUARE_CROP_MODES:
    return crop, crop
  if mode == 'scale_width':
    h, w = _scale_width_size(h, w, load, crop)
    return h, w
  return _power_2_size(h, w)


# ------------------------------------------------------------------------ transforms


def _resize_pass(img, size, method):
  out = tf.image.resize(img, size, method=method, antialias=True)
  return tf.round(tf.clip_by_value(out, 0.0, 255.0))


def resize(img, size, method='bicubic'):
  """float HxWx3 in [0, 255] -> `size` (h, w), as PIL's BICUBIC (or BILINEAR) resize.

  Like PIL: antialiased bicubic (a=-0.5), width first, then height, each pass
  rounded and clipped to 8 bits. Matches PIL within 1 level.
  """
  size = tf.cast(size, tf.int32)
  img = _resize_pass(img, tf.stack([tf.shape(img)[0], size[1]]), method)
  return _resize_pass(img, size, method)


def _shape(img):
  s = tf.shape(img)
  return s[0], s[1]


def _ensure_min(img, crop):
  """Resize up (aspect kept) so that the short side is at least `crop`."""
  h, w = _shape(img)
  short = tf.minimum(h, w)

  def up():
    f = tf.cast(crop, tf.float64) / tf.cast(short, tf.float64)
    nh = tf.maximum(crop, tf.cast(tf.math.ceil(tf.cast(h, tf.float64) * f - 1e-6), tf.int32))
    nw = tf.maximum(crop, tf.cast(tf.math.ceil(tf.cast(w, tf.float64) * f - 1e-6), tf.int32))
    return resize(img, tf.stack([nh, nw]))

  return tf.cond(short < crop, up, lambda: img)


def random_crop(img, crop, seed):
  """Uniform crop x crop window (torchvision RandomCrop), stateless."""
  img = _ensure_min(img, crop)
  h, w = _shape(img)
  top = tf.random.stateless_uniform([], seed=tf.random.experimental.stateless_fold_in(seed, 0),
                                    minval=0, maxval=h - crop + 1, dtype=tf.int32)
  left = tf.random.stateless_uniform([], seed=tf.random.experimental.stateless_fold_in(seed, 1),
                                     minval=0, maxval=w - crop + 1, dtype=tf.int32)
  return img[top:top + crop, left:left + crop, :]


def center_crop(img, crop):
  img = _ensure_min(img, crop)
  h, w = _shape(img)
  top, left = (h - crop) // 2, (w - crop) // 2
  return img[top:top + crop, left:left + crop, :]


def random_flip(img, seed):
  """Horizontal flip with probability 0.5, stateless."""
  u = tf.random.stateless_uniform([], seed=seed)
  return tf.cond(u < 0.5, lambda: tf.reverse(img, axis=[1]), lambda: img)


def _scale_width(img, load, crop):
  h, w = _shape(img)
  keep = tf.logical_and(tf.equal(w, load), h >= crop)

  def scale():
    nh = tf.maximum(tf.cast(tf.cast(load * h, tf.float64) / tf.cast(w, tf.float64), tf.int32),
                    crop)
    return resize(img, tf.stack([nh, tf.constant(load)]))

  return tf.cond(keep, lambda: img, scale)


def _make_power_2(img):
  h, w = _shape(img)
  b = float(_MAKE_POWER_2_BASE)
  nh = tf.maximum(_MAKE_POWER_2_BASE, tf.cast(tf.round(tf.cast(h, tf.float32) / b) * b, tf.int32))
  nw = tf.maximum(_MAKE_POWER_2_BASE, tf.cast(tf.round(tf.cast(w, tf.float32) / b) * b, tf.int32))
  same = tf.logical_and(tf.equal(nh, h), tf.equal(nw, w))
  return tf.cond(same, lambda: img, lambda: resize(img, tf.stack([nh, nw])))


TINY_FACTOR = 4  # images more than this much smaller than the crop are warned about


def get_transform(cfg, batch_size: int = 1,
                  sizes: Optional[Sequence[tuple[int, int]]] = None,
                  name: str = '') -> Callable:
  """Returns fn(img_uint8 HxWx3, seed [2]) -> float32 HxWx3 in [-1, 1].

  Args:
    cfg: the data config (preprocess, load_size, crop_size, flip).
    batch_size: with batch_size > 1 every output must have the same size.
    sizes: (h, w) of every input image when known (folder source), to check
      that 'scale_width' / 'none' outputs can be batched; None for unknown.
    name: what the images are (for messages), e.g. a folder.
  """
  mode, load, crop = _check_cfg(cfg)
  flip = bool(cfg.flip)
  out_sizes = sorted({output_size(h, w, cfg) for h, w in sizes}) if sizes else None
  if sizes and crop:
    tiny = [(h, w) for h, w in sizes if min(h, w) * TINY_FACTOR < crop]
    if tiny:
      logging.warning('%d of the %d images of %s have a side shorter than 1/%d of the '
                      '%d px training crop (e.g. %dx%d): they are upscaled more than %dx.',
                      len(tiny), len(sizes), name or 'the data', TINY_FACTOR, crop,
                      *tiny[0], TINY_FACTOR)
  uniform = out_sizes is not None and len(out_sizes) == 1
  static = [crop, crop] if mode in SQUARE_CROP_MODES else (list(out_sizes[0]) if uniform else None)
  center = False
  if mode == 'scale_width' and batch_size > 1 and not uniform:
    center, static = True, [crop, crop]
    logging.info("preprocess='scale_width' with batch_size %d: %s images of different "
                 'sizes are center-cropped to %dx%d.', batch_size, name, crop, crop)
  if mode == 'none' and batch_size > 1 and out_sizes is not None and not uniform:
    raise images.DataError(
        f"preprocess='none' with batch_size={batch_size} needs images of one size, but "
        f'{name or "the images"} come out in {len(out_sizes)} sizes (e.g. '
        f'{", ".join(f"{h}x{w}" for h, w in out_sizes[:3])}); use batch_size=1 or '
        'another preprocess mode')

  def transform(img, seed):
    x = tf.cast(img, tf.float32)
    crop_seed = tf.random.experimental.stateless_fold_in(seed, 0)
    if mode == 'resize_and_crop':
      x = random_crop(resize(x, [load, load]), crop, crop_seed)
    elif mode == 'crop':
      x = random_crop(x, crop, crop_seed)
    elif mode == 'scale_width':
      x = _scale_width(x, load, crop)
      if center:
        x = center_crop(x, crop)
    elif mode == 'scale_width_and_crop':
      x = random_crop(_scale_width(x, load, crop), crop, crop_seed)
    elif mode == 'center_crop_and_resize':
      # StarGAN's CelebA transform: CenterCrop(celeba_crop_size), Resize(image_size)
      # (torchvision's default PIL interpolation, bilinear, antialiased when shrinking)
      x = resize(center_crop(x, load), [crop, crop], method='bilinear')
    else:
      x = _make_power_2(x)
    if flip:
      x = random_flip(x, tf.random.experimental.stateless_fold_in(seed, 1))
    x = x / 127.5 - 1.0
    x.set_shape((static or [None, None]) + [3])
    return x

  return transform

