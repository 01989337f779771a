"""U-GAT-IT networks (issue 13, first step): official parameter counts, ILN / AdaILN against
NumPy, PyTorch-style spectral normalisation, rho clipping, the CAM module."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfi2i import layers as L
from tfi2i.nets import ugatit as U

count = lambda m: int(sum(np.prod(w.shape) for w in m.trainable_weights))


# Parameter counts of the official networks (znxlwm/UGATIT-pytorch networks.py at b8c4251,
# instantiated with torch 2.13 in a throwaway venv; BUILD_NOTES.md "U-GAT-IT"): generator
# ResnetGenerator(3, 3, ngf=64, n_blocks=4, img_size, light), Discriminator(3, 64, n_layers).
@pytest.mark.parametrize('light,img_size,params', [
    (True, 256, 10_589_888), (False, 64, 27_301_568), (True, 32, None)])
def test_generator_parameter_counts(light, img_size, params):
  if params is None:  # the light generator does not depend on the image size
    params = count(U.ugatit_generator(img_size=256, light=True))
  assert count(U.ugatit_generator(3, 3, 64, 4, img_size, light)) == params


@pytest.mark.parametrize('n_layers,params', [(7, 53_130_176), (5, 3_290_560)])
def test_discriminator_parameter_counts(n_layers, params):
  assert count(U.ugatit_discriminator(3, 64, n_layers)) == params


def test_tiny_networks_match_the_official_counts_and_shapes():
  # official: ResnetGenerator(3, 3, 8, 1, 32, light) and Discriminator(3, 8, 5 / 7)
  assert count(U.ugatit_generator(3, 3, 8, 1, 32, light=True)) == 57_112
  assert count(U.ugatit_generator(3, 3, 8, 1, 32, light=False)) == 121_624
  assert count(U.ugatit_discriminator(3, 8, 5)) == 52_920
  assert count(U.ugatit_discriminator(3, 8, 7)) == 835_192
  out, cam, heat = U.ugatit_generator(3, 3, 8, 1, light=True)(tf.zeros([2, 40, 36, 3]))
  assert (out.shape, cam.shape, heat.shape) == ((2, 40, 36, 3), (2, 2), (2, 10, 9, 1))
  scores, cam, heat = U.ugatit_discriminator(3, 8, 5)(tf.zeros([2, 64, 64, 3]), training=True)
  assert (scores.shape, cam.shape, heat.shape) == ((2, 6, 6, 1), (2, 2), (2, 7, 7, 1))
  with pytest.raises(ValueError, match='divisible by 4'):
    U.ugatit_generator(img_size=30, light=False)


def _iln_numpy(x, rho, gamma, beta):
  """rho * IN + (1 - rho) * LN with torch.var's unbiased variance, eps 1e-5 (NHWC)."""
  def norm(axes):
    n = np.prod([x.shape[a] for a in axes])
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).sum(axis=axes, keepdims=True) / (n - 1)
    return (x - mean) / np.sqrt(var + 1e-5)
  return (rho * norm((1, 2)) + (1 - rho) * norm((1, 2, 3))) * gamma + beta


def test_iln_and_adailn_against_numpy():
  rng = np.random.default_rng(0)
  x = rng.normal(2.0, 3.0, (2, 5, 4, 6)).astype(np.float32)
  iln = L.ILN()
  iln.build(x.shape)
  rho, gamma, beta = rng.uniform(0, 1, 6), rng.normal(1, 0.2, 6), rng.normal(0, 0.2, 6)
  iln.rho.assign(rho)
  iln.gamma.assign(gamma)
  iln.beta.assign(beta)
  np.testing.assert_allclose(iln(x), _iln_numpy(x, rho, gamma, beta), rtol=1e-4, atol=1e-4)
  ada = L.AdaILN()
  g, b = rng.normal(1, 0.3, (2, 6)), rng.normal(0, 0.3, (2, 6))
  got = ada([x, g.astype(np.float32), b.astype(np.float32)])
  np.testing.assert_allclose(ada.rho.numpy(), 0.9)  # official init
  want = _iln_numpy(x, 0.9, g[:, None, None, :], b[:, None, None, :])
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
  assert float(L.ILN()(x).numpy().std()) > 0  # ILN starts at rho 0 (pure LN), gamma 1


def test_rho_stays_in_0_1_after_a_large_step():
  layer = L.AdaILN()
  x = tf.random.normal([2, 4, 4, 3], seed=1)
  g, b = tf.ones([2, 3]), tf.zeros([2, 3])
  layer([x, g, b])
  opt = keras.optimizers.SGD(1000.0)
  for sign in (1.0, -1.0):
    with tf.GradientTape() as tape:
      loss = sign * tf.reduce_sum(layer([x, g, b]) * tf.random.normal([2, 4, 4, 3], seed=2))
    opt.apply_gradients(zip(tape.gradient(loss, [layer.rho]), [layer.rho]))
    rho = layer.rho.numpy()
    assert rho.min() >= 0.0 and rho.max() <= 1.0 and np.any((rho == 0) | (rho == 1))


def test_spectral_normalisation_is_pytorchs():
  keras.utils.set_random_seed(0)  # the kernel and u of this test, whatever ran before
  layer = L.SpectralNormalized(6, 'conv', kernel_size=3, strides=1)
  x = tf.random.normal([1, 8, 8, 4], seed=0)
  layer(x)
  kernel_before = layer.kernel.numpy().copy()
  u0 = layer.u.numpy().copy()
  layer(x, training=False)
  np.testing.assert_array_equal(layer.u.numpy(), u0)  # no power iteration at inference
  for _ in range(60):
    layer(x, training=True)
  np.testing.assert_array_equal(layer.kernel.numpy(), kernel_before)  # weight_orig kept
  w = kernel_before.reshape(-1, 6).T  # torch's [out, in * kh * kw]
  sigma = np.linalg.svd(w, compute_uv=False)[0]
  normalized = layer.normalized_kernel(training=False).numpy()
  np.testing.assert_allclose(normalized, kernel_before / sigma, rtol=1e-4)
  # the gradient flows through sigma (u, v held constant), as torch's
  with tf.GradientTape() as tape:
    y = tf.reduce_sum(layer.normalized_kernel(training=False))
  grad = tape.gradient(y, layer.kernel).numpy()
  u, v = layer.u.numpy(), layer.v.numpy()
  s = u @ w @ v
  g_matrix = np.ones_like(w) / s - (w.sum() / s ** 2) * np.outer(u, v)
  np.testing.assert_allclose(grad.reshape(-1, 6).T, g_matrix, rtol=1e-3, atol=1e-6)


def test_discriminator_cam_reweights_with_the_unnormalised_weights():
  cam = U.ClassActivation(spectral_norm=True)
  x = tf.random.normal([2, 3, 3, 5], seed=3)
  features, logits = cam(x, training=True)
  np.testing.assert_allclose(features[..., :5], x * cam.gap_fc.kernel[:, 0], rtol=1e-6)
  np.testing.assert_allclose(features[..., 5:], x * cam.gmp_fc.kernel[:, 0], rtol=1e-6)
  want_gap = tf.reduce_mean(x, [1, 2]) @ cam.gap_fc.normalized_kernel()
  np.testing.assert_allclose(logits[:, :1], want_gap, rtol=1e-5)
