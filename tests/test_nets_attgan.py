"""AttGAN and STGAN networks: the official parameter counts (/tmp/notes_attgan.md and
/tmp/notes_stgan.md, counted from LynnHo/AttGAN-Tensorflow 4b00e6c and csmliu/STGAN 8a206ad),
shapes, the attribute inputs, the STU equations, Grad-CAM's split of the discriminator,
mixed precision and serialisation."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfi2i.nets import attgan as A

count = lambda m: sum(int(np.prod(v.shape)) for v in m.trainable_variables)

# the small configuration of the notes: 32 px, dim 8, 3 layers, fc 16, 3 attributes
TINY = dict(n_attributes=3, dim=8, n_layers=3)
TINY_D = dict(n_attributes=3, image_size=32, dim=8, n_layers=3, fc_dim=16)
TINY_STGAN = dict(TINY, shortcut_layers=2, inject_layers=2, stu_dim=8, stu_layers=2)


def _inputs(size, k, batch=2, seed=0):
  rng = np.random.default_rng(seed)
  image = tf.constant(rng.uniform(-1, 1, (batch, size, size, 3)), tf.float32)
  attributes = tf.constant(rng.choice([-0.5, 0.5], (batch, k)), tf.float32)
  return image, attributes


def test_official_128px_networks():
  """13 attributes, 128 px: the counts of the notes (BN gamma/beta trainable, moving stats
  not), output shapes, and the discriminator shared by both editors."""
  image, attributes = _inputs(128, 13, batch=1)
  g = A.attgan_generator(13)
  assert count(g) == 43_459_203
  assert sum(int(np.prod(v.shape)) for v in g.non_trainable_variables) == 7_808
  assert g([image, attributes]).shape == (1, 128, 128, 3)
  del g
  s = A.stgan_generator(13)
  assert count(s) == 74_998_771
  assert s([image, attributes]).shape == (1, 128, 128, 3)
  del s
  d = A.attgan_discriminator(13)
  assert count(d) == 44_718_990
  adversarial, logits = d(image)
  assert (adversarial.shape, logits.shape) == ((1, 1), (1, 13))


def test_tiny_networks_match_the_notes():
  image, attributes = _inputs(32, 3)
  g, s = A.attgan_generator(**TINY), A.stgan_generator(**TINY_STGAN)
  d = A.attgan_discriminator(**TINY_D)
  assert (count(g), count(s), count(d)) == (42_579, 71_875, 27_220)
  for net in (g, s):
    out = net([image, attributes])
    assert out.shape == (2, 32, 32, 3) and out.dtype == tf.float32
    assert float(tf.reduce_max(tf.abs(out))) <= 1.0
  adversarial, logits = d(image)
  assert (adversarial.shape, logits.shape) == ((2, 1), (2, 3))
  # the generators take any size that is a multiple of 2^n_layers
  assert g([tf.zeros([1, 16, 24, 3]), attributes[:1]]).shape == (1, 16, 24, 3)


@pytest.mark.parametrize('make,kwargs', [(A.attgan_generator, TINY),
                                         (A.stgan_generator, TINY_STGAN)])
def test_the_attribute_input_changes_the_output(make, kwargs):
  g = make(**kwargs)
  image, attributes = _inputs(32, 3)
  for training in (False, True):
    out = g([image, attributes], training=training)
    edited = g([image, -attributes], training=training)
    assert float(tf.reduce_max(tf.abs(out - edited))) > 1e-4


def test_shortcut_and_inject_layers_change_the_count_as_expected():
  base = count(A.attgan_generator(**TINY))  # shortcut 1, inject 1
  # decoder layer 2 (16 channels out, 4x4 kernel) reads the encoder skip (16 ch) / attributes (3)
  assert count(A.attgan_generator(**TINY, shortcut_layers=0)) == base - 4 * 4 * 16 * 16
  assert count(A.attgan_generator(**TINY, inject_layers=0)) == base - 4 * 4 * 3 * 16
  # the last layer (3 channels out) reads encoder layer 1 (8 ch) / attributes: clamped at 2
  both = base + 4 * 4 * (8 + 3) * 3
  assert count(A.attgan_generator(**TINY, shortcut_layers=2, inject_layers=2)) == both
  assert count(A.attgan_generator(**TINY, shortcut_layers=9, inject_layers=9)) == both
  # official 128 px: inject 0 (v1's argparse default) has 13 * 512 * 16 weights fewer
  assert 43_459_203 - 4 * 4 * 13 * 512 == 43_352_707
  # STGAN: with one shortcut only the deepest STU is read (and built), and the last decoder
  # layer loses its skip (8 ch) and attributes (3) inputs
  one = count(A.stgan_generator(**dict(TINY_STGAN, shortcut_layers=1, inject_layers=1)))
  stu_shallow = (4 * 4 * (16 + 3) * 8 + 8) + 3 * (3 * 3 * (8 + 8) * 8 + 8)
  assert one == 71_875 - stu_shallow - 4 * 4 * (8 + 3) * 3
  with pytest.raises(ValueError, match='stu_layers'):
    A.stgan_generator(**dict(TINY_STGAN, stu_layers=1))


def test_every_generator_weight_gets_a_gradient():
  image, attributes = _inputs(32, 3)
  for g in (A.attgan_generator(**TINY), A.stgan_generator(**TINY_STGAN)):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(g([image, attributes], training=True))
    grads = tape.gradient(loss, g.trainable_variables)
    assert all(grad is not None for grad in grads), g.name


def test_selective_transfer_unit_equations():
  rng = np.random.default_rng(1)
  feature = tf.constant(rng.normal(size=(2, 8, 8, 5)), tf.float32)
  state = tf.constant(rng.normal(size=(2, 4, 4, 7)), tf.float32)
  stu = A.SelectiveTransferUnit(6, 3)
  output, new_state = stu([feature, state])
  for conv in (stu.upsample, stu.reset_gate, stu.update_gate, stu.candidate):
    conv.bias.assign(rng.normal(size=6).astype(np.float32))
  output, new_state = stu([feature, state])
  assert output.shape == new_state.shape == (2, 8, 8, 6)

  def conv3(x, layer, act):
    return act(tf.nn.conv2d(x, layer.kernel, 1, 'SAME') + layer.bias)

  state_hat = tf.nn.conv2d_transpose(state, stu.upsample.kernel, [2, 8, 8, 6], 2,
                                     'SAME') + stu.upsample.bias
  both = tf.concat([feature, state_hat], -1)
  reset = conv3(both, stu.reset_gate, tf.sigmoid)
  update = conv3(both, stu.update_gate, tf.sigmoid)
  candidate = conv3(tf.concat([feature, reset * state_hat], -1), stu.candidate, tf.tanh)
  np.testing.assert_allclose(new_state, reset * state_hat, atol=1e-5)
  np.testing.assert_allclose(output, (1 - update) * state_hat + update * candidate, atol=1e-5)


def test_features_and_heads_equal_the_discriminator():
  d = A.attgan_discriminator(**TINY_D)
  image, _ = _inputs(32, 3)
  adversarial, logits = d(image)
  assert d.n_blocks == 3
  for layer in (1, 2, 3, -1, -3):
    features = d.features(image, layer)
    a, c = d.heads(features, layer)
    np.testing.assert_allclose(a, adversarial, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(c, logits, rtol=1e-5, atol=1e-5)
  assert d.features(image, 2).shape == (2, 8, 8, 16)


def test_mixed_bfloat16():
  image, attributes = _inputs(32, 3)
  policy = keras.config.dtype_policy()
  keras.config.set_dtype_policy('mixed_bfloat16')
  try:
    nets = [A.attgan_generator(**TINY), A.stgan_generator(**TINY_STGAN)]
    d = A.attgan_discriminator(**TINY_D)
  finally:
    keras.config.set_dtype_policy(policy)
  for g in nets:
    assert g.get_layer('enc1').compute_dtype == 'bfloat16'
    with tf.GradientTape() as tape:
      out = g([image, attributes], training=True)
    assert out.dtype == tf.float32 and out.shape == (2, 32, 32, 3)
    assert all(v.dtype == tf.float32 for v in g.trainable_variables)
    assert all(grad is not None for grad in tape.gradient(out, g.trainable_variables))
  adversarial, logits = d(image)
  assert adversarial.dtype == logits.dtype == tf.float32


def test_generators_round_trip_through_their_config():
  image, attributes = _inputs(32, 3)
  for g in (A.attgan_generator(**TINY), A.stgan_generator(**TINY_STGAN)):
    clone = keras.Model.from_config(g.get_config())
    clone.set_weights(g.get_weights())
    np.testing.assert_allclose(clone([image, attributes]), g([image, attributes]), atol=1e-6)
