"""What a model's exported functions take and return: the one declaration that export (float
and bytes signatures), ONNX, translate, the serving client and the TensorBoard panels read.

A model's `endpoints()` returns {name: Endpoint}. An endpoint's function is called as
`fn(images, **inputs)` with `images` float32 [batch, H, W, C] in [-1, 1] (padded to the
model's size multiple, or resized to `input_size`), and returns a dict of named outputs.

No TensorFlow here: the declaration is plain data, written as JSON to an export's
`assets.extra/tfi2i.json` (`to_json` / `from_json`), so light tools can read it.
"""
import dataclasses
from typing import Callable, Optional

IMAGE = 'image'  # [-1, 1], C channels; written as an RGB (or gray) PNG
HEATMAP = 'heatmap'  # [0, 1], 1 channel (e.g. attention); written as a gray PNG, jet in TensorBoard
VECTOR = 'vector'  # any float or integer values (latent codes, logits): never written as PNG
KINDS = (IMAGE, HEATMAP, VECTOR)
# TensorBoard panels only (TranslationModel.image_panels): (image [-1, 1], heatmap [0, 1]),
# shown as the heatmap's jet colours over the image
OVERLAY = 'overlay'

# Sizes of image and heatmap outputs.
SAME = 'same'  # computed at the (padded) input's size and cropped back to it
RESIZE = 'resize'  # any size (e.g. 1/4 of the input): resized to the input's size

# Roles tell generic tools what an input or output is for (translate --samples/--reference).
SEED = 'seed'  # int64 []: seeds the random codes an endpoint draws
NUM_SAMPLES = 'num_samples'  # int32 []: how many codes (K) it draws
CODE = 'code'  # a latent code: an encoder's output, a sampler's input


@dataclasses.dataclass(frozen=True)
class Input:
  """An input besides `images`.

  per_image: one value per image ([batch, *shape]; in the bytes signature, given with
    each image) or one value for the whole batch (shape as declared).
  shape: the shape per image (per_image) or of the whole value; None for a free dimension.
  """
  name: str
  dtype: str = 'float32'
  shape: tuple = ()
  per_image: bool = False
  role: str = ''
  doc: str = ''
  labels: tuple = ()  # names of a vector's entries (e.g. the attributes an editor takes)
  rule: str = ''  # an editor's target attributes: its test-time rule (tfi2i.attribute_rules)

  def full_shape(self):
    return ((None,) if self.per_image else ()) + tuple(self.shape)


@dataclasses.dataclass(frozen=True)
class Output:
  """A named output.

  kind: IMAGE, HEATMAP or VECTOR.
  size: images and heatmaps: SAME (cropped back after padding) or RESIZE (resized to the
    input's size).
  samples: [batch, K, ...]: K outputs per image.
  shared: vectors with no batch axis (the same for every image, e.g. drawn codes [K, nz]);
    the bytes signature repeats them for each image.
  """
  name: str = 'output'
  kind: str = IMAGE
  size: str = SAME
  samples: bool = False
  shared: bool = False
  role: str = ''
  doc: str = ''
  labels: tuple = ()  # names of a vector's entries (e.g. attribute probabilities)

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f'output {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}')
    if self.size not in (SAME, RESIZE):
      raise ValueError(f'output {self.name!r}: size must be {SAME!r} or {RESIZE!r}')

  @property
  def is_picture(self):
    return self.kind in (IMAGE, HEATMAP)


@dataclasses.dataclass(frozen=True)
class Endpoint:
  """One exported function of a model (tfi2i.export makes a float and a bytes signature).

  fn: fn(images, **inputs) -> {output name: tensor}.
  inputs: the inputs besides `images` (Input).
  outputs: what fn returns (Output), in order.
  input_size: None (images of any size, padded to the model's size multiple and cropped
    back) or a fixed side (square models: images resized to it, and image and heatmap
    outputs resized back to the input's size).
  pad: False when fn takes any size itself (e.g. an encoder that resizes its input).
  variant_of: the plain endpoint this one is a variant of (e.g. 'a_to_b' for a sampler
    with latent codes): translate --samples/--reference look for variants by role.
  """
  fn: Optional[Callable]
  inputs: tuple = ()
  outputs: tuple = (Output(),)
  input_size: Optional[int] = None
  pad: bool = True
  variant_of: str = ''
  doc: str = ''

  def output(self, name):
    for o in self.outputs:
      if o.name == name:
        return o
    raise KeyError(name)

  def input_with_role(self, role):
    return next((i for i in self.inputs if i.role == role), None)

  def output_with_role(self, role):
    return next((o for o in self.outputs if o.role == role), None)

  def to_json(self) -> dict:
    return {
        'inputs': [dataclasses.asdict(i) for i in self.inputs],
        'outputs': [dataclasses.asdict(o) for o in self.outputs],
        'input_size': self.input_size, 'pad': self.pad, 'variant_of': self.variant_of,
        'doc': self.doc,
    }

  @classmethod
  def from_json(cls, d: dict) -> 'Endpoint':
    def fix(x):
      x = {**x, 'labels': tuple(x.get('labels') or ())}
      return {**x, 'shape': tuple(x['shape'])} if 'shape' in x else x
    return cls(fn=None, inputs=tuple(Input(**fix(i)) for i in d.get('inputs', ())),
               outputs=tuple(Output(**fix(o)) for o in d.get('outputs', ())),
               input_size=d.get('input_size'), pad=d.get('pad', True),
               variant_of=d.get('variant_of', ''), doc=d.get('doc', ''))


def from_metadata(info: dict) -> dict:
  """{signature name: Endpoint} of an export's tfi2i.json (`endpoints`); the bytes
  signatures and serving_default map to the endpoint they serve. Exports made before
  the declaration existed have none: {}."""
  endpoints = {k: Endpoint.from_json(v) for k, v in (info.get('endpoints') or {}).items()}
  out = dict(endpoints)
  for name, endpoint in endpoints.items():
    out[name + BYTES_SUFFIX] = endpoint
  if endpoints:
    out.setdefault('serving_default', endpoints[next(iter(endpoints))])
  return out


BYTES_SUFFIX = '_bytes'  # the bytes signature of endpoint N is N_bytes
# TF Serving's REST API writes a string output as {"b64": ...} only when its name ends in
# '_bytes': the PNG outputs of a bytes signature are named <output>_bytes.
PNG_SUFFIX = '_bytes'


def infer(signatures: dict) -> dict:
  """Endpoints read off signature specs, for models whose declaration is not at hand (a
  model server's API carries only the SignatureDefs; exports made before tfi2i.json held
  the declaration). signatures: {name: (inputs {name: (dtype name, shape or None)},
  outputs {...})}. What the specs cannot tell is taken from the names the declared
  endpoints use: inputs 'seed' and 'num_samples' and a float input 'z' have those roles,
  an output 'mu' is a code; other inputs with a free first axis are per image; outputs of
  rank >= 4 are images (rank 5: samples), others
  vectors; a signature N_X is a variant of N when N is a signature too. Heatmaps cannot
  be told from images this way."""
  names = [n for n in signatures if not n.endswith(BYTES_SUFFIX) and n != 'serving_default']
  out = {}
  for name in names:
    inputs, outputs = signatures[name]
    ins = []
    for k, (dtype, shape) in inputs.items():
      if k == 'images':
        continue
      role = {'seed': SEED, 'num_samples': NUM_SAMPLES}.get(k, CODE if k == 'z' else '')
      shape = tuple(None if d in (None, -1) else d for d in (shape or ()))
      per_image = not role and bool(shape) and shape[0] is None  # a free leading batch axis
      ins.append(Input(k, dtype, shape[1:] if per_image else shape, per_image, role))
    outs = []
    for k, (dtype, shape) in outputs.items():
      rank = None if shape is None else len(shape)
      if rank is not None and rank >= 4:
        outs.append(Output(k, IMAGE, samples=rank == 5))
      else:
        outs.append(Output(k, VECTOR, role=CODE if k == 'mu' else '',
                           shared=k == 'z' and rank == 2 and 'seed' in inputs))
    base = max((n for n in names if name.startswith(n + '_')), key=len, default='')
    out[name] = Endpoint(None, tuple(ins), tuple(outs), variant_of=base)
  for name, endpoint in list(out.items()):
    out[name + BYTES_SUFFIX] = endpoint
  return out
