"""AttGAN and STGAN (tfi2i/models/attgan.py): one step per cam.apply_to setting, the
generator's attribute inputs, the losses' reductions, the step schedule."""
import numpy as np
import pytest
import tensorflow as tf

from recipes import attgan as attgan_recipe
from recipes import stgan as stgan_recipe
from tfi2i import models
from tfi2i.models.attgan import attribute_loss
from tfi2i.training import optimizers as optimizers_lib
from tfi2i.training import schedules

ATTRS = ('Bangs', 'Black_Hair', 'Male')
TINY = {
    'attgan': dict(attributes=ATTRS, image_size=32, dim=8, n_layers=3, dis_dim=8, dis_layers=3,
                   dis_fc_dim=16, n_d=2, shortcut_layers=1, inject_layers=1),
    'stgan': dict(attributes=ATTRS, image_size=32, dim=8, n_layers=3, dis_dim=8, dis_layers=3,
                  dis_fc_dim=16, n_d=2, shortcut_layers=2, inject_layers=2, stu_dim=8,
                  stu_layers=2),
}
RECIPES = {'attgan': attgan_recipe, 'stgan': stgan_recipe}


def _model(name, apply_to='none'):
  tf.keras.utils.set_random_seed(0)
  c = RECIPES[name].get_config()
  c.model.update(TINY[name])
  c.cam.apply_to = apply_to
  c.train.batch_size = 4
  model = models.build_model(c)
  model.compile(**optimizers_lib.make_optimizers(model, c, 10, 10))
  model.build_for_training({'image': tf.TensorSpec([4, 32, 32, 3]),
                            'attributes': tf.TensorSpec([4, 3])})
  return model


def _batches(n, seed=0):
  rng = np.random.default_rng(seed)
  return tuple({'image': tf.constant(rng.uniform(-1, 1, (4, 32, 32, 3)), tf.float32),
                'attributes': tf.constant(rng.integers(0, 2, (4, 3)), tf.float32)}
               for _ in range(n))


def test_recipes():
  a, s = attgan_recipe.get_config(), stgan_recipe.get_config()
  assert a.model.name == 'attgan' and s.model.name == 'stgan'
  assert (a.loss.lambda_gp, a.loss.lambda_d_att, a.loss.lambda_g_att, a.loss.lambda_rec) == (
      10.0, 1.0, 10.0, 100.0)
  assert (a.model.shortcut_layers, a.model.inject_layers) == (1, 1)
  assert (s.model.shortcut_layers, s.model.inject_layers, s.model.stu_dim) == (4, 4, 64)
  assert a.optimizer.lr == 2e-4 and a.train.batch_size == 32 and a.schedule.policy == 'step'
  assert models.model_class(s).batches_per_step == 1  # an instance's: n_d + 1
  assert len(s.model.attributes) == 13 and s.data.attributes == s.model.attributes


def test_step_schedule_divides_by_ten_every_n_epochs():
  lr = schedules.StepDecay(2e-4, steps_per_epoch=3, every_epochs=2)
  np.testing.assert_allclose([float(lr(s)) for s in (0, 5, 6, 11, 12)],
                             [2e-4, 2e-4, 2e-5, 2e-5, 2e-6], rtol=1e-6)


def test_step_steps_schedule_divides_by_ten_every_period_of_steps():
  """'step_steps': PyTorch's StepLR(step_size, 0.1) stepped per iteration (the STGAN port
  paper 001 ran); the period is required."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  cfg = ml_collections.ConfigDict({'policy': 'step_steps', 'decay_start_step': 8,
                                   'n_epochs': 100, 'n_epochs_decay': 100})
  lr = schedules.make_schedule(2e-4, cfg, steps_per_epoch=3, total_steps=20)
  np.testing.assert_allclose([float(lr(s)) for s in (0, 7, 8, 15, 16)],
                             [2e-4, 2e-4, 2e-5, 2e-5, 2e-6], rtol=1e-6)
  cfg.decay_start_step = 0
  with pytest.raises(ValueError, match='needs schedule.decay_start_step'):
    schedules.make_schedule(2e-4, cfg, steps_per_epoch=3, total_steps=20)


def test_attribute_loss_is_the_mean_over_attributes():
  logits = np.array([[2.0, -1.0, 0.5]], np.float32)
  labels = np.array([[1, 0, 0]], np.float32)
  p = 1 / (1 + np.exp(-logits))
  want = -(labels * np.log(p) + (1 - labels) * np.log(1 - p)).mean(axis=1)
  np.testing.assert_allclose(attribute_loss(logits, labels), want, rtol=1e-5)


@pytest.fixture(scope='module')
def after_one_step():
  out = {}
  for name in ('attgan', 'stgan'):
    for apply_to in ('none', 'generator', 'discriminator', 'both'):
      model = _model(name, apply_to)
      before = [v.numpy() for v in model.generator.trainable_variables]
      logs = {k: float(v) for k, v in tf.function(model.train_step)(_batches(3)).items()}
      out[name, apply_to] = model, logs, before
  return out


@pytest.mark.parametrize('name', ['attgan', 'stgan'])
@pytest.mark.parametrize('apply_to', ['none', 'generator', 'discriminator', 'both'])
def test_one_step_for_each_cam_setting(after_one_step, name, apply_to):
  model, logs, before = after_one_step[name, apply_to]
  assert all(np.isfinite(v) for v in logs.values()), logs
  # n_d = 2 critic updates, then one generator update on the third batch
  assert int(model.d_optimizer.iterations) == 2 and int(model.g_optimizer.iterations) == 1
  assert ('disc_cam' in logs) == (apply_to in ('discriminator', 'both'))
  assert ('gen_cam' in logs) == (apply_to in ('generator', 'both'))
  # the mask's TensorBoard scalars (what M_CAM covers) come with the terms that compute it
  for who, term in (('d', 'disc_cam'), ('g', 'gen_cam')):
    assert (f'cam/{who}_coverage' in logs) == (term in logs)
    if term in logs:
      assert 0 < logs[f'cam/{who}_coverage'] <= 1 and logs[f'cam/{who}_change_lift'] > 0
  after = [v.numpy() for v in model.generator.trainable_variables]
  assert any(not np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize('name', ['attgan', 'stgan'])
def test_cam_settings_change_the_networks_they_name(after_one_step, name):
  d = {k: [v.numpy() for v in after_one_step[name, k][0].discriminator.trainable_variables]
       for k in ('none', 'generator', 'discriminator')}
  same = lambda a, b: all(np.array_equal(x, y) for x, y in zip(a, b))
  assert same(d['none'], d['generator']) and not same(d['none'], d['discriminator'])


def test_generator_inputs():
  attgan, stgan = _model('attgan'), _model('stgan')
  source = tf.constant([[1, 0, 1]], tf.float32)
  target = tf.constant([[0, 0, 1]], tf.float32)
  # AttGAN: +-thres_int while training; the changed attribute at +-test_int at test time
  np.testing.assert_allclose(attgan.generator_input(source, target), [[-0.5, -0.5, 0.5]])
  np.testing.assert_allclose(attgan.test_input(source, target), [[-1.0, -0.5, 0.5]])
  # STGAN: the difference (b_ - a_), zero for the reconstruction
  np.testing.assert_allclose(stgan.generator_input(source, target), [[-1.0, 0.0, 0.0]])
  np.testing.assert_allclose(stgan.generator_input(source, source), [[0.0, 0.0, 0.0]])
  np.testing.assert_allclose(stgan.test_input(source, target), [[-1.0, 0.0, 0.0]])
  x = tf.constant(np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 3)), tf.float32)
  # the source matters to STGAN's edit (the difference) and to AttGAN's (test_int)
  for model in (attgan, stgan):
    a = model(x, target, source=source).numpy()
    b = model(x, target, source=target).numpy()
    assert not np.allclose(a, b)
