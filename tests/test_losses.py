"""Every loss against values computed by hand."""
import numpy as np
import pytest
import tensorflow as tf

from tfi2i import losses

SCORES = np.array([[[[0.5], [2.0]]], [[[-1.0], [0.0]]]], np.float32)  # [2, 1, 2, 1]


def test_lsgan():
  np.testing.assert_allclose(losses.gan_loss(SCORES, True, 'lsgan'),
                             [((0.5 - 1) ** 2 + (2 - 1) ** 2) / 2, ((-2) ** 2 + 1) / 2])
  np.testing.assert_allclose(losses.gan_loss(SCORES, False, 'lsgan'), [(0.25 + 4) / 2, 0.5])


def test_vanilla_is_bce_with_logits():
  sp = lambda z: np.log1p(np.exp(z))  # softplus
  np.testing.assert_allclose(losses.gan_loss(SCORES, True, 'vanilla'),
                             [(sp(-0.5) + sp(-2.0)) / 2, (sp(1.0) + sp(0.0)) / 2], rtol=1e-6)
  np.testing.assert_allclose(losses.gan_loss(SCORES, False, 'vanilla'),
                             [(sp(0.5) + sp(2.0)) / 2, (sp(-1.0) + sp(0.0)) / 2], rtol=1e-6)


def test_hinge():
  np.testing.assert_allclose(losses.gan_loss(SCORES, True, 'hinge'), [(0.5 + 0) / 2, (2 + 1) / 2])
  np.testing.assert_allclose(losses.gan_loss(SCORES, False, 'hinge'), [(1.5 + 3) / 2, (0 + 1) / 2])
  np.testing.assert_allclose(losses.generator_loss(SCORES, 'hinge'), [-1.25, 0.5])


def test_wgan():
  np.testing.assert_allclose(losses.gan_loss(SCORES, True, 'wgan'), [-1.25, 0.5])
  np.testing.assert_allclose(losses.gan_loss(SCORES, False, 'wgangp'), [1.25, -0.5])


def test_discriminator_loss_halves_lsgan_like_official():
  real, fake = np.full((1, 2, 2, 1), 0.5, np.float32), np.full((1, 2, 2, 1), 0.5, np.float32)
  np.testing.assert_allclose(losses.discriminator_loss(real, fake, 'lsgan'), [0.5 * (0.25 + 0.25)])
  np.testing.assert_allclose(losses.discriminator_loss(real, fake, 'hinge'), [0.5 + 1.5])


def test_cycle_and_identity_l1():
  a = np.zeros((2, 2, 2, 3), np.float32)
  b = a.copy()
  b[0] = 1.0
  b[1, 0, 0, 0] = -0.6
  np.testing.assert_allclose(losses.cycle_loss(a, b, 10.0), [10.0, 10 * 0.6 / 12], rtol=1e-6)
  np.testing.assert_allclose(losses.identity_loss(a, b, 5.0), [5.0, 5 * 0.6 / 12], rtol=1e-6)


def test_gradient_penalty_of_a_linear_critic():
  w = tf.constant([3.0, 4.0])  # ||grad|| = 5 everywhere
  critic = lambda x, training=True: tf.reduce_sum(x * w, axis=-1)
  real, fake = tf.zeros((3, 2)), tf.ones((3, 2))
  np.testing.assert_allclose(losses.gradient_penalty(critic, real, fake, 10.0, seed=(1, 2)),
                             [160.0] * 3, rtol=1e-5)


def test_unknown_mode():
  with pytest.raises(ValueError, match='unknown gan_mode'):
    losses.gan_loss(SCORES, True, 'lsq')


def test_multiscale_scores_sum_over_scales():
  coarse = np.full((2, 1, 1, 1), 0.5, np.float32)
  np.testing.assert_allclose(losses.gan_loss([SCORES, coarse], True, 'lsgan'),
                             [0.625 + 0.25, 2.5 + 0.25])


def test_bicyclegan_discriminator_loss_is_not_halved():
  real, fake = np.full((1, 2, 2, 1), 0.5, np.float32), np.full((1, 2, 2, 1), 0.5, np.float32)
  np.testing.assert_allclose(losses.discriminator_loss(real, fake, 'lsgan', halve=False), [0.5])


def test_kl_divergence_by_hand():
  mu = np.array([[0.0, 1.0], [2.0, 0.0]], np.float32)
  logvar = np.array([[0.0, np.log(2.0)], [0.0, -1.0]], np.float32)
  # -0.5 * sum(1 + lv - mu^2 - e^lv)
  first = -0.5 * ((1 + 0 - 0 - 1) + (1 + np.log(2.0) - 1 - 2))
  second = -0.5 * ((1 + 0 - 4 - 1) + (1 - 1 - 0 - np.exp(-1.0)))
  np.testing.assert_allclose(losses.kl_divergence(mu, logvar), [first, second], rtol=1e-6)
  np.testing.assert_allclose(losses.kl_divergence(np.zeros((3, 8)), np.zeros((3, 8))), [0, 0, 0])


def test_latent_regression_by_hand():
  z = np.array([[1.0, -1.0, 0.0, 2.0]], np.float32)
  z_hat = np.array([[0.5, -1.0, 1.0, 2.0]], np.float32)
  np.testing.assert_allclose(losses.latent_regression_loss(z_hat, z), [(0.5 + 0 + 1 + 0) / 4])
