"""Diversity of multimodal outputs: how different the K samples of one input are.

For BicycleGAN and pix2pix + noise, each input gets K outputs from different latent
codes z. The scores average, over all K(K-1)/2 pairs of samples of one input, a distance,
then average over inputs:
- `pairwise_l1`: mean absolute pixel difference, in the [-1, 1] units of the images
  (halve it for [0, 1] units).
- `pairwise_feature_distance`: a feature distance. With spatial layers (the default
  random conv extractor, or VGG16 from a local file) it is LPIPS with unit weights (see
  `features.layer_distance`). The BicycleGAN paper reports LPIPS with learned weights,
  which cannot be downloaded here, so our numbers are not comparable to the paper's;
  they compare models scored with the same extractor (its name is returned).

0 means all samples are the same (mode collapse); larger is more diverse.
"""
import numpy as np

from tfi2i.metrics import features as features_lib


def _as_samples(samples) -> np.ndarray:
  samples = np.asarray(samples, np.float32)
  if samples.ndim != 4:
    raise ValueError(f'samples of one input must be [K, H, W, C], got shape {samples.shape}')
  if samples.shape[0] < 2:
    raise ValueError(f'need at least 2 samples per input, got {samples.shape[0]}')
  return samples


def pairwise_l1(samples) -> float:
  """Mean L1 distance over all pairs of samples of one input.

  Args:
    samples: [K, H, W, C] in [-1, 1], K >= 2.

  Returns:
    mean over the K(K-1)/2 pairs (i < j) of mean |x_i - x_j| over pixels and channels.
  """
  x = _as_samples(samples).astype(np.float64)
  k = x.shape[0]
  total = 0.0
  for i in range(k - 1):
    total += np.mean(np.abs(x[i + 1:] - x[i]), axis=(1, 2, 3)).sum()
  return float(total / (k * (k - 1) / 2))


def pairwise_feature_distance(samples, extractor: features_lib.FeatureExtractor) -> float:
  """Mean feature distance over all pairs of samples of one input.

  If the extractor has spatial layers, the distance is `features.layer_distance` (LPIPS
  with unit weights on unit-normalised maps). Otherwise it is the Euclidean distance
  between pooled feature vectors.

  Args:
    samples: [K, H, W, C] in [-1, 1], K >= 2.
    extractor: a `features.FeatureExtractor`.
  """
  x = _as_samples(samples)
  k = x.shape[0]
  total = 0.0
  if extractor.has_layers:
    maps = extractor.layer_features(x)
    for i in range(k - 1):
      total += features_lib.layer_distance([m[i + 1:] for m in maps],
                                           [m[i:i + 1] for m in maps]).sum()
  else:
    feats = extractor(x).astype(np.float64)
    for i in range(k - 1):
      total += np.sqrt(np.sum(np.square(feats[i + 1:] - feats[i]), axis=1)).sum()
  return float(total / (k * (k - 1) / 2))


def diversity_scores(sample_sets, extractor: features_lib.FeatureExtractor = None) -> dict:
  """Diversity averaged over inputs.

  Args:
    sample_sets: the samples of each input: an array [N, K, H, W, C], or an iterable
      (list, generator) of [K, H, W, C] arrays, which may differ in K and size. Read one
      input at a time.
    extractor: the feature extractor; None uses the fallback
      `features.random_conv_features(seed=0)` (random conv features, not LPIPS).

  Returns:
    {'pairwise_l1': float, 'pairwise_feature': float, 'extractor': its name,
     'num_inputs': int}.
  """
  if extractor is None:
    extractor = features_lib.random_conv_features(seed=0)
  l1s, feats = [], []
  for samples in sample_sets:
    l1s.append(pairwise_l1(samples))
    feats.append(pairwise_feature_distance(samples, extractor))
  if not l1s:
    raise ValueError('no sample sets given')
  return {'pairwise_l1': float(np.mean(l1s)), 'pairwise_feature': float(np.mean(feats)),
          'extractor': extractor.name, 'num_inputs': len(l1s)}
