"""The U-GAT-IT model (issue 13): one step of each variant, the loss terms against hand
computations, rho clipping, export with the attention map, translate --attention, training
from the recipe."""
import os

import keras
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from tfi2i import config as recipe_lib
from tfi2i import export
from tfi2i import translate as translate_lib
from tfi2i.models import UGATIT
from tfi2i.training import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(ngf=4, ndf=4, n_blocks=1, img_size=32, n_layers_global=5, n_layers_local=4)


def _batch(n=1, size=32, seed=0):
  rng = np.random.default_rng(seed)
  return {k: tf.constant(rng.uniform(-1, 1, (n, size, size, 3)).astype(np.float32)) for k in 'ab'}


def _compiled(model, lr=1e-4):
  model.compile(g_optimizer=keras.optimizers.Adam(lr, 0.5, 0.999),
                d_optimizer=keras.optimizers.Adam(lr, 0.5, 0.999))
  model.build_for_training(_batch())
  return model


@pytest.mark.parametrize('light', [True, False])
def test_one_step_of_each_variant(light):
  model = _compiled(UGATIT(**TINY, light=light))
  before = [w.numpy().copy() for w in model.gen_a2b.trainable_weights]
  logs = model.train_step(_batch())
  sides = ('gen_gan', 'cycle', 'identity', 'cam', 'disc')
  assert set(logs) == {f'{t}_{s}' for t in sides for s in 'ab'} | {'gen_total', 'disc_total'}
  assert all(np.isfinite(float(v)) for v in logs.values())
  assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.gen_a2b.trainable_weights))


def _bce(logits, target):
  p = 1 / (1 + np.exp(-logits))
  return -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))


def test_cycle_identity_and_cam_terms_by_hand():
  """The terms of the G step computed with NumPy from the generators before the step (the
  D update does not change them): CAM = BCE(G_b2a's classifier on real_B, 1) +
  BCE(on real_A, 0), the official G_cam_loss_A (and the same for B)."""
  model = _compiled(UGATIT(**TINY, light=True, cam_weight=1000.0, cycle_weight=10.0,
                           identity_weight=10.0))
  batch = _batch(seed=3)
  a, b = batch['a'], batch['b']
  fake_b, cam_ab, _ = (t.numpy() for t in model.gen_a2b(a, training=True))
  fake_a, cam_ba, _ = (t.numpy() for t in model.gen_b2a(b, training=True))
  same_a, cam_aa, _ = (t.numpy() for t in model.gen_b2a(a, training=True))
  same_b, cam_bb, _ = (t.numpy() for t in model.gen_a2b(b, training=True))
  rec_a = model.gen_b2a(fake_b, training=True)[0].numpy()
  want = {
      'cam_a': 1000 * (_bce(cam_ba, 1) + _bce(cam_aa, 0)),
      'cam_b': 1000 * (_bce(cam_ab, 1) + _bce(cam_bb, 0)),
      'identity_a': 10 * np.mean(np.abs(same_a - a.numpy())),
      'identity_b': 10 * np.mean(np.abs(same_b - b.numpy())),
      'cycle_a': 10 * np.mean(np.abs(rec_a - a.numpy())),
  }
  logs = model.train_step(batch)
  for key, value in want.items():
    np.testing.assert_allclose(float(logs[key]), value, rtol=1e-4, err_msg=key)


def test_discriminator_term_by_hand():
  """D_loss_A = MSE(D_GA(real_A), 1) + MSE(D_GA(fake_B2A), 0) + the same for its CAM logits
  and for D_LA, not halved (power iterations of the spectral norms included)."""
  model = _compiled(UGATIT(**TINY, light=True))
  batch = _batch(seed=4)
  fake_a = model.gen_b2a(batch['b'], training=True)[0]
  # replay the D step's calls on copies of the spectral-norm state
  state = [v.numpy().copy() for v in model.disc_ga.non_trainable_weights + model.disc_la.non_trainable_weights]
  want = 0.0
  for disc in (model.disc_ga, model.disc_la):
    real_scores, real_cam, _ = (t.numpy() for t in disc(batch['a'], training=True))
    fake_scores, fake_cam, _ = (t.numpy() for t in disc(fake_a, training=True))
    want += (np.mean((real_scores - 1) ** 2) + np.mean(fake_scores ** 2)
             + np.mean((real_cam - 1) ** 2) + np.mean(fake_cam ** 2))
  for v, s in zip(model.disc_ga.non_trainable_weights + model.disc_la.non_trainable_weights, state):
    v.assign(s)
  logs = model.train_step(batch)
  np.testing.assert_allclose(float(logs['disc_a']), want, rtol=1e-4)


def test_rho_stays_in_0_1_after_a_large_learning_rate_step():
  model = _compiled(UGATIT(**TINY, light=True), lr=10.0)
  for seed in range(2):
    model.train_step(_batch(seed=seed))
  rhos = [w.numpy() for w in model.gen_a2b.weights + model.gen_b2a.weights if 'rho' in w.path]
  assert len(rhos) == 2 * (2 * 1 + 2)  # 2 AdaILN per block, 2 ILN per generator
  values = np.concatenate(rhos)
  assert values.min() >= 0.0 and values.max() <= 1.0
  assert np.any((values == 0.0) | (values == 1.0))  # the step pushed some to the bounds


def test_mixed_bfloat16_keeps_cam_logits_float32_and_rho_clipped():
  """Under mixed_bfloat16 the CAM logits of generators and discriminators are computed in
  float32 (the CAM loss weighs 1000), and rho is still clipped to [0, 1] after a step."""
  keras.mixed_precision.set_global_policy('mixed_bfloat16')
  try:
    model = UGATIT(**TINY, light=False)
    model.compile(g_optimizer=keras.optimizers.Adam(10.0), d_optimizer=keras.optimizers.Adam(10.0))
    model.build_for_training(_batch())
    for net in (model.gen_a2b, model.disc_ga, model.disc_la):
      _, cam_logit, _ = net(_batch()['a'], training=True)
      assert cam_logit.dtype == tf.float32
      cams = [l for l in net.layers if l.__class__.__name__ == 'ClassActivation']
      assert [l.gap_fc.compute_dtype for l in cams] == ['float32']
    assert model.gen_a2b.get_layer('fc1').compute_dtype == 'float32'  # no bf16 kernel copies
    for seed in range(2):
      logs = model.train_step(_batch(seed=seed))
    assert np.isfinite(float(logs['cam_a']))
    rhos = np.concatenate([w.numpy() for w in model.gen_a2b.weights if 'rho' in w.path])
    assert rhos.min() >= 0.0 and rhos.max() <= 1.0 and np.any((rhos == 0.0) | (rhos == 1.0))
  finally:
    keras.mixed_precision.set_global_policy('float32')


def test_full_variant_step_equals_the_plain_tapes():
  """The full generator's wide gamma/beta kernel gets its gradient formed once from its three
  calls (layers.WideKernelGradients): the step updates every weight as the plain tape's
  gradients would. Reference: the same step with WideDense's recording switched off."""
  def run(wide):
    keras.utils.set_random_seed(5)
    model = _compiled(UGATIT(**TINY, light=False), lr=1e-2)
    if not wide:
      model.gen_a2b.get_layer('fc1').__class__ = keras.layers.Dense
      model.gen_b2a.get_layer('fc1').__class__ = keras.layers.Dense
    model.train_step(_batch(seed=4))
    return [w.numpy() for w in model.gen_a2b.weights + model.gen_b2a.weights]
  got, want = run(True), run(False)
  assert len(got) == len(want)
  for g, w in zip(got, want):
    np.testing.assert_allclose(g, w, atol=1e-5)


def test_full_variant_needs_its_image_size():
  model = UGATIT(**TINY, light=False)
  model.compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam())
  with pytest.raises(ValueError, match='trains on 32 px crops only'):
    model.build_for_training(_batch(size=48))


def _perturbed(light):
  model = UGATIT(**TINY, light=light)
  model.build_endpoints()
  rng = np.random.default_rng(7)
  for v in model.gen_a2b.trainable_weights + model.gen_b2a.trainable_weights:
    if 'rho' not in v.path:
      v.assign(np.asarray(v.value) + rng.normal(0, 0.05, v.shape).astype(np.float32))
  return model


@pytest.mark.parametrize('light', [True, False])
def test_export_returns_the_translation_and_the_attention(light, tmp_path):
  model = _perturbed(light)
  path = export.export_model(model, str(tmp_path / 'export'))
  loaded = tf.saved_model.load(path)
  x = np.random.default_rng(1).uniform(-1, 1, (2, 40, 36, 3)).astype(np.float32)
  got = loaded.signatures['b_to_a'](images=tf.constant(x))
  assert got['output'].shape == (2, 40, 36, 3) and got['attention'].shape == (2, 40, 36, 1)
  heat = got['attention'].numpy()
  assert heat.min() >= 0 and heat.max() <= 1 and heat.max() > 0.5
  if light:  # padded to 40x36 (multiples of 4): the model on the same input
    out, attention = model.translate(tf.constant(x), 'b_to_a')
    np.testing.assert_allclose(got['output'], out, atol=1e-5)
    want = tf.image.resize(attention, [40, 36], method='bilinear')
    np.testing.assert_allclose(got['attention'], want, atol=1e-5)
  else:  # the full variant runs at img_size: resized in and out
    small = tf.image.resize(x, [32, 32], method='bilinear')
    out, attention = model.translate(small, 'b_to_a')
    np.testing.assert_allclose(got['output'], tf.image.resize(out, [40, 36]), atol=1e-5)
    assert export.read_metadata(path)['endpoints']['b_to_a']['input_size'] == 32
  png = tf.io.encode_png(((x[0] + 1) * 127.5).round().astype(np.uint8)).numpy()
  as_bytes = loaded.signatures['b_to_a_bytes'](images=tf.constant([png]))
  gray = tf.io.decode_png(as_bytes['attention_bytes'][0]).numpy()
  assert gray.shape == (40, 36, 1)


def test_translate_attention_writes_gray_maps_of_the_input_size(tmp_path):
  path = export.export_model(_perturbed(True), str(tmp_path / 'export'))
  folder = tmp_path / 'in'
  folder.mkdir()
  rng = np.random.default_rng(2)
  for name, size in (('wide', (30, 50)), ('tall', (45, 26))):
    Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(folder / f'{name}.png')
  plain = translate_lib.translate(path, str(folder), str(tmp_path / 'plain'))
  assert not [f for f in os.listdir(tmp_path / 'plain') if 'attention' in f]
  assert plain.translated == 2
  result = translate_lib.translate(path, str(folder), str(tmp_path / 'out'), attention=True)
  assert result.translated == 2 and not result.failures
  for name, size in (('wide', (30, 50)), ('tall', (45, 26))):
    heat = np.asarray(Image.open(tmp_path / 'out' / f'{name}__attention.png'))
    assert heat.shape == size and heat.dtype == np.uint8 and heat.max() > heat.min()
    assert np.asarray(Image.open(tmp_path / 'out' / f'{name}.png')).shape == size + (3,)
  assert 'attention' in open(tmp_path / 'out' / 'index.html').read()


def test_light_recipe_trains_on_a_folder_with_attention_in_tensorboard(make_image_folder, tmp_path):
  for rel, seed in (('trainA', 1), ('trainB', 2)):
    make_image_folder(os.path.join('data', rel), 3, size=(40, 40), seed=seed)
  config = recipe_lib.override(recipe_lib.load_recipe(os.path.join(ROOT, 'recipes', 'ugatit_light.py')), {
      **{f'model.{k}': v for k, v in TINY.items()}, 'data.root': str(tmp_path / 'data'),
      'data.load_size': 36, 'data.crop_size': 32, 'train.steps': 2, 'train.log_every': 1,
      'train.image_every': 1, 'export.at_end': True})
  workdir = str(tmp_path / 'run')
  result = loop.train(config, workdir)
  assert result.step == 2 and np.isfinite(result.logs['gen_total'])
  described = set()
  for path in tf.io.gfile.glob(os.path.join(workdir, 'train', 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for v in event.summary.value:
        if v.metadata.plugin_data.plugin_name == 'images':
          described.add((v.tag, v.metadata.summary_description))
  assert ('a_to_b', 'real_a | attention | fake_b | disc_global_attention | '
          'disc_local_attention | rec_a') in described
  loaded = tf.saved_model.load(result.export_dir)
  out = loaded.signatures['a_to_b'](images=tf.zeros([1, 32, 32, 3]))
  assert set(out) == {'output', 'attention'}
