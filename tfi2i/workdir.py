"""A training run's folder (the workdir): its layout, its newest checkpoint, and restoring
the model from it. The one place that spells the layout:

  WORKDIR/recipe.json          the resolved recipe (RECIPE)
  WORKDIR/run.json             the images it was started on (training/resume.py)
  WORKDIR/loss_log.txt         the losses every train.log_every steps
  WORKDIR/checkpoints/ckpt-N   tf.train.Checkpoint(step=..., model=...) (CHECKPOINTS);
                               checkpoints/unreadable/: ones that failed to read back
  WORKDIR/train/               TensorBoard events (EVENTS)
  WORKDIR/export/<version>/    SavedModels, TF Serving's layout (EXPORT)
  WORKDIR/eval/                tfi2i.evaluate results (EVAL)
"""
import os

RECIPE = 'recipe.json'
CHECKPOINTS = 'checkpoints'
EVENTS = 'train'
EXPORT = 'export'
EVAL = 'eval'
STEP_KEY = 'step/.ATTRIBUTES/VARIABLE_VALUE'  # the step's key in a checkpoint
PRECISIONS = ('float32', 'mixed_bfloat16')  # Keras dtype policies a restored model may compute in


def checkpoint_dir(workdir):
  return os.path.join(workdir, CHECKPOINTS)


def export_dir(workdir):
  return os.path.join(workdir, EXPORT)


def events_dir(workdir):
  return os.path.join(workdir, EVENTS)


def eval_dir(workdir):
  return os.path.join(workdir, EVAL)


def atomic_write(path, data):
  """Writes text or bytes to `path` through a temporary sibling and a rename, so a reader
  (or a crash) never sees half a file; the folder is created."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp-{os.getpid()}'
  with open(tmp, 'wb' if isinstance(data, bytes) else 'w',
            **({} if isinstance(data, bytes) else {'encoding': 'utf-8'})) as f:
    f.write(data)
  os.replace(tmp, path)
  return path


def latest_checkpoint(workdir):
  """The newest checkpoint's path prefix, or None."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf.train.latest_checkpoint(checkpoint_dir(workdir))


def step_of(checkpoint) -> int | None:
  """The training step stored in a checkpoint (None if it has none)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  reader = tf.train.load_checkpoint(checkpoint)
  return int(reader.get_tensor(STEP_KEY)) if reader.has_tensor(STEP_KEY) else None


def latest_step(workdir) -> int:
  """The step of the newest checkpoint of a workdir (0 when there is none)."""
  latest = latest_checkpoint(workdir)
  return (step_of(latest) or 0) if latest else 0


UNREADABLE = 'unreadable'  # checkpoints/unreadable/: checkpoints that failed to read


class NoReadableCheckpoint(RuntimeError):
  """Every checkpoint of a workdir failed to read back (they were moved aside)."""


def _all_checkpoints(workdir):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  state = tf.train.get_checkpoint_state(checkpoint_dir(workdir))
  if state is None:
    return []
  paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
  if state.model_checkpoint_path and state.model_checkpoint_path not in paths:
    paths.append(state.model_checkpoint_path)
  return [p if os.path.isabs(p) else os.path.join(checkpoint_dir(workdir), p) for p in paths]


def check_readable(path):
  """Reads every tensor of a checkpoint (their checksums are verified on read); raises what
  the read raised."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  reader = tf.train.load_checkpoint(path)
  for name in reader.get_variable_to_shape_map():
    reader.get_tensor(name)


def newest_readable_checkpoint(workdir, log=print):
  """The newest checkpoint of the workdir that reads back whole, or None.

  A newer one that does not read (cut short by a crash or a full disk, damaged on disk) is
  moved, with its files, to checkpoints/unreadable/ (nothing is deleted), the checkpoint
  index is pointed at the one used, and `log` says which and why."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  paths = _all_checkpoints(workdir)
  chosen, bad = None, []
  for path in reversed(paths):
    try:
      check_readable(path)
      chosen = path
      break
    except (tf.errors.OpError, ValueError, OSError) as e:
      reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
      log(f'checkpoint {path} cannot be read ({reason}); falling back to an older one.')
      bad.append(path)
  if bad:
    aside = os.path.join(checkpoint_dir(workdir), UNREADABLE)
    os.makedirs(aside, exist_ok=True)
    for path in bad:
      for f in tf.io.gfile.glob(path + '.*'):
        os.replace(f, os.path.join(aside, os.path.basename(f)))
    kept = [p for p in paths if p not in bad]
    if kept:
      tf.compat.v1.train.update_checkpoint_state(
          checkpoint_dir(workdir), chosen, all_model_checkpoint_paths=kept)
    else:
      os.replace(os.path.join(checkpoint_dir(workdir), 'checkpoint'),
                 os.path.join(aside, 'checkpoint'))
      raise NoReadableCheckpoint(f'no checkpoint of {workdir} reads back; they were moved to {aside}. '
                         f'Rerun to start the run again from step 0.')
    log(f'moved {len(bad)} unreadable checkpoint(s) to {aside}; resuming from {chosen}.')
  return chosen


SUPERSEDED = 'superseded'  # checkpoints/superseded-<time>/: newer than a chosen start


def find_checkpoint(workdir, wanted):
  """The checkpoint `wanted` of the workdir (a step N, 'ckpt-N' or its path); ValueError
  listing the checkpoints there when it is not one of them or does not read back."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  paths = _all_checkpoints(workdir)
  text = str(wanted).strip()
  name = f'ckpt-{int(text)}' if text.isdigit() else os.path.basename(text)
  chosen = next((p for p in paths if os.path.basename(p) == name), None)
  if chosen is None:
    have = ', '.join(os.path.basename(p) for p in paths) or 'none'
    raise ValueError(f'train.resume_from={text!r}: no such checkpoint in '
                     f'{checkpoint_dir(workdir)} (it has: {have})')
  try:
    check_readable(chosen)
  except (tf.errors.OpError, ValueError, OSError) as e:
    raise ValueError(f'train.resume_from: {chosen} cannot be read ({str(e).splitlines()[0]})'
                     ) from e
  return chosen


def supersede_newer(workdir, chosen, log=print) -> str | None:
  """Makes `chosen` the checkpoint a resume starts from: every newer one is moved with its
  files to checkpoints/superseded-<UTC time>/ (nothing is deleted; the run will write its
  own checkpoints of those steps) and the index points at `chosen`. Returns that folder."""
  import datetime  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  paths = _all_checkpoints(workdir)
  keep = paths[:paths.index(chosen) + 1]
  newer, aside = paths[len(keep):], None
  if newer:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
    aside = os.path.join(checkpoint_dir(workdir), f'{SUPERSEDED}-{stamp}')
    os.makedirs(aside, exist_ok=True)
    for path in newer:
      for f in tf.io.gfile.glob(path + '.*'):
        os.replace(f, os.path.join(aside, os.path.basename(f)))
    log(f'Starting again from {os.path.basename(chosen)}: moved the newer checkpoint(s) '
        f'{", ".join(os.path.basename(p) for p in newer)} to {aside}.')
  tf.compat.v1.train.update_checkpoint_state(checkpoint_dir(workdir), chosen,
                                             all_model_checkpoint_paths=keep)
  return aside


def untracked_weights(model) -> list:
  """Weights of `model` that tf.train.Checkpoint does not reach (so checkpoints lack them).

  In Keras 3 a Python list of layers held by a custom Layer is not tracked for
  tf.train.Checkpoint; such weights would silently keep their initial values on restore.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tracked = {id(o) for o in tf.train.TrackableView(model).descendants()}
  return [w for w in model.weights if id(w) not in tracked]
