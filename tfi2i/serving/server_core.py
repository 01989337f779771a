"""What the development server's REST and gRPC front ends share (ServerCore, for
tfi2i.serving.devserver): model and version lookup; Predict, GetModelMetadata and
GetModelStatus with TF Serving's semantics and error texts; and the REST API's routes
(/v1/models/...), answered as TF Serving's HttpRestApiHandler answers them.
"""
import json
import logging
import math
import re
import urllib.parse

from google.protobuf import json_format
import tensorflow as tf
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import predict_pb2

from tfi2i import request_limits
from tfi2i.serving.errors import Code
from tfi2i.serving.errors import invalid
from tfi2i.serving.errors import ServingError
from tfi2i.serving.servables import DEFAULT_SIGNATURE
from tfi2i.serving.servables import Servable
from tfi2i.serving.tensor_codec import columnar_json
from tfi2i.serving.tensor_codec import dtype_text
from tfi2i.serving.tensor_codec import inputs_to_arrays
from tfi2i.serving.tensor_codec import instances_to_arrays
from tfi2i.serving.tensor_codec import json_text
from tfi2i.serving.tensor_codec import parse_json
from tfi2i.serving.tensor_codec import row_json
from tfi2i.serving.tensor_codec import tensor_proto

logger = logging.getLogger('tfi2i.serving.devserver')

PREDICT_METHODS = ('tensorflow/serving/predict', 'tensorflow/serving/classify',
                   'tensorflow/serving/regress')
_CODE_BY_NUMBER = {c.value[0]: c for c in Code}

_GRAPH_ERROR_PREAMBLE = re.compile(
    r'^Graph execution error:\s*(Detected at node .*? defined at \(most recent call last\):\n'
    r'<stack traces unavailable>\n)?', re.S)
_OP_SUFFIX = re.compile(r'\s*\[Op:[^\]]*\](?: name: .*)?\s*$', re.S)


def _tf_error_text(error: tf.errors.OpError) -> str:
  text = _GRAPH_ERROR_PREAMBLE.sub('', error.message)
  return _OP_SUFFIX.sub('', text)


# elements a request tensor may claim: the largest image batch the signatures take, with up
# to 4 channels (a TensorProto of a few bytes can claim any shape, and one value fills it)
MAX_TENSOR_ELEMENTS = request_limits.MAX_BATCH_PIXELS * 4


def _parse_input(alias, given):
  """(dtype enum, array) of a request input: a TensorProto (Tensor::FromProto) or a pair.
  The shape a TensorProto claims is checked before anything is expanded."""
  if isinstance(given, tuple):
    return given
  dims = [d.size for d in given.tensor_shape.dim]
  if any(d < 0 for d in dims):
    raise invalid(f'tensor parsing error: {alias}')
  elements = math.prod(dims)
  if elements > MAX_TENSOR_ELEMENTS:
    raise invalid(f'{alias}: the tensor claims shape [{",".join(map(str, dims))}] '
                  f'({elements:,} elements), more than a request may hold '
                  f'({MAX_TENSOR_ELEMENTS:,}: request_limits.MAX_BATCH_PIXELS x 4)')
  try:
    return given.dtype, tf.make_ndarray(given)
  except Exception:  # pylint: disable=broad-except
    raise invalid(f'tensor parsing error: {alias}') from None


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
      raise invalid(f'Unrecognized servable version label: {label}')
    return model.labels[label]

  def servable(self, name: str, version=None, label=None) -> Servable:
    """ServerCore::GetServableHandle."""
    if not name:
      raise invalid('ModelSpec has no name specified.')
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
      raise invalid(
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
        raise invalid(
            f'Signature input alias: {alias}(feed name: {signature.inputs[alias].name}) not '
            'found in request and no default value provided. Inputs expected to be in the '
            f'request {{{",".join(sorted(sent))}}}, or default input alias set: '
            f'{",".join(sorted(defaults))}')
      values[alias] = _parse_input(alias, given)
    if sent and used != sent:
      raise invalid(f'Inputs contains invalid name. Used request inputs: '
                     f'{",".join(sorted(used))}, request input: {",".join(sorted(sent))}')
    seen = []
    for alias in output_filter:
      if alias not in signature.outputs:
        raise invalid(f'output tensor alias not found in signature: {alias} Outputs expected '
                       f'to be in the set {{{",".join(sorted(signature.outputs))}}}.')
      if alias in seen:
        raise invalid(f'duplicate output tensor alias: {alias}')
      seen.append(alias)
    tensors = {}
    for i, alias in enumerate(sorted(values)):
      dtype, array = values[alias]
      want = signature.inputs[alias].dtype
      if dtype != want:
        raise invalid(f'Expects arg[{i}] to be {dtype_text(want)} but {dtype_text(dtype)} '
                       'is provided')
      tensors[alias] = tf.convert_to_tensor(array, dtype=tf.dtypes.as_dtype(want))
    try:
      outputs = function(**tensors)
    except tf.errors.OpError as e:
      raise ServingError(_CODE_BY_NUMBER.get(e.error_code, Code.UNKNOWN),
                         _tf_error_text(e)) from None
    except (TypeError, ValueError) as e:
      raise invalid(str(e)) from None
    names = seen or sorted(signature.outputs)
    return {name: outputs[name].numpy() for name in names}

  # gRPC ------------------------------------------------------------------------------------

  def predict(self, request):
    """PredictionService.Predict."""
    if not request.HasField('model_spec'):
      raise invalid('Missing ModelSpec')
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
      raise invalid('Missing ModelSpec')
    if not request.metadata_field:
      raise invalid('GetModelMetadataRequest must specify at least one metadata_field')
    for field in request.metadata_field:
      if field != 'signature_def':
        # TF Serving's own text: errors::InvalidArgument concatenates, it does not format.
        raise invalid(f'Metadata field {field} is not supported')
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
      raise invalid('Missing ModelSpec')
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
        raise invalid(f"JSON Value: {json_text(doc)} not formatted correctly. 'signature_name' key "
                       'must be a string value.')
      signature_name = doc['signature_name']
    servable = self.servable(name, version, label)
    key = signature_name or DEFAULT_SIGNATURE
    if key not in servable.signature_defs:
      raise invalid(f'Serving signature name: "{key}" not found in signature def')
    infos = dict(servable.signature_defs[key].inputs)
    if not infos:
      raise invalid(f'Failed to get input map for signature: {signature_name or "DEFAULT"}')
    if 'instances' in doc:
      if 'inputs' in doc:
        raise invalid(f"JSON Value: {json_text(doc)} Not formatted correctly expecting only one of "
                       "'inputs' or 'instances' keys to exist ")
      instances = doc['instances']
      if type(instances) is not list:  # pylint: disable=unidiomatic-typecheck
        raise invalid(f"JSON Value: {json_text(doc)} Excepting 'instances' to be an list/array")
      if not instances:
        raise invalid(f"JSON Value: {json_text(doc)} No values in 'instances' array")
      arrays, row = instances_to_arrays(instances, infos), True
    elif 'inputs' in doc:
      arrays, row = inputs_to_arrays(doc['inputs'], infos), False
    else:
      raise invalid("Missing 'inputs' or 'instances' key")
    inputs = {k: (infos[k].dtype, a) for k, a in arrays.items()}
    outputs = self.predict_arrays(servable, key, inputs)
    return row_json(outputs) if row else columnar_json(outputs)

  def rest_status(self, name, version, label) -> str:
    if not name:
      raise invalid('Missing model name in request.')
    request = get_model_status_pb2.GetModelStatusRequest()
    _fill_spec(request.model_spec, name, version, label)
    return json.dumps(json_format.MessageToDict(
        self.model_status(request), always_print_fields_with_no_presence=True,
        preserving_proto_field_name=True), indent=1)

  def rest_metadata(self, name, version, label) -> str:
    if not name:
      raise invalid('Missing model name in request.')
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
            raise invalid(f'Failed to convert version: {match.group(2)} to numeric.')
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
      raise invalid(f'Malformed request: {method} {path}')
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


_PREDICT_PATH = re.compile(r'/v1/models/([^/:]+)(?:(?:/versions/([0-9]+))|(?:/labels/([^/:]+)))?'
                           r':(classify|regress|predict)', re.I)
_STATUS_PATH = re.compile(r'/v1/models(?:/([^/:]+))?(?:(?:/versions/([0-9]+))|'
                          r'(?:/labels/([^/:]+)))?(?:/(metadata))?', re.I)
