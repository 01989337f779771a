"""tfi2i.export: SavedModel signatures, padding, bytes I/O, versioning, workdir restore; the
checks of the signatures (tfi2i.request_limits, tfi2i.image_headers)."""
import hashlib
import io
import json
import os

import keras
from conftest import bmp_declaring
from conftest import build_both_directions as _build
from conftest import DIRECTIONS
from conftest import encode_image
from conftest import export_tiny_cyclegan
from conftest import gif_declaring
from conftest import jpeg_declaring
from conftest import png_chunk
from conftest import png_declaring
from conftest import perturb as _perturb
from conftest import TINY_CYCLEGAN as TINY
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tfi2i import config as config_lib
from tfi2i import export
from tfi2i import request_limits
from tfi2i import workdir as workdir_lib
from tfi2i.models import build_model
from tfi2i.models import CycleGAN

RECIPE = os.path.join(os.path.dirname(__file__), '..', 'recipes', 'cyclegan.py')


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  base = str(tmp_path_factory.mktemp('export'))
  model, path = export_tiny_cyclegan(base)
  return model, base, path, tf.saved_model.load(path)


def _random(shape, seed=0):
  return tf.constant(np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32))


def _png(array):
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, format='PNG')
  return buf.getvalue()


def _jpeg(array):
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, format='JPEG', quality=90)
  return buf.getvalue()


def _uint8(y):
  return np.clip(np.round((np.asarray(y) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _tree_digest(folder):
  digest = {}
  for root, _, names in os.walk(folder):
    for n in names:
      p = os.path.join(root, n)
      with open(p, 'rb') as f:
        digest[os.path.relpath(p, folder)] = hashlib.sha256(f.read()).hexdigest()
  return digest


def test_layout_and_signature_defs(exported):
  _, base, path, loaded = exported
  assert path == os.path.join(base, '1')
  assert sorted(os.listdir(base)) == ['1']  # no temporary folder left
  expected = {'a_to_b', 'b_to_a', 'a_to_b_bytes', 'b_to_a_bytes', 'serving_default'}
  assert set(loaded.signatures) == expected
  # What TF Serving and saved_model_cli read: the SignatureDefs in saved_model.pb.
  proto = saved_model_pb2.SavedModel()
  with open(os.path.join(path, 'saved_model.pb'), 'rb') as f:
    proto.ParseFromString(f.read())
  defs = proto.meta_graphs[0].signature_def
  assert expected <= set(defs)
  for name in DIRECTIONS:
    assert list(defs[name].inputs) == ['images']
    assert defs[name].inputs['images'].dtype == tf.float32.as_datatype_enum
    assert list(defs[name].outputs) == ['output']
    assert [d.size for d in defs[name].outputs['output'].tensor_shape.dim] == [-1, -1, -1, 3]
    assert list(defs[name + '_bytes'].inputs) == ['images']
    assert defs[name + '_bytes'].inputs['images'].dtype == tf.string.as_datatype_enum
    assert list(defs[name + '_bytes'].outputs) == ['output_bytes']
  with open(os.path.join(path, export.METADATA_PATH)) as f:
    meta = json.load(f)
  assert meta['model'] == 'CycleGAN' and meta['size_multiple'] == 4
  assert set(meta['signatures']) == expected


def test_warmup_requests_run_on_every_signature(exported):
  """assets.extra/tf_serving_warmup_requests: one valid PredictRequest per signature."""
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
  _, _, path, loaded = exported
  records = list(tf.data.TFRecordDataset(os.path.join(path, export.WARMUP_PATH)))
  requests = [prediction_log_pb2.PredictionLog.FromString(r.numpy()).predict_log.request
              for r in records]
  names = [r.model_spec.signature_name for r in requests]
  assert sorted(names) == sorted(set(loaded.signatures) - {'serving_default'})
  for request in requests:
    outputs = loaded.signatures[request.model_spec.signature_name](
        **{k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()})
    image = next(iter(outputs.values())).numpy()
    assert image.shape[0] == 1
  with open(os.path.join(path, export.METADATA_PATH)) as f:
    assert json.load(f)['warmup_requests'] == len(requests) == 4


@pytest.mark.parametrize('direction', DIRECTIONS)
def test_float_signature_equals_model(exported, direction):
  model, _, _, loaded = exported
  x = _random([2, 32, 28, 3])
  y = loaded.signatures[direction](images=x)['output'].numpy()
  np.testing.assert_allclose(y, model(x, direction=direction).numpy(), atol=1e-5)
  assert np.std(y) > 0.05  # not a constant image


@pytest.mark.parametrize('direction', DIRECTIONS)
def test_float_signature_pads_and_crops(exported, direction):
  model, _, _, loaded = exported
  x = _random([1, 30, 37, 3], seed=1)
  y = loaded.signatures[direction](images=x)['output'].numpy()
  assert y.shape == (1, 30, 37, 3)
  padded = np.pad(x.numpy(), [[0, 0], [0, 2], [0, 3], [0, 0]], mode='reflect')
  expected = model(tf.constant(padded), direction=direction).numpy()[:, :30, :37]
  np.testing.assert_allclose(y, expected, atol=1e-5)


@pytest.mark.parametrize('size', [(1, 1), (2, 3), (5, 1)])
def test_float_signature_tiny_images(exported, size):
  _, _, _, loaded = exported
  y = loaded.signatures['a_to_b'](images=_random([1, *size, 3]))['output']
  assert y.shape == (1, *size, 3)
  assert np.all(np.isfinite(y.numpy()))


def test_bytes_png_equals_quantised_float_path(exported):
  _, _, _, loaded = exported
  image = np.random.default_rng(2).integers(0, 256, (30, 37, 3), dtype=np.uint8)
  out = loaded.signatures['b_to_a_bytes'](images=tf.constant([_png(image)]))
  assert set(out) == {'output_bytes'}
  decoded = np.asarray(Image.open(io.BytesIO(out['output_bytes'].numpy()[0])))
  assert decoded.shape == (30, 37, 3)
  x = tf.constant(image[None].astype(np.float32) / 127.5 - 1.0)
  expected = _uint8(loaded.signatures['b_to_a'](images=x)['output'].numpy()[0])
  assert np.abs(decoded.astype(int) - expected.astype(int)).max() <= 1
  assert decoded.std() > 5


def test_bytes_mixed_batch_with_jpeg(exported):
  _, _, _, loaded = exported
  rng = np.random.default_rng(3)
  small = rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)
  tall = rng.integers(0, 256, (33, 17, 3), dtype=np.uint8)
  jpeg = _jpeg(tall)
  out = loaded.signatures['a_to_b_bytes'](images=tf.constant([_png(small), jpeg]))
  pngs = out['output_bytes'].numpy()
  assert len(pngs) == 2
  first = np.asarray(Image.open(io.BytesIO(pngs[0])))
  second = np.asarray(Image.open(io.BytesIO(pngs[1])))
  assert first.shape == (20, 28, 3) and second.shape == (33, 17, 3)
  decoded = tf.io.decode_jpeg(jpeg, channels=3).numpy()  # the decoder the graph uses
  x = tf.constant(decoded[None].astype(np.float32) / 127.5 - 1.0)
  expected = _uint8(loaded.signatures['a_to_b'](images=x)['output'].numpy()[0])
  assert np.abs(second.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize('images, message', [
    (np.zeros([1, 8, 8, 4], np.float32), request_limits.ERR_CHANNELS),
    (np.zeros([1, 8, 8, 1], np.float32), request_limits.ERR_CHANNELS),
    (np.zeros([8, 8, 3], np.float32), request_limits.ERR_RANK),
    (np.zeros([0, 8, 8, 3], np.float32), request_limits.ERR_EMPTY_BATCH),
    (np.zeros([1, 0, 8, 3], np.float32), request_limits.ERR_EMPTY_IMAGE),
    (np.zeros([1, request_limits.MAX_SIDE + 1, 1, 3], np.float32), request_limits.ERR_TOO_LARGE),
])
def test_float_signature_rejects_bad_input(exported, images, message):
  _, _, _, loaded = exported
  with pytest.raises(tf.errors.InvalidArgumentError, match=message.replace('[', r'\[')
                     .replace(']', r'\]').replace('(', r'\(').replace(')', r'\)')):
    loaded.signatures['a_to_b'](images=tf.constant(images))


@pytest.mark.parametrize('data, message', [
    ([b'this is not an image'], request_limits.ERR_NOT_IMAGE),
    ([b''], request_limits.ERR_NOT_IMAGE),
    ([], request_limits.ERR_EMPTY_BATCH),
])
def test_bytes_signature_rejects_bad_input(exported, data, message):
  _, _, _, loaded = exported
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    loaded.signatures['a_to_b_bytes'](images=tf.constant(data, tf.string))


def _refusal(signature, data, **inputs):
  """The message of the InvalidArgumentError a signature raises for a batch of files."""
  with pytest.raises(tf.errors.InvalidArgumentError) as error:
    signature(images=tf.constant(data, tf.string), **inputs)
  return error.value.message


# A COM segment, stray bytes, FF 00 and FF fill bytes: libjpeg skips them all before SOF.
_JPEG_DETOURS = b'\xff\xfe\x00\x05abc' + b'stray\xff\x00' + b'\xff\xff\xff'


@pytest.mark.parametrize('data, size', [
    (png_declaring(23000, 23000), '23000x23000'),  # 69 bytes on the wire
    (png_declaring(5000, 1), '5000x1'),
    (jpeg_declaring(60000, 50000), '60000x50000'),
    (jpeg_declaring(50000, 4000, _JPEG_DETOURS), '50000x4000'),
    (gif_declaring(30000, 30000), '30000x30000'),
    (gif_declaring(8, 8, frame=(9000, 8)), '9000x8'),  # a small screen, a huge first frame
    (bmp_declaring(30000, -30000), '30000x30000'),  # top-down
    (bmp_declaring(8, 4097), '8x4097'),
], ids=['png', 'png-wide', 'jpeg', 'jpeg-detours', 'gif', 'gif-frame', 'bmp-top-down',
        'bmp-tall'])
def test_bytes_signature_refuses_large_headers_before_decoding(exported, data, size):
  """Decoding these would fail with the decoder's own error (their data is 8x8 px), so the
  message shows that the header alone refused them."""
  good = _png(np.zeros([8, 8, 3], np.uint8))
  message = _refusal(exported[3].signatures['a_to_b_bytes'], [good, data])
  assert request_limits.ERR_HEADER_TOO_LARGE in message and request_limits.ERR_TOO_LARGE in message
  fmt = {b'\x89P': 'PNG', b'\xff\xd8': 'JPEG', b'GI': 'GIF', b'BM': 'BMP'}[data[:2]]
  assert f'element 1 is a {fmt} whose header says {size} (width x height)' in message


@pytest.mark.parametrize('data, message', [
    (bmp_declaring(0, 8),
     f'{request_limits.ERR_HEADER_EMPTY}: element 0 is a BMP whose header says 0x8'),
    (png_declaring(1, 0),
     f'{request_limits.ERR_HEADER_EMPTY}: element 0 is a PNG whose header says 1x0'),
    (png_declaring(8, 8)[:20], 'element 0 (PNG): the file ends inside its header'),
    (b'\x89PNG\r\n\x1a\n' + png_chunk(b'tEXt', b'a\x00b') + png_declaring(8, 8)[8:],
     'element 0 (PNG): its first chunk is not IHDR'),
    (b'\xff\xd8\xff\xe0\x00\x10JFIF', 'element 0 (JPEG): the file ends before its SOF'),
    (b'\xff\xd8\xff\xda\x00\x08' + bytes(20), 'element 0 (JPEG): no SOF (frame header) marker '
     'before the image data'),
    (b'\xff\xd8\xff\xe0\x00\x01' + bytes(20), 'element 0 (JPEG): a marker segment before the '
     'SOF marker has a length below 2'),
    (gif_declaring(8, 8)[:11], 'element 0 (GIF): the file ends inside its header'),
    (bmp_declaring(8, 8)[:24], 'element 0 (BMP): the file ends inside its header'),
])
def test_bytes_signature_refuses_unreadable_headers(exported, data, message):
  text = _refusal(exported[3].signatures['a_to_b_bytes'], [data])
  assert message in text
  if 'header says' not in message:
    assert request_limits.ERR_BAD_HEADER in text


def test_bytes_signature_reads_headers_as_the_decoders_do(exported, odd_image_files):
  """No file a decoder takes is refused, whatever comes before its size: every format of
  the odd_image_files fixture (16-bit, palette, animated GIF, progressive, CMYK and EXIF
  JPEGs), a top-down BMP, a JPEG with a thumbnail of another size inside EXIF, marker
  detours and segments that span the 4096-byte steps of the walk, and a GIF whose first
  frame's data spans several steps."""
  rng = np.random.default_rng(7)
  files = {}
  for name, (path, _) in odd_image_files.items():
    with open(path, 'rb') as f:
      files[name] = f.read()
  bottom_up = bytearray(encode_image('BMP', rng.integers(0, 256, (5, 8, 3), dtype=np.uint8)))
  rows = [bottom_up[54 + r * 24:54 + (r + 1) * 24] for r in range(5)]
  top_down = bottom_up[:22] + (-5).to_bytes(4, 'little', signed=True) + bottom_up[26:54]
  files['top_down.bmp'] = bytes(top_down + b''.join(reversed(rows)))
  thumbnail = jpeg_declaring(9999, 9999)  # a naive scan for FF C0 would find this size
  app1 = b'Exif\x00\x00' + thumbnail
  long_segments = b''.join(b'\xff\xe2' + (5000 + i).to_bytes(2, 'big') + bytes(4998 + i)
                           for i in range(3))
  for name, before in (('thumbnail.jpg', b'\xff\xe1' + (len(app1) + 2).to_bytes(2, 'big') + app1),
                       ('detours.jpg', _JPEG_DETOURS + long_segments + b'x' * 4093 + b'\xff')):
    # not one colour: through instance norm a flat image is rounding noise amplified layer
    # by layer, which two graphs of the same model need not round alike (BUILD_NOTES.md)
    files[name] = jpeg_declaring(8, 8, before, rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
  noise = [Image.fromarray(rng.integers(0, 256, (120, 150, 3), dtype=np.uint8)).quantize(256)
           for _ in range(2)]
  buf = io.BytesIO()
  noise[0].save(buf, format='GIF', save_all=True, append_images=noise[1:], comment=b'c' * 9000)
  files['long.gif'] = buf.getvalue()
  assert len(files['long.gif']) > 3 * 4096
  loaded = exported[3]
  for name, data in files.items():
    expected = tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
    out = loaded.signatures['a_to_b_bytes'](images=tf.constant([data]))['output_bytes']
    got = np.asarray(Image.open(io.BytesIO(out.numpy()[0])))
    assert got.shape == expected.shape, name
    x = tf.constant(expected[None].astype(np.float32) / 127.5 - 1.0)
    want = _uint8(loaded.signatures['a_to_b'](images=x)['output'].numpy()[0])
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, name


@pytest.fixture(scope='module')
def limited(tmp_path_factory):
  """A tiny CycleGAN exported with small limits (the loaded SavedModel and its folder)."""
  limits = request_limits.Limits(max_encoded_bytes=2000, max_batch_pixels=3 * 24 * 24,
                                 max_samples=2)
  model = _build(CycleGAN(**TINY))
  path = export.export_model(model, str(tmp_path_factory.mktemp('limited')), limits=limits)
  return tf.saved_model.load(path), path


def test_limits_are_recorded(exported, limited):
  for path, limits in ((exported[2], request_limits.Limits()),
                       (limited[1], request_limits.Limits(2000, 1728, 2))):
    with open(os.path.join(path, export.METADATA_PATH)) as f:
      meta = json.load(f)
    assert meta['max_side'] == request_limits.MAX_SIDE
    assert (meta['max_encoded_bytes'], meta['max_batch_pixels'], meta['max_samples']) == (
        limits.max_encoded_bytes, limits.max_batch_pixels, limits.max_samples)
  assert (request_limits.MAX_ENCODED_BYTES, request_limits.MAX_BATCH_PIXELS,
          request_limits.MAX_SAMPLES) == (64 << 20, 4096 * 4096, 64)
  for bad in (0, -1, 1.5, True, None):
    with pytest.raises(ValueError, match='Limits.max_samples must be a positive integer'):
      request_limits.Limits(max_samples=bad)


def test_encoded_size_limit(limited):
  signature = limited[0].signatures['a_to_b_bytes']
  small = _png(np.zeros([24, 24, 3], np.uint8))
  noise = _png(np.random.default_rng(3).integers(0, 256, (30, 30, 3), dtype=np.uint8))
  assert len(small) < 2000 < len(noise)
  message = _refusal(signature, [small, noise])
  assert (f'{request_limits.ERR_TOO_MANY_BYTES} (2000 bytes): element 1 is {len(noise)} bytes'
          in message)
  assert signature(images=tf.constant([small]))['output_bytes'].shape == (1,)
  assert len(png_declaring(23000, 23000)) < 100  # what the header check is for


def test_pixel_limit(limited):
  """3 x 24 x 24 = 1728 pixels pass; one more image, or larger ones, do not."""
  loaded = limited[0]
  np.testing.assert_equal(loaded.signatures['a_to_b'](images=_random([3, 24, 24, 3]))[
      'output'].shape, [3, 24, 24, 3])
  for images, pixels in ((_random([4, 24, 24, 3]), 2304), (_random([1, 44, 40, 3]), 1760)):
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
      loaded.signatures['a_to_b'](images=images)
    message = error.value.message
    assert f'{request_limits.ERR_TOO_MANY_PIXELS} (1728)' in message
    assert f'[pixels:] [{pixels}] [images:] [{images.shape[0]}]' in message
  # The bytes form adds up the sizes its headers declare, before decoding any; a 24x1 image
  # counts as the 24x8 the model computes on (CycleGAN pads to at least 8 px).
  png = _png(np.zeros([24, 24, 3], np.uint8))
  message = _refusal(loaded.signatures['a_to_b_bytes'], [png, png, png, png_declaring(24, 1)])
  assert f'{request_limits.ERR_TOO_MANY_PIXELS} (1728)' in message and '[pixels:] [1920]' in message
  out = loaded.signatures['a_to_b_bytes'](images=tf.constant([png] * 3))['output_bytes']
  assert out.shape == (3,)


def test_versions_are_never_overwritten(exported):
  model, base, first, _ = exported
  before = _tree_digest(first)
  with pytest.raises(FileExistsError, match='version 1 already exists'):
    export.export_model(model, base, version=1)
  for bad in (0, -3, '2', True):
    with pytest.raises(ValueError, match='positive integer'):
      export.export_model(model, base, version=bad)
  second = export.export_model(model, base)
  assert second == os.path.join(base, '2')
  assert _tree_digest(first) == before
  assert sorted(os.listdir(base)) == ['1', '2']
  assert export.existing_versions(base) == [1, 2]


def test_failed_export_leaves_no_version(exported, monkeypatch, tmp_path):
  model = exported[0]

  def crash(*args, **kwargs):
    raise RuntimeError('disk full')

  monkeypatch.setattr(tf.saved_model, 'save', crash)
  with pytest.raises(RuntimeError, match='disk full'):
    export.export_model(model, str(tmp_path), version=5)
  assert os.listdir(tmp_path) == []


def _tiny_recipe(**model):
  config = config_lib.load_recipe(RECIPE)
  config.model.update(dict(TINY, **model))
  return config


def _make_workdir(path, config, model=None, step=7):
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, 'recipe.json'), 'w') as f:
    f.write(json.dumps(config.to_dict()))
  if model is not None:
    checkpoint = tf.train.Checkpoint(step=tf.Variable(step, dtype=tf.int64), model=model)
    tf.train.CheckpointManager(checkpoint, os.path.join(path, 'checkpoints'), 3).save()
  return str(path)


def test_export_workdir_round_trip_in_float32(tmp_path):
  config = _tiny_recipe()
  config.train.precision = 'mixed_bfloat16'
  model = _build(build_model(config))
  _perturb(model, 4)
  workdir = _make_workdir(tmp_path / 'run', config, model, step=7)
  keras.mixed_precision.set_global_policy('mixed_bfloat16')  # export must not use it
  try:
    path = export.export_workdir(workdir)
    assert keras.mixed_precision.global_policy().name == 'mixed_bfloat16'  # restored
  finally:
    keras.mixed_precision.set_global_policy('float32')
  assert path == os.path.join(workdir, 'export', '1')
  loaded = tf.saved_model.load(path)
  x = _random([1, 16, 20, 3], seed=5)
  for direction in DIRECTIONS:
    np.testing.assert_allclose(loaded.signatures[direction](images=x)['output'].numpy(),
                               model(x, direction=direction).numpy(), atol=1e-5)
  with open(os.path.join(path, export.METADATA_PATH)) as f:
    meta = json.load(f)
  assert meta['step'] == 7
  assert meta['recipe']['model']['ngf'] == 4


def test_export_workdir_in_bfloat16(tmp_path, capsys):
  """--precision=mixed_bfloat16: bfloat16 compute, float32 outputs close to float32's."""
  # seeded: the mean difference depends on the weights (over 1/255 for some draws)
  keras.utils.set_random_seed(0)
  config = _tiny_recipe()
  model = _build(build_model(config))
  _perturb(model, 6)
  workdir = _make_workdir(tmp_path / 'run', config, model)
  assert export.cli(workdir, precision='mixed_bfloat16') == 0
  assert keras.mixed_precision.global_policy().name == 'float32'  # restored
  path = os.path.join(workdir, 'export', '1')
  loaded = tf.saved_model.load(path)
  x = _random([1, 24, 20, 3], seed=8)
  got = loaded.signatures['a_to_b'](images=x)['output']
  assert got.dtype == tf.float32
  expected = model(x, direction='a_to_b').numpy()
  diff = np.abs(got.numpy() - expected)
  assert 1e-4 < diff.max() < 0.1  # bfloat16 arithmetic: not float32's, but close to it
  assert diff.mean() * 127.5 <= 1.0  # within 1/255 of the range on average (issue 16)
  graph_def = loaded.signatures['a_to_b'].graph.as_graph_def()
  dtypes = {a.type for f in graph_def.library.function for n in f.node_def
            if n.op == 'Conv2D' for k, a in n.attr.items() if k == 'T'}
  assert dtypes == {tf.bfloat16.as_datatype_enum}
  with open(os.path.join(path, export.METADATA_PATH)) as f:
    assert json.load(f)['precision'] == 'mixed_bfloat16'
  capsys.readouterr()
  assert export.cli(workdir, fmt='onnx', precision='mixed_bfloat16') == 2
  assert 'float32 exports only' in capsys.readouterr().err


def test_export_workdir_without_checkpoint(tmp_path):
  workdir = _make_workdir(tmp_path / 'run', _tiny_recipe())
  with pytest.raises(FileNotFoundError, match='no checkpoint in .*checkpoints'):
    export.export_workdir(workdir)
  assert not os.path.exists(os.path.join(workdir, 'export'))


def test_export_workdir_with_mismatched_checkpoint(tmp_path):
  model = _build(build_model(_tiny_recipe()))
  workdir = _make_workdir(tmp_path / 'run', _tiny_recipe(), model)
  _make_workdir(workdir, _tiny_recipe(n_blocks=2))  # recipe no longer matches the weights
  with pytest.raises(AssertionError):
    export.export_workdir(workdir)


def test_untracked_weights_are_detected():
  # The failure mode the check guards against: Keras 3 does not checkpoint list-held layers.
  class ListHolder(keras.layers.Layer):

    def __init__(self):
      super().__init__()
      self.direct = keras.layers.Dense(2)
      self.body = [keras.layers.Dense(2)]

    def call(self, x):
      return self.body[0](self.direct(x))

  layer = ListHolder()
  layer(tf.zeros([1, 2]))
  assert {id(w) for w in workdir_lib.untracked_weights(layer)} == {
      id(w) for w in layer.body[0].weights}


def test_cli_refuses_unknown_formats_and_reports_errors(tmp_path, capsys):
  assert export.cli(str(tmp_path), fmt='tflite') == 2
  assert 'not supported' in capsys.readouterr().err
  workdir = _make_workdir(tmp_path / 'run', _tiny_recipe())
  assert export.cli(workdir) == 1
  assert 'no checkpoint' in capsys.readouterr().err
