"""The optimizers of a run, from the recipe's optimizer and schedule sections.

Each optimizer the model names (`model.optimizer_names`) gets an Adam with the shared
settings of `optimizer.*`, overridden by the keys set in its own section
(`optimizer.<name>.*`, None = shared). The learning-rate schedule reads the run's training
step (not the optimizer's own update count), so a critic updated k times per step decays
on the same clock as its generator.
"""
import keras
import ml_collections
import tensorflow as tf

from tfi2i.config import RecipeError
from tfi2i.training.schedules import make_schedule

SETTINGS = ('lr', 'beta1', 'beta2', 'epsilon', 'weight_decay', 'weight_decay_mode')
WEIGHT_DECAY_MODES = ('coupled', 'decoupled')
DEFAULTS = {'epsilon': 1e-8, 'weight_decay': 0.0, 'weight_decay_mode': 'coupled'}


@keras.saving.register_keras_serializable('tfi2i')
class Adam(keras.optimizers.Adam):
  """Keras Adam with torch.optim.Adam's weight decay as an option, updated in place.

  * `l2` adds l2 * w to each gradient before the Adam moments (an L2 term, coupled), as
    torch's `weight_decay` does; Keras' own `weight_decay` decays the weights directly
    (decoupled, AdamW). The term is added per variable after the replicas' gradients are
    summed (under MirroredStrategy), once, as torch adds it after DDP's all-reduce.
  * A float32 variable is updated by TensorFlow's fused ResourceApplyAdam kernel: the same
    formula as Keras' update (epsilon added to sqrt(v) after the bias correction folded into
    the step size), computed in place, where Keras' element-wise version makes a few
    variable-sized temporaries (4 GB for the full U-GAT-IT's two 1 GB kernels).
  """

  def __init__(self, *args, l2=0.0, **kwargs):
    super().__init__(*args, **kwargs)
    self.l2 = float(l2)

  def update_step(self, gradient, variable, learning_rate):
    if self.l2:
      gradient = gradient + tf.cast(self.l2, gradient.dtype) * tf.cast(variable, gradient.dtype)
    dtype = variable.dtype
    if (self.amsgrad or isinstance(gradient, tf.IndexedSlices) or dtype != tf.float32
        or keras.backend.backend() != 'tensorflow'):
      return super().update_step(gradient, variable, learning_rate)
    index = self._get_variable_index(variable)
    step = tf.cast(self.iterations + 1, dtype)
    beta1, beta2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=_handle(variable), m=_handle(self._momentums[index]),
        v=_handle(self._velocities[index]), beta1_power=tf.pow(beta1, step),
        beta2_power=tf.pow(beta2, step), lr=tf.cast(learning_rate, dtype), beta1=beta1,
        beta2=beta2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))
    return None

  def get_config(self):
    return {**super().get_config(), 'l2': self.l2}


def _handle(variable):
  """The resource handle of a Keras or tf.Variable (the local copy inside a strategy's update)."""
  return (variable.value if isinstance(variable, keras.Variable) else variable).handle


def settings(optimizer_cfg, name) -> dict:
  """The resolved settings of optimizer `name`: its own keys, else the shared ones."""
  own = optimizer_cfg.get(name) or {}
  out = {}
  for key in SETTINGS:
    value = own.get(key) if hasattr(own, 'get') else None
    if value is None:
      value = optimizer_cfg.get(key, DEFAULTS.get(key))
    out[key] = value
  return out


def check_config(optimizer_cfg, optimizer_names):
  """RecipeError for keys of the optimizer section that no optimizer takes, a section
  that sets values for an optimizer the model does not have, or a bad weight_decay_mode."""
  for key, value in optimizer_cfg.items():
    if key in SETTINGS:
      continue
    if not isinstance(value, (ml_collections.ConfigDict, dict)):
      raise RecipeError(f'unknown recipe key optimizer.{key}: the optimizer section takes '
                        f'{", ".join(SETTINGS)} and a section per optimizer '
                        f'({", ".join(optimizer_names)})')
    for sub, v in value.items():
      if sub not in SETTINGS:
        raise RecipeError(f'unknown recipe key optimizer.{key}.{sub}; an optimizer takes '
                          f'{", ".join(SETTINGS)}')
      if v is not None and key not in optimizer_names:
        raise RecipeError(f'recipe key optimizer.{key}.{sub} is set, but this model has no '
                          f'{key} (its optimizers: {", ".join(optimizer_names)})')
  for name in optimizer_names:
    s = settings(optimizer_cfg, name)
    if s['weight_decay_mode'] not in WEIGHT_DECAY_MODES:
      raise RecipeError(f'optimizer {name}: weight_decay_mode is {s["weight_decay_mode"]!r}; '
                        f'expected one of {WEIGHT_DECAY_MODES}')
    if s['lr'] is None or s['lr'] < 0:
      raise RecipeError(f'optimizer {name}: lr must be >= 0, got {s["lr"]}')


class _StepSchedule(keras.optimizers.schedules.LearningRateSchedule):
  """A schedule of the run's training step (a tf.Variable) instead of the optimizer's
  iteration count."""

  def __init__(self, schedule, step):
    self.schedule, self.step = schedule, step

  def __call__(self, iterations):
    del iterations
    return self.schedule(self.step.read_value())

  def get_config(self):
    return {}


def make_optimizers(model, config, steps_per_epoch, total_steps=None, step=None,
                    precision=None) -> dict:
  """{name: optimizer} for `model.compile`.

  steps_per_epoch, total_steps: the schedule's clock (training steps). step: the run's step
  variable the schedule reads (None: the optimizer's own iteration count). precision
  'mixed_float16' wraps each optimizer in a LossScaleOptimizer (dynamic loss scaling;
  models apply gradients with TranslationModel.apply_gradients, which scales the loss).
  """
  check_config(config.optimizer, model.optimizer_names)
  optimizers = {}
  for name in model.optimizer_names:
    s = settings(config.optimizer, name)
    schedule = make_schedule(s['lr'], config.schedule, steps_per_epoch, total_steps)
    if step is not None and not isinstance(schedule, float):
      schedule = _StepSchedule(schedule, step)
    decoupled = s['weight_decay_mode'] == 'decoupled' and s['weight_decay'] > 0
    optimizer = Adam(learning_rate=schedule, beta_1=s['beta1'], beta_2=s['beta2'],
                     epsilon=s['epsilon'], weight_decay=s['weight_decay'] if decoupled else None,
                     l2=0.0 if decoupled else s['weight_decay'], name=name)
    if precision == 'mixed_float16':
      optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=name)
    optimizers[name] = optimizer
  return optimizers
