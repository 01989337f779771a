"""Where does eq. 6 of paper 001 alone drive the Grad-CAM mask? (issue 24: the collapse)

  python -m tfi2i.experiments.cam_collapse [--steps=300] [--seeds=0,1,2]

A small discriminator (three stride-2 convolutions to a 4x4 map, a dense classifier head,
as AttGAN's critic is shaped) is trained on the discriminator's CAM term alone,
lambda * mean((1 - M_CAM) |x - y|), where y is x changed by +0.8 in its top quarter (the
edited region) and by Gaussian noise (SD 0.05) everywhere (a generator changes every pixel
a little). Fresh random images each step, Adam 1e-3, batch 16. For each normalisation of
eq. 3 and with M_CAM = M_s->t + M_t->s clipped to [0, 1] or not (`cam.clip_sum`), it
prints the mask's mean (coverage), the share of its mass inside the edited region (a
uniform mask: the region's share, 0.25) and its mean inside and outside the region.

What it shows (BUILD_NOTES.md "Why the mask collapsed"): clipped, eq. 6's minimum is a mask
of 1 everywhere, reached by two masks that split the image between them (a standardised
map can be >= 1 on at most half of its cells, but the two maps of M_CAM can take
complementary halves), so the mask ends where a uniform mask is. Unclipped, M_CAM ranges
over [0, 2] and eq. 6 rewards putting both masks where |x - y| is largest: with
standardised maps the mask's mass concentrates on the edited region.
"""
import argparse
import sys

import numpy as np

from tfi2i import gradcam

SIZE = 32
BATCH = 16


def train_mask(normalize: str, clip_sum: bool, steps: int = 300, seed: int = 0,
               change: float = 0.8, noise: float = 0.05, report_every: int = 0) -> dict:
  """Trains the small critic on eq. 6 alone; returns the mask's scores at the last step
  ({'coverage', 'inside', 'region_share', 'mean_inside', 'mean_outside', 'loss'}), and
  prints them every `report_every` steps when given."""
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  keras.utils.set_random_seed(seed)
  leaky = lambda: keras.layers.LeakyReLU(0.2)
  features = keras.Sequential(
      [keras.Input((SIZE, SIZE, 3))]
      + [keras.layers.Conv2D(width, 4, 2, 'same', activation=leaky()) for width in (16, 32, 32)])
  cells = SIZE // 8
  head = keras.Sequential([keras.Input((cells, cells, 32)), keras.layers.Flatten(),
                           keras.layers.Dense(64, activation=leaky()), keras.layers.Dense(1)])
  variables = features.trainable_variables + head.trainable_variables
  optimizer = keras.optimizers.Adam(1e-3)
  region = np.zeros((1, SIZE, SIZE, 1), np.float32)
  region[:, :SIZE // 4] = 1.0
  source, target = tf.zeros((BATCH, 1)), tf.ones((BATCH, 1))  # the attribute is added
  rng = np.random.default_rng(seed)

  @tf.function
  def step(x, y):
    with tf.GradientTape() as tape:
      mask = gradcam.cam_mask(features, head, x, y, source, target, normalize, clip_sum)
      loss = tf.reduce_mean(gradcam.discriminator_cam_loss(x, y, mask, 1.0))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss, mask

  result = {}
  for i in range(steps + 1):
    x = rng.uniform(-1, 1, (BATCH, SIZE, SIZE, 3)).astype(np.float32)
    y = np.clip(x + change * region + rng.normal(0, noise, x.shape), -1, 1).astype(np.float32)
    loss, mask = step(tf.constant(x), tf.constant(y))
    if i == steps or (report_every and i % report_every == 0):
      m = mask.numpy()
      result = {'step': i, 'loss': float(loss), 'coverage': float(m.mean()),
                'inside': float((m * region).sum() / max(m.sum(), 1e-12)),
                'region_share': float(region.mean()),
                'mean_inside': float((m * region).sum() / (region.sum() * BATCH)),
                'mean_outside': float((m * (1 - region)).sum() / ((1 - region).sum() * BATCH))}
      if report_every:
        print(_row(normalize, clip_sum, seed, result), flush=True)
  return result


def _row(normalize, clip_sum, seed, r):
  return (f"| {normalize} | {str(clip_sum).lower()} | {seed} | {r['step']} | {r['coverage']:.3f} "
          f"| {r['inside']:.3f} ({r['region_share']:.3f}) | {r['mean_inside']:.3f} "
          f"| {r['mean_outside']:.3f} |")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--steps', type=int, default=300)
  parser.add_argument('--seeds', default='0')
  parser.add_argument('--normalize', default=','.join(gradcam.NORMALIZE))
  args = parser.parse_args(argv)
  print('| normalize | clip_sum | seed | step | coverage | inside (uniform) | mean in region '
        '| mean outside |')
  print('|---|---|---|---|---|---|---|---|')
  for normalize in args.normalize.split(','):
    for clip_sum in (True, False):
      for seed in (int(s) for s in args.seeds.split(',')):
        print(_row(normalize, clip_sum, seed,
                   train_mask(normalize, clip_sum, args.steps, seed)), flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
