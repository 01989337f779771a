"""tfi2i.onnx_export: float signatures to ONNX, checked against the SavedModel."""
import json
import os

from conftest import build_both_directions as _build
from conftest import DIRECTIONS
from conftest import perturb as _perturb
from conftest import TINY_CYCLEGAN as TINY
from conftest import TINY_BICYCLE
import numpy as np
import onnxruntime as ort
import pytest
import tensorflow as tf

from tfi2i import config as config_lib
from tfi2i import export
from tfi2i import onnx_export
from tfi2i.models import BicycleGAN
from tfi2i.models import CycleGAN
from tfi2i.models import build_model

RECIPE = os.path.join(os.path.dirname(__file__), '..', 'recipes', 'cyclegan.py')
PIX2PIX_RECIPE = os.path.join(os.path.dirname(__file__), '..', 'recipes', 'pix2pix.py')


def _random(shape, seed=0):
  return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
  model = _build(CycleGAN(**TINY))
  _perturb(model, 0)
  path = export.export_model(model, str(tmp_path_factory.mktemp('export')))
  report = onnx_export.export_onnx(path)
  return model, path, tf.saved_model.load(path), report


def test_report_lists_converted_and_skipped(converted):
  _, path, _, report = converted
  assert set(report['converted']) == set(DIRECTIONS)
  assert report['failed'] == {}
  assert sorted(os.listdir(os.path.join(path, 'onnx'))) == ['a_to_b.onnx', 'b_to_a.onnx']
  for name in DIRECTIONS:
    info = report['converted'][name]
    assert info['path'] == os.path.join(path, 'onnx', name + '.onnx')
    assert 0 <= info['max_abs_diff'] <= 1e-4
  assert set(report['skipped']) == {'a_to_b_bytes', 'b_to_a_bytes', 'serving_default'}
  for name in ('a_to_b_bytes', 'b_to_a_bytes'):
    assert 'decodes/encodes images' in report['skipped'][name]
  text = onnx_export.format_report(report)
  assert 'skipped a_to_b_bytes: cannot be converted' in text
  assert 'a_to_b.onnx  max_abs_diff=' in text


@pytest.mark.parametrize('direction', DIRECTIONS)
def test_onnx_equals_saved_model_at_dynamic_sizes(converted, direction):
  model, path, loaded, _ = converted
  session = ort.InferenceSession(os.path.join(path, 'onnx', direction + '.onnx'),
                                 providers=['CPUExecutionProvider'])
  (images,) = session.get_inputs()
  assert images.name == 'images'
  assert images.shape[3] == 3
  assert not any(isinstance(d, int) for d in images.shape[:3])  # batch, H, W dynamic
  assert [o.name for o in session.get_outputs()] == ['output']
  # Sizes other than the check's, including one that needs padding (37x29, multiple 4).
  for i, shape in enumerate([(2, 64, 48, 3), (1, 40, 72, 3), (3, 37, 29, 3)]):
    x = _random(shape, seed=i)
    (y,) = session.run(['output'], {'images': x})
    assert y.shape == shape
    expected = loaded.signatures[direction](images=tf.constant(x))['output'].numpy()
    np.testing.assert_allclose(y, expected, atol=1e-4)
    if i == 0:  # same size as the model's input: no padding, compare with Keras too
      np.testing.assert_allclose(y, model(tf.constant(x), direction=direction).numpy(),
                                 atol=1e-4)
    assert np.std(y) > 0.05  # not a constant image


def test_bytes_signature_is_refused_and_writes_nothing(converted, tmp_path):
  _, path, _, _ = converted
  out = tmp_path / 'onnx'
  with pytest.raises(ValueError, match="'a_to_b_bytes' cannot be converted: decodes/encodes"):
    onnx_export.export_onnx(path, output_dir=str(out), signatures=['a_to_b_bytes'])
  assert not out.exists() or os.listdir(out) == []
  with pytest.raises(ValueError, match='no signature'):
    onnx_export.export_onnx(path, output_dir=str(out), signatures='c_to_d')
  assert not out.exists() or os.listdir(out) == []


def test_failed_check_leaves_no_file(converted, tmp_path):
  _, path, _, _ = converted
  out = tmp_path / 'onnx'
  # The real differences are ~1e-6: a tolerance of 1e-12 makes the check fail.
  with pytest.raises(onnx_export.OnnxExportError, match='differs from the SavedModel') as e:
    onnx_export.export_onnx(path, output_dir=str(out), signatures='a_to_b', atol=1e-12)
  assert set(e.value.report['failed']) == {'a_to_b'}
  assert e.value.report['converted'] == {}
  assert os.listdir(out) == []  # neither the .onnx nor the temporary file


def test_check_catches_wrong_padding_of_plain_tf2onnx(converted, tmp_path, monkeypatch):
  # tf2onnx's own integer FloorMod truncates (floormod(-37, 4) = -1), so the padded size is
  # wrong for 37x29 and the model returns 36x28: the check must refuse it.
  _, path, _, _ = converted
  monkeypatch.setattr(onnx_export, 'CUSTOM_OP_HANDLERS', {})
  out = tmp_path / 'onnx'
  with pytest.raises(onnx_export.OnnxExportError, match=r'ONNX shape \(2, 36, 28, 3\)'):
    onnx_export.export_onnx(path, output_dir=str(out), signatures='b_to_a')
  assert os.listdir(out) == []


def test_bicyclegan_sample_converts_and_encode_is_refused(tmp_path):
  model = BicycleGAN(**dict(TINY_BICYCLE, variant='bicycle'))
  # Creates the generator's and encoder's variables (as export_workdir does).
  model.build_endpoints()
  _perturb(model, 1)
  path = export.export_model(model, str(tmp_path / 'export'))
  report = onnx_export.export_onnx(path, signatures=['a_to_b_sample'])
  assert report['converted']['a_to_b_sample']['max_abs_diff'] <= 1e-4
  session = ort.InferenceSession(report['converted']['a_to_b_sample']['path'],
                                 providers=['CPUExecutionProvider'])
  assert [i.name for i in session.get_inputs()] == ['images', 'z']
  x = _random([2, 36, 52, 3], seed=7)
  z = np.random.default_rng(8).normal(size=(4, 8)).astype(np.float32)
  (y,) = session.run(['output'], {'images': x, 'z': z})
  assert y.shape == (2, 4, 36, 52, 3)
  expected = tf.saved_model.load(path).signatures['a_to_b_sample'](
      images=tf.constant(x), z=tf.constant(z))['output'].numpy()
  np.testing.assert_allclose(y, expected, atol=1e-4)
  assert np.abs(y[:, 0] - y[:, 1]).max() > 1e-3  # the codes matter
  # Integer inputs and `encode`'s antialiased resize (ScaleAndTranslate, no ONNX
  # conversion) are refused up front, by name, and skipped with a reason by default.
  with pytest.raises(ValueError, match=r'non-float inputs num_samples \(int32\), seed \(int64\)'):
    onnx_export.export_onnx(path, signatures='a_to_b_random')
  with pytest.raises(ValueError, match='antialiased image resize'):
    onnx_export.export_onnx(path, signatures='encode')
  assert sorted(os.listdir(os.path.join(path, 'onnx'))) == ['a_to_b_sample.onnx']
  report = onnx_export.export_onnx(path)
  assert sorted(report['converted']) == ['a_to_b', 'a_to_b_sample']
  assert 'antialiased' in report['skipped']['encode']


def _workdir(path, model, step=3, recipe=RECIPE, tiny=TINY):
  config = config_lib.load_recipe(recipe)
  config.model.update(tiny)
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, 'recipe.json'), 'w') as f:
    f.write(json.dumps(config.to_dict()))
  checkpoint = tf.train.Checkpoint(step=tf.Variable(step, dtype=tf.int64), model=model)
  tf.train.CheckpointManager(checkpoint, os.path.join(path, 'checkpoints'), 3).save()
  return str(path)


def test_cli_onnx_exports_then_reuses_the_newest_version(tmp_path, capsys):
  config = config_lib.load_recipe(RECIPE)
  config.model.update(TINY)
  model = _build(build_model(config))
  workdir = _workdir(tmp_path / 'run', model)
  assert export.cli(workdir, fmt='onnx') == 0
  out = capsys.readouterr().out
  version = os.path.join(workdir, 'export', '1')
  assert f'SavedModel: {version}' in out
  for name in DIRECTIONS:
    assert f'{os.path.join(version, "onnx", name)}.onnx  max_abs_diff=' in out
  assert 'skipped a_to_b_bytes' in out
  assert export.cli(workdir, fmt='onnx') == 0  # reuses version 1, does not export 2
  assert export.existing_versions(os.path.join(workdir, 'export')) == [1]
  assert export.cli(str(tmp_path / 'missing'), fmt='onnx') == 1
  assert 'failed' in capsys.readouterr().err


def test_pix2pix_dropout_is_refused_then_converts_in_eval_mode(tmp_path, capsys):
  """pix2pix's official test mode keeps dropout on (random ops): ONNX is refused with a
  pointer to --eval_mode, which exports a deterministic version that converts."""
  tiny = dict(ngf=4, ndf=4, num_downs=7)
  config = config_lib.load_recipe(PIX2PIX_RECIPE)
  config.model.update(tiny)
  model = build_model(config)
  model.build_endpoints()
  _perturb(model, 5)
  workdir = _workdir(tmp_path / 'p2p', model, recipe=PIX2PIX_RECIPE, tiny=tiny)
  assert export.cli(workdir, fmt='onnx') == 1
  captured = capsys.readouterr()
  assert 'draws random numbers at inference' in captured.err and '--eval_mode' in captured.err
  assert not os.path.exists(os.path.join(workdir, 'export', '1', 'onnx', 'a_to_b.onnx'))
  assert export.cli(workdir, fmt='onnx', eval_mode=True) == 0
  assert export.existing_versions(os.path.join(workdir, 'export')) == [1, 2]
  out = capsys.readouterr().out
  assert 'a_to_b.onnx  max_abs_diff=' in out
  with open(os.path.join(workdir, 'export', '2', export.METADATA_PATH)) as f:
    assert json.load(f)['recipe']['model']['eval_mode'] is True
  # The eval-mode export is deterministic: the same input twice gives the same output.
  loaded = tf.saved_model.load(os.path.join(workdir, 'export', '2'))
  x = _random([1, 40, 36, 3], seed=9)
  np.testing.assert_array_equal(loaded.signatures['a_to_b'](images=x)['output'].numpy(),
                                loaded.signatures['a_to_b'](images=x)['output'].numpy())
  assert export.cli(workdir, fmt='onnx', eval_mode=True) == 0  # reuses version 2
  assert export.existing_versions(os.path.join(workdir, 'export')) == [1, 2]
  cyclegan = _workdir(tmp_path / 'cg', _build(CycleGAN(**TINY)))
  assert export.cli(cyclegan, eval_mode=True) == 1
  assert 'has no eval mode' in capsys.readouterr().err


def test_translate_through_onnx_runtime(converted, tmp_path):
  """translate --model=<version>/onnx runs the ONNX files and writes what the SavedModel
  writes (within one level where the conversion's 1e-6 differences cross a rounding tie)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from tfi2i import translate  # pylint: disable=g-import-not-at-top
  _, path, _, _ = converted
  inputs = tmp_path / 'in'
  inputs.mkdir()
  rng = np.random.default_rng(3)
  for name, size in (('a', (20, 28)), ('b', (37, 29))):
    Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(inputs / f'{name}.png')
  for direction in DIRECTIONS:
    local = translate.translate(path, str(inputs), str(tmp_path / 'tf' / direction), direction)
    onnx = translate.translate(os.path.join(path, 'onnx'), str(inputs),
                               str(tmp_path / 'onnx' / direction), direction)
    assert onnx.model_dir == os.path.join(path, 'onnx') and not onnx.failures
    for ours, theirs in zip(onnx.outputs, local.outputs):
      a = np.asarray(Image.open(ours)).astype(int)
      b = np.asarray(Image.open(theirs)).astype(int)
      assert a.shape == b.shape and np.abs(a - b).max() <= 1
  with pytest.raises(ValueError, match="unknown signature 'c_to_d'"):
    translate.translate(os.path.join(path, 'onnx'), str(inputs), str(tmp_path / 'x'), 'c_to_d')
