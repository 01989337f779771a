"""Which checkpoints a run writes and keeps (issue 23): a history a user can go back to.

Two kinds of saves, each with its own policy, so that neither evicts the other:
  * step checkpoints, every train.checkpoint_every steps and at the last step: the run's
    history. The newest train.keep_checkpoints are kept, and every one whose step is a
    multiple of train.keep_every_steps (0 = none) is kept for good, as the official code
    keeps its every-save_epoch_freq epoch weights.
  * recent saves, written between them to lose little to a crash, a preemption or a stop
    (train.checkpoint_minutes, SIGTERM/SIGINT/SIGHUP, a failed read): only the newest one is
    kept, and only while it is newer than every step checkpoint.
What each checkpoint is, is written beside them (checkpoints/history.json), so a later
change of train.checkpoint_every does not turn old history into deletable saves; a
checkpoint the file does not know (written by an older tfi2i) counts as a step checkpoint.

A checkpoint is written to ckpt-N (`tf.train.Checkpoint.write`) and only then listed in
the index; a write cut short leaves no listed checkpoint and its leftovers (ckpt-N_temp*)
are removed at the next start.
"""
import json
import os
import shutil

import tensorflow as tf

from tfi2i import workdir as workdir_lib

HISTORY = 'history.json'  # checkpoints/history.json: {step: 'step' | 'recent'}
STEP, RECENT = 'step', 'recent'


def _history_path(workdir):
  return os.path.join(workdir_lib.checkpoint_dir(workdir), HISTORY)


def read_history(workdir) -> dict:
  """{step: kind} of the checkpoints this workdir's runs wrote ({} when unknown)."""
  try:
    with open(_history_path(workdir), encoding='utf-8') as f:
      return {int(k): v for k, v in json.load(f).items()}
  except (OSError, ValueError, AttributeError):
    return {}


def remove_leftovers(workdir, log=print):
  """Removes what a checkpoint write cut short left (ckpt-N_temp* folders and files)."""
  folder = workdir_lib.checkpoint_dir(workdir)
  if not os.path.isdir(folder):
    return
  for name in sorted(os.listdir(folder)):
    if name.startswith('ckpt-') and '_temp' in name:
      path = os.path.join(folder, name)
      (shutil.rmtree if os.path.isdir(path) else os.remove)(path)
      log(f'Removed {path}, left by a checkpoint write that did not finish.')


def disk_bytes(path) -> int:
  """Bytes of one checkpoint's files."""
  return sum(os.path.getsize(f) for f in tf.io.gfile.glob(path + '.*'))


class History:
  """Writes the run's checkpoints and keeps them by the policy of the module docstring."""

  def __init__(self, checkpoint, workdir, *, every: int, keep: int, keep_every: int,
               total_steps: int):
    self.checkpoint, self.workdir = checkpoint, workdir
    # created now, so that `write` stores it as `save` would (a reader that restores
    # with assert_existing_objects_matched expects it)
    _ = checkpoint.save_counter
    self.every, self.keep, self.keep_every = int(every), int(keep), int(keep_every)
    self.total_steps = int(total_steps)
    self.directory = workdir_lib.checkpoint_dir(workdir)
    os.makedirs(self.directory, exist_ok=True)
    self.kinds = read_history(workdir)
    self.paths = workdir_lib.checkpoint_paths(workdir)  # what the index lists, oldest first
    self.latest_checkpoint = self.paths[-1] if self.paths else None

  def kind_of(self, step: int) -> str:
    return STEP if step % self.every == 0 or step == self.total_steps else RECENT

  def save(self, step: int) -> str:
    """Writes ckpt-<step>, lists it, and drops what the policy no longer keeps."""
    path = self.checkpoint.write(os.path.join(self.directory, f'ckpt-{step}'))
    self.kinds[int(step)] = self.kind_of(step)
    paths = sorted([p for p in self.paths if workdir_lib.step_of_name(p) != step] + [path],
                   key=workdir_lib.step_of_name)
    kept = self._kept(paths)
    workdir_lib.write_index(self.workdir, kept)
    for old in paths:
      if old not in kept:
        for f in tf.io.gfile.glob(old + '.*'):
          tf.io.gfile.remove(f)
        self.kinds.pop(workdir_lib.step_of_name(old), None)
    workdir_lib.atomic_write(_history_path(self.workdir),
                             json.dumps({str(k): v for k, v in sorted(self.kinds.items())},
                                        indent=1))
    self.paths, self.latest_checkpoint = kept, path
    return path

  def _kept(self, paths) -> list:
    """The paths (oldest first) the policy keeps; the newest is always kept."""
    steps = {p: workdir_lib.step_of_name(p) for p in paths}
    history = [p for p in paths if self.kinds.get(steps[p], STEP) == STEP]
    keep = set(history[-self.keep:]) if self.keep > 0 else set(history)
    if self.keep_every > 0:
      keep.update(p for p in history if steps[p] % self.keep_every == 0)
    newest_step = max((steps[p] for p in history), default=-1)
    recent = [p for p in paths if p not in history and steps[p] > newest_step]
    keep.update(recent[-1:])
    keep.add(paths[-1])
    return [p for p in paths if p in keep]
