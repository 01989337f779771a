"""Objectives as plain functions.

Every function returns a per-example loss of shape [batch] (float32), so a model can
reduce it for the global batch with `tf.nn.compute_average_loss` and get the same update
on N replicas as on one device. `mean_over_batch` does the plain mean for logging/tests.
"""
import tensorflow as tf

GAN_MODES = ('lsgan', 'vanilla', 'hinge', 'wgan', 'wgangp')


def _per_example_mean(x):
  x = tf.cast(x, tf.float32)
  return tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


def gan_loss(scores, target_is_real: bool, mode: str = 'lsgan', for_discriminator: bool = True):
  """The adversarial term on discriminator scores (official GANLoss, plus hinge).

  lsgan: mean (D(x) - t)^2 with t = 1 real / 0 fake (Mao et al.).
  vanilla: binary cross-entropy with logits against t.
  hinge: D: relu(1 - D(x)) real, relu(1 + D(x)) fake; G: -D(x).
  wgan / wgangp: -D(x) for real, D(x) for fake (the critic; G uses target_is_real=True).
  A list of score maps (a multi-scale discriminator) gives the sum of the per-scale losses,
  as the official BicycleGAN GANLoss.
  """
  if isinstance(scores, (list, tuple)):
    return tf.add_n([gan_loss(s, target_is_real, mode, for_discriminator) for s in scores])
  scores = tf.cast(scores, tf.float32)
  if mode == 'lsgan':
    target = 1.0 if target_is_real else 0.0
    return _per_example_mean(tf.square(scores - target))
  if mode == 'vanilla':
    labels = tf.ones_like(scores) if target_is_real else tf.zeros_like(scores)
    return _per_example_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=scores))
  if mode == 'hinge':
    if not for_discriminator:
      return _per_example_mean(-scores)
    return _per_example_mean(tf.nn.relu(1.0 - scores) if target_is_real else tf.nn.relu(1.0 + scores))
  if mode in ('wgan', 'wgangp'):
    return _per_example_mean(-scores if target_is_real else scores)
  raise ValueError(f'unknown gan_mode {mode!r}; expected one of {GAN_MODES}')


def discriminator_loss(real_scores, fake_scores, mode: str = 'lsgan', halve=None):
  """Official backward_D_basic: 0.5 * (loss(real, True) + loss(fake, False)) for lsgan and
  vanilla (CycleGAN, pix2pix); the plain sum for hinge and WGAN critics, and with
  `halve=False` (BicycleGAN's backward_D)."""
  total = gan_loss(real_scores, True, mode) + gan_loss(fake_scores, False, mode)
  if halve is None:
    halve = mode in ('lsgan', 'vanilla')
  return 0.5 * total if halve else total


def generator_loss(fake_scores, mode: str = 'lsgan'):
  """The generator's adversarial term: fakes scored as real."""
  return gan_loss(fake_scores, True, mode, for_discriminator=False)


def l1_loss(x, y):
  """Mean absolute difference per example (nn.L1Loss per sample)."""
  return _per_example_mean(tf.abs(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)))


def cycle_loss(real, reconstructed, weight: float = 10.0):
  """lambda * |F(G(x)) - x|_1 (CycleGAN eq. 2)."""
  return weight * l1_loss(real, reconstructed)


def identity_loss(real, same, weight: float):
  """weight * |G(y) - y|_1 (Taigman et al.; CycleGAN's identity regulariser)."""
  return weight * l1_loss(real, same)


def kl_divergence(mu, logvar):
  """KL(N(mu, exp(logvar)) || N(0, I)) per example: -0.5 * sum(1 + logvar - mu^2 - exp(logvar)).

  The official BicycleGAN sums this over the batch too (torch.sum): models that follow it
  add the per-example values up instead of averaging them.
  """
  mu, logvar = tf.cast(mu, tf.float32), tf.cast(logvar, tf.float32)
  return -0.5 * tf.reduce_sum(1.0 + logvar - tf.square(mu) - tf.exp(logvar), axis=-1)


def latent_regression_loss(z_predicted, z):
  """|E(G(A, z)) - z|_1, mean over the latent dimensions, per example (BicycleGAN cLR)."""
  return l1_loss(z_predicted, z)


def gradient_penalty(critic, real, fake, weight: float = 10.0, *, seed):
  """WGAN-GP: weight * (||grad D(x_hat)||_2 - 1)^2 at random interpolates, per example.

  seed: [2] integers for the stateless draw of the interpolation weights (e.g.
  TranslationModel.stateless_seed(tag, optimizer.iterations)), so a resumed run draws what
  an uninterrupted one would; there is no stateful fallback.
  """
  if seed is None:
    raise ValueError('gradient_penalty needs a seed (stateless draws keep resume exact)')
  real = tf.cast(real, tf.float32)
  fake = tf.cast(fake, tf.float32)
  shape = [tf.shape(real)[0]] + [1] * (len(real.shape) - 1)
  alpha = tf.random.stateless_uniform(shape, seed)
  mixed = real + alpha * (fake - real)
  with tf.GradientTape() as tape:
    tape.watch(mixed)
    scores = critic(mixed, training=True)
    scores = scores[0] if isinstance(scores, (list, tuple)) else scores
  grads = tf.reshape(tape.gradient(scores, mixed), [tf.shape(real)[0], -1])
  norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
  return weight * tf.square(norm - 1.0)


def mean_over_batch(per_example):
  return tf.reduce_mean(per_example)
