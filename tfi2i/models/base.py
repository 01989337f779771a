"""Pieces every translation model shares: the image pool, export endpoints, the base class."""
import dataclasses
from typing import Callable

import keras
import tensorflow as tf


@dataclasses.dataclass
class Endpoint:
  """One exported function of a model (tfi2i.export makes a float and a bytes signature).

  fn(images, **extra) -> dict of named outputs. Outputs of rank >= 4 are images
  ([batch, H, W, C], or [batch, samples, H, W, C]) at the size of `images`; others (latent
  codes) pass through as they are.
  extra_inputs: name -> tf.TensorSpec of inputs besides `images` (a latent code, a seed).
  pad: pad images to the model's size_multiple and crop the outputs back (False when fn
    takes any size itself, e.g. an encoder that resizes its input).
  """
  fn: Callable
  extra_inputs: dict = dataclasses.field(default_factory=dict)
  pad: bool = True
  shared_outputs: tuple = ()  # outputs without a batch axis (the same for every image)


def as_endpoint(obj) -> Endpoint:
  return obj if isinstance(obj, Endpoint) else Endpoint(obj)


class ImagePool(tf.Module):
  """History of generated images (Shrivastava et al.), as the official ImagePool.

  Until `size` images are stored, each new image is stored and returned. Afterwards,
  with probability 0.5 a stored image is returned and replaced by the new one;
  otherwise the new image is returned. Its state (images, count, random generator)
  lives in variables, so checkpoints hold it and a resumed run continues it exactly.
  Under MirroredStrategy each replica keeps its own pool (sync-on-read variables).
  """

  def __init__(self, size: int, image_shape, seed: int = 0, name=None):
    super().__init__(name=name)
    self.size = int(size)
    if self.size > 0:
      if any(d is None for d in image_shape):
        raise ValueError(
            f'an image pool (pool_size={self.size}) needs a fixed training image size, got '
            f'{tuple(image_shape)}; use a cropping preprocess or set --recipe.loss.pool_size=0')
      on_read = dict(synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA, trainable=False)
      self.images = tf.Variable(tf.zeros([self.size, *image_shape], tf.float32),
                                name='images', **on_read)
      self.count = tf.Variable(0, dtype=tf.int32, name='count', **on_read)
      self.rng = tf.random.Generator.from_seed(seed)

  def query(self, images):
    if self.size == 0:
      return images
    images = tf.cast(images, tf.float32)
    if images.shape[0] is not None:  # static per-replica batch: unrolled, in order
      return tf.stack([self._query_one(images[i]) for i in range(images.shape[0])])
    n = tf.shape(images)[0]  # e.g. under MultiWorkerMirroredStrategy
    out = tf.TensorArray(tf.float32, size=n)
    for i in tf.range(n):
      out = out.write(i, self._query_one(images[i]))
    return tf.reshape(out.stack(), tf.shape(images))

  def _query_one(self, image):
    draws = self.rng.uniform([2])
    not_full = self.count < self.size
    swap = tf.logical_and(tf.logical_not(not_full), draws[0] > 0.5)
    slot = tf.where(not_full, self.count,
                    tf.minimum(tf.cast(draws[1] * self.size, tf.int32), self.size - 1))
    old = tf.gather(self.images, slot)
    write = tf.logical_or(not_full, swap)
    new_slot_value = tf.where(write, image, old)
    if tf.distribute.get_replica_context() is not None and tf.distribute.has_strategy():
      # sync-on-read variables under MirroredStrategy take whole-value assignments only
      self.images.assign(tf.tensor_scatter_nd_update(self.images, [[slot]], new_slot_value[None]))
    else:
      self.images.scatter_nd_update([[slot]], new_slot_value[None])
    self.count.assign(tf.minimum(self.count + 1, self.size))
    return tf.where(swap, old, image)


class TranslationModel(keras.Model):
  """Base of every tfi2i model.

  Subclasses define:
    call(images, direction=..., training=False): inference, what export uses;
    train_step(batch) -> dict of losses reduced for the global batch (per replica);
    optimizer_names: attribute names of the optimizers `compile` receives;
    image_panels(batch) -> dict name -> images in [-1, 1] (or heatmaps in [0, 1]) for TensorBoard;
    translation_endpoints() -> dict name -> Endpoint, or a plain fn(images) -> dict of
      named outputs;
    size_multiple: H and W the generators need to be divisible by (export pads and crops).
  """

  optimizer_names = ()
  size_multiple = 1
  data_kind = 'unpaired'  # which tfi2i.data stream trains it: 'unpaired' or 'paired'

  def __init__(self, model=None, loss=None, seed=0, **kwargs):
    """model, loss: the recipe's model and loss sections as dicts; seed: train.seed."""
    super().__init__(**kwargs)
    self.model_cfg = dict(model or {})
    self.loss_cfg = dict(loss or {})
    self.seed = int(seed)

  def compile(self, **optimizers):
    super().compile(optimizer=None)
    missing = set(self.optimizer_names) - set(optimizers)
    if missing:
      raise ValueError(f'{type(self).__name__}.compile needs optimizers {sorted(missing)}')
    for name in self.optimizer_names:
      setattr(self, name, optimizers[name])

  def build_for_training(self, image_shape):
    """Creates training state (optimizer slots, pools) before the first step, so that
    checkpoints can be restored into it and no variable is created inside a tf.function."""
    raise NotImplementedError

  def image_panels(self, batch):
    raise NotImplementedError

  def translation_endpoints(self):
    raise NotImplementedError

  def get_config(self):
    return {**super().get_config(), 'model': self.model_cfg, 'loss': self.loss_cfg,
            'seed': self.seed}


def average_loss(per_example):
  """Mean over the global batch (tf.nn.compute_average_loss): N replicas give the same
  update as one device, since optimizers sum replica gradients."""
  return tf.nn.compute_average_loss(per_example)
