"""Small Keras layers shared by every network.

Padding and transposed convolutions follow PyTorch's arithmetic exactly (explicit
padding + 'valid' convolutions), so feature maps line up with the official code for
any input size, not only sizes where Keras' 'same' happens to agree.
"""
import functools
import threading

import keras
import tensorflow as tf


def conv_init(gain: float = 0.02) -> keras.initializers.Initializer:
  """normal(0, gain) weights: the official init_weights(init_type='normal')."""
  return keras.initializers.RandomNormal(mean=0.0, stddev=gain)


def moments(x, axes):
  """(mean, biased variance) of x over `axes`, keepdims. Not tf.nn.moments: it stops the
  gradient of the mean inside the variance, which leaves first derivatives exact but drops
  a nonzero term of the second derivative (a gradient penalty through a discriminator with
  instance norm was wrong by several percent). Same forward values."""
  mean = tf.reduce_mean(x, axis=axes, keepdims=True)
  return mean, tf.reduce_mean(tf.square(x - mean), axis=axes, keepdims=True)


_FUSED_DTYPES = (tf.float32, tf.bfloat16, tf.float16)


def _fused_batch_stats(x, scale, offset, epsilon):
  """FusedBatchNormV3 in training mode on NHWC x: each channel normalised by the mean and
  biased variance over N, H, W, computed in float32 whatever x's dtype, then scale and
  offset; one kernel forward and one backward (oneDNN on CPU) instead of the half dozen
  elementwise passes and two casts of the moments form. The raw op keeps `epsilon` exact
  (tf.nn.fused_batch_norm raises it to 1.001e-5). Its gradient and second derivative (a
  gradient penalty or the CAM loss through a discriminator with instance norm) are TF's
  own; the second derivative matches finite differences (test_nets.py)."""
  empty = tf.constant([], tf.float32)
  y, _, _, _, _, _ = tf.raw_ops.FusedBatchNormV3(
      x=x, scale=scale, offset=offset, mean=empty, variance=empty, epsilon=float(epsilon),
      exponential_avg_factor=1.0, data_format='NHWC', is_training=True)
  return y


@keras.saving.register_keras_serializable('tfi2i')
class InstanceNorm(keras.layers.Layer):
  """Instance normalisation over H and W (PyTorch InstanceNorm2d, eps 1e-5).

  Statistics are always computed in float32, also under a mixed-precision policy.
  `affine=False` is the official CycleGAN setting. Computed by TF's fused batch norm kernel
  (per image: the images of a batch folded into channels), faster on CPU than the moments
  form and than GroupNormalization(groups=-1), which compute the same (BUILD_NOTES.md).
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
    if x.dtype not in _FUSED_DTYPES:
      return self._moments(x)
    c = x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]
    if self.affine:
      scale, offset = tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32)
    else:
      scale, offset = tf.ones([c], tf.float32), tf.zeros([c], tf.float32)
    if x.shape[0] == 1:  # one image: its channels are the batch norm's channels
      return _fused_batch_stats(x, scale, offset, self.epsilon)
    # B images: (B, H, W, C) -> (1, H, W, B*C), each (image, channel) its own channel
    shape = tf.shape(x)
    b, h, w = shape[0], shape[1], shape[2]
    folded = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, b * c])
    y = _fused_batch_stats(folded, tf.tile(scale, [b]), tf.tile(offset, [b]), self.epsilon)
    return tf.transpose(tf.reshape(y, [h, w, b, c]), [2, 0, 1, 3])

  def _moments(self, x):
    """The same normalisation in elementwise ops (dtypes the fused kernel lacks)."""
    x32 = tf.cast(x, tf.float32)
    mean, var = moments(x32, [1, 2])
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
    # tf.slice, not x[...]: the gradient of Slice is a Pad, that of StridedSlice a
    # StridedSliceGrad, 7 ms apiece on the transposed convolutions' crops at 128 px
    shape = tf.shape(x)
    drop = self.begin + self.end
    y = tf.slice(x, [0, self.begin, self.begin, 0], [-1, shape[1] - drop, shape[2] - drop, -1])
    return tf.ensure_shape(y, self.compute_output_shape(tuple(x.shape)))

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


# -- stride-1 convolutions: gradients as forward convolutions ---------------------------------

NARROW_CHANNELS = 4  # TF's convolution kernels are slow with this few channels out


@functools.lru_cache(maxsize=None)
def _onednn() -> bool:
  """Whether TF runs its convolutions with oneDNN (on by default only on CPUs with AVX512-VNNI,
  AVX512-BF16 or AMX, or with TF_ENABLE_ONEDNN_OPTS=1); off, it runs Eigen's."""
  try:
    from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-import-not-at-top
    return bool(_pywrap_util_port.IsMklEnabled())
  except (ImportError, AttributeError):
    return True  # unknown: keep TF's own gradients


@tf.custom_gradient
def _conv_forward_gradients(x, kernel):
  """tf.nn.conv2d(x, kernel, 1, 'VALID') whose gradients are forward convolutions.

  Without oneDNN, TF's gradient kernels for a stride-1 convolution (Eigen's
  Conv2DBackpropInput / Conv2DBackpropFilter) are slower than a forward convolution doing
  the same sums, much slower for some shapes: the generators' last layer (64 -> 3, 7x7, at
  134x134, batch 2) took 167 + 240 ms against 8 ms for its forward pass; U-GAT-IT's up
  convolution (128 -> 64, 3x3, 130x130) 50 + 81 ms against 17 + 24 ms this way
  (BUILD_NOTES.md "Stride-1 convolution gradients"). The input gradient is the output
  gradient, zero-padded by k - 1, convolved with the kernel flipped in space and its channel
  axes swapped; it is used where x has more than NARROW_CHANNELS channels (with 3, that
  convolution has 3 outputs, the slow case, and TF's kernel is faster). The kernel gradient
  is a convolution whose batch is x's channels and whose kernel is the output gradient (the
  batch axis becomes the summed one). All are TF ops, so a second derivative (a gradient
  penalty through the layer) is TF's own derivative of them."""
  y = tf.nn.conv2d(x, kernel, 1, 'VALID')

  def grad(dy):
    kh, kw = kernel.shape[0], kernel.shape[1]
    if x.shape[-1] > NARROW_CHANNELS:
      dy_padded = tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
      flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
      dx = tf.nn.conv2d(dy_padded, flipped, 1, 'VALID')
    else:
      dx = tf.nn.conv2d_transpose(dy, kernel, tf.shape(x), 1, 'VALID')
    dk = tf.nn.conv2d(tf.transpose(x, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), 1, 'VALID')
    return dx, tf.transpose(dk, [1, 2, 0, 3])

  return y, grad


@keras.saving.register_keras_serializable('tfi2i')
class Conv2D(keras.layers.Conv2D):
  """keras.layers.Conv2D (same weights, config and results). Where TF runs Eigen's
  convolutions (no oneDNN), its stride-1 'valid' form takes its gradients as forward
  convolutions (`_conv_forward_gradients`); every other form, and every form under oneDNN,
  is Keras' own."""

  def convolution_op(self, inputs, kernel):
    if (tuple(self.strides) == (1, 1) and self.padding == 'valid'
        and tuple(self.dilation_rate) == (1, 1) and self.groups == 1
        and self.data_format == 'channels_last' and not _onednn()):
      return _conv_forward_gradients(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))
    return super().convolution_op(inputs, kernel)


def conv(filters, kernel, stride=1, padding=0, pad_mode='zero', use_bias=True,
         init_gain=0.02, name=None, initializer=None):
  """nn.Conv2d(k, stride, padding) as explicit padding + a 'valid' Keras conv; weights
  normal(0, init_gain) unless `initializer` is given."""
  layers = []
  if padding:
    layers.append(Pad2D(padding, pad_mode, name=f'{name}_pad'))
  layers.append(Conv2D(
      filters, kernel, strides=stride, padding='valid', use_bias=use_bias,
      kernel_initializer=initializer or conv_init(init_gain), bias_initializer='zeros',
      name=name))
  return layers


def conv_transpose(filters, kernel, stride, padding, output_padding, use_bias=True,
                   init_gain=0.02, name=None, initializer=None):
  """nn.ConvTranspose2d(k, stride, padding, output_padding): the full ('valid')
  transposed convolution cropped as PyTorch does, so pixels line up with the official nets;
  weights normal(0, init_gain) unless `initializer` is given."""
  layers = [keras.layers.Conv2DTranspose(
      filters, kernel, strides=stride, padding='valid', use_bias=use_bias,
      kernel_initializer=initializer or conv_init(init_gain), bias_initializer='zeros',
      name=name)]
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
               pad_mode='reflect', init_gain=0.02, initializer=None, **kwargs):
    super().__init__(**kwargs)
    self.dim, self.norm, self.use_dropout = dim, norm, use_dropout
    self.use_bias, self.pad_mode, self.init_gain = use_bias, pad_mode, init_gain
    self.initializer = keras.initializers.get(initializer) if initializer else None
    self.body = (
        conv(dim, 3, 1, 1, pad_mode, use_bias, init_gain, name='conv1',
             initializer=self.initializer)
        + [norm_layer(norm, 'norm1', init_gain), keras.layers.ReLU(name='relu')]
        + ([keras.layers.Dropout(0.5, name='dropout')] if use_dropout else [])
        + conv(dim, 3, 1, 1, pad_mode, use_bias, init_gain, name='conv2',
               initializer=self.initializer)
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
            'pad_mode': self.pad_mode, 'init_gain': self.init_gain,
            'initializer': (keras.initializers.serialize(self.initializer)
                            if self.initializer else None)}


# --------------------------------------------------------------------------- U-GAT-IT pieces


def torch_default_init() -> keras.initializers.Initializer:
  """PyTorch's default Conv2d / Linear weight init, kaiming_uniform(a=sqrt(5)): U(+-1/sqrt(
  fan_in)) (the official U-GAT-IT PyTorch code keeps the defaults)."""
  return keras.initializers.VarianceScaling(1.0 / 3.0, 'fan_in', 'uniform')


@keras.saving.register_keras_serializable('tfi2i')
class TorchBiasInit(keras.initializers.Initializer):
  """PyTorch's default bias init for a layer with `fan_in` inputs: U(+-1/sqrt(fan_in))."""

  def __init__(self, fan_in):
    self.fan_in = int(fan_in)

  def __call__(self, shape, dtype=None):
    bound = 1.0 / float(self.fan_in) ** 0.5
    return keras.random.uniform(shape, -bound, bound, dtype=dtype)

  def get_config(self):
    return {'fan_in': self.fan_in}


def rho_constraint(w):
  """U-GAT-IT's RhoClipper: rho kept in [0, 1] after every generator update."""
  return keras.ops.clip(w, 0.0, 1.0)


def _instance_layer_moments(x32):
  """(instance-normalised, layer-normalised) x: mean over H, W (per channel) or H, W, C (per
  image), unbiased variance as torch.var, eps 1e-5 (official U-GAT-IT PyTorch ILN/adaILN)."""
  def norm(axes):
    mean, var = moments(x32, axes)
    n = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x32), axes)), tf.float32)
    var = var * n / tf.maximum(n - 1.0, 1.0)  # torch.var: unbiased
    return (x32 - mean) * tf.math.rsqrt(var + 1e-5)
  return norm([1, 2]), norm([1, 2, 3])


@keras.saving.register_keras_serializable('tfi2i')
class ILN(keras.layers.Layer):
  """Instance-Layer Normalisation: rho * IN(x) + (1 - rho) * LN(x), then a learned
  per-channel gamma and beta; rho starts at 0 and is clipped to [0, 1] (U-GAT-IT's up-path
  norm). Statistics in float32."""

  def build(self, input_shape):
    c = input_shape[-1]
    self.rho = self.add_weight(shape=(c,), initializer='zeros', name='rho',
                               constraint=rho_constraint)
    self.gamma = self.add_weight(shape=(c,), initializer='ones', name='gamma')
    self.beta = self.add_weight(shape=(c,), initializer='zeros', name='beta')

  def call(self, x):
    out_in, out_ln = _instance_layer_moments(tf.cast(x, tf.float32))
    rho = tf.cast(self.rho, tf.float32)
    y = rho * out_in + (1.0 - rho) * out_ln
    y = y * tf.cast(self.gamma, tf.float32) + tf.cast(self.beta, tf.float32)
    return tf.cast(y, x.dtype)

  def compute_output_shape(self, s):
    return s


@keras.saving.register_keras_serializable('tfi2i')
class AdaILN(keras.layers.Layer):
  """Adaptive ILN: rho * IN(x) + (1 - rho) * LN(x), scaled and shifted by gamma, beta
  [batch, C] computed from the attention features; rho starts at 0.9, clipped to [0, 1].
  Called as AdaILN()([x, gamma, beta])."""

  def build(self, input_shape):
    c = input_shape[0][-1]
    self.rho = self.add_weight(shape=(c,), initializer=keras.initializers.Constant(0.9),
                               name='rho', constraint=rho_constraint)

  def call(self, inputs):
    x, gamma, beta = inputs
    out_in, out_ln = _instance_layer_moments(tf.cast(x, tf.float32))
    rho = tf.cast(self.rho, tf.float32)
    y = rho * out_in + (1.0 - rho) * out_ln
    y = y * tf.cast(gamma, tf.float32)[:, None, None, :] + tf.cast(beta, tf.float32)[:, None, None, :]
    return tf.cast(y, x.dtype)

  def compute_output_shape(self, s):
    return s[0]


def _l2_normalize(v):
  return v / tf.maximum(tf.norm(v), 1e-12)  # torch.nn.functional.normalize, eps 1e-12


@keras.saving.register_keras_serializable('tfi2i')
class SpectralNormalized(keras.layers.Layer):
  """A Conv2D ('valid') or Dense kernel divided by its largest singular value, as PyTorch's
  nn.utils.spectral_norm: the trainable kernel is the un-normalised `weight_orig`; u and v
  (non-trainable, checkpointed) get one power iteration per training call (none at
  inference); sigma = u . (W v) with W the kernel as a [out, in * kh * kw] matrix, u and v
  held constant for the gradient. keras.layers.SpectralNormalization instead overwrites the
  kernel with the normalised one, which changes what the optimizer sees.

  kind: 'conv' (kernel_size, strides) or 'dense'. `kernel` is weight_orig: U-GAT-IT's
  discriminator re-weights its CAM features with it (the official `parameters()[0]`).
  """

  def __init__(self, units, kind='conv', kernel_size=1, strides=1, use_bias=True, **kwargs):
    super().__init__(**kwargs)
    self.units, self.kind = int(units), kind
    self.kernel_size, self.strides, self.use_bias = int(kernel_size), int(strides), use_bias

  def build(self, input_shape):
    cin = int(input_shape[-1])
    shape = ((self.kernel_size, self.kernel_size, cin, self.units) if self.kind == 'conv'
             else (cin, self.units))
    fan_in = cin * (self.kernel_size ** 2 if self.kind == 'conv' else 1)
    self.kernel = self.add_weight(shape=shape, initializer=torch_default_init(), name='kernel')
    if self.use_bias:
      self.bias = self.add_weight(shape=(self.units,), initializer=TorchBiasInit(fan_in),
                                  name='bias')
    normal = keras.initializers.RandomNormal(0.0, 1.0)
    # every replica computes the same power iteration: the first one's is kept
    self.u = self.add_weight(shape=(self.units,), initializer=normal, name='u', trainable=False,
                             aggregation='only_first_replica')
    self.v = self.add_weight(shape=(fan_in,), initializer=normal, name='v', trainable=False,
                             aggregation='only_first_replica')
    self.u.assign(_l2_normalize(tf.convert_to_tensor(self.u)))
    self.v.assign(_l2_normalize(tf.convert_to_tensor(self.v)))

  def matrix(self):
    """The kernel as PyTorch's [out, in * kh * kw] weight matrix (columns permuted, which
    leaves the singular values alone)."""
    return tf.transpose(tf.reshape(tf.cast(self.kernel, tf.float32), [-1, self.units]))

  def normalized_kernel(self, training=False):
    w = self.matrix()
    u, v = tf.convert_to_tensor(self.u), tf.convert_to_tensor(self.v)
    if training:
      v = _l2_normalize(tf.linalg.matvec(w, u, transpose_a=True))
      u = _l2_normalize(tf.linalg.matvec(w, v))
      v, u = tf.stop_gradient(v), tf.stop_gradient(u)
      self.u.assign(u)
      self.v.assign(v)
    sigma = tf.tensordot(u, tf.linalg.matvec(w, v), 1)
    return tf.cast(self.kernel, tf.float32) / sigma

  def call(self, x, training=False):
    kernel = tf.cast(self.normalized_kernel(training), x.dtype)
    if self.kind == 'conv':
      y = tf.nn.conv2d(x, kernel, self.strides, 'VALID')
    else:
      y = tf.matmul(x, kernel)
    if self.use_bias:
      y = y + tf.cast(self.bias, y.dtype)
    return y

  def get_config(self):
    return {**super().get_config(), 'units': self.units, 'kind': self.kind,
            'kernel_size': self.kernel_size, 'strides': self.strides, 'use_bias': self.use_bias}


# -- a dense layer on a very wide input ----------------------------------------------------

_WIDE = threading.local()  # the active WideKernelGradients of this thread (one per replica)


class WideKernelGradients:
  """Forms the kernel gradient of each WideDense once per backward pass.

  A kernel used k times in a step gets k gradient contributions from the tape (each the size
  of the kernel: x_i^T dy_i) that live together until they are summed. For a kernel of 268M
  weights (the full U-GAT-IT's gamma/beta layer at 256 px, 1 GB) used three times by each of
  two generators, that is 6 GB more than needed. Inside this context the layer multiplies
  with a constant copy of its kernel and records its input x_i and product z_i = x_i W;
  `gradients` then takes the gradients of the z_i along with the variables' and forms each
  kernel's gradient once, as concat(x)^T concat(dz): one kernel-sized tensor.

    with tf.GradientTape() as tape, WideKernelGradients(tape) as wide:
      loss = ...
    grads = wide.gradients(loss, variables)  # what tape.gradient(loss, variables) gives
  """

  def __init__(self, tape):
    self.tape = tape
    self.calls = []  # (layer, x, z)

  def __enter__(self):
    self._outer = getattr(_WIDE, 'active', None)
    _WIDE.active = self
    return self

  def __exit__(self, *exc):
    _WIDE.active = self._outer

  def record(self, layer, x, z):
    self.tape.watch(z)
    self.calls.append((layer, x, z))

  def gradients(self, loss, variables, output_gradients=None):
    zs = [z for _, _, z in self.calls]
    grads = self.tape.gradient(loss, list(variables) + zs, output_gradients=output_gradients)
    grads, dzs = list(grads[:len(variables)]), grads[len(variables):]
    for layer in {id(layer): layer for layer, _, _ in self.calls}.values():
      pairs = [(x, dz) for (owner, x, _), dz in zip(self.calls, dzs)
               if owner is layer and dz is not None]
      index = next((i for i, v in enumerate(variables) if v is layer.kernel), None)
      if not pairs or index is None:
        continue
      flat = lambda t: tf.reshape(tf.cast(t, tf.float32), [-1, t.shape[-1]])
      xs = tf.concat([flat(x) for x, _ in pairs], 0)
      dzs_ = tf.concat([flat(dz) for _, dz in pairs], 0)
      kernel_grad = tf.matmul(xs, dzs_, transpose_a=True)
      grads[index] = kernel_grad if grads[index] is None else grads[index] + kernel_grad
    return grads


@keras.saving.register_keras_serializable('tfi2i')
class WideDense(keras.layers.Dense):
  """keras.layers.Dense (same weights, same results) whose kernel gradient is formed once per
  step inside a WideKernelGradients context, however often the layer is called."""

  def call(self, inputs, training=None):
    wide = getattr(_WIDE, 'active', None)
    if wide is None or self.lora_enabled or self.quantization_mode:
      return super().call(inputs, training=training)
    z = tf.matmul(inputs, tf.stop_gradient(tf.convert_to_tensor(self.kernel)))
    wide.record(self, inputs, z)
    if self.bias is not None:
      z = z + self.bias
    return self.activation(z) if self.activation is not None else z
