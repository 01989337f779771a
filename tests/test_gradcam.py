"""Grad-CAM masks and the CAM-consistency loss (tfi2i/gradcam.py, paper 001 eq. 1-6)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfi2i import gradcam

rng = np.random.default_rng(0)
H, W, C, K, N_ATTR = 4, 4, 3, 5, 3
CONV = rng.normal(size=(3, 3, C, K)).astype(np.float32) * 0.5
DENSE = rng.normal(size=(H * W * K, N_ATTR)).astype(np.float32) * 0.3


def features_fn(x):
  return tf.nn.relu(tf.nn.conv2d(x, CONV, 1, 'SAME'))


def classifier_fn(a):
  # a non-linear classifier, so the gradient differs from pixel to pixel
  flat = tf.reshape(a, [tf.shape(a)[0], -1])
  return tf.tanh(flat @ DENSE)


def hand_gradcam(x, relative, normalize):
  """Eq. 2-3 by hand in NumPy for features_fn / classifier_fn."""
  cams, out = [], []
  for xi, ri in zip(x, relative):
    a = features_fn(xi[None]).numpy()[0]  # [H, W, K]
    z = a.reshape(-1) @ DENSE
    # d(sum_c r_c tanh(z_c)) / da = DENSE @ (r * (1 - tanh^2 z))
    grad = (DENSE @ (ri * (1 - np.tanh(z) ** 2))).reshape(H, W, K)
    alpha = grad.mean(axis=(0, 1))
    cams.append((alpha * a).sum(-1))
  everything = np.stack(cams)
  for cam in cams:
    if normalize == 'standardize_batch':  # the batch's maps together
      cam = (cam - everything.mean()) / np.sqrt(everything.var() + 1e-8)
    elif normalize == 'standardize':
      cam = (cam - cam.mean()) / np.sqrt(cam.var() + 1e-8)
    elif normalize == 'minmax':
      cam = (cam - cam.min()) / (cam.max() - cam.min() + 1e-8)
    else:
      cam = np.maximum(cam, 0)
      cam = cam / (cam.max() + 1e-8)
    out.append(np.clip(cam, 0, 1)[..., None])
  return np.stack(out)


@pytest.mark.parametrize('normalize', gradcam.NORMALIZE)
def test_mask_equals_a_hand_computation(normalize):
  x = rng.normal(size=(2, H, W, C)).astype(np.float32)
  source = np.array([[1, 0, 0], [0, 1, 1]], np.float32)
  target = np.array([[0, 1, 0], [0, 1, 0]], np.float32)
  relative = gradcam.relative_attributes(source, target).numpy()
  np.testing.assert_array_equal(relative, [[-1, 1, 0], [0, 0, -1]])  # eq. 1
  got = gradcam.gradcam_map(features_fn, classifier_fn, x, relative, normalize).numpy()
  want = hand_gradcam(x, relative, normalize)
  np.testing.assert_allclose(got, want, atol=1e-5)
  assert 0 < got.mean() < 1  # not trivially all zeros or ones
  # at the image's size (the map is already): the same
  np.testing.assert_allclose(
      gradcam.gradcam_mask(features_fn, classifier_fn, x, relative, normalize), got, atol=1e-6)
  big = gradcam.upsample(got, (8, 8)).numpy()
  assert big.shape == (2, 8, 8, 1) and 0 <= big.min() and big.max() <= 1


def test_cam_mask_adds_both_directions_and_clips_when_asked():
  """M_CAM = M_s->t + M_t->s, in [0, 2] by default (sec. 3.1); clip_sum=True clips it."""
  x = rng.normal(size=(2, H, W, C)).astype(np.float32)
  y = rng.normal(size=(2, H, W, C)).astype(np.float32)
  source = np.array([[1, 0, 0], [0, 1, 1]], np.float32)
  target = np.array([[0, 1, 0], [0, 1, 0]], np.float32)
  forward = hand_gradcam(y, target - source, 'standardize')  # M_s->t on the generated image
  backward = hand_gradcam(x, source - target, 'standardize')  # M_t->s on the original
  clipped = gradcam.cam_mask(features_fn, classifier_fn, x, y, source, target,
                             clip_sum=True).numpy()
  summed = gradcam.cam_mask(features_fn, classifier_fn, x, y, source, target).numpy()
  # (float32 standardisation of a low-variance map: agreement to ~1e-3)
  np.testing.assert_allclose(summed, forward + backward, atol=3e-3)
  np.testing.assert_allclose(clipped, np.clip(forward + backward, 0, 1), atol=3e-3)
  assert summed.max() > 1  # the clip matters on this input


def test_cam_consistency_loss_by_hand():
  x = rng.uniform(-1, 1, (2, 3, 3, 3)).astype(np.float32)
  y = rng.uniform(-1, 1, (2, 3, 3, 3)).astype(np.float32)
  z = rng.uniform(-1, 1, (2, 3, 3, 3)).astype(np.float32)
  m = rng.uniform(0, 1, (2, 3, 3, 1)).astype(np.float32)
  want = ((1 - m) * np.abs(x - y)).mean(axis=(1, 2, 3))  # eq. 4
  np.testing.assert_allclose(gradcam.cam_consistency_loss(x, y, m), want, rtol=1e-6)
  want_g = 0.5 * 5 * (want + ((1 - m) * np.abs(y - z)).mean(axis=(1, 2, 3)))  # eq. 5
  np.testing.assert_allclose(gradcam.generator_cam_loss(x, y, z, m, 5.0), want_g, rtol=1e-6)
  np.testing.assert_allclose(gradcam.discriminator_cam_loss(x, y, m, 5.0), 5 * want, rtol=1e-6)


class TinyCritic(keras.Model):
  """conv features -> (flatten -> dense logits): a discriminator's classifier path."""

  def __init__(self):
    super().__init__()
    self.conv = keras.layers.Conv2D(4, 3, padding='same', activation='relu')
    self.dense = keras.layers.Dense(N_ATTR)

  def features(self, x):
    return self.conv(x)

  def logits(self, a):
    return tf.tanh(self.dense(tf.reshape(a, [tf.shape(a)[0], -1])))


def _critic():
  tf.keras.utils.set_random_seed(3)
  critic = TinyCritic()
  critic.logits(critic.features(tf.zeros([1, H, W, C])))
  return critic


def _d_loss(critic, x, y, source, target, normalize='standardize'):
  mask = gradcam.cam_mask(critic.features, critic.logits, x, y, source, target, normalize)
  return tf.reduce_mean(gradcam.discriminator_cam_loss(x, y, mask, 5.0))


@pytest.mark.parametrize('normalize', ['standardize', 'standardize_batch'])
def test_discriminator_term_trains_the_critic_through_the_mask(normalize):
  """Eq. 6: the images are constant, so the gradient reaches the critic only through the
  mask, i.e. through the inner tape's gradient (second order). Checked against central
  finite differences of the loss (its own draws: ReLU and the clip make the loss piecewise
  smooth, and a step must not cross a kink)."""
  critic = _critic()
  draws = np.random.default_rng(0)
  x = tf.constant(draws.normal(size=(2, H, W, C)), tf.float32)
  y = tf.constant(draws.normal(size=(2, H, W, C)), tf.float32)
  source = tf.constant([[1, 0, 0], [0, 1, 1]], tf.float32)
  target = tf.constant([[0, 1, 0], [1, 1, 0]], tf.float32)
  with tf.GradientTape() as tape:
    loss = _d_loss(critic, x, y, source, target, normalize)
  grads = tape.gradient(loss, critic.trainable_variables)
  assert all(g is not None for g in grads)
  kernel, dense = critic.conv.kernel, critic.dense.kernel
  for variable, grad in ((kernel, grads[0]), (dense, grads[2])):
    g = grad.numpy()
    assert np.abs(g).max() > 1e-4  # nonzero
    index = np.unravel_index(np.argmax(np.abs(g)), g.shape)
    value = variable.numpy()
    eps = 1e-3
    bumped = []
    for sign in (1, -1):
      v = value.copy()
      v[index] += sign * eps
      variable.assign(v)
      bumped.append(float(_d_loss(critic, x, y, source, target, normalize)))
    variable.assign(value)
    numeric = (bumped[0] - bumped[1]) / (2 * eps)
    np.testing.assert_allclose(g[index], numeric, rtol=0.02, atol=1e-4)


def test_generator_term_does_not_train_the_mask():
  critic = _critic()
  x = tf.constant(rng.normal(size=(2, H, W, C)), tf.float32)
  y = tf.Variable(rng.normal(size=(2, H, W, C)).astype(np.float32))  # the generator's output
  source = tf.constant([[1, 0, 0], [0, 1, 1]], tf.float32)
  target = tf.constant([[0, 1, 0], [1, 1, 0]], tf.float32)
  with tf.GradientTape(persistent=True) as tape:
    mask = gradcam.cam_mask(critic.features, critic.logits, x, y, source, target)
    loss = tf.reduce_mean(gradcam.generator_cam_loss(x, y, y * 0.5, mask, 5.0))
  critic_grads = tape.gradient(loss, critic.trainable_variables)
  assert all(g is None for g in critic_grads)
  # the image's gradient is the masked L1's alone (the mask held constant)
  m = mask.numpy()
  n = np.prod(y.shape[1:])
  xv, yv = x.numpy(), y.numpy()
  want = 0.5 * 5 * ((1 - m) * (np.sign(yv - xv) + 0.5 * np.sign(yv)) / n) / 2
  np.testing.assert_allclose(tape.gradient(loss, y), want, rtol=1e-4, atol=1e-7)


def test_bad_settings():
  with pytest.raises(ValueError, match='cam.apply_to'):
    gradcam.check_settings('all', 'standardize')
  with pytest.raises(ValueError, match='cam.normalize'):
    gradcam.normalize_map(tf.zeros([1, 2, 2, 1]), 'softmax')


def test_eq6_alone_covers_everything_clipped_and_the_edit_unclipped():
  """Why cam.clip_sum defaults to false (BUILD_NOTES.md "Why the mask collapsed"): a small
  critic trained on eq. 6 alone, y = x changed in its top quarter plus noise everywhere.
  Clipped, two standardised masks that split the image drive M_CAM towards 1 everywhere and
  the mask's mass in the edited region stays near a uniform mask's; unclipped, eq. 6 rewards
  both masks where |x - y| is largest and the mass concentrates on the edit."""
  from tfi2i.experiments import cam_collapse  # pylint: disable=g-import-not-at-top
  clipped = cam_collapse.train_mask('standardize', True, steps=100)
  unclipped = cam_collapse.train_mask('standardize', False, steps=100)
  assert clipped['region_share'] == unclipped['region_share'] == 0.25
  assert clipped['coverage'] > 0.75 and clipped['inside'] < 0.32
  assert unclipped['inside'] > 0.45 and unclipped['mean_inside'] > 3 * unclipped['mean_outside']
