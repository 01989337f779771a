"""AttGAN (He et al., TIP 2019) and STGAN (Liu et al., CVPR 2019) networks.

AttGAN follows the official TensorFlow code, LynnHo/AttGAN-Tensorflow models.py at commit
4b00e6c (v1, Genc / Gdec / D); STGAN follows csmliu/STGAN models.py at commit 8a206ad
(Genc / ConvGRUCell / Gstu / Gdec / D). Both are TF-slim code, so:
  - every convolution is 4x4 stride 2 with 'SAME' padding (Keras' 'same' is the same
    arithmetic), except the STU's 3x3 stride-1 gates;
  - a conv followed by a normalisation has no bias (slim drops it when normalizer_fn is set);
    the others have one;
  - weights are Glorot-uniform (slim's xavier_initializer), biases zero;
  - batch norm is slim.batch_norm(scale=True): gamma and beta learned, decay 0.999, eps 1e-3;
  - instance norm is slim.instance_norm: per-channel gamma and beta, eps 1e-6;
  - leaky ReLU is tf.nn.leaky_relu, slope 0.2; channels are capped at MAX_DIM = 1024.

Generator  encoder  n_layers x [conv, BN, LeakyReLU], channels dim * 2^i;
           decoder  input [innermost encoder map, attributes tiled over H x W]; n_layers - 1
                    x [transposed conv, BN, ReLU], channels dim * 2^(n_layers - 1 - i); after
                    decoder layer i, concatenate the skip at that scale if shortcut_layers > i,
                    then the tiled attributes if inject_layers > i (channel order [decoder,
                    skip, attributes]); a last transposed conv (bias) to the image, tanh.
           AttGAN's skips are the encoder maps; STGAN's are the outputs of its selective
           transfer units (STUs), which read the encoder maps and the attribute difference.
Discriminator (the same in both official codes)  n_layers x [conv, instance norm,
           LeakyReLU]; flatten; two heads of their own, [dense fc_dim, LeakyReLU, dense 1]
           (adversarial) and [dense fc_dim, LeakyReLU, dense k] (attribute logits).

The generators are called as G([image, attributes]): AttGAN takes the (scaled) target
attributes, STGAN the difference target - source; the scaling is the caller's. H and W must be
multiples of 2^n_layers (so the skips line up); the discriminator's heads need the fixed
image_size it is built for.
"""
import keras
import tensorflow as tf

from tfi2i import layers as L
from tfi2i.nets.attribute import AttributeDiscriminator
from tfi2i.nets.attribute import TileConcat

MAX_DIM = 1024  # models.py MAX_DIM = 64 * 16


def _channels(dim, i):
  return min(dim * 2 ** i, MAX_DIM)


def _conv(filters, kernel=4, stride=2, use_bias=False, activation=None, name=None):
  """slim.conv2d(padding='SAME'): Glorot-uniform weights, zero bias."""
  return keras.layers.Conv2D(filters, kernel, strides=stride, padding='same',
                             use_bias=use_bias, activation=activation,
                             kernel_initializer='glorot_uniform', bias_initializer='zeros',
                             name=name)


def _conv_transpose(filters, use_bias=False, name=None):
  """slim.conv2d_transpose(kernel 4, stride 2, padding='SAME'): doubles H and W."""
  return keras.layers.Conv2DTranspose(filters, 4, strides=2, padding='same', use_bias=use_bias,
                                      kernel_initializer='glorot_uniform',
                                      bias_initializer='zeros', name=name)


def _batch_norm(name):
  """slim.batch_norm(scale=True): decay 0.999, eps 1e-3, learned gamma and beta."""
  return keras.layers.BatchNormalization(momentum=0.999, epsilon=1e-3, center=True, scale=True,
                                         name=name)


# --------------------------------------------------------------------------- discriminator


def attgan_discriminator(n_attributes, image_size=128, dim=64, n_layers=5, fc_dim=1024,
                         image_channels=3, name='discriminator'):
  """AttGAN's and STGAN's discriminator (models.py D in both): n_layers x [conv 4x4 stride 2
  (no bias), instance norm (gamma, beta, eps 1e-6), LeakyReLU 0.2], channels min(dim * 2^i,
  1024); then on the flattened map an adversarial head [dense fc_dim, LeakyReLU 0.2, dense 1]
  and a classifier head [dense fc_dim, LeakyReLU 0.2, dense n_attributes] (logits). The
  flatten fixes the input size to image_size."""
  blocks = []
  for i in range(n_layers):
    blocks.append(keras.Sequential([
        _conv(_channels(dim, i), name=f'conv{i + 1}'),
        L.InstanceNorm(epsilon=1e-6, affine=True, name=f'norm{i + 1}'),
        keras.layers.LeakyReLU(negative_slope=0.2, name=f'lrelu{i + 1}'),
    ], name=f'block{i + 1}'))

  def head(units, head_name):
    return keras.Sequential([
        keras.layers.Flatten(name='flatten'),
        keras.layers.Dense(fc_dim, name='fc1'),
        keras.layers.LeakyReLU(negative_slope=0.2, name='lrelu'),
        keras.layers.Dense(units, name='fc2'),
    ], name=head_name)

  disc = AttributeDiscriminator(blocks, head(1, 'adversarial'), head(n_attributes, 'classifier'),
                                name=name)
  disc.build((None, image_size, image_size, image_channels))
  return disc


# --------------------------------------------------------------------------- generators


def _encoder(image, dim, n_layers):
  """Genc: n_layers x [conv 4x4 stride 2 (no bias), BN, LeakyReLU 0.2]; every layer's map,
  shallowest first (the official zs)."""
  features, x = [], image
  for i in range(n_layers):
    x = _conv(_channels(dim, i), name=f'enc{i + 1}')(x)
    x = _batch_norm(f'enc{i + 1}_norm')(x)
    x = keras.layers.LeakyReLU(negative_slope=0.2, name=f'enc{i + 1}_lrelu')(x)
    features.append(x)
  return features


def _decoder(innermost, skips, attributes, dim, n_layers, shortcut_layers, inject_layers,
             image_channels):
  """Gdec: [innermost, tiled attributes] through n_layers - 1 x [transposed conv 4x4 stride 2
  (no bias), BN, ReLU] (channels min(dim * 2^(n_layers - 1 - i), 1024)), each followed by the
  skip at its scale (skips[n_layers - 2 - i], if shortcut_layers > i) and the tiled attributes
  (if inject_layers > i); then a transposed conv with bias to the image, and tanh (float32)."""
  x = TileConcat(name='dec_input')(innermost, attributes)
  for i in range(n_layers - 1):
    x = _conv_transpose(_channels(dim, n_layers - 1 - i), name=f'dec{i + 1}')(x)
    x = _batch_norm(f'dec{i + 1}_norm')(x)
    x = keras.layers.ReLU(name=f'dec{i + 1}_relu')(x)
    if shortcut_layers > i:
      x = keras.layers.Concatenate(name=f'dec{i + 1}_skip')([x, skips[n_layers - 2 - i]])
    if inject_layers > i:
      x = TileConcat(name=f'dec{i + 1}_inject')(x, attributes)
  x = _conv_transpose(image_channels, use_bias=True, name=f'dec{n_layers}')(x)
  return keras.layers.Activation('tanh', dtype='float32', name='tanh')(x)


def attgan_generator(n_attributes, dim=64, n_layers=5, shortcut_layers=1, inject_layers=1,
                     image_channels=3, name='generator'):
  """AttGAN's G([image, attributes]) -> image (models.py Genc + Gdec at 4b00e6c): the encoder
  maps as skips. shortcut_layers and inject_layers are clamped to n_layers - 1 as Gdec does;
  1 and 1 is the official 128 px model (v1's argparse default for inject_layers is 0).

  The official training encodes once and decodes twice (reconstruction, edit); calling this
  model twice gives the same outputs, the encoder simply runs twice."""
  shortcut_layers = min(shortcut_layers, n_layers - 1)
  inject_layers = min(inject_layers, n_layers - 1)
  image = keras.Input((None, None, image_channels), name='image')
  attributes = keras.Input((n_attributes,), name='attributes')
  features = _encoder(image, dim, n_layers)
  out = _decoder(features[-1], features[:-1], attributes, dim, n_layers, shortcut_layers,
                 inject_layers, image_channels)
  return keras.Model([image, attributes], out, name=name)


@keras.saving.register_keras_serializable('tfi2i')
class SelectiveTransferUnit(keras.layers.Layer):
  """STGAN's STU (models.py ConvGRUCell, stu_norm 'none', pass_state 'stu'), called as
  stu([feature, state]) -> (output, new_state):

    state_hat = transposed conv 4x4 stride 2 (bias)(state)     # up to the feature's scale
    reset     = sigmoid(conv_k([feature, state_hat]))           # own conv, with bias
    update    = sigmoid(conv_k([feature, state_hat]))           # own conv, with bias
    new_state = reset * state_hat                               # passed to the next unit
    candidate = tanh(conv_k([feature, new_state]))
    output    = (1 - update) * state_hat + update * candidate   # the decoder's skip

  All four convolutions have `filters` output channels; conv_k is kernel_size x kernel_size,
  stride 1, 'same'.
  """

  def __init__(self, filters, kernel_size=3, **kwargs):
    super().__init__(**kwargs)
    self.filters, self.kernel_size = int(filters), int(kernel_size)
    self.upsample = _conv_transpose(self.filters, use_bias=True, name='upsample')
    gate = lambda activation, gate_name: _conv(self.filters, self.kernel_size, 1, use_bias=True,
                                               activation=activation, name=gate_name)
    self.reset_gate = gate('sigmoid', 'reset_gate')
    self.update_gate = gate('sigmoid', 'update_gate')
    self.candidate = gate('tanh', 'candidate')

  def build(self, input_shape):
    feature_shape, state_shape = (tuple(s) for s in input_shape)
    self.upsample.build(state_shape)
    gate_input = (*feature_shape[:-1], feature_shape[-1] + self.filters)
    for conv in (self.reset_gate, self.update_gate, self.candidate):
      conv.build(gate_input)

  def call(self, inputs):
    feature, state = inputs
    state_hat = self.upsample(state)
    with_state = tf.concat([feature, state_hat], axis=-1)
    reset, update = self.reset_gate(with_state), self.update_gate(with_state)
    new_state = reset * state_hat
    candidate = self.candidate(tf.concat([feature, new_state], axis=-1))
    output = (1 - update) * state_hat + update * candidate
    return output, new_state

  def compute_output_shape(self, input_shape):
    shape = (*tuple(input_shape[0])[:-1], self.filters)
    return shape, shape

  def get_config(self):
    return {**super().get_config(), 'filters': self.filters, 'kernel_size': self.kernel_size}


def stgan_generator(n_attributes, dim=64, n_layers=5, shortcut_layers=4, inject_layers=4,
                    stu_dim=64, stu_layers=4, stu_kernel_size=3, image_channels=3,
                    name='generator'):
  """STGAN's G([image, attribute difference]) -> image (models.py Genc + Gstu + Gdec at
  8a206ad, with train.py's defaults: use_stu, stu_inject_layers = stu_layers, stu_norm 'none',
  stu_state 'stu', multi_inputs 1, one_more_conv 0).

  The STUs run deepest first: the state starts as [innermost encoder map, tiled difference];
  unit i (i = 0..stu_layers - 1) reads encoder map stu_layers - 1 - i with min(stu_dim *
  2^(stu_layers - 1 - i), 1024) channels, and passes on [its new_state, tiled difference].
  Its output replaces that encoder map as the decoder's skip; the decoder is AttGAN's, with
  the difference as its attributes.

  stu_layers must be n_layers - 1 (the official indexing needs it for the scales to line up).
  Only the units whose outputs the decoder reads are built (the first min(shortcut_layers,
  stu_layers)); the official code also builds the others, which then get no gradient.
  """
  if stu_layers != n_layers - 1:
    raise ValueError(f'STGAN generator: stu_layers ({stu_layers}) must be n_layers - 1 '
                     f'({n_layers - 1}) for the STU states to match the encoder scales')
  shortcut_layers = min(shortcut_layers, n_layers - 1)
  inject_layers = min(inject_layers, n_layers - 1)
  image = keras.Input((None, None, image_channels), name='image')
  difference = keras.Input((n_attributes,), name='attribute_difference')
  features = _encoder(image, dim, n_layers)

  skips = [None] * (n_layers - 1)
  state = TileConcat(name='stu_state0')(features[-1], difference)
  n_units = min(shortcut_layers, stu_layers)
  for i in range(n_units):
    level = stu_layers - 1 - i  # the encoder map (0-based) this unit transfers
    skips[level], new_state = SelectiveTransferUnit(
        _channels(stu_dim, level), stu_kernel_size, name=f'stu{level + 1}')(
            [features[level], state])
    if i + 1 < n_units:
      state = TileConcat(name=f'stu_state{i + 1}')(new_state, difference)

  out = _decoder(features[-1], skips, difference, dim, n_layers, shortcut_layers,
                 inject_layers, image_channels)
  return keras.Model([image, difference], out, name=name)
