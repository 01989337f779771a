"""Fidelity to the ground truth B: paired per-image metrics.

Images are float32 NHWC in [-1, 1]. PSNR uses a data range of 2 (the [-1, 1] span), so it
equals PSNR on the same images mapped to [0, 1] with range 1. SSIM is `tf.image.ssim` on
(x + 1) / 2 with max_val 1. L1 is in [-1, 1] units (halve it for [0, 1] units). The
per-image functions return float64 arrays [N]; `fidelity_scores` averages them over a
whole test set, chunk by chunk.

Identical images have an infinite PSNR (returned as inf, as `tf.image.psnr` does).
"""
import numpy as np
import tensorflow as tf

from tfi2i.metrics import features as features_lib

DATA_RANGE = 2.0  # max - min of images in [-1, 1]


def _pair(x, y):
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  if x.shape != y.shape or x.ndim != 4:
    raise ValueError(f'expected two [N, H, W, C] batches of one shape, got {x.shape} and {y.shape}')
  return x, y


def psnr_from_mse(mse):
  """PSNR (dB) of images in [-1, 1] from their mean squared error (a number or an array;
  inf where it is 0)."""
  with np.errstate(divide='ignore'):
    return 10.0 * np.log10(DATA_RANGE ** 2 / np.asarray(mse, np.float64))


def l1(x, y) -> np.ndarray:
  """Mean absolute difference per image, [N]."""
  x, y = _pair(x, y)
  return np.mean(np.abs(x - y), axis=(1, 2, 3))


def psnr(x, y) -> np.ndarray:
  """PSNR in dB per image, [N]: 10 log10(2^2 / MSE) for images in [-1, 1]."""
  x, y = _pair(x, y)
  return psnr_from_mse(np.mean(np.square(x - y), axis=(1, 2, 3)))


def ssim(x, y, filter_size: int = 11) -> np.ndarray:
  """SSIM per image, [N]: `tf.image.ssim` on images mapped to [0, 1].

  Gaussian window of filter_size (sigma 1.5), shrunk to the image size for images smaller
  than it; colour SSIM is the mean over channels (TF's definition).
  """
  x, y = _pair(x, y)
  size = min(filter_size, x.shape[1], x.shape[2])
  x01 = tf.constant((x + 1.0) / 2.0, tf.float32)
  y01 = tf.constant((y + 1.0) / 2.0, tf.float32)
  return np.asarray(tf.image.ssim(x01, y01, max_val=1.0, filter_size=size), np.float64)


def masked_psnr(x, y, mask, threshold: float = 0.5) -> np.ndarray:
  """PSNR per image over the pixels where mask > threshold only, [N].

  Args:
    x, y: [N, H, W, C] in [-1, 1].
    mask: [N, H, W], [N, H, W, 1] or [N, H, W, C]; pixels (all their channels) with
      mask > threshold count, the others are ignored.
    threshold: see mask.

  Returns:
    10 log10(4 / MSE over selected pixels and channels); nan for an image whose mask is
    empty, inf where selected pixels are equal.
  """
  x, y = _pair(x, y)
  mask = np.asarray(mask)
  if mask.ndim == 3:
    mask = mask[..., None]
  keep = np.broadcast_to(mask > threshold, x.shape)
  count = keep.sum(axis=(1, 2, 3))
  sq = np.where(keep, np.square(x - y), 0.0).sum(axis=(1, 2, 3))
  with np.errstate(invalid='ignore', divide='ignore'):
    return psnr_from_mse(sq / count)


def _chunks(outputs, targets, batch_size):
  if targets is None:  # an iterable of (outputs, targets) batches
    for out, tgt in outputs:
      yield from _chunks(out, tgt, batch_size)
    return
  n = len(targets)
  if len(outputs) != n:
    raise ValueError(f'{len(outputs)} outputs for {n} targets')
  for start in range(0, n, batch_size):
    yield (np.asarray(outputs[start:start + batch_size], np.float32),
           np.asarray(targets[start:start + batch_size], np.float32))


def fidelity_scores(outputs, targets=None, best_of_k: bool = False,
                    extractor: features_lib.FeatureExtractor = None,
                    batch_size: int = 32) -> dict:
  """Mean L1, PSNR and SSIM of outputs against their ground truth.

  Args:
    outputs: [N, H, W, C], or [N, K, H, W, C] for K samples per input (multimodal). Or,
      with targets None, an iterable of (outputs, targets) batches (for test sets that do
      not fit in memory).
    targets: [N, H, W, C] ground truth B.
    best_of_k: with K samples, also report the best sample per input: min L1, max PSNR,
      max SSIM (and min feature distance), each chosen separately, then averaged.
    extractor: optional `features.FeatureExtractor` with spatial layers: adds
      'feature_distance' (LPIPS-style, unit weights) to the ground truth and its name.
    batch_size: inputs per chunk.

  Returns:
    {'l1', 'psnr', 'ssim', 'num_inputs', 'num_samples'} (means over all samples), plus
    'best_of_k_*' keys if asked for, plus 'feature_distance'/'extractor' if given.
  """
  per = {'l1': [], 'psnr': [], 'ssim': []}
  if extractor is not None:
    per['feature_distance'] = []
  num_inputs = 0
  for out, tgt in _chunks(outputs, targets, batch_size):
    if out.ndim == 4:
      out = out[:, None]
    if out.ndim != 5 or out.shape[:1] + out.shape[2:] != tgt.shape:
      raise ValueError(f'outputs {out.shape} do not match targets {tgt.shape}')
    n, k = out.shape[:2]
    flat = out.reshape((n * k,) + out.shape[2:])
    rep = np.repeat(tgt, k, axis=0)
    per['l1'].append(l1(flat, rep).reshape(n, k))
    per['psnr'].append(psnr(flat, rep).reshape(n, k))
    per['ssim'].append(ssim(flat, rep).reshape(n, k))
    if extractor is not None:
      dist = features_lib.layer_distance(extractor.layer_features(flat),
                                         extractor.layer_features(rep))
      per['feature_distance'].append(dist.reshape(n, k))
    num_inputs += n
  if not num_inputs:
    raise ValueError('no images given')
  if len({a.shape[1] for a in per['l1']}) != 1:
    raise ValueError('every input must have the same number of samples K')
  per = {key: np.concatenate(v, axis=0) for key, v in per.items()}
  scores = {key: float(np.mean(v)) for key, v in per.items()}
  scores.update(num_inputs=num_inputs, num_samples=int(per['l1'].size))
  if best_of_k:
    best = {'l1': np.min, 'psnr': np.max, 'ssim': np.max, 'feature_distance': np.min}
    for key, v in per.items():
      scores[f'best_of_k_{key}'] = float(np.mean(best[key](v, axis=1)))
  if extractor is not None:
    scores['extractor'] = extractor.name
  return scores
