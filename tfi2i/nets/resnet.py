"""The ResNet generator of CycleGAN (Johnson et al. style, official ResnetGenerator)."""
import keras

from tfi2i import layers as L


def resnet_generator(input_nc=3, output_nc=3, ngf=64, n_blocks=9, norm='instance',
                     use_dropout=False, init_gain=0.02, name='resnet_generator'):
  """c7s1-ngf, d(2ngf), d(4ngf), n_blocks x R(4ngf), u(2ngf), u(ngf), c7s1-output, tanh.

  Any input height and width; outputs keep the input size when H and W are multiples
  of 4 (two stride-2 steps). The last activation is float32 under mixed precision.
  """
  use_bias = norm == 'instance'  # official: bias only when the norm has no affine shift
  x = inputs = keras.Input((None, None, input_nc), name='image')
  x = L.apply(L.conv(ngf, 7, 1, 3, 'reflect', use_bias, init_gain, name='conv_in'), x)
  x = L.apply([L.norm_layer(norm, 'norm_in', init_gain), keras.layers.ReLU()], x)
  for i in range(2):
    mult = 2 ** i
    x = L.apply(L.conv(ngf * mult * 2, 3, 2, 1, 'zero', use_bias, init_gain, name=f'down{i}'), x)
    x = L.apply([L.norm_layer(norm, f'down{i}_norm', init_gain), keras.layers.ReLU()], x)
  for i in range(n_blocks):
    x = L.ResnetBlock(ngf * 4, norm, use_dropout, use_bias, 'reflect', init_gain,
                      name=f'block{i}')(x)
  for i in range(2):
    mult = 2 ** (2 - i)
    x = L.apply(L.conv_transpose(ngf * mult // 2, 3, 2, 1, 1, use_bias, init_gain,
                                 name=f'up{i}'), x)
    x = L.apply([L.norm_layer(norm, f'up{i}_norm', init_gain), keras.layers.ReLU()], x)
  x = L.apply(L.conv(output_nc, 7, 1, 3, 'reflect', True, init_gain, name='conv_out'), x)
  outputs = keras.layers.Activation('tanh', dtype='float32', name='tanh')(x)
  model = keras.Model(inputs, outputs, name=name)
  model.size_multiple = 4
  return model
