"""ONNX export of the float signatures of a tfi2i SavedModel (see tfi2i.export).

  python -m tfi2i.export --workdir=DIR --format=onnx

`export_onnx(version_dir)` converts each float signature N (CycleGAN: `a_to_b`, `b_to_a`;
BicycleGAN: also `a_to_b_sample`) with tf2onnx to `<version_dir>/onnx/N.onnx`:

  inputs   `images` float32 [batch, height, width, 3] (batch, height and width dynamic) and
           the signature's extra float inputs with their declared shapes (e.g. `z` [K, nz]);
  outputs  the signature's outputs, same names and values.

The converted graph is the SavedModel signature itself (called from a wrapper whose
`images` has rank 4), so the reflection padding and cropping are in the ONNX model.
The in-graph validation (tf.cond + Assert) converts to ONNX `If` nodes whose failing branch
has lost its Assert (tf2onnx drops Assert ops): the ONNX model does NOT check its input
and does not give the documented error messages; a wrong channel count fails in
onnxruntime with its own shape error, and neither sizes above MAX_SIDE nor the request
limits of tfi2i.request_limits.Limits (pixels, latent codes) are refused.

Not converted:
  *_bytes         string inputs: the graph decodes and encodes images (DecodeImage,
                  EncodePng), which ONNX has no ops for. Asking for one is a ValueError.
  integer inputs  e.g. BicycleGAN `a_to_b_random` (int64 `seed`, int32 `num_samples`).
  serving_default an alias of the first endpoint's float signature (skipped by default;
                  it converts when asked for by name).
  random ops      a signature that draws random numbers (pix2pix's official test mode keeps
                  dropout on) cannot be checked for parity; the reason points to
                  `--eval_mode` (the official test.py --eval).
  ScaleAndTranslate  BicycleGAN `encode`: its antialiased tf.image.resize has no tf2onnx
                  conversion.
  gradients       the attribute editors' `edit_with_mask` (Grad-CAM: a gradient of the
                  classifier; tf2onnx has no BroadcastGradientArgs / ShapeN).
  failing ops     any other op tf2onnx cannot convert is caught by the onnxruntime check
                  below (tf2onnx itself only logs such ops and writes an invalid model).
These are skipped (with the reason in the report) when converting every signature, and a
ValueError when asked for by name.

Every converted model is written to a hidden temporary file, loaded with onnxruntime and
compared with the SavedModel signature on random inputs of three sizes (batch 2, 64x48,
40x72 and 37x29, which needs padding; extra float inputs drawn from N(0, 1), unknown
dimensions set to 3). Only when the largest absolute difference is at most `atol` (1e-4)
is it renamed to N.onnx (replacing an earlier N.onnx); otherwise the temporary file is
deleted. Signatures are handled one by one: the ones that pass keep their file, and
`OnnxExportError` is raised at the end if any failed.
"""
import logging
import os

import numpy as np
import tensorflow as tf

from tfi2i import endpoints as ep
from tfi2i.endpoints import BYTES_SUFFIX
from tfi2i.versions import read_metadata

ATOL = 1e-4
# (batch, height, width) of the parity check; 37x29 is not a multiple of any model's
# size_multiple, so the padding and cropping are checked too.
CHECK_SHAPES = ((2, 64, 48), (2, 40, 72), (2, 37, 29))
DEFAULT_OPSET = 17
ALIASES = ('serving_default',)
BYTES_REASON = ('cannot be converted: decodes/encodes images '
                '(string inputs; ONNX has no image codec ops)')


class OnnxExportError(RuntimeError):
  """A signature could not be converted; `report` holds what was done."""

  def __init__(self, message, report):
    super().__init__(message)
    self.report = report


def _skip_reason(name, specs, signature=None):
  """Why signature `name` (inputs `specs`, the loaded concrete function `signature`) cannot
  be converted, or None."""
  if name.endswith(BYTES_SUFFIX) or any(s.dtype == tf.string for s in specs.values()):
    return BYTES_REASON
  other = [f'{k} ({s.dtype.name})' for k, s in specs.items() if not s.dtype.is_floating]
  if other:
    return 'cannot be converted: non-float inputs ' + ', '.join(other)
  ops = _op_types(signature) if signature is not None else set()
  random_ops = sorted(op for op in ops if 'Random' in op)
  if random_ops:
    return (f'cannot be converted: it draws random numbers at inference '
            f'({", ".join(random_ops)}), e.g. dropout kept on at test time as in pix2pix\'s '
            'official test mode, so an ONNX model could not be checked against the '
            'SavedModel (and tf2onnx has no conversion for these ops). Export in eval mode '
            '(the official test.py --eval: dropout off, running batch-norm statistics) to '
            'convert it: python -m tfi2i.export --workdir=DIR --eval_mode --format=onnx')
  gradient_ops = sorted(ops & {'BroadcastGradientArgs', 'ShapeN'})
  if gradient_ops:
    return (f'cannot be converted: it takes gradients at inference ({", ".join(gradient_ops)}'
            ' have no ONNX conversion in tf2onnx), e.g. the attribute editors\' '
            'edit_with_mask, whose Grad-CAM mask is a gradient of the classifier; the edit '
            'itself converts')
  if 'ScaleAndTranslate' in ops:
    return ('cannot be converted: its antialiased image resize (TF op ScaleAndTranslate) '
            'has no ONNX conversion in tf2onnx')
  return None


def _op_types(concrete) -> set:
  """Op types in a concrete function's graph and in the functions it calls."""
  graph_def = concrete.graph.as_graph_def()
  ops = {n.op for n in graph_def.node}
  for function in graph_def.library.function:
    ops.update(n.op for n in function.node_def)
  return ops


def _onnx_input_specs(specs):
  """The tf.TensorSpecs of the ONNX model's inputs: images rank 4, others as declared."""
  result = []
  for key, spec in specs.items():
    shape = [None, None, None, 3] if key == 'images' else spec.shape
    result.append(tf.TensorSpec(shape, spec.dtype, name=key))
  return result


def _random_feed(specs, batch, height, width, rng, endpoint=None):
  """Random inputs: images in [-1, 1], others N(0, 1) with unknown dimensions 3, except the
  batch axis of inputs the endpoint declares per image."""
  per_image = {i.name for i in endpoint.inputs if i.per_image} if endpoint else set()
  feed = {}
  for key, spec in specs.items():
    if key == 'images':
      feed[key] = rng.uniform(-1, 1, (batch, height, width, 3)).astype(np.float32)
    else:
      dims = spec.shape.as_list()
      shape = [batch if (k == 0 and key in per_image) else 3 if d is None else d
               for k, d in enumerate(dims)]
      feed[key] = rng.normal(0, 1, shape).astype(spec.dtype.as_numpy_dtype)
  return feed


def _max_abs_diff(path, signature, specs, seed=0, endpoint=None):
  """Largest |onnxruntime - SavedModel| over the outputs and CHECK_SHAPES."""
  import onnxruntime as ort  # pylint: disable=import-outside-toplevel
  session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
  names = [o.name for o in session.get_outputs()]
  expected_names = sorted(signature.structured_outputs)
  if sorted(names) != expected_names:
    raise ValueError(f'ONNX outputs {sorted(names)} differ from the signature\'s {expected_names}')
  rng = np.random.default_rng(seed)
  worst = 0.0
  for batch, height, width in CHECK_SHAPES:
    feed = _random_feed(specs, batch, height, width, rng, endpoint)
    got = dict(zip(names, session.run(names, feed)))
    want = signature(**{k: tf.constant(v) for k, v in feed.items()})
    for name in names:
      w = want[name].numpy()
      if got[name].shape != w.shape:
        raise ValueError(f'output {name}: ONNX shape {got[name].shape} != SavedModel {w.shape} '
                         f'for input {batch}x{height}x{width}')
      worst = max(worst, float(np.max(np.abs(got[name].astype(np.float64) - w))))
  return worst


def _floor_mod(ctx, node, name, args):  # pylint: disable=unused-argument
  """tf2onnx handler for TF FloorMod (remainder with the sign of the divisor).

  tf2onnx 1.17 converts an integer FloorMod to x - (x / y) * y with ONNX's truncating
  integer Div: floormod(-37, 4) gives -1 instead of 3. tfi2i.export pads the height and
  width up to a multiple with floormod(-h, multiple), so without this the ONNX model
  returns 36x28 for a 37x29 image. ONNX Mod with fmod=0 is the floored remainder for
  integers; floats keep the floor(x / y) form.
  """
  from onnx import TensorProto  # pylint: disable=import-outside-toplevel
  if ctx.get_dtype(node.input[0]) in (TensorProto.FLOAT, TensorProto.FLOAT16,
                                       TensorProto.DOUBLE):
    div = ctx.make_node('Div', list(node.input))
    floor = ctx.make_node('Floor', div.output)
    mul = ctx.make_node('Mul', [floor.output[0], node.input[1]])
    shapes, dtypes = node.output_shapes, node.output_dtypes
    ctx.remove_node(node.name)
    ctx.make_node('Sub', [node.input[0], mul.output[0]], name=node.name, outputs=node.output,
                  shapes=shapes, dtypes=dtypes)
  else:
    node.type = 'Mod'
    node.domain = ''
    node.set_attr('fmod', 0)


CUSTOM_OP_HANDLERS = {'FloorMod': (_floor_mod, [])}


def _convert_one(name, signature, specs, path, opset, atol, endpoint=None):
  """Converts, checks and writes one signature to `path`; returns the max abs difference."""
  import tf2onnx  # pylint: disable=import-outside-toplevel
  keys = list(specs)
  input_signature = _onnx_input_specs(specs)

  @tf.function(input_signature=input_signature)
  def wrapper(*args):
    return signature(**dict(zip(keys, args)))

  tmp = os.path.join(os.path.dirname(path), f'.tmp-{name}-{os.getpid()}.onnx')
  try:
    model_proto, _ = tf2onnx.convert.from_function(
        wrapper, input_signature=input_signature, opset=opset,
        custom_op_handlers=dict(CUSTOM_OP_HANDLERS))
    with open(tmp, 'wb') as f:
      f.write(model_proto.SerializeToString())
    try:
      diff = _max_abs_diff(tmp, signature, specs, endpoint=endpoint)
    except Exception as e:  # pylint: disable=broad-except
      text = str(e) if len(str(e)) < 500 else str(e)[:500] + ' ...'
      raise ValueError(f'the converted model does not run in onnxruntime: {text}') from None
    if not diff <= atol:  # also catches NaN
      raise ValueError(f'onnxruntime differs from the SavedModel by {diff:.3g} > {atol:g}')
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return diff


def export_onnx(saved_model_dir, output_dir=None, signatures=None, opset=DEFAULT_OPSET,
                atol=ATOL) -> dict:
  """Converts float signatures of a SavedModel version folder to ONNX files.

  Args:
    saved_model_dir: a version folder written by tfi2i.export (holds saved_model.pb).
    output_dir: where to write `<signature>.onnx`; default `<saved_model_dir>/onnx`.
    signatures: names to convert; default every signature whose inputs are all float
      (except the serving_default alias). A named signature that cannot be converted
      (bytes, integer inputs, unknown) is a ValueError and nothing is written.
    opset: ONNX opset.
    atol: largest accepted |onnxruntime - SavedModel| difference.

  Returns:
    {'converted': {name: {'path', 'max_abs_diff'}}, 'skipped': {name: reason},
     'failed': {name: reason}, 'output_dir'}; `failed` is empty (else OnnxExportError,
     whose `report` is this dict).
  """
  logging.getLogger('tf2onnx').setLevel(logging.ERROR)
  saved_model_dir = os.path.abspath(os.path.expanduser(str(saved_model_dir)))
  loaded = tf.saved_model.load(saved_model_dir)
  available = dict(loaded.signatures)
  declared = ep.from_metadata(read_metadata(saved_model_dir))
  all_specs = {}
  for n, sig in available.items():  # `images` first, then the extra inputs
    specs = sig.structured_input_signature[1]
    all_specs[n] = dict(sorted(specs.items(), key=lambda kv: (kv[0] != 'images', kv[0])))
  skipped = {}
  if signatures is None:
    selected = []
    for name in available:
      reason = ('alias of another signature' if name in ALIASES
                else _skip_reason(name, all_specs[name], available[name]))
      if reason:
        skipped[name] = reason
      else:
        selected.append(name)
  else:
    selected = [signatures] if isinstance(signatures, str) else list(signatures)
    for name in selected:
      if name not in available:
        raise ValueError(f'no signature {name!r} in {saved_model_dir} '
                         f'(available: {sorted(available)})')
      reason = _skip_reason(name, all_specs[name], available[name])
      if reason:
        raise ValueError(f'signature {name!r} {reason}')
  if not selected:
    raise ValueError(f'no convertible signature in {saved_model_dir}: {skipped}')

  output_dir = os.path.abspath(output_dir or os.path.join(saved_model_dir, 'onnx'))
  os.makedirs(output_dir, exist_ok=True)
  converted, failed = {}, {}
  for name in selected:
    path = os.path.join(output_dir, name + '.onnx')
    try:
      diff = _convert_one(name, available[name], all_specs[name], path, opset, atol,
                          declared.get(name))
    except Exception as e:  # pylint: disable=broad-except
      failed[name] = f'{type(e).__name__}: {e}'
      continue
    converted[name] = {'path': path, 'max_abs_diff': diff}
  report = {'converted': converted, 'skipped': skipped, 'failed': failed,
            'output_dir': output_dir}
  if failed:
    lines = '; '.join(f'{k}: {v}' for k, v in failed.items())
    raise OnnxExportError(f'ONNX export of {saved_model_dir} failed for {sorted(failed)}: {lines}',
                          report)
  return report


def format_report(report) -> str:
  """One line per converted, skipped and failed signature."""
  lines = [f'{info["path"]}  max_abs_diff={info["max_abs_diff"]:.3g}'
           for info in report['converted'].values()]
  lines += [f'skipped {name}: {reason}' for name, reason in report['skipped'].items()]
  lines += [f'FAILED {name}: {reason}' for name, reason in report.get('failed', {}).items()]
  return '\n'.join(lines)
