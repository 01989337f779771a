"""tfi2i.serving.devserver, the development server speaking TF Serving's APIs: REST and gRPC
predict, status, metadata, TF Serving's error texts and codes, and the command line."""
import base64
import io
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading

from conftest import export_tiny_cyclegan
import grpc
import numpy as np
from PIL import Image
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from tfi2i import export
from tfi2i import request_limits
from tfi2i.serving import devserver
from tfi2i.serving.errors import StartupError

MODEL = 'tiny'
SIGNATURES = {'a_to_b', 'a_to_b_bytes', 'b_to_a', 'b_to_a_bytes', 'serving_default'}


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """(export base, SavedModel loaded in this process) of a tiny CycleGAN."""
  base = str(tmp_path_factory.mktemp('devserver_export'))
  _, path = export_tiny_cyclegan(base)
  return base, tf.saved_model.load(path)


@pytest.fixture(scope='module')
def server(exported):
  base, _ = exported
  running = devserver.start(model_name=MODEL, model_base_path=base)
  yield running
  running.stop()


@pytest.fixture(scope='module')
def channel(server):
  with grpc.insecure_channel(f'127.0.0.1:{server.grpc_port}') as ch:
    yield ch


@pytest.fixture
def stub(channel):
  return prediction_service_pb2_grpc.PredictionServiceStub(channel)


def _url(server, suffix=''):
  return f'http://127.0.0.1:{server.rest_port}/v1/models/{MODEL}{suffix}'


def _predict(server, body, model=MODEL):
  return requests.post(f'http://127.0.0.1:{server.rest_port}/v1/models/{model}:predict',
                       json=body, timeout=60)


def _png(h, w, seed=0):
  buf = io.BytesIO()
  Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)).save(
      buf, format='PNG')
  return buf.getvalue()


def _b64(data):
  return {'b64': base64.b64encode(data).decode('ascii')}


def _decoded_png(b64_object):
  return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64_object['b64']))))


def _images(shape, seed=1):
  return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def _request(signature, **inputs):
  request = predict_pb2.PredictRequest()
  request.model_spec.name = MODEL
  request.model_spec.signature_name = signature
  for name, value in inputs.items():
    request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
  return request


def test_rest_row_format_bytes_round_trip(server):
  r = _predict(server, {'signature_name': 'a_to_b_bytes', 'instances': [_b64(_png(20, 28))]})
  assert r.status_code == 200, r.text
  (prediction,) = r.json()['predictions']  # one output: the bare value per instance
  assert _decoded_png(prediction).shape == (20, 28, 3)


def test_rest_columnar_bytes_keep_each_image_size(server):
  images = [_b64(_png(20, 28, seed=1)), _b64(_png(9, 13, seed=2))]
  r = _predict(server, {'signature_name': 'b_to_a_bytes', 'inputs': images})
  assert r.status_code == 200, r.text
  outputs = r.json()['outputs']
  assert [_decoded_png(o).shape for o in outputs] == [(20, 28, 3), (9, 13, 3)]


def test_rest_float_results_equal_the_saved_model(server, exported):
  _, loaded = exported
  x = _images([2, 12, 16, 3])
  expected = loaded.signatures['b_to_a'](images=tf.constant(x))['output'].numpy()
  r = _predict(server, {'signature_name': 'b_to_a', 'inputs': x.tolist()})
  assert r.status_code == 200, r.text
  np.testing.assert_allclose(np.array(r.json()['outputs']), expected, atol=1e-5)
  # row format, default signature (a_to_b)
  expected = loaded.signatures['a_to_b'](images=tf.constant(x))['output'].numpy()
  r = _predict(server, {'instances': x.tolist()})
  assert r.status_code == 200, r.text
  np.testing.assert_allclose(np.array(r.json()['predictions']), expected, atol=1e-5)


def test_rest_status_and_metadata(server):
  r = requests.get(_url(server), timeout=30)
  assert r.status_code == 200, r.text
  assert r.json() == {'model_version_status': [{
      'version': '1', 'state': 'AVAILABLE', 'status': {'error_code': 'OK', 'error_message': ''}}]}
  assert requests.get(_url(server, '/versions/1'), timeout=30).status_code == 200
  r = requests.get(_url(server, '/metadata'), timeout=30)
  assert r.status_code == 200, r.text
  meta = r.json()
  assert meta['model_spec'] == {'name': MODEL, 'signature_name': '', 'version': '1'}
  signatures = meta['metadata']['signature_def']['signature_def']
  assert SIGNATURES <= set(signatures)
  bytes_sig = signatures['a_to_b_bytes']
  assert bytes_sig['inputs']['images']['dtype'] == 'DT_STRING'
  assert bytes_sig['outputs']['output_bytes']['tensor_shape']['dim'] == [{'size': '-1',
                                                                          'name': ''}]
  assert signatures['a_to_b']['inputs']['images']['tensor_shape']['unknown_rank'] is True


def test_grpc_predict_bytes_and_float(server, stub, exported):
  _, loaded = exported
  response = stub.Predict(_request('a_to_b_bytes', images=[_png(20, 28), _png(8, 8)]),
                          timeout=60)
  assert (response.model_spec.name, response.model_spec.version.value,
          response.model_spec.signature_name) == (MODEL, 1, 'a_to_b_bytes')
  pngs = tf.make_ndarray(response.outputs['output_bytes'])
  assert [np.asarray(Image.open(io.BytesIO(p))).shape for p in pngs] == [(20, 28, 3),
                                                                          (8, 8, 3)]
  x = _images([1, 10, 14, 3], seed=3)
  request = _request('', images=x)  # '' is serving_default
  request.output_filter.append('output')
  response = stub.Predict(request, timeout=60)
  assert response.model_spec.signature_name == 'serving_default'
  expected = loaded.signatures['a_to_b'](images=tf.constant(x))['output'].numpy()
  np.testing.assert_allclose(tf.make_ndarray(response.outputs['output']), expected, atol=1e-5)


def test_grpc_model_metadata_and_status(server, stub, channel):
  request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=['signature_def'])
  request.model_spec.name = MODEL
  response = stub.GetModelMetadata(request, timeout=30)
  assert (response.model_spec.name, response.model_spec.version.value) == (MODEL, 1)
  signature_map = get_model_metadata_pb2.SignatureDefMap()
  assert response.metadata['signature_def'].Unpack(signature_map)
  assert SIGNATURES <= set(signature_map.signature_def)
  status_stub = model_service_pb2_grpc.ModelServiceStub(channel)
  status_request = get_model_status_pb2.GetModelStatusRequest()
  status_request.model_spec.name = MODEL
  (status,) = status_stub.GetModelStatus(status_request, timeout=30).model_version_status
  assert (status.version, status.state) == (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)


def test_unknown_model_or_version_is_not_found(server, stub):
  r = _predict(server, {'instances': [[[[0.0, 0.0, 0.0]]]]}, model='nope')
  assert r.status_code == 404
  assert r.json() == {'error': 'Servable not found for request: Latest(nope)'}
  r = requests.post(_url(server, '/versions/7:predict'), json={'instances': [1.0]}, timeout=30)
  assert (r.status_code, r.json()['error']) == (404, f'Servable not found for request: '
                                                     f'Specific({MODEL}, 7)')
  r = requests.get(_url(server, '/versions/7'), timeout=30)
  assert (r.status_code, r.json()['error']) == (404, f'Could not find version 7 of model {MODEL}')
  request = _request('a_to_b', images=_images([1, 8, 8, 3]))
  request.model_spec.name = 'nope'
  with pytest.raises(grpc.RpcError) as e:
    stub.Predict(request, timeout=30)
  assert e.value.code() == grpc.StatusCode.NOT_FOUND
  assert e.value.details() == 'Servable not found for request: Latest(nope)'


def test_unknown_signature(server, stub):
  r = _predict(server, {'signature_name': 'nope', 'instances': [1.0]})
  assert r.status_code == 400  # TF Serving: INVALID_ARGUMENT when reading the input map
  assert r.json()['error'] == 'Serving signature name: "nope" not found in signature def'
  with pytest.raises(grpc.RpcError) as e:
    stub.Predict(_request('nope', images=_images([1, 8, 8, 3])), timeout=30)
  assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # TF Serving's RunPredict
  assert e.value.details() == 'Serving signature key "nope" not found.'


@pytest.mark.parametrize('body,message', [
    ({'signature_name': 'a_to_b_bytes', 'instances': [{'b64': 'not base64!'}]},
     "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: Unable to "
     'base64 decode'),
    ({'signature_name': 'a_to_b_bytes', 'inputs': [{'b64': 'QUJD$'}]}, 'Unable to base64 decode'),
    ({'instances': []}, "No values in 'instances' array"),
    ({'instances': [1.0], 'inputs': [1.0]}, "expecting only one of 'inputs' or 'instances'"),
    ({'signature_name': 'a_to_b'}, "Missing 'inputs' or 'instances' key"),
    ({'inputs': {'pictures': [1.0]}}, "Missing named input: images in 'inputs' object."),
    ({'instances': ['x']}, 'JSON Value: "x" Type: String is not of expected type: float'),
    ({'signature_name': 7, 'instances': [1.0]}, "'signature_name' key must be a string value."),
    ({'inputs': [[1.0, 2.0], [3.0]]}, 'Encountered list at unexpected size: 1 at level: 1 '
                                      'expected size: 2'),
])
def test_request_format_errors(server, body, message):
  r = _predict(server, body)
  assert r.status_code == 400, r.text
  assert message in r.json()['error']


def test_a_claimed_shape_is_checked_before_it_is_expanded(server, stub):
  """Issue 23: 53 bytes claiming a [1, 8000, 8000, 3] tensor (one value TF would fill it
  with: 768 MB) are refused before anything is allocated."""
  request = predict_pb2.PredictRequest()
  request.model_spec.name = MODEL
  request.model_spec.signature_name = 'a_to_b'
  tensor = request.inputs['images']
  tensor.dtype = tf.float32.as_datatype_enum
  for size in (1, 8000, 8000, 3):
    tensor.tensor_shape.dim.add(size=size)
  tensor.float_val.append(0.5)
  assert len(request.SerializeToString()) < 80
  with pytest.raises(grpc.RpcError) as e:
    stub.Predict(request, timeout=30)
  assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
  assert 'claims shape [1,8000,8000,3] (192,000,000 elements)' in e.value.details()


def test_errors_quote_a_few_hundred_bytes_of_the_request(server):
  body = {'instances': [['x' * 1000] * 2000]}  # about 2 MB of JSON of the wrong type
  r = _predict(server, body)
  assert r.status_code == 400 and len(r.content) < 1000, len(r.content)
  assert 'JSON Value: "xxx' in r.json()['error'] and '... (cut)' in r.json()['error']


def test_non_json_body(server):
  r = requests.post(_url(server, ':predict'), data=b'instances = [1, 2]', timeout=30)
  assert (r.status_code, r.json()['error']) == (400, 'JSON Parse error: Invalid value. at '
                                                     'offset: 0')
  r = requests.post(_url(server, ':predict'), data=b'', timeout=30)
  assert r.json()['error'] == 'JSON Parse error: The document is empty'


def test_graph_errors_are_surfaced(server, stub):
  r = _predict(server, {'signature_name': 'a_to_b_bytes', 'inputs': []})
  assert r.status_code == 400
  assert request_limits.ERR_EMPTY_BATCH in r.json()['error']
  r = _predict(server, {'signature_name': 'a_to_b_bytes', 'inputs': [_b64(b'not an image')]})
  assert r.status_code == 400
  assert request_limits.ERR_NOT_IMAGE in r.json()['error']
  with pytest.raises(grpc.RpcError) as e:
    stub.Predict(_request('a_to_b', images=np.zeros([0, 8, 8, 3], np.float32)), timeout=30)
  assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
  assert request_limits.ERR_EMPTY_BATCH in e.value.details()
  with pytest.raises(grpc.RpcError) as e:
    stub.Predict(_request('a_to_b', images=[b'x']), timeout=30)
  assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
  assert e.value.details() == 'Expects arg[0] to be float but string is provided'


def test_bad_connections_leave_the_server_serving(server):
  previous = server.max_request_bytes
  server.max_request_bytes = 1000
  try:
    r = requests.post(_url(server, ':predict'), data=b'[' + b'1,' * 2000 + b'1]', timeout=30)
    assert r.status_code == 413 and 'exceeds the limit' in r.json()['error']
  finally:
    server.max_request_bytes = previous
  for raw in (b'GARBAGE\r\n\r\n',
              b'POST /v1/models/tiny:predict HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"in'):
    with socket.create_connection(('127.0.0.1', server.rest_port), timeout=10) as s:
      s.sendall(raw)
      s.shutdown(socket.SHUT_WR)
      s.recv(65536)
  assert requests.get(_url(server), timeout=30).status_code == 200


def test_warmup_requests_are_replayed_at_load(server, exported, tmp_path):
  # tfi2i's export writes one warm-up request per signature (serving_default excluded).
  assert server.models[MODEL].versions[1].warmup_requests == 4
  base, _ = exported
  broken = tmp_path / 'broken'
  shutil.copytree(base, broken)
  warmup = broken / '1' / 'assets.extra' / 'tf_serving_warmup_requests'
  with tf.io.TFRecordWriter(str(warmup)) as writer:  # a request the graph refuses
    request = predict_pb2.PredictRequest()
    request.model_spec.signature_name = 'a_to_b_bytes'
    request.inputs['images'].CopyFrom(tf.make_tensor_proto([b'not an image']))
    writer.write(prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString())
  with pytest.raises(StartupError, match='Failed to warm up model m version 1'):
    devserver.start(model_name='m', model_base_path=str(broken))
  skipped = devserver.start(model_name='m', model_base_path=str(broken),
                            enable_model_warmup=False)
  assert skipped.models['m'].versions[1].warmup_requests == 0
  skipped.stop()


def test_start_fails_naming_the_model_and_path(tmp_path, capsys):
  missing = str(tmp_path / 'missing')
  with pytest.raises(StartupError, match=f'base path {re.escape(missing)} for servable m'):
    devserver.start(model_name='m', model_base_path=missing)
  empty = tmp_path / 'empty'
  (empty / '.tmp-1-99').mkdir(parents=True)
  assert devserver.main([f'--model_base_path={empty}', '--model_name=m', '--port=0']) == 1
  err = capsys.readouterr().err
  assert 'No versions of servable m found under base path' in err and str(empty) in err


def test_cli_prints_the_ready_line_and_stops_on_sigterm(exported, tmp_path):
  base, _ = exported
  config = tmp_path / 'models.config'
  config.write_text('model_config_list {\n  config {\n    name: "cli"\n'
                    f'    base_path: "{base}"\n    model_platform: "tensorflow"\n'
                    '    model_version_policy { latest { num_versions: 1 } }\n  }\n}\n')
  with open(tmp_path / 'stderr.txt', 'w') as err:
    proc = subprocess.Popen(
        [sys.executable, '-m', 'tfi2i.serving.devserver', '--port=0', '--rest_api_port=0',
         f'--model_config_file={config}', '--file_system_poll_wait_seconds=1'],
        stdout=subprocess.PIPE, stderr=err, text=True)
  try:
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
      line = lines.get(timeout=90)
    except queue.Empty:
      line = ''
    match = re.fullmatch(r'DEVSERVER READY grpc=(\d+) rest=(\d+)\n', line)
    assert match, f'{line!r}; stderr: {(tmp_path / "stderr.txt").read_text()[-2000:]}'
    rest = int(match.group(2))
    r = requests.get(f'http://127.0.0.1:{rest}/v1/models/cli', timeout=30)
    assert r.json()['model_version_status'][0]['state'] == 'AVAILABLE'
    proc.terminate()
    assert proc.wait(timeout=30) == 0
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.wait()
    proc.stdout.close()
