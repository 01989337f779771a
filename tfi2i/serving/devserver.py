"""tfi2i's development model server: TensorFlow Serving's REST and gRPC APIs over SavedModels.

For local development, demos and tests where the real TF Serving binary
(`tensorflow_model_server`, or its Docker image) is not available. It is not meant for
production: it runs the SavedModels in one Python process, without batching, file-system
polling or monitoring; serve with TF Serving there (`python -m tfi2i.serving.config` writes
its model config and a Docker Compose file). It takes the same flags as
tensorflow_model_server and answers as TF Serving does, so clients (tfi2i.serving.client)
work against either:

  python -m tfi2i.serving.devserver --port=8500 --rest_api_port=8501 \\
      (--model_config_file=PATH | --model_name=NAME --model_base_path=PATH)

or in-process: `server = start(model_base_path=..., model_name=...)`, then `server.grpc_port`,
`server.rest_port` and `server.stop()`. tfi2i.serving.launch starts it (or the real binary)
as a subprocess and waits until the models are available.

What it mirrors (behaviour and error texts read from TF Serving's sources):
  * Model config: a text-format ModelServerConfig (model_config_list only; base paths must
    be absolute; model_platform "tensorflow"; version policies latest (default, 1 version),
    all and specific; version_labels, refused at start-up unless
    --allow_version_labels_for_unavailable_models, as TF Serving does). Versions are
    integer-named folders holding saved_model.pb; each served version is loaded once at
    start-up with tf.saved_model.load (tag "serve") and called through its signatures.
  * Warm-up: `assets.extra/tf_serving_warmup_requests` (PredictionLog records) is replayed
    at load unless --enable_model_warmup=false; a failing record fails the load.
  * REST (tensorflow_serving/model_servers/http_rest_api_handler.cc, util/json_tensor.cc):
    POST /v1/models/NAME[/versions/V|/labels/L]:predict in the row ("instances") and
    columnar ("inputs") formats, {"b64": ...} for DT_STRING, outputs named *_bytes written
    as {"b64": ...}, floats written as TF Serving writes them (NaN, Infinity);
    GET /v1/models/NAME[/versions/V|/labels/L] (status) and .../metadata. Errors are
    {"error": message} with TF Serving's HTTP mapping of status codes (INVALID_ARGUMENT and
    FAILED_PRECONDITION 400, NOT_FOUND 404, UNIMPLEMENTED 501, others 500).
  * gRPC: PredictionService.Predict and GetModelMetadata, ModelService.GetModelStatus, with
    TF Serving's status codes and messages (truncated to 1024 characters as TF Serving does).
    Output TensorProtos use the typed *_val fields, like TF Serving's default
    (AsProtoField). Classify, Regress, MultiInference and HandleReloadConfigRequest answer
    UNIMPLEMENTED.

Where it differs on purpose:
  * Port 0 (either flag) picks a free port, and the REST server always runs (TF Serving turns
    REST off for --rest_api_port=0); both listen on 127.0.0.1 only. Once serving, one line
    `DEVSERVER READY grpc=<port> rest=<port>` goes to stdout.
  * No file-system polling: versions are fixed at start-up. A missing base path, or no
    servable version under it, is an error at start-up (exit status 1) instead of a server
    that waits for versions to appear.
  * REST request bodies are limited (64 MiB by default; 413 beyond).
  * TensorFlow errors raised by a signature carry Python's wording; the "Graph execution
    error" preamble and the "[Op:...]" suffix Python adds are removed, so the text is close
    to what the C++ session reports.
"""
import argparse
import base64
import binascii
import concurrent.futures
import http.server
import json
import logging
import math
import os
import re
import signal
import socket
import sys
import threading
import urllib.parse

from google.protobuf import json_format
from google.protobuf import text_format
import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc
from tensorflow_serving.config import model_server_config_pb2

logger = logging.getLogger('tfi2i.serving.devserver')

DEFAULT_SIGNATURE = 'serving_default'
MAX_REQUEST_BYTES = 64 << 20  # REST bodies above this get 413
GRPC_MAX_MESSAGE = 2**31 - 1  # TF Serving's gRPC message limit (kint32max)
GRPC_ERROR_LIMIT = 1024  # TF Serving truncates gRPC error messages to this many characters
READY_LINE = 'DEVSERVER READY grpc={grpc} rest={rest}'
SERVE_TAG = 'serve'
PREDICT_METHODS = ('tensorflow/serving/predict', 'tensorflow/serving/classify',
                   'tensorflow/serving/regress')
FLT_MAX = float(np.finfo(np.float32).max)

Code = grpc.StatusCode
_CODE_BY_NUMBER = {c.value[0]: c for c in Code}
_HTTP_STATUS = {
    Code.OK: 200, Code.CANCELLED: 499, Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504, Code.NOT_FOUND: 404, Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403, Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400, Code.ABORTED: 409, Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501, Code.UNAVAILABLE: 503, Code.UNAUTHENTICATED: 401,
}  # TF Serving's ToHTTPStatusCode; anything else is 500


class ServingError(Exception):
  """A request failed: a gRPC status code and TF Serving's message."""

  def __init__(self, code: grpc.StatusCode, message: str):
    super().__init__(message)
    self.code = code
    self.message = message

  @property
  def http_status(self) -> int:
    return _HTTP_STATUS.get(self.code, 500)


class StartupError(Exception):
  """The server cannot start (bad flags or config, missing model, port in use)."""


def _invalid(message):
  return ServingError(Code.INVALID_ARGUMENT, message)


def _dtype_text(dtype_enum: int) -> str:
  """TF's DataTypeString: DT_FLOAT -> 'float'."""
  try:
    return types_pb2.DataType.Name(dtype_enum)[3:].lower()
  except ValueError:
    return f'unknown dtype {dtype_enum}'


# ----------------------------------------------------------------------------------------
# Models

class Servable:
  """One loaded version of a model: its SignatureDefs and callable signatures."""

  def __init__(self, name: str, version: int, path: str, warmup: bool = True):
    self.name, self.version, self.path = name, version, path
    meta_graph = _read_meta_graph(name, version, path)
    self.signature_defs = dict(meta_graph.signature_def)
    try:
      self.module = tf.saved_model.load(path, tags=[SERVE_TAG])
    except Exception as e:  # pylint: disable=broad-except
      raise StartupError(f'Loading servable: {{name: {name} version: {version}}} failed: '
                         f'{e}') from e
    self.functions = dict(self.module.signatures)
    self.warmup_requests = self._warm_up() if warmup else 0

  def _warm_up(self) -> int:
    """Replays assets.extra/tf_serving_warmup_requests (PredictionLog records, as TF
    Serving's saved_model_warmup does at load); a failing record fails the load."""
    path = os.path.join(self.path, 'assets.extra', 'tf_serving_warmup_requests')
    if not os.path.exists(path):
      return 0
    count = 0
    for record in tf.data.TFRecordDataset(path):
      log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
      if log.WhichOneof('log_type') != 'predict_log':
        raise StartupError(f'Unsupported log_type for warmup: {log.WhichOneof("log_type")} '
                           f'({path})')
      request = log.predict_log.request
      name = request.model_spec.signature_name or DEFAULT_SIGNATURE
      try:
        self.functions[name](**{k: tf.constant(tf.make_ndarray(v))
                                for k, v in request.inputs.items()})
      except Exception as e:  # pylint: disable=broad-except
        raise StartupError(f'Failed to warm up model {self.name} version {self.version} '
                           f'with request {count} (signature {name}): {e}') from e
      count += 1
    logger.info('Finished reading warmup data for model at %s. Number of warmup records '
                'read: %d.', path, count)
    return count


class Model:
  """A configured model: its served versions and version labels."""

  def __init__(self, name: str, base_path: str, servables: dict, labels: dict):
    self.name, self.base_path = name, base_path
    self.versions = servables  # {version: Servable}
    self.labels = labels  # {label: version}


def _read_meta_graph(name, version, path):
  saved_model = saved_model_pb2.SavedModel()
  pb, pbtxt = os.path.join(path, 'saved_model.pb'), os.path.join(path, 'saved_model.pbtxt')
  try:
    if os.path.exists(pb):
      with open(pb, 'rb') as f:
        saved_model.ParseFromString(f.read())
    else:
      with open(pbtxt) as f:
        text_format.Parse(f.read(), saved_model)
  except Exception as e:  # pylint: disable=broad-except
    raise StartupError(f'Loading servable: {{name: {name} version: {version}}} failed: '
                       f'cannot read the SavedModel in {path}: {e}') from e
  for meta_graph in saved_model.meta_graphs:
    if set(meta_graph.meta_info_def.tags) == {SERVE_TAG}:
      return meta_graph
  raise StartupError(f'Loading servable: {{name: {name} version: {version}}} failed: Could '
                     f'not find meta graph def matching supplied tags: {{ {SERVE_TAG} }} in '
                     f'{path}')


def read_config(model_config_file=None, model_name=None, model_base_path=None):
  """The ModelServerConfig of the flags, validated as TF Serving validates it."""
  config = model_server_config_pb2.ModelServerConfig()
  if model_config_file:
    if model_base_path:
      logger.warning('--model_config_file is set: --model_name and --model_base_path are '
                     'ignored')
    try:
      with open(model_config_file) as f:
        text = f.read()
    except OSError as e:
      raise StartupError(f'Cannot read model config file {model_config_file}: '
                         f'{e.strerror}') from e
    try:
      text_format.Parse(text, config)
    except text_format.ParseError as e:
      raise StartupError(f'Invalid protobuf file: {model_config_file}: {e}') from e
  elif model_base_path:
    config.model_config_list.config.add(name=model_name or 'default',
                                        base_path=model_base_path,
                                        model_platform='tensorflow')
  else:
    raise StartupError('Both server_options.model_base_path and '
                       'server_options.model_config_file are empty!')
  kind = config.WhichOneof('config')
  if kind == 'custom_model_config':
    raise StartupError('custom_model_config is not supported by the development server')
  names = set()
  for model in config.model_config_list.config:
    if model.name in names:
      raise StartupError(f'Illegal to list model {model.name} multiple times in config list')
    names.add(model.name)
    if not model.base_path.startswith('file://') and not os.path.isabs(model.base_path):
      raise StartupError(f'Expected model {model.name} to have an absolute path or URI; got '
                         f'base_path()={model.base_path}')
    if model.model_type and model.model_platform:
      raise StartupError(f'Model {model.name}: Illegal setting both ModelServerConfig::'
                         'model_type (deprecated) and ModelServerConfig::model_platform.')
    platform = model.model_platform or ('tensorflow' if model.model_type == 1 else '')
    if not platform:
      raise StartupError(f'Model {model.name}: Illegal setting neither ModelServerConfig::'
                         'model_type (deprecated) nor ModelServerConfig::model_platform.')
    if platform != 'tensorflow':
      raise StartupError(f'Model {model.name} requests unsupported platform {platform}')
  return config


def versions_on_disk(base_path: str) -> dict:
  """{version: folder} of the integer-named folders of base_path that hold a SavedModel."""
  found = {}
  for entry in os.listdir(base_path):
    folder = os.path.join(base_path, entry)
    if re.fullmatch(r'[0-9]+', entry) and os.path.isdir(folder) and any(
        os.path.isfile(os.path.join(folder, f))
        for f in ('saved_model.pb', 'saved_model.pbtxt')):
      found[int(entry)] = folder
  return found


def _served_versions(model_config, available: list) -> list:
  policy = model_config.model_version_policy
  which = policy.WhichOneof('policy_choice')
  if which == 'all':
    return sorted(available)
  if which == 'specific':
    wanted = set(policy.specific.versions)
    missing = sorted(wanted - set(available))
    if missing:
      logger.warning('model %s: versions %s of the specific version policy are not under %s',
                     model_config.name, missing, model_config.base_path)
    return sorted(wanted & set(available))
  num = max(policy.latest.num_versions, 1) if which == 'latest' else 1
  return sorted(available)[-num:]


def load_models(config, allow_version_labels_for_unavailable_models=False,
                enable_model_warmup=True) -> dict:
  """{name: Model} with every served version loaded; StartupError when one cannot be."""
  models = {}
  for model_config in config.model_config_list.config:
    name = model_config.name
    base = model_config.base_path
    if base.startswith('file://'):
      base = base[len('file://'):]
    if model_config.version_labels and not allow_version_labels_for_unavailable_models:
      label, version = sorted(model_config.version_labels.items())[0]
      raise StartupError(
          f'Request to assign label to version {version} of model {name}, which is not '
          'currently available for inference (tensorflow_model_server refuses version '
          'labels at start-up unless --allow_version_labels_for_unavailable_models=true)')
    if not os.path.isdir(base):
      raise StartupError(f'Could not find base path {base} for servable {name}')
    try:
      available = versions_on_disk(base)
    except OSError as e:
      raise StartupError(f'Cannot list base path {base} of servable {name}: {e}') from e
    served = _served_versions(model_config, list(available))
    if not served:
      policy = text_format.MessageToString(model_config.model_version_policy,
                                           as_one_line=True) or 'latest { num_versions: 1 }'
      raise StartupError(f'No versions of servable {name} found under base path {base} '
                         f'(versions there: {sorted(available)}; version policy: {policy})')
    servables = {}
    for version in served:
      servables[version] = Servable(name, version, available[version], enable_model_warmup)
      logger.info('Successfully loaded servable version {name: %s version: %d} from %s',
                  name, version, available[version])
    models[name] = Model(name, base, servables, dict(model_config.version_labels))
  return models


# ----------------------------------------------------------------------------------------
# JSON <-> tensors (tensorflow_serving/util/json_tensor.cc)

_JSON_NUMERIC = {
    types_pb2.DT_FLOAT: np.float32, types_pb2.DT_DOUBLE: np.float64,
    types_pb2.DT_INT32: np.int32, types_pb2.DT_INT16: np.int16, types_pb2.DT_INT8: np.int8,
    types_pb2.DT_UINT8: np.uint8, types_pb2.DT_INT64: np.int64,
    types_pb2.DT_UINT32: np.uint32, types_pb2.DT_UINT64: np.uint64,
}
_SMALL_INTS = (types_pb2.DT_INT32, types_pb2.DT_INT16, types_pb2.DT_INT8, types_pb2.DT_UINT8)
_INT_RANGE = {  # what rapidjson's IsInt / IsInt64 / IsUint / IsUint64 accept
    types_pb2.DT_INT32: (-2**31, 2**31 - 1), types_pb2.DT_INT16: (-2**31, 2**31 - 1),
    types_pb2.DT_INT8: (-2**31, 2**31 - 1), types_pb2.DT_UINT8: (-2**31, 2**31 - 1),
    types_pb2.DT_INT64: (-2**63, 2**63 - 1), types_pb2.DT_UINT32: (0, 2**32 - 1),
    types_pb2.DT_UINT64: (0, 2**64 - 1),
}
_LOSSLESS_INT = {types_pb2.DT_FLOAT: 2**24 - 1, types_pb2.DT_DOUBLE: 2**53 - 1}
_FAST_TYPES = {types_pb2.DT_FLOAT: {int, float}, types_pb2.DT_DOUBLE: {int, float},
               types_pb2.DT_STRING: {str}, types_pb2.DT_BOOL: {bool}}
_RAPIDJSON_ERRORS = (
    ('Expecting value', 'Invalid value.'),
    ('Extra data', 'The document root must not be followed by other values.'),
    ('Unterminated string', 'Missing a closing quotation mark in string.'),
    ('Expecting property name', 'Missing a name for object member.'),
    ("Expecting ':' delimiter", 'Missing a colon after a name of object member.'),
    ('Invalid control character', 'Invalid encoding in string.'),
    ('Invalid \\uXXXX escape', 'Incorrect hex digit after \\u escape in string.'),
    ('Invalid \\escape', 'Invalid escape character in string.'),
)


def _decimal_text(value: float, single: bool) -> str:
  """A float as TF Serving writes it (WriteDecimal): %g, more digits when needed, '.0'."""
  if math.isnan(value):
    return 'NaN'
  if math.isinf(value):
    return 'Infinity' if value > 0 else '-Infinity'
  if single:
    value = float(np.float32(value))
  text = '%.6g' % value
  parsed = float(np.float32(float(text))) if single else float(text)
  if parsed != value:
    text = ('%.9g' if single else '%.17g') % value
  return text if ('.' in text or 'e' in text) else text + '.0'


def _js(value) -> str:
  """A JSON value as TF Serving prints it in error messages."""
  if type(value) is float:  # pylint: disable=unidiomatic-typecheck
    return _decimal_text(value, not math.isfinite(value) or abs(value) <= FLT_MAX)
  return json.dumps(value, indent=4, ensure_ascii=False)


def _json_type(value) -> str:
  if value is None:
    return 'Null'
  if isinstance(value, bool):
    return 'True' if value else 'False'
  return {dict: 'Object', list: 'Array', str: 'String'}.get(type(value), 'Number')


def _type_error(value, dtype):
  return _invalid(f'JSON Value: {_js(value)} Type: {_json_type(value)} is not of expected '
                  f'type: {_dtype_text(dtype)}')


def _text_bytes(text) -> bytes:
  if isinstance(text, bytes):
    return text
  try:
    return text.encode('utf-8', 'surrogateescape')  # raw bytes of the request kept as is
  except UnicodeEncodeError:
    return text.encode('utf-8', 'surrogatepass')


def _is_b64(value) -> bool:
  return (type(value) is dict and len(value) == 1  # pylint: disable=unidiomatic-typecheck
          and type(value.get('b64')) is str)  # pylint: disable=unidiomatic-typecheck


def _is_element_object(value) -> bool:
  return type(value) is dict and not _is_b64(value)  # pylint: disable=unidiomatic-typecheck


def _b64_value(value) -> bytes:
  """The bytes of {"b64": "..."} (absl::Base64Unescape: whitespace skipped, padding
  optional)."""
  if not _is_b64(value):
    raise _invalid(f'JSON Value: {_js(value)} not formatted correctly for base64 data')
  text = re.sub(r'[ \t\n\v\f\r]', '', value['b64'])
  data = text.rstrip('=')
  padding = len(text) - len(data)
  if (padding > 2 or len(data) % 4 == 1 or (padding and len(text) % 4)
      or not re.fullmatch(r'[A-Za-z0-9+/]*', data)):
    raise _invalid('Unable to base64 decode')
  try:
    return base64.b64decode(data + '=' * (-len(data) % 4), validate=True)
  except (binascii.Error, ValueError):
    raise _invalid('Unable to base64 decode') from None


def _scalar(value, dtype):
  """One JSON value as an element of a tensor of dtype (AddValueToTensor)."""
  kind = type(value)
  if dtype in _LOSSLESS_INT:
    if kind not in (int, float):
      raise _type_error(value, dtype)
    lossy = (abs(value) > _LOSSLESS_INT[dtype] if kind is int else
             dtype == types_pb2.DT_FLOAT and math.isfinite(value) and abs(value) > FLT_MAX)
    if lossy:
      raise _invalid(f'Cannot convert JSON value: {_js(value)} to {_dtype_text(dtype)} without '
                     'loss of precision.')
    return value
  if dtype in _INT_RANGE:
    low, high = _INT_RANGE[dtype]
    if kind is not int or not low <= value <= high:
      raise _type_error(value, dtype)
    return value
  if dtype == types_pb2.DT_STRING:
    if kind is not str:
      raise _type_error(value, dtype)
    return _text_bytes(value)
  if dtype == types_pb2.DT_BOOL:
    if kind is not bool:
      raise _type_error(value, dtype)
    return value
  raise ServingError(Code.UNIMPLEMENTED, f'Conversion of JSON Value: {_js(value)} to type: '
                                         f'{_dtype_text(dtype)}')


def _dense_shape(value) -> list:
  """GetDenseTensorShape: the sizes of the first list at each level."""
  shape = []
  while type(value) is list:  # pylint: disable=unidiomatic-typecheck
    shape.append(len(value))
    if not value:
      break
    value = value[0]
  return shape


def _fast_leaves(values, dtype) -> bool:
  """Whether a list of leaves can be taken as it is (checked in bulk by _to_array)."""
  kinds = set(map(type, values))
  if dtype in _INT_RANGE:
    return kinds <= {int}
  if not kinds <= _FAST_TYPES.get(dtype, set()):
    return False
  if int in kinds and dtype in _LOSSLESS_INT:
    return max(abs(v) for v in values if type(v) is int) <= _LOSSLESS_INT[dtype]
  return True


def _fill(value, level, shape, dtype, out):
  """FillTensorProto: appends the leaves of value to out, checking the structure."""
  rank = len(shape)
  if type(value) is not list:  # pylint: disable=unidiomatic-typecheck
    if level != rank:
      raise _invalid(f'JSON Value: {_js(value)} found at incorrect level: {level + 1} in the '
                     f'JSON DOM. Expected at level: {rank}')
    if type(value) is dict:  # pylint: disable=unidiomatic-typecheck
      if dtype != types_pb2.DT_STRING:
        raise _type_error(value, dtype)
      out.append(_b64_value(value))
    else:
      out.append(_scalar(value, dtype))
    return
  if level >= rank:
    raise _invalid(f'Encountered list at unexpected level: {level} expected < {rank}')
  if len(value) != shape[level]:
    raise _invalid(f'Encountered list at unexpected size: {len(value)} at level: {level} '
                   f'expected size: {shape[level]}')
  if level == rank - 1 and _fast_leaves(value, dtype):
    out.extend(value)
    return
  for item in value:
    _fill(item, level + 1, shape, dtype, out)


def _to_array(flat, dtype, shape) -> np.ndarray:
  """The leaves gathered by _fill as an array of dtype; range checks done in bulk."""
  if dtype == types_pb2.DT_STRING:
    array = np.empty(len(flat), dtype=object)
    array[:] = [_text_bytes(v) for v in flat]
    return array.reshape(shape)
  if dtype == types_pb2.DT_BOOL:
    return np.array(flat, dtype=np.bool_).reshape(shape)
  try:
    if dtype in _LOSSLESS_INT:
      array = np.array(flat, dtype=np.float64)
      if dtype == types_pb2.DT_FLOAT:
        finite = array[np.isfinite(array)]
        if finite.size and np.abs(finite).max() > FLT_MAX:
          raise OverflowError
      return array.astype(_JSON_NUMERIC[dtype]).reshape(shape)
    if dtype not in _INT_RANGE:  # no elements (else _scalar refused the dtype)
      return np.zeros(shape, tf.dtypes.as_dtype(dtype).as_numpy_dtype)
    low, high = _INT_RANGE[dtype]
    array = np.array(flat, dtype=np.uint64 if dtype == types_pb2.DT_UINT64 else np.int64)
    if array.size and (array.min() < low or array.max() > high):
      raise OverflowError
    return array.astype(_JSON_NUMERIC[dtype]).reshape(shape)
  except OverflowError:
    for v in flat:  # the first offending value, with TF Serving's message
      _scalar(v, dtype)
    raise _invalid('JSON value out of range') from None


def json_to_array(value, dtype) -> np.ndarray:
  """A JSON value (scalar or nested lists) as a tensor of dtype (a TF DataType enum)."""
  shape = _dense_shape(value)
  flat = []
  _fill(value, 0, shape, dtype, flat)
  return _to_array(flat, dtype, shape)


def _unclosed_bracket(text: str) -> str:
  """The innermost bracket still open at the end of text ('[', '{' or '')."""
  stack, in_string, escaped = [], False, False
  for ch in text:
    if in_string:
      escaped = not escaped and ch == '\\'
      in_string = escaped or ch != '"'
    elif ch == '"':
      in_string = True
    elif ch in '[{':
      stack.append(ch)
    elif ch in ']}' and stack:
      stack.pop()
  return stack[-1] if stack else ''


def parse_json(body: bytes):
  """The request document (ParseJson): an object, else INVALID_ARGUMENT."""
  if not body:
    raise _invalid('JSON Parse error: The document is empty')
  text = body.decode('utf-8', 'surrogateescape')
  if text.startswith('\ufeff'):
    text = text[1:]
  try:
    doc = json.loads(text)
  except json.JSONDecodeError as e:
    if not text.strip():
      reason = 'The document is empty.'
    elif e.msg.startswith("Expecting ',' delimiter"):
      reason = ("Missing a comma or '}' after an object member." if
                _unclosed_bracket(text[:e.pos]) == '{' else
                "Missing a comma or ']' after an array element.")
    else:
      reason = next((r for p, r in _RAPIDJSON_ERRORS if e.msg.startswith(p)), e.msg)
    raise _invalid(f'JSON Parse error: {reason} at offset: {e.pos}') from None
  except RecursionError:
    raise _invalid('JSON Parse error: the document is nested too deeply') from None
  if type(doc) is not dict:  # pylint: disable=unidiomatic-typecheck
    raise _invalid(f'JSON Value: {_js(doc)} Is not object')
  return doc


def _shape_text(shape) -> str:
  return '[' + ','.join(map(str, shape)) + ']'


def _status_text(error: ServingError) -> str:
  return f'{error.code.name}: {error.message}'


def instances_to_arrays(instances: list, infos: dict) -> dict:
  """The row format (FillTensorMapFromInstancesList): {input: array} batched over rows."""
  names = sorted(infos)
  if not isinstance(instances[0], dict) and len(infos) > 1:
    raise _invalid('instances is a plain list, but expecting list of objects as multiple '
                   'input tensors required as per tensorinfo_map')
  objects = _is_element_object(instances[0])
  flats, shapes = {}, {}

  def add(item, name):
    if name not in infos:
      raise _invalid(f'JSON object: does not have named input: {name}')
    shape = _dense_shape(item)
    flat = []
    _fill(item, 0, shape, infos[name].dtype, flat)
    if name not in shapes:
      shapes[name] = shape
      flats[name] = []
    elif math.prod(shapes[name]) != len(flat):
      raise _invalid(f'Expecting tensor size: {math.prod(shapes[name])} but got: {len(flat)}')
    elif shapes[name] != shape:
      raise _invalid(f'Expecting shape {_shape_text(shapes[name])} but got: '
                     f'{_shape_text(shape)}')
    flats[name].extend(flat)

  for i, element in enumerate(instances):
    if objects:
      if not _is_element_object(element):
        raise _invalid(f'Expecting object but got list at item {i} of input list')
      for key, item in element.items():
        try:
          add(item, key)
        except ServingError as e:
          raise _invalid(f"Failed to process element: {i} key: {key} of 'instances' list. "
                         f'Error: {_status_text(e)}') from None
      if set(element) != set(names):
        raise _invalid(f"Failed to process element: {i} of 'instances' list. JSON object: "
                       f"{_js(element)} keys must be equal to: {','.join(names)}")
    else:
      if _is_element_object(element):
        raise _invalid(f'Expecting value/list but got object at item {i} of input list')
      try:
        add(element, names[0])
      except ServingError as e:
        raise _invalid(f"Failed to process element: {i} of 'instances' list. Error: "
                       f'{_status_text(e)}') from None
  return {name: _to_array(flats[name], infos[name].dtype, [len(instances)] + shapes[name])
          for name in flats}


def inputs_to_arrays(inputs, infos: dict) -> dict:
  """The columnar format (FillTensorMapFromInputsMap): {input: array}."""
  names = sorted(infos)
  if type(inputs) is not dict or _is_b64(inputs):  # pylint: disable=unidiomatic-typecheck
    if len(infos) > 1:
      raise _invalid('inputs is a plain value/list, but expecting an object as multiple input '
                     'tensors required as per tensorinfo_map')
    return {names[0]: json_to_array(inputs, infos[names[0]].dtype)}
  arrays = {}
  for name in names:
    if name not in inputs:
      raise _invalid(f"Missing named input: {name} in 'inputs' object.")
    arrays[name] = json_to_array(inputs[name], infos[name].dtype)
  return arrays


def _tokens(name: str, array: np.ndarray) -> list:
  """The JSON text of every element of an output, in C order (AddSingleValueAndAdvance)."""
  flat = array.reshape(-1)
  kind = array.dtype.kind
  if kind == 'f':
    single = array.dtype != np.float64
    values = flat.astype(np.float32 if single else np.float64)
    floats = values.tolist()
    tokens = ['%.6g' % v for v in floats]
    if tokens:
      parsed = np.array(tokens).astype(values.dtype)
      for i in np.flatnonzero((parsed != values) & np.isfinite(values)):
        tokens[i] = ('%.9g' if single else '%.17g') % floats[i]
      tokens = [t if ('.' in t or 'e' in t) else t + '.0' for t in tokens]
      for i in np.flatnonzero(~np.isfinite(values)):
        tokens[i] = _decimal_text(floats[i], single)
    return tokens
  if kind in 'iu':
    return list(map(str, flat.tolist()))
  if kind == 'b':
    return ['true' if v else 'false' for v in flat.tolist()]
  if kind in 'OSa':
    if name.endswith('_bytes'):
      return ['{"b64": "%s"}' % base64.b64encode(v).decode('ascii') for v in flat.tolist()]
    return [json.dumps(_text_bytes(v).decode('utf-8', 'surrogateescape'), ensure_ascii=False)
            for v in flat.tolist()]
  raise _invalid(f'Failed to write JSON value for tensor type: '
                 f'{_dtype_text(tf.dtypes.as_dtype(array.dtype).as_datatype_enum)}')


def _nest(tokens: list, shape) -> str:
  """Element texts in C order as nested JSON lists of the given shape."""
  items = tokens
  for level in range(len(shape) - 1, -1, -1):
    size = shape[level]
    if size == 0:
      items = ['[]'] * math.prod(shape[:level])
    else:
      items = ['[' + ','.join(items[i:i + size]) + ']' for i in range(0, len(items), size)]
  return items[0]


def row_json(outputs: dict) -> str:
  """{"predictions": [...]}: one entry per batch item (MakeRowFormatJsonFromTensors)."""
  if not outputs:
    raise _invalid('Cannot convert empty tensor map to JSON')
  batch = -1
  for name in sorted(outputs):
    shape = outputs[name].shape
    if not shape:
      raise _invalid(f'Tensor name: {name} has no shape information ')
    if batch >= 0 and shape[0] != batch:
      raise _invalid(f'Tensor name: {name} has inconsistent batch size: {shape[0]} '
                     f'expecting: {batch}')
    batch = shape[0]
  items = {}
  for name, array in outputs.items():
    tokens = _tokens(name, array)
    step = math.prod(array.shape[1:])
    items[name] = [_nest(tokens[b * step:(b + 1) * step], array.shape[1:])
                   for b in range(batch)]
  names = sorted(outputs)
  if len(names) == 1:
    rows = items[names[0]]
  else:
    rows = ['{' + ', '.join(f'{json.dumps(n)}: {items[n][b]}' for n in names) + '}'
            for b in range(batch)]
  return '{"predictions": [' + ', '.join(rows) + ']}'


def columnar_json(outputs: dict) -> str:
  """{"outputs": value} or {"outputs": {name: value}} (MakeColumnarFormatJsonFromTensors)."""
  if not outputs:
    raise _invalid('Cannot convert empty tensor map to JSON')
  texts = {n: _nest(_tokens(n, a), a.shape) for n, a in sorted(outputs.items())}
  if len(texts) == 1:
    return '{"outputs": ' + next(iter(texts.values())) + '}'
  return '{"outputs": {' + ', '.join(f'{json.dumps(n)}: {t}' for n, t in texts.items()) + '}}'


# ----------------------------------------------------------------------------------------
# Tensors <-> TensorProtos

_PROTO_FIELD = {
    np.dtype(np.float32): 'float_val', np.dtype(np.float64): 'double_val',
    np.dtype(np.int32): 'int_val', np.dtype(np.int16): 'int_val', np.dtype(np.int8): 'int_val',
    np.dtype(np.uint8): 'int_val', np.dtype(np.uint16): 'int_val',
    np.dtype(np.int64): 'int64_val', np.dtype(np.uint32): 'uint32_val',
    np.dtype(np.uint64): 'uint64_val', np.dtype(np.bool_): 'bool_val',
}


def tensor_proto(array: np.ndarray, proto) -> None:
  """Fills a TensorProto with the typed *_val fields, as TF Serving's AsProtoField does."""
  if array.dtype.kind in 'OSa':
    proto.dtype = types_pb2.DT_STRING
    proto.string_val.extend(_text_bytes(v) for v in array.reshape(-1).tolist())
  elif array.dtype in _PROTO_FIELD:
    proto.dtype = tf.dtypes.as_dtype(array.dtype).as_datatype_enum
    getattr(proto, _PROTO_FIELD[array.dtype]).extend(array.reshape(-1).tolist())
  elif array.dtype == np.float16:
    proto.dtype = types_pb2.DT_HALF
    proto.half_val.extend(array.reshape(-1).view(np.uint16).tolist())
  else:
    proto.CopyFrom(tf.make_tensor_proto(array))
    return
  for size in array.shape:
    proto.tensor_shape.dim.add(size=size)


# ----------------------------------------------------------------------------------------
# The server core: model lookup, prediction, status and metadata

_GRAPH_ERROR_PREAMBLE = re.compile(
    r'^Graph execution error:\s*(Detected at node .*? defined at \(most recent call last\):\n'
    r'<stack traces unavailable>\n)?', re.S)
_OP_SUFFIX = re.compile(r'\s*\[Op:[^\]]*\](?: name: .*)?\s*$', re.S)


def _tf_error_text(error: tf.errors.OpError) -> str:
  text = _GRAPH_ERROR_PREAMBLE.sub('', error.message)
  return _OP_SUFFIX.sub('', text)


def _parse_input(alias, given):
  """(dtype enum, array) of a request input: a TensorProto (Tensor::FromProto) or a pair."""
  if isinstance(given, tuple):
    return given
  try:
    return given.dtype, tf.make_ndarray(given)
  except Exception:  # pylint: disable=broad-except
    raise _invalid(f'tensor parsing error: {alias}') from None


def _spec_choice(model_spec):
  """(version, label) of a ModelSpec."""
  choice = model_spec.WhichOneof('version_choice')
  return (model_spec.version.value if choice == 'version' else None,
          model_spec.version_label if choice == 'version_label' else None)


class ServerCore:
  """What both front ends share: the models and TF Serving's request semantics."""

  def __init__(self, models: dict):
    self.models = models

  def label_version(self, name: str, label: str) -> int:
    model = self.models.get(name)
    if model is None or label not in model.labels:
      raise _invalid(f'Unrecognized servable version label: {label}')
    return model.labels[label]

  def servable(self, name: str, version=None, label=None) -> Servable:
    """ServerCore::GetServableHandle."""
    if not name:
      raise _invalid('ModelSpec has no name specified.')
    if label is not None:
      version = self.label_version(name, label)
    model = self.models.get(name)
    if version is None:
      if model is None:
        raise ServingError(Code.NOT_FOUND, f'Servable not found for request: Latest({name})')
      return model.versions[max(model.versions)]
    if model is None or version not in model.versions:
      raise ServingError(Code.NOT_FOUND,
                         f'Servable not found for request: Specific({name}, {version})')
    return model.versions[version]

  def predict_arrays(self, servable: Servable, signature_name: str, inputs: dict,
                     output_filter=()) -> dict:
    """internal::RunPredict: {alias: TensorProto or (dtype enum, array)} -> {alias: array}."""
    signature = servable.signature_defs.get(signature_name)
    if signature is None:
      raise ServingError(Code.FAILED_PRECONDITION,
                         f'Serving signature key "{signature_name}" not found.')
    function = servable.functions.get(signature_name)
    if function is None or signature.method_name not in PREDICT_METHODS:
      raise ServingError(Code.INTERNAL,
                         'Expected prediction signature method_name to be one of {'
                         + ', '.join(PREDICT_METHODS) + f'}}. Was: {signature.method_name}')
    sent, expected = set(inputs), set(signature.inputs)
    defaults = set(getattr(signature, 'defaults', {}))
    if len(sent) > len(expected) or (len(sent) < len(expected) and not defaults):
      raise _invalid(
          f'input size does not match signature: {len(sent)}!={len(expected)} '
          f'len({{{",".join(sorted(sent))}}}) != len({{{",".join(sorted(expected))}}}). '
          f'Sent extra: {{{",".join(sorted(sent - expected))}}}. Missing but required: '
          f'{{{",".join(sorted(expected - sent))}}}.')
    values, used = {}, set()
    for alias in sorted(expected):
      if alias in inputs:
        given = inputs[alias]
        used.add(alias)
      elif alias in defaults:
        given = signature.defaults[alias]
      else:
        raise _invalid(
            f'Signature input alias: {alias}(feed name: {signature.inputs[alias].name}) not '
            'found in request and no default value provided. Inputs expected to be in the '
            f'request {{{",".join(sorted(sent))}}}, or default input alias set: '
            f'{",".join(sorted(defaults))}')
      values[alias] = _parse_input(alias, given)
    if sent and used != sent:
      raise _invalid(f'Inputs contains invalid name. Used request inputs: '
                     f'{",".join(sorted(used))}, request input: {",".join(sorted(sent))}')
    seen = []
    for alias in output_filter:
      if alias not in signature.outputs:
        raise _invalid(f'output tensor alias not found in signature: {alias} Outputs expected '
                       f'to be in the set {{{",".join(sorted(signature.outputs))}}}.')
      if alias in seen:
        raise _invalid(f'duplicate output tensor alias: {alias}')
      seen.append(alias)
    tensors = {}
    for i, alias in enumerate(sorted(values)):
      dtype, array = values[alias]
      want = signature.inputs[alias].dtype
      if dtype != want:
        raise _invalid(f'Expects arg[{i}] to be {_dtype_text(want)} but {_dtype_text(dtype)} '
                       'is provided')
      tensors[alias] = tf.convert_to_tensor(array, dtype=tf.dtypes.as_dtype(want))
    try:
      outputs = function(**tensors)
    except tf.errors.OpError as e:
      raise ServingError(_CODE_BY_NUMBER.get(e.error_code, Code.UNKNOWN),
                         _tf_error_text(e)) from None
    except (TypeError, ValueError) as e:
      raise _invalid(str(e)) from None
    names = seen or sorted(signature.outputs)
    return {name: outputs[name].numpy() for name in names}

  # gRPC ------------------------------------------------------------------------------------

  def predict(self, request):
    """PredictionService.Predict."""
    if not request.HasField('model_spec'):
      raise _invalid('Missing ModelSpec')
    spec = request.model_spec
    servable = self.servable(spec.name, *_spec_choice(spec))
    signature_name = spec.signature_name or DEFAULT_SIGNATURE
    outputs = self.predict_arrays(servable, signature_name, dict(request.inputs),
                                  list(request.output_filter))
    response = predict_pb2.PredictResponse()
    response.model_spec.name = spec.name
    response.model_spec.version.value = servable.version
    response.model_spec.signature_name = signature_name
    for name, array in outputs.items():
      tensor_proto(array, response.outputs[name])
    return response

  def model_metadata(self, request):
    """PredictionService.GetModelMetadata."""
    if not request.HasField('model_spec'):
      raise _invalid('Missing ModelSpec')
    if not request.metadata_field:
      raise _invalid('GetModelMetadataRequest must specify at least one metadata_field')
    for field in request.metadata_field:
      if field != 'signature_def':
        # TF Serving's own text: errors::InvalidArgument concatenates, it does not format.
        raise _invalid(f'Metadata field {field} is not supported')
    spec = request.model_spec
    servable = self.servable(spec.name, *_spec_choice(spec))
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, signature in servable.signature_defs.items():
      signature_map.signature_def[key].CopyFrom(signature)
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    response.metadata['signature_def'].Pack(signature_map)
    return response

  def model_status(self, request):
    """ModelService.GetModelStatus."""
    if not request.HasField('model_spec'):
      raise _invalid('Missing ModelSpec')
    spec = request.model_spec
    name = spec.name
    version, label = _spec_choice(spec)
    if label is not None:
      version = self.label_version(name, label)
    model = self.models.get(name)
    if version is not None:
      if model is None or version not in model.versions:
        raise ServingError(Code.NOT_FOUND, f'Could not find version {version} of model {name}')
      versions = [version]
    else:
      if model is None:
        raise ServingError(Code.NOT_FOUND, f'Could not find any versions of model {name}')
      versions = sorted(model.versions, reverse=True)
    response = get_model_status_pb2.GetModelStatusResponse()
    for v in versions:
      status = response.model_version_status.add(
          version=v, state=get_model_status_pb2.ModelVersionStatus.AVAILABLE)
      status.status.SetInParent()
    return response

  # REST ------------------------------------------------------------------------------------

  def rest_predict(self, name, version, label, body: bytes) -> str:
    doc = parse_json(body)
    signature_name = ''
    if 'signature_name' in doc:
      if type(doc['signature_name']) is not str:  # pylint: disable=unidiomatic-typecheck
        raise _invalid(f"JSON Value: {_js(doc)} not formatted correctly. 'signature_name' key "
                       'must be a string value.')
      signature_name = doc['signature_name']
    servable = self.servable(name, version, label)
    key = signature_name or DEFAULT_SIGNATURE
    if key not in servable.signature_defs:
      raise _invalid(f'Serving signature name: "{key}" not found in signature def')
    infos = dict(servable.signature_defs[key].inputs)
    if not infos:
      raise _invalid(f'Failed to get input map for signature: {signature_name or "DEFAULT"}')
    if 'instances' in doc:
      if 'inputs' in doc:
        raise _invalid(f"JSON Value: {_js(doc)} Not formatted correctly expecting only one of "
                       "'inputs' or 'instances' keys to exist ")
      instances = doc['instances']
      if type(instances) is not list:  # pylint: disable=unidiomatic-typecheck
        raise _invalid(f"JSON Value: {_js(doc)} Excepting 'instances' to be an list/array")
      if not instances:
        raise _invalid(f"JSON Value: {_js(doc)} No values in 'instances' array")
      arrays, row = instances_to_arrays(instances, infos), True
    elif 'inputs' in doc:
      arrays, row = inputs_to_arrays(doc['inputs'], infos), False
    else:
      raise _invalid("Missing 'inputs' or 'instances' key")
    inputs = {k: (infos[k].dtype, a) for k, a in arrays.items()}
    outputs = self.predict_arrays(servable, key, inputs)
    return row_json(outputs) if row else columnar_json(outputs)

  def rest_status(self, name, version, label) -> str:
    if not name:
      raise _invalid('Missing model name in request.')
    request = get_model_status_pb2.GetModelStatusRequest()
    _fill_spec(request.model_spec, name, version, label)
    return json.dumps(json_format.MessageToDict(
        self.model_status(request), always_print_fields_with_no_presence=True,
        preserving_proto_field_name=True), indent=1)

  def rest_metadata(self, name, version, label) -> str:
    if not name:
      raise _invalid('Missing model name in request.')
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=['signature_def'])
    _fill_spec(request.model_spec, name, version, label)
    response = self.model_metadata(request)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata['signature_def'].Unpack(signature_map)
    options = dict(always_print_fields_with_no_presence=True, preserving_proto_field_name=True)
    return json.dumps({
        'model_spec': json_format.MessageToDict(response.model_spec, **options),
        'metadata': {'signature_def': json_format.MessageToDict(signature_map, **options)},
    }, indent=1)

  def handle_rest(self, method: str, path: str, body: bytes):
    """(HTTP status, JSON text) of a request under /v1/ (HttpRestApiHandler)."""
    try:
      name = version = label = None
      match = None
      if method == 'POST':
        match = _PREDICT_PATH.fullmatch(path)
      elif method == 'GET':
        match = _STATUS_PATH.fullmatch(path)
      if match:
        name = urllib.parse.unquote(match.group(1)) if match.group(1) else ''
        if match.group(2):
          version = int(match.group(2))
          if version >= 2**63:
            raise _invalid(f'Failed to convert version: {match.group(2)} to numeric.')
        if match.group(3):
          label = urllib.parse.unquote(match.group(3))
      if method == 'POST' and match and match.group(4) == 'predict':
        return 200, self.rest_predict(name, version, label, body)
      if method == 'POST' and match and match.group(4) in ('classify', 'regress'):
        raise ServingError(Code.UNIMPLEMENTED,
                           f'{match.group(4)} is not supported by the development server')
      if method == 'GET' and match:
        if match.group(4) == 'metadata':
          return 200, self.rest_metadata(name, version, label)
        return 200, self.rest_status(name, version, label)
      raise _invalid(f'Malformed request: {method} {path}')
    except ServingError as e:
      return e.http_status, json.dumps({'error': e.message})
    except Exception as e:  # pylint: disable=broad-except
      logger.exception('REST %s %s failed', method, path)
      return 500, json.dumps({'error': f'Internal error: {type(e).__name__}: {e}'})


def _fill_spec(spec, name, version, label):
  spec.name = name
  if version is not None:
    spec.version.value = version
  if label is not None:
    spec.version_label = label


_API_PATH = re.compile(r'/v1/.*', re.I | re.S)
_PREDICT_PATH = re.compile(r'/v1/models/([^/:]+)(?:(?:/versions/([0-9]+))|(?:/labels/([^/:]+)))?'
                           r':(classify|regress|predict)', re.I)
_STATUS_PATH = re.compile(r'/v1/models(?:/([^/:]+))?(?:(?:/versions/([0-9]+))|'
                          r'(?:/labels/([^/:]+)))?(?:/(metadata))?', re.I)


# ----------------------------------------------------------------------------------------
# REST front end

class _BodyError(Exception):

  def __init__(self, status, message):
    super().__init__(message)
    self.status, self.message = status, message


class _Disconnected(Exception):
  pass


class _RestHandler(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'  # keep-alive, as TF Serving's libevent server
  server_version = 'tfi2i-devserver'
  sys_version = ''
  timeout = 120  # an idle or stalled connection is closed after this many seconds
  # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
  # body until the client's delayed ACK (about 40 ms per response on Linux).
  disable_nagle_algorithm = True

  def do_GET(self):  # pylint: disable=invalid-name
    self._serve('GET')

  def do_POST(self):  # pylint: disable=invalid-name
    self._serve('POST')

  def do_PUT(self):  # pylint: disable=invalid-name
    self._serve('PUT')

  def do_DELETE(self):  # pylint: disable=invalid-name
    self._serve('DELETE')

  def do_PATCH(self):  # pylint: disable=invalid-name
    self._serve('PATCH')

  def do_HEAD(self):  # pylint: disable=invalid-name
    self._serve('HEAD')

  def do_OPTIONS(self):  # pylint: disable=invalid-name
    self._serve('OPTIONS')

  def _serve(self, method):
    path = urllib.parse.urlsplit(self.path).path
    try:
      body = self._read_body()
    except _Disconnected:
      self.close_connection = True
      return
    except _BodyError as e:
      self._reply(e.status, json.dumps({'error': e.message}), close=True)
      return
    except (OSError, ValueError) as e:
      logger.info('REST %s %s: reading the body failed: %s', method, path, e)
      self.close_connection = True
      return
    if not _API_PATH.fullmatch(path):
      self._reply(404, 'Not Found', content_type='text/plain')
      return
    status, text = self.server.core.handle_rest(method, path, body)
    self._reply(status, text, head=method == 'HEAD')

  def _read_body(self) -> bytes:
    limit = self.server.max_request_bytes
    encoding = (self.headers.get('Transfer-Encoding') or '').strip().lower()
    if encoding and encoding != 'identity':
      if encoding != 'chunked':
        raise _BodyError(501, f'Transfer-Encoding {encoding} is not supported')
      return self._read_chunked(limit)
    length = self.headers.get('Content-Length')
    if length is None:
      return b''
    try:
      size = int(length)
      if size < 0:
        raise ValueError
    except ValueError:
      raise _BodyError(400, f'Invalid Content-Length: {length}') from None
    if size > limit:
      self._drain(size, limit)
      raise _BodyError(413, f'Request body of {size} bytes exceeds the limit of {limit} bytes')
    body = self.rfile.read(size)
    if len(body) != size:
      raise _Disconnected
    return body

  def _read_chunked(self, limit) -> bytes:
    chunks, total = [], 0
    while True:
      line = self.rfile.readline(1024)
      if not line:
        raise _Disconnected
      try:
        size = int(line.split(b';')[0].strip(), 16)
      except ValueError:
        raise _BodyError(400, 'Invalid chunked transfer encoding') from None
      if size == 0:
        while self.rfile.readline(65537) not in (b'\r\n', b'\n', b''):
          pass  # trailers
        return b''.join(chunks)
      total += size
      if total > limit:
        raise _BodyError(413, f'Request body exceeds the limit of {limit} bytes')
      data = self.rfile.read(size)
      if len(data) != size:
        raise _Disconnected
      chunks.append(data)
      self.rfile.readline(3)

  def _drain(self, size, limit):
    """Reads (and drops) an oversized body so that the client gets the 413 response."""
    if size > 4 * limit:
      return
    self.connection.settimeout(5)
    try:
      while size > 0:
        data = self.rfile.read(min(size, 1 << 20))
        if not data:
          break
        size -= len(data)
    except OSError:
      pass

  def _reply(self, status, text, content_type='application/json', close=False, head=False):
    payload = text.encode('utf-8', 'surrogateescape')
    try:
      self.send_response(status)
      self.send_header('Content-Type', content_type)
      self.send_header('Content-Length', str(len(payload)))
      if close:
        self.send_header('Connection', 'close')
        self.close_connection = True
      self.end_headers()
      if not head:
        self.wfile.write(payload)
    except OSError:
      self.close_connection = True

  def log_message(self, format, *args):  # pylint: disable=redefined-builtin
    logger.debug('REST %s %s', self.address_string(), format % args)


class _RestServer(http.server.ThreadingHTTPServer):
  """One daemon thread per connection; close_connections() ends them all and joins them."""
  daemon_threads = True
  request_queue_size = 64

  def __init__(self, address, core, max_request_bytes):
    self.core = core
    self.max_request_bytes = max_request_bytes
    self._connections = {}  # socket: the thread serving it
    self._connection_threads = []
    self._lock = threading.Lock()
    super().__init__(address, _RestHandler)

  def process_request(self, request, client_address):
    thread = threading.Thread(target=self.process_request_thread,
                              args=(request, client_address), name='devserver-rest-connection',
                              daemon=True)
    with self._lock:
      self._connections[request] = thread
      self._connection_threads = [t for t in self._connection_threads if t.is_alive()] + [thread]
    thread.start()

  def shutdown_request(self, request):
    with self._lock:
      self._connections.pop(request, None)
    super().shutdown_request(request)

  def close_connections(self, timeout=30.0):
    """Shuts the open connections down (their threads then end) and joins every thread."""
    with self._lock:
      connections, threads = list(self._connections), list(self._connection_threads)
    for connection in connections:
      try:
        connection.shutdown(socket.SHUT_RDWR)
      except OSError:
        pass
    for thread in threads:
      thread.join(timeout)

  def handle_error(self, request, client_address):
    logger.exception('REST connection from %s failed', client_address)


# ----------------------------------------------------------------------------------------
# gRPC front end

def _grpc_call(context, method, request):
  try:
    return method(request)
  except ServingError as e:
    message = e.message
    if len(message) > GRPC_ERROR_LIMIT:
      message = message[:GRPC_ERROR_LIMIT] + '...TRUNCATED'
    context.abort(e.code, message)
  except Exception as e:  # pylint: disable=broad-except
    logger.exception('gRPC %s failed', method.__name__)
    context.abort(Code.INTERNAL, f'Internal error: {type(e).__name__}: {e}')


class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):

  def __init__(self, core):
    self._core = core

  def Predict(self, request, context):  # pylint: disable=invalid-name
    return _grpc_call(context, self._core.predict, request)

  def GetModelMetadata(self, request, context):  # pylint: disable=invalid-name
    return _grpc_call(context, self._core.model_metadata, request)


class _ModelService(model_service_pb2_grpc.ModelServiceServicer):

  def __init__(self, core):
    self._core = core

  def GetModelStatus(self, request, context):  # pylint: disable=invalid-name
    return _grpc_call(context, self._core.model_status, request)


# ----------------------------------------------------------------------------------------
# Starting and stopping

class Server:
  """A running development server: `grpc_port`, `rest_port`, `models`, and `stop()`."""

  def __init__(self, core, grpc_server, grpc_executor, grpc_port, rest_server, rest_thread):
    self.core = core
    self.models = core.models
    self.grpc_port = grpc_port
    self.rest_port = rest_server.server_address[1]
    self._grpc = grpc_server
    self._grpc_executor = grpc_executor
    self._rest = rest_server
    self._rest_thread = rest_thread
    self._stopped = False
    self._stop_lock = threading.Lock()

  @property
  def max_request_bytes(self) -> int:
    return self._rest.max_request_bytes

  @max_request_bytes.setter
  def max_request_bytes(self, value: int):
    self._rest.max_request_bytes = value

  def stop(self, grace: float = 1.0):
    """Stops both servers, closes their sockets and joins their threads (idempotent)."""
    with self._stop_lock:
      if self._stopped:
        return
      self._stopped = True
    self._rest.shutdown()  # stops accepting
    self._rest_thread.join()
    self._rest.server_close()
    self._rest.close_connections()
    self._grpc.stop(grace).wait()
    self._grpc_executor.shutdown(wait=True)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.stop()


def start(model_config_file=None, model_name=None, model_base_path=None, grpc_port=0,
          rest_port=0, *, allow_version_labels_for_unavailable_models=False,
          max_request_bytes=MAX_REQUEST_BYTES, host='127.0.0.1', grpc_workers=16,
          enable_model_warmup=True) -> Server:
  """Loads the models and starts serving gRPC and REST on host; port 0 picks a free port.

  Raises StartupError (with a message naming the model and path) when the config is bad,
  a model has no servable version, or a port cannot be bound.
  """
  config = read_config(model_config_file, model_name, model_base_path)
  core = ServerCore(load_models(config, allow_version_labels_for_unavailable_models,
                                enable_model_warmup))
  executor = concurrent.futures.ThreadPoolExecutor(max_workers=grpc_workers,
                                                   thread_name_prefix='devserver-grpc')
  grpc_server = grpc.server(
      executor,
      options=[('grpc.max_send_message_length', GRPC_MAX_MESSAGE),
               ('grpc.max_receive_message_length', GRPC_MAX_MESSAGE),
               ('grpc.so_reuseport', 0)])
  prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
      _PredictionService(core), grpc_server)
  model_service_pb2_grpc.add_ModelServiceServicer_to_server(_ModelService(core), grpc_server)
  try:
    try:
      bound = grpc_server.add_insecure_port(f'{host}:{grpc_port}')
    except RuntimeError as e:
      raise StartupError(f'Failed to bind gRPC to {host}:{grpc_port}: {e}') from e
    if not bound:
      raise StartupError(f'Failed to bind gRPC to {host}:{grpc_port}')
    try:
      rest_server = _RestServer((host, rest_port), core, max_request_bytes)
    except OSError as e:
      raise StartupError(f'Failed to bind REST to {host}:{rest_port}: {e.strerror}') from e
  except StartupError:
    grpc_server.stop(None)
    executor.shutdown(wait=False)
    raise
  grpc_server.start()
  rest_thread = threading.Thread(target=rest_server.serve_forever, kwargs={'poll_interval': 0.2},
                                 name='devserver-rest', daemon=True)
  rest_thread.start()
  logger.info('Running gRPC ModelServer at %s:%d, REST at %s:%d', host, bound, host,
              rest_server.server_address[1])
  return Server(core, grpc_server, executor, bound, rest_server, rest_thread)


_IGNORED_FLAGS = ('model_config_file_poll_wait_seconds', 'file_system_poll_wait_seconds',
                  'rest_api_num_threads', 'rest_api_timeout_in_ms', 'enable_batching',
                  'batching_parameters_file', 'tensorflow_intra_op_parallelism',
                  'tensorflow_inter_op_parallelism', 'tensorflow_session_parallelism',
                  'grpc_channel_arguments', 'monitoring_config_file')


def _bool_flag(text: str) -> bool:
  if text.lower() in ('true', '1', 'yes'):
    return True
  if text.lower() in ('false', '0', 'no'):
    return False
  raise argparse.ArgumentTypeError(f'not a boolean: {text}')


def _parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='python -m tfi2i.serving.devserver', allow_abbrev=False,
      description="tfi2i's development model server: TF Serving's REST and gRPC APIs over "
                  "SavedModels, for development and tests, not production; the same flags "
                  "as tensorflow_model_server.")
  parser.add_argument('--port', type=int, default=8500, help='gRPC port (0: a free port)')
  parser.add_argument('--rest_api_port', type=int, default=0, help='REST port (0: a free port)')
  parser.add_argument('--model_config_file', default='')
  parser.add_argument('--model_name', default='default')
  parser.add_argument('--model_base_path', default='')
  parser.add_argument('--allow_version_labels_for_unavailable_models', type=_bool_flag,
                      nargs='?', const=True, default=False)
  parser.add_argument('--enable_model_warmup', type=_bool_flag, nargs='?', const=True,
                      default=True, help='replay assets.extra/tf_serving_warmup_requests')
  for name in _IGNORED_FLAGS:
    parser.add_argument(f'--{name}', nargs='?', const='true', default=None,
                        help='accepted and ignored')
  return parser.parse_args(argv)


def main(argv=None) -> int:
  """The command line; returns the exit status."""
  args = _parse_args(sys.argv[1:] if argv is None else argv)
  if not logging.getLogger().handlers:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='devserver %(levelname)s: %(message)s')
  for name in _IGNORED_FLAGS:
    if getattr(args, name) is not None:
      logger.info('--%s=%s is ignored by the development server', name, getattr(args, name))
  stop = threading.Event()
  previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
  try:
    try:
      server = start(args.model_config_file or None, args.model_name,
                     args.model_base_path or None, args.port, args.rest_api_port,
                     allow_version_labels_for_unavailable_models=(
                         args.allow_version_labels_for_unavailable_models),
                     enable_model_warmup=args.enable_model_warmup)
    except StartupError as e:
      print(f'Failed to start server. Error: {e}', file=sys.stderr, flush=True)
      return 1
    print(READY_LINE.format(grpc=server.grpc_port, rest=server.rest_port), flush=True)
    while not stop.wait(0.5):
      pass
    logger.info('Stopping')
    server.stop()
    return 0
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)


if __name__ == '__main__':
  sys.exit(main())
