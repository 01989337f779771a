"""Issue 14's "done when", end to end on a tiny CelebA-convention folder: `python -m
tfi2i.train --recipe=recipes/attgan.py --recipe.cam.apply_to=both --recipe.data.root=DIR`
trains with Grad-CAM masks in TensorBoard, the export edits attributes (float and bytes
signatures, parity with the model), and translate --attrs / --edit=each write the edits."""
import glob
import io
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from conftest import write_attribute_folder
from tfi2i import translate as translate_lib
from tfi2i import restore as restore_lib
from tfi2i import workdir as workdir_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ['Bangs', 'Black_Hair', 'Blond_Hair', 'Male', 'Young']
TINY = {'model.attributes': "('Bangs','Blond_Hair','Black_Hair','Male')", 'model.dim': 8,
        'model.n_layers': 3, 'model.dis_dim': 8, 'model.dis_layers': 3,
        'model.dis_fc_dim': 16, 'model.n_d': 2, 'model.image_size': 32,
        'data.load_size': 36, 'data.crop_size': 32, 'data.test_count': 2,
        'train.steps': 3, 'train.batch_size': 4, 'train.log_every': 1, 'train.image_every': 2}
ATTRS = ('Bangs', 'Blond_Hair', 'Black_Hair', 'Male')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  root = tmp_path_factory.mktemp('celeba')
  write_attribute_folder(str(root), n=14, names=NAMES)
  workdir = str(tmp_path_factory.mktemp('run'))
  args = [sys.executable, '-m', 'tfi2i.train', '--recipe=recipes/attgan.py',
          '--recipe.cam.apply_to=both', f'--recipe.data.root={root}', f'--workdir={workdir}']
  args += [f'--recipe.{k}={v}' for k, v in TINY.items()]
  r = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
  return workdir, str(root)


def _summaries(workdir):
  images, scalars = set(), set()
  for path in glob.glob(os.path.join(workdir_lib.events_dir(workdir), 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for v in event.summary.value:
        (images if v.metadata.plugin_data.plugin_name == 'images' else scalars).add(v.tag)
  return images, scalars


def test_trains_with_gradcam_masks_in_tensorboard(trained):
  workdir, _ = trained
  images, scalars = _summaries(workdir)
  assert {'edits', 'gradcam'} <= images
  assert {'loss/disc_cam', 'loss/gen_cam', 'loss/gen_att', 'loss/disc_gp'} <= scalars
  assert {'cam/d_coverage', 'cam/d_change_lift', 'cam/g_coverage', 'cam/g_change_lift'} <= scalars
  recipe = json.load(open(os.path.join(workdir, 'recipe.json')))
  assert recipe['cam']['apply_to'] == 'both' and tuple(recipe['data']['attributes']) == ATTRS


@pytest.fixture(scope='module')
def exported(trained):
  return os.path.join(trained[0], 'export', '1')


def test_export_edits_with_attribute_inputs(trained, exported):
  loaded = tf.saved_model.load(exported)
  assert {'edit', 'edit_bytes', 'edit_with_mask', 'attributes'} <= set(loaded.signatures)
  model, _, _, _ = restore_lib.restore_model(trained[0])
  rng = np.random.default_rng(2)
  x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
  target = np.array([[1, 0, 0, 1], [0, 1, 0, 0]], np.float32)
  out = loaded.signatures['edit'](images=tf.constant(x), attributes=tf.constant(target))
  source = model.estimate_attributes(tf.constant(x))
  want = model.edit(tf.constant(x), source, tf.constant(target))
  np.testing.assert_allclose(out['output'], want, atol=2e-5)
  # the target matters
  other = loaded.signatures['edit'](images=tf.constant(x), attributes=tf.constant(1 - target))
  assert not np.allclose(out['output'], other['output'])
  masked = loaded.signatures['edit_with_mask'](images=tf.constant(x),
                                               attributes=tf.constant(target))
  np.testing.assert_allclose(masked['output'], out['output'], atol=1e-6)
  assert masked['mask'].shape == (2, 32, 32, 1)
  probs = loaded.signatures['attributes'](images=tf.constant(x))['probabilities']
  np.testing.assert_allclose(probs, tf.sigmoid(model.discriminator(x)[1]), atol=1e-5)
  # bytes: PNGs in, PNGs out, any size (resized to 32 and back)
  pixels = rng.integers(0, 256, (45, 38, 3), dtype=np.uint8)
  png = tf.io.encode_png(pixels).numpy()
  got = loaded.signatures['edit_bytes'](images=tf.constant([png]),
                                        attributes=tf.constant(target[:1]))
  edited = np.asarray(Image.open(io.BytesIO(got['output_bytes'][0].numpy())))
  assert edited.shape == (45, 38, 3)
  as_float = loaded.signatures['edit'](images=tf.constant(pixels[None] / 127.5 - 1, tf.float32),
                                       attributes=tf.constant(target[:1]))['output'][0]
  assert np.abs(translate_lib.to_uint8(as_float.numpy()).astype(int) - edited).max() <= 1


def test_translate_attrs_and_edit_each(trained, exported, tmp_path):
  _, root = trained
  inputs = sorted(glob.glob(os.path.join(root, 'img_align_celeba', '*.jpg')))[:3]
  folder = tmp_path / 'in'
  folder.mkdir()
  for p in inputs:
    Image.open(p).save(folder / (os.path.basename(p)[:-4] + '.png'))
  (folder / 'broken.png').write_bytes(b'not a png')
  run = lambda *flags: subprocess.run(
      [sys.executable, '-m', 'tfi2i.translate', f'--model={exported}', f'--input={folder}',
       *flags], capture_output=True, text=True, cwd=REPO, timeout=300)
  r = run(f'--output={tmp_path / "each"}', '--edit=each', '--mask')
  assert r.returncode == 1 and 'broken.png' in r.stderr  # the bad file is named, the rest done
  names = sorted(os.listdir(tmp_path / 'each'))
  for stem in ('000000', '000001', '000002'):
    for attr in ATTRS:
      assert f'{stem}__{attr}.png' in names and f'{stem}__{attr}__mask.png' in names
  gallery = open(tmp_path / 'each' / 'index.html').read()
  assert all(f'<th>{a}</th>' in gallery for a in ATTRS)
  found = json.load(open(tmp_path / 'each' / 'attributes.json'))
  assert found['attributes'] == list(ATTRS) and len(found['probabilities']) == 3

  os.remove(folder / 'broken.png')
  r = run(f'--output={tmp_path / "attrs"}', '--attrs=Bangs=1,Male=-1')
  assert r.returncode == 0, r.stderr[-2000:]
  assert sorted(n for n in os.listdir(tmp_path / 'attrs') if n.endswith('.png')) == [
      '000000.png', '000001.png', '000002.png']
  # the edit equals the export's edit with the target built from the classifier's estimate
  loaded = tf.saved_model.load(exported)
  image = np.asarray(Image.open(folder / '000001.png').convert('RGB'))
  x = tf.constant(image[None] / 127.5 - 1, tf.float32)
  source = (loaded.signatures['attributes'](images=x)['probabilities'].numpy() > 0.5)
  target = source.astype(np.float32)
  target[0, 0], target[0, 3] = 1, 0  # Bangs=1, Male=-1
  want = translate_lib.to_uint8(loaded.signatures['edit'](
      images=x, attributes=tf.constant(target))['output'][0].numpy())
  got = np.asarray(Image.open(tmp_path / 'attrs' / '000001.png'))
  assert np.abs(got.astype(int) - want).max() <= 1

  r = run(f'--output={tmp_path / "bad"}', '--attrs=Hat=1')
  assert r.returncode == 1 and "no attribute 'Hat'; it edits: Bangs, Blond_Hair" in r.stderr
  r = run(f'--output={tmp_path / "bad"}', '--edit=all')
  assert r.returncode == 1 and '--edit=all' in r.stderr


def test_attribute_targets_follow_the_official_rules():
  from tfi2i import attribute_rules  # pylint: disable=g-import-not-at-top
  source = np.array([[0, 1, 0, 1]], np.float32)  # Bangs, Blond_Hair, Black_Hair, Male
  np.testing.assert_array_equal(attribute_rules.change(source, ATTRS, 2), [[0, 0, 1, 1]])
  np.testing.assert_array_equal(attribute_rules.change(source, ATTRS, 1), [[0, 1, 0, 1]])  # set
  np.testing.assert_array_equal(attribute_rules.change(source, ATTRS, 3), [[0, 1, 0, 0]])
  np.testing.assert_array_equal(attribute_rules.change(source, ATTRS, 1, 0.0), [[0, 0, 0, 1]])


def test_evaluate_scores_every_edit(trained):
  from tfi2i import evaluate  # pylint: disable=g-import-not-at-top
  result = evaluate.evaluate(trained[0], split='test')
  assert result['model'] == 'AttGAN' and result['num_inputs'] == 2  # data.test_count
  assert result['samples_per_input'] == len(ATTRS) and result['num_samples'] == 2 * len(ATTRS)
  assert result['realism']['num_fake'] == 2 * len(ATTRS)


def test_onnx_converts_the_edit_and_names_why_not_the_mask(exported, tmp_path):
  """The edit (image + target attributes) and the classifier convert with parity; the
  Grad-CAM mask, a gradient at inference, is skipped with the reason."""
  import onnxruntime  # pylint: disable=g-import-not-at-top
  from tfi2i import onnx_export  # pylint: disable=g-import-not-at-top
  report = onnx_export.export_onnx(exported, output_dir=str(tmp_path / 'onnx'))
  assert set(report['converted']) == {'edit', 'attributes'}
  assert all(v['max_abs_diff'] <= 1e-4 for v in report['converted'].values())
  assert 'takes gradients at inference' in report['skipped']['edit_with_mask']
  session = onnxruntime.InferenceSession(report['converted']['edit']['path'])
  x = np.random.default_rng(3).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
  target = np.array([[1, 0, 1, 0]], np.float32)
  feeds = {i.name: (x if 'image' in i.name else target) for i in session.get_inputs()}
  got = session.run(None, feeds)[0]
  want = tf.saved_model.load(exported).signatures['edit'](
      images=tf.constant(x), attributes=tf.constant(target))['output']
  np.testing.assert_allclose(got, want, atol=1e-4)
