"""The training command end to end on tiny data: checkpoints, events, export, resume,
NaN guard, Ctrl-C, MirroredStrategy equivalence."""
import glob
import os
import signal
import subprocess
import sys
import threading
import time

from conftest import free_ports
import numpy as np
import pytest
import tensorflow as tf

from tfi2i import config as recipe_lib
from tfi2i import workdir as workdir_lib
from tfi2i.training import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CYCLEGAN = os.path.join(ROOT, 'recipes', 'cyclegan.py')

TINY = {
    'model.ngf': 4, 'model.ndf': 4, 'model.n_blocks': 1, 'loss.pool_size': 3,
    'data.preprocess': 'resize_and_crop', 'data.load_size': 36, 'data.crop_size': 32,
    'train.batch_size': 2, 'train.steps': 4, 'train.log_every': 1, 'train.image_every': 2,
    'train.checkpoint_every': 2, 'export.at_end': False,
}


def tiny_recipe(root, **more):
  return recipe_lib.override(recipe_lib.load_recipe(CYCLEGAN),
                             {**TINY, 'data.root': root, **more})


def _ckpt_values(workdir, step=None):
  path = tf.train.latest_checkpoint(os.path.join(workdir, 'checkpoints'))
  if step is not None:
    path = os.path.join(workdir, 'checkpoints', f'ckpt-{step}')
  reader = tf.train.load_checkpoint(path)
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if not k.startswith('_CHECKPOINTABLE') and 'save_counter' not in k}


def _event_tags(workdir):
  scalars, images = set(), set()
  for path in glob.glob(os.path.join(workdir, 'train', 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        kind = value.metadata.plugin_data.plugin_name
        (images if kind == 'images' else scalars).add(value.tag)
  return scalars, images


@pytest.fixture
def tiny_root(make_image_folder, tmp_path):
  for rel, n, seed in (('trainA', 5, 1), ('trainB', 3, 2), ('testA', 2, 3), ('testB', 2, 4)):
    make_image_folder(os.path.join('data', rel), n, size=(40, 44), seed=seed)
  return str(tmp_path / 'data')


def test_a_relative_workdir_resumes_and_exports(tiny_root, tmp_path, monkeypatch, capsys):
  """`make demo` passes --workdir=runs/demo: its checkpoints must be found again (the index
  holds paths relative to checkpoints/), by a resume and by the export at the end."""
  monkeypatch.chdir(tmp_path)
  recipe = tiny_recipe(tiny_root, **{'train.steps': 2, 'export.at_end': True})
  assert loop.train(recipe, 'run', stop_at=1).step == 1
  assert workdir_lib.checkpoint_paths('run') == [os.path.join('run', 'checkpoints', 'ckpt-1')]
  capsys.readouterr()
  result = loop.train(recipe, 'run')
  assert 'Resuming from run/checkpoints/ckpt-1 at step 1.' in capsys.readouterr().out
  assert result.step == 2 and result.export_dir == str(tmp_path / 'run' / 'export' / '1')
  assert os.path.isfile(os.path.join(tmp_path, 'run', 'export', '1', 'saved_model.pb'))


def test_train_writes_checkpoints_events_and_export(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  result = loop.train(tiny_recipe(tiny_root, **{'export.at_end': True}), workdir)
  assert (result.step, result.total_steps) == (4, 4)
  assert all(np.isfinite(v) for v in result.logs.values())
  assert os.path.isfile(os.path.join(workdir, 'recipe.json'))
  assert recipe_lib.load_workdir_recipe(workdir).model.ngf == 4
  assert sorted(os.path.basename(p) for p in glob.glob(f'{workdir}/checkpoints/ckpt-*.index')) == [
      'ckpt-2.index', 'ckpt-4.index']
  scalars, images = _event_tags(workdir)
  assert {'loss/cycle_a', 'loss/disc_b', 'loss/gen_total', 'learning_rate/g_optimizer'} <= scalars
  assert {'a_to_b', 'b_to_a'} <= images
  assert result.export_dir == os.path.join(workdir, 'export', '1')
  assert os.path.isfile(os.path.join(result.export_dir, 'saved_model.pb'))


def test_epochs_define_the_default_length(tiny_root, tmp_path):
  config = tiny_recipe(tiny_root, **{'train.steps': 0, 'schedule.n_epochs': 1,
                                     'schedule.n_epochs_decay': 1, 'train.checkpoint_every': 100})
  result = loop.train(config, str(tmp_path / 'run'))
  # epoch = max(5, 3) images = ceil(5 / 2) = 3 steps; 1 + 1 epochs.
  assert result.total_steps == 6 and result.step == 6


def test_resume_gives_the_same_weights_as_one_run(tiny_root, tmp_path):
  straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
  loop.train(tiny_recipe(tiny_root), straight)
  first = loop.train(tiny_recipe(tiny_root, **{'train.steps': 2}), resumed)
  assert first.step == 2
  second = loop.train(tiny_recipe(tiny_root), resumed)
  assert second.step == 4
  a, b = _ckpt_values(straight), _ckpt_values(resumed)
  assert a.keys() == b.keys()
  assert any('pool_a' in k for k in a), 'image pools must be checkpointed'
  for key in a:
    np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)
  # and the run really trained: weights moved from step 2 to step 4
  mid = _ckpt_values(resumed, step=2)
  # (network weights are stored once, under the optimizer that trains them)
  generator_weights = [k for k in mid if 'g_optimizer/_trainable_variables' in k]
  assert generator_weights
  assert all(not np.array_equal(mid[k], b[k]) for k in generator_weights)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 2}), workdir)
  before = {p: open(p, 'rb').read() for p in glob.glob(f'{workdir}/checkpoints/*')}
  diverging = tiny_recipe(tiny_root, **{'optimizer.lr': 1e38, 'train.steps': 6,
                                       'train.resume': 'ignore_changes'})
  with pytest.raises(loop.TrainingDiverged, match=r'non-finite loss at step \d.*ckpt-2.*untouched'
                     ) as e:
    loop.train(diverging, workdir)
  step = int(e.value.args[0].split('step ')[1].split(':')[0])
  _, info = loop.data.stream('unpaired').train(diverging.data, batch_size=2, seed=0)
  files = loop.step_files(info, step, 1, 2)
  assert len(files) == 4 and 'the step read:\n' + '\n'.join(f'  {p}' for p in files) in str(e.value)
  after = {p: open(p, 'rb').read() for p in glob.glob(f'{workdir}/checkpoints/*')}
  assert after == before


def test_train_cli_runs_and_ctrl_c_saves(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  args = [sys.executable, '-m', 'tfi2i.train', f'--recipe={CYCLEGAN}', f'--workdir={workdir}',
          f'--recipe.data.root={tiny_root}'] + [f'--recipe.{k}={v}' for k, v in TINY.items()]
  args = [a for a in args if 'train.steps' not in a and 'checkpoint_every' not in a]
  proc = subprocess.Popen(args + ['--recipe.train.steps=100000', '--recipe.train.checkpoint_every=100000'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(tmp_path))
  chunks = []
  reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read(64), '')))
  reader.start()
  deadline = time.time() + 180
  while time.time() < deadline and '3/100000' not in ''.join(chunks):
    time.sleep(0.2)
  proc.send_signal(signal.SIGINT)
  proc.wait(timeout=120)
  reader.join(timeout=10)
  out = ''.join(chunks)
  assert proc.returncode == 130, out[-2000:]
  assert 'Stopped by SIGINT at step' in out
  step = workdir_lib.latest_step(workdir)
  assert step > 0
  # rerunning resumes where it stopped and finishes
  done = subprocess.run(args + [f'--recipe.train.steps={step + 1}'], capture_output=True, text=True,
                        cwd=str(tmp_path), timeout=300)
  assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
  assert f'Resuming from' in done.stdout and f'Finished at step {step + 1}/' in done.stdout


def test_train_cli_reports_an_empty_folder(tmp_path):
  (tmp_path / 'data' / 'trainA').mkdir(parents=True)
  (tmp_path / 'data' / 'trainB').mkdir(parents=True)
  r = subprocess.run([sys.executable, '-m', 'tfi2i.train', f'--recipe={CYCLEGAN}',
                      f'--workdir={tmp_path / "run"}', f'--recipe.data.root={tmp_path / "data"}'],
                     capture_output=True, text=True, timeout=120)
  assert r.returncode == 1
  assert 'no images' in r.stderr and 'trainA' in r.stderr


def test_train_cli_reports_a_corrupt_image(tiny_root, tmp_path):
  bad = os.path.join(tiny_root, 'trainB', 'broken.png')
  with open(bad, 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n' + b'\0' * 20)
  r = subprocess.run([sys.executable, '-m', 'tfi2i.train', f'--recipe={CYCLEGAN}',
                      f'--workdir={tmp_path / "run"}', f'--recipe.data.root={tiny_root}'],
                     capture_output=True, text=True, timeout=120)
  assert r.returncode == 1 and bad in r.stderr


MIRRORED_SCRIPT = r'''
import sys, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices('CPU')[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from test_train import tiny_recipe, _ckpt_values
from tfi2i.training import loop
root, out = sys.argv[2], sys.argv[3]
mirrored = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
assert mirrored.num_replicas_in_sync == 2
one = tf.distribute.OneDeviceStrategy('/cpu:0')
logs = {}
for name, strategy in (('one', one), ('two', mirrored)):
  logs[name] = loop.train(tiny_recipe(root, **{'train.steps': 1, 'data.flip': False}),
                          f'{out}/{name}', strategy=strategy).logs
print('LOSSDIFF', max(abs(logs['one'][k] - logs['two'][k]) for k in logs['one']))
a, b = _ckpt_values(f'{out}/one'), _ckpt_values(f'{out}/two')
# Adam's moments after one step are linear in the (aggregated) gradient: compare them.
slots = [k for k in a if 'optimizer/_variables' in k]
assert len(slots) > 10
# Relative to the largest slot value: biases right before an instance norm get a zero
# gradient (the norm removes them), so theirs is float noise on both sides.
scale = max(float(np.max(np.abs(a[k]))) for k in slots)
print('SLOTDIFF', max(float(np.max(np.abs(a[k] - b[k]))) for k in slots) / scale)
# torch's coupled L2 is added once, after the replicas' gradients are summed: with w = 1,
# g = -0.7 and l2 = 0.5, Adam's first step moves w by -lr * sign(g + l2 w) = +0.1 (by -0.1
# if each replica added its own l2 w)
from tfi2i.training.optimizers import Adam
with mirrored.scope():
  w = tf.Variable([1.0])
  opt = Adam(learning_rate=0.1, l2=0.5)
  opt.build([w])
@tf.function
def l2_step():
  def replica():
    with tf.GradientTape() as tape:
      loss = tf.nn.compute_average_loss(-0.7 * w * tf.ones([1]), global_batch_size=2)
    opt.apply_gradients([(tape.gradient(loss, w), w)])
  mirrored.run(replica)
l2_step()
print('L2STEP', float(w.numpy()[0]) - 1.0)
'''


def test_mirrored_strategy_on_two_cpus_gives_the_same_update(tiny_root, tmp_path):
  """One step on a global batch of 2: two replicas of 1 == one device of 2 (losses scaled by the
  global batch, replica gradients summed)."""
  script = tmp_path / 'mirrored.py'
  script.write_text(MIRRORED_SCRIPT)
  r = subprocess.run([sys.executable, str(script), os.path.dirname(__file__), tiny_root, str(tmp_path)],
                     capture_output=True, text=True, timeout=300)
  values = {l.split()[0]: float(l.split()[1]) for l in r.stdout.splitlines() if l.endswith(tuple('0123456789'))
            and l.split()[0] in ('LOSSDIFF', 'SLOTDIFF', 'L2STEP')}
  assert set(values) == {'LOSSDIFF', 'SLOTDIFF', 'L2STEP'}, r.stdout[-2000:] + r.stderr[-3000:]
  assert abs(values['L2STEP'] - 0.1) < 1e-5
  assert values['LOSSDIFF'] < 1e-4
  assert values['SLOTDIFF'] < 1e-3


MULTI_WORKER_SCRIPT = r'''
import json, os, sys
os.environ['TF_CONFIG'] = json.dumps({'cluster': {'worker': sys.argv[4].split(',')},
                                      'task': {'type': 'worker', 'index': int(sys.argv[3])}})
from tfi2i.training.strategy import make_strategy
strategy = make_strategy('multi_worker')  # before any other TF work, as tfi2i.train does
sys.path.insert(0, sys.argv[1])
from test_train import tiny_recipe
from tfi2i.training import loop
result = loop.train(tiny_recipe(sys.argv[2], **{'train.steps': 1, 'data.flip': False}),
                    sys.argv[5], strategy=strategy)
print('LOGS', result.logs)
'''


def test_two_local_workers_give_the_same_update_as_one_process(tiny_root, tmp_path):
  """MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 (one CPU replica
  each, global batch 2) == one process on the same global batch; only the chief writes."""
  script = tmp_path / 'worker.py'
  script.write_text(MULTI_WORKER_SCRIPT)
  cluster = ','.join(f'127.0.0.1:{p}' for p in free_ports(2))
  workdir = str(tmp_path / 'multi')
  procs = [subprocess.Popen([sys.executable, str(script), os.path.dirname(__file__), tiny_root,
                             str(i), cluster, workdir], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True) for i in range(2)]
  outs = [p.communicate(timeout=300)[0] for p in procs]
  assert all(p.returncode == 0 for p in procs), outs[0][-3000:] + outs[1][-3000:]
  single = loop.train(tiny_recipe(tiny_root, **{'train.steps': 1, 'data.flip': False}),
                      str(tmp_path / 'single'))
  a, b = _ckpt_values(str(tmp_path / 'single')), _ckpt_values(workdir)
  slots = [k for k in a if 'optimizer/_variables' in k]
  scale = max(float(np.max(np.abs(a[k]))) for k in slots)
  assert max(float(np.max(np.abs(a[k] - b[k]))) for k in slots) / scale < 1e-3
  logs = eval(next(l for l in outs[0].splitlines() if l.startswith('LOGS '))[5:])  # pylint: disable=eval-used
  assert abs(logs['gen_total'] - single.logs['gen_total']) < 1e-4
  # the chief wrote the workdir; the other worker only its scratch folder
  assert os.path.isfile(os.path.join(workdir, 'recipe.json'))
  assert os.path.isdir(os.path.join(workdir, '.workers', 'worker-1', 'checkpoints'))
  assert not os.path.isdir(os.path.join(workdir, '.workers', 'worker-0'))


def test_mixed_float16_scales_the_loss(tiny_root, tmp_path):
  """train.precision='mixed_float16' wraps each optimizer in Keras' LossScaleOptimizer and
  the models take gradients of the scaled loss (TranslationModel.apply_gradients): steps
  whose scaled gradients overflow float16 are skipped and halve the scale (Keras' dynamic
  loss scaling from 2**15), the others update the weights."""
  workdir = str(tmp_path / 'run')
  result = loop.train(tiny_recipe(tiny_root, **{'train.precision': 'mixed_float16',
                                               'train.steps': 3}), workdir)
  assert result.step == 3 and all(np.isfinite(v) for v in result.logs.values())
  values = _ckpt_values(workdir)
  for name in ('g_optimizer', 'd_optimizer'):
    scale = float(values[f'model/{name}/dynamic_scale/.ATTRIBUTES/VARIABLE_VALUE'])
    applied = int(values[f'model/{name}/inner_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE'])
    assert scale * 2 ** (3 - applied) == 2 ** 15, (name, scale, applied)
  assert scale < 2 ** 15  # at least one overflow: the gradients were of the scaled loss


def test_profile_steps_write_a_trace_of_those_steps(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  with pytest.raises(recipe_lib.RecipeError, match="train.profile_steps is '3,2'"):
    loop.train(tiny_recipe(tiny_root, **{'train.profile_steps': '3,2'}), workdir)
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 3, 'train.profile_steps': '2,3'}), workdir)
  traces = glob.glob(os.path.join(workdir, 'train', 'plugins', 'profile', '*', '*.xplane.pb'))
  assert len(traces) == 1 and os.path.getsize(traces[0]) > 1000
