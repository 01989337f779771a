"""Learning-rate schedules (official models/networks.py get_scheduler)."""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable('tfi2i')
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
  """Constant for `n_epochs`, then linear decay towards zero over `n_epochs_decay` epochs.

  lr(epoch) = base * (1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)), with the
  0-based epoch = step // steps_per_epoch: the official lambda_rule with epoch_count=1 and
  the scheduler stepped after each epoch (the first 100 epochs at the full rate, the last
  one at base/101 for 100 + 100 epochs).
  """

  def __init__(self, base_lr, steps_per_epoch, n_epochs, n_epochs_decay):
    self.base_lr = float(base_lr)
    self.steps_per_epoch = int(steps_per_epoch)
    self.n_epochs = int(n_epochs)
    self.n_epochs_decay = int(n_epochs_decay)
    if self.steps_per_epoch < 1:
      raise ValueError(f'steps_per_epoch must be >= 1, got {steps_per_epoch}')

  def __call__(self, step):
    epoch = tf.math.floordiv(tf.cast(step, tf.int64), self.steps_per_epoch)
    decayed = tf.maximum(tf.cast(epoch + 1 - self.n_epochs, tf.float32), 0.0)
    factor = 1.0 - decayed / float(self.n_epochs_decay + 1)
    return self.base_lr * tf.maximum(factor, 0.0)

  def get_config(self):
    return {'base_lr': self.base_lr, 'steps_per_epoch': self.steps_per_epoch,
            'n_epochs': self.n_epochs, 'n_epochs_decay': self.n_epochs_decay}


@keras.saving.register_keras_serializable('tfi2i')
class LinearDecaySteps(keras.optimizers.schedules.LearningRateSchedule):
  """Constant until `decay_start`, then linear to zero at `total_steps`, every step.

  lr(step) = base * (1 - max(0, step + 1 - decay_start) / (total_steps - decay_start)) for
  the 0-based step: U-GAT-IT's official per-iteration rule (`lr -= base / (iteration // 2)`
  at each iteration past iteration // 2, with decay_start = total_steps // 2), the last
  step at lr 0.
  """

  def __init__(self, base_lr, total_steps, decay_start):
    self.base_lr = float(base_lr)
    self.total_steps = int(total_steps)
    self.decay_start = int(decay_start)
    if not 0 <= self.decay_start < self.total_steps:
      raise ValueError(f'linear_steps needs 0 <= decay start ({decay_start}) < total steps '
                       f'({total_steps})')

  def __call__(self, step):
    done = tf.maximum(tf.cast(step, tf.float32) + 1.0 - self.decay_start, 0.0)
    factor = 1.0 - done / float(self.total_steps - self.decay_start)
    return self.base_lr * tf.maximum(factor, 0.0)

  def get_config(self):
    return {'base_lr': self.base_lr, 'total_steps': self.total_steps,
            'decay_start': self.decay_start}


@keras.saving.register_keras_serializable('tfi2i')
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
  """lr(epoch) = base * factor ^ (epoch // every_epochs), epoch = step // steps_per_epoch:
  AttGAN's and STGAN's official rule (train.py: lr_base / 10 ** (epoch // 100))."""

  def __init__(self, base_lr, steps_per_epoch, every_epochs, factor=0.1):
    self.base_lr = float(base_lr)
    self.steps_per_epoch = int(steps_per_epoch)
    self.every_epochs = int(every_epochs)
    self.factor = float(factor)
    if self.steps_per_epoch < 1 or self.every_epochs < 1:
      raise ValueError(f'step decay needs steps_per_epoch ({steps_per_epoch}) and '
                       f'schedule.n_epochs ({every_epochs}) >= 1')

  def __call__(self, step):
    epoch = tf.math.floordiv(tf.cast(step, tf.int64), self.steps_per_epoch)
    drops = tf.cast(tf.math.floordiv(epoch, self.every_epochs), tf.float32)
    return self.base_lr * tf.pow(self.factor, drops)

  def get_config(self):
    return {'base_lr': self.base_lr, 'steps_per_epoch': self.steps_per_epoch,
            'every_epochs': self.every_epochs, 'factor': self.factor}


POLICIES = ('linear', 'linear_steps', 'constant', 'step', 'step_steps')


def make_schedule(base_lr, schedule_cfg, steps_per_epoch, total_steps=None):
  """The schedule of the recipe's schedule section (policy: POLICIES) for one optimizer."""
  policy = schedule_cfg.policy
  if policy == 'linear':
    return LinearDecay(base_lr, steps_per_epoch, schedule_cfg.n_epochs, schedule_cfg.n_epochs_decay)
  if policy == 'linear_steps':
    if not total_steps:
      raise ValueError("schedule.policy 'linear_steps' needs train.steps")
    start = int(schedule_cfg.decay_start_step) or int(total_steps) // 2
    return LinearDecaySteps(base_lr, total_steps, start)
  if policy == 'constant':
    return float(base_lr)
  if policy == 'step':  # divided by 10 every n_epochs epochs
    return StepDecay(base_lr, steps_per_epoch, schedule_cfg.n_epochs)
  if policy == 'step_steps':  # divided by 10 every decay_start_step steps (torch StepLR)
    if int(schedule_cfg.decay_start_step) < 1:
      raise ValueError("schedule.policy 'step_steps' needs schedule.decay_start_step >= 1 "
                       '(the step the rate is first divided by 10 at)')
    return StepDecay(base_lr, 1, int(schedule_cfg.decay_start_step))
  raise ValueError(f'unknown schedule.policy {policy!r}; expected one of {POLICIES}')
