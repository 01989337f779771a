"""Time the official PyTorch training step of one model (the reference `make bench` compares
tfi2i against). Run in its own venv with torch and numpy, never as a tfi2i dependency:

  python benchmarks/pytorch_reference/step.py MODEL SIZE STEPS [BATCH]

MODEL is one of MODELS below. Each model's module (written anew from the official code
named in its docstring) builds the official networks at SIZE px and returns one training
step (the same unit of work as tfi2i's train_step for that model: e.g. StarGAN's n_critic
critic updates and one generator update) and one generator inference call. Prints the
networks' parameter counts ('PARAMS name=count ...') and one RESULT line that
tfi2i.bench.parse_pytorch reads.
"""
import importlib
import os
import resource
import sys
import time

MODELS = ('cyclegan', 'pix2pix', 'bicyclegan', 'ugatit', 'ugatit_light', 'stargan', 'attgan',
          'stgan')
# the module that builds each model (ugatit_light is ugatit.build(..., light=True))
MODULES = {'ugatit_light': 'ugatit'}
# BATCH when not given: the official one where batch 1 cannot run (BicycleGAN halves it)
DEFAULT_BATCH = {'bicyclegan': 2}


def main(argv):
  if len(argv) not in (4, 5) or argv[1] not in MODELS:
    sys.exit(f'usage: {argv[0]} {{{"|".join(MODELS)}}} SIZE STEPS [BATCH]')
  model, size, steps = argv[1], int(argv[2]), int(argv[3])
  batch = int(argv[4]) if len(argv) == 5 else DEFAULT_BATCH.get(model, 1)
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  import torch  # pylint: disable=import-outside-toplevel
  torch.manual_seed(0)
  module = importlib.import_module(MODULES.get(model, model))
  kwargs = {'light': True} if model == 'ugatit_light' else {}
  ref = module.build(size, batch, **kwargs)
  print('PARAMS ' + ' '.join(f'{k}={v}' for k, v in ref.params.items()), flush=True)
  for _ in range(3):
    ref.step()
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    ref.step()
    times.append(time.perf_counter() - start)
  times.sort()
  with torch.no_grad():
    for _ in range(3):
      ref.infer()
    k, start = 10, time.perf_counter()
    for _ in range(k):
      ref.infer()
    infer = k * ref.infer_batch / (time.perf_counter() - start)
  rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  print(f'RESULT {model} {size}px batch {batch} torch {torch.__version__} threads '
        f'{torch.get_num_threads()} train s/iter median {times[len(times) // 2]:.3f} min '
        f'{times[0]:.3f} max {times[-1]:.3f} | G inference {infer:.2f} img/s | peak RSS '
        f'{rss:.0f} MB')


if __name__ == '__main__':
  main(sys.argv)
