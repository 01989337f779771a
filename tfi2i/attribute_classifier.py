"""An attribute classifier for scoring attribute edits: trained by tfi2i on an editor's data,
or the user's own.

  python -m tfi2i.attribute_classifier --workdir=EDITOR_WORKDIR [--output=FILE.keras] \
      [--steps=3000] [--batch_size=32] [--lr=1e-3] [--widths=32,64,128,256] [--seed=0]
  python -m tfi2i.evaluate --workdir=EDITOR_WORKDIR --classifier=FILE.keras

Attribute accuracy (the AttGAN / STGAN protocol; paper 001 reports it through its editors'
classifiers): for each test image and each attribute, the editor changes that attribute
(as tfi2i.evaluate's edits), a classifier trained on real images reads the edit, and the
edit counts as right when the classifier's call on that attribute is the target value.

Training here reads the editor's recipe (WORKDIR/recipe.json): its attribute data, train
split, preprocessing and flips, so the classifier sees what the editor saw, at the editor's
image size. The network: `len(widths)` stages of two 3x3 convolutions (stride 1, then 2),
each with batch norm (moving averages with momentum 0.9, PyTorch's 0.1) and ReLU, global
average pooling and a linear layer to one logit per attribute; sigmoid cross-entropy, Adam. It is a plain reference classifier, not a paper's:
its accuracy on the real test images is measured and written next to it, and
tfi2i.evaluate reports it with every score so a weak classifier is seen as one.

The classifier file (a Keras model and FILE.keras.json naming its outputs) and the
accuracy of its calls are tfi2i.metrics.attribute_accuracy's, which tfi2i.evaluate reads.
"""
import json
import os
import sys
import time
from typing import Optional

from absl import flags
import keras
import numpy as np

import tfi2i
from tfi2i import attribute_rules
from tfi2i import cli as cli_lib
from tfi2i import config as recipe_lib
from tfi2i import evaluate
from tfi2i import workdir as workdir_lib
from tfi2i.data import attributes as attributes_lib
from tfi2i.data import streams
from tfi2i.data.images import DataError
from tfi2i.metrics import attribute_accuracy

DEFAULT_WIDTHS = (32, 64, 128, 256)
DEFAULT_STEPS = 3000
FILENAME = 'attribute_classifier.keras'


def build(n_attributes: int, image_size: int, widths=DEFAULT_WIDTHS) -> keras.Model:
  """The reference classifier (see the module docstring): images -> [N, k] logits."""
  if not widths:
    raise ValueError('widths must name at least one stage')
  inputs = keras.Input((image_size, image_size, 3), name='images')
  x = inputs
  for i, width in enumerate(widths):
    for j, stride in enumerate((1, 2)):
      x = keras.layers.Conv2D(int(width), 3, strides=stride, padding='same', use_bias=False,
                              name=f'stage{i}_conv{j}')(x)
      x = keras.layers.BatchNormalization(momentum=0.9, name=f'stage{i}_bn{j}')(x)
      x = keras.layers.ReLU(name=f'stage{i}_relu{j}')(x)
  x = keras.layers.GlobalAveragePooling2D(name='pool')(x)
  outputs = keras.layers.Dense(int(n_attributes), name='logits')(x)
  return keras.Model(inputs, outputs, name='attribute_classifier')


def test_accuracy(classifier: attribute_accuracy.Classifier, data_cfg, batch_size: int = 64,
                  max_images: Optional[int] = None) -> dict:
  """The classifier's accuracy on the real images of the test split: {attribute: acc,
  'mean', 'num_images'}."""
  data = streams.stream('attributes').evaluation(data_cfg, 'test')
  transform = evaluate.eval_transform(data_cfg)
  n = len(data.names) if max_images is None else min(len(data.names), int(max_images))
  preds = []
  for s in range(0, n, batch_size):
    x = np.stack([transform(data.load(i)[0]) for i in range(s, min(n, s + batch_size))])
    preds.append(classifier.predict(x))
  acc = attribute_accuracy.accuracy(np.concatenate(preds), data.attributes[:n])
  out = {a: float(v) for a, v in zip(data.attribute_names, acc)}
  out.update(mean=float(np.mean(acc)), num_images=int(n))
  return out


def train(workdir: str, output: str = '', steps: int = DEFAULT_STEPS, batch_size: int = 32,
          lr: float = 1e-3, widths=DEFAULT_WIDTHS, seed: int = 0) -> dict:
  """Trains the reference classifier on the data of WORKDIR's recipe; writes `output`
  (default WORKDIR/eval/attribute_classifier.keras) and its JSON; returns the JSON."""
  start = time.time()
  if int(steps) < 1 or int(batch_size) < 1:
    raise ValueError(f'steps and batch_size must be >= 1, got {steps} and {batch_size}')
  config = recipe_lib.load_workdir_recipe(workdir)
  if 'attributes' not in config.data:
    raise ValueError(f'the recipe of {workdir} has no attribute data (data.attributes): an '
                     'attribute classifier is trained on an attribute editor\'s data')
  output = output or os.path.join(workdir_lib.eval_dir(workdir), FILENAME)
  if not output.endswith('.keras'):
    raise ValueError(f'--output must end in .keras, got {output}')
  names = tuple(config.data.attributes) or attribute_rules.PAPER_ATTRIBUTES
  size = int(config.data.crop_size)
  keras.utils.set_random_seed(int(seed))
  ds, info = attributes_lib.attribute_dataset(config.data, batch_size=int(batch_size),
                                              seed=int(seed), split='train')
  ds = ds.map(lambda b: (b['image'], b['attributes'])).take(int(steps))
  model = build(len(names), size, widths)
  model.compile(optimizer=keras.optimizers.Adam(float(lr)),
                loss=keras.losses.BinaryCrossentropy(from_logits=True),
                metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name='accuracy')])
  history = model.fit(ds, epochs=1, steps_per_epoch=int(steps), verbose=2, shuffle=False)
  result = {
      'attributes': list(names),
      'output': 'logits',
      'image_size': size,
      'architecture': f'tfi2i.attribute_classifier.build(widths={list(widths)})',
      'data': info.source,
      'train': {'steps': int(steps), 'batch_size': int(batch_size), 'lr': float(lr),
                'seed': int(seed), 'final_loss': float(history.history['loss'][-1])},
  }
  classifier = attribute_accuracy.Classifier(model, names, names, 'logits', output)
  result['test_accuracy'] = test_accuracy(classifier, config.data)
  result['seconds'] = round(time.time() - start, 1)
  result['tfi2i'] = tfi2i.__version__
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  tmp = output[:-len('.keras')] + '.tmp.keras'
  model.save(tmp)
  os.replace(tmp, output)
  workdir_lib.atomic_write(attribute_accuracy.sidecar(output),
                           json.dumps(result, indent=2) + '\n')
  return result


def cli(workdir: str, output: str = '', steps: int = DEFAULT_STEPS, batch_size: int = 32,
        lr: float = 1e-3, widths=DEFAULT_WIDTHS, seed: int = 0) -> int:
  try:
    result = train(workdir, output, steps, batch_size, lr, [int(w) for w in widths], seed)
  except (DataError, recipe_lib.RecipeError, FileNotFoundError, ValueError) as e:
    print(f'training an attribute classifier for {workdir} failed: {e}', file=sys.stderr)
    return 1
  print(json.dumps(result, indent=2))
  return 0


def _define_flags():
  return dict(
      workdir=flags.DEFINE_string('workdir', None, "An attribute editor's workdir: its "
                                  'recipe.json names the data.', required=True),
      output=flags.DEFINE_string('output', '', f'Where to write (default WORKDIR/eval/{FILENAME}).'),
      steps=flags.DEFINE_integer('steps', DEFAULT_STEPS, 'Training steps.'),
      batch_size=flags.DEFINE_integer('batch_size', 32, 'Images per step.'),
      lr=flags.DEFINE_float('lr', 1e-3, 'Adam learning rate.'),
      widths=flags.DEFINE_list('widths', [str(w) for w in DEFAULT_WIDTHS],
                               'Channels of each stage.'),
      seed=flags.DEFINE_integer('seed', 0, 'Seeds the weights and the data order.'))


if __name__ == '__main__':
  cli_lib.run(_define_flags, cli)
