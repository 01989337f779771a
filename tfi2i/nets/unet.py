"""The pix2pix U-Net generator (official UnetGenerator / UnetSkipConnectionBlock).

Level i of the U-Net (0 = outermost) maps `outer[i]` channels to `inner[i]` on the way
down and back on the way up; its output is concat([its input, up path]) except at level
0, which ends in tanh. Official layer order per level:

  outermost: conv4s2 -> (level 1) -> ReLU -> convT4s2 (bias) -> tanh
  middle:    LReLU 0.2 -> conv4s2 -> norm -> (level i+1) -> ReLU -> convT4s2 -> norm
             [-> dropout 0.5 on the ngf*8 levels between level 3 and the innermost]
  innermost: LReLU 0.2 -> conv4s2 -> ReLU -> convT4s2 -> norm (no norm on the way down)
"""
import keras

from tfi2i import layers as L


def unet_generator(input_nc=3, output_nc=3, num_downs=8, ngf=64, norm='batch', use_dropout=True,
                   init_gain=0.02, name='unet_generator'):
  """pix2pix U-Net: unet_256 is num_downs=8, unet_128 is num_downs=7.

  Convolutions have a bias only when the norm has no affine shift (official use_bias:
  instance norm; 'none' gets a bias too, which the official code cannot build), except
  the last transposed conv, which always has one. Dropout and batch norm follow the
  `training` argument of the call: the official pix2pix test.py keeps the net in train
  mode (dropout on, test-batch statistics) unless --eval is given, so call it with
  training=True to reproduce the paper's inference.

  Args:
    input_nc: input image channels.
    output_nc: output image channels.
    num_downs: stride-2 steps; a 2**num_downs px input reaches 1x1 at the bottleneck.
    ngf: filters of the outermost level (the innermost levels have ngf * 8).
    norm: 'batch' (pix2pix default), 'instance' or 'none'.
    use_dropout: dropout 0.5 on the num_downs - 5 inner ngf*8 levels (pix2pix default on).
    init_gain: std of the normal(0, gain) weight init (official init_type 'normal').
    name: model name.

  Returns:
    A keras.Model from [B, H, W, input_nc] to [B, H, W, output_nc] in [-1, 1] (float32),
    for H and W multiples of 2**num_downs (attribute `size_multiple`).
  """
  if num_downs < 5:
    raise ValueError(f'num_downs must be at least 5, got {num_downs}')
  use_bias = norm != 'batch'
  inner = [ngf, ngf * 2, ngf * 4] + [ngf * 8] * (num_downs - 3)
  outer = [output_nc] + inner[:-1]
  innermost = num_downs - 1

  def level(x, i):
    y = x
    if i > 0:
      y = keras.layers.LeakyReLU(0.2, name=f'down{i}_lrelu')(y)
    y = L.apply(L.conv(inner[i], 4, 2, 1, 'zero', use_bias, init_gain, name=f'down{i}'), y)
    if 0 < i < innermost:
      y = L.apply([L.norm_layer(norm, f'down{i}_norm', init_gain)], y)
    if i < innermost:
      y = level(y, i + 1)
    y = keras.layers.ReLU(name=f'up{i}_relu')(y)
    y = L.apply(L.conv_transpose(outer[i], 4, 2, 1, 0, use_bias or i == 0, init_gain,
                                 name=f'up{i}'), y)
    if i == 0:
      return keras.layers.Activation('tanh', dtype='float32', name='tanh')(y)
    y = L.apply([L.norm_layer(norm, f'up{i}_norm', init_gain)], y)
    if use_dropout and 3 < i < innermost:
      y = keras.layers.Dropout(0.5, name=f'up{i}_dropout')(y)
    return keras.layers.Concatenate(name=f'skip{i}')([x, y])

  inputs = keras.Input((None, None, input_nc), name='image')
  model = keras.Model(inputs, level(inputs, 0), name=name)
  model.size_multiple = 2 ** num_downs
  model.min_input_size = 2 ** num_downs
  return model
