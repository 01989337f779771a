"""Pieces every translation model shares: the image pool, the base class, the gradient step."""
import inspect

import keras
import numpy as np
import tensorflow as tf


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
  """Base of every tfi2i model; BUILD_NOTES.md "The model API" is the guide.

  The constructor is the recipe's schema: a subclass takes keyword arguments only, each
  with its default and the official source of that default, and passes `args=locals()`
  up. `tfi2i.models.build_model` fills them from the recipe's `model` section (and `loss`
  section: the arguments named in `loss_args`); a recipe key that is not an argument is an
  error naming it. Arguments with fixed choices are checked here or by the nets they go to.
  A base class between this one and a model may own arguments its models share (e.g.
  AttributeEditor's cam_*): it takes them the same way plus `args=None`, and passes its own
  `args=locals()` up; the model passes them through `**kwargs` (see `schema`).

  Subclasses define:
    call(images, ..., training=False): inference;
    train_step(batch) -> dict of losses reduced for the global batch (per replica); with
      `batches_per_step` = k > 1 it receives a tuple of k batches;
    build_for_training(batch_spec): optimizer slots, pools (batch_spec: the data stream's
      element spec, a dict of tf.TensorSpec);
    image_panels(batch) -> {group: [(name, images) or (name, images, kind)]} for TensorBoard
      (kind 'image' [-1, 1] or 'heatmap' [0, 1], tfi2i.endpoints);
    endpoints() -> {name: tfi2i.endpoints.Endpoint}: what export and translate use.
  And may set these class attributes (hooks the generic code asks, instead of switching
  on the model's type):
    optimizer_names: attribute names of the optimizers `compile` receives;
    loss_args: constructor arguments that live in the recipe's `loss` section;
    arg_sections: {section: PREFIX}: arguments named PREFIX + KEY are the recipe's
      section.KEY (e.g. {'cam': 'cam_'}: cam.apply_to is the argument cam_apply_to);
    retired_args: {argument: the only value it could have}: keys of old recipes (a
      workdir's recipe.json) that the model no longer takes and ignores at that value;
    data_stream: the tfi2i.data stream that trains and evaluates it ('unpaired', 'paired');
    inference_modes: {mode: constructor overrides} that export/evaluate can restore the
      model in (e.g. pix2pix's {'eval': {'eval_mode': True}}, the official test.py --eval);
    batches_per_step: batches one train_step consumes (k critic steps + 1 generator step);
    size_multiple, min_input_size: what the exported signatures pad images to.
  """

  optimizer_names = ()
  loss_args = ()
  arg_sections = {}
  retired_args = {}
  data_stream = 'unpaired'
  inference_modes = {}
  batches_per_step = 1
  size_multiple = 1
  min_input_size = None

  def __init__(self, *, seed=0, args=None, **kwargs):
    """seed: train.seed; args: the subclass's `locals()` (its recipe arguments); a base
    class's locals() hold those of the class below it as `args`, and the value of the
    class furthest down wins."""
    super().__init__(**kwargs)
    self.seed = int(seed)
    values = {}
    while args:
      values.update(args)
      args = args.get('args')
    self.args = {k: values[k] for k in schema(type(self)) if k in values}

  def compile(self, **optimizers):
    super().compile(optimizer=None)
    missing = set(self.optimizer_names) - set(optimizers)
    if missing:
      raise ValueError(f'{type(self).__name__}.compile needs optimizers {sorted(missing)}')
    for name in self.optimizer_names:
      setattr(self, name, optimizers[name])

  def build_for_training(self, batch_spec):
    """Creates training state (optimizer slots, pools) before the first step, so that
    checkpoints can be restored into it and no variable is created inside a tf.function."""
    raise NotImplementedError

  def example_batch(self, batch_size, height, width):
    """A training batch of zeros (what the data stream yields): for benchmarks and tests."""
    channels = {'a': self.input_channels, 'b': int(self.args.get('output_nc', 3))}
    return {k: tf.zeros([batch_size, height, width, c]) for k, c in channels.items()}

  def image_panels(self, batch):
    raise NotImplementedError

  def endpoints(self):
    raise NotImplementedError

  def generator_for(self, direction):
    """The network of `direction` in the model's `generators` ({direction: network})."""
    generators = self.generators
    if direction not in generators:
      raise ValueError(f'direction must be one of {tuple(generators)}, got {direction!r}')
    return generators[direction]

  @property
  def input_channels(self):
    return int(self.args.get('input_nc', 3))

  def padding(self):
    """(size_multiple, min_side): what the exported signatures pad images up to.

    min_side is `min_input_size` when the model sets it, else 2 * size_multiple (the ResNet
    generator's reflection paddings need at least 2 pixels after its two stride-2 steps),
    rounded up to a multiple.
    """
    multiple = max(1, int(self.size_multiple or 1))
    min_side = self.min_input_size
    min_side = 2 * multiple if min_side is None else max(1, int(min_side))
    return multiple, -(-min_side // multiple) * multiple

  def build_endpoints(self):
    """Creates every variable the endpoints use, with one small call of each (zeros for
    every declared input)."""
    side = 2 * self.padding()[1]
    for endpoint in self.endpoints().values():
      size = endpoint.input_size or side
      endpoint.fn(tf.zeros([1, size, size, self.input_channels]),
                  **self.placeholder_inputs(endpoint, 1))

  @staticmethod
  def placeholder_inputs(endpoint, batch_size):
    """{input: zeros (ones for integers)} for an endpoint's declared inputs, per-image ones
    for `batch_size` images: for building and timing."""
    inputs = {}
    for i in endpoint.inputs:
      shape = [batch_size if d is None else d for d in i.full_shape()]
      inputs[i.name] = (tf.ones(shape, i.dtype) if i.dtype.startswith('int')
                        else tf.zeros(shape, i.dtype))
    return inputs

  def sampler(self, samples, seed, batch_size):
    """How tfi2i.evaluate draws outputs: (fn(images [n, H, W, C], indices, labels) ->
    float32 [n, K, H, W, C], K, description). `indices` are the inputs' numbers in the
    split; `labels` the data's labels of those inputs, {name: array [n, ...]} (attribute
    data: {'attributes': {0, 1} [n, k]}; {} for images alone): every sampler takes all
    three and reads what it needs. Default: deterministic, K = 1 whatever `samples` says:
    the first image output of the first endpoint, batch_size images per call."""
    del samples, seed
    name, endpoint = next(iter(self.endpoints().items()))
    output = next(o.name for o in endpoint.outputs if o.kind == 'image')
    gen = tf.function(lambda x: endpoint.fn(x)[output], reduce_retracing=True)

    def sample(a, indices, labels):
      del indices, labels
      out = [np.asarray(gen(a[s:s + batch_size]), np.float32)
             for s in range(0, a.shape[0], batch_size)]
      return np.concatenate(out)[:, None]

    return sample, 1, f'{type(self).__name__} {name}: deterministic, one sample per input'

  def report_fields(self) -> dict:
    """Fields that describe the model in tfi2i.evaluate's report, after its class name:
    {'variant': None}; a model with variants names its own (BicycleGAN)."""
    return {'variant': None}

  def apply_gradients(self, optimizer, tape, loss, variables, wide=None):
    """One optimizer update from `loss` recorded on `tape` (see apply_gradients)."""
    return apply_gradients(optimizer, tape, loss, variables, wide)

  def random_states(self) -> list:
    """The state variables of the Keras seed generators of every layer (keras.layers.Dropout
    draws its masks from one), in layer order. tf.train.Checkpoint does not reach them
    through the model (a SeedGenerator is not trackable), so the training checkpoint holds
    them itself (`seeds`): a resumed run draws the dropout masks an uninterrupted one would."""
    states = []
    for layer in self._flatten_layers(include_self=True, recursive=True):
      states += [generator.state for generator in getattr(layer, '_seed_generators', [])]
    return states

  def inference_side_state(self) -> list:
    """Variables that running the networks in training mode changes outside an update: batch
    norm moving statistics and the seed generators' states. The loop keeps them as they were
    around its image panels (pix2pix shows G in training mode: dropout and the batch's
    statistics, as the official visuals), so how often images are logged does not change
    what a run computes, and a resumed run stays equal to an uninterrupted one."""
    state = []
    for layer in self._flatten_layers(include_self=True, recursive=True):
      if isinstance(layer, keras.layers.BatchNormalization) and layer.built:
        state += [layer.moving_mean, layer.moving_variance]
    return state + self.random_states()

  def stateless_seed(self, *parts):
    """A [2] int64 seed for tf.random.stateless_* ops: a function of train.seed, the
    replica and `parts` (e.g. a tag and an optimizer's iteration count), so a resumed run
    draws what an uninterrupted one would."""
    key = tf.constant([self.seed, 0], tf.int64)
    context = tf.distribute.get_replica_context()
    replica = context.replica_id_in_sync_group if context is not None else 0
    for part in (replica, *parts):
      key = tf.random.experimental.stateless_fold_in(key, tf.cast(part, tf.int64))
    return key

  def get_config(self):
    return {**super().get_config(), **self.args, 'seed': self.seed}


def schema(cls) -> dict:
  """{argument: default} of a model class's constructor: its recipe keys.

  A constructor that takes **kwargs passes what it does not name up to its base, so the
  keyword-only arguments of the TranslationModel classes above it are the class's too
  (StarGAN's cam_* are AttributeEditor's), up to a constructor without **kwargs. A class
  that names an argument of a base again gives it its own default (STGAN's
  shortcut_layers). The class's own arguments come first, then its bases'.
  """
  out = {}
  for klass in cls.__mro__:
    if not issubclass(klass, TranslationModel):
      break
    if '__init__' not in vars(klass):
      continue
    params = inspect.signature(vars(klass)['__init__']).parameters.values()
    for p in params:
      if p.kind == inspect.Parameter.KEYWORD_ONLY and p.name not in ('seed', 'args'):
        out.setdefault(p.name, p.default)
    if not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params):
      break
  return out


def apply_gradients(optimizer, tape, loss, variables, wide=None):
  """Applies the gradients of `loss` (recorded on `tape`) to `variables` with `optimizer`.

  * Loss scaling: under a LossScaleOptimizer (train.precision='mixed_float16') the
    gradients are taken of the scaled loss; the optimizer unscales them and skips the step
    when they are not finite.
  * Missing gradients: a variable no term reaches (None) is left as it is.
  * Constraints: a variable's `constraint` (e.g. U-GAT-IT's rho, clipped to [0, 1]) is
    applied after the update by the Keras optimizer.
  * wide: the layers.WideKernelGradients the loss was computed in (kernels of WideDense
    layers get one gradient each, formed from all their calls).
  The tape must be persistent when it is used for several updates.
  Returns the number of variables updated (a Python int).
  """
  output_gradients = None
  if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
    if not optimizer.built:  # its scale variable is made when it is built
      optimizer.build(variables)
    output_gradients = tf.cast(optimizer.dynamic_scale, tf.float32)
  loss = tf.cast(loss, tf.float32)
  if wide is not None:
    grads = wide.gradients(loss, variables, output_gradients=output_gradients)
  else:
    grads = tape.gradient(loss, variables, output_gradients=output_gradients)
  pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
  if pairs:
    optimizer.apply_gradients(pairs)
  return len(pairs)


def average_loss(per_example):
  """Mean over the global batch (tf.nn.compute_average_loss): N replicas give the same
  update as one device, since optimizers sum replica gradients."""
  return tf.nn.compute_average_loss(per_example)


def check_choice(key, value, choices):
  """A ValueError naming the recipe key unless value is one of choices."""
  if value not in choices:
    raise ValueError(f'recipe key {key} is {value!r}; expected one of {tuple(choices)}')


def require_training_size(size, smallest, what, hint=''):
  """A ValueError unless both sides of a training crop (H, W; None = unknown) are at least
  `smallest` px, naming `what` needs them."""
  h, w = (None if d is None else int(d) for d in size)
  if any(d is not None and d < smallest for d in (h, w)):
    raise ValueError(f'training images of {h}x{w} px are too small for {what} (needs at '
                     f'least {smallest} px per side){hint}')
