"""Attribute accuracy of edits: a classifier file read by tfi2i.evaluate (the reference one
trained by tfi2i.attribute_classifier, or the user's own) and the accuracy of its calls.

A classifier file is a Keras model (.keras or .h5) taking float32 images [N, H, W, 3] in
[-1, 1] and giving [N, m] scores. A JSON file next to it (FILE.keras.json; written by
tfi2i.attribute_classifier, optional for the user's own) says {"attributes": [m names in
output order], "output": "logits" or "probabilities"}; without it the outputs are read as
logits of the editor's attributes in the editor's order (m must equal their number).
Images are resized to the classifier's input size when it has a fixed one.
"""
import json
import os
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

OUTPUTS = ('logits', 'probabilities')


class Classifier:
  """A loaded classifier: `probabilities(images [N, H, W, 3] in [-1, 1])` -> [N, k] for the
  editor's k attributes, in the editor's order."""

  def __init__(self, model: keras.Model, names, wanted, output: str = 'logits',
               path: str = '', info: Optional[dict] = None):
    if output not in OUTPUTS:
      raise ValueError(f'classifier output must be one of {OUTPUTS}, got {output!r}')
    names, wanted = [str(n) for n in names], [str(w) for w in wanted]
    missing = [w for w in wanted if w not in names]
    if missing:
      raise ValueError(f'the classifier {path or model.name} has no attribute '
                       f'{", ".join(missing)}; it has: {", ".join(names)}')
    self.model, self.output, self.path = model, output, path
    self.columns = [names.index(w) for w in wanted]
    self.attributes = tuple(wanted)
    self.info = dict(info or {})
    shape = model.inputs[0].shape if getattr(model, 'inputs', None) else None
    self.size = (tuple(int(d) for d in shape[1:3])
                 if shape is not None and None not in tuple(shape[1:3]) else None)
    self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

  @property
  def name(self) -> str:
    return os.path.basename(self.path) if self.path else self.model.name

  def probabilities(self, images, batch_size: int = 64) -> np.ndarray:
    out = []
    for s in range(0, len(images), batch_size):
      x = tf.convert_to_tensor(np.asarray(images[s:s + batch_size], np.float32))
      if self.size is not None and tuple(x.shape[1:3]) != self.size:
        x = tf.image.resize(x, self.size, method='bilinear', antialias=True)
      y = np.asarray(self._call(x), np.float32)
      if y.ndim != 2:
        raise ValueError(f'the classifier {self.name} gives outputs of shape {y.shape}; '
                         'expected [N, attributes]')
      out.append(y)
    y = np.concatenate(out)[:, self.columns]
    return 1.0 / (1.0 + np.exp(-y)) if self.output == 'logits' else y

  def predict(self, images, batch_size: int = 64) -> np.ndarray:
    """{0, 1} [N, k]: P(attribute) > 1/2."""
    return (self.probabilities(images, batch_size) > 0.5).astype(np.float32)


def sidecar(path: str) -> str:
  return path + '.json'


def load(path: str, wanted) -> Classifier:
  """The classifier in `path` (see the module docstring), for the attributes `wanted`."""
  if not os.path.exists(path):
    raise FileNotFoundError(f'classifier file not found: {path}')
  try:
    model = keras.saving.load_model(path, compile=False)
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f'cannot load the classifier {path}: {type(e).__name__}: {e}') from e
  info = {}
  if os.path.isfile(sidecar(path)):
    with open(sidecar(path), encoding='utf-8') as f:
      try:
        info = json.load(f)
      except json.JSONDecodeError as e:
        raise ValueError(f'{sidecar(path)} is not JSON: {e}') from e
  names = info.get('attributes')
  if names is None:
    width = int(model.outputs[0].shape[-1])
    if width != len(wanted):
      raise ValueError(f'the classifier {path} gives {width} outputs and has no '
                       f'{os.path.basename(sidecar(path))} naming them; the editor has '
                       f'{len(wanted)} attributes ({", ".join(wanted)}): write '
                       '{"attributes": [...]} in that file')
    names = wanted
  return Classifier(model, names, wanted, info.get('output', 'logits'), path, info)


def accuracy(predicted, labels) -> np.ndarray:
  """Per attribute: the fraction of images where predicted == labels, [k]."""
  return np.mean(np.asarray(predicted) == np.asarray(labels), axis=0)
