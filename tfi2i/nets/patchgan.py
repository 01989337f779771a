"""The PatchGAN discriminator (official NLayerDiscriminator; n_layers=3 is the 70x70 PatchGAN)."""
import keras

from tfi2i import layers as L


def patch_discriminator(input_nc=3, ndf=64, n_layers=3, norm='instance', init_gain=0.02,
                        name='patch_discriminator'):
  """C64 - C128 - C256 - C512(stride 1) - 1-channel logits, LeakyReLU 0.2, 4x4 convs, pad 1.

  Returns raw scores (no sigmoid) in float32, one per receptive-field patch.
  """
  use_bias = norm == 'instance'
  x = inputs = keras.Input((None, None, input_nc), name='image')
  x = L.apply(L.conv(ndf, 4, 2, 1, 'zero', True, init_gain, name='conv0'), x)
  x = keras.layers.LeakyReLU(0.2)(x)
  mult = 1
  for n in range(1, n_layers + 1):
    mult = min(2 ** n, 8)
    stride = 2 if n < n_layers else 1
    x = L.apply(L.conv(ndf * mult, 4, stride, 1, 'zero', use_bias, init_gain, name=f'conv{n}'), x)
    x = L.apply([L.norm_layer(norm, f'norm{n}', init_gain), keras.layers.LeakyReLU(0.2)], x)
  x = L.apply(L.conv(1, 4, 1, 1, 'zero', True, init_gain, name='logits'), x)
  outputs = keras.layers.Activation('linear', dtype='float32', name='scores')(x)
  return keras.Model(inputs, outputs, name=name)
