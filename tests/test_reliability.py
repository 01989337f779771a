"""Nothing lost (issue 15): a stop at a step boundary on SIGTERM / SIGINT that resumes bit for
bit, time-based checkpoints, a refused change of recipe or images on resume, the fall back
from an unreadable checkpoint, finite weights before each save, a failed checkpoint write."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from test_train import _ckpt_values
from test_train import CYCLEGAN
from test_train import tiny_recipe
from test_train import TINY
from tfi2i import config as recipe_lib
from tfi2i import models
from tfi2i import workdir as workdir_lib
from tfi2i.models.cyclegan import CycleGAN
from tfi2i.training import loop


@pytest.fixture
def tiny_root(make_image_folder, tmp_path):
  for rel, n, seed in (('trainA', 5, 1), ('trainB', 3, 2)):
    make_image_folder(os.path.join('data', rel), n, size=(40, 44), seed=seed)
  return str(tmp_path / 'data')


def _files(workdir):
  return {p: open(p, 'rb').read() for p in glob.glob(f'{workdir}/**', recursive=True)
          if os.path.isfile(p)}


def _cli(root, workdir, *more):
  return [sys.executable, '-m', 'tfi2i.train', f'--recipe={CYCLEGAN}', f'--workdir={workdir}',
          f'--recipe.data.root={root}', *[f'--recipe.{k}={v}' for k, v in TINY.items()
                                         if k not in ('train.steps', 'train.checkpoint_every')],
          *more]


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_at_a_step_boundary_and_the_resume_is_bitwise(sig, tiny_root, tmp_path):
  """The run is stopped by the signal a few steps in, saves the step it finished (not the
  next one's state under its number) and, resumed, ends with the same bits as a run that was
  never stopped."""
  stopped = str(tmp_path / 'stopped')
  long_run = ['--recipe.train.steps=40', '--recipe.train.checkpoint_every=1000']
  proc = subprocess.Popen(_cli(tiny_root, stopped, *long_run, '--recipe.train.log_every=1'),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  chunks = []
  reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read(32), '')))
  reader.start()
  deadline = time.time() + 180
  while time.time() < deadline and ' 2/40' not in ''.join(chunks) and proc.poll() is None:
    time.sleep(0.05)
  proc.send_signal(sig)
  proc.wait(timeout=120)
  reader.join(timeout=10)
  out = ''.join(chunks)
  assert proc.returncode == (143 if sig == signal.SIGTERM else 130), out[-3000:]
  assert f'Stopped by {signal.Signals(sig).name} at step' in out, out[-3000:]
  step = workdir_lib.latest_step(stopped)
  assert 2 <= step < 40, out[-3000:]
  assert f'at step {step};' in out
  done = subprocess.run(_cli(tiny_root, stopped, *long_run), capture_output=True, text=True,
                        timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  straight = str(tmp_path / 'straight')
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 40, 'train.checkpoint_every': 1000}),
             straight)
  a, b = _ckpt_values(straight), _ckpt_values(stopped)
  assert a.keys() == b.keys()
  for key in a:
    np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _kept(workdir):
  state = tf.train.get_checkpoint_state(os.path.join(workdir, 'checkpoints'))
  listed = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
  on_disk = sorted(os.path.basename(p)[:-len('.index')]
                   for p in glob.glob(os.path.join(workdir, 'checkpoints', 'ckpt-*.index')))
  assert sorted(listed) == on_disk  # what is dropped is deleted, what is kept is listed
  return listed


def test_time_saves_do_not_evict_the_step_history(tiny_root, tmp_path):
  """Issue 23 item 1: a save every step (checkpoint_minutes) keeps only its newest, and
  only while it is newer than the step checkpoints; the newest keep_checkpoints step
  checkpoints and every keep_every_steps one stay."""
  workdir = str(tmp_path / 'run')
  recipe = tiny_recipe(tiny_root, **{'train.steps': 7, 'train.checkpoint_every': 2,
                                     'train.checkpoint_minutes': 1e-6,
                                     'train.keep_checkpoints': 2,
                                     'train.keep_every_steps': 4})
  loop.train(recipe, workdir, stop_at=5)
  assert _kept(workdir) == ['ckpt-2', 'ckpt-4', 'ckpt-5']  # 1 and 3 were recent saves
  assert loop.train(recipe, workdir).step == 7
  assert _kept(workdir) == ['ckpt-4', 'ckpt-6', 'ckpt-7']  # 4 kept for good, 2 rolled out
  with open(os.path.join(workdir, 'checkpoints', 'history.json')) as f:
    assert json.load(f) == {'4': 'step', '6': 'step', '7': 'step'}
  # a rewind can reach any kept one
  assert loop.train(tiny_recipe(tiny_root, **{'train.steps': 7, 'train.checkpoint_every': 2,
                                              'train.keep_checkpoints': 2,
                                              'train.keep_every_steps': 4,
                                              'train.resume_from': '4'}),
                    workdir).step == 7


def test_a_changed_recipe_is_refused_before_anything_is_written(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 2}), workdir)
  before = _files(workdir)
  changed = tiny_recipe(tiny_root, **{'train.steps': 4, 'train.seed': 3, 'loss.lambda_a': 5.0})
  with pytest.raises(recipe_lib.RecipeError) as e:
    loop.train(changed, workdir)
  assert 'train.seed: 0 -> 3' in str(e.value) and 'loss.lambda_a: 10.0 -> 5.0' in str(e.value)
  assert 'train.steps' not in str(e.value).split('\n')[1]  # allowed: not listed as a change
  assert _files(workdir) == before  # recipe.json, checkpoints, events untouched
  # accepted knowingly: the old recipe is kept beside the new one
  changed.train.resume = 'ignore_changes'
  assert loop.train(changed, workdir).step == 4
  kept = recipe_lib.ml_collections.ConfigDict(
      __import__('json').load(open(os.path.join(workdir, 'recipe.before-2.json'))))
  assert kept.train.seed == 0 and recipe_lib.load_workdir_recipe(workdir).train.seed == 3
  # only allowed keys changed (length, logging): resumes
  assert loop.train(tiny_recipe(tiny_root, **{'train.steps': 5, 'train.seed': 3,
                                             'loss.lambda_a': 5.0, 'train.log_every': 2}),
                    workdir).step == 5


def test_a_changed_image_list_is_refused_and_a_moved_folder_is_not(tiny_root, tmp_path,
                                                                   make_image_folder):
  workdir = str(tmp_path / 'run')
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 1}), workdir)
  moved = str(tmp_path / 'moved')
  shutil.copytree(tiny_root, moved)
  assert loop.train(tiny_recipe(moved, **{'train.steps': 2}), workdir).step == 2
  make_image_folder(os.path.join('moved', 'trainA'), 7, size=(40, 44), seed=9)  # 2 more files
  with pytest.raises(recipe_lib.RecipeError, match=r"data \(the image list\): 'files \w+, n_a 5, n_b 3' -> 'files \w+, n_a 7"):
    loop.train(tiny_recipe(moved, **{'train.steps': 3}), workdir)


def test_an_unreadable_newest_checkpoint_falls_back_to_the_one_before(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 2, 'train.checkpoint_every': 1}), workdir)
  data = glob.glob(os.path.join(workdir, 'checkpoints', 'ckpt-2.data-*'))[0]
  raw = bytearray(open(data, 'rb').read())
  raw[len(raw) // 2] ^= 0xFF  # one flipped byte: the tensor's checksum fails
  open(data, 'wb').write(bytes(raw))
  with pytest.raises(tf.errors.OpError, match='Checksum does not match'):
    workdir_lib.check_readable(data.split('.data-')[0])
  messages = []
  assert workdir_lib.newest_readable_checkpoint(workdir, log=messages.append).endswith('ckpt-1')
  assert 'ckpt-2 cannot be read' in messages[0]
  assert os.path.exists(os.path.join(workdir, 'checkpoints', 'unreadable', os.path.basename(data)))
  result = loop.train(tiny_recipe(tiny_root, **{'train.steps': 3, 'train.checkpoint_every': 1}),
                      workdir)
  assert result.step == 3 and result.checkpoint.endswith('ckpt-3')


def test_resume_from_a_chosen_checkpoint_keeps_the_newer_ones(tiny_root, tmp_path):
  """train.resume_from=N starts again from ckpt-N: the newer checkpoints are moved aside
  (not deleted) after the recipe check, and the rerun reaches the same bits as the first."""
  workdir = str(tmp_path / 'run')
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 4, 'train.checkpoint_every': 2}), workdir)
  first = _ckpt_values(workdir, step=4)
  with pytest.raises(recipe_lib.RecipeError, match=r"resume_from='3': no such checkpoint .* "
                                                   r"\(it has: ckpt-2, ckpt-4\)"):
    loop.train(tiny_recipe(tiny_root, **{'train.resume_from': '3'}), workdir)
  before = _files(workdir)
  with pytest.raises(recipe_lib.RecipeError, match='train.seed: 0 -> 5'):  # checked first
    loop.train(tiny_recipe(tiny_root, **{'train.resume_from': 'ckpt-2', 'train.seed': 5}),
               workdir)
  assert _files(workdir) == before
  result = loop.train(tiny_recipe(tiny_root, **{'train.resume_from': '2'}), workdir)
  assert result.step == 4
  aside = glob.glob(os.path.join(workdir, 'checkpoints', 'superseded-*', 'ckpt-4.index'))
  assert len(aside) == 1
  again = _ckpt_values(workdir, step=4)
  assert sorted(again) == sorted(first)
  for k in first:
    np.testing.assert_array_equal(again[k], first[k], err_msg=k)
  reader = tf.train.load_checkpoint(aside[0][:-len('.index')])  # the old one reads back
  np.testing.assert_array_equal(reader.get_tensor(workdir_lib.STEP_KEY), 4)


def _broken_pngs(folder):
  """Two PNGs PIL decodes and libpng (training's decoder) refuses: one with its IDAT CRC
  flipped, one cut after its last IDAT (no IEND). Returns their paths."""
  import struct  # pylint: disable=g-import-not-at-top
  raw = open(sorted(glob.glob(os.path.join(folder, '*.png')))[0], 'rb').read()
  at = raw.find(b'IDAT')
  length = struct.unpack('>I', raw[at - 4:at])[0]
  crc = bytearray(raw)
  crc[at + 4 + length] ^= 0xFF
  paths = (os.path.join(folder, 'zz_crc.png'), os.path.join(folder, 'zz_cut.png'))
  open(paths[0], 'wb').write(bytes(crc))
  open(paths[1], 'wb').write(raw[:raw.find(b'IEND') - 4])
  return paths


def test_the_check_decodes_as_training_does(tiny_root, tmp_path):
  """Issue 15's first finding: a PNG with a bad IDAT CRC passed the PIL check and then
  stopped training in DecodePng naming no file. The check now decodes with training's
  decoder: both broken PNGs are named at the start, or left out with on_bad_image=skip."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from tfi2i.data import images  # pylint: disable=g-import-not-at-top
  from tfi2i.data import scan  # pylint: disable=g-import-not-at-top
  crc, cut = _broken_pngs(os.path.join(tiny_root, 'trainA'))
  for path in (crc, cut):
    Image.open(path).load()  # PIL is content with both
    record = scan.scan_image(path)
    assert record.error == 'InvalidArgumentError: Invalid PNG data, size ' + str(
        os.path.getsize(path))
  workdir = str(tmp_path / 'run')
  with pytest.raises(images.DataError) as e:
    loop.train(tiny_recipe(tiny_root, **{'train.steps': 2}), workdir)
  assert '2 of 7 images cannot be decoded' in str(e.value)
  assert crc in str(e.value) and cut in str(e.value) and 'Invalid PNG data' in str(e.value)
  result = loop.train(tiny_recipe(tiny_root, **{'train.steps': 2, 'data.on_bad_image': 'skip'}),
                      workdir)
  assert result.step == 2


def _break_after_step(monkeypatch, step, path):
  """Flips the IDAT CRC of `path` (atomically) once training finished `step`: a file that
  passed the start-up check stops decoding mid-run."""
  import struct  # pylint: disable=g-import-not-at-top
  update = loop._Progress.update  # pylint: disable=protected-access

  def update_then_break(self, current, logs):
    update(self, current, logs)
    if current == step:
      raw = bytearray(open(path, 'rb').read())
      at = raw.find(b'IDAT')
      raw[at + 4 + struct.unpack('>I', raw[at - 4:at])[0]] ^= 0xFF
      open(path + '.tmp', 'wb').write(bytes(raw))
      os.replace(path + '.tmp', path)

  monkeypatch.setattr(loop._Progress, 'update', update_then_break)  # pylint: disable=protected-access


def test_an_image_that_stops_decoding_mid_run_is_named_with_a_checkpoint(tiny_root, tmp_path,
                                                                        monkeypatch):
  workdir = str(tmp_path / 'run')
  target = os.path.join(tiny_root, 'trainA', '001.png')
  good = open(target, 'rb').read()
  _break_after_step(monkeypatch, 1, target)
  config = tiny_recipe(tiny_root, **{'train.steps': 20, 'train.checkpoint_every': 1000})
  with pytest.raises(loop.BadImageInTraining) as e:
    loop.train(config, workdir)
  message = str(e.value)
  failed = int(re.search(r'an image of step (\d+) failed to decode', message).group(1))
  assert f'{target}: InvalidArgumentError: Invalid PNG data' in message
  assert f'checkpoint of step {failed - 1}' in message and failed > 1
  assert workdir_lib.latest_step(workdir) == failed - 1
  open(target, 'wb').write(good)  # fixed: the stream (and its file list) is as before
  _, info = loop.data.stream('unpaired').train(config.data, batch_size=2, seed=0)
  assert target in loop.step_files(info, failed, 1, 2)
  monkeypatch.undo()
  assert loop.train(config, workdir).step == 20  # and the rerun resumes


def test_on_bad_image_skip_leaves_a_file_that_stops_decoding_out(tiny_root, tmp_path,
                                                                monkeypatch, capsys):
  workdir = str(tmp_path / 'run')
  target = os.path.join(tiny_root, 'trainA', '001.png')
  _break_after_step(monkeypatch, 1, target)
  config = tiny_recipe(tiny_root, **{'train.steps': 20, 'train.checkpoint_every': 1000,
                                     'data.on_bad_image': 'skip'})
  assert loop.train(config, workdir).step == 20
  assert f'Left out 1 image(s) that stopped decoding during the run' in capsys.readouterr().out
  run = __import__('json').load(open(os.path.join(workdir, 'run.json')))
  assert run['data']['n_a'] == 4  # the image list the run went on with
  monkeypatch.undo()
  config.train.steps = 22
  assert loop.train(config, workdir).step == 22  # a resume skips it again: the same list


class _PoisonedAtStep2(CycleGAN):
  """CycleGAN whose generator weight turns NaN in step 2's update while the losses of that
  step, computed before it, are finite."""

  def train_step(self, batch):
    logs = super().train_step(batch)
    w = self.gen_a2b.trainable_variables[0]
    w.assign(tf.where(self.g_optimizer.iterations >= 2, np.nan, w.value))
    return logs


models.register('cyclegan_poisoned_at_step_2', _PoisonedAtStep2, replace=True)


def test_weights_are_checked_finite_before_each_save(tiny_root, tmp_path):
  workdir = str(tmp_path / 'run')
  config = tiny_recipe(tiny_root, **{'model.name': 'cyclegan_poisoned_at_step_2',
                                     'train.checkpoint_every': 1})
  with pytest.raises(loop.TrainingDiverged, match=r'weights after step 2 are not finite.*ckpt-1'):
    loop.train(config, workdir)
  assert workdir_lib.latest_step(workdir) == 1


def test_a_failed_checkpoint_write_stops_and_keeps_the_previous_one(tiny_root, tmp_path,
                                                                    monkeypatch):
  workdir = str(tmp_path / 'run')
  loop.train(tiny_recipe(tiny_root, **{'train.steps': 2}), workdir)
  before = _files(os.path.join(workdir, 'checkpoints'))

  def disk_full(self, file_prefix, options=None):
    raise OSError(28, 'No space left on device')

  monkeypatch.setattr(tf.train.Checkpoint, 'write', disk_full)
  with pytest.raises(loop.CheckpointWriteError, match=r'step 4 .*No space left.*ckpt-2\) is kept'):
    loop.train(tiny_recipe(tiny_root, **{'train.steps': 4}), workdir)
  assert _files(os.path.join(workdir, 'checkpoints')) == before


def test_progress_in_a_file_is_plain_lines_with_a_right_eta_after_resume(tmp_path):
  import io  # pylint: disable=import-outside-toplevel
  stream = io.StringIO()  # not a terminal
  log = str(tmp_path / 'loss_log.txt')
  progress = loop._Progress(total=2000, start=1000, every=2, log_path=log, stream=stream)
  for step in range(1001, 1006):
    progress.update(step, {'gen_total': 1.5, 'disc_total': 0.25, 'cycle_a': 3.0})
    time.sleep(0.02)
  progress.close()
  lines = stream.getvalue().splitlines()
  assert [l.split()[1] for l in lines] == ['1002/2000', '1004/2000']
  assert '\r' not in stream.getvalue() and '\033' not in stream.getvalue()
  rate = float(lines[-1].split()[2])  # s/step of this process's steps, not since step 0
  assert 0.015 < rate < 0.5
  eta = lines[-1].split('ETA ')[1].split()[0]
  h, m, s = (int(x) for x in eta.split(':'))
  assert 10 < 3600 * h + 60 * m + s < 600  # ~996 steps of ~0.02 s
  logged = open(log).read().splitlines()
  assert 'from step 1000' in logged[0]
  assert logged[1].startswith('(step: 1002, time: ') and 'cycle_a: 3' in logged[1]


def test_webp_tiff_and_jfif_are_read_and_other_files_are_counted(tmp_path, caplog):
  from tfi2i.data import images  # pylint: disable=import-outside-toplevel
  from tfi2i.data import scan  # pylint: disable=import-outside-toplevel
  from tfi2i.data import transforms  # pylint: disable=import-outside-toplevel
  from PIL import Image  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
  for name, fmt in (('a.webp', 'WEBP'), ('b.tiff', 'TIFF'), ('c.jfif', 'JPEG'), ('d.png', 'PNG')):
    Image.fromarray(pixels).save(tmp_path / name, format=fmt, **({'lossless': True} if fmt == 'WEBP' else {}))
  (tmp_path / 'notes.txt').write_text('x')
  (tmp_path / 'e.heic').write_bytes(b'\0' * 10)
  with caplog.at_level('WARNING'):
    paths = images.list_images(str(tmp_path))
  assert [os.path.basename(p) for p in paths] == ['a.webp', 'b.tiff', 'c.jfif', 'd.png']
  assert '2 files in' in caplog.text and '.heic' in caplog.text and '.txt' in caplog.text
  for record in scan.scan_images(paths):
    decoded = transforms.decode_file(tf.constant(record.path), tf.constant(record.codec)).numpy()
    np.testing.assert_array_equal(decoded, images.load_image(record.path))
    if not record.path.endswith('.jfif'):  # lossless formats give the pixels back
      np.testing.assert_array_equal(decoded, pixels)


def test_images_far_smaller_than_the_crop_are_warned_about(caplog):
  from tfi2i.data import transforms  # pylint: disable=import-outside-toplevel
  cfg = recipe_lib.load_recipe(CYCLEGAN).data
  cfg.load_size, cfg.crop_size = 36, 32
  with caplog.at_level('WARNING'):
    transforms.get_transform(cfg, 1, [(1, 1), (40, 44), (6, 50)], name='trainA')
  assert '2 of the 3 images of trainA' in caplog.text and '1x1' in caplog.text


def test_readme_names_the_paths_make_demo_writes():
  """Every runs/demo/... path the README promises is one the Makefile's demo target writes
  (translate --output folders hold index.html, score --gallery ones scores.html, train's
  workdir holds train/ and export/)."""
  import re  # pylint: disable=import-outside-toplevel
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  readme = open(os.path.join(root, 'README.md'), encoding='utf-8').read()
  make = open(os.path.join(root, 'Makefile'), encoding='utf-8').read()
  demo = make.split('\ndemo:', 1)[1].split('\n\n', 1)[0].replace('$(WORKDIR)', 'runs/demo')
  written = {f'{p}/index.html' for p in re.findall(r'--output=(runs/demo/[\w/]+)', demo)}
  # tfi2i.score writes scores.html (and .json) into the gallery it scores
  written |= {f'{p}/scores.html' for p in re.findall(r'--gallery=(runs/demo/[\w/]+)', demo)}
  if '--workdir=runs/demo' in demo:
    written |= {'runs/demo/train', 'runs/demo/export', 'runs/demo/export/1/', 'runs/demo'}
  promised = set(re.findall(r'`(runs/demo[\w/.]*)`', readme))
  assert promised and 'runs/demo/gallery/a_to_b/scores.html' in promised
  assert promised <= written, promised - written


# ---------------------------------------------------------------------- kill -9, bit for bit

_ALIGNED = {'data.load_size': 128, 'data.crop_size': 128, 'data.preprocess': 'crop',
            'train.batch_size': 2}
KILLED = {  # recipe, overrides, whether its data is the aligned A|B folder
    'cyclegan': ('cyclegan', {k: v for k, v in TINY.items() if k != 'train.steps'}, False),
    'pix2pix': ('pix2pix', {'model.ngf': 4, 'model.ndf': 4, 'model.num_downs': 7, **_ALIGNED},
                True),
    'bicyclegan': ('bicyclegan', {'model.ngf': 4, 'model.nef': 4, 'model.ndf': 4,
                                  'model.net_g': 'unet_128', 'model.net_e': 'resnet_128',
                                  'model.net_d': 'basic_128_multi',
                                  'model.net_d2': 'basic_128_multi',
                                  **_ALIGNED}, True),
}


@pytest.fixture
def aligned_root(tmp_path):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  folder = tmp_path / 'ab' / 'train'
  folder.mkdir(parents=True)
  for i in range(3):
    Image.fromarray(rng.integers(0, 256, (128, 256, 3), dtype=np.uint8)).save(folder / f'{i}.png')
  return str(tmp_path / 'ab')


@pytest.mark.parametrize('name', sorted(KILLED))
def test_kill_9_at_a_random_moment_resumes_bit_for_bit(name, tiny_root, aligned_root, tmp_path):
  """`kill -9` at a random moment of a run that checkpoints every step (a checkpoint may be
  half written), then the same command again: the run ends with the weights, optimizer
  slots, pools and random streams (dropout's included) of a run that was never killed."""
  recipe, overrides, aligned = KILLED[name]
  path = os.path.join(os.path.dirname(CYCLEGAN), f'{recipe}.py')
  overrides = {**overrides, 'data.root': aligned_root if aligned else tiny_root,
               'train.steps': 8, 'train.checkpoint_every': 1, 'train.log_every': 1,
               'train.image_every': 100, 'export.at_end': False}
  args = [sys.executable, '-m', 'tfi2i.train', f'--recipe={path}',
          f'--workdir={tmp_path / "killed"}'] + [f'--recipe.{k}={v}' for k, v in overrides.items()]
  rng = np.random.default_rng()
  at, delay = int(rng.integers(2, 6)), float(rng.uniform(0, 0.5))
  proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  chunks = []
  reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read(16), '')))
  reader.start()
  deadline = time.time() + 300
  while time.time() < deadline and f' {at}/8' not in ''.join(chunks) and proc.poll() is None:
    time.sleep(0.02)
  time.sleep(delay)
  proc.kill()  # SIGKILL: no handler runs
  proc.wait(timeout=60)
  reader.join(timeout=10)
  assert proc.returncode == -signal.SIGKILL, ''.join(chunks)[-3000:]
  done = subprocess.run(args, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
  assert 'Resuming from' in done.stdout, (at, delay, done.stdout[-2000:])
  straight = str(tmp_path / 'straight')
  config = recipe_lib.override(recipe_lib.load_recipe(path), overrides)
  loop.train(config, straight)
  a, b = _ckpt_values(straight, step=8), _ckpt_values(str(tmp_path / 'killed'), step=8)
  assert a.keys() == b.keys()
  if name != 'cyclegan':
    assert any(k.startswith('seeds/') for k in a)  # dropout's streams are in the checkpoint
  for key in a:
    np.testing.assert_array_equal(a[key], b[key], err_msg=f'{key} (killed at {at} + {delay:.2f} s)')


def test_logging_images_changes_nothing_the_run_computes(aligned_root, tmp_path):
  """pix2pix's panels run G in training mode (dropout, batch statistics): its moving
  statistics and dropout streams are kept as they were around them, so image_every (a
  logging key a resume may change) does not change the weights."""
  recipe, overrides, _ = KILLED['pix2pix']
  path = os.path.join(os.path.dirname(CYCLEGAN), f'{recipe}.py')
  runs = {}
  for every in (1, 100):
    config = recipe_lib.override(recipe_lib.load_recipe(path), {
        **overrides, 'data.root': aligned_root, 'train.steps': 3, 'train.image_every': every,
        'export.at_end': False})
    loop.train(config, str(tmp_path / str(every)))
    runs[every] = _ckpt_values(str(tmp_path / str(every)))
  assert any('moving_variance' in k for k in runs[1])
  for key in runs[1]:
    np.testing.assert_array_equal(runs[1][key], runs[100][key], err_msg=key)
