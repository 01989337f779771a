"""What one request may ask of the signatures tfi2i.export writes (MAX_*, Limits), the
messages of the requests they refuse (ERR_*), and the checks, in the graph, that refuse them
before any image is decoded or computed on. tfi2i.export's docstring lists the messages and
what each limit counts; the bytes form takes the image sizes from the file headers
(tfi2i.image_headers).
"""
import dataclasses

import tensorflow as tf

from tfi2i import endpoints as ep

MAX_SIDE = 4096  # largest height or width the signatures accept
# What one request may ask of a signature (the defaults of Limits; see tfi2i.export's docstring).
MAX_ENCODED_BYTES = 64 << 20  # bytes of one encoded image (a 4096 px RGB PNG of noise: 50 MB)
MAX_BATCH_PIXELS = MAX_SIDE * MAX_SIDE  # pixels of one request: one image at MAX_SIDE
MAX_SAMPLES = 64  # latent codes (K) of one request: num_samples, or the rows of z

ERR_RANK = 'images must be a batch of images: float32 [batch, height, width, 3]'
ERR_CHANNELS = 'images must have 3 channels (RGB): float32 [batch, height, width, 3]'
ERR_EMPTY_BATCH = 'images must hold at least one image'
ERR_EMPTY_IMAGE = 'image height and width must be at least 1'
ERR_TOO_LARGE = f'image height and width must be at most {MAX_SIDE}'
ERR_NOT_IMAGE = 'images: an element is not a PNG, JPEG, GIF or BMP file'
ERR_TOO_MANY_BYTES = 'images: an encoded image is larger than MAX_ENCODED_BYTES'
ERR_BAD_HEADER = 'images: the image size cannot be read from the file header'
ERR_HEADER_TOO_LARGE = f'{ERR_TOO_LARGE} (MAX_SIDE), as the file header says before decoding'
ERR_HEADER_EMPTY = f'{ERR_EMPTY_IMAGE}, as the file header says before decoding'
ERR_TOO_MANY_PIXELS = 'images: the request needs more pixels than MAX_BATCH_PIXELS'
_ERR_SAMPLES = '{name} must be from 1 to MAX_SAMPLES'
_ERR_CODES = '{name} must hold from 1 to MAX_SAMPLES codes'
ERR_TOO_MANY_SAMPLES = _ERR_SAMPLES.format(name='num_samples')
ERR_TOO_MANY_CODES = _ERR_CODES.format(name='z')


@dataclasses.dataclass(frozen=True)
class Limits:
  """What one request may ask of the exported signatures, so that a small request cannot
  make the server decode or compute more than it can hold (recorded in tfi2i.json).

  max_encoded_bytes: bytes of each encoded image of a bytes signature.
  max_batch_pixels: pixels of one request (see tfi2i.export's docstring for what counts).
  max_samples: latent codes K of one request (num_samples, or the rows of z).
  Limits below what the warm-up requests ask (one tfi2i.export.WARMUP_SIDE px image, one
  code, padded to the model's minimum side) would make TF Serving fail to load the version.
  """
  max_encoded_bytes: int = MAX_ENCODED_BYTES
  max_batch_pixels: int = MAX_BATCH_PIXELS
  max_samples: int = MAX_SAMPLES

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'Limits.{field.name} must be a positive integer, got {value!r}')

  def to_json(self) -> dict:
    return dataclasses.asdict(self)


def require(ok, message, x, data=()):
  """x if `ok`, else an InvalidArgumentError 'assertion failed: [message] ...'.

  The check is a data dependency of the result (tf.cond), not a control dependency:
  grappler may run a control-dependent op such as a shape slice before a failing Assert,
  so the documented message would be replaced by an unrelated error.
  """
  def fail():
    with tf.control_dependencies([tf.debugging.Assert(False, [message, *data], summarize=8)]):
      return tf.identity(x)
  return tf.cond(ok, lambda: tf.identity(x), fail)


def checked_images(images):
  """images, after the documented checks (in this order of precedence)."""
  shape = tf.shape(images)
  dims = tf.concat([shape, tf.zeros([4], tf.int32)], 0)[:4]  # valid for any rank
  checks = [
      (tf.equal(tf.size(shape), 4), ERR_RANK),
      (tf.equal(dims[3], 3), ERR_CHANNELS),
      (dims[0] >= 1, ERR_EMPTY_BATCH),
      (tf.reduce_min(dims[1:3]) >= 1, ERR_EMPTY_IMAGE),
      (tf.reduce_max(dims[1:3]) <= MAX_SIDE, ERR_TOO_LARGE),
  ]
  ok, message = checks[-1]
  message = tf.constant(message)
  for cond, text in reversed(checks[:-1]):
    ok = tf.logical_and(ok, cond)
    message = tf.where(cond, message, text)
  images = require(ok, message, images, ['shape:', shape])
  return tf.ensure_shape(images, [None, None, None, 3])


def checked_samples(endpoint, extra, max_samples):
  """(extra, K int64): the declared inputs, with the number of latent codes checked against
  max_samples (ERR_TOO_MANY_SAMPLES, ERR_TOO_MANY_CODES), and K (1 without codes)."""
  extra, k = dict(extra), tf.constant(1, tf.int64)
  for declared in endpoint.inputs:
    value = extra[declared.name]
    if declared.role == ep.NUM_SAMPLES:
      ok = tf.logical_and(value >= 1, value <= max_samples)
      value = require(ok, f'{_ERR_SAMPLES.format(name=declared.name)} ({max_samples})',
                      value, ['got:', value])
      k = tf.cast(value, tf.int64)
    elif (declared.role == ep.CODE and not declared.per_image
          and tuple(declared.shape[:1]) == (None,)):
      count = tf.concat([tf.shape(value, out_type=tf.int64), [0]], 0)[0]  # 0 for a scalar
      ok = tf.logical_and(count >= 1, count <= max_samples)
      value = require(ok, f'{_ERR_CODES.format(name=declared.name)} ({max_samples})',
                      value, ['shape:', tf.shape(value)])
      k = tf.shape(value, out_type=tf.int64)[0]
    extra[declared.name] = value
  return extra, k


def checked_pixels(x, pixels, images, k, max_batch_pixels):
  """x, unless `pixels` (int64, computed from checked sizes) is over max_batch_pixels
  (ERR_TOO_MANY_PIXELS)."""
  return require(pixels <= max_batch_pixels, f'{ERR_TOO_MANY_PIXELS} ({max_batch_pixels})',
                 x, ['pixels:', pixels, 'images:', images, 'samples:', k])
