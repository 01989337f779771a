"""BicycleGAN networks (official junyanz/BicycleGAN models/networks.py).

* Generators G(image, z): U-Nets that tile the latent z [B, nz] over the image plane and
  concatenate it to the input only ('input', G_Unet_add_input) or to the input of every
  level ('all', G_Unet_add_all, the default).
* Encoders E(image) -> (mu, logvar): a ResNet (E_ResNet, 'resnet_256'/'resnet_128') or
  a plain conv net (E_NLayers, 'conv_256'/'conv_128'), both ending in an 8x8 average pool
  that must leave a 1x1 map, so they take 256 (or 128) px inputs only.
* Discriminator D(image) -> list of PatchGAN score maps, one per scale (D_NLayersMulti,
  'basic_256_multi'/'basic_128_multi'); scale i sees the input average-pooled i times.

Differences from the pix2pix nets (unet.py, patchgan.py) that the official code has:
every convolution has a bias, whatever the norm; the U-Net skip is concat([up, input])
(pix2pix: [input, up]); the up path's activation is `nl`; the default init is xavier
normal with gain 0.02 (init_type 'xavier'); the default norm is instance norm.
"""
import functools

import keras
import tensorflow as tf

from tfi2i import layers as L


def kernel_initializer(init_type='xavier', gain=0.02):
  """The official init_weights for Conv and Linear weights (biases are zero).

  'xavier' is xavier_normal_(gain): std = gain * sqrt(2 / (fan_in + fan_out)). PyTorch and
  Keras agree on the fans of Conv2D, Conv2DTranspose and Dense kernels, so the variances
  match layer for layer.

  Returns a new initializer on each call: a Keras 3 initializer without a seed draws its
  seed once, so one instance shared by layers gives equal-shaped kernels equal values.
  """
  if init_type == 'normal':
    return keras.initializers.RandomNormal(0.0, gain)
  if init_type == 'xavier':
    return keras.initializers.VarianceScaling(gain ** 2, 'fan_avg', 'untruncated_normal')
  if init_type == 'kaiming':  # kaiming_normal_(a=0, mode='fan_in'): gain unused, as official
    return keras.initializers.VarianceScaling(2.0, 'fan_in', 'untruncated_normal')
  if init_type == 'orthogonal':
    return keras.initializers.Orthogonal(gain)
  raise ValueError(f"unknown init_type {init_type!r}; expected 'normal', 'xavier', "
                   "'kaiming' or 'orthogonal'")


def nonlinearity(kind, name):
  """Official get_non_linearity: 'relu', 'lrelu' (slope 0.2) or 'elu'."""
  if kind == 'relu':
    return keras.layers.ReLU(name=name)
  if kind == 'lrelu':
    return keras.layers.LeakyReLU(0.2, name=name)
  if kind == 'elu':
    return keras.layers.ELU(1.0, name=name)
  raise ValueError(f"unknown nl {kind!r}; expected 'relu', 'lrelu' or 'elu'")


def _conv(filters, kernel, stride, padding, init, name):
  """nn.Conv2d(k, stride, padding, bias=True) with zero padding, as explicit pad + 'valid';
  init() makes the kernel initializer."""
  pad = [L.Pad2D(padding, 'zero', name=f'{name}_pad')] if padding else []
  return pad + [L.Conv2D(filters, kernel, strides=stride, padding='valid',
                                    kernel_initializer=init(), name=name)]


def _upsample(filters, mode, init, name):
  """Official upsampleLayer: 'basic' ConvTranspose2d(k4, s2, p1) or 'bilinear'
  Upsample(x2, align_corners=False) + ReflectionPad2d(1) + Conv2d(k3); both double H, W."""
  if mode == 'basic':
    return [keras.layers.Conv2DTranspose(filters, 4, strides=2, padding='valid',
                                         kernel_initializer=init(), name=name),
            L.Crop2D(1, 1, name=f'{name}_crop')]  # (n-1)*2 + 4 - 2*1 = 2n
  if mode == 'bilinear':
    return [keras.layers.UpSampling2D(2, interpolation='bilinear', name=f'{name}_resize'),
            L.Pad2D(1, 'reflect', name=f'{name}_pad'),
            L.Conv2D(filters, 3, padding='valid', kernel_initializer=init(), name=name)]
  raise ValueError(f"unknown upsample {mode!r}; expected 'basic' or 'bilinear'")


@keras.saving.register_keras_serializable('tfi2i')
class ConcatLatent(keras.layers.Layer):
  """[x, z] -> concat([x, z tiled over x's H and W], channels): z.view(B, nz, 1, 1).expand."""

  def call(self, inputs):
    x, z = inputs
    z = tf.cast(z, x.dtype)[:, None, None, :]
    shape = tf.shape(x)
    z = tf.broadcast_to(z, tf.stack([shape[0], shape[1], shape[2], tf.shape(z)[-1]]))
    return tf.concat([x, z], axis=-1)

  def compute_output_shape(self, shapes):
    (b, h, w, c), (_, nz) = shapes
    return (b, h, w, None if c is None or nz is None else c + nz)


@keras.saving.register_keras_serializable('tfi2i')
class AvgPoolExcludePad(keras.layers.Layer):
  """nn.AvgPool2d(k, stride, padding, count_include_pad=False): zero-pads `padding` on every
  side and averages over the real pixels of each window only.

  Keras' 'same' pooling also leaves padding out of the mean, but pads only at the end for
  even sizes (PyTorch pads both sides), so its windows sit one pixel off.
  """

  def __init__(self, pool_size=3, strides=2, padding=1, **kwargs):
    super().__init__(**kwargs)
    self.pool_size, self.strides, self.padding = int(pool_size), int(strides), int(padding)

  def call(self, x):
    p, k, s = self.padding, self.pool_size, self.strides
    pads = [[0, 0], [p, p], [p, p], [0, 0]]
    total = tf.nn.avg_pool2d(tf.pad(x, pads), k, s, 'VALID')
    inside = tf.nn.avg_pool2d(tf.pad(tf.ones_like(x[:1, :, :, :1]), pads), k, s, 'VALID')
    return total / inside

  def compute_output_shape(self, s):
    p, k, stride = self.padding, self.pool_size, self.strides
    out = lambda d: None if d is None else (d + 2 * p - k) // stride + 1
    return (s[0], out(s[1]), out(s[2]), s[3])

  def get_config(self):
    return {**super().get_config(), 'pool_size': self.pool_size, 'strides': self.strides,
            'padding': self.padding}


def _unet_with_z(where_add, input_nc, output_nc, nz, num_downs, ngf, norm, nl, use_dropout,
                 upsample, init_type, init_gain, name):
  """The U-Net of G_Unet_add_input / G_Unet_add_all, level 0 outermost.

  Level order (official UnetBlock / UnetBlock_with_z), z joined where marked [+z]:
    outermost: [+z] conv4s2 -> (level 1) -> nl -> up -> tanh
    middle:    [+z] LReLU 0.2 -> conv4s2 -> norm -> (level i+1) -> nl -> up -> norm
               [-> dropout 0.5 on the ngf*8 levels between level 3 and the innermost]
    innermost: [+z] LReLU 0.2 -> conv4s2 -> nl -> up -> norm
  then concat([up path, level input without z]). 'input' joins z at level 0 only.
  """
  min_downs = 5 if where_add == 'input' else 6
  if num_downs < min_downs:
    raise ValueError(f'num_downs must be at least {min_downs} for where_add={where_add!r}, '
                     f'got {num_downs}')
  init = functools.partial(kernel_initializer, init_type, init_gain)
  init()  # fail early on an unknown init_type
  inner = [ngf, ngf * 2, ngf * 4] + [ngf * 8] * (num_downs - 3)
  outer = [output_nc] + inner[:-1]
  innermost = num_downs - 1
  image = keras.Input((None, None, input_nc), name='image')
  z = keras.Input((nz,), name='z') if nz > 0 else None

  def level(x, i):
    y = x
    if z is not None and (i == 0 or where_add == 'all'):
      y = ConcatLatent(name=f'down{i}_z')([y, z])
    if i > 0:
      y = keras.layers.LeakyReLU(0.2, name=f'down{i}_lrelu')(y)
    y = L.apply(_conv(inner[i], 4, 2, 1, init, name=f'down{i}'), y)
    if 0 < i < innermost:
      y = L.apply([L.norm_layer(norm, f'down{i}_norm', init_gain)], y)
    if i < innermost:
      y = level(y, i + 1)
    y = nonlinearity(nl, f'up{i}_{nl}')(y)
    y = L.apply(_upsample(outer[i], upsample, init, name=f'up{i}'), y)
    if i == 0:
      return keras.layers.Activation('tanh', dtype='float32', name='tanh')(y)
    y = L.apply([L.norm_layer(norm, f'up{i}_norm', init_gain)], y)
    if use_dropout and 3 < i < innermost:
      y = keras.layers.Dropout(0.5, name=f'up{i}_dropout')(y)
    return keras.layers.Concatenate(name=f'skip{i}')([y, x])

  model = keras.Model([image, z] if z is not None else image, level(image, 0), name=name)
  model.size_multiple = 2 ** num_downs
  model.min_input_size = 2 ** num_downs
  model.nz = nz
  return model


def unet_add_input_generator(input_nc=3, output_nc=3, nz=8, num_downs=8, ngf=64, norm='instance',
                             nl='relu', use_dropout=False, upsample='basic', init_type='xavier',
                             init_gain=0.02, name='unet_add_input_generator'):
  """G_Unet_add_input: z tiled and concatenated to the input image only.

  Args:
    input_nc: image channels.
    output_nc: output channels.
    nz: latent size; 0 makes a plain U-Net taking the image alone.
    num_downs: 8 for unet_256, 7 for unet_128 (at least 5).
    ngf: filters of the outermost level.
    norm: 'instance' (BicycleGAN default, affine=False), 'batch' or 'none'.
    nl: up-path activation, 'relu' (default), 'lrelu' or 'elu'.
    use_dropout: dropout 0.5 on the inner ngf*8 levels (off by default; the official
      training scripts pass --use_dropout).
    upsample: 'basic' (transposed conv, default) or 'bilinear'.
    init_type: 'xavier' (BicycleGAN default), 'normal', 'kaiming' or 'orthogonal'.
    init_gain: gain of the init.
    name: model name.

  Returns:
    keras.Model([image [B, H, W, input_nc], z [B, nz]]) -> [B, H, W, output_nc] tanh
    (float32), H and W multiples of 2**num_downs (attribute `size_multiple`).
  """
  return _unet_with_z('input', input_nc, output_nc, nz, num_downs, ngf, norm, nl, use_dropout,
                      upsample, init_type, init_gain, name)


def unet_add_all_generator(input_nc=3, output_nc=3, nz=8, num_downs=8, ngf=64, norm='instance',
                           nl='relu', use_dropout=False, upsample='basic', init_type='xavier',
                           init_gain=0.02, name='unet_add_all_generator'):
  """G_Unet_add_all: z tiled and concatenated to the input of every U-Net level.

  Same arguments and result as unet_add_input_generator; num_downs at least 6.
  """
  return _unet_with_z('all', input_nc, output_nc, nz, num_downs, ngf, norm, nl, use_dropout,
                      upsample, init_type, init_gain, name)


def _encoder_head(x, nz, vae_like, init, name, inputs):
  """AvgPool2d(8) -> view(B, -1) -> Linear mu (and Linear logvar), float32 outputs."""
  x = keras.layers.AveragePooling2D(8, name='pool')(x)
  x = keras.layers.Reshape((x.shape[-1],), name='flatten')(x)  # fails unless the map is 1x1
  dense = lambda n: keras.layers.Dense(nz, kernel_initializer=init(), dtype='float32', name=n)
  outputs = [dense('mu')(x), dense('logvar')(x)] if vae_like else dense('mu')(x)
  return keras.Model(inputs, outputs, name=name)


def resnet_encoder(input_nc=3, nz=8, nef=64, n_blocks=5, norm='instance', nl='lrelu',
                   vae_like=True, init_type='xavier', init_gain=0.02, name='resnet_encoder'):
  """E_ResNet: conv4s2 -> (n_blocks - 1) x BasicBlock -> nl -> AvgPool2d(8) -> Linear(s).

  BasicBlock(cin, cout) = [norm, nl, conv3x3(cin, cin), norm, nl, conv3x3(cin, cout),
  AvgPool2d(2)] + [AvgPool2d(2), conv1x1(cin, cout)] (shortcut), all convs with bias;
  block n goes from nef * min(4, n) to nef * min(4, n + 1) channels.

  Args:
    input_nc: channels of the image to encode (BicycleGAN encodes B: output_nc).
    nz: latent size.
    nef: filters of the first conv.
    n_blocks: 5 for resnet_256 (256 px input), 4 for resnet_128 (128 px).
    norm: 'instance' (default), 'batch' or 'none'.
    nl: activation; official define_E always uses 'lrelu' (slope 0.2).
    vae_like: return (mu, logvar) (BicycleGAN always does) instead of mu alone.
    init_type: see kernel_initializer.
    init_gain: gain of the init.
    name: model name.

  Returns:
    keras.Model(image [B, 2**(n_blocks + 3), same, input_nc]) -> [mu, logvar], each
    [B, nz] float32 (only mu when vae_like is False). Other sizes fail unless the
    final map is 8x8 (attribute `input_size` is the nominal size).
  """
  init = functools.partial(kernel_initializer, init_type, init_gain)
  init()  # fail early on an unknown init_type
  inputs = keras.Input((None, None, input_nc), name='image')
  x = L.apply(_conv(nef, 4, 2, 1, init, name='conv_in'), inputs)
  for n in range(1, n_blocks):
    cin, cout = nef * min(4, n), nef * min(4, n + 1)
    y = L.apply([L.norm_layer(norm, f'block{n}_norm1', init_gain),
                 nonlinearity(nl, f'block{n}_{nl}1')], x)
    y = L.apply(_conv(cin, 3, 1, 1, init, name=f'block{n}_conv1'), y)
    y = L.apply([L.norm_layer(norm, f'block{n}_norm2', init_gain),
                 nonlinearity(nl, f'block{n}_{nl}2')], y)
    y = L.apply(_conv(cout, 3, 1, 1, init, name=f'block{n}_conv2'), y)
    y = keras.layers.AveragePooling2D(2, name=f'block{n}_pool')(y)
    s = keras.layers.AveragePooling2D(2, name=f'block{n}_shortcut_pool')(x)
    s = L.apply(_conv(cout, 1, 1, 0, init, name=f'block{n}_shortcut'), s)
    x = keras.layers.Add(name=f'block{n}')([y, s])
  x = nonlinearity(nl, f'out_{nl}')(x)
  model = _encoder_head(x, nz, vae_like, init, name, inputs)
  model.input_size = 2 ** (n_blocks + 3)
  return model


def conv_encoder(input_nc=3, nz=8, nef=64, n_layers=5, norm='instance', nl='lrelu',
                 vae_like=True, init_type='xavier', init_gain=0.02, name='conv_encoder'):
  """E_NLayers: conv4s2 -> nl, then (n_layers - 1) x [conv4s2 -> norm -> nl] with
  nef * min(2**n, 4) filters, AvgPool2d(8), Linear(s). All convs with bias.

  n_layers is 5 for conv_256 (256 px input) and 4 for conv_128 (128 px); the other
  arguments and the result are as resnet_encoder.
  """
  init = functools.partial(kernel_initializer, init_type, init_gain)
  init()  # fail early on an unknown init_type
  inputs = keras.Input((None, None, input_nc), name='image')
  x = L.apply(_conv(nef, 4, 2, 1, init, name='conv0'), inputs)
  x = nonlinearity(nl, f'conv0_{nl}')(x)
  for n in range(1, n_layers):
    x = L.apply(_conv(nef * min(2 ** n, 4), 4, 2, 1, init, name=f'conv{n}'), x)
    x = L.apply([L.norm_layer(norm, f'conv{n}_norm', init_gain),
                 nonlinearity(nl, f'conv{n}_{nl}')], x)
  model = _encoder_head(x, nz, vae_like, init, name, inputs)
  model.input_size = 2 ** (n_layers + 3)
  return model


def multiscale_discriminator(input_nc=3, ndf=64, n_layers=3, norm='instance', num_d=2,
                             init_type='xavier', init_gain=0.02, name='multiscale_discriminator'):
  """D_NLayersMulti: num_d PatchGANs, D_i on the input average-pooled i times.

  Each D_i: conv4s2 -> LReLU, (n_layers - 1) x [conv4s2 -> norm -> LReLU], conv4s1 ->
  norm -> LReLU, conv4s1 -> 1 channel; ndf_i = round(ndf / 2**i) and every conv has a
  bias (also with batch norm). Between scales: AvgPool2d(3, 2, padding 1,
  count_include_pad=False).

  The official GANLoss sums the per-scale losses (each a mean over its own map).

  Args:
    input_nc: channels of D's input (output_nc, or input_nc + output_nc with conditional_D).
    ndf: filters of the first conv of D_0.
    n_layers: 3 for basic_256_multi, 2 for basic_128_multi.
    norm: 'instance' (BicycleGAN default), 'batch' or 'none'.
    num_d: number of scales (official --num_Ds, default 2).
    init_type: see kernel_initializer.
    init_gain: gain of the init.
    name: model name.

  Returns:
    keras.Model(image [B, H, W, input_nc]) -> list of num_d raw score maps [B, h_i, w_i, 1]
    in float32, finest first. With num_d=1 the model returns the single tensor, as the
    official net does; `tf.nest.flatten(d(x))` is a list either way.
  """
  init = functools.partial(kernel_initializer, init_type, init_gain)
  init()  # fail early on an unknown init_type
  inputs = keras.Input((None, None, input_nc), name='image')
  x, scores = inputs, []
  for i in range(num_d):
    if i > 0:
      x = AvgPoolExcludePad(3, 2, 1, name=f'downsample{i}')(x)
    nf = int(round(ndf / 2 ** i))
    y = L.apply(_conv(nf, 4, 2, 1, init, name=f'd{i}_conv0'), x)
    y = keras.layers.LeakyReLU(0.2, name=f'd{i}_conv0_lrelu')(y)
    for n in range(1, n_layers + 1):
      stride = 2 if n < n_layers else 1
      y = L.apply(_conv(nf * min(2 ** n, 8), 4, stride, 1, init, name=f'd{i}_conv{n}'), y)
      y = L.apply([L.norm_layer(norm, f'd{i}_conv{n}_norm', init_gain),
                   keras.layers.LeakyReLU(0.2, name=f'd{i}_conv{n}_lrelu')], y)
    y = L.apply(_conv(1, 4, 1, 1, init, name=f'd{i}_logits'), y)
    scores.append(keras.layers.Activation('linear', dtype='float32', name=f'scores{i}')(y))
  return keras.Model(inputs, scores, name=name)


_G_DOWNS = {'unet_256': 8, 'unet_128': 7}
_E_NETS = {'resnet_256': (resnet_encoder, 5), 'resnet_128': (resnet_encoder, 4),
           'conv_256': (conv_encoder, 5), 'conv_128': (conv_encoder, 4)}
_D_LAYERS = {'basic_256_multi': 3, 'basic_128_multi': 2}


def bicycle_generator(input_nc=3, output_nc=3, nz=8, ngf=64, net='unet_256', where_add='all',
                      norm='instance', nl='relu', use_dropout=False, upsample='basic',
                      init_type='xavier', init_gain=0.02, name='generator'):
  """Official define_G: net 'unet_256' / 'unet_128', where_add 'all' / 'input' (nz=0
  forces 'input'); defaults are the BicycleGAN options'."""
  if net not in _G_DOWNS:
    raise ValueError(f'unknown generator {net!r}; expected one of {sorted(_G_DOWNS)}')
  if where_add not in ('input', 'all'):
    raise ValueError(f"unknown where_add {where_add!r}; expected 'input' or 'all'")
  build = unet_add_all_generator if where_add == 'all' and nz > 0 else unet_add_input_generator
  return build(input_nc, output_nc, nz, _G_DOWNS[net], ngf, norm, nl, use_dropout, upsample,
               init_type, init_gain, name)


def bicycle_encoder(input_nc=3, nz=8, nef=64, net='resnet_256', norm='instance',
                    vae_like=True, init_type='xavier', init_gain=0.02, name='encoder'):
  """Official define_E: net 'resnet_256' (default), 'resnet_128', 'conv_256', 'conv_128';
  LeakyReLU 0.2 always, as define_E."""
  if net not in _E_NETS:
    raise ValueError(f'unknown encoder {net!r}; expected one of {sorted(_E_NETS)}')
  build, depth = _E_NETS[net]
  return build(input_nc, nz, nef, depth, norm, 'lrelu', vae_like, init_type, init_gain, name)


def bicycle_discriminator(input_nc=3, ndf=64, net='basic_256_multi', norm='instance', num_ds=2,
                          init_type='xavier', init_gain=0.02, name='discriminator'):
  """Official define_D for 'basic_256_multi' (default) and 'basic_128_multi'.

  The official single-scale 'basic_256' / 'basic_128' cannot be built (define_D passes
  nl_layer to D_NLayers, which does not take it), so they are not offered.
  """
  if net not in _D_LAYERS:
    raise ValueError(f'unknown discriminator {net!r}; expected one of {sorted(_D_LAYERS)}')
  return multiscale_discriminator(input_nc, ndf, _D_LAYERS[net], norm, num_ds, init_type,
                                  init_gain, name)
