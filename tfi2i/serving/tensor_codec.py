"""Tensors as TF Serving's APIs carry them, to and from NumPy arrays (for tfi2i's development
server, tfi2i.serving.devserver).

  * JSON (tensorflow_serving/util/json_tensor.cc): the request document (parse_json); the
    row ("instances") and columnar ("inputs") formats to {input: array}, with TF Serving's
    checks and error texts (ServingError); outputs to the row ("predictions") and columnar
    ("outputs") formats, floats written as TF Serving writes them (NaN, Infinity), outputs
    named *_bytes as {"b64": ...}.
  * TensorProto: outputs in the typed *_val fields, as TF Serving's AsProtoField writes them.
"""
import base64
import binascii
import json
import math
import re

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from tfi2i.serving.errors import Code
from tfi2i.serving.errors import invalid
from tfi2i.serving.errors import ServingError

FLT_MAX = float(np.finfo(np.float32).max)


def dtype_text(dtype_enum: int) -> str:
  """TF's DataTypeString: DT_FLOAT -> 'float'."""
  try:
    return types_pb2.DataType.Name(dtype_enum)[3:].lower()
  except ValueError:
    return f'unknown dtype {dtype_enum}'


# ----------------------------------------------------------------------------------------
# JSON <-> tensors (tensorflow_serving/util/json_tensor.cc)

_JSON_NUMERIC = {
    types_pb2.DT_FLOAT: np.float32, types_pb2.DT_DOUBLE: np.float64,
    types_pb2.DT_INT32: np.int32, types_pb2.DT_INT16: np.int16, types_pb2.DT_INT8: np.int8,
    types_pb2.DT_UINT8: np.uint8, types_pb2.DT_INT64: np.int64,
    types_pb2.DT_UINT32: np.uint32, types_pb2.DT_UINT64: np.uint64,
}
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


QUOTE_LIMIT = 300  # characters of a request an error message quotes at most


def json_text(value) -> str:
  """A JSON value as TF Serving prints it in error messages, cut after QUOTE_LIMIT
  characters (TF Serving quotes the whole value: an 11.5 MB request got a 158 MB error)."""
  if type(value) is float:  # pylint: disable=unidiomatic-typecheck
    return _decimal_text(value, not math.isfinite(value) or abs(value) <= FLT_MAX)
  parts, size = [], 0
  for chunk in json.JSONEncoder(indent=4, ensure_ascii=False).iterencode(value):
    parts.append(chunk)
    size += len(chunk)
    if size > QUOTE_LIMIT:
      return ''.join(parts)[:QUOTE_LIMIT] + ' ... (cut)'
  return ''.join(parts)


def _json_type(value) -> str:
  if value is None:
    return 'Null'
  if isinstance(value, bool):
    return 'True' if value else 'False'
  return {dict: 'Object', list: 'Array', str: 'String'}.get(type(value), 'Number')


def _type_error(value, dtype):
  return invalid(f'JSON Value: {json_text(value)} Type: {_json_type(value)} is not of expected '
                  f'type: {dtype_text(dtype)}')


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
    raise invalid(f'JSON Value: {json_text(value)} not formatted correctly for base64 data')
  text = re.sub(r'[ \t\n\v\f\r]', '', value['b64'])
  data = text.rstrip('=')
  padding = len(text) - len(data)
  if (padding > 2 or len(data) % 4 == 1 or (padding and len(text) % 4)
      or not re.fullmatch(r'[A-Za-z0-9+/]*', data)):
    raise invalid('Unable to base64 decode')
  try:
    return base64.b64decode(data + '=' * (-len(data) % 4), validate=True)
  except (binascii.Error, ValueError):
    raise invalid('Unable to base64 decode') from None


def _scalar(value, dtype):
  """One JSON value as an element of a tensor of dtype (AddValueToTensor)."""
  kind = type(value)
  if dtype in _LOSSLESS_INT:
    if kind not in (int, float):
      raise _type_error(value, dtype)
    lossy = (abs(value) > _LOSSLESS_INT[dtype] if kind is int else
             dtype == types_pb2.DT_FLOAT and math.isfinite(value) and abs(value) > FLT_MAX)
    if lossy:
      raise invalid(f'Cannot convert JSON value: {json_text(value)} to {dtype_text(dtype)} without '
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
  raise ServingError(Code.UNIMPLEMENTED, f'Conversion of JSON Value: {json_text(value)} to type: '
                                         f'{dtype_text(dtype)}')


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
      raise invalid(f'JSON Value: {json_text(value)} found at incorrect level: {level + 1} in the '
                     f'JSON DOM. Expected at level: {rank}')
    if type(value) is dict:  # pylint: disable=unidiomatic-typecheck
      if dtype != types_pb2.DT_STRING:
        raise _type_error(value, dtype)
      out.append(_b64_value(value))
    else:
      out.append(_scalar(value, dtype))
    return
  if level >= rank:
    raise invalid(f'Encountered list at unexpected level: {level} expected < {rank}')
  if len(value) != shape[level]:
    raise invalid(f'Encountered list at unexpected size: {len(value)} at level: {level} '
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
    raise invalid('JSON value out of range') from None


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
    raise invalid('JSON Parse error: The document is empty')
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
    raise invalid(f'JSON Parse error: {reason} at offset: {e.pos}') from None
  except RecursionError:
    raise invalid('JSON Parse error: the document is nested too deeply') from None
  if type(doc) is not dict:  # pylint: disable=unidiomatic-typecheck
    raise invalid(f'JSON Value: {json_text(doc)} Is not object')
  return doc


def _shape_text(shape) -> str:
  return '[' + ','.join(map(str, shape)) + ']'


def _status_text(error: ServingError) -> str:
  return f'{error.code.name}: {error.message}'


def instances_to_arrays(instances: list, infos: dict) -> dict:
  """The row format (FillTensorMapFromInstancesList): {input: array} batched over rows."""
  names = sorted(infos)
  if not isinstance(instances[0], dict) and len(infos) > 1:
    raise invalid('instances is a plain list, but expecting list of objects as multiple '
                   'input tensors required as per tensorinfo_map')
  objects = _is_element_object(instances[0])
  flats, shapes = {}, {}

  def add(item, name):
    if name not in infos:
      raise invalid(f'JSON object: does not have named input: {name}')
    shape = _dense_shape(item)
    flat = []
    _fill(item, 0, shape, infos[name].dtype, flat)
    if name not in shapes:
      shapes[name] = shape
      flats[name] = []
    elif math.prod(shapes[name]) != len(flat):
      raise invalid(f'Expecting tensor size: {math.prod(shapes[name])} but got: {len(flat)}')
    elif shapes[name] != shape:
      raise invalid(f'Expecting shape {_shape_text(shapes[name])} but got: '
                     f'{_shape_text(shape)}')
    flats[name].extend(flat)

  for i, element in enumerate(instances):
    if objects:
      if not _is_element_object(element):
        raise invalid(f'Expecting object but got list at item {i} of input list')
      for key, item in element.items():
        try:
          add(item, key)
        except ServingError as e:
          raise invalid(f"Failed to process element: {i} key: {key} of 'instances' list. "
                         f'Error: {_status_text(e)}') from None
      if set(element) != set(names):
        raise invalid(f"Failed to process element: {i} of 'instances' list. JSON object: "
                       f"{json_text(element)} keys must be equal to: {','.join(names)}")
    else:
      if _is_element_object(element):
        raise invalid(f'Expecting value/list but got object at item {i} of input list')
      try:
        add(element, names[0])
      except ServingError as e:
        raise invalid(f"Failed to process element: {i} of 'instances' list. Error: "
                       f'{_status_text(e)}') from None
  return {name: _to_array(flats[name], infos[name].dtype, [len(instances)] + shapes[name])
          for name in flats}


def inputs_to_arrays(inputs, infos: dict) -> dict:
  """The columnar format (FillTensorMapFromInputsMap): {input: array}."""
  names = sorted(infos)
  if type(inputs) is not dict or _is_b64(inputs):  # pylint: disable=unidiomatic-typecheck
    if len(infos) > 1:
      raise invalid('inputs is a plain value/list, but expecting an object as multiple input '
                     'tensors required as per tensorinfo_map')
    return {names[0]: json_to_array(inputs, infos[names[0]].dtype)}
  arrays = {}
  for name in names:
    if name not in inputs:
      raise invalid(f"Missing named input: {name} in 'inputs' object.")
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
  raise invalid(f'Failed to write JSON value for tensor type: '
                 f'{dtype_text(tf.dtypes.as_dtype(array.dtype).as_datatype_enum)}')


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
    raise invalid('Cannot convert empty tensor map to JSON')
  batch = -1
  for name in sorted(outputs):
    shape = outputs[name].shape
    if not shape:
      raise invalid(f'Tensor name: {name} has no shape information ')
    if batch >= 0 and shape[0] != batch:
      raise invalid(f'Tensor name: {name} has inconsistent batch size: {shape[0]} '
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
    raise invalid('Cannot convert empty tensor map to JSON')
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
