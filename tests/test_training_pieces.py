"""Training-step pieces of the model API: per-optimizer settings, torch's coupled L2 weight
decay, the step-based linear decay, the gradient-apply helper (loss scaling, missing
gradients, constraints), stateless seeds."""
import keras
import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from recipes import common
from tfi2i import losses
from tfi2i.config import RecipeError
from tfi2i.schema import optimizer as optimizer_schema
from tfi2i.models.base import apply_gradients
from tfi2i.models.base import TranslationModel
from tfi2i.training import optimizers
from tfi2i.training.schedules import LinearDecaySteps


def test_per_optimizer_settings_override_the_shared_ones():
  o = common.optimizer_config(('g_optimizer', 'd_optimizer'), lr=2e-4, beta1=0.5, beta2=0.999)
  o.d_optimizer.lr = 4e-4
  o.d_optimizer.weight_decay_mode = 'decoupled'
  assert optimizer_schema.settings(o, 'g_optimizer')['lr'] == 2e-4
  d = optimizer_schema.settings(o, 'd_optimizer')
  assert (d['lr'], d['beta1'], d['weight_decay_mode']) == (4e-4, 0.5, 'decoupled')
  optimizer_schema.check(o, ('g_optimizer', 'd_optimizer'))
  with pytest.raises(RecipeError, match='optimizer.d_optimizer.lr is set, but this model has no d_optimizer'):
    optimizer_schema.check(o, ('g_optimizer',))
  o.d_optimizer.weight_decay_mode = 'sideways'
  with pytest.raises(RecipeError, match="weight_decay_mode is 'sideways'"):
    optimizer_schema.check(o, ('g_optimizer', 'd_optimizer'))
  bad = ml_collections.ConfigDict({'lr': 1e-3, 'momentum': 0.9})
  with pytest.raises(RecipeError, match='unknown recipe key optimizer.momentum'):
    optimizer_schema.check(bad, ('g_optimizer',))


def _adam_step(w0, grad, **kwargs):
  w = tf.Variable(w0)
  opt = optimizers.Adam(learning_rate=0.1, beta_1=0.5, beta_2=0.999, epsilon=1e-8, **kwargs)
  opt.apply_gradients([(tf.constant(grad), w)])
  return w.numpy()


def test_coupled_weight_decay_is_torch_adams_l2_term():
  """torch.optim.Adam(weight_decay=wd): g <- g + wd * w before the moments; after one step
  Adam moves each weight by lr * sign(g') (|m_hat / sqrt(v_hat)| = 1 at the first step)."""
  w0, g = np.array([1.0, -2.0, 0.5], np.float32), np.array([0.3, 0.1, -0.2], np.float32)
  wd = 0.4
  coupled = _adam_step(w0, g, l2=wd)
  np.testing.assert_allclose(coupled, w0 - 0.1 * np.sign(g + wd * w0), rtol=1e-5)
  plain = _adam_step(w0, g)
  np.testing.assert_allclose(plain, w0 - 0.1 * np.sign(g), rtol=1e-5)
  assert not np.allclose(coupled, plain)


@pytest.mark.parametrize('traced', [False, True])
def test_fused_adam_matches_keras_adam(traced):
  """optimizers.Adam updates float32 variables with TF's fused ResourceApplyAdam: the same
  values as keras' Adam over several steps (and the schedule's rate), in eager and traced."""
  rng = np.random.default_rng(0)
  w0 = rng.normal(size=(4, 3)).astype(np.float32)
  grads = [rng.normal(size=(4, 3)).astype(np.float32) for _ in range(5)]
  out = []
  for cls in (optimizers.Adam, keras.optimizers.Adam):
    w = tf.Variable(w0)
    opt = cls(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5),
              beta_1=0.5, beta_2=0.9, epsilon=1e-3)
    step = lambda g, opt=opt, w=w: opt.apply_gradients([(g, w)])
    step = tf.function(step) if traced else step
    for g in grads:
      step(tf.constant(g))
    out.append(w.numpy())
  np.testing.assert_allclose(out[0], out[1], rtol=1e-5, atol=1e-7)
  assert not np.allclose(out[0], w0)


def test_wide_dense_kernel_gradient_equals_the_tapes():
  """A WideDense called twice (the second call on a function of the first) inside a
  WideKernelGradients context: every gradient equals tape.gradient's."""
  from tfi2i import layers as L  # pylint: disable=import-outside-toplevel
  keras.utils.set_random_seed(1)
  wide, other = L.WideDense(5, activation='relu'), keras.layers.Dense(7)
  x = tf.random.normal([2, 7])
  wide(x), other(tf.zeros([2, 5]))
  variables = wide.trainable_variables + other.trainable_variables

  def loss():
    return tf.reduce_sum(wide(tf.tanh(other(wide(x)))) ** 2)

  with tf.GradientTape() as tape:
    want = tape.gradient(loss(), variables)
  with tf.GradientTape() as tape, L.WideKernelGradients(tape) as recorder:
    value = loss()
  assert len(recorder.calls) == 2
  got = recorder.gradients(value, variables)
  for g, w in zip(got, want):
    np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
  assert float(tf.reduce_max(tf.abs(got[0]))) > 0


def test_make_optimizers_uses_per_optimizer_rates_and_the_step_clock():
  class Two(TranslationModel):
    optimizer_names = ('g_optimizer', 'd_optimizer')
  c = ml_collections.ConfigDict()
  c.optimizer = common.optimizer_config(('g_optimizer', 'd_optimizer'), lr=1e-3, beta1=0.5,
                                        beta2=0.999, weight_decay=1e-4)
  c.optimizer.d_optimizer.lr = 3e-3
  c.schedule = common.schedule_config(policy='linear_steps')
  step = tf.Variable(0, dtype=tf.int64)
  made = optimizers.make_optimizers(Two(), c, steps_per_epoch=1, total_steps=10, step=step)
  assert made['g_optimizer'].l2 == 1e-4 and made['g_optimizer'].weight_decay is None
  step.assign(7)  # decay from step 5: 1 - (7 + 1 - 5) / 5
  np.testing.assert_allclose(float(made['g_optimizer'].learning_rate), 1e-3 * 0.4, rtol=1e-6)
  np.testing.assert_allclose(float(made['d_optimizer'].learning_rate), 3e-3 * 0.4, rtol=1e-6)
  scaled = optimizers.make_optimizers(Two(), c, 1, 10, step=step, precision='mixed_float16')
  assert isinstance(scaled['d_optimizer'], keras.optimizers.LossScaleOptimizer)


def test_linear_decay_steps_is_ugatits_per_iteration_rule():
  """Official U-GAT-IT: at each 1-based iteration s > T // 2, lr -= lr0 / (T // 2)."""
  total, lr0 = 10, 1e-4
  lr, want = lr0, []
  for s in range(1, total + 1):
    if s > total // 2:
      lr -= lr0 / (total // 2)
    want.append(lr)
  schedule = LinearDecaySteps(lr0, total, total // 2)
  got = [float(schedule(k)) for k in range(total)]  # 0-based step k = iteration s - 1
  np.testing.assert_allclose(got, want, atol=1e-12)
  with pytest.raises(ValueError):
    LinearDecaySteps(lr0, 10, 10)


def test_apply_gradients_scales_skips_missing_and_constrains():
  w = tf.Variable([2.0, -3.0], constraint=lambda v: tf.clip_by_value(v, 0.0, 1.0))
  unused = tf.Variable([5.0])
  plain = keras.optimizers.SGD(0.5)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(w * tf.constant([1.0, 2.0]))
  assert apply_gradients(plain, tape, loss, [w, unused]) == 1  # no gradient for `unused`
  np.testing.assert_allclose(w.numpy(), [1.0, 0.0])  # [1.5, -4] clipped to [0, 1]
  np.testing.assert_allclose(unused.numpy(), [5.0])
  # Under loss scaling the gradients are taken of the scaled loss and unscaled again.
  v = tf.Variable([0.0, 0.0])
  scaled = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5), initial_scale=1024.0)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(v * tf.constant([1.0, 2.0]))
  apply_gradients(scaled, tape, loss, [v])
  np.testing.assert_allclose(v.numpy(), [-0.5, -1.0])


def test_stateless_seeds_and_the_gradient_penalty():
  model = TranslationModel(seed=3)
  a, b = model.stateless_seed(2, 7).numpy(), model.stateless_seed(2, 7).numpy()
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, model.stateless_seed(2, 8).numpy())
  assert not np.array_equal(a, TranslationModel(seed=4).stateless_seed(2, 7).numpy())
  critic = lambda x, training=True: tf.reduce_sum(x ** 2, axis=-1)
  real, fake = tf.zeros((4, 3)), tf.ones((4, 3))
  gp = lambda seed: losses.gradient_penalty(critic, real, fake, seed=seed).numpy()
  np.testing.assert_array_equal(gp(a), gp(b))
  assert not np.allclose(gp(a), gp(model.stateless_seed(2, 8)))
  with pytest.raises(ValueError, match='needs a seed'):
    losses.gradient_penalty(critic, real, fake, seed=None)
