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


def make_schedule(base_lr, schedule_cfg, steps_per_epoch):
  policy = schedule_cfg.policy
  if policy == 'linear':
    return LinearDecay(base_lr, steps_per_epoch, schedule_cfg.n_epochs, schedule_cfg.n_epochs_decay)
  if policy == 'constant':
    return float(base_lr)
  raise ValueError(f"unknown schedule.policy {policy!r}; expected 'linear' or 'constant'")
