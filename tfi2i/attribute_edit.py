"""Attribute edits with an exported attribute editor (StarGAN, AttGAN, STGAN): what
`python -m tfi2i.translate --attrs=... | --edit=each` runs.

  --attrs="Bangs=1,Male=-1"   one output per input, <name>.png: the named attributes set (1)
                              or cleared (-1 or 0), the others kept as the discriminator's
                              classifier sees them in the input (the export's `attributes`
                              signature);
  --edit=each                 one output per attribute, <name>__<attribute>.png: that
                              attribute changed as the official test-time targets do
                              (a hair colour set, the other hair colours cleared; any other
                              attribute flipped), the rest kept;
  --mask                      also the Grad-CAM mask of each edit (paper 001),
                              <name>__<attribute>__mask.png (or <name>__mask.png), gray.
The gallery (index.html) has a row per input: the input, then a column per edit (and its
mask), like the papers' figures; attributes.json holds the classifier's probabilities of
each input.
"""
import json
import os

import numpy as np

from tfi2i import attribute_rules
from tfi2i import endpoints as ep
from tfi2i import translate as translate_lib
from tfi2i.data import images as image_io

EACH = 'each'


def editor_signatures(model):
  """(edit signature, its target input, probabilities signature, its output, mask variant
  or None) of an exported attribute editor; ValueError when the model is not one."""
  for name, endpoint in model.endpoints.items():
    if name.endswith(ep.BYTES_SUFFIX) or endpoint.variant_of:
      continue
    target = next((i for i in endpoint.inputs if i.labels and i.per_image), None)
    if target is None:
      continue
    classifier = next(
        ((n, o) for n, e in model.endpoints.items() if not n.endswith(ep.BYTES_SUFFIX)
         for o in e.outputs if o.kind == ep.VECTOR and tuple(o.labels) == tuple(target.labels)),
        None)
    if classifier is None:
      continue
    mask = next((n for n, e in model.endpoints.items() if not n.endswith(ep.BYTES_SUFFIX)
                 and e.variant_of == name and any(o.kind == ep.HEATMAP for o in e.outputs)),
                None)
    return name, target, classifier[0], classifier[1], mask
  raise ValueError(f'{model.description} is not an attribute editor (no signature takes a '
                   'named attribute vector): --attrs and --edit are for StarGAN, AttGAN and '
                   'STGAN exports')


def parse_attrs(text: str, names) -> dict:
  """'Bangs=1,Male=-1' -> {index: 1.0 or 0.0}; ValueError naming a bad item."""
  out = {}
  for item in (t.strip() for t in str(text).split(',')):
    if not item:
      continue
    name, sep, value = item.partition('=')
    name = name.strip()
    if not sep:
      raise ValueError(f'--attrs item {item!r}: expected NAME=1 or NAME=-1')
    if name not in names:
      raise ValueError(f'--attrs: the model has no attribute {name!r}; it edits: '
                       f'{", ".join(names)}')
    try:
      number = float(value)
    except ValueError:
      raise ValueError(f'--attrs item {item!r}: the value must be 1 (set) or -1 / 0 '
                       '(clear)') from None
    if number not in (1.0, 0.0, -1.0):
      raise ValueError(f'--attrs item {item!r}: the value must be 1 (set) or -1 / 0 (clear)')
    out[list(names).index(name)] = 1.0 if number > 0 else 0.0
  if not out:
    raise ValueError('--attrs is empty: name the attributes to change, e.g. --attrs=Bangs=1')
  return out


def _targets(source, names, attrs, each):
  """[(column key, target vectors [n, k])] for one batch."""
  if each:
    return [(name, attribute_rules.change(source, names, j)) for j, name in enumerate(names)]
  target = source
  for index, value in attrs.items():
    target = attribute_rules.change(target, names, index, value)
  return [(translate_lib.OUTPUT_KEY, target)]


def edit(model_dir, inputs, output_dir: str, attrs: str | None = None, each: bool = False,
         batch_size: int = 1, mask: bool = False) -> translate_lib.TranslateResult:
  """Edits image files (see the module docstring); failed files are listed, not raised."""
  if bool(attrs) == bool(each):
    raise ValueError('give either --attrs=NAME=1,... or --edit=each')
  if batch_size < 1:
    raise ValueError(f'batch_size must be >= 1, got {batch_size}')
  model = (translate_lib.open_model(model_dir) if isinstance(model_dir, (str, os.PathLike))
           else model_dir)
  sig, target_input, classifier, probabilities, mask_sig = editor_signatures(model)
  names = tuple(target_input.labels)
  changes = parse_attrs(attrs, names) if attrs else {}
  if mask and mask_sig is None:
    raise ValueError(f'--mask: {model.description} has no signature with the edit\'s mask')
  if mask:
    sig = mask_sig
  paths, output_dir = translate_lib.input_paths(inputs, output_dir)
  stems = translate_lib.output_names(paths)
  failures, sizes = {}, {}

  def run(items):
    pixels = np.stack([image for _, _, image in items])
    probs = model.call(classifier, {'images': translate_lib.to_float(pixels)})[probabilities.name]
    source = (np.asarray(probs) > 0.5).astype(np.float32)
    return probs, {key: model.images(sig, pixels, {target_input.name: target})
                   for key, target in _targets(source, names, changes, bool(each))}

  written, found = {}, {}
  for batch in translate_lib.batches(translate_lib.read_inputs(paths, failures), batch_size):
    for items, (probs, outputs) in translate_lib.run_batch(batch, run, failures, 'edit'):
      for j, (i, _, image) in enumerate(items):
        sizes[i] = translate_lib._size(image)  # pylint: disable=protected-access
        rel = {translate_lib.INPUTS_DIR: os.path.join(translate_lib.INPUTS_DIR,
                                                      stems[i] + '.png')}
        image_io.save_png(os.path.join(output_dir, rel[translate_lib.INPUTS_DIR]), image)
        for key, out in outputs.items():
          stem = stems[i] if key == translate_lib.OUTPUT_KEY else f'{stems[i]}__{key}'
          rel[key] = stem + '.png'
          image_io.save_png(os.path.join(output_dir, rel[key]), out['output'][j])
          if mask:
            rel[f'{key}__mask'] = f'{stem}__mask.png'
            image_io.save_png(os.path.join(output_dir, rel[f'{key}__mask']), out['mask'][j])
        written[i] = rel
        found[os.path.basename(paths[i])] = {n: round(float(v), 4)
                                             for n, v in zip(names, probs[j])}

  keys = [translate_lib.OUTPUT_KEY] if not each else list(names)
  columns = [c for k in keys for c in ([k, f'{k}__mask'] if mask else [k])]
  rows = []
  for i, p in enumerate(paths):
    source_name = os.path.basename(p)
    if i in failures:
      rows.append([(f'{source_name}: {failures[i]}', None)] + [('failed', None)] * len(columns))
      continue
    size = sizes[i]
    rows.append([(f'{source_name} ({size})', written[i][translate_lib.INPUTS_DIR])] +
                [(written[i][c], written[i][c]) for c in columns])
  header = ['input'] + [c.replace('__mask', ' mask') for c in columns]
  title = (f'--attrs={attrs}' if attrs else 'each attribute changed') + f': {model.description}'
  gallery = translate_lib.write_gallery(os.path.join(output_dir, translate_lib.GALLERY), rows,
                                        header=header, title=title)
  if found:
    with open(os.path.join(output_dir, 'attributes.json'), 'w', encoding='utf-8') as f:
      json.dump({'attributes': list(names), 'probabilities': found}, f, indent=1)
  outputs = [os.path.join(output_dir, written[i][k]) for i in sorted(written) for k in keys]
  return translate_lib.TranslateResult(model.description, outputs,
                                       [(paths[i], failures[i]) for i in sorted(failures)],
                                       gallery, translated=len(written))
