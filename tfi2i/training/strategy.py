"""Which tf.distribute strategy a run uses."""
import tensorflow as tf

STRATEGIES = ('auto', 'default', 'mirrored', 'multi_worker')


def make_strategy(name: str = 'auto') -> tf.distribute.Strategy:
  """'auto': MirroredStrategy when more than one GPU is visible, else the default strategy.
  'mirrored': MirroredStrategy over all visible GPUs, or all logical CPUs when there are none.
  'multi_worker': MultiWorkerMirroredStrategy (TF_CONFIG describes the cluster)."""
  if name not in STRATEGIES:
    raise ValueError(f'unknown train.strategy {name!r}; expected one of {STRATEGIES}')
  if name == 'multi_worker':  # before anything that initialises devices (list_logical_devices)
    return tf.distribute.MultiWorkerMirroredStrategy()
  gpus = tf.config.list_logical_devices('GPU')
  if name == 'auto':
    name = 'mirrored' if len(gpus) > 1 else 'default'
  if name == 'default':
    return tf.distribute.get_strategy()
  if name == 'mirrored':
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices('CPU')]
    return tf.distribute.MirroredStrategy(devices)
  raise AssertionError(name)
