"""pix2pix and the BicycleGAN family: one train_step each on tiny images, which networks
each variant updates, latent codes at inference."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfi2i.models import BicycleGAN, Pix2Pix

TINY = dict(ngf=4, nef=4, ndf=4, net_g='unet_128', net_e='resnet_128',
            net_d='basic_128_multi', net_d2='basic_128_multi')


def batch(n=2, seed=0):
  rng = np.random.default_rng(seed)
  return {k: tf.constant(rng.uniform(-1, 1, (n, 128, 128, 3)).astype(np.float32)) for k in 'ab'}


def compiled(model):
  model.compile(**{n: keras.optimizers.Adam(2e-4, beta_1=0.5) for n in model.optimizer_names})
  model.build_for_training((128, 128, 3))
  return model


def changed_fraction(model, names, step):
  nets = {n: getattr(model, n) for n in names}
  before = {n: [w.numpy().copy() for w in net.trainable_weights] for n, net in nets.items()}
  logs = step()
  frac = {n: np.mean([not np.array_equal(b, w.numpy())
                      for b, w in zip(before[n], nets[n].trainable_weights)]) for n in nets}
  return frac, logs


@pytest.mark.parametrize('variant,trained,absent,terms', [
    ('bicycle', ('generator', 'encoder', 'disc', 'disc2'), (),
     {'gen_gan', 'gen_gan2', 'gen_l1', 'kl', 'latent_l1', 'disc', 'disc2'}),
    ('cvae_gan', ('generator', 'encoder', 'disc'), ('disc2',), {'gen_gan', 'gen_l1', 'kl', 'disc'}),
    ('clr_gan', ('generator', 'encoder', 'disc2'), ('disc',), {'gen_gan2', 'latent_l1', 'disc2'}),
    ('pix2pix_noise', ('generator', 'disc'), ('encoder', 'disc2'), {'gen_gan', 'gen_l1', 'disc'}),
])
def test_each_variant_updates_exactly_its_networks(variant, trained, absent, terms):
  model = compiled(BicycleGAN(model=dict(TINY, variant=variant)))
  for name in absent:
    assert getattr(model, name) is None
  frac, logs = changed_fraction(model, trained, lambda: model.train_step(batch()))
  assert set(logs) == terms | {'gen_total'}
  assert all(np.isfinite(float(v)) for v in logs.values())
  for name in trained:
    if name == 'encoder' and variant == 'clr_gan':
      # only mu is regressed: the log-variance head gets no gradient in a cLR-GAN
      assert frac[name] > 0.8
    else:
      assert frac[name] == 1.0, (name, frac[name])


def test_latent_regression_updates_the_generator_not_the_encoder():
  loss = dict(lambda_l1=0.0, lambda_gan=0.0, lambda_gan2=0.0, lambda_kl=0.0, lambda_z=0.5)
  model = compiled(BicycleGAN(model=dict(TINY, variant='bicycle'), loss=loss))
  frac, logs = changed_fraction(model, ('generator', 'encoder'), lambda: model.train_step(batch()))
  assert set(logs) == {'latent_l1', 'gen_total'}
  assert frac['generator'] == 1.0
  assert frac['encoder'] == 0.0


def test_kl_is_summed_over_the_batch_like_the_official_code():
  loss = dict(lambda_l1=0.0, lambda_gan=0.0, lambda_gan2=0.0, lambda_kl=0.01, lambda_z=0.0)
  model = compiled(BicycleGAN(model=dict(TINY, variant='bicycle'), loss=loss))
  data = batch(n=4)
  mu, logvar = model.encode(data['b'][:2], training=True)
  expected = 0.01 * float(tf.reduce_sum(-0.5 * tf.reduce_sum(1 + logvar - mu ** 2 - tf.exp(logvar), -1)))
  logs = model.train_step(data)
  np.testing.assert_allclose(float(logs['kl']), expected, rtol=1e-4, atol=1e-9)


def test_odd_batch_is_a_clear_error():
  model = compiled(BicycleGAN(model=dict(TINY, variant='bicycle')))
  with pytest.raises(ValueError, match='even batch'):
    model.train_step(batch(n=3))


def test_samples_differ_with_z_and_repeat_with_the_same_z():
  model = BicycleGAN(model=dict(TINY, variant='bicycle'))
  x = batch()['a'][:1]
  z1 = tf.random.stateless_normal([1, 8], seed=[1, 2])
  z2 = tf.random.stateless_normal([1, 8], seed=[3, 4])
  same = [model(x, z=z1).numpy() for _ in range(2)]
  np.testing.assert_array_equal(same[0], same[1])
  assert np.abs(model(x, z=z2).numpy() - same[0]).mean() > 1e-6
  mu, logvar = model.encode(batch()['b'][:1])
  assert mu.shape == (1, 8) and logvar.shape == (1, 8)


def test_pix2pix_step_and_official_test_time_mode():
  model = compiled(Pix2Pix(model=dict(ngf=4, ndf=4, num_downs=7)))
  frac, logs = changed_fraction(model, ('generator', 'discriminator'),
                                lambda: model.train_step(batch(n=1)))
  assert set(logs) == {'disc', 'gen_gan', 'gen_l1', 'gen_total', 'disc_total'}
  assert frac == {'generator': 1.0, 'discriminator': 1.0}
  x = batch(n=1)['a']
  # default: dropout stays on at test time, as the paper and the official test.py
  assert np.abs(model(x).numpy() - model(x).numpy()).max() > 0
  frozen = Pix2Pix(model=dict(ngf=4, ndf=4, num_downs=7, eval_mode=True))
  np.testing.assert_array_equal(frozen(x).numpy(), frozen(x).numpy())


def test_unet_needs_images_of_its_depth():
  model = Pix2Pix(model=dict(ngf=4, ndf=4, num_downs=7))
  model.compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam())
  with pytest.raises(ValueError, match='too small for a U-Net with 7 down steps'):
    model.build_for_training((64, 64, 3))


@pytest.fixture
def aligned_root(tmp_path):
  from PIL import Image
  rng = np.random.default_rng(0)
  for i in range(3):
    (tmp_path / 'ab' / 'train').mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (128, 256, 3), dtype=np.uint8)).save(
        tmp_path / 'ab' / 'train' / f'{i}.png')
  return str(tmp_path / 'ab')


@pytest.mark.parametrize('recipe', ['bicyclegan', 'pix2pix'])
def test_train_command_on_an_aligned_folder_exports(recipe, aligned_root, tmp_path):
  import os
  from tfi2i import config as recipe_lib
  from tfi2i.training import loop
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  config = recipe_lib.load_recipe(os.path.join(root, 'recipes', f'{recipe}.py'))
  tiny = dict(TINY) if recipe == 'bicyclegan' else dict(ngf=4, ndf=4, num_downs=7)
  overrides = {f'model.{k}': v for k, v in tiny.items()}
  overrides.update({'data.root': aligned_root, 'data.load_size': 128, 'data.crop_size': 128,
                    'data.preprocess': 'crop', 'train.steps': 2, 'train.batch_size': 2,
                    'train.log_every': 1, 'train.image_every': 1})
  result = loop.train(recipe_lib.override(config, overrides), str(tmp_path / 'run'))
  assert result.step == 2 and all(np.isfinite(v) for v in result.logs.values())
  loaded = tf.saved_model.load(result.export_dir)
  out = loaded.signatures['a_to_b'](images=tf.zeros([1, 100, 70, 3]))['output']
  assert out.shape == (1, 100, 70, 3)
