"""A training run's folder (the workdir): its layout, its newest checkpoint, and restoring
the model from it. The one place that spells the layout:

  WORKDIR/recipe.json          the resolved recipe (RECIPE)
  WORKDIR/run.json             the images it was started on (training/resume.py)
  WORKDIR/.lock                held by the run training in the workdir (RunLock)
  WORKDIR/resume_from.json     the train.resume_from a run already applied
  WORKDIR/image_check.json     what the start-up check decoded (data/scan.py cached_in)
  WORKDIR/loss_log.txt         the losses every train.log_every steps
  WORKDIR/checkpoints/ckpt-N   tf.train.Checkpoint(step=..., model=...) (CHECKPOINTS);
                               checkpoints/checkpoint: the index (INDEX);
                               checkpoints/history.json: which are history, which recent
                               saves (training/checkpoints.py);
                               checkpoints/unreadable/: ones that failed to read back
  WORKDIR/train/               TensorBoard events (EVENTS)
  WORKDIR/export/<version>/    SavedModels, TF Serving's layout (EXPORT)
  WORKDIR/eval/                tfi2i.evaluate results (EVAL)
"""
import datetime
import fcntl
import json
import os
import socket
import sys

RECIPE = 'recipe.json'
CHECKPOINTS = 'checkpoints'
EVENTS = 'train'
EXPORT = 'export'
EVAL = 'eval'
STEP_KEY = 'step/.ATTRIBUTES/VARIABLE_VALUE'  # the step's key in a checkpoint
# Keras dtype policies a restored model may compute in ('auto': tfi2i/precision.py)
PRECISIONS = ('float32', 'mixed_bfloat16', 'auto')


LOCK = '.lock'
RESUME_FROM = 'resume_from.json'
IMAGE_CHECK = 'image_check.json'


class WorkdirBusy(RuntimeError):
  """Another training run holds the workdir."""


class RunLock:
  """Held by a training run for its whole length, so that a second run in the same workdir
  (a sweep reusing --workdir, a scheduler requeueing a job whose first copy still runs) is
  refused, naming the first run's host and pid, instead of both writing checkpoints and
  recipe.json over each other.

  A POSIX lock (fcntl.lockf) on WORKDIR/.lock: the system releases it when its process
  dies, however it dies, so a lock left by a dead run is taken over (with a message naming
  it); it works across hosts on NFS where NFS locking works. The file holds who holds it;
  a run that ends empties it."""

  def __init__(self, workdir, log=print):
    self.path, self.log, self.fd = os.path.join(workdir, LOCK), log, None

  def _holder(self) -> str:
    try:
      text = os.pread(self.fd, 4096, 0).decode('utf-8', 'replace').strip()
      info = json.loads(text) if text else {}
      return (f"host {info.get('host')}, pid {info.get('pid')}, started "
              f"{info.get('started')}: {info.get('command')}") if info else ''
    except (OSError, ValueError, AttributeError):
      return ''

  def __enter__(self):
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      holder = self._holder() or 'its holder did not say who it is'
      os.close(self.fd)
      self.fd = None
      raise WorkdirBusy(
          f'{os.path.dirname(self.path)} is in use by another training run ({holder}). '
          'Wait for it to end or stop it, or give this run another --workdir.') from None
    previous = self._holder()
    if previous:
      self.log(f'Taking over the workdir lock of a run that is no longer running '
               f'({previous}).')
    info = {'host': socket.gethostname(), 'pid': os.getpid(),
            'started': datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec='seconds'),
            'command': ' '.join(sys.argv)[:500]}
    os.ftruncate(self.fd, 0)
    os.pwrite(self.fd, json.dumps(info).encode('utf-8'), 0)
    os.fsync(self.fd)
    return self

  def __exit__(self, *exc):
    if self.fd is not None:
      try:
        os.ftruncate(self.fd, 0)
      finally:
        os.close(self.fd)  # releases the lock
        self.fd = None


def checkpoint_dir(workdir):
  return os.path.join(workdir, CHECKPOINTS)


def export_dir(workdir):
  return os.path.join(workdir, EXPORT)


def events_dir(workdir):
  return os.path.join(workdir, EVENTS)


def eval_dir(workdir):
  return os.path.join(workdir, EVAL)


def atomic_write(path, data):
  """Writes text or bytes to `path` through a temporary sibling, flushed to disk, and a
  rename (then the folder's entry flushed too), so a reader, a crash or a power cut never
  sees half a file; the folder is created."""
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  tmp = f'{path}.tmp-{os.getpid()}'
  try:
    with open(tmp, 'wb' if isinstance(data, bytes) else 'w',
              **({} if isinstance(data, bytes) else {'encoding': 'utf-8'})) as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise
  try:
    fd = os.open(folder, os.O_RDONLY)
  except OSError:  # a folder that cannot be opened (some platforms): the rename stands
    return path
  try:
    os.fsync(fd)
  except OSError:
    pass
  finally:
    os.close(fd)
  return path


def latest_checkpoint(workdir):
  """The newest checkpoint's path prefix, or None (the index rebuilt from the checkpoint
  files when it is missing or unreadable: see checkpoint_paths)."""
  paths = checkpoint_paths(workdir)
  return paths[-1] if paths else None


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


INDEX = 'checkpoint'  # checkpoints/checkpoint: TF's index of the checkpoints


def step_of_name(path) -> int:
  """N of a checkpoint path ckpt-N (-1 for another name)."""
  tail = os.path.basename(path).rsplit('-', 1)[-1]
  return int(tail) if tail.isdigit() else -1


def checkpoint_files(workdir) -> list:
  """Path prefixes of the checkpoints whose files are in checkpoints/ (ckpt-N.index), by
  step, whatever the index says."""
  folder = checkpoint_dir(workdir)
  if not os.path.isdir(folder):
    return []
  found = [os.path.join(folder, n[:-len('.index')]) for n in os.listdir(folder)
           if n.startswith('ckpt-') and n.endswith('.index')
           and n[len('ckpt-'):-len('.index')].isdigit()]
  return sorted(found, key=step_of_name)


def write_index(workdir, paths):
  """Points checkpoints/checkpoint at `paths` (oldest first; the last is the newest)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if paths:  # relative: a workdir copied or moved elsewhere keeps its index
    tf.__internal__.train.update_checkpoint_state(
        checkpoint_dir(workdir), paths[-1], all_model_checkpoint_paths=list(paths),
        save_relative_paths=True)


def checkpoint_paths(workdir, log=print) -> list:
  """The workdir's checkpoints, oldest first, as its index lists them. An index that is
  missing or unreadable while checkpoint files are there is never taken for "no
  checkpoint" (which would start the run again at step 0 over them): it is rebuilt from
  the files (the unreadable one kept as checkpoint.unreadable-<time>) and `log` says so.
  Listed checkpoints whose files are gone are left out."""
  import datetime  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  folder = checkpoint_dir(workdir)
  index = os.path.join(folder, INDEX)
  files = checkpoint_files(workdir)
  state, problem = None, None
  if os.path.exists(index):
    try:
      state = tf.train.get_checkpoint_state(folder)
      if state is None or not state.model_checkpoint_path:
        problem = 'it lists no checkpoint'
    except Exception as e:  # pylint: disable=broad-except  (a protobuf text parse error)
      first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ''
      problem = f'{type(e).__name__}: {first}'
  elif files:
    problem = 'it is missing'
  if problem is None and state is not None:
    listed = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    if state.model_checkpoint_path not in listed:
      listed.append(state.model_checkpoint_path)
    # get_checkpoint_state has already joined relative entries to `folder` (itself relative
    # when the workdir is given relative, as `make demo`'s runs/demo): joining again would
    # name files that do not exist, and the run would look as if it had no checkpoint
    return [p for p in listed if os.path.exists(p + '.index')]
  if not files:
    return []
  if os.path.exists(index):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
    os.replace(index, f'{index}.unreadable-{stamp}')
  write_index(workdir, files)
  log(f'The checkpoint index {index} was unreadable ({problem}); rebuilt it from the '
      f'{len(files)} checkpoint file(s) there: {", ".join(os.path.basename(p) for p in files)}.')
  return files


def check_readable(path):
  """Reads every tensor of a checkpoint (their checksums are verified on read); raises what
  the read raised."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  reader = tf.train.load_checkpoint(path)
  for name in reader.get_variable_to_shape_map():
    reader.get_tensor(name)


def newest_readable_checkpoint(workdir, log=print, move=True):
  """The newest checkpoint of the workdir that reads back whole, or None.

  A newer one that does not read (cut short by a crash or a full disk, damaged on disk) is
  skipped and `log` says which and why; with `move` (a training run taking the workdir
  over) it is moved, with its files, to checkpoints/unreadable/ (nothing is deleted) and
  the checkpoint index is pointed at the one used. Readers (export, evaluate) leave the
  workdir as it is."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  paths = checkpoint_paths(workdir)
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
  if bad and not move:
    if chosen:
      log(f'using {chosen}, the newest checkpoint that reads back.')
    return chosen
  if bad:
    aside = os.path.join(checkpoint_dir(workdir), UNREADABLE)
    os.makedirs(aside, exist_ok=True)
    for path in bad:
      for f in tf.io.gfile.glob(path + '.*'):
        os.replace(f, os.path.join(aside, os.path.basename(f)))
    kept = [p for p in paths if p not in bad]
    if kept:
      write_index(workdir, kept)
    else:
      os.replace(os.path.join(checkpoint_dir(workdir), 'checkpoint'),
                 os.path.join(aside, 'checkpoint'))
      raise NoReadableCheckpoint(f'no checkpoint of {workdir} reads back; they were moved to '
                                 f'{aside}. Rerun to start the run again from step 0.')
    log(f'moved {len(bad)} unreadable checkpoint(s) to {aside}; resuming from {chosen}.')
  return chosen


SUPERSEDED = 'superseded'  # checkpoints/superseded-<time>/: newer than a chosen start


def checkpoint_called(paths, wanted):
  """The path of `paths` that is checkpoint `wanted` (a step N, 'ckpt-N' or its path: step
  N is written to ckpt-N), or None."""
  text = str(wanted).strip()
  name = f'ckpt-{int(text)}' if text.isdigit() else os.path.basename(text)
  return next((p for p in paths if os.path.basename(p) == name), None)


def find_checkpoint(workdir, wanted):
  """The checkpoint `wanted` of the workdir (a step N, 'ckpt-N' or its path); ValueError
  listing the checkpoints there when it is not one of them or does not read back."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  paths = checkpoint_paths(workdir)
  text = str(wanted).strip()
  chosen = checkpoint_called(paths, text)
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
  paths = checkpoint_paths(workdir)
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
  write_index(workdir, keep)
  return aside


def untracked_weights(model) -> list:
  """Weights of `model` that tf.train.Checkpoint does not reach (so checkpoints lack them).

  In Keras 3 a Python list of layers held by a custom Layer is not tracked for
  tf.train.Checkpoint; such weights would silently keep their initial values on restore.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tracked = {id(o) for o in tf.train.TrackableView(model).descendants()}
  return [w for w in model.weights if id(w) not in tracked]
