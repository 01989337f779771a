"""The attribute editors' networks: StarGAN's generator and PatchGAN critic (Choi et al.,
CVPR 2018), and the discriminator shape all three editors share: a convolutional trunk,
then an adversarial head and an attribute-classifier head.

StarGAN follows yunjey/stargan model.py (commit 94dd002): zero padding, instance norm with
affine parameters (eps 1e-5), PyTorch's default initialisation (the code sets none), no
bias in the generator and in the critic's two heads, LeakyReLU 0.01 in the critic. The
official code never switches its nets to eval mode, so instance norm always uses each
image's own statistics, at test time too; that is all tfi2i's InstanceNorm does.
"""
import keras
import tensorflow as tf

from tfi2i import layers as L


def _torch_conv(filters, kernel, stride=1, padding=0, use_bias=False, fan_in=None, name=None):
  """nn.Conv2d with PyTorch's default init (bias U(+-1/sqrt(fan_in)) when used)."""
  layers = []
  if padding:
    layers.append(L.Pad2D(padding, 'zero', name=f'{name}_pad'))
  layers.append(L.Conv2D(
      filters, kernel, strides=stride, padding='valid', use_bias=use_bias,
      kernel_initializer=L.torch_default_init(),
      bias_initializer=L.TorchBiasInit(fan_in) if use_bias else 'zeros', name=name))
  return layers


def tile_attributes(image_like, attributes):
  """attributes [batch, k] repeated over the H x W of `image_like` -> [batch, H, W, k]."""
  attributes = tf.cast(attributes, image_like.dtype)
  return tf.ones_like(image_like[..., :1]) * attributes[:, None, None, :]


@keras.saving.register_keras_serializable('tfi2i')
class TileConcat(keras.layers.Layer):
  """[features, attributes tiled over H x W] on the channel axis."""

  def call(self, features, attributes):
    return tf.concat([features, tile_attributes(features, attributes)], axis=-1)

  def compute_output_shape(self, features_shape, attributes_shape):
    return (*features_shape[:-1], features_shape[-1] + attributes_shape[-1])


@keras.saving.register_keras_serializable('tfi2i')
class StarGANResidualBlock(keras.layers.Layer):
  """x + [conv3x3, IN, ReLU, conv3x3, IN](x), zero padding, no bias (model.py ResidualBlock)."""

  def __init__(self, dim, **kwargs):
    super().__init__(**kwargs)
    self.dim = int(dim)
    self.body = keras.Sequential(
        _torch_conv(dim, 3, 1, 1, name='conv1') + [L.InstanceNorm(affine=True, name='norm1'),
                                                   keras.layers.ReLU()]
        + _torch_conv(dim, 3, 1, 1, name='conv2') + [L.InstanceNorm(affine=True, name='norm2')],
        name='body')

  def build(self, input_shape):
    self.body.build(input_shape)

  def call(self, x, training=False):
    return x + self.body(x, training=training)

  def get_config(self):
    return {**super().get_config(), 'dim': self.dim}


def stargan_generator(c_dim, conv_dim=64, repeat_num=6, image_channels=3, name='generator'):
  """G(image, target attributes) -> image (model.py Generator): the labels tiled and
  concatenated after the image; conv 7x7; two stride-2 downs; repeat_num residual blocks;
  two transposed-conv ups; conv 7x7 to the image, tanh."""
  image = keras.Input((None, None, image_channels), name='image')
  labels = keras.Input((c_dim,), name='attributes')
  x = TileConcat(name='with_labels')(image, labels)
  x = L.apply(_torch_conv(conv_dim, 7, 1, 3, name='conv_in'), x)
  x = keras.layers.ReLU()(L.InstanceNorm(affine=True, name='norm_in')(x))
  dim = conv_dim
  for i in range(2):
    dim *= 2
    x = L.apply(_torch_conv(dim, 4, 2, 1, name=f'down{i + 1}'), x)
    x = keras.layers.ReLU()(L.InstanceNorm(affine=True, name=f'down{i + 1}_norm')(x))
  for i in range(repeat_num):
    x = StarGANResidualBlock(dim, name=f'res{i + 1}')(x)
  for i in range(2):
    dim //= 2
    x = L.apply(L.conv_transpose(dim, 4, 2, 1, 0, use_bias=False, name=f'up{i + 1}',
                                 initializer=L.torch_default_init()), x)
    x = keras.layers.ReLU()(L.InstanceNorm(affine=True, name=f'up{i + 1}_norm')(x))
  x = L.apply(_torch_conv(image_channels, 7, 1, 3, name='conv_out'), x)
  out = keras.layers.Activation('tanh', dtype='float32', name='tanh')(x)
  return keras.Model([image, labels], out, name=name)


class AttributeDiscriminator(keras.Model):
  """A trunk of `blocks`, then two heads on its last feature map: `adversarial` (the
  critic's scores) and `classifier` (attribute logits [batch, k]).

  `features(x, layer)` runs the trunk up to block `layer` (1-based; negative counts from the
  end) and `heads(features, layer)` the rest, so Grad-CAM can take the gradient of the
  logits with respect to any block's output. Both heads return float32.
  """

  def __init__(self, blocks, adversarial, classifier, **kwargs):
    super().__init__(**kwargs)
    self.n_blocks = len(blocks)
    for i, block in enumerate(blocks):  # one attribute each: tf.train.Checkpoint tracks them
      setattr(self, f'block{i + 1}', block)
    self.adversarial = adversarial
    self.classifier = classifier

  def build(self, input_shape):
    shape = tuple(input_shape)
    for block in self.blocks:
      block.build(shape)
      shape = block.compute_output_shape(shape)
    self.adversarial.build(shape)
    self.classifier.build(shape)

  @property
  def blocks(self):
    return [getattr(self, f'block{i + 1}') for i in range(self.n_blocks)]

  def layer_index(self, layer):
    """A block number (1..n, or -n..-1 from the end) as 1..n; ValueError otherwise."""
    layer = int(layer)
    index = layer if layer > 0 else self.n_blocks + 1 + layer
    if not 1 <= index <= self.n_blocks:
      raise ValueError(f'cam.layer={layer}: the discriminator has {self.n_blocks} blocks '
                       f'(1..{self.n_blocks}, or -1..-{self.n_blocks} from the end)')
    return index

  def features(self, x, layer=-1, training=False):
    for block in self.blocks[:self.layer_index(layer)]:
      x = block(x, training=training)
    return x

  def heads(self, features, layer=-1, training=False):
    x = features
    for block in self.blocks[self.layer_index(layer):]:
      x = block(x, training=training)
    return (tf.cast(self.adversarial(x, training=training), tf.float32),
            tf.cast(self.classifier(x, training=training), tf.float32))

  def call(self, x, training=False):
    return self.heads(self.features(x, -1, training), -1, training)


def stargan_discriminator(c_dim, image_size=128, conv_dim=64, repeat_num=6, image_channels=3,
                          name='discriminator'):
  """StarGAN's critic (model.py Discriminator): repeat_num convs 4x4 stride 2 (bias) with
  LeakyReLU 0.01; adversarial head conv 3x3 -> one score per patch; classifier head a conv
  as large as the last feature map (image_size / 2^repeat_num) -> c_dim logits."""
  if image_size % 2 ** repeat_num:
    raise ValueError(f'StarGAN discriminator: image_size {image_size} must be a multiple of '
                     f'2^repeat_num = {2 ** repeat_num}')
  blocks, dim, cin = [], conv_dim, image_channels
  for i in range(repeat_num):
    blocks.append(keras.Sequential(
        _torch_conv(dim, 4, 2, 1, use_bias=True, fan_in=cin * 16, name=f'conv{i + 1}')
        + [keras.layers.LeakyReLU(0.01)], name=f'block{i + 1}'))
    cin, dim = dim, dim * 2
  kernel = image_size // 2 ** repeat_num
  adversarial = keras.Sequential(_torch_conv(1, 3, 1, 1, name='conv_src'), name='adversarial')
  classifier = keras.Sequential(
      _torch_conv(c_dim, kernel, name='conv_cls') + [keras.layers.Reshape((c_dim,))],
      name='classifier')
  disc = AttributeDiscriminator(blocks, adversarial, classifier, name=name)
  disc.build((None, image_size, image_size, image_channels))
  return disc
