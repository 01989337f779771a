"""Serves the trained demo and checks it end to end (after `make demo`): `make serve-demo`.

  .venv/bin/python serving/demo.py [--workdir=runs/demo] [--data=data/demo]

1. writes `WORKDIR/serving/models.config` for the demo's export (tfi2i.serving.config);
2. starts a model server with it on 127.0.0.1: `tensorflow_model_server` when it is on
   PATH, else tfi2i's development server (tfi2i.serving.devserver; same flags, same APIs),
   started by tfi2i.serving.launch;
3. translates DATA/testA (a_to_b) and DATA/testB (b_to_a) through tfi2i.serving.client
   over REST and over gRPC (PNGs to the _bytes signatures) and over gRPC with --float,
   into `WORKDIR/served/<how>/<direction>/`, and compares every PNG with tfi2i.translate's
   local translation with the served (newest) version, `WORKDIR/served/local/<direction>/`:
   identical, or one level apart on at most 0.1 % of the values (see the comment in main);
4. converts the export's float signatures to ONNX with the onnxruntime parity check.
Exits 1 if anything differs or fails.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

DIRECTIONS = (('a_to_b', 'testA'), ('b_to_a', 'testB'))


def _pngs(folder):
  return {n: np.asarray(Image.open(os.path.join(folder, n)))
          for n in sorted(os.listdir(folder)) if n.endswith('.png')}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--workdir', default='runs/demo')
  parser.add_argument('--data', default='data/demo')
  args = parser.parse_args()

  from tfi2i import export  # pylint: disable=import-outside-toplevel
  from tfi2i import translate  # pylint: disable=import-outside-toplevel
  from tfi2i import workdir as workdir_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.serving import client as client_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.serving import config as config_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.serving import launch  # pylint: disable=import-outside-toplevel

  workdir = os.path.abspath(args.workdir)
  export_base = workdir_lib.export_dir(workdir)
  if not export.existing_versions(export_base):
    print(f'no export in {export_base}: run `make demo` first', file=sys.stderr)
    return 1
  folder = os.path.join(workdir, 'serving')
  os.makedirs(folder, exist_ok=True)
  config_path = os.path.join(folder, 'models.config')
  config_lib.write_config({'demo': export_base}, config_path)
  kind = 'real' if launch.REAL_SERVER else 'devserver'
  print(f'1. {config_path} written; starting the {kind} server ...', flush=True)
  server = launch.Server(kind, config_path, ['demo'], os.path.join(folder, f'{kind}.log'))
  ok = True
  try:
    print(f'2. serving: gRPC {server.grpc_address}, REST {server.rest}', flush=True)
    for direction, split in DIRECTIONS:
      inputs = os.path.join(args.data, split)
      local = os.path.join(workdir, 'served', 'local', direction)
      translate.translate(export_base, inputs, local, direction)  # the version served
      expected = _pngs(local)
      for protocol, use_float in (('rest', False), ('grpc', False), ('grpc', True)):
        how = protocol + ('-float' if use_float else '')
        out = os.path.join(workdir, 'served', how, direction)
        status = client_lib.cli(server.address(protocol), 'demo', inputs, out,
                                signature=direction, grpc=protocol == 'grpc', float=use_float)
        got = _pngs(out)
        diffs = [np.abs(got[n].astype(int) - a.astype(int)) if n in got else None
                 for n, a in expected.items()]
        same = sum(d is not None and not d.any() for d in diffs)
        worst = max((int(d.max()) for d in diffs if d is not None), default=0)
        differing = sum(int((d > 0).sum()) for d in diffs if d is not None)
        total = sum(a.size for a in expected.values())
        print(f'   {how} {direction}: {same} of {len(expected)} outputs identical to the local '
              f'translation ({local}); max difference {worst} level(s), on {differing} of '
              f'{total} values', flush=True)
        # The _bytes signatures run the generator inside a map_fn, whose kernels may round
        # differently in the last float bit from the float signature's: one level at a
        # rounding tie is the most that can differ.
        ok = (ok and status == 0 and len(got) == len(expected)
              and all(d is not None for d in diffs)
              and worst <= 1 and differing <= total * 1e-3)
  finally:
    server.stop()
  print('3. ONNX:', flush=True)
  ok = export.cli(workdir, fmt='onnx') == 0 and ok
  print('all checks passed' if ok else 'SOME CHECKS FAILED', flush=True)
  return 0 if ok else 1


if __name__ == '__main__':
  sys.exit(main())
