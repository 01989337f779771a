"""StarGAN (tfi2i/models/stargan.py) and the attribute editors' shared training pieces."""
import numpy as np
import pytest
import tensorflow as tf

from recipes import common
from recipes import stargan as stargan_recipe
from tfi2i import models
from tfi2i import nets
from tfi2i.models.stargan import classification_loss
from tfi2i.training import optimizers as optimizers_lib

ATTRS = ('Bangs', 'Black_Hair', 'Blond_Hair', 'Male')
TINY = dict(attributes=ATTRS, image_size=32, g_conv_dim=8, d_conv_dim=8, g_repeat_num=1,
            d_repeat_num=3, n_critic=2)


def test_official_parameter_counts():
  """yunjey/stargan model.py at c_dim 13 (paper 001's attributes), counted in PyTorch."""
  assert nets.stargan_generator(13, 64, 6).count_params() == 8_455_616
  assert nets.stargan_discriminator(13, 128, 64, 6).count_params() == 44_827_584
  # the tiny configuration, also counted in PyTorch
  assert nets.stargan_generator(3, 8, 2).count_params() == 61_288
  assert nets.stargan_discriminator(3, 32, 8, 3).count_params() == 12_504


def test_recipe_defaults():
  c = stargan_recipe.get_config()
  assert c.model.attributes == c.data.attributes and len(c.model.attributes) == 13
  assert (c.loss.lambda_cls, c.loss.lambda_rec, c.loss.lambda_gp) == (1.0, 10.0, 10.0)
  assert c.cam.apply_to == 'none' and c.cam.weight == 5.0
  assert (c.optimizer.lr, c.optimizer.beta1, c.train.batch_size) == (1e-4, 0.5, 16)
  c.model.attributes = ('Male', 'Young')  # data follows the model's list
  assert c.data.attributes == ('Male', 'Young')
  c.cam.apply_to = 'both'
  assert models.model_args(c)['cam_apply_to'] == 'both'
  c.cam.strength = 1.0
  with pytest.raises(models.RecipeError, match=r'unknown recipe key cam.strength.*cam: apply_to'):
    models.model_args(c)


def test_classification_loss_sums_attributes():
  logits = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], np.float32)
  labels = np.array([[1, 0, 0], [1, 1, 0]], np.float32)
  p = 1 / (1 + np.exp(-logits))
  want = -(labels * np.log(p) + (1 - labels) * np.log(1 - p)).sum(axis=1)
  np.testing.assert_allclose(classification_loss(logits, labels), want, rtol=1e-5)


def _model(apply_to='none', **kw):
  tf.keras.utils.set_random_seed(0)
  c = stargan_recipe.get_config()
  c.model.update({**TINY, **kw})
  c.cam.apply_to = apply_to
  c.train.steps, c.train.batch_size = 10, 4
  model = models.build_model(c)
  model.compile(**optimizers_lib.make_optimizers(model, c, 10, 10))
  batch = {'image': tf.TensorSpec([4, 32, 32, 3]), 'attributes': tf.TensorSpec([4, 4])}
  model.build_for_training(batch)
  return model


def _batches(n=2, seed=0):
  rng = np.random.default_rng(seed)
  return tuple({'image': tf.constant(rng.uniform(-1, 1, (4, 32, 32, 3)), tf.float32),
                'attributes': tf.constant(rng.integers(0, 2, (4, 4)), tf.float32)}
               for _ in range(n))


def _weights(net):
  return [v.numpy() for v in net.trainable_variables]


def _same(a, b):
  return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope='module')
def after_one_step():
  """{apply_to: (model, logs)} after one train_step from the same weights and batches."""
  out = {}
  for apply_to in ('none', 'generator', 'discriminator', 'both'):
    model = _model(apply_to)
    logs = {k: float(v) for k, v in tf.function(model.train_step)(_batches()).items()}
    out[apply_to] = model, logs
  return out


@pytest.mark.parametrize('apply_to', ['none', 'generator', 'discriminator', 'both'])
def test_one_step_for_each_cam_setting(after_one_step, apply_to):
  model, logs = after_one_step[apply_to]
  assert all(np.isfinite(v) for v in logs.values())
  assert int(model.d_optimizer.iterations) == 2 and int(model.g_optimizer.iterations) == 1
  assert ('disc_cam' in logs) == (apply_to in ('discriminator', 'both'))
  assert ('gen_cam' in logs) == (apply_to in ('generator', 'both'))
  # the mask's TensorBoard scalars (what M_CAM covers) come with the terms that compute it
  for who, term in (('d', 'disc_cam'), ('g', 'gen_cam')):
    assert (f'cam/{who}_coverage' in logs) == (term in logs)
    if term in logs:
      assert 0 < logs[f'cam/{who}_coverage'] <= 1 and logs[f'cam/{who}_change_lift'] > 0
  assert logs.get('disc_cam', 1.0) > 0 and logs.get('gen_cam', 1.0) > 0


def test_cam_setting_changes_exactly_the_networks_it_names(after_one_step):
  d = {k: _weights(m.discriminator) for k, (m, _) in after_one_step.items()}
  g = {k: _weights(m.generator) for k, (m, _) in after_one_step.items()}
  # the generator term leaves the critic's update alone (the critic steps come first)
  assert _same(d['none'], d['generator']) and _same(d['discriminator'], d['both'])
  assert not _same(d['none'], d['discriminator'])
  assert not _same(g['none'], g['generator'])
  # the same initial weights: the one-step difference is the CAM terms' doing
  fresh = _model('none')
  assert not _same(_weights(fresh.generator), g['none'])


def test_targets_are_the_batch_labels_permuted():
  model = _model()
  source = tf.constant(np.eye(4, dtype=np.float32))
  a = model.sample_targets(source, tf.constant(0, tf.int64)).numpy()
  b = model.sample_targets(source, tf.constant(0, tf.int64)).numpy()
  c = model.sample_targets(source, tf.constant(1, tf.int64)).numpy()
  np.testing.assert_array_equal(a, b)  # stateless: a resumed run draws the same
  assert sorted(map(tuple, a)) == sorted(map(tuple, np.eye(4)))
  assert not np.array_equal(a, c)


def test_test_time_targets_follow_create_labels():
  model = _model()
  source = tf.constant([[0, 1, 0, 1], [1, 0, 1, 0]], tf.float32)  # Bangs, Black, Blond, Male
  # a hair colour: set, the other hair colours cleared, the rest kept
  np.testing.assert_array_equal(model.flipped(source, 2), [[0, 0, 1, 1], [1, 0, 1, 0]])
  # any other attribute: flipped
  np.testing.assert_array_equal(model.flipped(source, 0), [[1, 1, 0, 1], [0, 0, 1, 0]])


def test_panels_show_each_attribute_and_its_mask():
  model = _model('both')
  groups = model.image_panels(_batches(1)[0])
  assert [p[0] for p in groups['edits']] == ['input', *ATTRS]
  name, (image, mask), kind = groups['gradcam'][1]
  assert kind == 'overlay' and image.shape == (4, 32, 32, 3) and mask.shape == (4, 32, 32, 1)
  assert 0 <= float(tf.reduce_min(mask)) and float(tf.reduce_max(mask)) <= 1


def test_bad_settings_name_the_key():
  with pytest.raises(models.RecipeError, match='cam.apply_to'):
    _model('sometimes')
  with pytest.raises(models.RecipeError, match='cam.layer=5: the discriminator has 3 blocks'):
    c = stargan_recipe.get_config()
    c.model.update(TINY)
    c.cam.layer = 5
    models.build_model(c)


def test_training_size_must_be_image_size():
  model = _model()
  with pytest.raises(ValueError, match='trains on 32 px images.*data.crop_size=32'):
    model.build_for_training({'image': tf.TensorSpec([4, 64, 64, 3]),
                              'attributes': tf.TensorSpec([4, 4])})
  with pytest.raises(ValueError, match='the data has 3 attributes per image, the model edits 4'):
    model.build_for_training({'image': tf.TensorSpec([4, 32, 32, 3]),
                              'attributes': tf.TensorSpec([4, 3])})
