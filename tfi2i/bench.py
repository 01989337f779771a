"""Training and inference speed of a recipe's model on synthetic images.

  python -m tfi2i.bench --recipe=recipes/cyclegan.py [--sizes=128,256] [--steps=10]
      [--precisions=float32,mixed_bfloat16] [--xla=off,on] [--set=model.img_size=128 ...]

Each setting runs in its own process (so peak memory is its own): it builds the model at
the recipe's configuration, runs `--warmup` train steps, then times `--steps` steps
(batch 1 unless --batch_size), and times generator inference. Prints one row per setting.
Run nothing else on the machine while it measures.

Side by side with the official PyTorch code (every model: issue 26):

  python -m tfi2i.bench --recipe=recipes/cyclegan.py --sizes=128 --xla=off \
      --compare-pytorch=.venv-torch/bin/python [--pytorch_reference=PATH] [--check]

PY (a Python with torch, in its own venv: `make torch-venv`; never a dependency of tfi2i)
runs the PyTorch reference step (--pytorch_reference, default
benchmarks/pytorch_reference/step.py: the official networks and one training step of the
same work as tfi2i's train_step, fp32, the same batch) for the same model and size, before
and after tfi2i's settings in the same run, so that both sides are measured on the same
machine in the same state. tfi2i's model is built at the reference's size and, where the
official PyTorch code's architecture differs from the code tfi2i ports, as close to it as
its settings go (`reference_overrides`). Each tfi2i row gets its ratio to the mean of the
two PyTorch runs: training s/step (lower is better) and generator inference img/s (higher is
better). Both sides print their parameter counts. With --check the command exits 1 when a
ratio misses its target (TARGETS: training step float32 <= 1.0x PyTorch's time; where the
machine has bfloat16 hardware (tfi2i/precision.py), mixed_bfloat16 <= 0.5x and bfloat16
generator inference >= 2x PyTorch eval's img/s; elsewhere bfloat16 is emulated and its rows
are printed without a target).
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
_PRECISIONS = flags.DEFINE_list('precisions', ['float32', 'mixed_bfloat16'], 'Keras dtype '
                                 "policies, or 'auto' (tfi2i/precision.py: mixed_bfloat16 "
                                 'where this machine has bfloat16 hardware, else float32).')
_XLA = flags.DEFINE_list('xla', ['off', 'on'], 'jit_compile of the train step: off, on.')
_STEPS = flags.DEFINE_integer('steps', 10, 'Timed train steps.')
_WARMUP = flags.DEFINE_integer('warmup', 3, 'Untimed steps first (tracing, allocation).')
_BATCH = flags.DEFINE_integer('batch_size', 1, 'Batch size.')
_CHILD = flags.DEFINE_string('child', None, 'Internal: run one setting "size,precision,xla".')
_COMPARE = flags.DEFINE_string('compare-pytorch', None, 'A Python with torch: time the PyTorch '
                               'reference for the same model and size before and after, and '
                               'print the ratios.')
_REFERENCE = flags.DEFINE_string(
    'pytorch_reference', None, 'The PyTorch reference step script (default '
    '../shared/bench/pytorch_reference_step.py beside the repository).')
_CHECK = flags.DEFINE_bool('check', False, 'With --compare-pytorch: exit 1 when a ratio '
                           'misses its target.')
_SET = flags.DEFINE_multi_string('set', [], 'KEY=VALUE recipe override (a Python literal or a '
                                 'string), e.g. --set=model.img_size=128 for the full U-GAT-IT '
                                 'at 128 px.')


# Side-by-side targets (issue 16): tfi2i s/step over PyTorch fp32's, at most; bfloat16
# generator inference img/s over PyTorch eval's, at least.
TARGETS = {'float32': 1.0, 'mixed_bfloat16': 0.5}
INFERENCE_TARGET = {'mixed_bfloat16': 2.0}
PYTORCH_MODELS = ('cyclegan', 'pix2pix', 'bicyclegan', 'ugatit', 'ugatit_light', 'stargan',
                  'attgan', 'stgan')


def reference_model(config) -> str:
  """The PyTorch reference's name for a recipe's model (U-GAT-IT light is its own)."""
  name = config.model.get('name')
  if name == 'ugatit' and config.model.get('light'):
    return 'ugatit_light'
  if name == 'bicyclegan' and config.model.get('variant') != 'bicycle':
    return f'bicyclegan variant {config.model.get("variant")!r}'  # the reference: the hybrid
  return name


def reference_overrides(model_name: str, size: int) -> list:
  """--set items that make tfi2i's recipe model do the reference's work at `size` px: the
  size the networks are built for, and where the official PyTorch code has another
  architecture than the code tfi2i ports, as much of it as tfi2i's model can take
  (BUILD_NOTES.md, "Side by side": what is left different)."""
  if model_name == 'pix2pix':  # the U-Net of this size, as the official options pick
    return [f'model.num_downs={8 if size >= 256 else 7}']
  if model_name == 'bicyclegan' and size < 256:  # the official 128 px networks
    return ['model.net_g=unet_128', 'model.net_e=resnet_128', 'model.net_d=basic_128_multi',
            'model.net_d2=basic_128_multi']
  if model_name in ('ugatit', 'ugatit_light'):
    return [f'model.img_size={size}']
  if model_name in ('stargan', 'attgan'):
    return [f'model.image_size={size}']
  if model_name == 'stgan':  # bluestyle97/STGAN-pytorch: 3 STUs, the difference not injected
    return [f'model.image_size={size}', 'model.shortcut_layers=3', 'model.inject_layers=0']
  return []


def default_reference() -> str:
  """benchmarks/pytorch_reference/step.py of this repository."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  return os.path.join(root, 'benchmarks', 'pytorch_reference', 'step.py')


def parse_pytorch(stdout: str) -> dict:
  """The reference's RESULT line -> {'s_per_step', 'infer_img_per_s', 'peak_rss_gb',
  'torch'}; ValueError without one."""
  import re  # pylint: disable=import-outside-toplevel
  line = next((l for l in stdout.splitlines() if l.startswith('RESULT ')), None)
  match = line and re.search(r'torch (\S+) .*train s/iter median ([\d.]+).*G inference '
                             r'([\d.]+) img/s.*peak RSS ([\d.]+) MB', line)
  if not match:
    raise ValueError(f'no RESULT line in the PyTorch reference\'s output: {stdout[-500:]!r}')
  return {'torch': match.group(1), 's_per_step': float(match.group(2)),
          'infer_img_per_s': float(match.group(3)),
          'peak_rss_gb': float(match.group(4)) / 1024}


def run_pytorch(python: str, script: str, model: str, size: int, steps: int,
                batch: int = 1) -> dict:
  cmd = [python, script, model, str(size), str(steps)] + ([str(batch)] if batch != 1 else [])
  out = subprocess.run(cmd, capture_output=True, text=True, check=False)
  if out.returncode:
    raise RuntimeError(f'{" ".join(cmd)} failed ({out.returncode}): '
                       f'{(out.stderr.strip().splitlines() or ["?"])[-1]}')
  result = parse_pytorch(out.stdout)
  params = next((l for l in out.stdout.splitlines() if l.startswith('PARAMS ')), '')
  result['params'] = dict(item.split('=') for item in params.split()[1:])
  return result


def compare(rows: list, before: dict, after: dict, bf16_native: bool = True) -> list:
  """rows (tfi2i results) with 'ratio' (s/step over PyTorch's mean) and 'infer_ratio'
  (img/s over PyTorch's mean), and 'misses': the targets each one misses."""
  step = (before['s_per_step'] + after['s_per_step']) / 2
  infer = (before['infer_img_per_s'] + after['infer_img_per_s']) / 2
  out = []
  for r in rows:
    r = dict(r, ratio=r['s_per_step'] / step, infer_ratio=r['infer_img_per_s'] / infer)
    misses = []
    if r['precision'] != 'float32' and not bf16_native:  # emulated: no target
      out.append(dict(r, misses=misses))
      continue
    target = TARGETS.get(r['precision'])
    if target is not None and r['ratio'] > target:
      misses.append(f'{r["precision"]} training step {r["ratio"]:.2f}x PyTorch > {target}x')
    target = INFERENCE_TARGET.get(r['precision'])
    if target is not None and r['infer_ratio'] < target:
      misses.append(f'{r["precision"]} inference {r["infer_ratio"]:.2f}x PyTorch < {target}x')
    out.append(dict(r, misses=misses))
  return out


def _overrides(items):
  from tfi2i import config as recipe_lib  # pylint: disable=import-outside-toplevel
  try:
    return recipe_lib.parse_overrides(items)
  except recipe_lib.RecipeError as e:
    raise app.UsageError(str(e)) from e


def _measure(recipe_path, size, precision, xla, steps, warmup, batch_size, overrides=None):
  import keras
  import numpy as np
  import tensorflow as tf

  from tfi2i import config as recipe_lib
  from tfi2i import precision as precision_lib
  from tfi2i.models import build_model
  from tfi2i.training.optimizers import make_optimizers

  config = recipe_lib.override(recipe_lib.load_recipe(recipe_path), overrides or {})
  precision = precision_lib.choose(precision).policy  # 'auto': what this machine runs best
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
          'peak_rss_gb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
          'params': {layer.name: int(layer.count_params()) for layer in model.layers
                     if layer.count_params()}}


def _run_child(size, precision, xla, overrides):
  """One setting in its own process: the result dict, or the error's last line (str)."""
  cmd = [sys.executable, '-m', 'tfi2i.bench', f'--recipe={_RECIPE.value}',
         f'--child={size},{precision},{xla}', f'--steps={_STEPS.value}',
         f'--warmup={_WARMUP.value}', f'--batch_size={_BATCH.value}',
         *[f'--set={item}' for item in overrides]]
  out = subprocess.run(cmd, capture_output=True, text=True, check=False)
  line = next((l for l in out.stdout.splitlines() if l.startswith('RESULT ')), None)
  if line is None:
    return (out.stderr.strip().splitlines() or ['?'])[-1]
  return json.loads(line[7:])


def _row(r, extra=''):
  xla = 'on' if r['xla'] else 'off'
  return (f'{r["size"]:>4} {r["precision"]:>15} {xla:>5} {r["s_per_step"]:8.3f} '
          f'{r["train_img_per_s"]:12.2f} {r["infer_img_per_s"]:12.2f} '
          f'{r["peak_rss_gb"]:12.2f}{extra}')


def _side_by_side(model_name) -> int:
  if model_name not in PYTORCH_MODELS:
    raise app.UsageError(f'--compare-pytorch: the PyTorch reference has {PYTORCH_MODELS}, not '
                         f'{model_name!r}')
  script = _REFERENCE.value or default_reference()
  if not os.path.isfile(script):
    raise app.UsageError(f'no PyTorch reference step at {script}: pass --pytorch_reference')
  from tfi2i import precision as precision_lib  # pylint: disable=import-outside-toplevel
  machine = precision_lib.choose('auto')  # whether the bfloat16 targets apply here
  print(f'side by side: {_RECIPE.value} ({model_name}) and {script}, batch {_BATCH.value}, '
        f'tfi2i {_WARMUP.value} warm-up + {_STEPS.value} timed steps, PyTorch 3 + '
        f'{_STEPS.value}, {os.cpu_count()} CPUs; {machine.line()}')
  print(f'{"px":>4} {"precision":>15} {"xla":>5} {"s/step":>8} {"train img/s":>12} '
        f'{"infer img/s":>12} {"peak RSS GB":>12} {"step ratio":>11} {"infer ratio":>12}')
  misses = []
  for size in _SIZES.value:
    size = int(size)
    overrides = reference_overrides(model_name, size) + list(_SET.value)
    before = run_pytorch(_COMPARE.value, script, model_name, size, _STEPS.value, _BATCH.value)
    print(f'PyTorch parameters: {before["params"]}')
    rows = []
    for precision in _PRECISIONS.value:
      for xla in _XLA.value:
        r = _run_child(size, precision, xla, overrides)
        if isinstance(r, str):
          print(f'{size:>4} {precision:>15} {xla:>5} failed: {r}', flush=True)
          misses.append(f'{size} px {precision}: failed')
          continue
        rows.append(r)
    after = run_pytorch(_COMPARE.value, script, model_name, size, _STEPS.value, _BATCH.value)
    for name, p in (('before', before), ('after', after)):
      print(f'{size:>4} {"torch " + p["torch"]:>15} {name:>5} {p["s_per_step"]:8.3f} '
            f'{1 / p["s_per_step"]:12.2f} {p["infer_img_per_s"]:12.2f} '
            f'{p["peak_rss_gb"]:12.2f} {"1":>11} {"1":>12}')
    native = machine.policy == 'mixed_bfloat16'
    for r in compare(rows, before, after, bf16_native=native):
      print(_row(r, f' {r["ratio"]:10.2f}x {r["infer_ratio"]:11.2f}x'), flush=True)
      misses += [f'{size} px: {m}' for m in r['misses']]
    if rows:
      print(f'tfi2i parameters: {rows[0].get("params")}')
  if misses:
    print('targets missed:\n  ' + '\n  '.join(misses))
  else:
    print('every target met')
  return 1 if (_CHECK.value and misses) else 0


def main(argv):
  del argv
  if _CHILD.value:
    size, precision, xla = _CHILD.value.split(',')
    result = _measure(_RECIPE.value, int(size), precision, xla == 'on', _STEPS.value,
                      _WARMUP.value, _BATCH.value, _overrides(_SET.value))
    print('RESULT ' + json.dumps(result))
    return 0
  if _COMPARE.value:
    from tfi2i import config as recipe_lib  # pylint: disable=import-outside-toplevel
    config = recipe_lib.override(recipe_lib.load_recipe(_RECIPE.value), _overrides(_SET.value))
    return _side_by_side(reference_model(config))
  if _CHECK.value:
    raise app.UsageError('--check needs --compare-pytorch')
  print(f'recipe {_RECIPE.value} {" ".join(_SET.value)}, batch {_BATCH.value}, {_WARMUP.value} '
        f'warm-up + {_STEPS.value} timed steps, {os.cpu_count()} CPUs')
  print(f'{"px":>4} {"precision":>15} {"xla":>5} {"s/step":>8} {"train img/s":>12} '
        f'{"infer img/s":>12} {"peak RSS GB":>12}')
  for size in _SIZES.value:
    for precision in _PRECISIONS.value:
      for xla in _XLA.value:
        r = _run_child(size, precision, xla, _SET.value)
        if isinstance(r, str):
          print(f'{size:>4} {precision:>15} {xla:>5} failed: {r}')
          continue
        print(_row(r), flush=True)
  return 0


if __name__ == '__main__':
  app.run(main)
