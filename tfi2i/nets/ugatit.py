"""U-GAT-IT networks (Kim et al., ICLR 2020), after the official PyTorch code
(znxlwm/UGATIT-pytorch networks.py; taki0112/UGATIT is the TensorFlow 1 original).

Generator G(x) -> (image, cam_logit [B, 2], heatmap [B, H/4, W/4, 1]):
  encoder  reflect-pad 3, conv 7x7 (ngf), IN, ReLU; two [reflect-pad 1, conv 3x3 stride 2,
           IN, ReLU]; n_blocks residual blocks (IN, no biases);
  CAM      an auxiliary classifier on the global average- and max-pooled features
           (two bias-free 1-unit linear layers: the cam logits); the features are
           re-weighted by each classifier's weights, concatenated, and mixed by a 1x1
           conv (+ bias) and ReLU; the heatmap is the channel sum of the result;
  gamma/beta  two linear layers + ReLU, then one linear layer each for gamma and beta;
           the light variant reads the globally average-pooled features, the full one the
           whole flattened feature map (so its input size is fixed: img_size);
  decoder  n_blocks residual blocks with AdaILN(gamma, beta); two [nearest up x2,
           reflect-pad 1, conv 3x3, ILN, ReLU]; reflect-pad 3, conv 7x7, tanh.
Discriminator D(x) -> (score map, cam_logit [B, 2], heatmap): n_layers - 2 spectrally
  normalised 4x4 stride-2 convs (reflect-pad 1, LeakyReLU 0.2, channels doubling from ndf)
  and one stride-1 conv, the same CAM (spectrally normalised logits; the features are
  re-weighted with the un-normalised weights, as the official `parameters()[0]`), a 1x1 conv
  + LeakyReLU, and a spectrally normalised 4x4 conv to one channel. Global D: n_layers=7,
  local D: n_layers=5.

Initialisation: PyTorch's defaults (the official code sets none): weights U(+-1/sqrt(fan_in)),
biases likewise. Feature order of the full variant's flattened map is NHWC here (NCHW in
PyTorch): a permutation of that layer's inputs, same parameter count and init.
"""
import keras
import tensorflow as tf

from tfi2i import layers as L

N_DOWNSAMPLING = 2


def _conv(filters, kernel, stride=1, padding=0, use_bias=False, name=None):
  """nn.Conv2d with reflection padding (PyTorch default init)."""
  out = [L.Pad2D(padding, 'reflect', name=f'{name}_pad')] if padding else []
  out.append(L.Conv2D(filters, kernel, strides=stride, padding='valid',
                                 use_bias=use_bias, kernel_initializer=L.torch_default_init(),
                                 name=name))
  return out


def _dense(units, name, wide=False, **kwargs):
  """nn.Linear without bias; `wide`: a L.WideDense (the full variant's layer on the flattened
  map, whose 1 GB kernel gradient at 256 px is formed once per step)."""
  return (L.WideDense if wide else keras.layers.Dense)(
      units, use_bias=False, kernel_initializer=L.torch_default_init(), name=name, **kwargs)


@keras.saving.register_keras_serializable('tfi2i')
class ClassActivation(keras.layers.Layer):
  """The CAM module of U-GAT-IT: logits of a global-average- and a global-max-pooled
  classifier (bias-free, one unit each) and the features re-weighted by each classifier's
  weights: x -> (concat([x * w_gap, x * w_gmp]) [B, H, W, 2C], cam_logit [B, 2]).
  spectral_norm: the logits use spectrally normalised weights (the discriminator's)."""

  def __init__(self, spectral_norm=False, **kwargs):
    super().__init__(**kwargs)
    self.spectral_norm = spectral_norm
    # the logits are computed in float32 under a mixed policy (the CAM loss weighs 1000)
    if spectral_norm:
      self.gap_fc = L.SpectralNormalized(1, 'dense', use_bias=False, name='gap_fc',
                                         dtype='float32')
      self.gmp_fc = L.SpectralNormalized(1, 'dense', use_bias=False, name='gmp_fc',
                                         dtype='float32')
    else:
      self.gap_fc = _dense(1, 'gap_fc', dtype='float32')
      self.gmp_fc = _dense(1, 'gmp_fc', dtype='float32')

  def build(self, input_shape):
    self.gap_fc.build((None, input_shape[-1]))
    self.gmp_fc.build((None, input_shape[-1]))

  def call(self, x, training=False):
    x32 = tf.cast(x, tf.float32)
    gap = tf.reduce_mean(x32, axis=[1, 2])
    gmp = tf.reduce_max(x32, axis=[1, 2])
    kwargs = {'training': training} if self.spectral_norm else {}
    logits = tf.concat([self.gap_fc(gap, **kwargs), self.gmp_fc(gmp, **kwargs)], axis=1)
    w_gap = tf.cast(self.gap_fc.kernel[:, 0], x.dtype)
    w_gmp = tf.cast(self.gmp_fc.kernel[:, 0], x.dtype)
    return tf.concat([x * w_gap, x * w_gmp], axis=-1), logits

  def compute_output_shape(self, s):
    return (*s[:-1], 2 * s[-1]), (s[0], 2)

  def get_config(self):
    return {**super().get_config(), 'spectral_norm': self.spectral_norm}


@keras.saving.register_keras_serializable('tfi2i')
class AdaILNResnetBlock(keras.layers.Layer):
  """x + [pad, conv3x3, AdaILN, ReLU, pad, conv3x3, AdaILN](x) (official ResnetAdaILNBlock,
  no biases)."""

  def __init__(self, dim, **kwargs):
    super().__init__(**kwargs)
    self.dim = dim
    self.pad1, self.conv1 = _conv(dim, 3, 1, 1, name='conv1')
    self.norm1 = L.AdaILN(name='norm1')
    self.pad2, self.conv2 = _conv(dim, 3, 1, 1, name='conv2')
    self.norm2 = L.AdaILN(name='norm2')

  def call(self, inputs):
    x, gamma, beta = inputs
    y = tf.nn.relu(self.norm1([self.conv1(self.pad1(x)), gamma, beta]))
    y = self.norm2([self.conv2(self.pad2(y)), gamma, beta])
    return x + y

  def compute_output_shape(self, s):
    return s[0]

  def get_config(self):
    return {**super().get_config(), 'dim': self.dim}


def _attention(x, dim, activation, spectral_norm):
  """CAM, then the 1x1 conv (+ bias) mixing the re-weighted features back to `dim` channels
  and `activation`: (features, cam_logit, heatmap = their channel sum in float32)."""
  x, cam_logit = ClassActivation(spectral_norm=spectral_norm, name='cam')(x)
  x = activation(keras.layers.Conv2D(
      dim, 1, use_bias=True, kernel_initializer=L.torch_default_init(),
      bias_initializer=L.TorchBiasInit(2 * dim), name='conv1x1')(x))
  heatmap = keras.layers.Lambda(lambda t: tf.reduce_sum(tf.cast(t, tf.float32), axis=-1,
                                                        keepdims=True),
                                output_shape=lambda s: (*s[:-1], 1), name='heatmap')(x)
  return x, cam_logit, heatmap


def ugatit_generator(input_nc=3, output_nc=3, ngf=64, n_blocks=4, img_size=256, light=False,
                     name='generator'):
  """The U-GAT-IT generator (module docstring): x -> (image, cam_logit, heatmap).

  The full variant (light=False) takes img_size x img_size inputs only."""
  side = None if light else int(img_size)
  if not light and side % 4:
    raise ValueError(f'the full U-GAT-IT generator needs img_size divisible by 4, got {img_size}')
  image = keras.Input((side, side, input_nc), name='image')
  x = L.apply(_conv(ngf, 7, 1, 3, name='conv_in')
              + [L.InstanceNorm(name='norm_in'), keras.layers.ReLU()], image)
  for i in range(N_DOWNSAMPLING):
    mult = 2 ** i
    x = L.apply(_conv(ngf * mult * 2, 3, 2, 1, name=f'down{i}')
                + [L.InstanceNorm(name=f'down{i}_norm'), keras.layers.ReLU()], x)
  dim = ngf * 2 ** N_DOWNSAMPLING
  for i in range(n_blocks):
    x = L.ResnetBlock(dim, 'instance', use_bias=False, initializer=L.torch_default_init(),
                      name=f'block{i}')(x)
  x, cam_logit, heatmap = _attention(x, dim, keras.layers.ReLU(), spectral_norm=False)
  h = keras.layers.GlobalAveragePooling2D()(x) if light else keras.layers.Flatten()(x)
  # the full variant's wide layer computes in float32 under a mixed policy: a bfloat16 copy
  # of its 1 GB kernel per call (kept for the backward pass) would cost more than it saves
  fc1 = _dense(dim, 'fc1', wide=True, dtype='float32') if not light else _dense(dim, 'fc1')
  h = keras.layers.ReLU()(fc1(h))
  h = keras.layers.ReLU()(_dense(dim, 'fc2')(h))
  gamma, beta = _dense(dim, 'gamma')(h), _dense(dim, 'beta')(h)
  for i in range(n_blocks):
    x = AdaILNResnetBlock(dim, name=f'ada_block{i}')([x, gamma, beta])
  for i in range(N_DOWNSAMPLING):
    mult = 2 ** (N_DOWNSAMPLING - i)
    x = keras.layers.UpSampling2D(2, interpolation='nearest')(x)
    x = L.apply(_conv(ngf * mult // 2, 3, 1, 1, name=f'up{i}')
                + [L.ILN(name=f'up{i}_norm'), keras.layers.ReLU()], x)
  x = L.apply(_conv(output_nc, 7, 1, 3, name='conv_out'), x)
  out = keras.layers.Activation('tanh', dtype='float32', name='tanh')(x)
  model = keras.Model(image, [out, cam_logit, heatmap], name=name)
  model.size_multiple = 2 ** N_DOWNSAMPLING
  model.fixed_size = side
  return model


def ugatit_discriminator(input_nc=3, ndf=64, n_layers=5, name='discriminator'):
  """The U-GAT-IT discriminator (module docstring): x -> (scores, cam_logit, heatmap);
  n_layers 7 is the global D, 5 the local one."""
  if n_layers < 3:
    raise ValueError(f'a U-GAT-IT discriminator needs n_layers >= 3, got {n_layers}')
  image = keras.Input((None, None, input_nc), name='image')
  x = image
  lrelu = lambda: keras.layers.LeakyReLU(0.2)
  channels = ndf
  for i in range(n_layers - 2):  # ndf, then doubling; stride 2
    channels = ndf * 2 ** i
    x = L.Pad2D(1, 'reflect', name=f'conv{i}_pad')(x)
    x = lrelu()(L.SpectralNormalized(channels, 'conv', 4, 2, name=f'conv{i}')(x))
  channels *= 2
  x = L.Pad2D(1, 'reflect', name='conv_last_pad')(x)
  x = lrelu()(L.SpectralNormalized(channels, 'conv', 4, 1, name='conv_last')(x))
  x, cam_logit, heatmap = _attention(x, channels, lrelu(), spectral_norm=True)
  x = L.Pad2D(1, 'reflect', name='out_pad')(x)
  out = L.SpectralNormalized(1, 'conv', 4, 1, use_bias=False, name='out')(x)
  out = keras.layers.Activation('linear', dtype='float32', name='scores')(out)
  return keras.Model(image, [out, cam_logit, heatmap], name=name)
