"""A client for tfi2i models served by TensorFlow Serving, over REST or gRPC.

  python -m tfi2i.serving.client --server=HOST:PORT --model=NAME --input=FILE_OR_DIR \
      --output=DIR [--signature=a_to_b] [--grpc] [--version=N] [--float] [--batch_size=1] \
      [--samples=K [--seed=S] | --reference=IMG] [--timeout=600]

Sends each image to the served model and writes what `python -m tfi2i.translate` writes
for a local export (same file names, same pixels, same gallery), then reports the latency
of the requests. --server is the REST port (8501 by default in TF Serving) or, with
--grpc, the gRPC port (8500). --signature is the endpoint (a_to_b, b_to_a, ...): by
default images go to its `<signature>_bytes` form as PNG files (base64 `{"b64": ...}` in
REST) and come back as PNGs; --float sends float32 [batch, h, w, 3] in [-1, 1] to the
float signature instead. Every input file is read locally by tfi2i's reader (any format
tfi2i trains on: 16-bit, palette, CMYK, EXIF-rotated ...) and sent as an RGB PNG, so the
server sees exactly the pixels a local `translate` would.

As a library:

  from tfi2i.serving.client import Client, RemoteModel
  with Client('localhost:8500', 'demo', protocol='grpc') as client:
    outputs = client.predict('a_to_b_bytes', {'images': [png_bytes]})  # {name: ndarray}
    images = RemoteModel(client).images('a_to_b', uint8_batch, {})   # {'output': uint8}
    print(client.latencies)  # seconds per request

`Client.predict` speaks TF Serving's protocols as documented: REST `POST
/v1/models/NAME[/versions/V]:predict` in the columnar format ({"signature_name": ...,
"inputs": {...}}; it carries inputs without a batch dimension, such as latent codes, which
the row format cannot), and gRPC `PredictionService.Predict`. Input dtypes come from the
model's metadata (REST `GET .../metadata`, gRPC `GetModelMetadata`). A request the server
refuses raises ServingError with the server's message; an unreachable server raises
ServerUnavailable.
"""
import base64
import dataclasses
import io
import json
import statistics
import sys
import time

from absl import flags
import numpy as np
from PIL import Image

from tfi2i import cli as cli_lib
from tfi2i import endpoints as ep
from tfi2i.endpoints import BYTES_SUFFIX
from tfi2i.versions import read_metadata
from tfi2i import translate as translate_lib
from tfi2i.data import images as image_io

DEFAULT_TIMEOUT = 600.0  # seconds per request
CONNECT_TIMEOUT = 10.0  # seconds to open a REST connection
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # gRPC message limit (a 4096 px float image is 200 MB)


class ServingError(translate_lib.ModelCallError):
  """The server refused a request; `code` is the HTTP status or the gRPC status name."""

  def __init__(self, message, code=None):
    super().__init__(message)
    self.code = code


class ServerUnavailable(ConnectionError):
  """No server answered at the address."""


@dataclasses.dataclass
class TensorSpec:
  dtype: np.dtype  # NumPy dtype (object for strings)
  shape: list | None  # -1 for unknown dimensions; None for an unknown rank


@dataclasses.dataclass
class SignatureSpec:
  inputs: dict  # name -> TensorSpec
  outputs: dict


def _tf():
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf


def _signature_specs(signature_def_map) -> dict:
  """{name: SignatureSpec} of a tensorflow_serving SignatureDefMap proto."""
  tf = _tf()

  def spec(info):
    if not info.dtype:  # DT_INVALID, e.g. the outputs of `__saved_model_init_op`
      return TensorSpec(None, None)
    dtype = tf.dtypes.as_dtype(info.dtype)
    shape = None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]
    return TensorSpec(np.dtype(object) if dtype == tf.string else np.dtype(dtype.as_numpy_dtype),
                      shape)

  return {name: SignatureSpec({k: spec(v) for k, v in sig.inputs.items()},
                              {k: spec(v) for k, v in sig.outputs.items()})
          for name, sig in signature_def_map.signature_def.items()}


def _split_server(server: str) -> tuple[str, str]:
  """(scheme, host:port) from HOST:PORT or http(s)://HOST:PORT."""
  server = server.strip().rstrip('/')
  scheme = 'http'
  if '://' in server:
    scheme, server = server.split('://', 1)
  host, sep, port = server.rpartition(':')
  if not sep or not host or not (port.isascii() and port.isdigit()):
    raise ValueError(f'--server must be HOST:PORT (e.g. localhost:8501), got {server!r}')
  return scheme, server


def _to_json(value, dtype):
  """A NumPy array as a JSON value of TF Serving's REST API (bytes as {"b64": ...})."""
  if dtype == np.dtype(object):
    def enc(v):
      if isinstance(v, (list, np.ndarray)):
        return [enc(x) for x in v]
      v = v.encode() if isinstance(v, str) else bytes(v)
      return {'b64': base64.b64encode(v).decode('ascii')}
    return enc(np.asarray(value, dtype=object).tolist())
  return np.asarray(value, dtype=dtype).tolist()


def _from_json(value, spec: TensorSpec):
  if spec.dtype == np.dtype(object):
    def dec(v):
      if isinstance(v, list):
        return [dec(x) for x in v]
      if isinstance(v, dict) and set(v) == {'b64'}:
        return base64.b64decode(v['b64'])
      return v.encode() if isinstance(v, str) else v
    return np.asarray(dec(value), dtype=object)  # bytes are scalars to NumPy
  return np.asarray(value, dtype=spec.dtype)


class Client:
  """One served model over REST (`protocol='rest'`) or gRPC (`protocol='grpc'`).

  Args:
    server: HOST:PORT (REST: also http://HOST:PORT).
    model: the model name in the server's config.
    protocol: 'rest' or 'grpc'.
    version: a version number to pin; default the server's choice (the newest served).
    timeout: seconds per request (a request that takes longer raises ServingError). TF
      Serving's own REST limit is 30 s unless --rest_api_timeout_in_ms is raised (the
      compose file of tfi2i.serving.config sets 600 s); a CycleGAN at 4096 px takes about
      2 minutes on 2 CPU cores.
  """

  def __init__(self, server: str, model: str, protocol: str = 'rest',
               version: int | None = None, timeout: float = DEFAULT_TIMEOUT):
    if protocol not in ('rest', 'grpc'):
      raise ValueError(f'protocol must be rest or grpc, got {protocol!r}')
    if not model:
      raise ValueError('a model name is required')
    self.scheme, self.address = _split_server(server)
    self.model, self.protocol, self.version, self.timeout = model, protocol, version, timeout
    self.latencies = []  # seconds of each predict request
    self._signatures = None
    if protocol == 'rest':
      import requests  # pylint: disable=import-outside-toplevel
      self._session = requests.Session()
      self._url = f'{self.scheme}://{self.address}/v1/models/{model}' + (
          f'/versions/{int(version)}' if version is not None else '')
    else:
      import grpc  # pylint: disable=import-outside-toplevel
      from tensorflow_serving.apis import prediction_service_pb2_grpc  # pylint: disable=import-outside-toplevel
      self._channel = grpc.insecure_channel(self.address, options=[
          ('grpc.max_send_message_length', MAX_MESSAGE_BYTES),
          ('grpc.max_receive_message_length', MAX_MESSAGE_BYTES)])
      self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

  def __repr__(self):
    version = f'/versions/{self.version}' if self.version is not None else ''
    return f'{self.protocol}://{self.address}/models/{self.model}{version}'

  def close(self):
    if self.protocol == 'rest':
      self._session.close()
    else:
      self._channel.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  # -- metadata ---------------------------------------------------------------------------
  @property
  def signatures(self) -> dict:
    """{signature name: SignatureSpec} from the server's model metadata (fetched once)."""
    if self._signatures is None:
      self._signatures = _signature_specs(
          self._rest_metadata() if self.protocol == 'rest' else self._grpc_metadata())
    return self._signatures

  def _rest_metadata(self):
    from google.protobuf import json_format  # pylint: disable=import-outside-toplevel
    from tensorflow_serving.apis import get_model_metadata_pb2  # pylint: disable=import-outside-toplevel
    body = self._rest('GET', self._url + '/metadata')
    try:
      signature_def = body['metadata']['signature_def']
    except (KeyError, TypeError):
      raise ServingError(f'{self}: the metadata has no signature_def: '
                         f'{json.dumps(body)[:300]}') from None
    return json_format.ParseDict(signature_def, get_model_metadata_pb2.SignatureDefMap(),
                                 ignore_unknown_fields=True)

  def _grpc_metadata(self):
    from tensorflow_serving.apis import get_model_metadata_pb2  # pylint: disable=import-outside-toplevel
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=['signature_def'])
    self._fill_spec(request.model_spec)
    response = self._grpc(self._stub.GetModelMetadata, request)
    result = get_model_metadata_pb2.SignatureDefMap()
    if not response.metadata['signature_def'].Unpack(result):
      raise ServingError(f'{self}: the metadata has no signature_def')
    return result

  def signature(self, name: str) -> SignatureSpec:
    """The SignatureSpec of `name`; ValueError listing the served ones when unknown."""
    if name not in self.signatures:
      served = ', '.join(sorted(k for k in self.signatures if k != 'serving_default'))
      raise ValueError(f'{self} has no signature {name!r}; its signatures: {served}')
    return self.signatures[name]

  # -- predict ----------------------------------------------------------------------------
  def predict(self, signature: str, inputs: dict) -> dict:
    """Runs `signature` on `inputs` ({name: array-like}, cast to the signature's dtypes).

    Returns {output name: NumPy array} (strings as bytes objects). Raises ServingError
    when the server refuses the request, ServerUnavailable when it cannot be reached.
    """
    spec = self.signature(signature)
    if set(inputs) != set(spec.inputs):
      # TF Serving's REST API ignores unknown inputs and gRPC refuses them: say it here.
      raise ValueError(f'{self}: signature {signature!r} takes the inputs '
                       f'{sorted(spec.inputs)}, not {sorted(inputs)}')
    arrays = {}
    for k, v in inputs.items():
      dtype = spec.inputs[k].dtype if k in spec.inputs else None
      arrays[k] = np.asarray(v, dtype=dtype) if dtype != np.dtype(object) else _as_bytes(v)
    start = time.perf_counter()
    if self.protocol == 'rest':
      outputs = self._rest_predict(signature, spec, arrays)
    else:
      outputs = self._grpc_predict(signature, arrays)
    self.latencies.append(time.perf_counter() - start)
    return outputs

  def _rest_predict(self, signature, spec, arrays):
    body = {'signature_name': signature,
            'inputs': {k: _to_json(v, spec.inputs[k].dtype if k in spec.inputs else v.dtype)
                       for k, v in arrays.items()}}
    result = self._rest('POST', self._url + ':predict', body)
    if not isinstance(result, dict) or 'outputs' not in result:
      raise ServingError(f'{self}: unexpected response {json.dumps(result)[:300]}')
    outputs = result['outputs']
    names = list(spec.outputs)
    if len(names) == 1:  # TF Serving writes a single output without its name
      outputs = {names[0]: outputs}
    return {k: _from_json(v, spec.outputs.get(k, TensorSpec(np.dtype(np.float32), None)))
            for k, v in outputs.items()}

  def _rest(self, method, url, body=None):
    import requests  # pylint: disable=import-outside-toplevel
    try:
      # One bytes body: http.client then sends headers and body in one write, which avoids
      # the Nagle / delayed-ACK stall of two small writes (about 40 ms a request).
      response = self._session.request(
          method, url, timeout=(CONNECT_TIMEOUT, self.timeout),
          data=None if body is None else json.dumps(body).encode('utf-8'),
          headers=None if body is None else {'Content-Type': 'application/json'})
    except requests.ConnectionError as e:
      raise ServerUnavailable(f'no TF Serving REST API at {self.scheme}://{self.address} '
                              f'({type(e).__name__}); is the server running, and is this '
                              'its REST port (8501 by default)?') from None
    except requests.Timeout:
      raise ServingError(f'{self}: no answer within {self.timeout} s (--timeout)',
                         code='DEADLINE_EXCEEDED') from None
    try:
      result = response.json()
    except ValueError:
      result = None
    if response.status_code != 200:
      message = result.get('error') if isinstance(result, dict) else None
      raise ServingError(message or f'HTTP {response.status_code}: {response.text[:300]}',
                         code=response.status_code)
    if result is None:
      raise ServingError(f'{self}: the answer is not JSON: {response.text[:300]}')
    return result

  def _fill_spec(self, model_spec, signature=None):
    model_spec.name = self.model
    if self.version is not None:
      model_spec.version.value = int(self.version)
    if signature:
      model_spec.signature_name = signature

  def _grpc_predict(self, signature, arrays):
    from tensorflow_serving.apis import predict_pb2  # pylint: disable=import-outside-toplevel
    tf = _tf()
    request = predict_pb2.PredictRequest()
    self._fill_spec(request.model_spec, signature)
    for k, v in arrays.items():
      if v.dtype == np.dtype(object):
        request.inputs[k].CopyFrom(tf.make_tensor_proto(v, dtype=tf.string))
      else:
        request.inputs[k].CopyFrom(tf.make_tensor_proto(v))
    response = self._grpc(self._stub.Predict, request)
    return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}

  def _grpc(self, method, request):
    import grpc  # pylint: disable=import-outside-toplevel
    try:
      return method(request, timeout=self.timeout)
    except grpc.RpcError as e:
      code = e.code()
      if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        raise ServingError(f'{self}: no answer within {self.timeout} s (--timeout)',
                           code=code.name) from None
      if code == grpc.StatusCode.UNAVAILABLE:
        raise ServerUnavailable(f'no TF Serving gRPC API at {self.address} ({code.name}: '
                                f'{e.details()}); is the server running, and is this its '
                                'gRPC port (8500 by default)?') from None
      raise ServingError(e.details() or code.name, code=code.name) from None


def _as_bytes(values):
  """An object array of bytes (str encoded as UTF-8), keeping the nesting."""
  arr = np.asarray(values, dtype=object)
  out = np.empty(arr.shape, dtype=object)
  for index, v in np.ndenumerate(arr):
    out[index] = v.encode() if isinstance(v, str) else bytes(v)
  return out


def encode_png(image_uint8) -> bytes:
  """PNG bytes of an HxWxC uint8 image (lossless; fast compression)."""
  buf = io.BytesIO()
  Image.fromarray(np.asarray(image_uint8)).save(buf, format='PNG', compress_level=1)
  return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
  """uint8 HxWxC (C kept: 3 for RGB, 1 for a gray map) of a PNG the server returned."""
  try:
    array = np.asarray(Image.open(io.BytesIO(data)))
  except Exception as e:  # pylint: disable=broad-except
    raise ServingError(f'the server returned an output that is not a PNG ({e})') from None
  return array[..., None] if array.ndim == 2 else array


class RemoteModel:
  """A served model with tfi2i.translate.LocalModel's interface, so that `translate` (and
  the CLI of this module) writes the same files from a server as from a local export.

  With use_bytes (the default) `images` goes through the `<name>_bytes` signatures: PNGs
  in, PNGs out (`output_bytes` comes back as `output`). Otherwise through the float ones.

  endpoints: the export's declaration (tfi2i.endpoints.from_metadata of its tfi2i.json)
  when the caller has it; else read off the server's SignatureDefs (tfi2i.endpoints.infer:
  there, a heatmap output of the float signatures is taken for an image).
  """

  def __init__(self, client: Client, use_bytes: bool = True, endpoints: dict | None = None):
    self.client, self.use_bytes = client, use_bytes
    self.description = repr(client)
    self._endpoints = endpoints

  @property
  def endpoints(self):
    if self._endpoints is None:
      self._endpoints = ep.infer({
          name: ({k: (str(v.dtype), v.shape) for k, v in sig.inputs.items()},
                 {k: (str(v.dtype), v.shape) for k, v in sig.outputs.items()})
          for name, sig in self.client.signatures.items()})
    return self._endpoints

  def signature_names(self):
    return set(self.client.signatures)

  def call(self, name, inputs):
    return self.client.predict(name, inputs)

  def images(self, name, images, extra):
    images = np.asarray(images)
    if not self.use_bytes:
      outputs = self.client.predict(name, {'images': translate_lib.to_float(images), **extra})
      return translate_lib.pictures_to_uint8(self.endpoints.get(name), outputs)
    pngs = np.empty([len(images)], dtype=object)
    pngs[:] = [encode_png(image) for image in images]
    outputs = self.client.predict(name + BYTES_SUFFIX, {'images': pngs, **extra})
    result = {}
    for k, v in outputs.items():
      if k.endswith(BYTES_SUFFIX) and v.dtype == np.dtype(object) and v.ndim in (1, 2):
        decoded = [decode_png(x) for x in v.reshape(-1)]
        result[k[:-len(BYTES_SUFFIX)]] = np.stack(decoded).reshape(v.shape + decoded[0].shape)
      else:
        result[k] = v
    return result


def load_declaration(path: str) -> dict:
  """{signature: Endpoint} of an export version folder or of its tfi2i.json ({} if none)."""
  return ep.from_metadata(read_metadata(path))


def latency_report(latencies, images: int) -> str:
  """One line: request count, mean/median/p90/max latency and images per second."""
  if not latencies:
    return 'no requests'
  ms = sorted(1000 * t for t in latencies)
  p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
  return (f'{len(ms)} requests: mean {statistics.fmean(ms):.1f} ms, median '
          f'{statistics.median(ms):.1f} ms, p90 {p90:.1f} ms, max {ms[-1]:.1f} ms; '
          f'{images / (sum(ms) / 1000):.2f} images/s')


def cli(server: str, model: str, input: str, output: str,  # pylint: disable=redefined-builtin
        signature: str = 'a_to_b', grpc: bool = False, version: int | None = None,
        float: bool = False, batch_size: int = 1, samples: int = 0, seed: int = 0,  # pylint: disable=redefined-builtin
        reference: str | None = None, timeout: float = DEFAULT_TIMEOUT, extra=None,
        declaration: str | None = None, attention: bool = False) -> int:
  """The command line; returns the exit status."""
  endpoints = None
  if declaration:
    endpoints = load_declaration(declaration)
    if not endpoints:
      print(f'client: no endpoint declaration in {declaration} (an export version folder or '
            'its assets.extra/tfi2i.json)', file=sys.stderr)
      return 2
  if signature.endswith(BYTES_SUFFIX):
    signature = signature[:-len(BYTES_SUFFIX)]  # the endpoint; --float picks the other form
  try:
    client = Client(server, model, protocol='grpc' if grpc else 'rest', version=version,
                    timeout=timeout)
  except (ValueError, ImportError) as e:
    print(f'client: {e}', file=sys.stderr)
    return 2 if isinstance(e, ValueError) else 1
  with client:
    try:
      result = translate_lib.translate(
          RemoteModel(client, use_bytes=not float, endpoints=endpoints), input, output, signature,
          batch_size=batch_size, samples=samples, seed=seed, reference=reference,
          values=translate_lib.parse_values(extra), attention=attention)
    except (ServerUnavailable, ServingError, FileNotFoundError, ValueError,
            image_io.DataError) as e:
      print(f'client: {e}', file=sys.stderr)
      return 1
  return translate_lib.report(
      result, 'Latency: ' + latency_report(client.latencies, result.translated))


def _define_flags():
  io_flags = translate_lib.define_io_flags()
  flags.adopt_module_key_flags(translate_lib)  # listed by --help too
  return dict(
      server=flags.DEFINE_string('server', None, 'HOST:PORT of TF Serving: the REST port '
                                 '(8501) or with --grpc the gRPC port (8500).', required=True),
      model=flags.DEFINE_string('model', None, 'Model name in the server config.',
                                required=True),
      signature=flags.DEFINE_string('signature', 'a_to_b', 'Endpoint: a_to_b, b_to_a, ... '
                                    '(its _bytes form is used unless --float).'),
      grpc=flags.DEFINE_bool('grpc', False, 'Use gRPC PredictionService instead of REST.'),
      version=flags.DEFINE_integer('version', None, 'Model version (default: the newest '
                                   'served).'),
      float=flags.DEFINE_bool('float', False, 'Send float32 images to the float signature '
                              'instead of PNGs to the _bytes one.'),
      timeout=flags.DEFINE_float('timeout', DEFAULT_TIMEOUT, 'Seconds per request; a slower '
                                 'one fails for its file.'),
      declaration=flags.DEFINE_string('declaration', None, 'The served export version '
                                      'folder (or its assets.extra/tfi2i.json): the endpoint '
                                      'declaration, so --float converts heatmap outputs '
                                      'right (default: read off the server\'s signatures).'),
      **io_flags)


if __name__ == '__main__':
  cli_lib.run(_define_flags, cli)
