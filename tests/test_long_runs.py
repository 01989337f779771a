"""Long runs lose nothing, round 2 (issue 23): a garbage or missing checkpoint index, two
runs in one workdir, a file replaced by a folder mid-run, resume_from run twice, a length
change that moves the schedule, SIGHUP."""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from test_reliability import _cli
from test_reliability import _files
from test_reliability import tiny_root  # pylint: disable=unused-import  (a fixture)
from test_train import tiny_recipe
from tfi2i import config as recipe_lib
from tfi2i import workdir as workdir_lib
from tfi2i.training import loop


def _ckpt_bytes(workdir):
  return {os.path.basename(p): open(p, 'rb').read()
          for p in glob.glob(os.path.join(workdir, 'checkpoints', 'ckpt-*'))}


@pytest.mark.parametrize('damage', ['garbage', 'deleted'])
def test_an_unreadable_index_is_rebuilt_never_a_fresh_start(damage, tiny_root, tmp_path,
                                                             capsys):
  workdir = str(tmp_path / 'run')
  config = tiny_recipe(tiny_root, **{'train.steps': 6, 'train.checkpoint_every': 2})
  loop.train(config, workdir)
  before, recipe = _ckpt_bytes(workdir), open(os.path.join(workdir, 'recipe.json')).read()
  index = os.path.join(workdir, 'checkpoints', 'checkpoint')
  if damage == 'garbage':
    open(index, 'w').write('this is not a checkpoint state\n')
  else:
    os.remove(index)
  # another seed: a fresh start would take it and write over ckpt-2..6; a resume refuses it
  with pytest.raises(recipe_lib.RecipeError, match=r'train.seed: 0 -> 1'):
    loop.train(tiny_recipe(tiny_root, **{'train.steps': 6, 'train.checkpoint_every': 2,
                                         'train.seed': 1}), workdir)
  out = capsys.readouterr().out
  assert 'rebuilt it from the 3 checkpoint file(s) there: ckpt-2, ckpt-4, ckpt-6' in out
  assert _ckpt_bytes(workdir) == before
  assert open(os.path.join(workdir, 'recipe.json')).read() == recipe
  if damage == 'garbage':
    assert len(glob.glob(index + '.unreadable-*')) == 1  # kept, not deleted
  # the same command goes on from step 6
  longer = tiny_recipe(tiny_root, **{'train.steps': 8, 'train.checkpoint_every': 2})
  assert loop.train(longer, workdir).step == 8
  assert 'Resuming from' in capsys.readouterr().out
  after = _ckpt_bytes(workdir)
  assert all(after[k] == v for k, v in before.items() if k in after)


def _wait_for(predicate, timeout=240):
  end = time.monotonic() + timeout
  while time.monotonic() < end:
    if predicate():
      return True
    time.sleep(0.2)
  return False


def test_a_second_run_in_the_workdir_is_refused_naming_the_first(tiny_root, tmp_path,
                                                                 capsys):
  workdir = str(tmp_path / 'run')
  first = subprocess.Popen(_cli(tiny_root, workdir, '--recipe.train.steps=100000',
                                '--recipe.train.checkpoint_every=100000'),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  try:
    lock = os.path.join(workdir, workdir_lib.LOCK)
    assert _wait_for(lambda: os.path.exists(lock) and os.path.getsize(lock) > 0)
    # the first run has started: a second (here in this process) is refused before it
    # writes anything
    assert _wait_for(lambda: os.path.exists(os.path.join(workdir, 'recipe.json')))
    recipe = open(os.path.join(workdir, 'recipe.json')).read()
    with pytest.raises(workdir_lib.WorkdirBusy,
                       match=rf'in use by another training run \(host .*, pid {first.pid}, '):
      loop.train(tiny_recipe(tiny_root, **{'train.seed': 2}), workdir)
    assert open(os.path.join(workdir, 'recipe.json')).read() == recipe
    # and by the command, with the message and exit status 1
    second = subprocess.run(_cli(tiny_root, workdir, '--recipe.train.seed=2'),
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 1 and f'pid {first.pid}' in second.stderr
    assert 'Traceback' not in second.stderr
  finally:
    first.send_signal(signal.SIGTERM)
    out, _ = first.communicate(timeout=300)
  assert first.returncode == 143, out[-2000:]
  # the lock went with the first run: the same command resumes it
  config = tiny_recipe(tiny_root, **{'train.steps': 100000, 'train.checkpoint_every': 100000})
  stopped_at = workdir_lib.latest_step(workdir)
  assert loop.train(config, workdir, stop_at=stopped_at + 1).step == stopped_at + 1
  assert 'Taking over' not in capsys.readouterr().out


def test_a_lock_left_by_a_dead_run_is_taken_over_with_a_message(tiny_root, tmp_path, capsys):
  workdir = str(tmp_path / 'run')
  os.makedirs(workdir)
  with open(os.path.join(workdir, workdir_lib.LOCK), 'w') as f:
    f.write('{"host": "gone-host", "pid": 999999, "started": "yesterday", "command": "x"}')
  assert loop.train(tiny_recipe(tiny_root, **{'train.steps': 1}), workdir).step == 1
  assert 'Taking over the workdir lock of a run that is no longer running (host gone-host, ' \
         'pid 999999' in capsys.readouterr().out
  assert os.path.getsize(os.path.join(workdir, workdir_lib.LOCK)) == 0  # released


def test_a_file_replaced_by_a_folder_mid_run_is_named_with_a_checkpoint(tiny_root, tmp_path,
                                                                       monkeypatch):
  workdir = str(tmp_path / 'run')
  target = os.path.join(tiny_root, 'trainA', '001.png')
  good = open(target, 'rb').read()
  update = loop._Progress.update  # pylint: disable=protected-access

  def update_then_replace(self, current, logs):
    update(self, current, logs)
    if current == 1:
      os.remove(target)
      os.mkdir(target)  # a sync tool, a bad copy: the name is now a folder

  monkeypatch.setattr(loop._Progress, 'update', update_then_replace)  # pylint: disable=protected-access
  config = tiny_recipe(tiny_root, **{'train.steps': 20, 'train.checkpoint_every': 1000})
  with pytest.raises(loop.BadImageInTraining) as e:
    loop.train(config, workdir)
  message = str(e.value)
  failed = int(re.search(r'of step (\d+)', message).group(1))
  assert f'{target}: ' in message and 'IsADirectoryError' in message
  assert f'checkpoint of step {failed - 1}' in message and failed > 1
  assert workdir_lib.latest_step(workdir) == failed - 1
  monkeypatch.undo()
  os.rmdir(target)
  open(target, 'wb').write(good)
  assert loop.train(config, workdir).step == 20  # fixed: the rerun resumes


def test_an_unnamed_read_error_of_the_input_pipeline_is_a_checkpoint_and_the_step_files():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  ds = tf.data.Dataset.from_tensor_slices(['/nowhere/x.png']).map(tf.io.read_file)
  iterator = iter(ds)

  @tf.function
  def step():
    return next(iterator)

  with pytest.raises(tf.errors.OpError) as e:
    step()
  assert loop.from_input_pipeline(e.value)
  with pytest.raises(tf.errors.OpError) as e:
    tf.function(lambda: tf.debugging.assert_equal(1, 2))()
  assert not loop.from_input_pipeline(e.value)  # the model's own errors are raised as they are


def test_resume_from_acts_once(tiny_root, tmp_path, capsys):
  workdir = str(tmp_path / 'run')
  config = tiny_recipe(tiny_root, **{'train.steps': 6, 'train.checkpoint_every': 2})
  loop.train(config, workdir)
  rewind = recipe_lib.override(config, {'train.resume_from': '4'})
  assert loop.train(rewind, workdir).step == 6
  assert 'moved the newer checkpoint(s) ckpt-6' in capsys.readouterr().out
  assert len(glob.glob(os.path.join(workdir, 'checkpoints', 'superseded-*'))) == 1
  before = _files(workdir)
  # the same command again (a requeued job): no second rewind, the run is as it was
  assert loop.train(rewind, workdir).step == 6
  out = capsys.readouterr().out
  assert 'train.resume_from=4 was applied on' in out and 'continuing from the newest' in out
  assert len(glob.glob(os.path.join(workdir, 'checkpoints', 'superseded-*'))) == 1
  assert {k: v for k, v in _files(workdir).items() if '/checkpoints/' in k} == {
      k: v for k, v in before.items() if '/checkpoints/' in k}
  # another value rewinds again
  assert loop.train(recipe_lib.override(config, {'train.resume_from': '2'}), workdir).step == 6
  assert len(glob.glob(os.path.join(workdir, 'checkpoints', 'superseded-*'))) == 2


def test_a_length_change_that_moves_the_schedule_is_refused(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  steps = lambda n, **more: tiny_recipe(tiny_root, **{
      'schedule.policy': 'linear_steps', 'train.steps': n, **more})
  loop.train(steps(4), workdir, stop_at=2)
  with pytest.raises(recipe_lib.RecipeError, match=r'train.steps \(schedule.policy=linear_steps'
                     r'.*\): 4 -> 8'):
    loop.train(steps(8), workdir)
  assert loop.train(steps(8, **{'train.resume': 'ignore_changes'}), workdir).step == 8
  # (with an epoch schedule a new length moves nothing and stays allowed: test_reliability)


def test_sighup_stops_like_sigterm():
  with loop._StopSignals() as signals:  # pylint: disable=protected-access
    os.kill(os.getpid(), signal.SIGHUP)
    time.sleep(0.1)
    assert signals.received == 'SIGHUP'
  assert signal.getsignal(signal.SIGHUP) is not signals._handle  # pylint: disable=protected-access


def test_a_finished_run_rerun_does_not_export_again(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  config = tiny_recipe(tiny_root, **{'train.steps': 2, 'export.at_end': True})
  first = loop.train(config, workdir).export_dir
  assert loop.train(config, workdir).export_dir == first
  assert sorted(os.listdir(workdir_lib.export_dir(workdir))) == [os.path.basename(first)]
  shutil.rmtree(first)  # gone: the rerun exports again
  assert loop.train(config, workdir).export_dir is not None


def test_symlinks_that_leave_the_folder_or_loop_are_not_followed(tmp_path, caplog):
  import numpy as np  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from tfi2i.data import images  # pylint: disable=g-import-not-at-top
  for rel, n in (('trainA', 3), ('trainA/sub', 1), ('trainB', 4), ('testA', 2)):
    os.makedirs(tmp_path / rel, exist_ok=True)
    for i in range(n):
      Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / rel / f'{i}.png')
  a = tmp_path / 'trainA'
  os.symlink('..', a / 'up')  # the case: hundreds of files for 5
  os.symlink('.', a / 'again')  # a loop
  os.symlink(str(tmp_path / 'testA'), a / 'test')  # another split
  os.symlink('sub', a / 'alias')  # inside: followed, its files listed once
  found = images.list_images(str(a))
  assert len(found) == 4 and all(os.path.realpath(p).startswith(str(a)) for p in found)
  assert len({os.path.realpath(p) for p in found}) == 4
  warned = caplog.text
  assert 'leave it or loop and are not followed' in warned
  assert all(name in warned for name in ('up ->', 'again ->', 'test ->'))


def test_the_start_up_check_remembers_what_it_decoded(tmp_path, monkeypatch, capsys):
  import numpy as np  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from tfi2i.data import scan  # pylint: disable=g-import-not-at-top
  paths = []
  for i in range(6):
    paths.append(str(tmp_path / f'{i}.png'))
    Image.fromarray(np.full((5, 7, 3), i, np.uint8)).save(paths[-1])
  decoded = []
  real = scan.scan_image
  monkeypatch.setattr(scan, 'scan_image', lambda p: decoded.append(p) or real(p))
  monkeypatch.setattr(scan, '_PROGRESS_SECONDS', 0.0)
  cache = str(tmp_path / 'run' / 'image_check.json')
  with scan.cached_in(cache):
    first = scan.scan_images(paths)
    assert len(decoded) == 6 and 'Checking images: ' in capsys.readouterr().out
    again = scan.scan_images(paths)
    assert len(decoded) == 6 and again == first  # nothing decoded again
    time.sleep(0.01)
    Image.fromarray(np.full((9, 3, 3), 1, np.uint8)).save(paths[1])  # changed: decoded again
    changed = scan.scan_images(paths)
    assert decoded[6:] == [paths[1]] and (changed[1].height, changed[1].width) == (9, 3)
    scan.forget([paths[2]])
    scan.scan_images(paths)
    assert decoded[7:] == [paths[2]]
  scan.scan_images(paths)  # outside: no cache
  assert len(decoded) == 8 + 6


def test_readers_skip_a_damaged_newest_checkpoint_and_a_cut_write_is_cleaned(tiny_root,
                                                                           tmp_path, capsys):
  from tfi2i import restore as restore_lib  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path / 'run')
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 2, 'train.checkpoint_every': 1}), workdir)
  data = glob.glob(os.path.join(workdir, 'checkpoints', 'ckpt-2.data-*'))[0]
  raw = bytearray(open(data, 'rb').read())
  raw[len(raw) // 2] ^= 0xFF
  open(data, 'wb').write(bytes(raw))
  before = _files(workdir)
  _, _, step, path = restore_lib.restore_model(workdir)
  assert step == 1 and path.endswith('ckpt-1')
  assert 'ckpt-2 cannot be read' in capsys.readouterr().out
  assert _files(workdir) == before  # a reader moves nothing
  os.makedirs(os.path.join(workdir, 'checkpoints', 'ckpt-3_temp', 'part-0'))
  assert loop.train(tiny_recipe(tiny_root, **{'train.steps': 3, 'train.checkpoint_every': 1}),
                    workdir).step == 3
  assert 'left by a checkpoint write that did not finish' in capsys.readouterr().out
  assert not glob.glob(os.path.join(workdir, 'checkpoints', '*_temp*'))
