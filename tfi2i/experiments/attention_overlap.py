"""Does U-GAT-IT's generator look where the domains differ? (issue 13, item 5)

A two-domain task made from the bundled day tiles (data/demo) where B differs from A only
inside a known square, and a score of how well attention maps overlap that square.

  python -m tfi2i.experiments.attention_overlap make --out=DIR [--source=data/demo]
  python -m tfi2i.train --recipe=recipes/ugatit_light.py --recipe.data.root=DIR ...
  python -m tfi2i.translate --model=RUN/export --input=DIR/testB --output=OUT \
      --direction=b_to_a --attention
  python -m tfi2i.experiments.attention_overlap score --attention=OUT --masks=DIR/masks

make: tiles whose pixel standard deviation (mean over RGB, 0-255) is below --min_std are
left out: flat ocean and ice, 138 of the 336 train tiles below 5. On a task with them the
official PyTorch U-GAT-IT light (and tfi2i's) reached NaN within 15 steps: instance and
layer norms of an almost constant map divide by sqrt(eps) and the gradients overflow.
Every kept tile is upscaled (bicubic) to --size px. The kept train tiles are split by their
sorted index: even ones are trainA as they are, odd ones are trainB with the colours of
one square (side --square px, at a random place per image, seeded) inverted; so the
domains share no image (unpaired). The test tiles give testA (as they are) and testB (the
same tiles with a square inverted), and masks/<name>.png holds each testB square (255
inside). score: each attention map is thresholded with Otsu's method and compared with its
mask (intersection over union); prints the mean IoU, the median, and two baselines that
look nowhere in particular: the whole image, and a centred square of the mask's size.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

from tfi2i.data import images


SPLITS = ('trainA', 'trainB', 'testA', 'testB')


def invert_square(image, square, rng):
  """(copy of image [H, W, 3] uint8 with one square inverted, its mask [H, W] bool)."""
  h, w = image.shape[:2]
  top, left = int(rng.integers(0, h - square + 1)), int(rng.integers(0, w - square + 1))
  mask = np.zeros((h, w), bool)
  mask[top:top + square, left:left + square] = True
  out = image.copy()
  out[mask] = 255 - out[mask]
  return out, mask


def _textured(paths, min_std):
  return [p for p in paths
          if np.asarray(Image.open(p).convert('RGB'), np.float32).std(axis=(0, 1)).mean() >= min_std]


def make(source, out, size=128, square=32, seed=0, min_std=10.0):
  """Writes the task (module docstring) into `out`; returns {split: count}."""
  if square >= size:
    raise SystemExit(f'--square ({square}) must be smaller than --size ({size})')
  rng = np.random.default_rng(seed)
  for split in (*SPLITS, 'masks'):
    os.makedirs(os.path.join(out, split), exist_ok=True)
  counts = dict.fromkeys((*SPLITS, 'masks'), 0)

  def load(path):
    return np.asarray(Image.open(path).convert('RGB').resize((size, size), Image.BICUBIC))

  def save(array, split, name):
    Image.fromarray(array).save(os.path.join(out, split, name))
    counts[split] += 1

  for i, path in enumerate(_textured(images.list_images(os.path.join(source, 'trainA')), min_std)):
    name = os.path.basename(path)
    if i % 2 == 0:
      save(load(path), 'trainA', name)
    else:
      save(invert_square(load(path), square, rng)[0], 'trainB', name)
  for path in _textured(images.list_images(os.path.join(source, 'testA')), min_std):
    name, image = os.path.basename(path), load(path)
    changed, mask = invert_square(image, square, rng)
    save(image, 'testA', name)
    save(changed, 'testB', name)
    save(mask.astype(np.uint8) * 255, 'masks', name)
  return counts


def otsu_threshold(values):
  """Otsu's threshold of values in [0, 1] (256 bins): the t maximising the between-class
  variance of {v <= t} and {v > t}."""
  hist, edges = np.histogram(np.clip(values, 0, 1), bins=256, range=(0.0, 1.0))
  p = hist.astype(np.float64) / max(hist.sum(), 1)
  centres = (edges[:-1] + edges[1:]) / 2
  w0 = np.cumsum(p)
  mu = np.cumsum(p * centres)
  w1 = 1 - w0
  with np.errstate(divide='ignore', invalid='ignore'):
    between = (mu[-1] * w0 - mu) ** 2 / (w0 * w1)
  between[~np.isfinite(between)] = -1
  return edges[int(np.argmax(between)) + 1]


def iou(a, b):
  union = np.logical_or(a, b).sum()
  return float(np.logical_and(a, b).sum() / union) if union else 1.0


def overlap(attention, mask):
  """IoU of an attention map (float [H, W] in [0, 1]) thresholded by Otsu with a mask."""
  return iou(attention > otsu_threshold(attention.ravel()), mask)


def score(attention_dir, mask_dir, key='attention'):
  """{'iou': [...], 'whole_image': [...], 'centre_square': [...]} over the masks' names."""
  out = {'iou': [], 'whole_image': [], 'centre_square': []}
  names = sorted(f for f in os.listdir(mask_dir) if f.endswith('.png'))
  if not names:
    raise SystemExit(f'no masks in {mask_dir}')
  for name in names:
    mask = np.asarray(Image.open(os.path.join(mask_dir, name))) > 127
    path = os.path.join(attention_dir, f'{os.path.splitext(name)[0]}__{key}.png')
    if not os.path.exists(path):
      raise SystemExit(f'{path}: no attention map for mask {name} (run translate with '
                       f'--attention on the testB folder into {attention_dir})')
    heat = np.asarray(Image.open(path).convert('L'), np.float32) / 255.0
    if heat.shape != mask.shape:
      raise SystemExit(f'{path}: {heat.shape} attention map for a {mask.shape} mask')
    out['iou'].append(overlap(heat, mask))
    out['whole_image'].append(iou(np.ones_like(mask), mask))
    side = int(round(np.sqrt(mask.sum())))
    centre = np.zeros_like(mask)
    top, left = (mask.shape[0] - side) // 2, (mask.shape[1] - side) // 2
    centre[top:top + side, left:left + side] = True
    out['centre_square'].append(iou(centre, mask))
  return out


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  sub = parser.add_subparsers(dest='command', required=True)
  m = sub.add_parser('make', help='write the task')
  m.add_argument('--out', required=True)
  m.add_argument('--source', default='data/demo', help='a folder with trainA/ and testA/ tiles')
  m.add_argument('--size', type=int, default=128)
  m.add_argument('--square', type=int, default=32)
  m.add_argument('--seed', type=int, default=0)
  m.add_argument('--min_std', type=float, default=10.0, help='leave out flatter tiles')
  s = sub.add_parser('score', help='IoU of Otsu-thresholded attention maps with the masks')
  s.add_argument('--attention', required=True, help='translate --attention output folder')
  s.add_argument('--masks', required=True)
  args = parser.parse_args(argv)
  if args.command == 'make':
    try:
      counts = make(args.source, args.out, args.size, args.square, args.seed, args.min_std)
    except images.DataError as e:
      raise SystemExit(f'error: {e}') from None
    print(' '.join(f'{k} {v}' for k, v in counts.items()))
    return 0
  result = score(args.attention, args.masks)
  for key, values in result.items():
    print(f'{key:>14}: mean IoU {np.mean(values):.3f}, median {np.median(values):.3f} '
          f'over {len(values)} images')
  return 0


if __name__ == '__main__':
  sys.exit(main())
