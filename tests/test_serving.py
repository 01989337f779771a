"""Serving over TF Serving's real protocols: tfi2i.serving.client against a server process.

The server is tfi2i's development server (tfi2i.serving.devserver: TF Serving's REST and gRPC
APIs over the SavedModels) and, when `tensorflow_model_server` is on PATH, also the real one,
both started by tfi2i.serving.launch with the same flags and the models.config written by
tfi2i.serving.config.
"""
import base64
import json
import os

from conftest import bmp_declaring
from conftest import build_both_directions
from conftest import free_ports
from conftest import gif_declaring
from conftest import jpeg_declaring
from conftest import perturb
from conftest import png_declaring
from conftest import TINY_BICYCLE
from conftest import TINY_CYCLEGAN
import grpc
import numpy as np
from PIL import Image
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from tfi2i import export
from tfi2i import request_limits
from tfi2i import translate as translate_lib
from tfi2i.models import BicycleGAN
from tfi2i.models import CycleGAN
from tfi2i.models import Pix2Pix
from tfi2i.serving import client as client_lib
from tfi2i.serving import config as config_lib
from tfi2i.serving.launch import REAL_SERVER
from tfi2i.serving.launch import Server
from tfi2i.versions import read_metadata

SERVERS = [
    'devserver',
    pytest.param('real', marks=pytest.mark.skipif(
        REAL_SERVER is None, reason='tensorflow_model_server is not on PATH')),
]


_png = client_lib.encode_png


def _image(h, w, seed):
  yy, xx = np.mgrid[0:h, 0:w]
  rng = np.random.default_rng(seed)
  smooth = np.stack([xx * 7 + seed, yy * 9, (xx + yy) * 4], -1) % 256
  return np.clip(smooth + rng.integers(-20, 20, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope='module')
def exports(tmp_path_factory):
  """{name: export base} for one model of each landed family (CycleGAN with 2 versions),
  and `limited`: a CycleGAN exported with small limits (4096 bytes, 64 x 64 pixels: its
  warm-up request, one 64 px image, still passes)."""
  root = tmp_path_factory.mktemp('served')
  cyclegan = build_both_directions(CycleGAN(**TINY_CYCLEGAN))
  perturb(cyclegan, 0)
  export.export_model(cyclegan, str(root / 'cyclegan'))
  perturb(cyclegan, 1)  # version 2 differs from version 1
  export.export_model(cyclegan, str(root / 'cyclegan'))
  # eval_mode: deterministic. The official test mode keeps dropout on, so each call draws
  # new masks and a server's outputs depend on how many calls it has served.
  pix2pix = Pix2Pix(**dict(ngf=4, ndf=4, num_downs=7, eval_mode=True))
  bicycle = BicycleGAN(**dict(TINY_BICYCLE, variant='bicycle'))
  for name, model, seed in (('pix2pix', pix2pix, 2), ('bicycle', bicycle, 3)):
    model.build_endpoints()
    perturb(model, seed)
    export.export_model(model, str(root / name))
  export.export_model(cyclegan, str(root / 'limited'), limits=request_limits.Limits(
      max_encoded_bytes=4096, max_batch_pixels=64 * 64))
  return {name: str(root / name) for name in ('cyclegan', 'pix2pix', 'bicycle', 'limited')}


@pytest.fixture(scope='module', params=SERVERS)
def server(request, exports, tmp_path_factory):
  folder = tmp_path_factory.mktemp('server')
  config_path = str(folder / 'models.config')
  config_lib.write_config(exports, config_path, versions='all')
  running = Server(request.param, config_path, list(exports), str(folder / 'server.log'))
  yield running
  running.stop()


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
  """A folder of mixed inputs: two PNG sizes, a JPEG and a 16-bit gray PNG."""
  folder = tmp_path_factory.mktemp('inputs')
  Image.fromarray(_image(20, 28, 1)).save(folder / 'wide.png')
  Image.fromarray(_image(33, 17, 2)).save(folder / 'tall.png')
  Image.fromarray(_image(24, 24, 3)).save(folder / 'photo.jpg', quality=90)
  gray16 = (np.arange(18 * 22, dtype=np.uint16).reshape(18, 22) * 157)[..., None]
  tf.io.write_file(str(folder / 'gray16.png'), tf.io.encode_png(gray16))
  return str(folder)


def _read_outputs(folder):
  """{relative path: uint8 array} of the PNGs translate wrote (inputs/ excluded)."""
  out = {}
  for root, _, names in os.walk(folder):
    for n in names:
      rel = os.path.relpath(os.path.join(root, n), folder)
      if n.endswith('.png') and not rel.startswith(translate_lib.INPUTS_DIR + os.sep):
        out[rel] = np.asarray(Image.open(os.path.join(root, n)))
  return out


def _assert_same_outputs(local_dir, remote_dir):
  local, remote = _read_outputs(local_dir), _read_outputs(remote_dir)
  assert sorted(remote) == sorted(local) and local
  for rel, expected in local.items():
    got = remote[rel]
    assert got.shape == expected.shape, rel
    # The server quantises in the graph (tf.round), translate in NumPy: the same rule
    # (half to even) on the same float values, so the pixels agree. Run-to-run float
    # noise of the CPU kernels (about 1e-7) can move a value across a rounding tie: one
    # level on a few pixels, seen once in 0.06 % of the pixels of one output.
    diff = np.abs(got.astype(int) - expected.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.005, (rel, diff.max(), (diff > 0).mean())
  return local


CASES = [  # (model, endpoint, translate options)
    ('cyclegan', 'a_to_b', {}),
    ('cyclegan', 'b_to_a', {'batch_size': 2}),
    ('pix2pix', 'a_to_b', {}),
    ('bicycle', 'a_to_b', {'samples': 3, 'seed': 5}),
]


@pytest.mark.parametrize('protocol', ['rest', 'grpc'])
@pytest.mark.parametrize('model, endpoint, options', CASES)
def test_client_translates_like_local_translate(server, exports, inputs, tmp_path, protocol,
                                                model, endpoint, options):
  local = translate_lib.translate(exports[model], inputs, str(tmp_path / 'local'), endpoint,
                                  **options)
  with client_lib.Client(server.address(protocol), model, protocol=protocol) as client:
    remote = translate_lib.translate(client_lib.RemoteModel(client), inputs,
                                     str(tmp_path / 'remote'), endpoint, **options)
    assert client.latencies and all(t > 0 for t in client.latencies)
  assert not remote.failures and remote.translated == local.translated == 4
  assert len(remote.outputs) == len(local.outputs) == 4 * options.get('samples', 1)
  written = _assert_same_outputs(tmp_path / 'local', tmp_path / 'remote')
  if options.get('samples'):
    assert len(written) == 4 * options['samples']
    first = [v for k, v in sorted(written.items()) if k.startswith('tall__s')]
    assert np.abs(first[0].astype(int) - first[1].astype(int)).max() > 0  # codes differ


@pytest.mark.parametrize('protocol, use_bytes', [('rest', True), ('grpc', False)])
def test_client_reference_code(server, exports, inputs, tmp_path, protocol, use_bytes):
  """--reference: `encode` on the server, then `a_to_b_sample` with that code."""
  reference = os.path.join(inputs, 'wide.png')
  translate_lib.translate(exports['bicycle'], inputs, str(tmp_path / 'local'),
                          reference=reference)
  with client_lib.Client(server.address(protocol), 'bicycle', protocol=protocol) as client:
    translate_lib.translate(client_lib.RemoteModel(client, use_bytes=use_bytes), inputs,
                            str(tmp_path / 'remote'), reference=reference)
  _assert_same_outputs(tmp_path / 'local', tmp_path / 'remote')


@pytest.mark.parametrize('protocol', ['rest', 'grpc'])
def test_client_timeout_fails_the_file_not_the_run(server, tmp_path, protocol):
  big = tmp_path / 'big'  # large enough that a translation takes far longer than 10 ms
  big.mkdir()
  for i in range(2):
    Image.fromarray(_image(1200, 1600, i)).save(big / f'{i}.png', compress_level=1)
  with client_lib.Client(server.address(protocol), 'cyclegan', protocol=protocol) as client:
    client.signatures  # pylint: disable=pointless-statement  (metadata within the timeout)
    client.timeout = 0.01
    result = translate_lib.translate(client_lib.RemoteModel(client), str(big),
                                     str(tmp_path / 'out'))
  assert result.translated == 0 and len(result.failures) == 2
  assert all('no answer within 0.01 s' in error for _, error in result.failures)
  assert os.path.isfile(result.gallery)


def test_client_checks_input_names(server):
  with client_lib.Client(server.grpc_address, 'bicycle', protocol='grpc') as client:
    with pytest.raises(ValueError, match=r"takes the inputs \['images', 'z'\]"):
      client.predict('a_to_b_sample', {'images': np.zeros([1, 8, 8, 3])})


@pytest.mark.parametrize('protocol', ['rest', 'grpc'])
def test_client_version_pinning(server, exports, protocol):
  x = _image(16, 20, 4)[None]
  outputs = {}
  for version in (1, 2, None):
    with client_lib.Client(server.address(protocol), 'cyclegan', protocol=protocol,
                           version=version) as client:
      outputs[version] = client.predict('a_to_b_bytes', {'images': [_png(x[0])]})['output_bytes']
  local = {v: translate_lib.LocalModel(os.path.join(exports['cyclegan'], str(v))).images(
      'a_to_b', x, {})['output'][0] for v in (1, 2)}
  decoded = {v: client_lib.decode_png(o[0]) for v, o in outputs.items()}
  for v in (1, 2):
    assert np.abs(decoded[v].astype(int) - local[v].astype(int)).max() <= 1
  assert np.abs(local[1].astype(int) - local[2].astype(int)).max() > 5
  np.testing.assert_array_equal(decoded[None], decoded[2])  # newest by default


def test_cli_rest_and_grpc(server, inputs, tmp_path, capsys):
  for protocol in ('rest', 'grpc'):
    out = tmp_path / protocol
    status = client_lib.cli(server.address(protocol), 'cyclegan', inputs, str(out),
                            signature='b_to_a', grpc=protocol == 'grpc')
    assert status == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert 'Translated 4 images' in printed and 'Latency: 4 requests' in printed
    assert os.path.isfile(out / 'index.html') and os.path.isfile(out / 'tall.png')
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'rest' / 'wide.png')),
                                np.asarray(Image.open(tmp_path / 'grpc' / 'wide.png')))


def test_row_format_with_b64(server):
  """TF Serving's row format: {"instances": [{"b64": ...}, ...]} -> {"predictions": [...]}."""
  images = [_image(12, 16, 5), _image(12, 16, 6)]
  body = {'signature_name': 'a_to_b_bytes',
          'instances': [{'b64': base64.b64encode(_png(i)).decode()} for i in images]}
  response = requests.post(f'{server.rest}/v1/models/cyclegan:predict', json=body, timeout=60)
  assert response.status_code == 200, response.text
  predictions = response.json()['predictions']
  assert len(predictions) == 2
  for p in predictions:
    assert client_lib.decode_png(base64.b64decode(p['b64'])).shape == (12, 16, 3)


def test_client_reports_unreachable_server(tmp_path, inputs, capsys):
  port, = free_ports(1)  # nothing listens there
  for protocol in ('rest', 'grpc'):
    with client_lib.Client(f'127.0.0.1:{port}', 'cyclegan', protocol=protocol,
                           timeout=5) as client:
      with pytest.raises(client_lib.ServerUnavailable, match=f'127.0.0.1:{port}'):
        client.predict('a_to_b_bytes', {'images': [b'']})
  assert client_lib.cli(f'127.0.0.1:{port}', 'cyclegan', inputs, str(tmp_path / 'o'),
                        timeout=5) == 1
  assert 'no TF Serving REST API at' in capsys.readouterr().err


def test_client_rejects_bad_server_text():
  with pytest.raises(ValueError, match='HOST:PORT'):
    client_lib.Client('localhost', 'm')


# -- Bad requests: one test each; the server answers with a clear error and stays up. ----

def _rest(server, body, model='cyclegan', raw=None):
  response = requests.post(f'{server.rest}/v1/models/{model}:predict', timeout=60,
                           data=raw if raw is not None else json.dumps(body))
  return response.status_code, response.json()


def _grpc(server, signature, tensors, model='cyclegan'):
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model
  request.model_spec.signature_name = signature
  for k, v in tensors.items():
    request.inputs[k].CopyFrom(v)
  with grpc.insecure_channel(server.grpc_address) as channel:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    try:
      stub.Predict(request, timeout=60)
    except grpc.RpcError as e:
      return e.code(), e.details()
  return grpc.StatusCode.OK, ''


def _b64(data):
  return {'b64': base64.b64encode(data).decode()}


def _assert_alive(server):
  body = {'signature_name': 'a_to_b_bytes', 'inputs': {'images': [_b64(_png(_image(8, 8, 0)))]}}
  status, result = _rest(server, body)
  assert status == 200, result
  code, details = _grpc(server, 'a_to_b', {'images': tf.make_tensor_proto(
      np.zeros([1, 8, 8, 3], np.float32))})
  assert code == grpc.StatusCode.OK, details


def test_bad_request_wrong_signature_name(server):
  status, result = _rest(server, {'signature_name': 'a_to_c', 'inputs': {'images': []}})
  assert status in (400, 404) and 'a_to_c' in result['error']
  assert 'not found' in result['error']
  code, details = _grpc(server, 'a_to_c', {'images': tf.make_tensor_proto([b'x'])})
  assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
  assert 'a_to_c' in details
  _assert_alive(server)


def test_bad_request_wrong_dtype(server):
  status, result = _rest(server, {'signature_name': 'a_to_b',
                                  'inputs': {'images': [[['a', 'b', 'c']]]}})
  assert status == 400 and 'is not of expected type: float' in result['error']
  code, details = _grpc(server, 'a_to_b', {'images': tf.make_tensor_proto([b'x'])})
  assert code == grpc.StatusCode.INVALID_ARGUMENT
  assert 'float' in details and 'string' in details
  _assert_alive(server)


def test_bad_request_wrong_rank(server):
  image = np.zeros([8, 8, 3], np.float32)  # no batch dimension
  status, result = _rest(server, {'signature_name': 'a_to_b',
                                  'inputs': {'images': image.tolist()}})
  assert status == 400 and request_limits.ERR_RANK in result['error']
  code, details = _grpc(server, 'b_to_a', {'images': tf.make_tensor_proto(image)})
  assert code == grpc.StatusCode.INVALID_ARGUMENT and request_limits.ERR_RANK in details
  _assert_alive(server)


def test_bad_request_bytes_not_an_image(server):
  status, result = _rest(server, {'signature_name': 'a_to_b_bytes',
                                  'inputs': {'images': [_b64(b'GIF? no, plain text')]}})
  assert status == 400 and request_limits.ERR_NOT_IMAGE in result['error']
  code, details = _grpc(server, 'b_to_a_bytes', {'images': tf.make_tensor_proto([b'%PDF-1.4'])})
  assert code == grpc.StatusCode.INVALID_ARGUMENT and request_limits.ERR_NOT_IMAGE in details
  _assert_alive(server)


def test_bad_request_image_over_size_limit(server):
  wide = _png(np.zeros([1, request_limits.MAX_SIDE + 1, 3], np.uint8))  # small file, too wide
  status, result = _rest(server, {'signature_name': 'a_to_b_bytes',
                                  'inputs': {'images': [_b64(wide)]}})
  assert status == 400 and request_limits.ERR_TOO_LARGE in result['error']
  code, details = _grpc(server, 'a_to_b', {'images': tf.make_tensor_proto(
      np.zeros([1, request_limits.MAX_SIDE + 1, 1, 3], np.float32))})
  assert code == grpc.StatusCode.INVALID_ARGUMENT and request_limits.ERR_TOO_LARGE in details
  _assert_alive(server)


def test_bad_request_empty_batch(server):
  status, result = _rest(server, {'signature_name': 'a_to_b_bytes', 'inputs': {'images': []}})
  assert status == 400 and request_limits.ERR_EMPTY_BATCH in result['error']
  code, details = _grpc(server, 'a_to_b', {'images': tf.make_tensor_proto(
      np.zeros([0, 8, 8, 3], np.float32))})
  assert code == grpc.StatusCode.INVALID_ARGUMENT and request_limits.ERR_EMPTY_BATCH in details
  _assert_alive(server)


def test_bad_request_corrupt_base64(server):
  status, result = _rest(server, {'signature_name': 'a_to_b_bytes',
                                  'inputs': {'images': [{'b64': 'iVBORw0K*not=base64'}]}})
  assert status == 400 and 'Unable to base64 decode' in result['error']
  status, result = _rest(server, None, raw='{"inputs": [')  # not even JSON
  assert status == 400 and 'JSON Parse error' in result['error']
  _assert_alive(server)


def test_mixed_requests_loop_keeps_serving_and_leaks_nothing(server):
  """A few hundred requests, good and bad mixed, over REST and gRPC."""
  good_png = _png(_image(16, 12, 7))
  good_float = np.asarray(_image(16, 12, 7)[None], np.float32) / 127.5 - 1.0
  rest = client_lib.Client(f'127.0.0.1:{server.rest_port}', 'cyclegan')
  grpc_client = client_lib.Client(server.grpc_address, 'cyclegan', protocol='grpc')
  expected_png = rest.predict('a_to_b_bytes', {'images': [good_png]})['output_bytes'][0]
  expected_float = grpc_client.predict('a_to_b', {'images': good_float})['output']
  bad = [  # (protocol, signature, inputs, expected message)
      ('rest', 'a_to_b_bytes', {'images': [b'not an image']}, request_limits.ERR_NOT_IMAGE),
      ('grpc', 'a_to_b_bytes', {'images': [b'not an image']}, request_limits.ERR_NOT_IMAGE),
      ('rest', 'a_to_b', {'images': np.zeros([2, 2, 3])}, request_limits.ERR_RANK),
      ('grpc', 'a_to_b', {'images': np.zeros([0, 4, 4, 3])}, request_limits.ERR_EMPTY_BATCH),
      ('grpc', 'a_to_b', {'images': np.zeros([1, 4, 4, 4])}, request_limits.ERR_CHANNELS),
  ]
  for _ in range(5):  # warm up every path before measuring
    rest.predict('a_to_b_bytes', {'images': [good_png]})
    grpc_client.predict('a_to_b', {'images': good_float})
  before = server.process_stats()
  answered = refused = 0
  for i in range(300):
    if i % 3 == 2:
      protocol, signature, request, message = bad[(i // 3) % len(bad)]
      client = rest if protocol == 'rest' else grpc_client
      with pytest.raises(client_lib.ServingError) as error:
        client.predict(signature, request)
      assert message in str(error.value), (i, str(error.value))
      refused += 1
    elif i % 2:
      out = rest.predict('a_to_b_bytes', {'images': [good_png]})['output_bytes'][0]
      assert out == expected_png, i
      answered += 1
    else:
      out = grpc_client.predict('a_to_b', {'images': good_float})['output']
      np.testing.assert_array_equal(out, expected_float)
      answered += 1
  after = server.process_stats()
  rest.close()
  grpc_client.close()
  assert (answered, refused) == (200, 100)
  threads, fds, rss = before
  assert after[0] <= threads + 4, (before, after)  # no thread per request left behind
  assert after[1] <= fds + 4, (before, after)  # no socket or file left open
  assert after[2] <= rss + 200, (before, after)  # MB: no growth per request
  assert server.proc.poll() is None


# -- Hostile requests: small on the wire, huge to decode or compute. Each is refused before
# anything large exists, and the server then answers a good request with the right image.

_GOOD = _image(12, 16, 9)


@pytest.fixture(scope='module')
def good_outputs(exports):
  """{model: uint8 [12, 16, 3]}: a_to_b of _GOOD by the newest version, run locally."""
  out = {}
  for name in ('cyclegan', 'limited', 'bicycle'):
    newest = export.existing_versions(exports[name])[-1]
    local = translate_lib.LocalModel(os.path.join(exports[name], str(newest)))
    out[name] = local.images('a_to_b', _GOOD[None], {})['output'][0]
  return out


def _assert_answers(server, good_outputs, model='cyclegan'):
  """The server answers a good request with the right image, over REST and gRPC."""
  for protocol in ('rest', 'grpc'):
    with client_lib.Client(server.address(protocol), model, protocol=protocol) as client:
      png = client.predict('a_to_b_bytes', {'images': [_png(_GOOD)]})['output_bytes'][0]
    diff = np.abs(client_lib.decode_png(png).astype(int) - good_outputs[model].astype(int))
    assert diff.max() <= 1, (model, protocol)


def _broadcast(shape, value=0.0):
  """A float32 TensorProto of `shape` that holds one value (TF fills the tensor with it):
  a few bytes on the wire for any size."""
  proto = tf.make_tensor_proto(np.float32(value))
  for size in shape:
    proto.tensor_shape.dim.add(size=size)
  return proto


def _nz(exports):
  info = read_metadata(os.path.join(exports['bicycle'], '1'))
  return info['signatures']['a_to_b_sample']['inputs']['z'][1][1]


HOSTILE_HEADERS = {  # a file of a few hundred bytes whose header says 23000 x 23000 px
    'PNG': png_declaring(23000, 23000), 'JPEG': jpeg_declaring(23000, 23000),
    'GIF': gif_declaring(23000, 23000), 'BMP': bmp_declaring(23000, -23000)}


@pytest.mark.parametrize('fmt', sorted(HOSTILE_HEADERS))
def test_bad_request_header_declares_a_huge_image(server, good_outputs, fmt):
  data = HOSTILE_HEADERS[fmt]
  assert len(data) < 1000  # decoded as declared: 23000 * 23000 * 3 bytes = 1.6 GB
  said = f'element 0 is a {fmt} whose header says 23000x23000 (width x height)'
  status, result = _rest(server, {'signature_name': 'a_to_b_bytes',
                                  'inputs': {'images': [_b64(data)]}})
  assert status == 400 and request_limits.ERR_HEADER_TOO_LARGE in result['error'], result
  assert said in result['error']
  code, details = _grpc(server, 'b_to_a_bytes', {'images': tf.make_tensor_proto([data])})
  assert code == grpc.StatusCode.INVALID_ARGUMENT and request_limits.ERR_HEADER_TOO_LARGE in details
  assert said in details
  _assert_answers(server, good_outputs)


def test_bad_request_encoded_image_over_byte_limit(server, good_outputs):
  noise = _png(np.random.default_rng(5).integers(0, 256, (40, 40, 3), dtype=np.uint8))
  assert len(noise) > 4096
  message = f'{request_limits.ERR_TOO_MANY_BYTES} (4096 bytes): element 1 is {len(noise)} bytes'
  status, result = _rest(server, {'signature_name': 'a_to_b_bytes', 'inputs': {
      'images': [_b64(_png(_GOOD)), _b64(noise)]}}, model='limited')
  assert status == 400 and message in result['error'], result
  code, details = _grpc(server, 'a_to_b_bytes', {'images': tf.make_tensor_proto(
      [_png(_GOOD), noise])}, model='limited')
  assert code == grpc.StatusCode.INVALID_ARGUMENT and message in details
  _assert_answers(server, good_outputs, 'limited')


def test_bad_request_over_pixel_limit(server, exports, good_outputs):
  # The limited model: a float batch of 2 x 64 x 64.
  status, result = _rest(server, {'signature_name': 'a_to_b', 'inputs': {
      'images': np.zeros([2, 64, 64, 3]).tolist()}}, model='limited')
  assert status == 400 and f'{request_limits.ERR_TOO_MANY_PIXELS} (4096)' in result['error'], result
  assert '[pixels:] [8192] [images:] [2]' in result['error']
  # The default limit: 64 codes for one 520 px image, which BicycleGAN pads to 640 px, is
  # 26 M pixels; the request itself is one float broadcast to the image, and 64 codes.
  code, details = _grpc(server, 'a_to_b_sample', {
      'images': _broadcast([1, 520, 520, 3]),
      'z': tf.make_tensor_proto(np.zeros([request_limits.MAX_SAMPLES, _nz(exports)], np.float32))},
                        model='bicycle')
  assert code == grpc.StatusCode.INVALID_ARGUMENT, details
  assert f'{request_limits.ERR_TOO_MANY_PIXELS} ({request_limits.MAX_BATCH_PIXELS})' in details
  assert f'[pixels:] [{64 * 640 * 640}] [images:] [1] [samples:] [64]' in details
  # The bytes form: a PNG header that says 4096 x 4096 (the largest side) and 2 samples,
  # refused before decoding (its data is 64 bytes).
  code, details = _grpc(server, 'a_to_b_random_bytes', {
      'images': tf.make_tensor_proto([png_declaring(4096, 4096)]),
      'seed': tf.make_tensor_proto(np.int64(1)), 'num_samples': tf.make_tensor_proto(
          np.int32(2))}, model='bicycle')
  assert code == grpc.StatusCode.INVALID_ARGUMENT, details
  assert f'[pixels:] [{2 * 4096 * 4096}] [images:] [1] [samples:] [2]' in details
  _assert_answers(server, good_outputs, 'limited')
  _assert_answers(server, good_outputs, 'bicycle')


@pytest.mark.parametrize('num_samples', [0, request_limits.MAX_SAMPLES + 1, 2**31 - 1])
def test_bad_request_num_samples_out_of_range(server, good_outputs, num_samples):
  message = f'{request_limits.ERR_TOO_MANY_SAMPLES} ({request_limits.MAX_SAMPLES})'
  status, result = _rest(server, {'signature_name': 'a_to_b_random_bytes', 'inputs': {
      'images': [_b64(_png(_GOOD))], 'seed': 1, 'num_samples': num_samples}}, model='bicycle')
  assert status == 400 and message in result['error'], result
  assert f'[got:] [{num_samples}]' in result['error']
  code, details = _grpc(server, 'a_to_b_random', {
      'images': tf.make_tensor_proto(np.zeros([1, 8, 8, 3], np.float32)),
      'seed': tf.make_tensor_proto(np.int64(1)),
      'num_samples': tf.make_tensor_proto(np.int32(num_samples))}, model='bicycle')
  assert code == grpc.StatusCode.INVALID_ARGUMENT and message in details, details
  _assert_answers(server, good_outputs, 'bicycle')


def test_bad_request_too_many_codes(server, exports, good_outputs):
  z = np.zeros([request_limits.MAX_SAMPLES + 1, _nz(exports)], np.float32)
  message = f'{request_limits.ERR_TOO_MANY_CODES} ({request_limits.MAX_SAMPLES})'
  shape = f'[shape:] [{request_limits.MAX_SAMPLES + 1} {_nz(exports)}]'
  status, result = _rest(server, {'signature_name': 'a_to_b_sample_bytes', 'inputs': {
      'images': [_b64(_png(_GOOD))], 'z': z.tolist()}}, model='bicycle')
  assert status == 400 and message in result['error'] and shape in result['error'], result
  code, details = _grpc(server, 'a_to_b_sample', {
      'images': tf.make_tensor_proto(np.zeros([1, 8, 8, 3], np.float32)),
      'z': tf.make_tensor_proto(z)}, model='bicycle')
  assert code == grpc.StatusCode.INVALID_ARGUMENT and message in details and shape in details
  _assert_answers(server, good_outputs, 'bicycle')
