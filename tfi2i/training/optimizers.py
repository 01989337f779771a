"""The optimizers of a run, from the recipe's optimizer and schedule sections.

Each optimizer the model names (`model.optimizer_names`) gets an Adam with the shared
settings of `optimizer.*`, overridden by the keys set in its own section
(`optimizer.<name>.*`, None = shared). The learning-rate schedule reads the run's training
step (not the optimizer's own update count), so a critic updated k times per step decays
on the same clock as its generator.
"""
import keras
import tensorflow as tf

from tfi2i.schema import optimizer as optimizer_schema
from tfi2i.training.schedules import make_schedule


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
  optimizer_schema.check(config.optimizer, model.optimizer_names)
  optimizers = {}
  for name in model.optimizer_names:
    s = optimizer_schema.settings(config.optimizer, name)
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
