"""The model API (issue 12's "done when"): a small model defined and registered here, with
no change to tfi2i/, trains, resumes exactly, exports (float, bytes, ONNX), translates and
evaluates.

The model: a tiny generator G(image, cond) -> (image, attention heatmap at half size), a
per-image conditioning vector `cond` as an extra input, a WGAN-GP critic trained twice per
generator step (three batches per step, as AttGAN's n_d), two optimizers with different
learning rates on U-GAT-IT's step-based linear decay, the gradient penalty drawn from
stateless seeds.
"""
import glob
import io
import os

import keras
import ml_collections
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from recipes import common
from tfi2i import config as recipe_lib
from tfi2i import endpoints as ep
from tfi2i import evaluate as evaluate_lib
from tfi2i import export
from tfi2i import losses
from tfi2i import models
from tfi2i import onnx_export
from tfi2i import translate as translate_lib
from tfi2i import restore as restore_lib
from tfi2i import workdir as workdir_lib
from tfi2i.models.base import average_loss
from tfi2i.models.base import TranslationModel
from tfi2i.training import loop

SIZE = 16  # training crops


class TinyConditional(TranslationModel):
  """G(a, cond) ~ b with a critic D(b) (WGAN-GP), two critic steps per generator step."""

  optimizer_names = ('g_optimizer', 'd_optimizer')
  loss_args = ('lambda_gp', 'lambda_rec')
  batches_per_step = 3  # critic, critic, generator
  size_multiple = 2

  def __init__(self, *, width=4, n_cond=2, lambda_gp=10.0, lambda_rec=1.0, seed=0, **kwargs):
    super().__init__(seed=seed, args=locals(), **kwargs)
    self.n_cond, self.lambda_gp, self.lambda_rec = n_cond, lambda_gp, lambda_rec
    image, cond = keras.Input((None, None, 3)), keras.Input((n_cond,))
    tiled = keras.ops.ones_like(image[..., :1]) * keras.ops.reshape(cond, (-1, 1, 1, n_cond))
    h = keras.layers.Conv2D(width, 3, padding='same', activation='relu')(
        keras.layers.Concatenate()([image, tiled]))
    out = keras.layers.Conv2D(3, 3, padding='same', activation='tanh', dtype='float32')(h)
    heat = keras.layers.AveragePooling2D(2)(
        keras.layers.Conv2D(1, 3, padding='same', activation='sigmoid', dtype='float32')(h))
    self.generator = keras.Model([image, cond], [out, heat], name='generator')
    x = keras.Input((None, None, 3))
    y = keras.layers.Conv2D(width, 4, strides=2, padding='same')(x)
    y = keras.layers.Conv2D(1, 4, padding='same', dtype='float32')(keras.layers.LeakyReLU(0.2)(y))
    self.critic = keras.Model(x, y, name='critic')

  def call(self, images, cond=None, training=False):
    if cond is None:
      cond = tf.zeros([tf.shape(images)[0], self.n_cond])
    return self.generator([images, cond], training=training)

  def build_for_training(self, batch_spec):
    self.g_optimizer.build(self.generator.trainable_variables)
    self.d_optimizer.build(self.critic.trainable_variables)

  def _cond(self, images, counter):
    return tf.random.stateless_uniform([tf.shape(images)[0], self.n_cond],
                                       self.stateless_seed(1, counter))

  def train_step(self, batches):
    d_logs = []
    for batch in batches[:-1]:  # the critic steps
      fake, _ = self(batch['a'], self._cond(batch['a'], self.d_optimizer.iterations))
      with tf.GradientTape() as tape:
        gp = losses.gradient_penalty(
            self.critic, batch['b'], fake, self.lambda_gp,
            seed=self.stateless_seed(2, self.d_optimizer.iterations))
        d_loss = average_loss(losses.discriminator_loss(
            self.critic(batch['b'], training=True), self.critic(fake, training=True),
            'wgangp') + gp)
      self.apply_gradients(self.d_optimizer, tape, d_loss, self.critic.trainable_variables)
      d_logs.append(d_loss)
    batch = batches[-1]  # the generator step
    with tf.GradientTape() as tape:
      fake, _ = self(batch['a'], self._cond(batch['a'], self.g_optimizer.iterations),
                     training=True)
      gan = average_loss(losses.generator_loss(self.critic(fake, training=True), 'wgangp'))
      rec = average_loss(self.lambda_rec * losses.l1_loss(fake, batch['b']))
      g_loss = gan + rec
    self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)
    return {'disc': tf.add_n(d_logs) / len(d_logs), 'gen_gan': gan, 'gen_rec': rec,
            'gen_total': g_loss}

  def image_panels(self, batch):
    fake, heat = self(batch['a'], tf.ones([tf.shape(batch['a'])[0], self.n_cond]))
    return {'a_to_b': [('real_a', batch['a']), ('fake_b', fake),
                       ('attention', heat, ep.HEATMAP)]}

  def endpoints(self):
    def a_to_b(images, cond):
      out, heat = self(images, cond)
      return {'output': out, 'attention': heat}
    return {'a_to_b': ep.Endpoint(
        a_to_b, inputs=(ep.Input('cond', shape=(self.n_cond,), per_image=True),),
        outputs=(ep.Output('output'), ep.Output('attention', ep.HEATMAP, size=ep.RESIZE)))}

  def sampler(self, samples, seed, batch_size):
    """K conditions per input: cond_j = j / (K - 1) in every dimension."""
    def sample(a, indices, labels):
      del indices, labels
      conds = np.linspace(0, 1, samples, dtype=np.float32)
      return np.stack([np.asarray(self(a, tf.fill([len(a), self.n_cond], c))[0])
                       for c in conds], axis=1)
    return sample, samples, f'{samples} conditions from 0 to 1'


@pytest.fixture(scope='module', autouse=True)
def registered():
  models.register('tiny_conditional', TinyConditional)
  yield
  del models.MODELS['tiny_conditional']


def _recipe(root, **train):
  c = ml_collections.ConfigDict()
  c.model, c.loss = models.recipe_sections('tiny_conditional', lambda_rec=2.0)
  c.optimizer = common.optimizer_config(('g_optimizer', 'd_optimizer'), lr=1e-3, beta1=0.5,
                                        beta2=0.9)
  c.optimizer.d_optimizer.lr = 4e-3
  c.schedule = common.schedule_config(policy='linear_steps')
  c.data = common.data_config()
  c.data.root, c.data.preprocess, c.data.load_size, c.data.crop_size = root, 'crop', SIZE, SIZE
  c.train = common.train_config()
  c.train.update(dict(batch_size=2, steps=4, log_every=1, image_every=2, checkpoint_every=100,
                      **train))
  c.export = common.export_config(at_end=False)
  return c


@pytest.fixture(scope='module')
def root(tmp_path_factory):
  base = tmp_path_factory.mktemp('data')
  rng = np.random.default_rng(0)
  for split, n in (('trainA', 5), ('trainB', 4), ('testA', 3), ('testB', 3)):
    os.makedirs(base / split)
    for i in range(n):
      Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(
          base / split / f'{i}.png')
  return str(base)


def _values(workdir):
  reader = tf.train.load_checkpoint(workdir_lib.latest_checkpoint(workdir))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if not k.startswith('_CHECKPOINTABLE') and 'save_counter' not in k}


def _scalars(workdir, tag):
  out = {}
  for path in glob.glob(os.path.join(workdir_lib.events_dir(workdir), 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for v in event.summary.value:
        if v.tag == tag:
          out[event.step] = float(tf.make_ndarray(v.tensor))
  return out


@pytest.fixture(scope='module')
def trained(root, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('straight'))
  result = loop.train(_recipe(root), workdir)
  return workdir, result


def test_trains_with_its_own_optimizers_and_critic_steps(trained):
  workdir, result = trained
  assert result.step == 4 and set(result.logs) == {'disc', 'gen_gan', 'gen_rec', 'gen_total'}
  assert all(np.isfinite(v) for v in result.logs.values())
  values = _values(workdir)
  iterations = {name: int(next(v for k, v in values.items() if f'{name}/_iterations/' in k))
                for name in ('g_optimizer', 'd_optimizer')}
  assert iterations == {'g_optimizer': 4, 'd_optimizer': 8}  # two critic steps per step
  g = _scalars(workdir, 'learning_rate/g_optimizer')
  d = _scalars(workdir, 'learning_rate/d_optimizer')
  # constant for the first half, then linear to zero per step (the training step's clock,
  # not the critic's 8 updates)
  np.testing.assert_allclose([g[1], g[2], g[3]], [1e-3, 5e-4, 0.0], rtol=1e-6, atol=1e-12)
  np.testing.assert_allclose([d[1], d[2]], [4e-3, 2e-3], rtol=1e-6)
  _, images = set(), set()
  for path in glob.glob(os.path.join(workdir_lib.events_dir(workdir), 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      images |= {v.tag for v in event.summary.value if v.metadata.plugin_data.plugin_name == 'images'}
  assert 'a_to_b' in images


def test_resumes_exactly(root, trained, tmp_path):
  workdir = str(tmp_path / 'resumed')
  assert loop.train(_recipe(root), workdir, stop_at=2).step == 2
  mid = _values(workdir)
  assert loop.train(_recipe(root), workdir).step == 4
  straight, resumed = _values(trained[0]), _values(workdir)
  assert straight.keys() == resumed.keys()
  for key in straight:
    np.testing.assert_allclose(resumed[key], straight[key], rtol=1e-5, atol=1e-6, err_msg=key)
  # the critic's kernels moved from step 2 to 4 (a WGAN critic's output bias gets no gradient)
  kernels = [k for k in mid if 'd_optimizer/_trainable_variables' in k and mid[k].ndim == 4]
  assert kernels and all(not np.array_equal(mid[k], resumed[k]) for k in kernels)


def test_unknown_recipe_key_names_it_and_the_keys_it_takes(root):
  config = _recipe(root)
  config.model.depth = 3
  with pytest.raises(models.RecipeError, match=r'model.depth.*TinyConditional.*n_cond, width'):
    recipe_lib.check_recipe(config)


@pytest.fixture(scope='module')
def exported(trained):
  return export.export_workdir(trained[0])


def _png(data):
  return np.asarray(Image.open(io.BytesIO(data)))


def test_export_float_and_bytes_read_the_declaration(trained, exported):
  loaded = tf.saved_model.load(exported)
  assert {'a_to_b', 'a_to_b_bytes', 'serving_default'} <= set(loaded.signatures)
  rng = np.random.default_rng(1)
  x = rng.uniform(-1, 1, (2, 19, 13, 3)).astype(np.float32)  # odd size: padded, cropped
  cond = np.array([[0, 0], [1, 1]], np.float32)
  out = loaded.signatures['a_to_b'](images=tf.constant(x), cond=tf.constant(cond))
  assert out['output'].shape == (2, 19, 13, 3) and out['attention'].shape == (2, 19, 13, 1)
  assert 0 <= float(tf.reduce_min(out['attention'])) and float(tf.reduce_max(out['attention'])) <= 1
  model, _, _, _ = restore_lib.restore_model(trained[0])
  want_out, want_heat = model(tf.constant(x[:, :18, :12]), tf.constant(cond))  # even crop
  np.testing.assert_allclose(out['output'][:, :16, :10], want_out[:, :16, :10], atol=1e-5)
  # the per-image condition matters: same image, other condition, other output
  same = loaded.signatures['a_to_b'](images=tf.constant(x[[0, 0]]), cond=tf.constant(cond))
  assert not np.allclose(same['output'][0], same['output'][1])
  pngs = [tf.io.encode_png(((x[i] + 1) * 127.5).round().astype(np.uint8)).numpy() for i in (0, 1)]
  got = loaded.signatures['a_to_b_bytes'](images=tf.constant(pngs), cond=tf.constant(cond))
  heat = _png(got['attention_bytes'][1].numpy())
  assert heat.shape == (19, 13)  # one gray channel, at the input's size
  want = np.clip(np.round(out['attention'][1, ..., 0].numpy() * 255), 0, 255)
  assert np.abs(heat.astype(int) - want).max() <= 1
  assert _png(got['output_bytes'][0].numpy()).shape == (19, 13, 3)
  info = export.read_metadata(exported)
  assert info['endpoints']['a_to_b']['inputs'][0]['per_image'] is True


def test_onnx_export(exported):
  report = onnx_export.export_onnx(exported)
  assert set(report['converted']) == {'a_to_b'}
  assert report['converted']['a_to_b']['max_abs_diff'] <= onnx_export.ATOL


def test_translate_writes_the_output_and_the_heatmap(root, exported, tmp_path):
  inputs = os.path.join(root, 'testA')
  with pytest.raises(ValueError, match="needs input 'cond'"):
    translate_lib.translate(exported, inputs, str(tmp_path / 'none'))
  result = translate_lib.translate(exported, inputs, str(tmp_path / 'out'),
                                   values={'cond': [1.0, 0.0]}, attention=True)
  assert result.translated == 3 and not result.failures
  heat = np.asarray(Image.open(tmp_path / 'out' / '0__attention.png'))
  assert heat.shape == (20, 20) and heat.dtype == np.uint8
  assert np.asarray(Image.open(tmp_path / 'out' / '0.png')).shape == (20, 20, 3)
  assert translate_lib.cli(exported, inputs, str(tmp_path / 'cli'), extra=['cond=0,1']) == 0


def test_evaluate_uses_the_models_sampler(trained):
  result = evaluate_lib.evaluate(trained[0], samples=3, batch_size=2)
  assert result['model'] == 'TinyConditional' and result['samples_per_input'] == 3
  assert result['num_inputs'] == 3 and result['diversity']['pairwise_l1'] > 0


def test_served_through_the_client_with_the_declaration(root, exported, tmp_path):
  """The development server serves the export; with the export's declaration
  (--declaration) the client sends the per-image condition and writes the heatmap as
  translate does, over the bytes and the float signatures."""
  from tfi2i.serving import client as client_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.serving import devserver  # pylint: disable=import-outside-toplevel
  inputs = os.path.join(root, 'testA')
  local = tmp_path / 'local'
  translate_lib.translate(exported, inputs, str(local), values={'cond': [1.0, 0.0]},
                          attention=True)
  server = devserver.start(model_name='tiny', model_base_path=os.path.dirname(exported))
  try:
    address = f'127.0.0.1:{server.rest_port}'
    # --attention needs the declaration: a server's SignatureDefs cannot tell a heatmap
    assert client_lib.cli(address, 'tiny', inputs, str(tmp_path / 'x'), extra=['cond=1,0'],
                          attention=True) == 1
    for how, kwargs in (('bytes', {}), ('float', dict(float=True))):
      kwargs['declaration'] = exported
      out = tmp_path / how
      assert client_lib.cli(address, 'tiny', inputs, str(out), extra=['cond=1,0'],
                            attention=True, **kwargs) == 0
      for name in ('0.png', '0__attention.png'):
        got = np.asarray(Image.open(out / name)).astype(int)
        want = np.asarray(Image.open(local / name)).astype(int)
        assert got.shape == want.shape and np.abs(got - want).max() <= 1, (how, name)
  finally:
    server.stop()
