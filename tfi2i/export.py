"""Export a trained model as a TF Serving SavedModel.

  python -m tfi2i.export --workdir=DIR [--version=N] [--format=saved_model|onnx] [--eval_mode]
      [--precision=float32|mixed_bfloat16]

`--eval_mode` (pix2pix) exports the official test.py `--eval` behaviour (dropout off, running
batch-norm statistics) instead of the default test mode that keeps dropout on: the outputs
are deterministic, and only then can ONNX hold the model (ONNX export of a graph that draws
random numbers is refused, pointing here). With --format=onnx it exports a new eval-mode
version unless the newest (or --version's) one is in eval mode already.

`--format=onnx` converts the float signatures of a SavedModel version to
`WORKDIR/export/<version>/onnx/<signature>.onnx` (tfi2i.onnx_export; every file is checked
against the SavedModel with onnxruntime). The version: --version=N if that folder exists
(else it is exported first); without --version the newest existing version is reused (it
may predate the latest checkpoint: export a new version first with --format=saved_model to
convert that), and only when there is none is one exported.

Layout (what TF Serving watches): `EXPORT_BASE/<version>/saved_model.pb` with an integer
version. `export_workdir` uses `WORKDIR/export/`. A new export takes the next free version
(1 + the highest integer folder); an existing version is never overwritten. The export is
written to a hidden sibling folder (`.tmp-<version>-<pid>`, which TF Serving ignores) and
renamed into place when complete, so a crash never leaves half an export under a version.

Signatures, for each endpoint N of `model.endpoints()` (tfi2i.endpoints.Endpoint: what it
takes and returns is declared there and recorded in tfi2i.json; CycleGAN: `a_to_b` and
`b_to_a`; `serving_default` is the first endpoint's float signature):

  N          input  `images`: float32 [batch, height, width, 3], RGB in [-1, 1] (values are
                    not checked). Any height and width from 1 to MAX_SIDE: the image is padded
                    at the bottom and right up to a multiple of the model's size multiple and
                    at least its minimum side (`model.padding()`; 8 for CycleGAN) by
                    reflection, clamped to the edge when the image is smaller than the
                    padding; translated; and cropped back. A fixed-size endpoint
                    (`input_size`) resizes the images to that size instead (bilinear) and its
                    picture outputs back to the input's size.
                    The declared inputs: per image ([batch, ...]) or one for the batch.
             outputs the declared outputs: images float32 [batch, height, width, C] in
                    [-1, 1] and heatmaps [batch, height, width, 1] in [0, 1], at the input's
                    size (cropped, or resized for `size='resize'` outputs); vectors as they
                    are (CycleGAN: `output`, C = 3).
  N_bytes    input  `images`: string [batch], each a PNG, JPEG, GIF (first frame) or BMP file;
                    the images of one batch may have different sizes; per-image inputs
                    [batch, ...] go with their image.
             outputs `<output>_bytes` for each picture output of N (CycleGAN: `output_bytes`):
                    string [batch], PNG files at the size of the corresponding input, pixels
                    round(clip((y + 1) * 127.5, 0, 255)) for images, round(clip(y * 255, 0,
                    255)) (gray) for heatmaps; vectors as in N, per image.

Sampled outputs are [batch, K, height, width, C] (K PNGs per image in the bytes form: string
[batch, K]); shared vector outputs (one for the batch) are repeated per image in the bytes
form. The BicycleGAN family adds:
  a_to_b_sample(_bytes)  images + `z` float32 [K, nz] -> `output` [batch, K, h, w, 3]
                         (`output_bytes` [batch, K]): every image with every code;
  a_to_b_random(_bytes)  images + `seed` int64 [] + `num_samples` int32 [] -> `output` as
                         above and `z` [K, nz] (bytes form: [batch, K, nz]), codes drawn from
                         N(0, I) with that seed;
  encode(_bytes)         images (any size, resized to the encoder's 256 or 128 px) ->
                         `mu`, `logvar` float32 [batch, nz].

Errors (InvalidArgumentError, raised by the graph, so TF Serving returns the same text as
INVALID_ARGUMENT; the messages of the limits go on with where and how much, e.g. ': element 0
is a PNG whose header says 23000x23000 (width x height)'):
  'images must be a batch of images: float32 [batch, height, width, 3]'   (ERR_RANK)
  'images must have 3 channels (RGB): float32 [batch, height, width, 3]'  (ERR_CHANNELS)
  'images must hold at least one image'                                   (ERR_EMPTY_BATCH)
  'image height and width must be at least 1'                             (ERR_EMPTY_IMAGE)
  'image height and width must be at most 4096'                           (ERR_TOO_LARGE)
  'images: an element is not a PNG, JPEG, GIF or BMP file'                (ERR_NOT_IMAGE)
  'images: an encoded image is larger than MAX_ENCODED_BYTES'             (ERR_TOO_MANY_BYTES)
  'images: the image size cannot be read from the file header'            (ERR_BAD_HEADER)
  ERR_TOO_LARGE + ' (MAX_SIDE), as the file header says before decoding'  (ERR_HEADER_TOO_LARGE)
  ERR_EMPTY_IMAGE + ', as the file header says before decoding'           (ERR_HEADER_EMPTY)
  'images: the request needs more pixels than MAX_BATCH_PIXELS'           (ERR_TOO_MANY_PIXELS)
  'num_samples must be from 1 to MAX_SAMPLES'                             (ERR_TOO_MANY_SAMPLES)
  'z must hold from 1 to MAX_SAMPLES codes'                               (ERR_TOO_MANY_CODES)
The float `images` input is declared with an unknown shape in the SignatureDef (a loaded
signature does not enforce declared shapes, and a static [-1, -1, -1, 3] would turn the
rank and channel checks into trace-time no-ops), so these checks run in the graph and give
one message everywhere. A file with a valid header but corrupt data fails with the
decoder's own error.

Limits (Limits; export_model(limits=...), defaults below; recorded in tfi2i.json as
max_side, max_encoded_bytes, max_batch_pixels and max_samples). A small request must not
make the server decode or compute more than it can hold, so every limit is checked before
any image is decoded or computed on:
  MAX_SIDE (4096)           height and width of every image; in the bytes form read from
                            the file header before decoding (and checked again after it).
  MAX_ENCODED_BYTES (64 MiB)  bytes of each encoded image of the bytes form.
  MAX_SAMPLES (64)          latent codes K: `num_samples`, or the rows of `z` [K, nz];
                            from 1 (no code fails in the generator with an unclear error).
  MAX_BATCH_PIXELS (4096 * 4096)  pixels of one request: the sum over its images of the
                            larger of what is decoded (the image; for a GIF also its first
                            frame, which giflib holds too) and what the model computes on
                            (K times the image padded to the size multiple and minimum side,
                            or resized to the endpoint's input size). The float form counts
                            batch x that; the bytes form sums the sizes the headers declare,
                            though it decodes one image at a time: the sum bounds the time
                            of a request as well as its memory.
The bytes form reads each file's size as its decoder would, with TF string ops on a few
bytes at a time: PNG, the IHDR chunk (which must come first); JPEG, the first SOF marker,
walking the marker segments as libjpeg does (fill bytes and stray bytes skipped, a segment
length followed; SOI, EOI or SOS first is refused); GIF, the logical screen and the first
frame's descriptor (the larger of each side), walking the extension blocks as giflib does,
and only the bytes up to the end of the first frame are decoded (giflib would read every
frame); BMP, the signed 32-bit width and height at offsets 18 and 22 (a negative height is
a top-down image). JPEG and GIF walks look at 4096 bytes per step whatever the file holds,
so the check costs about as much as reading the file. A header that cannot be read is
refused (ERR_BAD_HEADER, with the reason). The messages (ERR_*), the limits (MAX_*, Limits)
and their checks are in tfi2i.request_limits, the header reading in tfi2i.image_headers.

Metadata: `<version>/assets.extra/tfi2i.json` (model class, recipe, checkpoint step, size
multiple, signatures, the endpoint declarations, inference mode, versions). Warm-up: `<version>/assets.extra/tf_serving_warmup_requests`
holds one small PredictRequest per signature (a gray 64 px image), which TF Serving replays
when it loads the version (--enable_model_warmup, on by default).

Precision: `export_workdir` rebuilds the model under the float32 policy whatever
`train.precision` was (the checkpointed weights are float32 either way), so the exported
graph computes in float32; `--precision=mixed_bfloat16` builds it under that Keras policy
instead (bfloat16 convolutions, float32 variables, norm statistics and outputs; recorded as
`precision` in tfi2i.json). `export_model` exports the model it is given as it is.
"""
import datetime
import json
import os
import shutil
import sys

from absl import flags
from absl import logging
import keras
import numpy as np
import tensorflow as tf

import tfi2i
from tfi2i import cli as cli_lib
from tfi2i import endpoints as ep
from tfi2i import precision as precision_lib
from tfi2i import restore as restore_lib
from tfi2i import workdir as workdir_lib
from tfi2i.endpoints import BYTES_SUFFIX
from tfi2i.endpoints import PNG_SUFFIX
from tfi2i.image_headers import checked_files
from tfi2i.image_headers import FRAME_PIXELS
from tfi2i.image_headers import HEIGHT
from tfi2i.image_headers import KEEP
from tfi2i.image_headers import WIDTH
from tfi2i.request_limits import checked_images
from tfi2i.request_limits import checked_pixels
from tfi2i.request_limits import checked_samples
from tfi2i.request_limits import ERR_EMPTY_BATCH
from tfi2i.request_limits import Limits
from tfi2i.request_limits import MAX_SIDE
from tfi2i.request_limits import require
from tfi2i.versions import METADATA_PATH
from tfi2i.versions import read_metadata
from tfi2i.versions import version_folders
from tfi2i.workdir import PRECISIONS

WARMUP_PATH = os.path.join('assets.extra', 'tf_serving_warmup_requests')
WARMUP_SIDE = 64  # height and width of the warm-up images


def _pad_index(size, padded):
  """Indices 0..padded-1 into 0..size-1: identity, then reflection, clamped to the edge."""
  i = tf.range(padded)
  return tf.clip_by_value(tf.where(i < size, i, 2 * (size - 1) - i), 0, size - 1)


def _model_size(endpoint, h, w, multiple, min_side):
  """(height, width) the endpoint's function computes at for images of h x w: padded to
  the size multiple and min_side, resized to input_size, or as they are."""
  if endpoint.input_size:
    side = int(endpoint.input_size)
    return tf.ones_like(h) * side, tf.ones_like(w) * side
  if endpoint.pad and (multiple > 1 or min_side > 1):
    return (tf.maximum(h + tf.math.floormod(-h, multiple), min_side),
            tf.maximum(w + tf.math.floormod(-w, multiple), min_side))
  return h, w


def _prepare(endpoint, images, multiple, min_side):
  """(images as fn takes them, h, w): checked images resized to a fixed-size endpoint's
  input_size, or padded at the bottom and right by reflection (clamped to the edge) to a
  multiple of `multiple`, at least min_side."""
  h, w = tf.shape(images)[1], tf.shape(images)[2]
  if endpoint.input_size:
    side = int(endpoint.input_size)
    images = tf.image.resize(images, [side, side], method='bilinear')
  elif endpoint.pad and (multiple > 1 or min_side > 1):
    ph, pw = _model_size(endpoint, h, w, multiple, min_side)
    images = tf.gather(images, _pad_index(h, ph), axis=1)
    images = tf.gather(images, _pad_index(w, pw), axis=2)
  return images, h, w


def _resize_to(y, h, w):
  """[..., H', W', C] resized (bilinear) to [..., h, w, C] (any number of leading axes)."""
  shape = tf.shape(y)
  flat = tf.reshape(y, tf.concat([[-1], shape[-3:]], 0))
  out = tf.image.resize(flat, tf.stack([h, w]), method='bilinear')
  return tf.reshape(out, tf.concat([shape[:-3], tf.stack([h, w]), shape[-1:]], 0))


def _call(endpoint, images, extra, multiple, min_side):
  """endpoint.fn on checked images (checked_images), prepared; picture outputs back at the
  input's size (cropped, or resized for RESIZE outputs and fixed-size endpoints); in the
  declared order."""
  x, h, w = _prepare(endpoint, images, multiple, min_side)
  outputs = endpoint.fn(x, **extra)
  declared = [o.name for o in endpoint.outputs]
  if sorted(outputs) != sorted(declared):
    raise ValueError(f'the endpoint returns outputs {sorted(outputs)} but declares {declared}')
  result = {}
  for o in endpoint.outputs:
    y = outputs[o.name]
    if y.dtype.is_floating:
      y = tf.cast(y, tf.float32)
    if o.is_picture:
      y = _resize_to(y, h, w) if (endpoint.input_size or o.size == ep.RESIZE) else y[..., :h, :w, :]
    result[o.name] = y
  return result


def _to_uint8(y):
  return tf.cast(tf.clip_by_value(tf.round((y + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def _heatmap_to_uint8(y):
  return tf.cast(tf.clip_by_value(tf.round(y * 255.0), 0.0, 255.0), tf.uint8)


def input_spec(declared: ep.Input):
  return tf.TensorSpec(declared.full_shape(), tf.as_dtype(declared.dtype), name=declared.name)


def _make_signatures(endpoint, multiple, min_side, limits=Limits()):
  """The float and the bytes tf.function of one endpoint (traced).

  Float form: `images` float32 [batch, H, W, 3] and the declared inputs. Bytes form:
  `images` string [batch], per-image inputs [batch, ...] given with each image, shared ones
  as declared; a picture output [1, H, W, C] becomes one PNG (`<name>_bytes`, string
  [batch]; images from [-1, 1], heatmaps from [0, 1], gray), a sampled one [1, K, H, W, C]
  K PNGs (string [batch, K]); vectors keep their values, stacked over the batch (shared
  ones, such as drawn codes [K, nz], are repeated for each image: [batch, K, nz]).
  Both check `limits` before any image is decoded or computed on.
  """
  names = [i.name for i in endpoint.inputs]
  per_image = [i.name for i in endpoint.inputs if i.per_image]
  specs = [input_spec(i) for i in endpoint.inputs]

  @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name='images')] + specs)
  def float_fn(images, *extra):
    images = checked_images(tf.cast(images, tf.float32))
    extra, samples = checked_samples(endpoint, dict(zip(names, extra)), limits.max_samples)
    shape = tf.shape(images, out_type=tf.int64)
    h, w = shape[1], shape[2]
    mh, mw = _model_size(endpoint, h, w, multiple, min_side)
    pixels = shape[0] * tf.maximum(h * w, samples * mh * mw)
    images = checked_pixels(images, pixels, shape[0], samples, limits.max_batch_pixels)
    return _call(endpoint, images, extra, multiple, min_side)

  float_concrete = float_fn.get_concrete_function()
  outputs = float_concrete.structured_outputs

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='images')] + specs)
  def bytes_fn(images, *extra):
    images = require(tf.size(images) >= 1, ERR_EMPTY_BATCH, images)
    headers = checked_files(images, limits)
    extra, samples = checked_samples(endpoint, dict(zip(names, extra)), limits.max_samples)
    h, w = headers[:, HEIGHT], headers[:, WIDTH]
    mh, mw = _model_size(endpoint, h, w, multiple, min_side)
    # What the decoders hold (GIF: also the first frame) or the model computes on, if more.
    pixels = tf.reduce_sum(tf.maximum(h * w + headers[:, FRAME_PIXELS], samples * mh * mw))
    images = checked_pixels(images, pixels, tf.size(images, out_type=tf.int64), samples,
                            limits.max_batch_pixels)
    shared = {k: v for k, v in extra.items() if k not in per_image}

    def one(elems):
      data, keep, own = elems
      # A GIF is decoded up to the end of its first frame (see _gif_header).
      data = tf.cond(keep >= 0, lambda: tf.strings.join(
          [tf.strings.substr(data, tf.constant(0, tf.int64), keep), ';']), lambda: data)
      image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
      x = checked_images(tf.cast(image, tf.float32)[None] / 127.5 - 1.0)
      result = _call(endpoint, x, {**shared, **{k: v[None] for k, v in own.items()}},
                     multiple, min_side)
      encoded = {}
      for o in endpoint.outputs:
        y = result[o.name]
        if o.is_picture:
          to_uint8 = _to_uint8 if o.kind == ep.IMAGE else _heatmap_to_uint8
          if o.samples:
            encoded[o.name + PNG_SUFFIX] = tf.map_fn(
                lambda s, f=to_uint8: tf.io.encode_png(f(s)), y[0], fn_output_signature=tf.string)
          else:
            encoded[o.name + PNG_SUFFIX] = tf.io.encode_png(to_uint8(y[0]))
        else:
          encoded[o.name] = y if o.shared else y[0]
      return encoded

    spec = {}
    for o in endpoint.outputs:
      v = outputs[o.name]
      if o.is_picture:
        spec[o.name + PNG_SUFFIX] = tf.TensorSpec([None] if o.samples else [], tf.string)
      else:
        spec[o.name] = tf.TensorSpec(v.shape if o.shared else v.shape[1:], v.dtype)
    own = {k: extra[k] for k in per_image}
    # One image at a time: a batch of large images must not all be in flight at once.
    return tf.map_fn(one, (images, headers[:, KEEP], own), fn_output_signature=spec,
                     parallel_iterations=1)

  bytes_fn.get_concrete_function()
  return float_fn, bytes_fn


def _describe(concrete):
  """{'inputs': {name: [dtype, shape]}, 'outputs': {...}} of a concrete function."""
  def spec(s):
    if s.shape.rank is None:
      return [s.dtype.name, None]  # unknown rank: documented in the module docstring
    return [s.dtype.name, [d if d is not None else -1 for d in s.shape.as_list()]]

  inputs = {name: spec(s) for name, s in _input_specs(concrete).items()}
  outputs = {k: spec(v) for k, v in concrete.structured_outputs.items()}
  return {'inputs': inputs, 'outputs': outputs}


def _input_specs(concrete) -> dict:
  """{input name: TensorSpec} of a concrete function, whether its inputs are keyword ones (a
  loaded signature) or positional ones named by their specs (the traced tf.functions)."""
  args, kwargs = concrete.structured_input_signature
  return {s.name: s for s in kwargs.values()} or {s.name: s for s in args}


def warmup_inputs(concrete) -> dict:
  """{input name: NumPy value} of one small valid call of a signature (concrete function):
  a gray WARMUP_SIDE px image (float, or a PNG for string inputs), other inputs with their
  declared shape (unknown dimensions 1) filled with zeros, integer scalars with 1."""
  inputs = {}
  for name, spec in _input_specs(concrete).items():
    if name == 'images' and spec.dtype == tf.string:
      png = tf.io.encode_png(tf.fill([WARMUP_SIDE, WARMUP_SIDE, 3], tf.constant(128, tf.uint8)))
      inputs[name] = np.array([png.numpy()], dtype=object)
    elif name == 'images':
      inputs[name] = np.zeros([1, WARMUP_SIDE, WARMUP_SIDE, 3], np.float32)
    else:
      shape = [1 if d is None else d for d in spec.shape.as_list()]
      fill = 1 if spec.dtype.is_integer and not shape else 0
      inputs[name] = np.full(shape, fill, spec.dtype.as_numpy_dtype)
  return inputs


def write_warmup_requests(path: str, signatures: dict) -> int:
  """Writes TF Serving's warm-up file (assets.extra/tf_serving_warmup_requests: a TFRecord of
  PredictionLog, one PredictRequest per signature, replayed by the server when it loads the
  version, so the first real request does not pay for graph optimisation). Returns the
  number of requests; 0 (no file) without tensorflow-serving-api installed."""
  try:
    from tensorflow_serving.apis import predict_pb2  # pylint: disable=import-outside-toplevel
    from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=import-outside-toplevel
  except ImportError:
    logging.info('tensorflow-serving-api is not installed: no warm-up requests written')
    return 0
  with tf.io.TFRecordWriter(path) as writer:
    for name, concrete in signatures.items():
      request = predict_pb2.PredictRequest()
      request.model_spec.signature_name = name
      for key, value in warmup_inputs(concrete).items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(
            value, dtype=tf.string if value.dtype == object else None))
      log = prediction_log_pb2.PredictionLog(
          predict_log=prediction_log_pb2.PredictLog(request=request))
      writer.write(log.SerializeToString())
  return len(signatures)


def existing_versions(export_base: str) -> list[int]:
  """Integer version folders under export_base, sorted (TF Serving's notion of a version),
  complete or not: a version number is taken once its folder exists."""
  complete, incomplete = version_folders(export_base)
  return sorted(complete + incomplete)


def export_model(model, export_base: str, *, version: int | None = None,
                 metadata: dict | None = None, limits: Limits = Limits()) -> str:
  """Writes `model`'s translation endpoints as a SavedModel under export_base/<version>.

  Args:
    model: a built TranslationModel (its variables exist).
    export_base: folder of versions, created if missing.
    version: integer version; default 1 + the highest existing one. An existing version
      raises FileExistsError and is left untouched.
    metadata: extra JSON-serialisable entries for assets.extra/tfi2i.json (e.g. recipe, step).
    limits: what one request may ask (Limits; the defaults are MAX_ENCODED_BYTES,
      MAX_BATCH_PIXELS and MAX_SAMPLES), recorded in tfi2i.json beside max_side.

  Returns:
    The version folder.
  """
  export_base = os.path.abspath(os.path.expanduser(str(export_base)))
  versions = existing_versions(export_base)
  if version is None:
    version = (versions[-1] + 1) if versions else 1
  if isinstance(version, bool) or not isinstance(version, int) or version < 1:
    raise ValueError(f'export version must be a positive integer, got {version!r}')
  final = os.path.join(export_base, str(version))
  if os.path.exists(final):
    raise FileExistsError(f'export version {version} already exists: {final}; '
                          f'existing versions are never overwritten (existing: {versions})')
  endpoints = model.endpoints()
  if not endpoints:
    raise ValueError(f'{type(model).__name__} has no endpoints to export')
  multiple, min_side = model.padding()

  root = tf.Module()
  signatures, variables = {}, {}
  for name, endpoint in endpoints.items():
    try:
      float_fn, bytes_fn = _make_signatures(endpoint, multiple, min_side, limits)
    except ValueError as e:
      raise ValueError(f'{type(model).__name__} endpoint {name!r}: {e}') from e
    setattr(root, name, float_fn)
    setattr(root, name + BYTES_SUFFIX, bytes_fn)
    signatures[name] = float_fn.get_concrete_function()
    signatures[name + BYTES_SUFFIX] = bytes_fn.get_concrete_function()
    for concrete in (signatures[name], signatures[name + BYTES_SUFFIX]):
      for v in concrete.variables:
        variables[id(v)] = v
  # Only what the endpoints read is saved (generators, not discriminators or optimizers).
  root.endpoint_variables = list(variables.values())
  signatures.setdefault('serving_default', signatures[next(iter(endpoints))])

  info = {
      'format': 'tfi2i-saved-model-1',
      'model': type(model).__name__,
      'version': version,
      'size_multiple': multiple,
      'min_side': min_side,
      'max_side': MAX_SIDE,
      **limits.to_json(),
      'signatures': {k: _describe(c) for k, c in signatures.items()},
      'endpoints': {k: e.to_json() for k, e in endpoints.items()},
      'exported_at': datetime.datetime.now(datetime.timezone.utc).isoformat(),
      'tfi2i': tfi2i.__version__, 'tensorflow': tf.__version__, 'keras': keras.__version__,
      **(metadata or {}),
  }
  os.makedirs(export_base, exist_ok=True)
  tmp = os.path.join(export_base, f'.tmp-{version}-{os.getpid()}')
  shutil.rmtree(tmp, ignore_errors=True)
  try:
    tf.saved_model.save(root, tmp, signatures=signatures)
    os.makedirs(os.path.join(tmp, 'assets.extra'), exist_ok=True)
    info['warmup_requests'] = write_warmup_requests(
        os.path.join(tmp, WARMUP_PATH), {k: c for k, c in signatures.items()
                                         if k != 'serving_default'})
    with open(os.path.join(tmp, METADATA_PATH), 'w') as f:
      json.dump(info, f, indent=2, sort_keys=True, default=str)
    if os.path.exists(final):  # someone else exported this version meanwhile
      raise FileExistsError(f'export version {version} appeared while exporting: {final}')
    os.rename(tmp, final)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return final


def export_workdir(workdir: str, version: int | None = None, mode: str | None = None,
                   precision: str = 'float32') -> str:
  """Restores WORKDIR's latest checkpoint and exports it to WORKDIR/export/<version>
  (mode, precision: see tfi2i.restore; 'auto' is resolved by tfi2i.precision and the
  policy used is recorded as `precision` in tfi2i.json)."""
  choice = precision_lib.choose(precision)
  if choice.requested != choice.policy:
    print(f'export {choice.line()}')
  model, config, step, latest = restore_lib.restore_model(workdir, mode=mode,
                                                          precision=choice.policy)
  metadata = {'recipe': config.to_dict(), 'step': step, 'precision': choice.policy,
              'mode': mode, 'checkpoint': os.path.basename(latest),
              'workdir': os.path.abspath(workdir)}
  return export_model(model, workdir_lib.export_dir(workdir), version=version,
                      metadata=metadata)


def cli(workdir: str, version: int | None = None, fmt: str = 'saved_model',
        eval_mode: bool = False, precision: str = 'float32', mode: str | None = None) -> int:
  """The command line: exports WORKDIR, prints the version folder (ONNX: each file and its
  max abs difference from the SavedModel); returns the exit status. eval_mode is
  mode='eval' (pix2pix: the official test.py --eval)."""
  if eval_mode:
    if mode not in (None, 'eval'):
      print(f'--eval_mode is --mode=eval; it cannot go with --mode={mode}', file=sys.stderr)
      return 2
    mode = 'eval'
  if fmt not in ('saved_model', 'onnx'):
    print(f'--format={fmt} is not supported; use saved_model or onnx', file=sys.stderr)
    return 2
  if fmt == 'onnx' and precision not in ('float32', precision_lib.AUTO):
    print(f'--format=onnx converts float32 exports only; leave out --precision={precision}',
          file=sys.stderr)
    return 2
  try:
    if fmt == 'onnx':  # float32 only ('auto' too: an ONNX graph is float32 everywhere)
      return _cli_onnx(workdir, version, mode)
    path = export_workdir(workdir, version=version, mode=mode, precision=precision)
  except (FileNotFoundError, FileExistsError, ValueError, RuntimeError, AssertionError) as e:
    print(f'export of {workdir} failed: {e}', file=sys.stderr)
    return 1
  print(path)
  return 0


def _cli_onnx(workdir: str, version: int | None, mode: str | None = None) -> int:
  from tfi2i import onnx_export  # pylint: disable=import-outside-toplevel
  base = workdir_lib.export_dir(workdir)
  versions = existing_versions(base)
  if version is not None and version in versions:
    path = os.path.join(os.path.abspath(base), str(version))
    if mode and exported_mode(path) != mode:
      print(f'export version {version} of {workdir} was not exported in mode {mode!r}; '
            f'leave out --version to export a new version in that mode', file=sys.stderr)
      return 1
  elif version is None and versions and (
      not mode or exported_mode(os.path.join(base, str(versions[-1]))) == mode):
    path = os.path.join(os.path.abspath(base), str(versions[-1]))
  else:
    path = export_workdir(workdir, version=version, mode=mode)
  print(f'SavedModel: {path}')
  try:
    report = onnx_export.export_onnx(path)
  except onnx_export.OnnxExportError as e:
    print(onnx_export.format_report(e.report))
    print(f'ONNX export failed: {e}', file=sys.stderr)
    return 1
  print(onnx_export.format_report(report))
  return 0


def exported_mode(version_dir) -> str | None:
  """The inference mode an export version was made in (None: the default mode). Exports
  made before modes were recorded: the mode whose constructor overrides its recipe holds."""
  info = read_metadata(version_dir)
  if 'mode' in info:
    return info['mode']
  try:
    from tfi2i.models import model_class  # pylint: disable=import-outside-toplevel
    import ml_collections  # pylint: disable=import-outside-toplevel
    recipe = ml_collections.ConfigDict(info['recipe'])
    for mode, overrides in model_class(recipe).inference_modes.items():
      if all(recipe.model.get(k) == v for k, v in overrides.items()):
        return mode
  except (KeyError, TypeError, ValueError, AttributeError):
    pass
  return None


def _define_flags():
  # Defined only when run as a program: tfi2i.train also has --workdir and imports this module.
  return dict(
      workdir=flags.DEFINE_string('workdir', None, 'Training workdir (recipe.json, checkpoints/).',
                                  required=True),
      version=flags.DEFINE_integer('version', None,
                                   'Export version; default 1 + the highest existing one.'),
      fmt=flags.DEFINE_enum('format', 'saved_model', ['saved_model', 'onnx'],
                            'Export format: saved_model, or onnx (its float signatures).'),
      eval_mode=flags.DEFINE_bool('eval_mode', False, 'pix2pix: export with the official '
                                  'test.py --eval (dropout off, running batch-norm '
                                  'statistics): deterministic, and convertible to ONNX. '
                                  'The same as --mode=eval.'),
      mode=flags.DEFINE_string('mode', None, 'An inference mode of the model (its '
                               'inference_modes, e.g. pix2pix: eval); default: its '
                               'default mode.'),
      precision=flags.DEFINE_enum('precision', 'float32', list(PRECISIONS),
                                  'Compute precision of the exported graph: float32, or '
                                  'mixed_bfloat16 (bfloat16 compute with float32 weights and '
                                  'outputs: faster on CPUs with AVX512-BF16/AMX, outputs '
                                  'within about 1e-2), or auto (mixed_bfloat16 where this '
                                  'machine has bfloat16 hardware, else float32).'))


if __name__ == '__main__':
  cli_lib.run(_define_flags, cli)
