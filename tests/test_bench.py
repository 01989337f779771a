"""tfi2i.bench side by side with the PyTorch reference (issue 16): the reference's output is
parsed, each tfi2i row gets its ratios, and --check fails on a missed target. The
reference is a stand-in script here (torch is not a dependency); timings are not tested."""
import os
import subprocess
import sys

import pytest

from tfi2i import bench

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = ('RESULT cyclegan 128px torch 2.14.1 threads 2 train s/iter median 3.006 min 2.950 '
        'max 3.100 | G inference 7.03 img/s | peak RSS 1843 MB')


def test_parse_the_reference_line():
  got = bench.parse_pytorch('params G 11378179 D 2764737\n' + LINE + '\n')
  assert got == {'torch': '2.14.1', 's_per_step': 3.006, 'infer_img_per_s': 7.03,
                 'peak_rss_gb': pytest.approx(1843 / 1024)}
  with pytest.raises(ValueError, match='no RESULT line'):
    bench.parse_pytorch('Traceback ...')


def test_ratios_and_targets():
  before = {'s_per_step': 3.0, 'infer_img_per_s': 7.0}
  after = {'s_per_step': 3.2, 'infer_img_per_s': 6.0}
  rows = [{'precision': 'float32', 's_per_step': 3.1, 'infer_img_per_s': 6.5},
          {'precision': 'mixed_bfloat16', 's_per_step': 1.86, 'infer_img_per_s': 10.4}]
  fp32, bf16 = bench.compare(rows, before, after)
  assert fp32['ratio'] == pytest.approx(1.0) and fp32['misses'] == []
  assert fp32['infer_ratio'] == pytest.approx(1.0)
  assert bf16['ratio'] == pytest.approx(0.6)
  assert bf16['misses'] == ['mixed_bfloat16 training step 0.60x PyTorch > 0.5x',
                            'mixed_bfloat16 inference 1.60x PyTorch < 2.0x']
  slow = [dict(rows[0], s_per_step=3.2)]
  assert bench.compare(slow, before, after)[0]['misses'] == [
      'float32 training step 1.03x PyTorch > 1.0x']
  # a CPU without bfloat16 hardware emulates it: its rows carry no target
  fp32, bf16 = bench.compare(rows, before, after, bf16_native=False)
  assert bf16['ratio'] == pytest.approx(0.6) and bf16['misses'] == []


@pytest.mark.parametrize('model, size, want', [
    ('pix2pix', 128, ['model.num_downs=7']), ('pix2pix', 256, ['model.num_downs=8']),
    ('stgan', 64, ['model.image_size=64', 'model.shortcut_layers=3', 'model.inject_layers=0']),
    ('ugatit_light', 128, ['model.img_size=128']), ('ugatit', 96, ['model.img_size=96']), ('cyclegan', 128, [])])
def test_reference_overrides_build_the_references_networks(model, size, want):
  assert bench.reference_overrides(model, size) == want


def test_every_model_has_a_reference_module():
  step = os.path.join(REPO, 'benchmarks', 'pytorch_reference', 'step.py')
  assert bench.default_reference() == step and os.path.isfile(step)
  modules = {'ugatit_light': 'ugatit'}
  for model in bench.PYTORCH_MODELS:
    name = modules.get(model, model)
    path = os.path.join(REPO, 'benchmarks', 'pytorch_reference', f'{name}.py')
    assert os.path.isfile(path), path
    assert 'def build(' in open(path, encoding='utf-8').read()


def _fake_reference(tmp_path, seconds):
  path = tmp_path / 'reference.py'
  path.write_text(
      'import sys\n'
      'model, size, n = sys.argv[1], sys.argv[2], sys.argv[3]\n'
      f'print(f"RESULT {{model}} {{size}}px torch 0.fake threads 2 train s/iter median '
      f'{seconds} min 1 max 1 | G inference 1.00 img/s | peak RSS 100 MB")\n')
  return str(path)


@pytest.mark.parametrize('seconds, code, precisions', [
    (1000.0, 0, 'float32'),
    # float32's miss counts though another row follows it (bfloat16: no target on a CPU
    # without it)
    (0.0001, 1, 'float32,mixed_bfloat16')])
def test_side_by_side_command_and_check(tmp_path, seconds, code, precisions):
  cmd = [sys.executable, '-m', 'tfi2i.bench', '--recipe=recipes/cyclegan.py', '--sizes=32',
         f'--precisions={precisions}', '--xla=off', '--steps=1', '--warmup=1',
         f'--compare-pytorch={sys.executable}',
         f'--pytorch_reference={_fake_reference(tmp_path, seconds)}', '--check',
         # wide enough that the printed s/step (3 decimals) carries its ratio to 2 %
         '--set=model.ngf=16', '--set=model.ndf=8', '--set=model.n_blocks=1']
  out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
  assert out.returncode == code, out.stdout[-2000:] + out.stderr[-2000:]
  assert 'torch 0.fake' in out.stdout and 'step ratio' in out.stdout
  row = next(l for l in out.stdout.splitlines() if l.strip().startswith('32') and 'float32' in l)
  ratio = float(row.split()[-2].rstrip('x'))
  seconds_per_step = float(row.split()[3])
  assert ratio == pytest.approx(seconds_per_step / seconds, rel=0.02, abs=0.01)
  assert ('targets missed' in out.stdout) == (code == 1)
  assert ('32 px: float32 training step' in out.stdout) == (code == 1)


def test_compare_needs_a_reference_model(tmp_path):
  run = lambda recipe, script: subprocess.run(
      [sys.executable, '-m', 'tfi2i.bench', f'--recipe=recipes/{recipe}.py',
       f'--compare-pytorch={sys.executable}', f'--pytorch_reference={script}'],
      capture_output=True, text=True, cwd=REPO, timeout=600)
  out = run('cvae_gan', bench.default_reference())
  assert out.returncode != 0 and "not \"bicyclegan variant 'cvae_gan'\"" in out.stdout + out.stderr
  out = run('stargan', f'{tmp_path}/x.py')
  assert out.returncode != 0 and f'no PyTorch reference step at {tmp_path}/x.py' in (
      out.stdout + out.stderr)
