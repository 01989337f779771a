"""Layers and networks: official parameter counts, PyTorch-exact padding arithmetic."""
import numpy as np
import pytest
import tensorflow as tf

from tfi2i import layers as L
from tfi2i import nets


def test_official_parameter_counts():
  # junyanz/pytorch-CycleGAN-and-pix2pix resnet_9blocks ngf=64 and basic (n_layers=3) ndf=64.
  assert nets.resnet_generator().count_params() == 11_378_179
  assert nets.patch_discriminator().count_params() == 2_764_737


@pytest.mark.parametrize('n_blocks,ngf', [(6, 64), (2, 8)])
def test_generator_parameter_count_formula(n_blocks, ngf):
  # conv7 + 2 downs + blocks (2 convs each) + 2 ups + conv7, all with bias (instance norm).
  c = lambda cin, cout, k: cin * cout * k * k + cout
  expected = (c(3, ngf, 7) + c(ngf, 2 * ngf, 3) + c(2 * ngf, 4 * ngf, 3)
              + n_blocks * 2 * c(4 * ngf, 4 * ngf, 3)
              + c(4 * ngf, 2 * ngf, 3) + c(2 * ngf, ngf, 3) + c(ngf, 3, 7))
  assert nets.resnet_generator(ngf=ngf, n_blocks=n_blocks).count_params() == expected


@pytest.mark.parametrize('size', [(32, 32), (64, 48), (30, 42)])
def test_shapes_follow_pytorch_arithmetic(size):
  g = nets.resnet_generator(ngf=4, n_blocks=1)
  d = nets.patch_discriminator(ndf=4)
  x = tf.random.uniform((2, *size, 3), -1, 1)
  y = g(x)
  # PyTorch: two stride-2 convs (k3 p1) then two ConvTranspose (k3 s2 p1 op1).
  h, w = size
  for _ in range(2):
    h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
  assert y.shape == (2, 4 * h, 4 * w, 3)
  assert float(tf.reduce_max(tf.abs(y))) <= 1.0
  h, w = size
  for _ in range(3):
    h, w = h // 2, w // 2  # k4 s2 p1
  h, w = h - 1 - 1, w - 1 - 1  # two k4 s1 p1 convs
  assert d(x).shape == (2, h, w, 1)


def test_instance_norm_matches_numpy():
  x = np.random.default_rng(0).normal(3.0, 2.0, (2, 5, 7, 4)).astype(np.float32)
  mean = x.mean(axis=(1, 2), keepdims=True)
  var = x.var(axis=(1, 2), keepdims=True)
  expected = (x - mean) / np.sqrt(var + 1e-5)
  np.testing.assert_allclose(L.InstanceNorm()(x).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize('batch', [1, 3])
def test_instance_norm_paths_match_numpy_and_second_derivatives_finite_differences(batch):
  """One image (fused kernel on its channels), a batch (folded into channels), an unknown
  batch size and the elementwise form; affine with epsilon 1e-6 kept exact (AttGAN). The
  second derivative (what a gradient penalty through a discriminator with instance norm
  takes) matches central finite differences: tf.nn.moments' stop_gradient got it wrong."""
  rng = np.random.default_rng(batch)
  x = rng.normal(0.5, 1e-3, (batch, 6, 5, 4)).astype(np.float32)  # var 1e-6: eps matters
  gamma, beta = rng.normal(1, 0.5, 4).astype(np.float32), rng.normal(0, 0.5, 4).astype(np.float32)
  norm = L.InstanceNorm(epsilon=1e-6, affine=True)
  norm.build(x.shape)
  norm.gamma.assign(gamma)
  norm.beta.assign(beta)
  x64 = x.astype(np.float64)
  expected = ((x64 - x64.mean(axis=(1, 2), keepdims=True))
              / np.sqrt(x64.var(axis=(1, 2), keepdims=True) + 1e-6) * gamma + beta)
  unknown = tf.function(norm, input_signature=[tf.TensorSpec([None, None, None, 4])])
  for y in (norm(x), unknown(tf.constant(x)), norm._moments(tf.constant(x))):
    np.testing.assert_allclose(y.numpy(), expected, atol=2e-3)  # float32 of var 1e-6
  xs = tf.constant(rng.normal(0, 2, (batch, 6, 5, 4)).astype(np.float32))
  w0 = rng.normal(1, 0.1, 4).astype(np.float32)

  def penalty(fn, w):  # |d score / d xs|^2, score nonlinear in the normalised values
    with tf.GradientTape() as tape:
      tape.watch(xs)
      score = tf.reduce_sum(tf.sin(fn(tf.sin(xs * w))))
    return tf.reduce_sum(tf.square(tape.gradient(score, xs)))

  for fn in (norm, norm._moments):
    w = tf.Variable(w0)
    with tf.GradientTape() as tape:
      value = penalty(fn, w)
    got = tape.gradient(value, w).numpy()
    step = 1e-2
    numeric = [(float(penalty(fn, tf.constant(w0 + step * e)))
                - float(penalty(fn, tf.constant(w0 - step * e)))) / (2 * step)
               for e in np.eye(4, dtype=np.float32)]
    np.testing.assert_allclose(got, numeric, rtol=2e-2, atol=2e-2 * np.abs(numeric).max())


def test_instance_norm_keeps_float32_statistics_in_bfloat16():
  x = tf.random.normal((1, 8, 8, 2), 100.0, 1.0)
  y = L.InstanceNorm(dtype='mixed_bfloat16')(x)
  assert y.dtype == tf.bfloat16
  assert abs(float(tf.reduce_mean(tf.cast(y, tf.float32)))) < 0.05


def test_conv_transpose_matches_pytorch_definition():
  # PyTorch ConvTranspose2d(k=3, s=2, p=1, output_padding=1): out[i*s + a - p] += x[i] w[a].
  rng = np.random.default_rng(1)
  x = rng.normal(size=(1, 3, 4, 2)).astype(np.float32)
  layers = L.conv_transpose(5, 3, 2, 1, 1, use_bias=False, name='up')
  y = L.apply(layers, tf.constant(x)).numpy()
  w = layers[0].kernel.numpy()  # (kh, kw, out, in)
  full = np.zeros((1, (3 - 1) * 2 + 3 + 1, (4 - 1) * 2 + 3 + 1, 5), np.float32)
  for i in range(3):
    for j in range(4):
      for a in range(3):
        for b in range(3):
          full[0, i * 2 + a, j * 2 + b] += w[a, b] @ x[0, i, j]
  expected = full[:, 1:1 + 6, 1:1 + 8]
  np.testing.assert_allclose(y, expected, atol=1e-5)


def test_reflection_padding_matches_numpy():
  x = np.arange(2 * 4 * 5 * 1, dtype=np.float32).reshape(2, 4, 5, 1)
  y = L.Pad2D(2, 'reflect')(x).numpy()
  np.testing.assert_array_equal(y, np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], mode='reflect'))


def test_init_is_normal_0_02():
  g = nets.resnet_generator(ngf=32, n_blocks=2)
  kernel = g.get_layer('block0').body[1].kernel.numpy()
  assert abs(kernel.std() - 0.02) < 0.002 and abs(kernel.mean()) < 0.002
  assert np.all(g.get_layer('conv_in').bias.numpy() == 0)


def test_unknown_norm_is_an_error():
  with pytest.raises(ValueError, match='unknown norm'):
    nets.resnet_generator(norm='layer')


@pytest.mark.parametrize('cin,cout,kernel', [(8, 3, 7), (3, 6, 7), (6, 5, 3), (9, 1, 4)])
def test_conv_forward_gradients_match_keras_to_the_second_derivative(monkeypatch, cin, cout,
                                                                      kernel):
  """L.Conv2D on the Eigen path (oneDNN off, as on an AVX2 CPU; forced here so that a CI
  machine with oneDNN runs it too) takes its gradients as forward convolutions: the output,
  the input and kernel gradients and the second derivative of a gradient penalty equal
  keras.layers.Conv2D's with the same weights; the narrow input (3 channels) takes TF's
  kernel for the input gradient, the others the flipped-kernel convolution."""
  monkeypatch.setattr(L, '_onednn', lambda: False)
  rng = np.random.default_rng(cin * cout)
  x = tf.constant(rng.normal(size=(2, 11, 13, cin)).astype(np.float32))
  ours = L.Conv2D(cout, kernel, padding='valid')
  keras_conv = tf.keras.layers.Conv2D(cout, kernel, padding='valid')
  ours.build(x.shape)
  keras_conv.build(x.shape)
  keras_conv.set_weights(ours.get_weights())

  def derivatives(layer):
    with tf.GradientTape() as outer:
      with tf.GradientTape() as inner:
        inner.watch(x)
        y = layer(x)
        score = tf.reduce_sum(tf.sin(y))
      dx, dk = inner.gradient(score, [x, layer.kernel])
      penalty = tf.reduce_sum(tf.square(dx))
    return [y, dx, dk, outer.gradient(penalty, layer.kernel)]

  def first_derivatives():
    with tf.GradientTape() as tape:
      tape.watch(x)
      score = tf.reduce_sum(tf.sin(ours(x)))
    return tape.gradient(score, [x, ours.kernel])

  graph = tf.function(first_derivatives).get_concrete_function().graph
  types = {op.type for op in graph.get_operations()}
  assert ('Conv2DBackpropInput' in types) == (cin <= L.NARROW_CHANNELS)
  assert 'Conv2DBackpropFilter' not in types
  for got, want in zip(derivatives(ours), derivatives(keras_conv)):
    scale = float(tf.reduce_max(tf.abs(want)))
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5 * scale, rtol=1e-4)


def test_conv_keeps_keras_gradients_under_onednn_and_for_strides(monkeypatch):
  monkeypatch.setattr(L, '_onednn', lambda: True)
  x = tf.random.normal((1, 9, 9, 4))
  layer = L.Conv2D(3, 3)
  graph = tf.function(lambda: tf.gradients(layer(x), x)).get_concrete_function().graph
  assert 'Conv2DBackpropInput' in {op.type for op in graph.get_operations()}
  monkeypatch.setattr(L, '_onednn', lambda: False)
  strided = L.Conv2D(3, 3, strides=2)
  graph = tf.function(lambda: tf.gradients(strided(x), x)).get_concrete_function().graph
  assert 'Conv2DBackpropInput' in {op.type for op in graph.get_operations()}
