"""The model of a training run, restored from its workdir (recipe.json and the newest
checkpoint): what export, evaluate and the serving benchmark start from."""
import keras
import tensorflow as tf

from tfi2i import config as config_lib
from tfi2i import precision as precision_lib
from tfi2i import workdir as workdir_lib
from tfi2i.models import build_model
from tfi2i.models import placement


def restore_model(workdir: str, mode: str | None = None, precision: str = 'float32',
                  step: int | None = None):
  """(model, config, step, checkpoint path) from WORKDIR's recipe.json and newest checkpoint
  (with `step`: the checkpoint of that step; a FileNotFoundError naming the steps there
  are when there is none, the read's error when it does not read back).

  The model is built under the Keras dtype policy `precision` (workdir_lib.PRECISIONS; 'auto'
  as tfi2i.precision chooses;
  float32 by default, whatever `train.precision` was: the checkpointed weights are float32 either
  way), in inference mode `mode` (one of the model's `inference_modes`, e.g. pix2pix's
  'eval'; a ValueError for a model without it; the returned config holds the mode's
  values). Only what the endpoints use is restored.
  Raises FileNotFoundError without a checkpoint, RuntimeError when some model weights
  cannot be checkpointed, and AssertionError when the checkpoint does not match the recipe.
  """
  if precision not in workdir_lib.PRECISIONS:
    raise ValueError(f'precision must be one of {workdir_lib.PRECISIONS}, got {precision!r}')
  precision = precision_lib.choose(precision).policy
  config = config_lib.load_workdir_recipe(workdir)
  if step is not None:
    latest = _checkpoint_of_step(workdir, int(step))
  else:  # the newest checkpoint that reads back (a damaged newer one is named and skipped)
    latest = workdir_lib.newest_readable_checkpoint(workdir, move=False)
  if not latest and workdir_lib.checkpoint_paths(workdir):
    raise FileNotFoundError(f'none of the checkpoints of {workdir_lib.checkpoint_dir(workdir)} '
                            'reads back (each was named above)')
  if not latest:
    raise FileNotFoundError(f'no checkpoint in {workdir_lib.checkpoint_dir(workdir)}: train '
                            f'first (python -m tfi2i.train --workdir={workdir} ...)')
  previous = keras.mixed_precision.global_policy().name
  keras.mixed_precision.set_global_policy(precision)
  try:
    model = build_model(config, mode=mode)
    model.build_endpoints()
  finally:
    keras.mixed_precision.set_global_policy(previous)
  where = placement(type(model))
  for key, value in (type(model).inference_modes.get(mode, {}) if mode else {}).items():
    section, name = where[key]
    config[section][name] = value  # as built
  missing = workdir_lib.untracked_weights(model)
  if missing:
    names = ', '.join(sorted({w.path for w in missing})[:8])
    raise RuntimeError(
        f'{len(missing)} weights of {type(model).__name__} are not tracked by '
        f'tf.train.Checkpoint ({names}, ...): checkpoints do not hold them, so an export '
        'would contain their initial values. Assign each sub-layer to its own attribute '
        '(Keras 3 does not track lists of layers for tf.train.Checkpoint).')
  status = tf.train.Checkpoint(model=model).restore(latest).expect_partial()
  try:
    status.assert_existing_objects_matched()
  except AssertionError as e:
    detail = str(e) if len(str(e)) < 600 else str(e)[:600] + ' ...'
    raise AssertionError(f'checkpoint {latest} does not match the model of '
                         f'{workdir}/{workdir_lib.RECIPE}: {detail}') from None
  return model, config, workdir_lib.step_of(latest), latest


def _checkpoint_of_step(workdir: str, step: int) -> str:
  paths = workdir_lib.checkpoint_paths(workdir)
  chosen = workdir_lib.checkpoint_called(paths, step)
  if chosen is None:
    steps = ', '.join(str(workdir_lib.step_of_name(p)) for p in paths) or 'none'
    raise FileNotFoundError(f'no checkpoint of step {step} in '
                            f'{workdir_lib.checkpoint_dir(workdir)} (steps there: {steps})')
  workdir_lib.check_readable(chosen)
  return chosen
