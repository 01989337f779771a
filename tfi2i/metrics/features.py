"""Feature extractors for the distribution (FID/KID) and diversity metrics.

No pretrained weights can be downloaded by this library. A pretrained network is only
used when its weights file is already on disk (`keras_application_features`,
`keras_model_features`). Without one, the fallback is `random_conv_features`: a fixed,
seeded, randomly initialised ReLU conv net. Distances between random-network features are
a known, weaker baseline to LPIPS and Inception features. They still respond to colour,
local contrast, edges and textures at several scales, which a pixel metric does not
separate. Scores made with different extractors (or with other seeds or widths) must not
be compared. Every extractor has a `name` that says what it is; the score dicts report it.

Images are float32 NHWC in [-1, 1], with 3 channels or 1 (tiled to RGB). Everything
runs in chunks of `batch_size` images, so thousands of images fit in memory: only the
pooled features ([N, D] float32) are kept.
"""
import os

import keras
import numpy as np
import tensorflow as tf

_EPS = 1e-10


def iterate_batches(images, batch_size: int):
  """Yields float32 chunks of at most batch_size images.

  Args:
    images: one array/tensor [N, H, W, C], or an iterable of such batches (a list, a
      generator, a `tf.data.Dataset`), each of which is split again if larger.
    batch_size: largest chunk.
  """
  if hasattr(images, 'shape'):  # one array or tensor (a tf.data.Dataset has no shape)
    images = [images]
  for batch in images:
    if len(batch.shape) != 4:
      raise ValueError(f'expected image batches [N, H, W, C], got shape {batch.shape}')
    for start in range(0, int(batch.shape[0]), batch_size):  # slice before converting
      yield tf.convert_to_tensor(batch[start:start + batch_size], tf.float32)


def to_rgb(images):
  """[N, H, W, 1 or 3] -> [N, H, W, 3] (gray is tiled)."""
  channels = images.shape[-1]
  if channels == 3:
    return images
  if channels == 1:
    return tf.tile(images, [1, 1, 1, 3])
  raise ValueError(f'feature extractors take 1 or 3 channels, got {channels}')


def unit_normalize(maps):
  """Divides each spatial position's feature vector by its L2 norm (as LPIPS does)."""
  norm = tf.sqrt(tf.reduce_sum(tf.square(maps), axis=-1, keepdims=True))
  return maps / (norm + _EPS)


def layer_distance(maps_a, maps_b):
  """LPIPS-style distance with unit weights between two lists of unit-normalised maps.

  d = sum over layers of mean over positions of ||a - b||^2 (summed over channels): LPIPS
  with every learned linear weight set to 1. Each layer contributes at most 4.

  Args:
    maps_a, maps_b: lists of [N, h, w, c] arrays, as from
      `FeatureExtractor.layer_features`.

  Returns:
    float64 array [N].
  """
  total = 0.0
  for a, b in zip(maps_a, maps_b):
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    total = total + np.mean(np.sum(np.square(diff), axis=-1), axis=(1, 2))
  return np.asarray(total, np.float64)


class FeatureExtractor:
  """A callable images [N, H, W, C] in [-1, 1] -> [N, D] float32 features.

  Attributes:
    name: says which network and weights (reported by every score).
    batch_size: images per forward pass.
    has_layers: whether `layer_features` (spatial maps for LPIPS-style distances) works.
  """

  def __init__(self, name: str, pooled_fn, layers_fn=None, batch_size: int = 32):
    """Wraps graph functions.

    Args:
      name: see the class attributes.
      pooled_fn: float32 tensor [n, H, W, C] in [-1, 1] -> [n, D] tensor.
      layers_fn: optional, same input -> list of [n, h, w, c] maps (not normalised).
      batch_size: see the class attributes.
    """
    self.name = name
    self.batch_size = int(batch_size)
    self._pooled_fn = tf.function(pooled_fn, reduce_retracing=True)
    self._layers_fn = None if layers_fn is None else tf.function(layers_fn,
                                                                 reduce_retracing=True)

  @property
  def has_layers(self) -> bool:
    return self._layers_fn is not None

  def __call__(self, images, batch_size: int = None) -> np.ndarray:
    """Pooled features of every image, computed chunk by chunk.

    Args:
      images: an array [N, H, W, C] or an iterable of batches (see `iterate_batches`).
      batch_size: overrides the extractor's chunk size.

    Returns:
      float32 array [N, D].
    """
    chunks = [np.asarray(self._pooled_fn(to_rgb(batch)), np.float32)
              for batch in iterate_batches(images, batch_size or self.batch_size)]
    if not chunks:
      raise ValueError('no images given')
    return np.concatenate(chunks, axis=0)

  def layer_features(self, images, batch_size: int = None) -> list:
    """Per-layer spatial maps, unit-normalised along channels (for `layer_distance`).

    Holds every map in memory: meant for a few images at a time (the K samples of one
    input), not for a whole test set.

    Returns:
      list of float32 arrays [N, h_l, w_l, c_l], one per layer.
    """
    if not self.has_layers:
      raise ValueError(f'feature extractor {self.name!r} has no spatial layers')
    per_chunk = [[np.asarray(unit_normalize(m), np.float32) for m in self._layers_fn(to_rgb(b))]
                 for b in iterate_batches(images, batch_size or self.batch_size)]
    if not per_chunk:
      raise ValueError('no images given')
    return [np.concatenate(maps, axis=0) for maps in zip(*per_chunk)]

  def __repr__(self):
    return f'FeatureExtractor({self.name!r})'


# ---------------------------------------------------------------- random conv fallback


def random_conv_weights(seed: int = 0, widths=(32, 64, 128, 256), kernel_size: int = 3,
                        in_channels: int = 3) -> list:
  """The fixed kernels of `random_conv_features`, reproducible in any process.

  Kernels are He-uniform: U(-sqrt(6 / fan_in), sqrt(6 / fan_in)), fan_in = k * k * c_in,
  drawn from NumPy's Philox4x64 counter-based generator with key `seed` (its raw 64-bit
  stream is a fixed algorithm: it does not depend on the NumPy or TF version, on the
  hardware or on any global seed). Each uniform is the top 53 bits of one raw word.
  Layers are drawn in order, each kernel in C order [k, k, c_in, c_out].

  In the first layer, every second filter (odd output channels) then has its spatial mean
  removed for each input channel, times sqrt(k^2 / (k^2 - 1)) to keep the variance: those
  filters ignore flat colour and see only edges and texture. With plain random filters the
  features are dominated by the local mean colour and hardly notice blur; the other half
  keeps them colour-sensitive.

  Returns:
    list of float32 arrays [k, k, c_in, c_out].
  """
  bits = np.random.Philox(key=int(seed))
  kernels = []
  c_in = in_channels
  for c_out in widths:
    shape = (kernel_size, kernel_size, c_in, int(c_out))
    raw = bits.random_raw(int(np.prod(shape)))
    unit = (raw >> np.uint64(11)).astype(np.float64) * 2.0 ** -53  # [0, 1)
    limit = np.sqrt(6.0 / (kernel_size * kernel_size * c_in))
    kernel = ((2.0 * unit - 1.0) * limit).reshape(shape)
    if not kernels:
      taps = kernel_size * kernel_size
      odd = kernel[..., 1::2]
      kernel[..., 1::2] = (odd - odd.mean(axis=(0, 1), keepdims=True)) * np.sqrt(taps / (taps - 1))
    kernels.append(kernel.astype(np.float32))
    c_in = int(c_out)
  return kernels


def random_conv_features(seed: int = 0, widths=(32, 64, 128, 256), kernel_size: int = 3,
                         pool_std: bool = True, batch_size: int = 32) -> FeatureExtractor:
  """The fallback extractor: a fixed, seeded, randomly initialised conv net.

  Architecture: for each width, a k x k convolution with stride 2, 'SAME' zero padding and
  no bias, then ReLU (weights from `random_conv_weights`, never trained; half the first
  layer's filters are DC-free). Pooled features are, for every layer, the spatial mean and
  (with pool_std) the spatial standard deviation of each channel, concatenated
  (D = 2 * sum(widths) = 960 by default): first- and second-order statistics from 1/2 to
  1/16 resolution (receptive field 31 px with the defaults). `layer_features` gives the
  four maps, for LPIPS-style distances.

  Why: no pretrained weights can be downloaded here. Random conv features are a known,
  weaker baseline to LPIPS/Inception features, but they are deterministic, cost little,
  work at any image size and measure colour, contrast, edge and texture statistics at
  several scales. On the demo tiles, their FID ranks as expected: other domain >> noise or
  tint > 4x blur > held-out tiles of the same domain (see BUILD_NOTES). The name records
  every setting; only compare scores made with the same name.

  Args:
    seed: key of the weight generator; the same seed gives the same weights everywhere.
    widths: output channels per layer.
    kernel_size: convolution size.
    pool_std: also pool the spatial standard deviation (texture energy).
    batch_size: images per forward pass.
  """
  kernels = [tf.constant(k) for k in random_conv_weights(seed, widths, kernel_size)]

  def layers_fn(x):
    maps = []
    for kernel in kernels:
      x = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=2, padding='SAME'))
      maps.append(x)
    return maps

  def pooled_fn(x):
    maps = layers_fn(x)
    pooled = [tf.reduce_mean(m, axis=[1, 2]) for m in maps]
    if pool_std:
      pooled += [tf.math.reduce_std(m, axis=[1, 2]) for m in maps]
    return tf.concat(pooled, axis=-1)

  name = (f'random_conv(seed={seed},widths={"-".join(str(w) for w in widths)},k={kernel_size},'
          f'pool={"mean+std" if pool_std else "mean"})')
  return FeatureExtractor(name, pooled_fn, layers_fn, batch_size)


# ---------------------------------------------------------------- pretrained Keras networks


def _inception_preprocess(x):
  # keras.applications.inception_v3.preprocess_input maps [0, 255] to [-1, 1]: identity here.
  return x


def _vgg_preprocess(x):
  # keras.applications.vgg16.preprocess_input ('caffe'): [0, 255] BGR minus ImageNet means.
  x = (x + 1.0) * 127.5
  return x[..., ::-1] - tf.constant([103.939, 116.779, 123.68], tf.float32)


# name -> (constructor, input size, preprocessing from [-1, 1], default spatial layers)
KERAS_APPLICATIONS = {
    'inception_v3': (lambda: keras.applications.InceptionV3, 299, _inception_preprocess, None),
    'vgg16': (lambda: keras.applications.VGG16, 224, _vgg_preprocess,
              # The layers LPIPS reads (relu1_2 ... relu5_3; Keras convs include the ReLU).
              ('block1_conv2', 'block2_conv2', 'block3_conv3', 'block4_conv3', 'block5_conv3')),
}


def _check_weights_file(weights_path, what: str) -> str:
  if not weights_path:
    raise ValueError(
        f'{what} needs a local weights file (weights_path=...): this library never '
        'downloads weights. Use features.random_conv_features() when there is none.')
  weights_path = os.fspath(weights_path)
  if not os.path.isfile(weights_path):
    raise FileNotFoundError(
        f'weights file for {what} not found: {weights_path!r} (weights are never '
        'downloaded; copy the file there or use features.random_conv_features())')
  return weights_path


def keras_model_features(model, name: str, input_size=None, preprocess=None,
                         layer_names=None, weights_path=None,
                         batch_size: int = 32) -> FeatureExtractor:
  """Wraps any Keras model as a feature extractor.

  Args:
    model: a built Keras model taking [n, S, S, 3]. A 4-D output is spatially averaged;
      a 2-D output is used as is.
    name: reported with every score; should say which weights were loaded.
    input_size: if set, images are resized (bilinear, antialiased) to this size (int or
      (h, w)) before `preprocess`.
    preprocess: function from RGB in [-1, 1] to the model's input range (default: none).
    layer_names: optional layer names whose outputs `layer_features` returns.
    weights_path: optional local weights file, loaded with `model.load_weights`; missing
      file -> FileNotFoundError naming it.
    batch_size: images per forward pass.
  """
  if weights_path is not None:
    model.load_weights(_check_weights_file(weights_path, name))
  if isinstance(input_size, int):
    input_size = (input_size, input_size)
  preprocess = preprocess or (lambda x: x)

  def prepare(x):
    if input_size is not None and tuple(x.shape[1:3]) != tuple(input_size):
      x = tf.image.resize(x, input_size, method='bilinear', antialias=True)
    return preprocess(x)

  def pooled_fn(x):
    y = tf.cast(model(prepare(x), training=False), tf.float32)
    return tf.reduce_mean(y, axis=[1, 2]) if y.shape.rank == 4 else y

  layers_fn = None
  if layer_names:
    tap = keras.Model(model.inputs, [model.get_layer(n).output for n in layer_names])

    def layers_fn(x):
      maps = tap(prepare(x), training=False)
      return [tf.cast(m, tf.float32) for m in (maps if isinstance(maps, (list, tuple)) else [maps])]

  return FeatureExtractor(name, pooled_fn, layers_fn, batch_size)


def keras_application_features(name: str = 'inception_v3', weights_path=None,
                               layer_names='default', batch_size: int = 32) -> FeatureExtractor:
  """A `keras.applications` network with weights from a local file.

  Builds `keras.applications.X(weights=None, include_top=False, pooling='avg')` and loads
  `weights_path` (for example Keras' `*_weights_tf_dim_ordering_tf_kernels_notop.h5`).
  Inputs are resized to the network's size (299 for inception_v3, 224 for vgg16) and
  preprocessed as `keras.applications.X.preprocess_input` would from [0, 255].

  Note: Keras' ImageNet InceptionV3 is not the graph of the official FID code
  (pt_inception-2015-12-05), so its FID is close to, but not equal to, published FIDs.

  Args:
    name: 'inception_v3' or 'vgg16'.
    weights_path: local weights file. None or a missing file raises before the network is
      built, naming the path.
    layer_names: spatial layers for `layer_features`; 'default' = the LPIPS layers for
      vgg16, none for inception_v3.
    batch_size: images per forward pass.
  """
  if name not in KERAS_APPLICATIONS:
    raise ValueError(f'unknown network {name!r}; expected one of {sorted(KERAS_APPLICATIONS)}')
  constructor, size, preprocess, default_layers = KERAS_APPLICATIONS[name]
  weights_path = _check_weights_file(weights_path, name)
  model = constructor()(weights=None, include_top=False, pooling='avg',
                        input_shape=(size, size, 3))
  return keras_model_features(
      model, f'{name}({os.path.basename(weights_path)})', input_size=size,
      preprocess=preprocess,
      layer_names=default_layers if layer_names == 'default' else layer_names,
      weights_path=weights_path, batch_size=batch_size)
