"""The training loop: strategy, data, model, optimizers, checkpoints, summaries, NaN guard.

A custom loop (`strategy.run(model.train_step)` inside a tf.function) rather than
`model.fit`: it works the same for the default strategy, MirroredStrategy and
MultiWorkerMirroredStrategy (keras issue 20585), and lets a run resume at the exact step.
Resume needs no iterator state: the data stream is a pure function of (seed, step).
"""
import dataclasses
import json
import os
import signal
import sys
import threading
import time

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from tfi2i import config as recipe_lib
from tfi2i import precision as precision_lib
from tfi2i import data
from tfi2i import export as export_lib
from tfi2i import workdir as workdir_lib
from tfi2i.data import scan
from tfi2i.models import build_model
from tfi2i.schema.train import profile_range
from tfi2i.versions import read_metadata
from tfi2i.training import checkpoints
from tfi2i.training import optimizers as optimizers_lib
from tfi2i.training import resume
from tfi2i.training import summaries
from tfi2i.training.strategy import make_strategy

LOSS_LOG = 'loss_log.txt'  # in the workdir: the losses every train.log_every steps


class TrainingDiverged(RuntimeError):
  """A loss became NaN or Inf; the last good checkpoint was left as it was."""


class BadImageInTraining(data.DataError):
  """An image failed to decode mid-run (changed or removed after the start-up check, a bad
  TFDS record); a checkpoint of the last finished step was written."""


_LISTED_FILES = 20
# the ops that hand a step its batch: an error raised there is the input pipeline's (a file
# gone, unreadable, replaced by a folder, a stale NFS handle, too many open files, ...)
_INPUT_OPS = ('IteratorGetNext', 'MultiDeviceIteratorGetNextFromShard')


def from_input_pipeline(e) -> bool:
  """Whether a step's error came from reading its batch (not from the model's maths)."""
  text = str(getattr(e, 'message', '') or e)
  return any(op in text for op in _INPUT_OPS) or 'decode' in text.lower()


def _first_line(e) -> str:
  text = str(getattr(e, 'message', '') or e).strip()
  return text.splitlines()[0][:400] if text else type(e).__name__


def step_files(info, step: int, per_step: int, batch_size: int) -> list:
  """The files of 1-based training step `step` ([] when the stream cannot say: TFDS)."""
  if info is None or info.sample_files is None:
    return []
  count = per_step * batch_size
  return [p for sample in info.sample_files((step - 1) * count, count) for p in sample]


def _listed(paths) -> str:
  shown = '\n'.join(f'  {p}' for p in paths[:_LISTED_FILES])
  more = len(paths) - _LISTED_FILES
  return shown + (f'\n  ... and {more} more' if more > 0 else '')


@dataclasses.dataclass
class TrainResult:
  step: int
  total_steps: int
  logs: dict
  checkpoint: str | None
  export_dir: str | None = None
  interrupted: bool = False
  stopped_by: str | None = None  # 'SIGINT' / 'SIGTERM' / 'a second SIGINT'


def is_chief(strategy) -> bool:
  """True unless this process is a non-chief worker of a multi-worker strategy."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.task_type:
    return True
  has_chief = 'chief' in resolver.cluster_spec().as_dict()
  return resolver.task_type == 'chief' or (
      not has_chief and resolver.task_type == 'worker' and resolver.task_id == 0)


class _Precision:
  """Sets the Keras dtype policy for the duration of a run."""

  def __init__(self, name):
    self.name = name

  def __enter__(self):
    self.previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(self.name)

  def __exit__(self, *exc):
    keras.mixed_precision.set_global_policy(self.previous)


def train(config, workdir, *, strategy=None, export=None, stop_at=None) -> TrainResult:
  """Trains (or resumes) the recipe in `workdir`; returns where it stopped. stop_at: stop
  (with a checkpoint) after that step, as a preempted run would, without changing the
  run's length (the schedule still spans all of it). The workdir is locked for the run
  (workdir.RunLock: a second run there is refused)."""
  recipe_lib.check_recipe(config)
  t = config.train
  strategy = strategy or make_strategy(t.strategy)
  chief = is_chief(strategy)
  if not chief:
    # Other workers of a MultiWorkerMirroredStrategy take part in every save (it is a
    # collective op) but write to a scratch folder of their own; only the chief writes the
    # workdir (recipe, checkpoints, events, export).
    workdir = os.path.join(workdir, '.workers', f'{strategy.cluster_resolver.task_type}-'
                           f'{strategy.cluster_resolver.task_id}')
  os.makedirs(workdir, exist_ok=True)
  replicas = strategy.num_replicas_in_sync
  if t.batch_size % replicas:
    raise recipe_lib.RecipeError(
        f'train.batch_size={t.batch_size} must be divisible by the {replicas} replicas')
  with workdir_lib.RunLock(workdir), scan.cached_in(
      os.path.join(workdir, workdir_lib.IMAGE_CHECK)):
    checkpoints.remove_leftovers(workdir)
    result, total_steps = _train_locked(config, workdir, strategy, stop_at)
    do_export = (config.export.at_end if export is None else export) and chief
    if do_export and not result.interrupted and result.step >= total_steps:
      done = _exported_from(workdir, result.checkpoint, config.export.mode or None,
                            config.export.precision)
      if done:
        print(f'{os.path.basename(result.checkpoint)} is already exported as {done}; not '
              'exported again.')
        result.export_dir = done
      else:
        result.export_dir = export_lib.export_workdir(
            workdir, mode=config.export.mode or None, precision=config.export.precision)
        print(f'Exported to {result.export_dir}')
  return result


def _exported_from(workdir, checkpoint, mode, precision) -> str | None:
  """The newest export version of `workdir` made from `checkpoint` in that mode and
  precision, or None (a finished run's command run again does not export again)."""
  base = workdir_lib.export_dir(workdir)
  if not checkpoint or not os.path.isdir(base):
    return None
  policy = precision_lib.choose(precision).policy  # what an export of it records
  for version in reversed(export_lib.existing_versions(base)):
    path = os.path.join(os.path.abspath(base), str(version))
    info = read_metadata(path)
    if (info.get('checkpoint') == os.path.basename(checkpoint) and info.get('mode') == mode
        and info.get('precision') == policy):
      return path
  return None


def _start_checkpoint(workdir, t):
  """(checkpoint to start from or None, whether it rewinds the run). train.resume_from acts
  once: the workdir records it (resume_from.json), and the same command run again (a
  requeued job, "rerun the same command" after a stop) continues from the newest
  checkpoint instead of rewinding again."""
  if not t.resume_from:
    return workdir_lib.newest_readable_checkpoint(workdir), False
  record = os.path.join(workdir, workdir_lib.RESUME_FROM)
  applied = {}
  if os.path.isfile(record):
    try:
      with open(record, encoding='utf-8') as f:
        applied = json.load(f)
    except (OSError, ValueError):
      applied = {}
  if applied.get('value') == str(t.resume_from):
    newest = workdir_lib.newest_readable_checkpoint(workdir)
    print(f'train.resume_from={t.resume_from} was applied on {applied.get("applied")} (the '
          f'run started again from {applied.get("checkpoint")}); continuing from the newest '
          f'checkpoint, {os.path.basename(newest) if newest else "none"}. (To start again '
          f'from {applied.get("checkpoint")} once more, delete {record}.)')
    return newest, False
  try:
    return workdir_lib.find_checkpoint(workdir, t.resume_from), True
  except ValueError as e:
    raise recipe_lib.RecipeError(str(e)) from e


def _train_locked(config, workdir, strategy, stop_at):
  t = config.train
  resume_from, rewind = _start_checkpoint(workdir, t)
  start_step = (workdir_lib.step_of(resume_from) or 0) if resume_from else 0
  # 'auto' becomes a policy here, printed and recorded in recipe.json ('resolved')
  precision = precision_lib.choose(t.precision)
  print(precision.line(), flush=True)

  with _Precision(precision.policy):
    keras.utils.set_random_seed(t.seed)
    with strategy.scope():
      step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
      model = build_model(config)
    # A step takes the model's `batches_per_step` batches (k critic steps + a generator
    # step): the data stream, a pure function of the batch index, resumes at start_step * k.
    per_step = int(model.batches_per_step)
    dataset, info = data.stream(model.data_stream).train(
        config.data, batch_size=t.batch_size, seed=t.seed, start_step=start_step * per_step)
    steps_per_epoch = max(1, -(-info.steps_per_epoch // per_step))
    epochs = config.schedule.n_epochs + config.schedule.n_epochs_decay
    total_steps = t.steps or epochs * steps_per_epoch
    logging.info('data: %s', info)
    # a resume must continue the run it finds: checked before anything is written
    resume.check(workdir, config, info.identity, start_step)
    with strategy.scope():
      model.compile(**optimizers_lib.make_optimizers(
          model, config, steps_per_epoch, total_steps, step=step, precision=precision.policy))
      model.build_for_training(dataset.element_spec)
      seeds = model.random_states()  # dropout's streams: not reached through the model
      checkpoint = tf.train.Checkpoint(step=step, model=model, seeds=seeds)
    if resume_from:  # restored before the workdir is changed in any way
      if seeds and not _has_seeds(resume_from):
        # a checkpoint written before the seeds were saved: everything else restores exactly
        print(f'{resume_from} predates saving the dropout random streams: they start again '
              'from their initial state (the run is no longer bit for bit an uninterrupted '
              'one).')
        tf.train.Checkpoint(step=step, model=model).restore(
            resume_from).assert_existing_objects_matched()
      else:
        checkpoint.restore(resume_from).assert_existing_objects_matched()
    if rewind:
      workdir_lib.supersede_newer(workdir, resume_from)
      workdir_lib.atomic_write(os.path.join(workdir, workdir_lib.RESUME_FROM), json.dumps({
          'value': str(t.resume_from), 'checkpoint': os.path.basename(resume_from),
          'applied': time.strftime('%Y-%m-%dT%H:%M:%S%z')}))
    resume.save(workdir, config, info.identity, precision)
    if resume_from:
      print(f'Resuming from {resume_from} at step {int(step.numpy())}.')
    history = checkpoints.History(checkpoint, workdir, every=t.checkpoint_every,
                                  keep=t.keep_checkpoints, keep_every=t.keep_every_steps,
                                  total_steps=total_steps)

    def rebuild(at):
      """The stream again from step `at`: its start-up check leaves out (on_bad_image=skip)
      the files that no longer decode; run.json takes the new image list so that a resume
      checks against what this run trains on."""
      fresh, fresh_info = data.stream(model.data_stream).train(
          config.data, batch_size=t.batch_size, seed=t.seed, start_step=at * per_step)
      resume.save(workdir, config, fresh_info.identity, precision)
      return fresh, fresh_info

    result = _run(model, strategy, dataset, step, history, workdir, t, total_steps, stop_at,
                  info=info, rebuild=rebuild,
                  on_bad_image=config.data.on_bad_image)
  return result, total_steps


class CheckpointWriteError(RuntimeError):
  """A checkpoint could not be written (disk full, permissions); the previous ones are kept."""


_SAVE, _STOP = 1, 2  # requests a process makes to the loop (a checkpoint; a checkpoint and stop)
_STOP_WEIGHT = 2.0 ** 20  # a STOP's weight in the sum of the requests of all replicas


class _StopSignals:
  """SIGINT (Ctrl-C), SIGTERM (a scheduler, `docker stop`, a spot VM) and SIGHUP (the
  terminal or ssh session went away) ask the loop to stop at the next step boundary, where it saves the step just finished. A second Ctrl-C stops
  at once, without saving the step in progress (its update may be half applied). Handlers
  are installed only in the main thread and restored afterwards."""

  def __init__(self):
    self.received = None

  def __enter__(self):
    self.previous = {}
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        self.previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    if self.received is not None and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.received = signal.Signals(signum).name
    print(f'\n{self.received} received: stopping after this step with a checkpoint '
          f'(Ctrl-C again to stop at once without saving the step in progress).', flush=True)

  def __exit__(self, *exc):
    for sig, handler in self.previous.items():
      signal.signal(sig, handler)


class _Progress:
  """Progress of a run: on a terminal one line rewritten each step; otherwise (a log file, a
  pipe) a plain line every `every` steps, without control codes. Speed and ETA count only
  the steps this process ran (after its first, which traces the step), so they are right
  after a resume. Each `every` steps the losses are also appended to WORKDIR/loss_log.txt,
  as the official code's loss_log.txt."""

  def __init__(self, total, start, every, log_path, stream=None):
    self.total, self.every, self.log_path = total, every, log_path
    self.stream = stream or sys.stdout
    self.tty = hasattr(self.stream, 'isatty') and self.stream.isatty()
    self.first = None  # (step, time) after the first step of this process
    self.start = start
    with open(log_path, 'a', encoding='utf-8') as f:
      f.write(f'================ Training Loss ({time.strftime("%c")}), from step {start} '
              f'================\n')

  def _rate(self, current):
    if self.first is None or current <= self.first[0]:
      return None
    return (time.monotonic() - self.first[1]) / (current - self.first[0])

  def update(self, current, logs):
    if self.first is None:
      self.first = (current, time.monotonic())
    rate = self._rate(current)
    timing = '' if rate is None else (
        f' {rate:.3f} s/step, ETA {_clock(rate * (self.total - current))}')
    totals = ' '.join(f'{k} {v:.4g}' for k, v in logs.items() if k.endswith('total'))
    line = f'step {current}/{self.total}{timing}  {totals}'
    logged = current % self.every == 0 or current == self.total
    if self.tty:
      self.stream.write('\r' + line + '\033[K')
      self.stream.flush()
    elif logged:
      print(line, file=self.stream, flush=True)
    if logged:
      values = ' '.join(f'{k}: {v:.4g}' for k, v in logs.items())
      with open(self.log_path, 'a', encoding='utf-8') as f:
        f.write(f'(step: {current}, time: {rate or 0:.3f}) {values}\n')

  def close(self):
    if self.tty:
      self.stream.write('\n')
      self.stream.flush()


def _clock(seconds):
  seconds = int(max(0, seconds))
  h, rest = divmod(seconds, 3600)
  return f'{h}:{rest // 60:02d}:{rest % 60:02d}'


def _weights_finite(model) -> bool:
  checks = [tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(w)))
            for w in model.weights if tf.as_dtype(w.dtype).is_floating]
  return bool(tf.reduce_all(checks)) if checks else True


def _run(model, strategy, dataset, step, history, workdir, t, total_steps, stop_at=None,
         info=None, rebuild=None, on_bad_image='fail') -> TrainResult:
  iterator = iter(strategy.experimental_distribute_dataset(dataset))
  visual_batch = None  # the first batch of the run, shown every image_every (read after the
  # first step, whose own read of it names a file that fails to decode)
  train_step = model.train_step
  if t.jit_compile:
    train_step = tf.function(model.train_step, jit_compile=True)

  per_step = int(model.batches_per_step)

  @tf.function
  def one_step(iterator, request):
    batches = next(iterator) if per_step == 1 else tuple(next(iterator) for _ in range(per_step))
    per_replica = strategy.run(train_step, args=(batches,))
    logs = {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
            for k, v in per_replica.items()}
    finite = tf.reduce_all([tf.math.is_finite(v) for v in logs.values()])
    # what any worker asked for before this step (SAVE / STOP): every worker of a
    # multi-worker run takes part in each save (a collective), so they must agree
    # (ReduceOp has SUM and MEAN only: a STOP anywhere makes the sum >= _STOP_WEIGHT)
    weight = tf.where(request == _STOP, _STOP_WEIGHT, tf.cast(request, tf.float32))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM,
                            strategy.run(tf.identity, args=(weight,)), axis=None)
    wanted = tf.where(total >= _STOP_WEIGHT, _STOP, tf.where(total > 0, _SAVE, 0))
    return logs, finite, wanted

  panel_names = {}
  kept = model.inference_side_state()

  @tf.function
  def panels(batch):
    before = [tf.identity(v) for v in kept]  # read before the panels run the networks
    groups = {g: summaries.panel_kinds(ps) for g, ps in model.image_panels(batch).items()}
    # names and kinds, at trace time
    panel_names.update({g: [(name, kind) for name, _, kind in ps] for g, ps in groups.items()})
    out = {g: [image for _, image, _ in ps] for g, ps in groups.items()}
    with tf.control_dependencies(tf.nest.flatten(out)):
      for v, value in zip(kept, before):  # logging images changes nothing the run computes
        v.assign(value)
    return out

  writer = tf.summary.create_file_writer(workdir_lib.events_dir(workdir))
  start = int(step.numpy())
  progress = _Progress(total_steps, start, t.log_every, os.path.join(workdir, LOSS_LOG))
  logs, saved_path = {}, history.latest_checkpoint
  current = start
  started = last_save = time.monotonic()
  save_seconds = 60.0 * float(t.checkpoint_minutes)

  def save(at):
    """A checkpoint of step `at`, once its weights are checked finite."""
    nonlocal saved_path, last_save
    if at == _step_of(saved_path):
      return
    if not _weights_finite(model):
      raise TrainingDiverged(
          f'the weights after step {at} are not finite (NaN or Inf): not saved. Training '
          f'stopped; the last good checkpoint ({saved_path or "none"}) was left untouched. '
          f'Lower the learning rate or check the data.')
    try:
      saved_path = history.save(at)
    except (OSError, tf.errors.OpError) as e:
      checkpoints.remove_leftovers(workdir, log=logging.info)
      raise CheckpointWriteError(
          f'could not write the checkpoint of step {at} to {history.directory}: '
          f'{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__} '
          f'(disk full?). Training stopped; the previous checkpoint '
          f'({saved_path or "none"}) is kept. Free space and rerun the same command to '
          f'resume from it.') from None
    last_save = time.monotonic()

  multi_worker = bool(getattr(getattr(strategy, 'cluster_resolver', None), 'task_type', None))

  def _request():
    if signals.received:
      return _STOP
    return _SAVE if save_seconds and time.monotonic() - last_save >= save_seconds else 0

  stop_reason, skipped = None, []
  profile, profiling = profile_range(t.profile_steps), False
  with _StopSignals() as signals:
    try:
      last = total_steps if stop_at is None else min(total_steps, int(stop_at))
      while current < last:
        if profile and current + 1 == profile[0]:
          tf.profiler.experimental.start(workdir_lib.events_dir(workdir))
          profiling = True
        try:
          step_logs, finite, wanted = one_step(iterator, tf.constant(_request(), tf.int32))
        except tf.errors.OpError as e:
          bad = _failing_files(info, current + 1, per_step, t.batch_size)
          if not bad and not from_input_pipeline(e):
            raise  # the files of this step read and decode, and the error is the step's own
          scan.forget(p for p, _ in bad)  # decoded again by the next check
          save(current)
          if bad and on_bad_image == 'skip' and rebuild is not None:
            logging.warning('Step %d: %d image(s) no longer decode; leaving them out '
                            "(data.on_bad_image='skip') and going on:\n%s", current + 1,
                            len(bad), _listed([f'{p}: {m}' for p, m in bad]))
            skipped += [p for p, _ in bad]
            dataset, info = rebuild(current)
            iterator = iter(strategy.experimental_distribute_dataset(dataset))
            visual_batch = None
            continue
          if bad:
            what = f'an image of step {current + 1} failed to decode'
            where = f':\n{_listed([f"{p}: {m}" for p, m in bad])}\n'
          else:  # the read failed, the files are fine now (a passing fault) or unnamed
            files = step_files(info, current + 1, per_step, t.batch_size)
            what = f'reading the images of step {current + 1} failed ({_first_line(e)})'
            where = (f'; the step reads:\n{_listed(files)}\n' if files else
                     ' (a record of a source of records).\n')
          raise BadImageInTraining(
              f'{what}{where}Training stopped with a '
              f'checkpoint of step {current} ({saved_path}). Fix or remove the file(s) and '
              "rerun the same command to resume; with --recipe.data.on_bad_image=skip a run "
              'leaves files that fail out (the resume then asks for '
              '--recipe.train.resume=ignore_changes: the image list changed).') from None
        if not bool(finite):
          bad = {k: float(v) for k, v in step_logs.items() if not np.isfinite(float(v))}
          files = step_files(info, current + 1, per_step, t.batch_size)
          raise TrainingDiverged(
              f'non-finite loss at step {current + 1}: {bad}. Training stopped; the last good '
              f'checkpoint ({saved_path or "none"}) was left untouched. Lower the learning '
              'rate or check the data' + (f'; the step read:\n{_listed(files)}' if files
                                          else '.'))
        if visual_batch is None:
          visual_batch = next(iter(dataset))
        current += 1
        step.assign(current)
        logs = {k: float(v) for k, v in step_logs.items()}
        if profiling and current >= profile[1]:
          tf.profiler.experimental.stop()
          profiling = False
          print(f'Profiled steps {profile[0]}-{profile[1]}: TensorBoard\'s Profile tab '
                f'(tensorboard --logdir {workdir}; needs tensorboard-plugin-profile).',
                flush=True)
        if current % t.log_every == 0 or current == total_steps:
          with writer.as_default(step=current):
            for name, value in logs.items():  # 'group/name' logs keep their own group
              tf.summary.scalar(name if '/' in name else f'loss/{name}', value)
            for name in model.optimizer_names:
              tf.summary.scalar(f'learning_rate/{name}', float(getattr(model, name).learning_rate))
            tf.summary.scalar('steps_per_second', (current - start) / (time.monotonic() - started))
        if current % t.image_every == 0 or current == total_steps or current == start + 1:
          with writer.as_default(step=current):
            images = panels(visual_batch)
            summaries.write_panels(
                {g: [(name, image, kind) for (name, kind), image in zip(panel_names[g], images[g])]
                 for g in images}, step=current)
        # one process acts on its own requests at once; workers of a multi-worker run on
        # the requests all of them saw before this step
        wanted = int(wanted) if multi_worker else max(int(wanted), _request())
        if current % t.checkpoint_every == 0 or current in (total_steps, last) or wanted:
          save(current)
        progress.update(current, logs)  # the losses of this step, as the official log
        if wanted == _STOP:
          stop_reason = signals.received or 'a signal to another worker'
          break
    except KeyboardInterrupt:  # a second Ctrl-C: the step in progress is not saved
      stop_reason = 'a second SIGINT'
  if profiling:  # stopped inside the traced steps
    tf.profiler.experimental.stop()
  writer.flush()
  progress.close()
  if skipped:
    print(f'Left out {len(skipped)} image(s) that stopped decoding during the run '
          "(data.on_bad_image='skip'):\n" + _listed(skipped), flush=True)
  if stop_reason:
    print(f'\nStopped by {stop_reason} at step {current}; checkpoint {saved_path}. Rerun the '
          f'same command to resume.', flush=True)
    return TrainResult(current, total_steps, logs, saved_path, interrupted=True,
                       stopped_by=stop_reason)
  return TrainResult(current, total_steps, logs, saved_path)


def _has_seeds(path) -> bool:
  return any(name.startswith('seeds/') for name, _ in tf.train.list_variables(path))


def _failing_files(info, step, per_step, batch_size) -> list:
  """[(path, error)] of the files of `step` that fail the start-up check's decode now."""
  bad = []
  for path in dict.fromkeys(step_files(info, step, per_step, batch_size)):
    record = scan.scan_image(path)
    if record.error:
      bad.append((path, record.error))
  return bad


def _step_of(path):
  return int(path.rsplit('-', 1)[1]) if path else -1
