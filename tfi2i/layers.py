"""Small Keras layers shared by every network.

Padding and transposed convolutions follow PyTorch's arithmetic exactly (explicit
padding + 'valid' convolutions), so feature maps line up with the official code for
any input size, not only sizes where Keras' 'same' happens to agree.
"""
import keras
import tensorflow as tf


def conv_init(gain: float = 0.02) -> keras.initializers.Initializer:
  """normal(0, gain) weights: the official init_weights(init_type='normal')."""
  return keras.initializers.RandomNormal(mean=0.0, stddev=gain)


@keras.saving.register_keras_serializable('tfi2i')
class InstanceNorm(keras.layers.Layer):
  """Instance normalisation over H and W (PyTorch InstanceNorm2d, eps 1e-5).

  Statistics are always computed in float32, also under a mixed-precision policy.
  `affine=False` is the official CycleGAN setting. Faster on CPU than
  GroupNormalization(groups=-1), which computes the same thing (BUILD_NOTES.md).
  """

  def __init__(self, epsilon: float = 1e-5, affine: bool = False, **kwargs):
    super().__init__(**kwargs)
    self.epsilon = epsilon
    self.affine = affine

  def build(self, input_shape):
    if self.affine:
      c = input_shape[-1]
      self.gamma = self.add_weight(shape=(c,), initializer='ones', name='gamma')
      self.beta = self.add_weight(shape=(c,), initializer='zeros', name='beta')

  def call(self, x):
    x32 = tf.cast(x, tf.float32)
    mean, var = tf.nn.moments(x32, axes=[1, 2], keepdims=True)
    y = (x32 - mean) * tf.math.rsqrt(var + self.epsilon)
    if self.affine:
      y = y * tf.cast(self.gamma, tf.float32) + tf.cast(self.beta, tf.float32)
    return tf.cast(y, x.dtype)

  def get_config(self):
    return {**super().get_config(), 'epsilon': self.epsilon, 'affine': self.affine}


@keras.saving.register_keras_serializable('tfi2i')
class Pad2D(keras.layers.Layer):
  """Pads H and W by `padding` on every side: mode 'reflect' (nn.ReflectionPad2d),
  'zero' (the padding of nn.Conv2d) or 'replicate' (approximated by 'symmetric')."""

  _MODES = {'reflect': 'REFLECT', 'zero': 'CONSTANT', 'symmetric': 'SYMMETRIC'}

  def __init__(self, padding: int, mode: str = 'reflect', **kwargs):
    super().__init__(**kwargs)
    if mode not in self._MODES:
      raise ValueError(f'unknown padding mode {mode!r}; expected one of {sorted(self._MODES)}')
    self.padding = int(padding)
    self.mode = mode

  def call(self, x):
    p = self.padding
    return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode=self._MODES[self.mode])

  def compute_output_shape(self, s):
    grow = lambda d: None if d is None else d + 2 * self.padding
    return (s[0], grow(s[1]), grow(s[2]), s[3])

  def get_config(self):
    return {**super().get_config(), 'padding': self.padding, 'mode': self.mode}


@keras.saving.register_keras_serializable('tfi2i')
class Crop2D(keras.layers.Layer):
  """Drops `begin` rows/columns at the start and `end` at the end of H and W."""

  def __init__(self, begin: int, end: int = 0, **kwargs):
    super().__init__(**kwargs)
    self.begin, self.end = int(begin), int(end)

  def call(self, x):
    stop = None if self.end == 0 else -self.end
    return x[:, self.begin:stop, self.begin:stop, :]

  def compute_output_shape(self, s):
    shrink = lambda d: None if d is None else d - self.begin - self.end
    return (s[0], shrink(s[1]), shrink(s[2]), s[3])

  def get_config(self):
    return {**super().get_config(), 'begin': self.begin, 'end': self.end}


def norm_layer(kind: str, name: str, init_gain: float = 0.02):
  """'instance' (affine=False, official default), 'batch' or 'none' (returns None)."""
  if kind == 'instance':
    return InstanceNorm(name=name)
  if kind == 'batch':
    # nn.BatchNorm2d(momentum=0.1, eps=1e-5); weights normal(1, gain) as init_weights.
    return keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, name=name,
        gamma_initializer=keras.initializers.RandomNormal(1.0, init_gain))
  if kind == 'none':
    return None
  raise ValueError(f"unknown norm {kind!r}; expected 'instance', 'batch' or 'none'")


def conv(filters, kernel, stride=1, padding=0, pad_mode='zero', use_bias=True,
         init_gain=0.02, name=None):
  """nn.Conv2d(k, stride, padding) as explicit padding + a 'valid' Keras conv."""
  layers = []
  if padding:
    layers.append(Pad2D(padding, pad_mode, name=f'{name}_pad'))
  layers.append(keras.layers.Conv2D(
      filters, kernel, strides=stride, padding='valid', use_bias=use_bias,
      kernel_initializer=conv_init(init_gain), bias_initializer='zeros', name=name))
  return layers


def conv_transpose(filters, kernel, stride, padding, output_padding, use_bias=True,
                   init_gain=0.02, name=None):
  """nn.ConvTranspose2d(k, stride, padding, output_padding): the full ('valid')
  transposed convolution cropped as PyTorch does, so pixels line up with the official nets."""
  layers = [keras.layers.Conv2DTranspose(
      filters, kernel, strides=stride, padding='valid', use_bias=use_bias,
      kernel_initializer=conv_init(init_gain), bias_initializer='zeros', name=name)]
  # full output is (n-1)*s + k; PyTorch keeps [padding, (n-1)*s + k - padding + output_padding).
  end = padding - output_padding
  if padding or end:
    layers.append(Crop2D(padding, max(end, 0), name=f'{name}_crop'))
  if end < 0:
    raise ValueError('output_padding larger than padding is not supported')
  return layers


def apply(layers, x):
  for layer in layers:
    if layer is not None:
      x = layer(x)
  return x


@keras.saving.register_keras_serializable('tfi2i')
class ResnetBlock(keras.layers.Layer):
  """x + [pad, conv3x3, norm, ReLU, (dropout 0.5), pad, conv3x3, norm](x): the official
  ResnetBlock with reflection padding."""

  def __init__(self, dim, norm='instance', use_dropout=False, use_bias=True,
               pad_mode='reflect', init_gain=0.02, **kwargs):
    super().__init__(**kwargs)
    self.dim, self.norm, self.use_dropout = dim, norm, use_dropout
    self.use_bias, self.pad_mode, self.init_gain = use_bias, pad_mode, init_gain
    self.body = (
        conv(dim, 3, 1, 1, pad_mode, use_bias, init_gain, name='conv1')
        + [norm_layer(norm, 'norm1', init_gain), keras.layers.ReLU(name='relu')]
        + ([keras.layers.Dropout(0.5, name='dropout')] if use_dropout else [])
        + conv(dim, 3, 1, 1, pad_mode, use_bias, init_gain, name='conv2')
        + [norm_layer(norm, 'norm2', init_gain)])
    self.body = [l for l in self.body if l is not None]
    # tf.train.Checkpoint does not follow layers held in a Python list: name each one too.
    for layer in self.body:
      setattr(self, f'_{layer.name}', layer)

  def call(self, x, training=None):
    y = x
    for layer in self.body:
      y = layer(y, training=training) if isinstance(
          layer, (keras.layers.Dropout, keras.layers.BatchNormalization)) else layer(y)
    return x + y

  def compute_output_shape(self, s):
    return s

  def get_config(self):
    return {**super().get_config(), 'dim': self.dim, 'norm': self.norm,
            'use_dropout': self.use_dropout, 'use_bias': self.use_bias,
            'pad_mode': self.pad_mode, 'init_gain': self.init_gain}
