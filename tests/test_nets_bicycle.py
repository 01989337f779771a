"""pix2pix U-Net and BicycleGAN networks: official parameter counts, shapes, z injection.

Official counts. pix2pix (junyanz/pytorch-CycleGAN-and-pix2pix): from
shared/bench/pytorch_reference_step.py, which rebuilds the official nets layer for layer.
BicycleGAN (junyanz/BicycleGAN at 40b9d52): the official models/networks.py, built once in
a throwaway venv outside the repo:

  python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
  git -C <BicycleGAN mirror> archive HEAD models options util data | tar -x -C /tmp/bicycle_official
  /tmp/torchvenv/bin/python -c "
    import importlib.util
    spec = importlib.util.spec_from_file_location('N', '/tmp/bicycle_official/models/networks.py')
    N = importlib.util.module_from_spec(spec); spec.loader.exec_module(N)
    n = lambda m: sum(p.numel() for p in m.parameters())
    print(n(N.define_G(3, 3, 8, 64, netG='unet_256', norm='instance', nl='relu',
                       where_add='all', upsample='basic')),
          n(N.define_E(3, 8, 64, netE='resnet_256', norm='instance', vaeLike=True)),
          n(N.define_D(3, 64, netD='basic_256_multi', norm='instance', num_Ds=2)))"

(the variants below change netG / where_add / norm / upsample / netE / netD / input_nc the
same way). PyTorch counts parameters only; Keras' count_params() also counts batch-norm
moving statistics, so the comparisons use trainable weights.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfi2i import nets
from tfi2i.nets import bicycle


def torch_count(model):
  """Number of trainable values: what PyTorch's sum(p.numel() for p in parameters()) counts."""
  return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_pix2pix_official_parameter_counts():
  assert torch_count(nets.unet_generator()) == 54_413_955  # unet_256
  assert torch_count(nets.unet_generator(num_downs=7)) == 41_828_995  # unet_128
  d = nets.patch_discriminator(input_nc=6, norm='batch')
  assert torch_count(d) == 2_768_705
  # count_params() adds moving mean and variance of the 128 + 256 + 512 batch-norm channels.
  assert d.count_params() == 2_768_705 + 2 * (128 + 256 + 512)


@pytest.mark.parametrize('build,expected', [
    # Official defaults: nz 8, ngf 64, netG unet_256, where_add all, norm instance, nl relu,
    # upsample basic.
    (lambda: nets.bicycle_generator(), 54_794_627),
    (lambda: nets.bicycle_generator(where_add='input'), 54_417_795),
    (lambda: nets.bicycle_generator(net='unet_128', where_add='input', norm='batch',
                                    upsample='bilinear'), 30_255_491),
    # netE resnet_256, nef 64, encoding output_nc=3 channels to (mu, logvar).
    (lambda: nets.bicycle_encoder(), 2_590_032),
    (lambda: nets.bicycle_encoder(net='resnet_128'), 1_344_080),
    (lambda: nets.bicycle_encoder(net='resnet_256', norm='batch'), 2_592_592),
    (lambda: nets.bicycle_encoder(net='conv_256'), 2_760_656),
    (lambda: nets.bicycle_encoder(net='conv_128', norm='batch'), 1_713_104),
    # netD = netD2 = basic_256_multi, num_Ds 2, ndf 64, D input output_nc=3 (no conditional_D).
    (lambda: nets.bicycle_discriminator(), 3_458_978),
    (lambda: nets.bicycle_discriminator(6, norm='batch'), 3_466_274),
    (lambda: nets.bicycle_discriminator(net='basic_128_multi'), 830_626),
    (lambda: nets.bicycle_discriminator(num_ds=3), 3_634_067),
], ids=['G_default', 'G_add_input', 'G_128_input_batch_bilinear', 'E_default', 'E_resnet_128',
        'E_resnet_256_batch', 'E_conv_256', 'E_conv_128_batch', 'D_default', 'D_batch_6ch',
        'D_basic_128_multi', 'D_3_scales'])
def test_bicycle_official_parameter_counts(build, expected):
  assert torch_count(build()) == expected


@pytest.mark.parametrize('num_downs,size', [(8, (256, 256)), (7, (128, 256))])
def test_unet_shapes_and_range(num_downs, size):
  g = nets.unet_generator(num_downs=num_downs, ngf=4)
  assert g.size_multiple == 2 ** num_downs
  y = g(tf.random.uniform((1, *size, 3), -1, 1), training=True)
  assert y.shape == (1, *size, 3) and y.dtype == tf.float32
  assert float(tf.reduce_max(tf.abs(y))) <= 1.0


def test_unet_dropout_follows_training():
  g = nets.unet_generator(num_downs=7, ngf=4)
  assert sorted(l.name for l in g.layers if isinstance(l, keras.layers.Dropout)) == [
      'up4_dropout', 'up5_dropout']  # the num_downs - 5 inner ngf*8 levels
  x = tf.random.uniform((1, 128, 128, 3), -1, 1)
  np.testing.assert_array_equal(g(x, training=False), g(x, training=False))
  assert not np.allclose(g(x, training=True), g(x, training=True))
  g = nets.unet_generator(num_downs=7, ngf=4, use_dropout=False)
  assert not any(isinstance(l, keras.layers.Dropout) for l in g.layers)


def test_unet_bias_rule():
  g = nets.unet_generator(num_downs=5, ngf=4)  # batch norm: no bias but on the last layer
  assert [l.name for l in g.layers if getattr(l, 'use_bias', False)] == ['up0']
  g = nets.unet_generator(num_downs=5, ngf=4, norm='instance')
  assert all(l.use_bias for l in g.layers if hasattr(l, 'use_bias'))


@pytest.mark.parametrize('where_add', ['all', 'input'])
def test_generator_z_changes_the_output(where_add):
  g = nets.bicycle_generator(ngf=4, nz=8, net='unet_128', where_add=where_add)
  x = tf.random.uniform((1, 128, 128, 3), -1, 1)
  x2 = tf.concat([x, x], 0)
  z = tf.random.normal((2, 8), seed=1)
  y = g([x2, z])
  assert y.shape == (2, 128, 128, 3) and y.dtype == tf.float32
  scale = float(tf.reduce_max(tf.abs(y)))
  assert float(tf.reduce_max(tf.abs(y[0] - y[1]))) > 0.05 * scale  # same image, other z
  # same z: the same image (to rounding: oneDNN may sum in another order in another call)
  np.testing.assert_allclose(g([x2, tf.concat([z[:1], z[:1]], 0)])[1], y[0], atol=1e-6)


def test_generator_z_reaches_every_level_only_with_add_all():
  nz, ngf = 5, 4
  channels_in = {0: 3, 1: ngf, 2: 2 * ngf, 3: 4 * ngf, 4: 8 * ngf, 5: 8 * ngf, 6: 8 * ngf}
  for where_add in ('all', 'input'):
    g = nets.bicycle_generator(ngf=ngf, nz=nz, net='unet_128', where_add=where_add)
    for level, c in channels_in.items():
      with_z = where_add == 'all' or level == 0
      assert g.get_layer(f'down{level}').kernel.shape[2] == c + (nz if with_z else 0)


def test_generator_shapes_256_and_bilinear():
  g = nets.bicycle_generator(ngf=2, nz=3, upsample='bilinear', nl='lrelu', use_dropout=True)
  assert g.size_multiple == 256
  y = g([tf.zeros((1, 256, 256, 3)), tf.zeros((1, 3))], training=True)
  assert y.shape == (1, 256, 256, 3)


def test_generator_without_latent_takes_the_image_alone():
  g = nets.bicycle_generator(ngf=4, nz=0, net='unet_128')
  assert len(g.inputs) == 1 and g(tf.zeros((1, 128, 128, 3))).shape == (1, 128, 128, 3)


@pytest.mark.parametrize('net,size', [('resnet_256', 256), ('resnet_128', 128),
                                      ('conv_256', 256), ('conv_128', 128)])
def test_encoder_outputs_mu_and_logvar(net, size):
  e = nets.bicycle_encoder(nz=8, nef=4, net=net)
  assert e.input_size == size
  mu, logvar = e(tf.random.uniform((3, size, size, 3), -1, 1))
  assert mu.shape == logvar.shape == (3, 8)
  assert mu.dtype == logvar.dtype == tf.float32
  assert not np.allclose(mu, logvar, rtol=1e-3, atol=0)  # values are ~1e-4 (xavier gain 0.02)
  mu_only = nets.bicycle_encoder(nz=8, nef=4, net=net, vae_like=False)
  assert mu_only(tf.zeros((1, size, size, 3))).shape == (1, 8)


def test_encoder_rejects_other_sizes():
  with pytest.raises(Exception):
    nets.bicycle_encoder(nef=4, net='conv_128')(tf.zeros((1, 256, 256, 3)))


@pytest.mark.parametrize('size', [(64, 48), (70, 54)])
def test_multiscale_discriminator_shapes(size):
  d = nets.bicycle_discriminator(ndf=4, num_ds=2)
  scores = d(tf.random.uniform((2, *size, 3), -1, 1))
  assert isinstance(scores, list) and len(scores) == 2
  expected = []
  h, w = size
  for _ in range(2):
    expected.append((2, h // 8 - 2, w // 8 - 2, 1))  # three k4 s2 p1, two k4 s1 p1 convs
    h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1  # AvgPool2d(3, 2, padding=1)
  assert [tuple(s.shape) for s in scores] == expected
  assert all(s.dtype == tf.float32 for s in scores)
  assert d.get_layer('d1_conv0').filters == 2  # round(ndf / 2)
  single = nets.bicycle_discriminator(ndf=4, num_ds=1, net='basic_128_multi')
  assert single(tf.zeros((1, 32, 32, 3))).shape == (1, 6, 6, 1)  # one tensor, as official


@pytest.mark.parametrize('size', [(6, 8), (7, 5)])
def test_avg_pool_excludes_padding_like_pytorch(size):
  x = np.random.default_rng(0).normal(size=(2, *size, 3)).astype(np.float32)
  y = bicycle.AvgPoolExcludePad(3, 2, 1)(x).numpy()
  h, w = size
  expected = np.zeros(((h - 1) // 2 + 1, (w - 1) // 2 + 1), np.float32)
  for i in range(expected.shape[0]):
    for j in range(expected.shape[1]):  # window rows 2i-1..2i+1 clipped to the image
      rows = slice(max(2 * i - 1, 0), min(2 * i + 2, h))
      cols = slice(max(2 * j - 1, 0), min(2 * j + 2, w))
      expected[i, j] = x[0, rows, cols, 1].mean()
  np.testing.assert_allclose(y[0, :, :, 1], expected, atol=1e-6)


def test_xavier_init_matches_official_std():
  d = nets.bicycle_discriminator()
  kernel = d.get_layer('d0_conv1').kernel.numpy()  # 4x4, 64 -> 128
  fan_in, fan_out = 16 * 64, 16 * 128
  assert abs(kernel.std() / (0.02 * np.sqrt(2 / (fan_in + fan_out))) - 1) < 0.05
  assert np.all(d.get_layer('d0_conv1').bias.numpy() == 0)


def test_layers_of_equal_shape_get_different_weights():
  # A Keras 3 initializer instance without a seed returns the same values on every call.
  e = nets.bicycle_encoder(nef=4, net='conv_128')
  assert not np.allclose(e.get_layer('mu').kernel, e.get_layer('logvar').kernel)
  g = nets.bicycle_generator(ngf=2, net='unet_128', where_add='input')
  assert not np.allclose(g.get_layer('up5').kernel, g.get_layer('up4').kernel)
  u = nets.unet_generator(num_downs=7, ngf=2)
  assert not np.allclose(u.get_layer('down5').kernel, u.get_layer('down6').kernel)


def test_mixed_precision_outputs_are_float32():
  keras.mixed_precision.set_global_policy('mixed_bfloat16')
  try:
    g = nets.bicycle_generator(ngf=2, net='unet_128')
    e = nets.bicycle_encoder(nef=2, net='conv_128')
    d = nets.bicycle_discriminator(ndf=2)
    u = nets.unet_generator(num_downs=5, ngf=2)
    x = tf.zeros((1, 128, 128, 3))
    assert g([x, tf.ones((1, 8))]).dtype == tf.float32
    assert [t.dtype for t in e(x)] == [tf.float32] * 2
    assert [t.dtype for t in d(x)] == [tf.float32] * 2
    assert u(x[:, :32, :32]).dtype == tf.float32
  finally:
    keras.mixed_precision.set_global_policy('float32')


def test_save_and_load_round_trip(tmp_path):
  g = nets.bicycle_generator(ngf=2, nz=3, net='unet_128')
  d = nets.bicycle_discriminator(ndf=2)
  x, z = tf.random.uniform((1, 128, 128, 3), -1, 1), tf.random.normal((1, 3))
  for model, args in ((g, [x, z]), (d, x)):
    path = str(tmp_path / f'{model.name}.keras')
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(tf.nest.flatten(model(args)), tf.nest.flatten(loaded(args))):
      np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize('call,message', [
    (lambda: nets.bicycle_generator(net='unet_64'), 'unknown generator'),
    (lambda: nets.bicycle_generator(where_add='middle'), 'unknown where_add'),
    (lambda: nets.bicycle_generator(ngf=2, nl='tanh'), 'unknown nl'),
    (lambda: nets.bicycle_generator(ngf=2, upsample='nearest'), 'unknown upsample'),
    (lambda: nets.bicycle_encoder(net='resnet_64'), 'unknown encoder'),
    (lambda: nets.bicycle_discriminator(net='basic_256'), 'unknown discriminator'),
    (lambda: nets.bicycle_discriminator(ndf=2, init_type='uniform'), 'unknown init_type'),
    (lambda: nets.unet_generator(num_downs=4), 'num_downs'),
])
def test_bad_options_are_errors(call, message):
  with pytest.raises(ValueError, match=message):
    call()
