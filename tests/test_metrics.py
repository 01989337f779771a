"""Metrics against values computed by hand or with plain NumPy."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfi2i import metrics
from tfi2i.metrics import features
from tfi2i.metrics import realism


@pytest.fixture(scope='module')
def extractor():
  return metrics.random_conv_features(seed=0)


def _smooth_image(h=32, w=32, phase=0.0):
  yy, xx = np.mgrid[0:h, 0:w] / 8.0
  return np.stack([np.sin(xx + phase), np.cos(yy - phase), np.sin(xx + yy)], -1).astype(np.float32)


def _noisy_samples(amplitude, k=4, seed=0):
  rng = np.random.default_rng(seed)
  base = 0.5 * _smooth_image()
  noise = rng.uniform(-1, 1, (k,) + base.shape).astype(np.float32)
  return np.clip(base + amplitude * noise, -1, 1)


# ---------------------------------------------------------------- diversity


def test_pairwise_l1_matches_hand_computed_mean():
  # Three 1x2x1 samples: a = [0, 0], b = [1, -1], c = [0.5, 0.5].
  samples = np.array([[0, 0], [1, -1], [0.5, 0.5]], np.float32).reshape(3, 1, 2, 1)
  # |a-b| = (1 + 1) / 2 = 1; |a-c| = 0.5; |b-c| = (0.5 + 1.5) / 2 = 1 -> mean 2.5 / 3.
  assert metrics.pairwise_l1(samples) == pytest.approx(2.5 / 3, abs=1e-7)


def test_identical_samples_have_zero_diversity(extractor):
  same = np.repeat(_noisy_samples(0.3, k=1), 5, axis=0)
  assert metrics.pairwise_l1(same) == 0.0
  assert metrics.pairwise_feature_distance(same, extractor) == pytest.approx(0.0, abs=1e-9)
  scores = metrics.diversity_scores([same, same[:3]], extractor)
  assert scores['pairwise_l1'] == 0.0 and scores['pairwise_feature'] == pytest.approx(0, abs=1e-9)


def test_more_different_samples_score_higher(extractor):
  close, far = _noisy_samples(0.05), _noisy_samples(0.5)
  assert metrics.pairwise_l1(far) > 3 * metrics.pairwise_l1(close)
  assert (metrics.pairwise_feature_distance(far, extractor)
          > 2 * metrics.pairwise_feature_distance(close, extractor))
  # Same ordering for samples that differ in structure rather than noise level.
  shifted = np.stack([_smooth_image(phase=p) for p in (0.0, 0.1, 0.2)])
  moved = np.stack([_smooth_image(phase=p) for p in (0.0, 1.0, 2.0)])
  assert (metrics.pairwise_feature_distance(moved, extractor)
          > metrics.pairwise_feature_distance(shifted, extractor))


def test_pooled_feature_distance_is_mean_euclidean_over_pairs():
  # A "network" whose pooled features are the per-channel means: hand-computable.
  ext = metrics.FeatureExtractor('channel_mean', lambda x: tf.reduce_mean(x, axis=[1, 2]))
  samples = np.stack([np.full((2, 2, 3), v, np.float32) for v in (0.0, 0.1, 0.4)])
  # Feature vectors are v * [1, 1, 1]: distances sqrt(3) * (0.1, 0.4, 0.3).
  expected = math.sqrt(3) * (0.1 + 0.4 + 0.3) / 3
  assert metrics.pairwise_feature_distance(samples, ext) == pytest.approx(expected, rel=1e-5)


def test_layered_feature_distance_is_mean_layer_distance_over_pairs(extractor):
  samples = _noisy_samples(0.3, k=3)
  maps = extractor.layer_features(samples)
  pairs = [(0, 1), (0, 2), (1, 2)]
  expected = np.mean([metrics.layer_distance([m[i:i + 1] for m in maps], [m[j:j + 1] for m in maps])
                      for i, j in pairs])
  assert metrics.pairwise_feature_distance(samples, extractor) == pytest.approx(expected, rel=1e-6)
  assert len(maps) == 4 and expected > 0.1


def test_diversity_scores_average_over_inputs(extractor):
  sets = np.stack([_noisy_samples(a, k=3, seed=i) for i, a in enumerate((0.1, 0.2, 0.4))])
  scores = metrics.diversity_scores(sets, extractor)
  assert scores['pairwise_l1'] == pytest.approx(np.mean([metrics.pairwise_l1(s) for s in sets]))
  assert scores['pairwise_feature'] == pytest.approx(
      np.mean([metrics.pairwise_feature_distance(s, extractor) for s in sets]))
  assert scores['extractor'] == extractor.name and scores['num_inputs'] == 3
  from_generator = metrics.diversity_scores((s for s in sets), extractor)
  assert from_generator['pairwise_l1'] == pytest.approx(scores['pairwise_l1'])


def test_layer_distance_by_hand():
  a = [np.array([[[[1, 0]], [[0, 1]]]], np.float32)]  # [1, 2, 1, 2]
  b = [np.array([[[[0, 1]], [[0, 1]]]], np.float32)]
  # Position 1: |(1,-1)|^2 = 2, position 2: 0 -> mean 1; two identical layers add up.
  np.testing.assert_allclose(metrics.layer_distance(a + a, b + b), [2.0])


# ---------------------------------------------------------------- fidelity


def test_psnr_of_known_mse():
  x = np.zeros((2, 4, 4, 3), np.float32)
  y = x.copy()
  y[0] += 0.1           # MSE 0.01
  y[1, :2] += 0.2       # half the pixels: MSE 0.02
  np.testing.assert_allclose(metrics.psnr(x, y), [10 * np.log10(4 / 0.01), 10 * np.log10(4 / 0.02)],
                             rtol=1e-6)
  # Same as TF's PSNR on [0, 1] images with max_val 1.
  np.testing.assert_allclose(metrics.psnr(x, y), tf.image.psnr((x + 1) / 2, (y + 1) / 2, 1.0),
                             rtol=1e-4)
  assert metrics.psnr(x, x)[0] == np.inf


def test_ssim_identical_is_one_and_drops_with_noise():
  x = _noisy_samples(0.2, k=2)
  np.testing.assert_allclose(metrics.ssim(x, x), [1.0, 1.0], atol=1e-6)
  assert np.all(metrics.ssim(x, _noisy_samples(0.2, k=2, seed=1)) < 0.9)
  # Flat images: only the luminance term is left, (2ab + C1) / (a^2 + b^2 + C1), C1 = 0.01^2,
  # with a, b the [0, 1] values (images at -0.6 and 0.2 in [-1, 1]).
  a, b, c1 = 0.2, 0.6, 0.01 ** 2
  flat_a = np.full((1, 12, 12, 3), -0.6, np.float32)
  flat_b = np.full((1, 12, 12, 3), 0.2, np.float32)
  np.testing.assert_allclose(metrics.ssim(flat_a, flat_b),
                             [(2 * a * b + c1) / (a * a + b * b + c1)],
                             rtol=1e-3)  # float32 variances of flat images are not exactly 0


def test_masked_psnr_ignores_pixels_outside_the_mask():
  x = np.zeros((1, 4, 4, 3), np.float32)
  y = x.copy()
  y[0, :2] = 0.1    # inside the mask: MSE 0.01
  y[0, 2:] = -1.0   # outside: huge errors, must be ignored
  mask = np.zeros((1, 4, 4), np.float32)
  mask[0, :2] = 0.9
  expected = 10 * np.log10(4 / 0.01)
  for m in (mask, mask[..., None], np.repeat(mask[..., None], 3, -1)):
    np.testing.assert_allclose(metrics.masked_psnr(x, y, m), [expected], rtol=1e-6)
  assert metrics.masked_psnr(x, y, np.ones_like(mask))[0] < expected - 10
  mask[0, :2] = 0.5  # not > 0.5: empty mask -> nan
  assert np.isnan(metrics.masked_psnr(x, y, mask)[0])


def test_fidelity_scores_and_best_of_k():
  target = np.zeros((2, 4, 4, 3), np.float32)
  outputs = np.stack([target + 0.1, target + 0.3], axis=1)  # [2, K=2, 4, 4, 3]
  outputs[1, 1] = 0.0  # the second input's second sample is perfect
  s = metrics.fidelity_scores(outputs, target, best_of_k=True)
  assert s['l1'] == pytest.approx((0.1 + 0.3 + 0.1 + 0.0) / 4)
  assert s['best_of_k_l1'] == pytest.approx((0.1 + 0.0) / 2)
  assert s['best_of_k_psnr'] == np.inf and s['num_inputs'] == 2 and s['num_samples'] == 4
  one = metrics.fidelity_scores(outputs[:, 0], target)
  assert one['l1'] == pytest.approx(0.1) and one['psnr'] == pytest.approx(10 * np.log10(400))
  # Batched input gives the same numbers as whole arrays.
  chunked = metrics.fidelity_scores([(outputs[:1], target[:1]), (outputs[1:], target[1:])],
                                    best_of_k=True)
  assert chunked == pytest.approx(s)


def test_fidelity_feature_distance(extractor):
  target = _noisy_samples(0.0, k=2)
  near, far = target + 0.02, _noisy_samples(0.5, k=2, seed=3)
  d_near = metrics.fidelity_scores(near, target, extractor=extractor)['feature_distance']
  d_far = metrics.fidelity_scores(far, target, extractor=extractor)['feature_distance']
  assert metrics.fidelity_scores(target, target, extractor=extractor)['feature_distance'] == 0
  assert 0 < d_near < d_far


# ---------------------------------------------------------------- FID / KID


def _exact_gaussian_sample(mean, cov, n, seed):
  """n points whose sample mean and (N - 1) covariance are exactly mean and cov."""
  z = np.random.default_rng(seed).normal(size=(n, len(mean)))
  z -= z.mean(axis=0)
  z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whiten
  return z @ np.linalg.cholesky(cov).T + mean


def test_fid_of_identical_sets_is_zero():
  feats = np.random.default_rng(0).normal(size=(300, 8))
  assert realism.frechet_distance(feats, feats) == pytest.approx(0, abs=1e-8)
  # Fewer vectors than dimensions (singular covariance): still 0, no complex round-off.
  few = np.random.default_rng(1).normal(size=(10, 64))
  assert realism.frechet_distance(few, few) == pytest.approx(0, abs=1e-8)


def test_fid_of_two_gaussians_equals_closed_form():
  # 2-D, non-commuting covariances: tr sqrt(S1 S2) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)).
  m1, m2 = np.array([0.0, 1.0]), np.array([2.0, -1.0])
  s1 = np.array([[2.0, 0.5], [0.5, 1.0]])
  s2 = np.array([[1.0, -0.3], [-0.3, 0.5]])
  tr_sqrt = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
  expected = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
  assert realism.frechet_distance_from_stats(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-10)
  a, b = _exact_gaussian_sample(m1, s1, 50, 0), _exact_gaussian_sample(m2, s2, 70, 1)
  assert realism.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
  # Diagonal covariances in 6-D: |m1 - m2|^2 + sum (sqrt(v1) - sqrt(v2))^2.
  v1, v2 = np.array([1.0, 2, 3, 4, 5, 6]), np.array([6.0, 1, 1, 2, 0.5, 3])
  mu = np.arange(6.0)
  diag = 1.0 + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
  assert realism.frechet_distance_from_stats(mu, np.diag(v1), mu + [1, 0, 0, 0, 0, 0],
                                             np.diag(v2)) == pytest.approx(diag, rel=1e-10)
  # Plain random samples approach the population value.
  rng = np.random.default_rng(2)
  big_a = rng.multivariate_normal(m1, s1, 40000)
  big_b = rng.multivariate_normal(m2, s2, 40000)
  assert realism.frechet_distance(big_a, big_b) == pytest.approx(expected, rel=0.03)


def _naive_mmd2(a, b):
  d, m = a.shape[1], a.shape[0]
  k = lambda x, y: (x @ y / d + 1) ** 3
  aa = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  bb = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  ab = sum(k(a[i], b[j]) for i in range(m) for j in range(m)) / (m * m)
  return aa + bb - 2 * ab


def test_kid_formula_identical_and_shifted_sets():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)) + 0.5
  # A subset as large as both sets holds all of them: the estimate is the full MMD^2.
  assert realism.kernel_inception_distance(a, b, subsets=3, subset_size=10) == pytest.approx(
      _naive_mmd2(a, b), rel=1e-10)
  feats, other = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
  same = realism.kernel_inception_distance(feats, feats, subsets=20, subset_size=100)
  fresh = realism.kernel_inception_distance(feats, other, subsets=20, subset_size=100)
  shifted = realism.kernel_inception_distance(feats, feats + 1.0, subsets=20, subset_size=100)
  # A set against itself: subsets share points, -O(1/m); same distribution: ~0 +- noise.
  assert abs(same) < 0.01 * shifted and abs(fresh) < 0.01 * shifted and shifted > 5
  mean, std = realism.kernel_inception_distance(feats, feats + 1.0, subsets=20, subset_size=100,
                                                return_std=True)
  assert mean == shifted and std > 0


def test_realism_scores_in_chunks(extractor):
  real = _noisy_samples(0.3, k=12, seed=0)
  fake = _noisy_samples(0.6, k=12, seed=1)
  whole = realism.realism_scores(fake, real, extractor, kid_subsets=5, kid_subset_size=8)
  batches = realism.realism_scores((fake[i:i + 5] for i in range(0, 12, 5)),
                                   tf.data.Dataset.from_tensor_slices(real).batch(7),
                                   extractor, kid_subsets=5, kid_subset_size=8)
  assert batches.pop('extractor') == whole.pop('extractor') == extractor.name
  assert batches == pytest.approx(whole, rel=1e-4)
  assert whole['num_fake'] == whole['num_real'] == 12
  self_score = realism.realism_scores(real, real, extractor, kid_subsets=5, kid_subset_size=12)
  assert self_score['fid'] == pytest.approx(0, abs=1e-6) and whole['fid'] > 1e-3
  assert whole['kid'] > 10 * abs(self_score['kid'])


# ---------------------------------------------------------------- feature extractors


def test_random_conv_features_are_seeded(extractor):
  images = _noisy_samples(0.3, k=3)
  again = metrics.random_conv_features(seed=0)
  other = metrics.random_conv_features(seed=1)
  np.testing.assert_array_equal(extractor(images), again(images))
  assert extractor.name == again.name != other.name
  assert np.max(np.abs(extractor(images) - other(images))) > 1e-3
  assert extractor(images).shape == (3, 2 * (32 + 64 + 128 + 256))  # mean and std per channel
  # Chunked extraction equals one batch; gray images are tiled to RGB.
  np.testing.assert_allclose(extractor(images, batch_size=2), extractor(images), rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(extractor(images[..., :1]),
                             extractor(np.repeat(images[..., :1], 3, -1)))
  # The weights come from Philox's raw stream: pinned, so no TF/NumPy upgrade changes them.
  kernel = features.random_conv_weights(seed=0)[0]
  np.testing.assert_allclose(kernel.ravel()[:4],
                             [-0.46051812, -0.26872870, -0.36635122, -0.03673213], atol=1e-7)
  # Odd first-layer filters are DC-free (blind to flat colour), even ones are not.
  assert np.abs(kernel[..., 1::2].sum(axis=(0, 1))).max() < 1e-6
  assert np.abs(kernel[..., ::2].sum(axis=(0, 1))).min() > 1e-3


def test_keras_application_features_needs_a_local_file(tmp_path):
  missing = str(tmp_path / 'nowhere' / 'inception_v3_notop.h5')
  # Raised before the network is built (fast), naming the path and the way out.
  with pytest.raises(FileNotFoundError, match='nowhere/inception_v3_notop.h5.*never downloaded'):
    metrics.keras_application_features('inception_v3', weights_path=missing)
  with pytest.raises(ValueError, match='local weights file'):
    metrics.keras_application_features('vgg16')
  with pytest.raises(ValueError, match='unknown network'):
    metrics.keras_application_features('resnet', weights_path=missing)


def _tiny_model(seed):
  keras.utils.set_random_seed(seed)
  inputs = keras.Input((16, 16, 3))
  x = keras.layers.Conv2D(4, 3, strides=2, activation='relu', name='c1')(inputs)
  x = keras.layers.Conv2D(6, 3, strides=2, activation='relu', name='c2')(x)
  return keras.Model(inputs, x)


@pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')  # in Keras
def test_keras_model_features_loads_a_local_weights_file(tmp_path):
  trained = _tiny_model(1)
  path = str(tmp_path / 'tiny.weights.h5')
  trained.save_weights(path)
  images = _noisy_samples(0.3, k=2)  # 32 px, resized to 16
  loaded = metrics.keras_model_features(_tiny_model(2), 'tiny', input_size=16,
                                        layer_names=['c1', 'c2'], weights_path=path)
  fresh = metrics.keras_model_features(_tiny_model(2), 'tiny-fresh', input_size=16)
  small = tf.image.resize(images, (16, 16), antialias=True)
  np.testing.assert_allclose(loaded(images), tf.reduce_mean(trained(small), axis=[1, 2]),
                             rtol=1e-5, atol=1e-6)
  assert np.max(np.abs(loaded(images) - fresh(images))) > 1e-4
  maps = loaded.layer_features(images)
  assert [m.shape for m in maps] == [(2, 7, 7, 4), (2, 3, 3, 6)]
  # Maps are the layer outputs divided by their norm over channels (0 stays 0).
  c2 = np.asarray(trained(small), np.float64)
  norm = np.linalg.norm(c2, axis=-1, keepdims=True)
  np.testing.assert_allclose(maps[1], np.where(norm > 0, c2 / np.maximum(norm, 1e-30), 0),
                             rtol=1e-4, atol=1e-5)
  assert loaded.has_layers and not fresh.has_layers
  with pytest.raises(FileNotFoundError, match='missing.weights.h5'):
    metrics.keras_model_features(_tiny_model(2), 'x',
                                 weights_path=str(tmp_path / 'missing.weights.h5'))
