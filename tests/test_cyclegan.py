"""The CycleGAN model: one train_step, the image pool, inference and panels."""
from conftest import TINY_CYCLEGAN as TINY
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfi2i.models import CycleGAN, ImagePool



def tiny_cyclegan(pool_size=2, **loss):
  model = CycleGAN(**TINY, pool_size=pool_size, **loss, seed=0)
  model.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
  model.build_for_training(model.example_batch(1, 32, 32))
  return model


def batch(seed=0, n=2):
  rng = np.random.default_rng(seed)
  return {k: tf.constant(rng.uniform(-1, 1, (n, 32, 32, 3)).astype(np.float32)) for k in 'ab'}


def test_one_train_step_updates_every_network_and_gives_finite_losses():
  model = tiny_cyclegan()
  nets = {n: getattr(model, n) for n in ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b')}
  before = {n: [w.numpy().copy() for w in net.trainable_weights] for n, net in nets.items()}
  logs = model.train_step(batch())
  expected = {'gen_a2b_gan', 'gen_b2a_gan', 'cycle_a', 'cycle_b', 'identity_a', 'identity_b',
              'disc_a', 'disc_b', 'gen_total', 'disc_total'}
  assert set(logs) == expected
  assert all(np.isfinite(float(v)) for v in logs.values())
  np.testing.assert_allclose(
      float(logs['gen_total']),
      sum(float(logs[k]) for k in expected if k.startswith(('gen_a', 'gen_b', 'cycle', 'identity'))),
      rtol=1e-5)
  for name, net in nets.items():
    changed = [not np.array_equal(b, w.numpy()) for b, w in zip(before[name], net.trainable_weights)]
    assert all(changed), f'{name}: {changed.count(False)} weights did not change'


def test_losses_follow_the_official_weights():
  model = tiny_cyclegan(lambda_a=10.0, lambda_b=3.0, lambda_identity=0.5)
  data = batch()
  fake_b = model.gen_a2b(data['a'])
  expected_cycle_a = 10.0 * float(tf.reduce_mean(tf.abs(model.gen_b2a(fake_b) - data['a'])))
  expected_identity_b = 3.0 * 0.5 * float(tf.reduce_mean(tf.abs(model.gen_a2b(data['b']) - data['b'])))
  expected_gan = float(tf.reduce_mean(tf.square(model.disc_b(fake_b) - 1.0)))
  logs = model.train_step(data)
  np.testing.assert_allclose(float(logs['cycle_a']), expected_cycle_a, rtol=1e-4)
  np.testing.assert_allclose(float(logs['identity_b']), expected_identity_b, rtol=1e-4)
  np.testing.assert_allclose(float(logs['gen_a2b_gan']), expected_gan, rtol=1e-4)


def test_joined_passes_give_the_numbers_of_separate_passes():
  """train_step runs G on [a, b] (the fake and the identity), F on [b, a] and each D on
  [real, pooled fake] as one pass each (instance norm acts per image): the losses and the
  kernels after three steps are those of one pass per image, as the official code runs."""
  joined, separate = tiny_cyclegan(), tiny_cyclegan()
  separate.set_weights(joined.get_weights())
  assert joined._per_sample  # pylint: disable=protected-access
  separate._per_sample = False  # pylint: disable=protected-access
  start = np.concatenate([w.ravel() for w in joined.get_weights() if w.ndim > 1])
  for step in range(3):
    data = batch(seed=step)
    if step == 0:  # D's loss from separate calls, before any update
      fake_b = joined.gen_a2b(data['a'])
      sq = lambda x, t: tf.reduce_mean(tf.square(x - t))
      expected_disc_b = 0.5 * float(sq(joined.disc_b(data['b']), 1.0)
                                    + sq(joined.disc_b(fake_b), 0.0))
    logs_j, logs_s = joined.train_step(data), separate.train_step(data)
    for k in logs_s:
      np.testing.assert_allclose(float(logs_j[k]), float(logs_s[k]), rtol=2e-4, err_msg=k)
    if step == 0:  # the pool returns the fresh fakes while it fills
      np.testing.assert_allclose(float(logs_j['disc_b']), expected_disc_b, rtol=1e-4)
  # Kernels only: a bias before an instance norm has a zero gradient in exact arithmetic, so
  # Adam moves it by rounding noise (as in the official code), differently in the two runs.
  # Adam divides by the gradients' size, so where a gradient is near zero the two runs' rounding
  # differences move a weight by up to about lr (runs differ: TF's inter-op order varies):
  # the mean difference is held to 5 % of the mean update.
  kernels = lambda m: np.concatenate([w.ravel() for w in m.get_weights() if w.ndim > 1])
  moved = np.abs(kernels(separate) - start).mean()
  assert moved > 1e-4
  assert np.abs(kernels(joined) - kernels(separate)).mean() < 0.05 * moved


def test_batch_norm_keeps_separate_passes():
  model = CycleGAN(**{**TINY, 'norm': 'batch'}, seed=0)
  assert not model._per_sample  # pylint: disable=protected-access


def test_identity_terms_off_when_lambda_zero():
  logs = tiny_cyclegan(lambda_identity=0.0).train_step(batch())
  assert 'identity_a' not in logs and 'identity_b' not in logs


def test_train_step_under_tf_function_matches_eager():
  eager, graph = tiny_cyclegan(), tiny_cyclegan()
  graph.set_weights(eager.get_weights())
  logs_e = eager.train_step(batch())
  logs_g = tf.function(graph.train_step)(batch())
  for k in logs_e:
    np.testing.assert_allclose(float(logs_e[k]), float(logs_g[k]), rtol=1e-4)


def test_image_pool_fills_then_mixes_history():
  pool = ImagePool(3, (2, 2, 1), seed=0)
  images = [tf.fill((1, 2, 2, 1), float(i)) for i in range(20)]
  out = [float(pool.query(x)[0, 0, 0, 0]) for x in images]
  assert out[:3] == [0.0, 1.0, 2.0]  # stored and returned while filling
  assert int(pool.count.numpy()) == 3
  returned_old = [o for i, o in enumerate(out) if o != float(i)]
  assert returned_old, 'a full pool must sometimes return a stored image'
  assert len(returned_old) < 17, 'and sometimes the new one'
  assert all(o < i for i, o in enumerate(out) if o != float(i))


def test_image_pool_size_zero_is_identity_and_needs_fixed_size():
  x = tf.ones((2, 4, 4, 3))
  assert ImagePool(0, (None, None, 3)).query(x) is x
  with pytest.raises(ValueError, match='fixed training image size'):
    ImagePool(5, (None, None, 3))


def test_call_is_inference_both_directions():
  model = tiny_cyclegan()
  x = batch()['a']
  np.testing.assert_allclose(model(x, direction='b_to_a'), model.gen_b2a(x), atol=1e-6)
  assert model(x).shape == x.shape
  with pytest.raises(ValueError, match='direction'):
    model(x, direction='sideways')


def test_image_panels_name_every_panel():
  panels = tiny_cyclegan().image_panels(batch())
  assert [n for n, _ in panels['a_to_b']] == ['real_a', 'fake_b', 'rec_a']
  assert [n for n, _ in panels['b_to_a']] == ['real_b', 'fake_a', 'rec_b']


def test_too_small_training_images_are_a_clear_error():
  model = CycleGAN(**TINY, pool_size=0)
  model.compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam())
  with pytest.raises(ValueError, match='too small for the 3-layer PatchGAN'):
    model.build_for_training(model.example_batch(1, 16, 16))


def test_domains_with_other_channel_counts():
  """input_nc != output_nc: each pool holds its own domain's images; the identity loss
  (which feeds B to G_A) is refused, as the official assert."""
  with pytest.raises(ValueError, match='needs model.input_nc == model.output_nc'):
    CycleGAN(**TINY, input_nc=1)
  model = CycleGAN(**TINY, input_nc=1, lambda_identity=0.0, pool_size=2)
  model.compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam())
  batch = model.example_batch(1, 32, 32)
  assert (batch['a'].shape[-1], batch['b'].shape[-1]) == (1, 3)
  model.build_for_training(batch)
  logs = model.train_step(batch)
  assert 'identity_a' not in logs and np.isfinite(float(logs['gen_total']))


def _precision_run(policy, steps=30):
  """The tiny CycleGAN trained `steps` steps under `policy` from the same initial weights on
  four smooth 32 px pairs; (initial gen_a2b weights, per-step logs)."""
  keras.mixed_precision.set_global_policy(policy)
  try:
    keras.utils.set_random_seed(0)
    model = tiny_cyclegan(pool_size=0)
    initial = [w.numpy().copy() for w in model.gen_a2b.weights]
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    data = []
    for _ in range(4):
      phase = rng.uniform(0, 6, 3)
      a = np.stack([np.sin(4 * xx + p) * np.cos(3 * yy) for p in phase], -1)
      b = np.stack([0.8 * np.cos(5 * yy + p) for p in phase], -1) * (xx[..., None] - 0.5)
      data.append({'a': tf.constant(a[None], tf.float32), 'b': tf.constant(b[None], tf.float32)})
    step = tf.function(model.train_step)
    return initial, [{k: float(v) for k, v in step(data[i % 4]).items()} for i in range(steps)]
  finally:
    keras.mixed_precision.set_global_policy('float32')


def test_bfloat16_learns_as_float32_does_per_step():
  """Issue 16: the same quality per step. From the same weights and data, the mean of the
  last 10 of 30 steps' losses under mixed_bfloat16 is within 5 % of float32's for the
  generator's total and cycle terms and within 15 % for the discriminators' total (measured:
  1.5 %, 0.2-2.9 %, 5.9 %), and both precisions lowered the generator's total."""
  init32, logs32 = _precision_run('float32')
  init16, logs16 = _precision_run('mixed_bfloat16')
  assert all(np.array_equal(a, b) for a, b in zip(init32, init16))
  last = lambda logs, k: float(np.mean([l[k] for l in logs[-10:]]))
  for key, tolerance in (('gen_total', 0.05), ('cycle_a', 0.05), ('cycle_b', 0.05),
                         ('disc_total', 0.15)):
    a, b = last(logs32, key), last(logs16, key)
    assert abs(a - b) <= tolerance * abs(a), (key, a, b)
  for logs in (logs32, logs16):
    assert last(logs, 'gen_total') < logs[0]['gen_total']
