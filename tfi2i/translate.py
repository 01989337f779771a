"""Translate image files with an exported model; writes PNGs and an HTML gallery.

  python -m tfi2i.translate --model=EXPORT_DIR --input=FILE_OR_DIR --output=DIR \
      [--direction=b_to_a] [--batch_size=1] [--samples=K [--seed=S] | --reference=IMG]
  python -m tfi2i.translate --model=EXPORT_DIR --input=... --output=DIR \
      --attrs="Bangs=1,Male=-1" | --edit=each [--mask]      (attribute editors:
      `edit_attributes` says what they write)

--model is a version folder (holds saved_model.pb) or an export base (the highest integer
version is used); `BASE/latest` is accepted as an alias for the highest version of BASE.
It may also be the ONNX export of a version (`BASE/<version>/onnx`, or one `.onnx` file),
run with onnxruntime: the same outputs within the conversion's tolerance.
--input is one image file or a folder (its image files, not recursive, hidden files skipped).
Images of any size are accepted: the exported signature pads and crops.

Output folder:
  <name>.png           the translation (the signature's `output`), at the input's size;
  <name>__s<j>.png     with --samples=K: the j-th of K translations (latent codes drawn with
                       --seed; the gallery row is input, then the K samples);
  <name>__<key>.png    with --attention: each heatmap output (e.g. U-GAT-IT's `attention`),
                       a gray PNG at the input's size;
  <key>/<name>.png     any other image output of the signature;
  inputs/<name>.png    the input as the model saw it (RGB), so the gallery is self-contained;
  index.html           one row per input: input | output (| other outputs).
<name> is the input's file stem; when two inputs share a stem (a.jpg and a.png) the later
ones get their extension appended (a_png), then a counter if still needed.

A file that cannot be read or translated is reported with its path and skipped; the others
are still written and the CLI exits with status 1 and the count of failures.
"""
import dataclasses
import html
import json
import os
import sys
import urllib.parse

from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

from tfi2i import attribute_edit
from tfi2i import cli as cli_lib
from tfi2i import endpoints as ep
from tfi2i.data import images as image_io
from tfi2i.versions import has_saved_model
from tfi2i.versions import read_metadata
from tfi2i.versions import version_folders

LATEST_ALIAS = 'latest'
OUTPUT_KEY = 'output'
INPUTS_DIR = 'inputs'
GALLERY = 'index.html'
SAMPLE_SEP = '__s'


@dataclasses.dataclass
class TranslateResult:
  """What `translate` did."""
  model_dir: str  # the version folder used
  outputs: list[str]  # translations written (PNG; with samples, K per input), in input order
  failures: list[tuple[str, str]]  # (input path, error message)
  gallery: str  # path of index.html
  translated: int = 0  # inputs translated


def resolve_model_dir(path: str) -> str:
  """A version folder from a version folder, an export base, or `BASE/latest`."""
  path = os.path.abspath(os.path.expanduser(str(path)))
  if has_saved_model(path):
    return path
  if not os.path.isdir(path):
    if os.path.basename(path) == LATEST_ALIAS and os.path.isdir(os.path.dirname(path)):
      return resolve_model_dir(os.path.dirname(path))
    raise FileNotFoundError(f'model folder does not exist: {path}')
  versions = version_folders(path)[0]
  if not versions:
    raise FileNotFoundError(
        f'no SavedModel in {path}: expected {path}/saved_model.pb or integer version '
        f'folders {path}/<version>/saved_model.pb (python -m tfi2i.export)')
  return os.path.join(path, str(versions[-1]))


def list_inputs(path: str) -> list[str]:
  """[path] for a file; the image files of a folder (not recursive), sorted."""
  path = os.path.expanduser(str(path))
  if os.path.isfile(path):
    return [path]
  if not os.path.isdir(path):
    raise FileNotFoundError(f'input does not exist: {path}')
  names = sorted(n for n in os.listdir(path) if not n.startswith('.')
                 and image_io.is_image_file(n) and os.path.isfile(os.path.join(path, n)))
  if not names:
    raise FileNotFoundError(
        f'no images ({", ".join(image_io.IMAGE_EXTENSIONS)}) in {path}')
  return [os.path.join(path, n) for n in names]


def output_names(paths) -> list[str]:
  """A distinct output stem per input path (case-insensitive, so also on macOS/Windows)."""
  taken, names = set(), []
  for p in paths:
    stem, ext = os.path.splitext(os.path.basename(p))
    candidates = [stem, f'{stem}_{ext.lstrip(".")}' if ext else stem]
    name = next((c for c in candidates if c.lower() not in taken), None)
    counter = 2
    while name is None or name.lower() in taken:
      name = f'{candidates[-1]}_{counter}'
      counter += 1
    taken.add(name.lower())
    names.append(name)
  return names


def load_signature(model_dir: str, direction: str, loaded=None):
  """(version folder, the float signature `direction`) of an export (`loaded`: the
  SavedModel of that folder when the caller has it already)."""
  model_dir = resolve_model_dir(model_dir)
  loaded = loaded or tf.saved_model.load(model_dir)
  _check_signature(direction, loaded.signatures, model_dir)
  return model_dir, loaded.signatures[direction]


def _check_signature(name, signatures, where):
  """A ValueError listing `signatures` (names) unless `name` is one of them."""
  if name not in signatures:
    available = sorted(k for k in signatures if k != 'serving_default')
    raise ValueError(f'unknown signature {name!r} for the model in {where}; '
                     f'its signatures: {", ".join(available)}')


class ModelCallError(Exception):
  """A model refused or failed one call (bad input for that call, not a broken setup)."""


class LocalModel:
  """An exported SavedModel, called in this process: what `translate` runs by default.

  The interface `translate` needs from a model (tfi2i.serving.client.RemoteModel has the
  same one, over TF Serving's REST or gRPC API):
    description           where the model is (printed, and the gallery's title);
    signature_names()     the signature names;
    endpoints             {signature name: tfi2i.endpoints.Endpoint}: the declaration
                          (the export's tfi2i.json; read off the signatures when missing);
    images(name, images, extra)
                          uint8 [B, H, W, 3] images of one size and the signature's other
                          inputs -> {output name: uint8 [B, (K,) H, W, C] for image and
                          heatmap outputs, NumPy arrays for the others}; ModelCallError for
                          a refused call;
    call(name, inputs)    a float signature on a dict of arrays -> dict of NumPy arrays.
  """

  def __init__(self, model_dir: str):
    self.description = resolve_model_dir(model_dir)
    self._loaded = tf.saved_model.load(self.description)
    self.endpoints = ep.from_metadata(read_metadata(self.description)) or ep.infer(
        {name: _specs(sig) for name, sig in self._loaded.signatures.items()})

  def signature_names(self):
    return set(self._loaded.signatures)

  def call(self, name, inputs):
    _check_signature(name, self._loaded.signatures, self.description)
    signature = self._loaded.signatures[name]
    try:
      outputs = signature(**{k: tf.constant(v) for k, v in inputs.items()})
    except tf.errors.OpError as e:
      raise ModelCallError(e.message.strip()) from None
    return {k: v.numpy() for k, v in outputs.items()}

  def images(self, name, images, extra):
    outputs = self.call(name, {'images': to_float(np.asarray(images)), **extra})
    return pictures_to_uint8(self.endpoints.get(name), outputs)


class OnnxModel:
  """The ONNX files of an export (`python -m tfi2i.export --format=onnx`), run with
  onnxruntime: LocalModel's interface, so translate checks what ONNX Runtime users get.

  `path` is a folder of `<signature>.onnx` files (e.g. `export/1/onnx`) or one such file.
  """

  def __init__(self, path: str):
    import onnxruntime as ort  # pylint: disable=import-outside-toplevel
    path = os.path.abspath(os.path.expanduser(str(path)))
    files = ([path] if os.path.isfile(path) else
             [os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith('.onnx')])
    if not files:
      raise FileNotFoundError(f'no .onnx files in {path}')
    self.description = path
    self._sessions = {os.path.splitext(os.path.basename(f))[0]: ort.InferenceSession(
        f, providers=['CPUExecutionProvider']) for f in files}
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    self.endpoints = ep.from_metadata(read_metadata(os.path.dirname(folder))) or ep.infer({
        name: ({i.name: (_onnx_dtype(i.type), i.shape) for i in s.get_inputs()},
               {o.name: (_onnx_dtype(o.type), o.shape) for o in s.get_outputs()})
        for name, s in self._sessions.items()})

  def signature_names(self):
    return set(self._sessions)

  def call(self, name, inputs):
    _check_signature(name, self._sessions, self.description)
    session = self._sessions[name]
    feed = {i.name: np.asarray(inputs[i.name], np.float32) for i in session.get_inputs()}
    try:
      values = session.run(None, feed)
    except Exception as e:  # pylint: disable=broad-except  (onnxruntime's own error types)
      raise ModelCallError(str(e).strip()) from None
    return {o.name: v for o, v in zip(session.get_outputs(), values)}

  images = LocalModel.images


def open_model(path: str):
  """OnnxModel for a .onnx file or a folder of them, else LocalModel (a SavedModel)."""
  path = os.path.abspath(os.path.expanduser(str(path)))
  if path.endswith('.onnx') or (os.path.isdir(path) and not has_saved_model(path) and any(
      n.endswith('.onnx') for n in os.listdir(path))):
    return OnnxModel(path)
  return LocalModel(path)


def _specs(concrete) -> tuple:
  """(inputs, outputs) of a concrete function as {name: (dtype name, shape or None)}."""
  spec = lambda t: (t.dtype.name, None if t.shape.rank is None else t.shape.as_list())
  inputs = {t.name: spec(t) for t in concrete.structured_input_signature[1].values()}
  return inputs, {k: spec(v) for k, v in concrete.structured_outputs.items()}


def _onnx_dtype(type_name: str) -> str:
  """'tensor(float)' -> 'float32'."""
  inner = type_name[type_name.find('(') + 1:type_name.rfind(')')]
  return {'float': 'float32', 'double': 'float64'}.get(inner, inner)


def pictures_to_uint8(endpoint, outputs: dict) -> dict:
  """Float outputs of a signature with its image outputs ([-1, 1]) and heatmaps ([0, 1])
  as uint8 pixels; the others as they are. Without a declaration, rank >= 4 is an image."""
  result = {}
  for k, v in outputs.items():
    try:
      declared = endpoint.output(k) if endpoint is not None else None
    except KeyError:
      declared = None
    kind = declared.kind if declared is not None else (ep.IMAGE if v.ndim >= 4 else ep.VECTOR)
    if kind == ep.IMAGE:
      result[k] = to_uint8(v)
    elif kind == ep.HEATMAP:
      result[k] = np.clip(np.round(np.asarray(v) * 255.0), 0, 255).astype(np.uint8)
    else:
      result[k] = v
  return result


def _variant(model, direction, *roles):
  """The name of the endpoint that is a variant of `direction` with inputs of `roles`."""
  for name, endpoint in model.endpoints.items():
    if (not name.endswith(ep.BYTES_SUFFIX) and endpoint.variant_of == direction
        and all(endpoint.input_with_role(r) for r in roles)):
      return name
  return None


def _latent_inputs(model, direction, samples, seed, reference):
  """(signature name, extra inputs) for --samples (seeded codes: the endpoint that is a
  variant of `direction` with seed and num_samples inputs) or --reference (its code: the
  endpoint with a code output, then the variant of `direction` with a code input)."""
  if samples and reference:
    raise ValueError('use either --samples (random codes) or --reference (the code of one '
                     'image), not both')
  if samples < 0:
    raise ValueError(f'--samples must be >= 0, got {samples}')
  if samples:
    name = _variant(model, direction, ep.SEED, ep.NUM_SAMPLES)
    if name is None:
      raise ValueError(f'--samples: the model in {model.description} has no endpoint that '
                       f'draws random codes for {direction} (it is deterministic)')
    endpoint = model.endpoints[name]
    return name, {endpoint.input_with_role(ep.SEED).name: np.asarray(seed, np.int64),
                  endpoint.input_with_role(ep.NUM_SAMPLES).name: np.asarray(samples, np.int32)}
  if reference:
    encoder = next((n for n, e in model.endpoints.items() if not n.endswith(ep.BYTES_SUFFIX)
                    and e.output_with_role(ep.CODE) and not e.variant_of), None)
    name = _variant(model, direction, ep.CODE)
    if encoder is None or name is None:
      raise ValueError(f'--reference: the model in {model.description} has no encoder and '
                       f'code-taking variant of {direction}')
    ref = to_float(image_io.load_image(reference))[None]
    code = model.endpoints[encoder].output_with_role(ep.CODE).name
    try:
      value = model.call(encoder, {'images': ref})[code]
    except ModelCallError as e:
      raise ValueError(f'cannot encode the reference {reference}: {e}') from None
    return name, {model.endpoints[name].input_with_role(ep.CODE).name: value}
  return direction, {}


def _given_inputs(model, name, values, batch):
  """The declared inputs of signature `name` from `values` ({input: value}); a per-image
  input given once is used for every image of the batch."""
  endpoint = model.endpoints.get(name)
  out = {}
  for declared in (endpoint.inputs if endpoint else ()):
    if declared.role in (ep.SEED, ep.NUM_SAMPLES, ep.CODE):
      continue  # set by --samples / --reference
    if declared.name not in values:
      raise ValueError(f'signature {name!r} needs input {declared.name!r} '
                       f'({declared.doc or declared.dtype}): pass --extra={declared.name}=...')
    value = np.asarray(values[declared.name], declared.dtype)
    if declared.per_image and value.ndim == len(declared.shape):
      value = np.broadcast_to(value, (batch,) + value.shape)
    out[declared.name] = value
  return out


def _require_signature(model, name):
  _check_signature(name, model.signature_names(), model.description)


def to_float(image_uint8):
  return image_uint8.astype(np.float32) / 127.5 - 1.0


def to_uint8(image_float):
  return np.clip(np.round((np.asarray(image_float) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def write_gallery(path: str, rows, header=None, title: str = 'tfi2i translations') -> str:
  """Writes an HTML table of images.

  Args:
    path: the HTML file; image paths are relative to its folder.
    rows: one list of cells per row; a cell is (caption, relative image path or None for a
      text-only cell, e.g. an error).
    header: optional column titles.
    title: page title.

  Returns:
    path.
  """
  e = lambda text: html.escape(shown(text))
  out = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8">', f'<title>{e(title)}</title>',
         '<style>body{font-family:sans-serif}table{border-collapse:collapse}'
         'td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:center}'
         'img{max-width:320px;image-rendering:pixelated}.err{color:#b00}</style>',
         '</head><body>', f'<h1>{e(title)}</h1>', '<table>']
  if header:
    out.append('<tr>' + ''.join(f'<th>{e(h)}</th>' for h in header) + '</tr>')
  for row in rows:
    cells = []
    for caption, src in row:
      if src is None:
        cells.append(f'<td class="err">{e(caption)}</td>')
      else:
        # the file name's bytes, %-quoted: a name that is not UTF-8 still links its file
        url = html.escape(urllib.parse.quote(os.fsencode(src.replace(os.sep, '/'))))
        cells.append(f'<td><a href="{url}"><img src="{url}" loading="lazy"></a>'
                     f'<br>{e(caption)}</td>')
    out.append('<tr>' + ''.join(cells) + '</tr>')
  out += ['</table>', '</body></html>', '']
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, 'w', encoding='utf-8') as f:
    f.write('\n'.join(out))
  return path


def shown(text) -> str:
  """A path or name as text for a page or a terminal: bytes that are not UTF-8 (a file name
  from another system, read with Python's surrogateescape) shown as U+FFFD."""
  return os.fsencode(str(text)).decode('utf-8', 'replace')


def _same_folder(a: str, b: str) -> bool:
  """Whether two paths are one folder: the same real path (symlinks resolved) or, when both
  exist, the same inode (a bind mount; another letter case on a case-insensitive disk)."""
  if os.path.realpath(a) == os.path.realpath(b):
    return True
  try:
    return os.path.samefile(a, b)
  except OSError:
    return False


def input_paths(inputs, output_dir: str) -> tuple[list[str], str]:
  """(image paths, absolute output folder) of --input / --output: a file, a folder or a
  list of files; ValueError for none or for an output folder that would overwrite them
  (compared as real folders, so a symlink, a bind mount or another letter case of the
  input folder is caught)."""
  paths = list_inputs(inputs) if isinstance(inputs, (str, os.PathLike)) else [
      str(p) for p in inputs]
  if not paths:
    raise ValueError('no input images given')
  output_dir = os.path.abspath(os.path.expanduser(str(output_dir)))
  written = (output_dir, os.path.join(output_dir, INPUTS_DIR))
  for folder in sorted({os.path.dirname(os.path.abspath(p)) for p in paths}):
    if any(_same_folder(folder, w) for w in written):
      raise ValueError(f'--output {shown(output_dir)} would overwrite the inputs in it (it is '
                       f'their folder, {shown(folder)}); choose another output folder')
  return paths, output_dir


def read_inputs(paths, failures: dict):
  """Yields (index, path, uint8 image) of the readable files one at a time (a run holds only
  the batch in flight, not every input); an unreadable file's message goes into
  `failures` ({index: message}) and it is skipped."""
  for i, p in enumerate(paths):
    try:
      image = image_io.load_image(p)
    except image_io.DataError as e:
      failures[i] = str(e)
      logging.error('%s', e)
      continue
    yield i, p, image


def run_batch(batch, run, failures, verb):
  """[(items, run(items))] for one batch of (index, path, image) items: a batch the model
  refuses (ModelCallError) is run again one image at a time, so that the error names the
  file; a refused image goes into `failures` ('cannot <verb> <path>: ...')."""
  try:
    return [(batch, run(batch))]
  except ModelCallError:
    results = []
    for item in batch:
      try:
        results.append(([item], run([item])))
      except ModelCallError as e:
        failures[item[0]] = f'cannot {verb} {item[1]}: {e}'
        logging.error('%s', failures[item[0]])
    return results


def _size(image):
  return f'{image.shape[1]}x{image.shape[0]}'


def batches(items, batch_size):
  """Consecutive items of the same image shape, at most batch_size at a time (lazily: the
  items may be a generator; a full batch is yielded before the next item is read)."""
  batch = []
  for item in items:
    if batch and batch[0][2].shape != item[2].shape:
      yield batch
      batch = []
    batch.append(item)
    if len(batch) == batch_size:
      yield batch
      batch = []
  if batch:
    yield batch


def _heatmaps(model, name) -> set:
  """The names of the heatmap outputs the signature declares."""
  endpoint = model.endpoints.get(name)
  return {o.name for o in endpoint.outputs if o.kind == ep.HEATMAP} if endpoint else set()


def _run(model, name, batch, extra, values=None, skip=()):
  """{key: uint8 [B, H, W, C]} for a list of (index, path, image) items. A sampled output
  [B, K, H, W, C] becomes the keys `<key>__s<j>` (j < K); with K = 1 (a reference's
  code) it stays `<key>`. Outputs that are not images (latent codes) are left out, and
  the outputs named in `skip`."""
  out = {}
  extra = {**extra, **_given_inputs(model, name, values or {}, len(batch))}
  for k, v in model.images(name, np.stack([image for _, _, image in batch]), extra).items():
    if k in skip:
      continue
    if v.ndim == 5 and v.shape[1] == 1:
      out[k] = v[:, 0]
    elif v.ndim == 5:
      out.update({f'{k}{SAMPLE_SEP}{j}': v[:, j] for j in range(v.shape[1])})
    elif v.ndim == 4:
      out[k] = v
  return out


def translate(model_dir, inputs, output_dir: str, direction: str = 'a_to_b',
              batch_size: int = 1, samples: int = 0, seed: int = 0,
              reference: str | None = None, values: dict | None = None,
              attention: bool = False) -> TranslateResult:
  """Translates image files with an export; see the module docstring for the output layout.

  Args:
    model_dir: version folder, export base or `BASE/latest`; or a model object with
      LocalModel's interface (e.g. tfi2i.serving.client.RemoteModel for a model served by
      TF Serving).
    inputs: an image file, a folder of images, or a list of image files.
    output_dir: where PNGs and index.html go (created).
    direction: the float signature to use (CycleGAN: 'a_to_b' or 'b_to_a').
    batch_size: images translated per call (consecutive images of the same size only).
    samples: K > 0 writes K translations per input (`<name>__s<j>.png`) from latent codes
      drawn with `seed` (the endpoint declared as a variant of `direction` with seed and
      num_samples inputs: the BicycleGAN family's `a_to_b_random`).
    seed: seed of those codes (the same seed gives the same K codes for every input).
    reference: an image whose encoded code (the endpoint with a code output) styles every
      output.
    values: {input name: value} for the signature's other declared inputs (e.g. a
      conditioning vector); a per-image input given once is used for every image.
    attention: also write the heatmap outputs (e.g. U-GAT-IT's attention map) as gray
      PNGs `<name>__<output>.png` beside each output, and show them in the gallery.

  Returns:
    TranslateResult; files that failed are listed in `failures`, not raised.
  """
  if batch_size < 1:
    raise ValueError(f'batch_size must be >= 1, got {batch_size}')
  paths, output_dir = input_paths(inputs, output_dir)
  model = open_model(model_dir) if isinstance(model_dir, (str, os.PathLike)) else model_dir
  signature_name, extra = _latent_inputs(model, direction, samples, seed, reference)
  _require_signature(model, signature_name)
  given = dict(values or {})
  _given_inputs(model, signature_name, given, 1)  # a missing input fails before any file
  names = output_names(paths)
  heatmaps = _heatmaps(model, signature_name)
  if attention and not heatmaps:
    raise ValueError(f'--attention: signature {signature_name!r} of {model.description} has '
                     'no heatmap output')
  skip = set() if attention else heatmaps

  failures, sizes = {}, {}
  written = {}  # index -> {key: relative path}
  run = lambda items: _run(model, signature_name, items, extra, given, skip)
  for batch in batches(read_inputs(paths, failures), batch_size):
    for items, outputs in run_batch(batch, run, failures, 'translate'):
      for j, (i, _, image) in enumerate(items):
        sizes[i] = _size(image)
        rel = {INPUTS_DIR: os.path.join(INPUTS_DIR, names[i] + '.png')}
        image_io.save_png(os.path.join(output_dir, rel[INPUTS_DIR]), image)
        for key, values in sorted(outputs.items(), key=lambda kv: _column_order(kv[0])):
          base, _, sample = key.partition(SAMPLE_SEP)
          stem = names[i] + (f'{SAMPLE_SEP}{sample}' if sample else '')
          if base == OUTPUT_KEY:
            rel[key] = stem + '.png'
          elif base in heatmaps:  # beside the output: <name>__attention.png
            rel[key] = f'{stem}__{base}.png'
          else:
            rel[key] = os.path.join(base, stem + '.png')
          image_io.save_png(os.path.join(output_dir, rel[key]), values[j])
        written[i] = rel

  keys = sorted({k for rel in written.values() for k in rel} - {INPUTS_DIR}, key=_column_order)
  rows = []
  for i, p in enumerate(paths):
    source = os.path.basename(p)
    if i in failures:
      rows.append([(f'{source}: {failures[i]}', None)] + [('failed', None)] * len(keys))
      continue
    size = sizes[i]
    rows.append([(f'{source} ({size})', written[i][INPUTS_DIR])] +
                [(f'{written[i][k]} ({size})', written[i][k]) for k in keys])
  gallery = write_gallery(
      os.path.join(output_dir, GALLERY), rows, header=['input', *keys],
      title=f'{direction}: {model.description}')
  outputs = [os.path.join(output_dir, written[i][k]) for i in sorted(written)
             for k in keys if k.partition(SAMPLE_SEP)[0] == OUTPUT_KEY and k in written[i]]
  return TranslateResult(model.description, outputs,
                         [(paths[i], failures[i]) for i in sorted(failures)], gallery,
                         translated=len(written))


def edit_attributes(model_dir, inputs, output_dir: str, attrs: str | None = None,
                    each: bool = False, batch_size: int = 1,
                    mask: bool = False) -> TranslateResult:
  """Attribute edits of image files with an exported attribute editor (StarGAN, AttGAN,
  STGAN; its signatures found by tfi2i.attribute_edit.editor_signatures): what
  `--attrs=... | --edit=each [--mask]` runs. Writes into `output_dir`:

    --attrs="Bangs=1,Male=-1"   one output per input, <name>.png: the named attributes set
                                (1) or cleared (-1 or 0), the others kept as the
                                discriminator's classifier sees them in the input (the
                                export's `attributes` signature);
    --edit=each                 one output per attribute, <name>__<attribute>.png: that
                                attribute changed as the editor's official test-time
                                targets do (StarGAN: a hair colour set, the others cleared,
                                any other attribute flipped; AttGAN / STGAN: flipped, then
                                their conflict check), the rest kept;
    --mask                      also the Grad-CAM mask of each edit (paper 001),
                                <name>__<attribute>__mask.png (or <name>__mask.png), gray.
  The gallery (index.html) has a row per input: the input, then a column per edit (and its
  mask), like the papers' figures; attributes.json holds the classifier's probabilities of
  each input. Failed files are listed, not raised.
  """
  if bool(attrs) == bool(each):
    raise ValueError('give either --attrs=NAME=1,... or --edit=each')
  if batch_size < 1:
    raise ValueError(f'batch_size must be >= 1, got {batch_size}')
  model = open_model(model_dir) if isinstance(model_dir, (str, os.PathLike)) else model_dir
  sig, target_input, classifier, probabilities, mask_sig = attribute_edit.editor_signatures(
      model)
  names, rule = tuple(target_input.labels), attribute_edit.target_rule(target_input)
  changes = attribute_edit.parse_attrs(attrs, names) if attrs else {}
  if mask and mask_sig is None:
    raise ValueError(f'--mask: {model.description} has no signature with the edit\'s mask')
  if mask:
    sig = mask_sig
  paths, output_dir = input_paths(inputs, output_dir)
  stems = output_names(paths)
  failures, sizes = {}, {}

  def run(items):
    pixels = np.stack([image for _, _, image in items])
    probs = model.call(classifier, {'images': to_float(pixels)})[probabilities.name]
    source = (np.asarray(probs) > 0.5).astype(np.float32)
    targets = (attribute_edit.each_changed(source, names, rule) if each else
               [(OUTPUT_KEY, attribute_edit.with_changes(source, names, changes, rule))])
    return probs, {key: model.images(sig, pixels, {target_input.name: target})
                   for key, target in targets}

  written, found = {}, {}
  for batch in batches(read_inputs(paths, failures), batch_size):
    for items, (probs, outputs) in run_batch(batch, run, failures, 'edit'):
      for j, (i, _, image) in enumerate(items):
        sizes[i] = _size(image)
        rel = {INPUTS_DIR: os.path.join(INPUTS_DIR, stems[i] + '.png')}
        image_io.save_png(os.path.join(output_dir, rel[INPUTS_DIR]), image)
        for key, out in outputs.items():
          stem = stems[i] if key == OUTPUT_KEY else f'{stems[i]}__{key}'
          rel[key] = stem + '.png'
          image_io.save_png(os.path.join(output_dir, rel[key]), out['output'][j])
          if mask:
            rel[f'{key}__mask'] = f'{stem}__mask.png'
            image_io.save_png(os.path.join(output_dir, rel[f'{key}__mask']), out['mask'][j])
        written[i] = rel
        found[os.path.basename(paths[i])] = {n: round(float(v), 4)
                                             for n, v in zip(names, probs[j])}

  keys = [OUTPUT_KEY] if not each else list(names)
  columns = [c for k in keys for c in ([k, f'{k}__mask'] if mask else [k])]
  rows = []
  for i, p in enumerate(paths):
    source_name = os.path.basename(p)
    if i in failures:
      rows.append([(f'{source_name}: {failures[i]}', None)] + [('failed', None)] * len(columns))
      continue
    size = sizes[i]
    rows.append([(f'{source_name} ({size})', written[i][INPUTS_DIR])] +
                [(written[i][c], written[i][c]) for c in columns])
  header = ['input'] + [c.replace('__mask', ' mask') for c in columns]
  title = (f'--attrs={attrs}' if attrs else 'each attribute changed') + f': {model.description}'
  gallery = write_gallery(os.path.join(output_dir, GALLERY), rows, header=header, title=title)
  if found:
    with open(os.path.join(output_dir, 'attributes.json'), 'w', encoding='utf-8') as f:
      json.dump({'attributes': list(names), 'probabilities': found}, f, indent=1)
  outputs = [os.path.join(output_dir, written[i][k]) for i in sorted(written) for k in keys]
  return TranslateResult(model.description, outputs,
                         [(paths[i], failures[i]) for i in sorted(failures)], gallery,
                         translated=len(written))


def _column_order(key):
  """output first, then its samples in order, then other outputs."""
  base, _, j = key.partition(SAMPLE_SEP)
  return (base != OUTPUT_KEY, base, int(j) if j else -1)


def parse_values(items) -> dict:
  """--extra NAME=V1,V2,... flags -> {name: float array} (ValueError naming a bad one)."""
  values = {}
  for item in items or ():
    name, sep, text = item.partition('=')
    try:
      if not sep or not name:
        raise ValueError
      values[name] = np.array([float(v) for v in text.split(',')], np.float32)
    except ValueError:
      raise ValueError(f'--extra={item}: expected NAME=V1,V2,... (numbers)') from None
  return values


def cli(model: str, input: str, output: str,  # pylint: disable=redefined-builtin
        direction: str = 'a_to_b', batch_size: int = 1, samples: int = 0, seed: int = 0,
        reference: str | None = None, extra=None, attention: bool = False,
        attrs: str | None = None, edit: str | None = None, mask: bool = False) -> int:
  """The command line: translate (or edit attributes: --attrs / --edit), print where the
  gallery is; returns the exit status."""
  try:
    if attrs or edit or mask:
      if edit not in (None, '', attribute_edit.EACH):
        raise ValueError(f'--edit={edit}: the only mode is --edit={attribute_edit.EACH}')
      result = edit_attributes(model, input, output, attrs, edit == attribute_edit.EACH,
                               batch_size, mask)
      return report(result)
    result = translate(model, input, output, direction, batch_size, samples, seed, reference,
                       parse_values(extra), attention)
  except (FileNotFoundError, ValueError, image_io.DataError) as e:
    print(f'translate failed: {e}', file=sys.stderr)
    return 1
  return report(result)


def report(result: TranslateResult, extra: str = '') -> int:
  """Prints what `translate` did (and `extra`); returns the exit status (1 if any failed)."""
  print(f'Translated {result.translated} images with {result.model_dir} into '
        f'{os.path.dirname(result.gallery)}')
  print(f'Gallery: {result.gallery}')
  if extra:
    print(extra)
  if result.failures:
    print(f'{len(result.failures)} of {len(result.failures) + result.translated} inputs '
          'failed:', file=sys.stderr)
    for path, error in result.failures:
      print(f'  {shown(path)}: {shown(error)}', file=sys.stderr)
    return 1
  return 0


def define_io_flags():
  """The flags of what to translate and how (shared with tfi2i.serving.client)."""
  return dict(
      input=flags.DEFINE_string('input', None, 'An image file or a folder of images.',
                                required=True),
      output=flags.DEFINE_string('output', None, 'Output folder (PNGs and index.html).',
                                 required=True),
      batch_size=flags.DEFINE_integer('batch_size', 1, 'Images per call (same-size runs).'),
      samples=flags.DEFINE_integer('samples', 0, 'K > 0: K outputs per input from seeded '
                                   'random latent codes (<name>__s<j>.png; BicycleGAN family).'),
      seed=flags.DEFINE_integer('seed', 0, 'Seed of the --samples codes.'),
      reference=flags.DEFINE_string('reference', None, 'An image whose encoded latent code '
                                    'is used for every output (BicycleGAN family).'),
      extra=flags.DEFINE_multi_string('extra', None, 'NAME=V1,V2,...: a value for an input '
                                      'the signature declares besides images (e.g. a '
                                      'conditioning vector), used for every image.'),
      attention=flags.DEFINE_bool('attention', False, 'Also write heatmap outputs (U-GAT-IT\'s '
                                  'attention map) as <name>__<output>.png, gray, at the '
                                  'input\'s size, and show them in the gallery.'))


def _define_flags():
  # Defined only when run as a program, so importing this module adds no global flags.
  return dict(
      model=flags.DEFINE_string('model', None, 'Export version folder, export base or '
                                'BASE/latest.', required=True),
      direction=flags.DEFINE_string('direction', 'a_to_b', 'Signature: a_to_b or b_to_a.'),
      attrs=flags.DEFINE_string('attrs', None, 'Attribute editors: NAME=1 (set) or NAME=-1 '
                                '(clear), comma-separated, e.g. "Bangs=1,Male=-1"; the other '
                                'attributes are kept as the model sees them.'),
      edit=flags.DEFINE_string('edit', None, 'Attribute editors: "each" writes one output '
                               'per attribute, <name>__<attribute>.png, that attribute '
                               'changed and the rest kept.'),
      mask=flags.DEFINE_bool('mask', False, 'Attribute editors: also write the Grad-CAM '
                             'mask of each edit (<...>__mask.png).'),
      **define_io_flags())


if __name__ == '__main__':
  cli_lib.run(_define_flags, cli)
