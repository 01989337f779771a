"""TensorBoard image grids built from a model's named panels."""
import tensorflow as tf

from tfi2i.endpoints import HEATMAP
from tfi2i.endpoints import IMAGE
from tfi2i.endpoints import OVERLAY


def colormap(heat):
  """[B, H, W, 1] values in [0, 1] -> RGB in [0, 1] with a jet-like map (as the official
  U-GAT-IT cv2.COLORMAP_JET overlays)."""
  h = tf.clip_by_value(tf.cast(heat, tf.float32), 0.0, 1.0)
  r = tf.clip_by_value(1.5 - tf.abs(4.0 * h - 3.0), 0.0, 1.0)
  g = tf.clip_by_value(1.5 - tf.abs(4.0 * h - 2.0), 0.0, 1.0)
  b = tf.clip_by_value(1.5 - tf.abs(4.0 * h - 1.0), 0.0, 1.0)
  return tf.concat([r, g, b], axis=-1)


def to_display(image, kind=IMAGE):
  """Images in [-1, 1] (kind 'image', gray ones shown gray) or heatmaps in [0, 1] (kind
  'heatmap', jet colours), or (image, heatmap) pairs (kind 'overlay': half the image, half
  the heatmap's colours, at the image's size) -> RGB in [0, 1]."""
  if kind == OVERLAY:
    base, heat = image
    heat = tf.image.resize(tf.cast(heat, tf.float32), tf.shape(base)[1:3])
    return 0.5 * to_display(base) + 0.5 * colormap(heat)
  image = tf.cast(image, tf.float32)
  if kind == HEATMAP:
    return colormap(image)
  if image.shape[-1] == 1:
    image = tf.repeat(image, 3, axis=-1)
  return tf.clip_by_value((image + 1.0) / 2.0, 0.0, 1.0)


def panel_kinds(panels):
  """[(name, images) or (name, images, kind)] -> [(name, images, kind)] (kind: image)."""
  return [(p[0], p[1], p[2] if len(p) > 2 else IMAGE) for p in panels]


def panel_grid(panels, max_rows: int = 4):
  """[(name, [B, H, W, C](, kind)), ...] -> one [1, rows*H, n*W, 3] image: a row per
  example, a column per panel (all panels resized to the first one's size)."""
  panels = panel_kinds(panels)
  first, kind = panels[0][1], panels[0][2]
  size = tf.shape(first[0] if kind == OVERLAY else first)[1:3]
  columns = [tf.image.resize(to_display(p, kind), size)[:max_rows] for _, p, kind in panels]
  row_images = tf.concat(columns, axis=2)
  grid = tf.concat(tf.unstack(row_images), axis=0)
  return grid[None]


def write_panels(groups, step, max_rows: int = 4):
  """groups: dict group name -> [(panel name, images)]; writes one image per group."""
  for group, panels in groups.items():
    tf.summary.image(group, panel_grid(panels, max_rows), step=step,
                     description=' | '.join(p[0] for p in panels))
