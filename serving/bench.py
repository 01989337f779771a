"""Inference throughput of an export: SavedModel, ONNX Runtime, and a model server over
REST and gRPC, next to the official PyTorch generator's eval speed.

  .venv/bin/python serving/bench.py [--recipe=recipes/cyclegan.py | --workdir=DIR]
      [--size=256] [--requests=10] [--warmup=2] [--server=devserver|real]

--recipe builds the recipe's model with its initial weights (speed does not depend on the
weights); --workdir restores its latest checkpoint. The model is exported to a temporary
folder, then each way of running it translates the same random image (batch 1) `--warmup`
times untimed and `--requests` times timed, one request after the other. The server
(started by tfi2i.serving.launch) is tfi2i's development server (tfi2i.serving.devserver,
which runs the SavedModel in a Python process) or, with --server=real,
`tensorflow_model_server` from PATH; the client is tfi2i.serving.client in this process.
Run nothing else on the machine while it measures.
"""
import argparse
import io
import os
import statistics
import tempfile
import time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Official PyTorch generators, eval mode, batch 1, fp32, 2 threads, on this machine kind
# (../shared/bench/README.md; images/s).
PYTORCH_EVAL = {('cyclegan', 128): 6.9, ('cyclegan', 256): 1.9,
                ('pix2pix', 128): 14.6, ('pix2pix', 256): 9.8}  # by recipe model.name


def _timed(fn, warmup, n):
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(n):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return times


def _row(name, times, note=''):
  ms = 1000 * statistics.median(times)
  print(f'{name:<34} {len(times) / sum(times):8.2f} {ms:10.1f}  {note}', flush=True)


def _build(args):
  import keras  # pylint: disable=import-outside-toplevel
  from tfi2i import config as recipe_lib  # pylint: disable=import-outside-toplevel
  from tfi2i import restore as restore_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.models import build_model  # pylint: disable=import-outside-toplevel
  mode = 'eval' if args.eval_mode else None
  if args.workdir:
    model, _, step, _ = restore_lib.restore_model(args.workdir, mode=mode,
                                                  precision=args.precision)
    return model, f'{args.workdir} (step {step})'
  keras.mixed_precision.set_global_policy(args.precision)
  keras.utils.set_random_seed(0)
  config = recipe_lib.load_recipe(os.path.join(ROOT, args.recipe) if not os.path.isabs(
      args.recipe) else args.recipe)
  model = build_model(config, mode=mode)
  model.build_endpoints()
  return model, f'{args.recipe} (initial weights)'


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--recipe', default='recipes/cyclegan.py')
  parser.add_argument('--workdir')
  parser.add_argument('--size', type=int, default=256)
  parser.add_argument('--requests', type=int, default=10)
  parser.add_argument('--warmup', type=int, default=2)
  parser.add_argument('--server', choices=['devserver', 'real'], default='devserver')
  parser.add_argument('--signature', default=None, help='Endpoint (default: the first).')
  parser.add_argument('--precision', default='float32', choices=['float32', 'mixed_bfloat16'],
                      help='Compute precision of the export (tfi2i.export --precision).')
  parser.add_argument('--eval_mode', action='store_true',
                      help='pix2pix: the official --eval test mode (needed for ONNX).')
  args = parser.parse_args()

  import onnxruntime as ort  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfi2i import export  # pylint: disable=import-outside-toplevel
  from tfi2i import onnx_export  # pylint: disable=import-outside-toplevel
  from tfi2i.serving import client as client_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.serving import config as config_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.serving import launch  # pylint: disable=import-outside-toplevel

  model, source = _build(args)
  name = args.signature or next(iter(model.endpoints()))
  work = tempfile.mkdtemp(prefix='tfi2i-bench-serving-')
  base = os.path.join(work, 'export')
  start = time.perf_counter()
  path = export.export_model(model, base)
  print(f'model: {type(model).__name__} from {source}; {args.precision}; endpoint {name}; '
        f'{args.size}x{args.size}, batch 1; export {time.perf_counter() - start:.0f} s')

  rng = np.random.default_rng(0)
  image = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
  x = (image[None].astype(np.float32) / 127.5 - 1.0)
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, format='PNG', compress_level=1)
  png = buf.getvalue()
  n, warmup = args.requests, args.warmup

  print(f'{"how":<34} {"img/s":>8} {"median ms":>10}')
  reference = PYTORCH_EVAL.get((model.name, args.size))
  if reference:
    print(f'{"PyTorch official eval (reference)":<34} {reference:8.2f} {1000 / reference:10.1f}'
          '  ../shared/bench/README.md')
  loaded = tf.saved_model.load(path)
  float_sig, bytes_sig = loaded.signatures[name], loaded.signatures[name + '_bytes']
  tx, tpng = tf.constant(x), tf.constant([png])
  _row('SavedModel float (in process)', _timed(lambda: float_sig(images=tx)['output'].numpy(),
                                                warmup, n))
  _row('SavedModel bytes (in process)', _timed(
      lambda: bytes_sig(images=tpng)['output_bytes'].numpy(), warmup, n), 'PNG in and out')

  try:
    if args.precision != 'float32':
      raise onnx_export.OnnxExportError('ONNX export converts float32 exports only', {})
    report = onnx_export.export_onnx(path, signatures=[name])
  except onnx_export.OnnxExportError as e:
    print(f'{"ONNX Runtime float":<34} {"-":>8} {"-":>10}  not convertible: '
          f'{str(e)[-160:]}', flush=True)
  else:
    onnx_path = report['converted'][name]['path']
    session = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    _row('ONNX Runtime float', _timed(lambda: session.run(None, {'images': x}), warmup, n),
         f'max abs diff vs SavedModel {report["converted"][name]["max_abs_diff"]:.1e}')
    del session
  del loaded, float_sig, bytes_sig

  config_path = os.path.join(work, 'models.config')
  config_lib.write_config({'bench': base}, config_path)
  server = launch.Server(args.server, config_path, ['bench'], os.path.join(work, 'server.log'))
  try:
    for protocol in ('rest', 'grpc'):
      with client_lib.Client(server.address(protocol), 'bench', protocol=protocol,
                             timeout=600) as client:
        _timed(lambda: client.predict(name + '_bytes', {'images': [png]}), warmup, 0)
        client.latencies.clear()
        _timed(lambda: client.predict(name + '_bytes', {'images': [png]}), 0, n)
        _row(f'{args.server} {protocol.upper()} bytes', client.latencies,
             'PNG as base64 JSON' if protocol == 'rest' else 'PNG as a string tensor')
        _timed(lambda: client.predict(name, {'images': x}), warmup, 0)
        client.latencies.clear()
        _timed(lambda: client.predict(name, {'images': x}), 0, n)
        _row(f'{args.server} {protocol.upper()} float', client.latencies,
             'JSON numbers' if protocol == 'rest' else 'TensorProto')
  finally:
    server.stop()


if __name__ == '__main__':
  main()
