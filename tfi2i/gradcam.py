"""Grad-CAM masks from a discriminator's attribute classifier and the CAM-consistency loss
(Kim, Khan, Choo, "Not just Compete, but Collaborate", paper 001 in shared/papers).

No public code of the paper exists; this module is written from its equations:

  eq. 1  att_s->t = att_t - att_s (binary attribute vectors; entries -1, 0, 1)
  eq. 2  alpha_k = 1/Z sum_ij d(y . att_s->t) / dA^k_ij  (y: the classifier's class scores,
         A: a feature map of the discriminator)
  eq. 3  M_s->t = Normalize(sum_k alpha_k A^k) clipped to [0, 1], upsampled to the image
  sec. 3.1  M_CAM = M_s->t (on the generated image) + M_t->s (on the original)
  eq. 4  L_CAM(x, x') = mean((1 - M_CAM) * |x - x'|)
  eq. 5  generator: 0.5 * lambda_CAM * (L_CAM(x, y) + L_CAM(y, x_rec)), the mask held constant
  eq. 6  discriminator: lambda_CAM * L_CAM(x, y), y held constant; its gradient reaches the
         discriminator through the mask (the inner tape's gradient is recorded by the outer
         one: a second-order gradient)

Where the paper is silent, these are choices (recipe values under `cam`, BUILD_NOTES.md):

  normalize ('standardize'): each map minus its mean, divided by its standard deviation.
    The paper clips the normalised map to [0, 1] "so that the regions with values higher
    than the specific threshold (1 in our work) can be treated equally": that sentence only
    has content when normalised values can exceed 1, which division by the maximum or
    min-max scaling rule out. Standardising makes the threshold one standard deviation
    above the map's mean. 'minmax' and 'max' (Grad-CAM's ReLU then division by the
    maximum) are the alternatives; 'standardize_batch' standardises over the batch's maps
    together rather than each map alone.
  clip_sum (False): M_CAM is the sum of the two masks, in [0, 2], as sec. 3.1 says
    ("adding the two masks"); where both are high, 1 - M_CAM < 0. Clipping the sum to
    [0, 1] (True; the default until issue 24) gives eq. 6 a minimum of exactly 0 that
    every generator allows: two standardised masks, each >= 1 on at most half of its
    map, take complementary halves and cover the whole image, and the CAM terms vanish
    (the collapse seen in training). Unclipped, eq. 6 can go below 0 only by putting both
    masks where |x - y| is larger than elsewhere: where the generator changed the image,
    what paper 001 asks of the mask. tfi2i.experiments.cam_collapse trains a critic on
    eq. 6 alone to show both (BUILD_NOTES.md "Why the mask collapsed").
  the feature map: chosen by the model (`cam.layer`): by default the last convolutional
    feature map the adversarial and classification heads share, Grad-CAM's own choice.
  the class scores y: the classifier's logits (before the sigmoid), as Grad-CAM uses the
    scores before the softmax.
"""
import tensorflow as tf

from tfi2i import layers

NORMALIZE = ('standardize', 'minmax', 'max', 'standardize_batch')
APPLY_TO = ('none', 'generator', 'discriminator', 'both')
_EPS = 1e-8


def relative_attributes(source, target):
  """att_s->t = att_t - att_s (eq. 1), float32 [batch, k]."""
  return tf.cast(target, tf.float32) - tf.cast(source, tf.float32)


def normalize_map(cam, mode: str = 'standardize'):
  """Eq. 3's Normalize, per map ([batch, h, w, 1] -> same), then clipped to [0, 1].
  'standardize_batch' standardises with the mean and deviation of the batch's maps
  together (a map may then lie wholly above or below the threshold; in inference its
  mask depends on the other images of the batch)."""
  cam = tf.cast(cam, tf.float32)
  axes = [0, 1, 2, 3] if mode == 'standardize_batch' else [1, 2, 3]  # the batch's or each map's
  if mode in ('standardize', 'standardize_batch'):
    mean, var = layers.moments(cam, axes)
    out = (cam - mean) / tf.sqrt(var + _EPS)
  elif mode == 'minmax':
    low = tf.reduce_min(cam, axis=axes, keepdims=True)
    high = tf.reduce_max(cam, axis=axes, keepdims=True)
    out = (cam - low) / (high - low + _EPS)
  elif mode == 'max':
    cam = tf.nn.relu(cam)
    out = cam / (tf.reduce_max(cam, axis=axes, keepdims=True) + _EPS)
  else:
    raise ValueError(f'cam.normalize is {mode!r}; expected one of {NORMALIZE}')
  return tf.clip_by_value(out, 0.0, 1.0)


def gradcam_map(features_fn, classifier_fn, images, relative, normalize: str = 'standardize'):
  """The Grad-CAM mask of eq. 2-3 at the feature map's resolution, [batch, h, w, 1] in [0, 1].

  features_fn(images) -> A [batch, h, w, K]: the discriminator up to the chosen layer;
  classifier_fn(A) -> class scores [batch, k]: the rest of it, to the classifier's logits;
  relative: att_s->t [batch, k].
  The gradient of the scores is taken with an inner tape: called inside an outer
  GradientTape that watches the discriminator's weights, the mask stays differentiable with
  respect to them (eq. 6). Each image's score depends on that image alone, so the gradient
  of the batch's summed score gives every image its own gradient.
  """
  with tf.GradientTape() as tape:
    features = features_fn(images)
    tape.watch(features)
    scores = tf.cast(classifier_fn(features), tf.float32)
    score = tf.reduce_sum(scores * tf.cast(relative, tf.float32))
  grads = tf.cast(tape.gradient(score, features), tf.float32)
  features = tf.cast(features, tf.float32)
  alpha = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)  # eq. 2: 1/Z sum_ij
  cam = tf.reduce_sum(alpha * features, axis=-1, keepdims=True)  # sum_k alpha_k A^k
  return normalize_map(cam, normalize)


def upsample(mask, size):
  """A mask [batch, h, w, 1] resized (bilinear, half-pixel centres) to `size` (H, W)."""
  return tf.image.resize(mask, size, method='bilinear')


def gradcam_mask(features_fn, classifier_fn, images, relative, normalize='standardize'):
  """gradcam_map upsampled to the images' size: [batch, H, W, 1] in [0, 1]."""
  cam = gradcam_map(features_fn, classifier_fn, images, relative, normalize)
  return upsample(cam, tf.shape(images)[1:3])


def cam_mask(features_fn, classifier_fn, original, generated, source, target,
             normalize='standardize', clip_sum=False):
  """M_CAM of sec. 3.1: M_s->t on the generated image (att_t - att_s) plus M_t->s on the
  original (att_s - att_t), clipped to [0, 1] when clip_sum. [batch, H, W, 1]."""
  forward = relative_attributes(source, target)
  mask = (gradcam_mask(features_fn, classifier_fn, generated, forward, normalize)
          + gradcam_mask(features_fn, classifier_fn, original, -forward, normalize))
  return tf.clip_by_value(mask, 0.0, 1.0) if clip_sum else mask


def cam_consistency_loss(x, x_prime, mask):
  """L_CAM(x, x') of eq. 4 per example: mean over pixels and channels of (1 - M) |x - x'|."""
  x, x_prime = tf.cast(x, tf.float32), tf.cast(x_prime, tf.float32)
  weighted = (1.0 - tf.cast(mask, tf.float32)) * tf.abs(x - x_prime)
  return tf.reduce_mean(weighted, axis=[1, 2, 3])


def generator_cam_loss(original, generated, reconstructed, mask, weight: float = 5.0):
  """Eq. 5's added term per example: 0.5 * lambda * (L_CAM(x, y) + L_CAM(y, x_rec)), with
  the mask held constant (the paper does not train the mask through the generator)."""
  mask = tf.stop_gradient(mask)
  return 0.5 * weight * (cam_consistency_loss(original, generated, mask)
                         + cam_consistency_loss(generated, reconstructed, mask))


def discriminator_cam_loss(original, generated, mask, weight: float = 5.0):
  """Eq. 6's added term per example: lambda * L_CAM(x, y), the images held constant; its
  gradient reaches the discriminator through the mask only."""
  return weight * cam_consistency_loss(tf.stop_gradient(original), tf.stop_gradient(generated),
                                       mask)


def check_settings(apply_to, normalize):
  if apply_to not in APPLY_TO:
    raise ValueError(f'cam.apply_to is {apply_to!r}; expected one of {APPLY_TO}')
  if normalize not in NORMALIZE:
    raise ValueError(f'cam.normalize is {normalize!r}; expected one of {NORMALIZE}')
