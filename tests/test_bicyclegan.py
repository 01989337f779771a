"""pix2pix and the BicycleGAN family: one train_step each on tiny images, which networks
each variant updates, latent codes at inference."""
from conftest import TINY_BICYCLE as TINY
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfi2i.models import BicycleGAN, Pix2Pix



def batch(n=2, seed=0):
  rng = np.random.default_rng(seed)
  return {k: tf.constant(rng.uniform(-1, 1, (n, 128, 128, 3)).astype(np.float32)) for k in 'ab'}


def compiled(model):
  model.compile(**{n: keras.optimizers.Adam(2e-4, beta_1=0.5) for n in model.optimizer_names})
  model.build_for_training(model.example_batch(1, 128, 128))
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
  model = compiled(BicycleGAN(**dict(TINY, variant=variant)))
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
  model = compiled(BicycleGAN(**dict(TINY, variant='bicycle'), **loss))
  frac, logs = changed_fraction(model, ('generator', 'encoder'), lambda: model.train_step(batch()))
  assert set(logs) == {'latent_l1', 'gen_total'}
  assert frac['generator'] == 1.0
  assert frac['encoder'] == 0.0


def test_kl_is_summed_over_the_batch_like_the_official_code():
  loss = dict(lambda_l1=0.0, lambda_gan=0.0, lambda_gan2=0.0, lambda_kl=0.01, lambda_z=0.0)
  model = compiled(BicycleGAN(**dict(TINY, variant='bicycle'), **loss))
  data = batch(n=4)
  mu, logvar = model.encode(data['b'][:2], training=True)
  expected = 0.01 * float(tf.reduce_sum(-0.5 * tf.reduce_sum(1 + logvar - mu ** 2 - tf.exp(logvar), -1)))
  logs = model.train_step(data)
  np.testing.assert_allclose(float(logs['kl']), expected, rtol=1e-4, atol=1e-9)


def test_odd_batch_is_a_clear_error():
  model = compiled(BicycleGAN(**dict(TINY, variant='bicycle')))
  with pytest.raises(ValueError, match='even batch'):
    model.train_step(batch(n=3))


def test_samples_differ_with_z_and_repeat_with_the_same_z():
  model = BicycleGAN(**dict(TINY, variant='bicycle'))
  x = batch()['a'][:1]
  z1 = tf.random.stateless_normal([1, 8], seed=[1, 2])
  z2 = tf.random.stateless_normal([1, 8], seed=[3, 4])
  same = [model(x, z=z1).numpy() for _ in range(2)]
  np.testing.assert_array_equal(same[0], same[1])
  assert np.abs(model(x, z=z2).numpy() - same[0]).mean() > 1e-6
  mu, logvar = model.encode(batch()['b'][:1])
  assert mu.shape == (1, 8) and logvar.shape == (1, 8)


def test_pix2pix_step_and_official_test_time_mode():
  model = compiled(Pix2Pix(**dict(ngf=4, ndf=4, num_downs=7)))
  frac, logs = changed_fraction(model, ('generator', 'discriminator'),
                                lambda: model.train_step(batch(n=1)))
  assert set(logs) == {'disc', 'gen_gan', 'gen_l1', 'gen_total', 'disc_total'}
  assert frac == {'generator': 1.0, 'discriminator': 1.0}
  x = batch(n=1)['a']
  # default: dropout stays on at test time, as the paper and the official test.py
  assert np.abs(model(x).numpy() - model(x).numpy()).max() > 0
  frozen = Pix2Pix(**dict(ngf=4, ndf=4, num_downs=7, eval_mode=True))
  np.testing.assert_array_equal(frozen(x).numpy(), frozen(x).numpy())


def test_unet_needs_images_of_its_depth():
  model = Pix2Pix(**dict(ngf=4, ndf=4, num_downs=7))
  model.compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam())
  with pytest.raises(ValueError, match='too small for a U-Net with 7 down steps'):
    model.build_for_training(model.example_batch(1, 64, 64))


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


@pytest.fixture(scope='module')
def bicycle_export(tmp_path_factory):
  from tfi2i import export
  model = BicycleGAN(**dict(TINY, variant='bicycle'))
  path = export.export_model(model, str(tmp_path_factory.mktemp('export')))
  return model, tf.saved_model.load(path)


def _png(image_float):
  return tf.io.encode_png(tf.cast(tf.round((image_float + 1.0) * 127.5), tf.uint8))


def test_export_has_latent_and_encode_signatures(bicycle_export):
  _, loaded = bicycle_export
  assert {'a_to_b', 'a_to_b_bytes', 'a_to_b_sample', 'a_to_b_sample_bytes', 'a_to_b_random',
          'a_to_b_random_bytes', 'encode', 'encode_bytes'} <= set(loaded.signatures)


def test_export_sample_signature_matches_the_model(bicycle_export):
  model, loaded = bicycle_export
  x = tf.random.uniform([2, 128, 128, 3], -1, 1, seed=1)
  z = tf.random.normal([3, 8], seed=2)
  out = loaded.signatures['a_to_b_sample'](images=x, z=z)['output']
  assert out.shape == (2, 3, 128, 128, 3)
  for k in range(3):
    np.testing.assert_allclose(out[:, k], model(x, z=tf.repeat(z[k:k + 1], 2, axis=0)), atol=1e-5)
  np.testing.assert_allclose(loaded.signatures['a_to_b'](images=x)['output'], model(x), atol=1e-5)
  # any size: padded to the U-Net's multiple and cropped back
  odd = loaded.signatures['a_to_b_sample'](images=tf.zeros([1, 70, 150, 3]), z=z)['output']
  assert odd.shape == (1, 3, 70, 150, 3)


def test_export_random_signature_is_seeded(bicycle_export):
  model, loaded = bicycle_export
  x = tf.random.uniform([1, 128, 128, 3], -1, 1, seed=3)
  run = lambda seed: loaded.signatures['a_to_b_random'](
      images=x, seed=tf.constant(seed, tf.int64), num_samples=tf.constant(4))
  first, again, other = run(7), run(7), run(8)
  assert first['output'].shape == (1, 4, 128, 128, 3) and first['z'].shape == (4, 8)
  np.testing.assert_array_equal(first['output'], again['output'])
  assert np.abs(first['z'].numpy() - other['z'].numpy()).max() > 0.1
  # the outputs are G(A, z) for the z returned with them, and differ between samples
  np.testing.assert_allclose(first['output'][0, 2], model(x, z=first['z'][2:3])[0], atol=1e-5)
  assert np.abs(first['output'][0, 0].numpy() - first['output'][0, 1].numpy()).mean() > 1e-6


def test_export_encode_signatures(bicycle_export):
  model, loaded = bicycle_export
  ref = tf.random.uniform([1, 90, 110, 3], -1, 1, seed=4)
  got = loaded.signatures['encode'](images=ref)
  mu, logvar = model.encode(tf.image.resize(ref, [128, 128], antialias=True))
  np.testing.assert_allclose(got['mu'], mu, atol=1e-5)
  np.testing.assert_allclose(got['logvar'], logvar, atol=1e-5)
  png = _png(ref[0])
  from_bytes = loaded.signatures['encode_bytes'](images=tf.stack([png]))
  decoded = tf.cast(tf.io.decode_png(png), tf.float32)[None] / 127.5 - 1.0
  np.testing.assert_allclose(from_bytes['mu'], loaded.signatures['encode'](images=decoded)['mu'],
                             atol=1e-5)


def test_export_bytes_signatures_return_k_pngs_per_image(bicycle_export):
  _, loaded = bicycle_export
  x = tf.random.uniform([1, 60, 80, 3], -1, 1, seed=5)
  z = tf.random.normal([2, 8], seed=6)
  png = _png(x[0])
  got = loaded.signatures['a_to_b_sample_bytes'](images=tf.stack([png, png]), z=z)['output_bytes']
  assert got.shape == (2, 2)
  decoded = tf.cast(tf.io.decode_png(png), tf.float32)[None] / 127.5 - 1.0
  expected = loaded.signatures['a_to_b_sample'](images=decoded, z=z)['output'][0, 1]
  sample = tf.cast(tf.io.decode_png(got[1, 1]), tf.float32) / 127.5 - 1.0
  assert sample.shape == (60, 80, 3)
  np.testing.assert_allclose(sample, expected, atol=1.01 / 127.5)
  random = loaded.signatures['a_to_b_random_bytes'](
      images=tf.stack([png]), seed=tf.constant(1, tf.int64), num_samples=tf.constant(3))
  assert random['output_bytes'].shape == (1, 3) and random['z'].shape == (1, 3, 8)


def test_translate_writes_k_samples_and_uses_a_reference(bicycle_export, tmp_path):
  import os
  from PIL import Image
  from tfi2i import export, translate
  model, _ = bicycle_export
  export_dir = export.export_model(model, str(tmp_path / 'export'))
  inputs = tmp_path / 'in'
  inputs.mkdir()
  rng = np.random.default_rng(0)
  for name, size in (('x', (40, 50)), ('y', (130, 90))):
    Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(inputs / f'{name}.png')
  result = translate.translate(export_dir, str(inputs), str(tmp_path / 'out'), samples=3, seed=4)
  assert not result.failures
  files = sorted(os.listdir(tmp_path / 'out'))
  assert [f for f in files if f.endswith('.png')] == [f'{s}__s{j}.png' for s in 'xy' for j in range(3)]
  samples = [np.asarray(Image.open(tmp_path / 'out' / f'y__s{j}.png')) for j in range(3)]
  assert samples[0].shape == (130, 90, 3)
  assert np.abs(samples[0].astype(int) - samples[1]).max() > 0  # distinct samples
  html = open(result.gallery).read()
  assert html.index('x__s0.png') < html.index('x__s1.png') < html.index('x__s2.png')
  again = translate.translate(export_dir, str(inputs / 'y.png'), str(tmp_path / 'again'), samples=3, seed=4)
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'again' / 'y__s1.png')), samples[1])
  # --reference: one output per input, styled by the reference's code
  ref = translate.translate(export_dir, str(inputs), str(tmp_path / 'ref'), reference=str(inputs / 'x.png'))
  assert sorted(os.path.basename(p) for p in ref.outputs) == ['x.png', 'y.png']
  with pytest.raises(ValueError, match='either --samples'):
    translate.translate(export_dir, str(inputs), str(tmp_path / 'bad'), samples=2,
                        reference=str(inputs / 'x.png'))


def test_pix2pix_export_parity_in_eval_mode_and_stochastic_by_default(tmp_path):
  from tfi2i import export
  frozen = Pix2Pix(**dict(ngf=4, ndf=4, num_downs=7, eval_mode=True))
  loaded = tf.saved_model.load(export.export_model(frozen, str(tmp_path / 'frozen')))
  x = tf.random.uniform([2, 128, 128, 3], -1, 1, seed=9)
  np.testing.assert_allclose(loaded.signatures['a_to_b'](images=x)['output'], frozen(x), atol=1e-5)
  png = _png(x[0])
  out = loaded.signatures['a_to_b_bytes'](images=tf.stack([png]))['output_bytes'][0]
  decoded = tf.cast(tf.io.decode_png(png), tf.float32)[None] / 127.5 - 1.0
  expected = loaded.signatures['a_to_b'](images=decoded)['output'][0]
  np.testing.assert_allclose(tf.cast(tf.io.decode_png(out), tf.float32) / 127.5 - 1.0, expected,
                             atol=1.01 / 127.5)
  # the official test-time mode keeps dropout: two calls of the export differ
  noisy = Pix2Pix(**dict(ngf=4, ndf=4, num_downs=7))
  loaded = tf.saved_model.load(export.export_model(noisy, str(tmp_path / 'noisy')))
  first, second = (loaded.signatures['a_to_b'](images=x)['output'].numpy() for _ in range(2))
  assert np.abs(first - second).max() > 0
