"""Realism of a set of outputs against the real B images: FID and KID.

Both compare feature distributions, not pairs. They are only as meaningful as the feature
extractor: with Inception weights from a local file they approximate the usual FID/KID
(Keras' InceptionV3, not the official FID graph); with the fallback random conv features
they are "random-feature FID/KID", comparable only between runs scored with the same
extractor name, never with published numbers. Neither is reliable with few images: FID is
biased upwards for small N (hundreds of images give visibly larger values than
thousands); KID is unbiased but noisy.

Computed in float64 with NumPy only (SciPy is not a dependency).
"""
import numpy as np

from tfi2i.metrics import features as features_lib


def _as_features(feats) -> np.ndarray:
  feats = np.asarray(feats, np.float64)
  if feats.ndim != 2:
    raise ValueError(f'features must be [N, D], got shape {feats.shape}')
  if feats.shape[0] < 2:
    raise ValueError(f'need at least 2 feature vectors, got {feats.shape[0]}')
  return feats


def feature_statistics(feats):
  """Mean [D] and covariance [D, D] (unbiased, N - 1) of features [N, D]."""
  feats = _as_features(feats)
  return feats.mean(axis=0), np.cov(feats, rowvar=False).reshape(feats.shape[1], -1)


def _psd_sqrt(matrix):
  """Symmetric PSD square root via eigh; negative round-off eigenvalues are set to 0."""
  values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
  return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(sigma_a, sigma_b) -> float:
  """tr sqrt(S_a S_b) for symmetric PSD S_a, S_b, without a general sqrtm.

  S_a S_b has the same eigenvalues as the symmetric PSD matrix sqrt(S_a) S_b sqrt(S_a)
  (AB and BA share their eigenvalues, with A = sqrt(S_a), B = sqrt(S_a) S_b), so the
  trace is the sum of the square roots of that matrix's eigenvalues. This is exact for
  singular covariances too (fewer images than dimensions), where scipy's sqrtm needs an
  eps offset and returns complex round-off.
  """
  root_a = _psd_sqrt(np.asarray(sigma_a, np.float64))
  middle = root_a @ np.asarray(sigma_b, np.float64) @ root_a
  values = np.linalg.eigvalsh((middle + middle.T) / 2.0)
  return float(np.sum(np.sqrt(np.clip(values, 0.0, None))))


def frechet_distance_from_stats(mu_a, sigma_a, mu_b, sigma_b) -> float:
  """||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a S_b) (the FID formula)."""
  mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
  sigma_a, sigma_b = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
  value = (np.sum(np.square(mu_a - mu_b)) + np.trace(sigma_a) + np.trace(sigma_b)
           - 2.0 * trace_sqrt_product(sigma_a, sigma_b))
  return float(max(value, 0.0))  # the exact value is >= 0; clip round-off


def frechet_distance(feats_a, feats_b) -> float:
  """Fréchet distance between Gaussians fitted to two feature sets [N_a, D], [N_b, D]."""
  return frechet_distance_from_stats(*feature_statistics(feats_a), *feature_statistics(feats_b))


def _polynomial_mmd2(a, b) -> float:
  """Unbiased MMD^2 with k(x, y) = (x.y / D + 1)^3 between two sets of size m."""
  d = a.shape[1]
  m = a.shape[0]
  k_aa = (a @ a.T / d + 1.0) ** 3
  k_bb = (b @ b.T / d + 1.0) ** 3
  k_ab = (a @ b.T / d + 1.0) ** 3
  off_aa = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
  off_bb = (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
  return float(off_aa + off_bb - 2.0 * k_ab.mean())


def kernel_inception_distance(feats_a, feats_b, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0, return_std: bool = False):
  """KID (Binkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel.

  k(x, y) = (x.y / D + 1)^3. The estimate is averaged over `subsets` random subsets of
  each set (drawn without replacement, seeded), each of min(subset_size, N_a, N_b)
  vectors. Unbiased for independent samples, so it can be slightly negative when the
  distributions match; a set against itself gives about -2 (mean k(x, x) - mean k(x, y)) / m
  (the subsets share points).

  Args:
    feats_a, feats_b: [N_a, D], [N_b, D].
    subsets: number of subset pairs.
    subset_size: vectors per subset (capped at the smaller set).
    seed: seeds the subset draws.
    return_std: also return the standard deviation over subsets.

  Returns:
    the mean over subsets (float), or (mean, std) with return_std.
  """
  a, b = _as_features(feats_a), _as_features(feats_b)
  if a.shape[1] != b.shape[1]:
    raise ValueError(f'feature sizes differ: {a.shape[1]} and {b.shape[1]}')
  m = min(subset_size, a.shape[0], b.shape[0])
  rng = np.random.default_rng(seed)
  values = np.array([
      _polynomial_mmd2(a[rng.choice(a.shape[0], m, replace=False)],
                       b[rng.choice(b.shape[0], m, replace=False)])
      for _ in range(subsets)])
  if return_std:
    return float(values.mean()), float(values.std())
  return float(values.mean())


def realism_scores(fake_images, real_images, extractor: features_lib.FeatureExtractor = None,
                   kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0) -> dict:
  """FID and KID of generated images against real ones, features computed in chunks.

  Args:
    fake_images, real_images: arrays [N, H, W, C] in [-1, 1], or iterables of batches
      (lists, generators, tf.data.Dataset); only [N, D] features are kept.
    extractor: a `features.FeatureExtractor`; None uses the fallback
      `features.random_conv_features(seed=0)` (random-feature FID/KID, not Inception).
    kid_subsets, kid_subset_size, seed: see `kernel_inception_distance`.

  Returns:
    {'fid', 'kid', 'kid_std', 'extractor': its name, 'num_fake', 'num_real'}.
  """
  if extractor is None:
    extractor = features_lib.random_conv_features(seed=0)
  fake, real = extractor(fake_images), extractor(real_images)
  kid, kid_std = kernel_inception_distance(fake, real, kid_subsets, kid_subset_size, seed,
                                           return_std=True)
  return {'fid': frechet_distance(fake, real), 'kid': kid, 'kid_std': kid_std,
          'extractor': extractor.name, 'num_fake': int(fake.shape[0]),
          'num_real': int(real.shape[0])}
