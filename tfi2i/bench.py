"""Training and inference speed of a recipe's model on synthetic images.

  python -m tfi2i.bench --recipe=recipes/cyclegan.py [--sizes=128,256] [--steps=10]
      [--precisions=float32,mixed_bfloat16] [--xla=off,on] [--set=model.img_size=128 ...]

Each setting runs in its own process (so peak memory is its own): it builds the model at
the recipe's configuration, runs `--warmup` train steps, then times `--steps` steps
(batch 1 unless --batch_size), and times generator inference. Prints one row per setting.
Run nothing else on the machine while it measures.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from absl import app
from absl import flags

_RECIPE = flags.DEFINE_string('recipe', 'recipes/cyclegan.py', 'Recipe file.')
_SIZES = flags.DEFINE_list('sizes', ['128', '256'], 'Square image sizes.')
_PRECISIONS = flags.DEFINE_list('precisions', ['float32', 'mixed_bfloat16'], 'Keras dtype policies.')
_XLA = flags.DEFINE_list('xla', ['off', 'on'], 'jit_compile of the train step: off, on.')
_STEPS = flags.DEFINE_integer('steps', 10, 'Timed train steps.')
_WARMUP = flags.DEFINE_integer('warmup', 3, 'Untimed steps first (tracing, allocation).')
_BATCH = flags.DEFINE_integer('batch_size', 1, 'Batch size.')
_CHILD = flags.DEFINE_string('child', None, 'Internal: run one setting "size,precision,xla".')
_SET = flags.DEFINE_multi_string('set', [], 'KEY=VALUE recipe override (a Python literal or a '
                                 'string), e.g. --set=model.img_size=128 for the full U-GAT-IT '
                                 'at 128 px.')


def _overrides(items):
  import ast  # pylint: disable=import-outside-toplevel
  values = {}
  for item in items:
    key, sep, text = item.partition('=')
    if not sep:
      raise app.UsageError(f'--set={item}: expected KEY=VALUE')
    try:
      values[key] = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      values[key] = text
  return values


def _measure(recipe_path, size, precision, xla, steps, warmup, batch_size, overrides=None):
  import keras
  import numpy as np
  import tensorflow as tf

  from tfi2i import config as recipe_lib
  from tfi2i.models import build_model
  from tfi2i.training.optimizers import make_optimizers

  config = recipe_lib.override(recipe_lib.load_recipe(recipe_path), overrides or {})
  keras.mixed_precision.set_global_policy(precision)
  keras.utils.set_random_seed(0)
  model = build_model(config)
  model.compile(**make_optimizers(model, config, steps_per_epoch=1000, total_steps=10**6,
                                  precision=precision))
  rng = np.random.default_rng(0)
  # the model's own batch structure, filled with uniform noise in [-1, 1]
  batches = [{k: tf.constant(rng.uniform(-1, 1, v.shape).astype(v.dtype.as_numpy_dtype))
              for k, v in model.example_batch(batch_size, size, size).items()}
             for _ in range(model.batches_per_step)]
  model.build_for_training(batches[0])
  batch = batches[0] if len(batches) == 1 else tuple(batches)
  step = tf.function(model.train_step, jit_compile=xla)
  for _ in range(warmup):
    step(batch)
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    logs = step(batch)
    float(next(iter(logs.values())))
    times.append(time.perf_counter() - start)
  # inference: the model's first exported function, its other inputs zeros
  endpoint = next(iter(model.endpoints().values()))
  extra = model.placeholder_inputs(endpoint, 1)
  infer = tf.function(lambda x: endpoint.fn(x, **extra), jit_compile=xla)
  x = batches[0][next(iter(batches[0]))][:1]
  for _ in range(2):
    tf.nest.map_structure(np.asarray, infer(x))
  n, start = max(steps, 5), time.perf_counter()
  for _ in range(n):
    tf.nest.map_structure(np.asarray, infer(x))
  infer_ips = n / (time.perf_counter() - start)
  s_per_step = statistics.median(times)
  return {'size': size, 'precision': precision, 'xla': xla, 'batch_size': batch_size,
          's_per_step': s_per_step, 'train_img_per_s': batch_size / s_per_step,
          'infer_img_per_s': infer_ips,
          'peak_rss_gb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}


def main(argv):
  del argv
  if _CHILD.value:
    size, precision, xla = _CHILD.value.split(',')
    result = _measure(_RECIPE.value, int(size), precision, xla == 'on', _STEPS.value,
                      _WARMUP.value, _BATCH.value, _overrides(_SET.value))
    print('RESULT ' + json.dumps(result))
    return
  print(f'recipe {_RECIPE.value} {" ".join(_SET.value)}, batch {_BATCH.value}, {_WARMUP.value} '
        f'warm-up + {_STEPS.value} timed steps, {os.cpu_count()} CPUs')
  print(f'{"px":>4} {"precision":>15} {"xla":>4} {"s/step":>8} {"train img/s":>12} '
        f'{"infer img/s":>12} {"peak RSS GB":>12}')
  for size in _SIZES.value:
    for precision in _PRECISIONS.value:
      for xla in _XLA.value:
        cmd = [sys.executable, '-m', 'tfi2i.bench', f'--recipe={_RECIPE.value}',
               f'--child={size},{precision},{xla}', f'--steps={_STEPS.value}',
               f'--warmup={_WARMUP.value}', f'--batch_size={_BATCH.value}',
               *[f'--set={item}' for item in _SET.value]]
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = next((l for l in out.stdout.splitlines() if l.startswith('RESULT ')), None)
        if line is None:
          tail = (out.stderr.strip().splitlines() or ['?'])[-1]
          print(f'{size:>4} {precision:>15} {xla:>4} failed: {tail}')
          continue
        r = json.loads(line[7:])
        print(f'{size:>4} {precision:>15} {xla:>4} {r["s_per_step"]:8.3f} '
              f'{r["train_img_per_s"]:12.2f} {r["infer_img_per_s"]:12.2f} {r["peak_rss_gb"]:12.2f}',
              flush=True)


if __name__ == '__main__':
  app.run(main)
