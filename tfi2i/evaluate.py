"""Evaluate a trained workdir: diversity, fidelity and realism of K samples per test input.

  python -m tfi2i.evaluate --workdir=DIR [--split=test] [--samples=10] [--max_inputs=N] \
      [--features=random|inception_v3|vgg16 --features_weights=PATH] [--output=FILE.json] \
      [--hue_modes=3] [--seed=0] [--batch_size=16] [--step=N]

Restores the newest checkpoint of WORKDIR (or with --step the one of that training step;
`tfi2i.workdir.restore`: the recipe's model in float32), reads split `--split` of the
recipe's data (the model's data stream, see tfi2i.data.streams) and draws K samples per
input with the model's own sampler (`TranslationModel.sampler`); today's models draw them
so:

  BicycleGAN (every variant)  G(A, z) with z ~ N(0, I); the K codes of input i are drawn
                              from NumPy's generator seeded with (seed, i), so they do not
                              depend on batching or on --max_inputs. G runs in inference
                              mode (dropout off), as the official test.py (model.eval()).
  Pix2Pix                     K calls of G, one input per call: dropout on and batch-norm
                              statistics of that input, the official test.py default (the
                              paper's "noise" at test time). Keras' global seed is set to
                              `seed` first. With model.eval_mode=True the K samples are equal.
  CycleGAN (and other         deterministic: K = 1 whatever --samples says; direction
  deterministic models)       a_to_b (data.direction='BtoA' swaps the domains, as training).

Data (data.source='folder' only), by the model's data stream:
  paired models  the recipe's data.layout ('aligned': ROOT/{split}/ A|B images; 'folders'),
                 ground truth B for every input;
  unpaired       inputs from ROOT/{split}A, real images from ROOT/{split}B; fidelity only when
                 every input has a file of the same name in {split}B (as the demo tiles).
Preprocessing is the recipe's, made deterministic: no flip, and the random crop replaced by
a center crop ('resize_and_crop': resize to load_size, center crop_size; 'crop': center
crop_size; 'scale_width_and_crop': scale the width, center crop; 'scale_width' and 'none' as
in training). Inputs are read in sorted file order; --max_inputs keeps the first N.

Scores (images in [-1, 1]; see tfi2i.metrics for every definition):
  diversity  mean over inputs of the mean over the K(K-1)/2 pairs of samples: pixel L1 and
             a feature distance (LPIPS with unit weights for extractors with spatial layers,
             the default random conv features and vgg16). None when K = 1.
  fidelity   against the ground truth B: L1, PSNR, SSIM (and the feature distance when the
             extractor has layers) of sample 0, the best of the K samples (each metric
             chosen separately per input, as the BicycleGAN paper's best-of-K), and the mean
             over all samples.
  realism    FID and KID of all N*K samples against the N real B images, with the
             extractor's name (compare only numbers with the same name; small N biases FID
             upwards).
  colourfulness  mean Hasler-Suesstrunk colourfulness of the samples, the real B images
             and the inputs (0 = gray): outputs that hedge between colours are duller.
  input_as_output  the same fidelity and realism for the input A itself as the output: a
             reference point (on the multimodal demo, A is the average of the valid B's,
             what a mode-averaging model outputs).
  hue_modes  with --hue_modes=n, on the multimodal demo data only (its valid outputs are
             the ground truth B with its hue turned by j * 360 / n degrees): each sample is
             assigned to the valid colouring it is (demo_multimodal.hue_modes: least-squares
             hue angle within 30 degrees, at least half the target's chroma) or to none; 'coverage' = mean
             over inputs of (distinct modes among the K samples) / n (1/n for a model that
             ignores z, 0 for gray outputs), 'all_modes_fraction' = inputs whose samples hit
             every mode, 'matched' = samples that are some mode, 'histogram' = fraction of
             samples per mode (0 = the ground truth's own hue), 'gain' = mean chroma gain.
  attribute_edits  attribute editors (StarGAN, AttGAN, STGAN) on attribute data: the K = k
             outputs of an input are its k edits, edit j changing attribute j from the
             labels of the attribute file by the editor's official test-time rule
             (attribute_rules: StarGAN's create_labels sets a hair colour and flips any
             other attribute; AttGAN's and STGAN's flip it, then check conflicts). Per
             attribute and their mean:
               accuracy     with --classifier (tfi2i.attribute_classifier): the fraction of
                            edits whose attribute j the classifier reads as the target
                            value; the classifier's own accuracy on the real inputs is
                            reported next to it ('real_accuracy');
               l1, psnr     of each edit to its input (how much of the image is kept);
               masked_psnr  PSNR of edit j to its input over the pixels outside attribute
                            j's region, for the attributes with masks (data.masks_dir,
                            default ROOT/masks/<Attribute>/<image>; nonzero = the region an
                            edit may change): paper 001 Table 2's protocol. A pixel counts
                            as outside when the preprocessed mask is 0 there (under half a
                            level), so a border pixel partly in the region is left out.
             Realism (FID/KID) scores all edits against the real test images, as paper 001
             Table 1 (small N biases FID upwards).
Everything is streamed: only per-input scores and pooled features ([N*K, D]) are kept.

Output: the dict of `evaluate` as JSON, printed and written to --output (default
WORKDIR/eval/<split>-step<step>.json). Non-finite numbers (PSNR of identical images) are
written as null.
"""
import json
import math
import os
import sys
import time
import types
from typing import Callable, Optional

from absl import flags
from absl import logging
import keras
import numpy as np
import tensorflow as tf

import tfi2i
from tfi2i import attribute_rules
from tfi2i import cli as cli_lib
from tfi2i import metrics
from tfi2i import data as data_lib
from tfi2i import restore as restore_lib
from tfi2i import workdir as workdir_lib
from tfi2i.data import demo_multimodal
from tfi2i.data import images
from tfi2i.data import transforms
from tfi2i.data.streams import EvalData
from tfi2i.data.images import DataError
from tfi2i.metrics import attribute_accuracy
from tfi2i.metrics import features as features_lib
from tfi2i.schema import RecipeError

FEATURES = ('random', 'inception_v3', 'vgg16')
DEFAULT_SAMPLES = 10
DEFAULT_SEED = 0
DEFAULT_BATCH_SIZE = 16


# ----------------------------------------------------------------------------- data


def eval_transform(data_cfg) -> Callable[[np.ndarray], np.ndarray]:
  """The recipe's preprocessing without randomness: uint8 HxWx3 -> float32 in [-1, 1].

  No flip; the random crop of 'resize_and_crop', 'crop' and 'scale_width_and_crop' is a
  center crop; 'scale_width' and 'none' are as in training (they are deterministic).
  """
  mode = str(data_cfg.preprocess)
  load, crop = int(data_cfg.load_size), int(data_cfg.crop_size)
  plain = lambda m: transforms.get_transform(
      types.SimpleNamespace(preprocess=m, load_size=load, crop_size=crop, flip=False))
  seed = tf.zeros([2], tf.int32)  # unused by the deterministic modes
  if mode == 'resize_and_crop':
    fn = lambda x: transforms.center_crop(transforms.resize(x, [load, load]), crop) / 127.5 - 1.0
  elif mode == 'crop':
    fn = lambda x: transforms.center_crop(x, crop) / 127.5 - 1.0
  elif mode == 'scale_width_and_crop':
    scale = plain('scale_width')
    fn = lambda x: transforms.center_crop((scale(x, seed) + 1.0) * 127.5, crop) / 127.5 - 1.0
  else:
    same = plain(mode)
    fn = lambda x: same(x, seed)
  return lambda img: np.asarray(fn(tf.cast(tf.convert_to_tensor(img), tf.float32)), np.float32)


def describe_preprocess(data_cfg) -> str:
  mode = str(data_cfg.preprocess)
  load, crop = data_cfg.load_size, data_cfg.crop_size
  return {
      'resize_and_crop': f'resize to {load}x{load}, center crop {crop}x{crop}, no flip',
      'crop': f'center crop {crop}x{crop}, no flip',
      'scale_width_and_crop': f'scale width to {load}, center crop {crop}x{crop}, no flip',
      'scale_width': f'scale width to {load} (height >= {crop}), no flip',
      'none': 'sides rounded to multiples of 4, no flip',
  }.get(mode, mode)


# ----------------------------------------------------------------------------- scores


def make_extractor(features: str = 'random', weights_path: str = None
                   ) -> features_lib.FeatureExtractor:
  """The feature extractor named by --features."""
  if features == 'random':
    return metrics.random_conv_features(seed=0)
  if features in FEATURES:
    return metrics.keras_application_features(features, weights_path)
  raise ValueError(f'unknown features {features!r}; one of {FEATURES}')


class _Fidelity:
  """Per-input L1 / PSNR / SSIM (/ feature distance) of K outputs against one target."""

  def __init__(self, extractor=None):
    self.extractor = extractor if extractor is not None and extractor.has_layers else None
    self.per = {'l1': [], 'psnr': [], 'ssim': []}
    if self.extractor is not None:
      self.per['feature_distance'] = []

  def add(self, outputs, target):
    """outputs [K, H, W, C], target [H, W, C]."""
    rep = np.repeat(target[None], outputs.shape[0], axis=0)
    self.per['l1'].append(metrics.l1(outputs, rep))
    self.per['psnr'].append(metrics.psnr(outputs, rep))
    self.per['ssim'].append(metrics.ssim(outputs, rep))
    if self.extractor is not None:
      self.per['feature_distance'].append(features_lib.layer_distance(
          self.extractor.layer_features(outputs), self.extractor.layer_features(target[None])))

  def scores(self, multiple: bool = True):
    """Means over inputs: sample 0 and, with multiple samples, best-of-K and all samples."""
    if not self.per['l1']:
      return None
    per = {k: np.stack(v) for k, v in self.per.items()}  # [N, K]
    best = {'l1': np.min, 'psnr': np.max, 'ssim': np.max, 'feature_distance': np.min}
    out = {'sample0': {k: float(np.mean(v[:, 0])) for k, v in per.items()}}
    if multiple:
      out['best_of_k'] = {k: float(np.mean(best[k](v, axis=1))) for k, v in per.items()}
      out['mean'] = {k: float(np.mean(v)) for k, v in per.items()}
    if self.extractor is not None:
      out['extractor'] = self.extractor.name
    out['num_inputs'] = int(per['l1'].shape[0])
    return out


def colourfulness(batch) -> np.ndarray:
  """Hasler and Suesstrunk's (2003) colourfulness per image, [N], of images in [-1, 1].

  With R, G, B in [0, 255]: rg = R - G, yb = (R + G) / 2 - B,
  M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2) over the pixels.
  0 for gray images; about 15 "slightly", 33 "moderately", 59 "quite" colourful.
  """
  x = (np.asarray(batch, np.float64) + 1.0) * 127.5
  rg = x[..., 0] - x[..., 1]
  yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
  axes = tuple(range(1, rg.ndim))
  return (np.sqrt(rg.var(axis=axes) + yb.var(axis=axes))
          + 0.3 * np.sqrt(rg.mean(axis=axes) ** 2 + yb.mean(axis=axes) ** 2))


class _HueModes:
  """Mode coverage on the multimodal demo task (tfi2i.data.demo_multimodal.hue_modes)."""

  def __init__(self, n: int):
    self.n = int(n)
    self.modes, self.gains = [], []

  def add(self, outputs, target):
    self.modes.append(demo_multimodal.hue_modes(outputs, target, self.n))
    self.gains.append(demo_multimodal.hue_alignment(outputs, target)[1])

  def scores(self):
    if not self.modes:
      return None
    modes = np.stack(self.modes)  # [N, K]
    hit = [len(set(m.tolist()) - {-1}) for m in modes]
    return {
        'n': self.n,
        'min_gain': demo_multimodal.MIN_GAIN,
        'max_angle': demo_multimodal.MAX_ANGLE,
        'coverage': float(np.mean(hit) / self.n),
        'all_modes_fraction': float(np.mean([h == self.n for h in hit])),
        'matched': float(np.mean(modes >= 0)),
        'histogram': [float(np.mean(modes == j)) for j in range(self.n)],
        'gain': float(np.nanmean(np.stack(self.gains))),
        'num_inputs': int(modes.shape[0]),
    }


def mask_region(path: str, transform) -> np.ndarray:
  """float [H, W] in [0, 1]: a region mask (nonzero = the region) through the recipe's
  preprocessing (so it lines up with the image)."""
  return (transform(images.load_image(path))[..., 0] + 1.0) / 2.0


class _AttributeEdits:
  """Scores of the edits of attribute data (K = k edits per input, edit j changes attribute
  j by the editor's rule, attribute_rules.change): attribute accuracy by a classifier,
  preservation (L1 and PSNR of each edit to its input) and masked PSNR over the pixels
  outside attribute j's region mask (paper 001 Table 2)."""

  def __init__(self, data: EvalData, classifier, transform, rule):
    self.names, self.labels, self.masks = tuple(data.attribute_names), data.attributes, data.masks
    self.rule = rule  # the editor's test-time rule: what its sampler's edit j targets
    self.classifier, self.transform = classifier, transform
    k = len(self.names)
    self.per = {key: [[] for _ in range(k)] for key in ('correct', 'l1', 'psnr', 'masked')}
    self.real_pred, self.real_labels, self.empty = [], [], [0] * k

  def add(self, indices, a, out):
    """a [n, H, W, 3] the inputs (data indices `indices`), out [n, k, H, W, 3] their edits."""
    labels = self.labels[indices]
    if out.shape[1] != len(self.names):
      raise ValueError(f'{out.shape[1]} edits per input for {len(self.names)} attributes')
    for j, name in enumerate(self.names):
      edit = out[:, j]
      self.per['l1'][j].append(metrics.l1(edit, a))
      self.per['psnr'][j].append(metrics.psnr(edit, a))
      if self.classifier is not None:
        target = attribute_rules.change(labels, self.names, j, rule=self.rule)[:, j]
        self.per['correct'][j].append(self.classifier.predict(edit)[:, j] == target)
      paths = self.masks.get(name)
      for row, i in enumerate(indices):
        path = paths[i] if paths else None
        if path is None:
          continue
        region = mask_region(path, self.transform)
        if region.shape != a.shape[1:3]:
          raise DataError(f'{path}: the mask comes out {region.shape} after preprocessing, '
                          f'its image {a.shape[1:3]}: a mask must have its image\'s size')
        keep = region < 0.5 / 255  # outside the region, border pixels count as inside
        if not keep.any():
          self.empty[j] += 1
          continue
        self.per['masked'][j].append(metrics.masked_psnr(edit[row:row + 1], a[row:row + 1],
                                                         keep[None])[0])
    if self.classifier is not None:
      self.real_pred.append(self.classifier.predict(a))
      self.real_labels.append(labels)

  def scores(self):
    mean = lambda parts: float(np.mean(np.concatenate(parts))) if parts else None
    per = {}
    for j, name in enumerate(self.names):
      per[name] = {'accuracy': mean(self.per['correct'][j]), 'l1': mean(self.per['l1'][j]),
                   'psnr': mean(self.per['psnr'][j])}
      if name in self.masks:
        values = self.per['masked'][j]
        per[name].update(masked_psnr=float(np.mean(values)) if values else None,
                         masked_images=len(values), masks_all_region=self.empty[j])
    average = lambda key: (float(np.mean([v[key] for v in per.values()
                                           if v.get(key) is not None]))
                           if any(v.get(key) is not None for v in per.values()) else None)
    result = {
        'source_attributes': 'the labels of the attribute file',
        'per_attribute': per,
        'mean': {key: average(key) for key in ('accuracy', 'l1', 'psnr', 'masked_psnr')},
        'classifier': None,
        'masked_attributes': sorted(self.masks),
    }
    if self.classifier is not None:
      real = np.mean(np.concatenate(self.real_pred) == np.concatenate(self.real_labels), axis=0)
      result['classifier'] = {
          'name': self.classifier.name, 'path': self.classifier.path,
          'real_accuracy': {**{n: float(v) for n, v in zip(self.names, real)},
                            'mean': float(np.mean(real))}}
    return result


def _realism(fake, real, extractor):
  if fake is None or real is None or len(fake) < 2 or len(real) < 2:
    return None  # FID/KID need at least two images on each side
  kid, kid_std = metrics.kernel_inception_distance(fake, real, return_std=True)
  return {'fid': metrics.frechet_distance(fake, real), 'kid': kid, 'kid_std': kid_std,
          'extractor': extractor.name, 'num_fake': int(fake.shape[0]),
          'num_real': int(real.shape[0])}


def _finite(value):
  """value with non-finite floats replaced by None (strict JSON)."""
  if isinstance(value, dict):
    return {k: _finite(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_finite(v) for v in value]
  if isinstance(value, (float, np.floating)):
    return float(value) if math.isfinite(value) else None
  if isinstance(value, np.integer):
    return int(value)
  return value


def _chunks(data: EvalData, count: int, size: int, transform, multiple: int):
  """Yields (indices, a [n, H, W, 3], b [n, H, W, 3] or None) of same-size inputs."""
  idx, a_list, b_list = [], [], []

  def flush():
    b = None if b_list[0] is None else np.stack(b_list)
    return list(idx), np.stack(a_list), b

  for i in range(count):
    img_a, img_b = data.load(i)
    a = transform(img_a)
    b = None if img_b is None else transform(img_b)
    if b is not None and b.shape != a.shape:
      raise DataError(f'{data.names[i]}: A comes out {a.shape[:2]} and B {b.shape[:2]} after '
                      'preprocessing; they must have one size')
    if a.shape[0] % multiple or a.shape[1] % multiple:
      raise DataError(f'{data.names[i]}: preprocessing gives {a.shape[0]}x{a.shape[1]} px but '
                      f'the model needs multiples of {multiple} (set data.preprocess / '
                      'crop_size as for training)')
    if idx and (len(idx) == size or a.shape != a_list[0].shape):
      yield flush()
      idx, a_list, b_list = [], [], []
    idx.append(i)
    a_list.append(a)
    b_list.append(b)
  if idx:
    yield flush()


def _labels(data: EvalData, indices) -> dict:
  """The data's labels of inputs `indices` for the model's sampler: {'attributes': [n, k]}
  on attribute data, {} otherwise."""
  return {} if data.attributes is None else {'attributes': data.attributes[indices]}


def evaluate(workdir: str, split: str = 'test', samples: int = DEFAULT_SAMPLES,
             max_inputs: Optional[int] = None, features: str = 'random',
             features_weights: Optional[str] = None, seed: int = DEFAULT_SEED,
             batch_size: int = DEFAULT_BATCH_SIZE, hue_modes: int = 0,
             extractor=None, classifier: Optional[str] = None,
             step: Optional[int] = None) -> dict:
  """Scores the newest checkpoint of `workdir` (or the one of `step`) on `split` (see the
  module docstring).

  Args:
    workdir: a training workdir (recipe.json, checkpoints/).
    split: which split of the recipe's data ('test', 'val', 'train').
    samples: K, samples per input (1 for deterministic models whatever is asked).
    max_inputs: evaluate the first N inputs only (sorted file order); None = all.
    features: extractor for the feature distance, FID and KID: 'random' (seeded random
      conv features, the default: no weights are downloaded), 'inception_v3' or 'vgg16'
      (need features_weights, a local Keras weights file).
    features_weights: see features.
    seed: seeds the latent codes (BicycleGAN) and Keras' global seed (pix2pix dropout).
    batch_size: images per generator call.
    hue_modes: n > 0 adds 'hue_modes', the mode coverage of the multimodal demo task
      (tfi2i.data.demo_multimodal) with n valid hues; 0 = off (other data sets).
    extractor: a ready `metrics.FeatureExtractor`, overriding features.
    classifier: attribute data only: a classifier file (tfi2i.attribute_classifier) for
      attribute accuracy; None = no accuracy.
    step: score the checkpoint of this training step instead of the newest (a
      FileNotFoundError naming the steps there are when there is none).

  Returns:
    {'workdir', 'checkpoint', 'step', 'model', 'variant', 'split', 'data', 'preprocess',
     'sampling', 'seed', 'num_inputs', 'samples_per_input', 'num_samples',
     'diversity': {'pairwise_l1', 'pairwise_feature', 'extractor'} or None (K = 1),
     'fidelity': {'sample0', 'best_of_k', 'mean': {'l1', 'psnr', 'ssim'
       (, 'feature_distance')}, 'num_inputs' (, 'extractor')} or None (no ground truth),
     'realism': {'fid', 'kid', 'kid_std', 'extractor', 'num_fake', 'num_real'} or None,
     'colourfulness': {'samples', 'real', 'inputs'},
     'input_as_output': {'fidelity', 'realism'},
     'hue_modes' (with hue_modes > 0 and a ground truth),
     'attribute_edits' (attribute data: {'per_attribute': {name: {'accuracy', 'l1', 'psnr'
       (, 'masked_psnr', 'masked_images', 'masks_all_region')}}, 'mean', 'classifier':
       {'name', 'path', 'real_accuracy'} or None, ...}), 'seconds', 'tfi2i'}.
  """
  start = time.time()
  if int(samples) < 1:
    raise ValueError(f'samples must be >= 1, got {samples}')
  if max_inputs is not None and int(max_inputs) < 1:
    raise ValueError(f'max_inputs must be >= 1, got {max_inputs}')
  extractor = extractor or make_extractor(features, features_weights)
  keras.utils.set_random_seed(int(seed))
  model, config, step, checkpoint = restore_lib.restore_model(workdir, step=step)
  data = data_lib.stream(model.data_stream).evaluation(config.data, split)
  count = len(data.names) if max_inputs is None else min(int(max_inputs), len(data.names))
  sample, k, how = model.sampler(int(samples), seed, batch_size)
  if k < int(samples):
    logging.info('%s is deterministic: 1 sample per input instead of %d.',
                 type(model).__name__, samples)
  transform = eval_transform(config.data)
  multiple = model.padding()[0]
  edits = None
  if data.attributes is not None:
    loaded = (attribute_accuracy.load(classifier, data.attribute_names)
              if classifier else None)
    edits = _AttributeEdits(data, loaded, transform,
                            getattr(model, 'target_rule', attribute_rules.CREATE_LABELS))
  elif classifier:
    raise ValueError('--classifier scores attribute edits; the data of '
                     f'{workdir} has no attributes')

  fidelity, baseline = _Fidelity(extractor), _Fidelity(None)
  modes = _HueModes(hue_modes) if hue_modes else None
  colour = {'samples': [], 'real': [], 'inputs': []}
  div_l1, div_feat = [], []
  fake_feats, input_feats, real_feats = [], [], []
  per_chunk = max(1, batch_size // k)
  done = 0
  for indices, a, b in _chunks(data, count, per_chunk, transform, multiple):
    out = sample(a, indices, _labels(data, indices))  # [n, K, H, W, 3]
    if edits is not None:
      edits.add(indices, a, out)
    fake_feats.append(extractor(out.reshape((-1,) + out.shape[2:])))
    input_feats.append(extractor(a))
    colour['samples'].append(colourfulness(out.reshape((-1,) + out.shape[2:])))
    colour['inputs'].append(colourfulness(a))
    if b is not None and data.real_b is None:
      real_feats.append(extractor(b))
      colour['real'].append(colourfulness(b))
    for j in range(len(indices)):
      if k >= 2:
        div_l1.append(metrics.pairwise_l1(out[j]))
        div_feat.append(metrics.pairwise_feature_distance(out[j], extractor))
      if b is not None:
        fidelity.add(out[j], b[j])
        baseline.add(a[j:j + 1], b[j])
        if modes is not None:
          modes.add(out[j], b[j])
    done += len(indices)
    logging.info('Evaluated %d/%d inputs.', done, count)
  if not done:
    raise DataError(f'no inputs in {data.description}')
  if data.real_b is not None:
    real_paths = data.real_b[:count] if max_inputs is not None else data.real_b
    real_feats = []
    for s in range(0, len(real_paths), batch_size):
      real_b = np.stack([transform(data.load_real(p)) for p in real_paths[s:s + batch_size]])
      real_feats.append(extractor(real_b))
      colour['real'].append(colourfulness(real_b))
  real = np.concatenate(real_feats) if real_feats else None
  fake, inputs = np.concatenate(fake_feats), np.concatenate(input_feats)

  result = {
      'workdir': os.path.abspath(workdir),
      'checkpoint': os.path.basename(checkpoint),
      'step': step,
      'model': type(model).__name__,
      **model.report_fields(),  # {'variant': ...}: the model says what describes it
      'split': split,
      'data': data.description,
      'preprocess': describe_preprocess(config.data),
      'sampling': how,
      'seed': int(seed),
      'num_inputs': done,
      'samples_per_input': k,
      'num_samples': done * k,
      'diversity': None if k < 2 else {
          'pairwise_l1': float(np.mean(div_l1)), 'pairwise_feature': float(np.mean(div_feat)),
          'extractor': extractor.name},
      'fidelity': fidelity.scores(multiple=k >= 2),
      'realism': _realism(fake, real, extractor),
      'colourfulness': {k: float(np.mean(np.concatenate(v))) if v else None
                        for k, v in colour.items()},
      'input_as_output': {'fidelity': baseline.scores(multiple=False),
                          'realism': _realism(inputs, real, extractor)},
      **({'hue_modes': modes.scores()} if modes is not None else {}),
      **({'attribute_edits': edits.scores()} if edits is not None else {}),
      'seconds': round(time.time() - start, 2),
      'tfi2i': tfi2i.__version__,
  }
  return _finite(result)


# ----------------------------------------------------------------------------- command line


def default_output(workdir: str, split: str, step) -> str:
  return os.path.join(workdir_lib.eval_dir(workdir), f'{split}-step{step}.json')


def cli(workdir: str, split: str = 'test', samples: int = DEFAULT_SAMPLES,
        max_inputs: Optional[int] = None, features: str = 'random',
        features_weights: Optional[str] = None, output: Optional[str] = None,
        seed: int = DEFAULT_SEED, batch_size: int = DEFAULT_BATCH_SIZE,
        hue_modes: int = 0, classifier: Optional[str] = None,
        step: Optional[int] = None) -> int:
  """The command line: evaluates, prints and writes the JSON; returns the exit status."""
  try:
    result = evaluate(workdir, split, samples, max_inputs, features, features_weights, seed,
                      batch_size, hue_modes, classifier=classifier, step=step)
  except (DataError, RecipeError, FileNotFoundError, ValueError, RuntimeError,
          AssertionError) as e:
    print(f'evaluation of {workdir} failed: {e}', file=sys.stderr)
    return 1
  text = json.dumps(result, indent=2, allow_nan=False)
  print(text)
  output = output or default_output(workdir, split, result['step'])
  workdir_lib.atomic_write(output, text + '\n')
  print(f'Wrote {output}', file=sys.stderr)
  return 0


def _define_flags():
  # Defined only when run as a program (tfi2i.train has --workdir too).
  return dict(
      workdir=flags.DEFINE_string('workdir', None, 'Training workdir (recipe.json, '
                                  'checkpoints/).', required=True),
      split=flags.DEFINE_string('split', 'test', 'Split of the recipe data to evaluate.'),
      samples=flags.DEFINE_integer('samples', DEFAULT_SAMPLES, 'Samples per input (K).'),
      max_inputs=flags.DEFINE_integer('max_inputs', None, 'Evaluate the first N inputs only.'),
      features=flags.DEFINE_enum('features', 'random', list(FEATURES),
                                 'Feature extractor for feature distances, FID and KID.'),
      features_weights=flags.DEFINE_string('features_weights', None,
                                           'Local Keras weights file for inception_v3/vgg16.'),
      output=flags.DEFINE_string('output', None, 'JSON file to write (default '
                                 'WORKDIR/eval/<split>-step<step>.json).'),
      seed=flags.DEFINE_integer('seed', DEFAULT_SEED, 'Seed of the latent codes / dropout.'),
      batch_size=flags.DEFINE_integer('batch_size', DEFAULT_BATCH_SIZE,
                                      'Images per generator call.'),
      hue_modes=flags.DEFINE_integer('hue_modes', 0, 'On the multimodal demo data '
                                     '(tfi2i.data.demo_multimodal): 3 adds mode coverage.'),
      classifier=flags.DEFINE_string('classifier', None, 'Attribute editors: a classifier file '
                                     '(python -m tfi2i.attribute_classifier, or your own '
                                     'Keras model) for attribute accuracy.'),
      step=flags.DEFINE_integer('step', None, 'Score the checkpoint of this training step '
                                '(default: the newest).'))


if __name__ == '__main__':
  cli_lib.run(_define_flags, cli)
