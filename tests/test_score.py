"""tfi2i.score: a translated gallery scored against its paired truth and against identity."""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from tfi2i import score as score_lib
from tfi2i.data.images import DataError


def _png(path, array):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)


def _gallery(tmp_path, n=3, size=16, noise=8, truth_ext='.png'):
  """A gallery as translate writes it: inputs far from the truth, translations close."""
  rng = np.random.default_rng(0)
  gallery, truth = tmp_path / 'gallery', tmp_path / 'truth'
  arrays = {}
  for i in range(n):
    name = f'r0{i}_c1{i}'
    t = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    x = (255 - t).astype(np.uint8)  # far: the inverse
    y = np.clip(t.astype(int) + rng.integers(-noise, noise + 1, t.shape), 0, 255).astype(np.uint8)
    _png(str(gallery / 'inputs' / f'{name}.png'), x)
    _png(str(gallery / f'{name}.png'), y)
    if truth_ext == '.png':
      _png(str(truth / f'{name}.png'), t)
    else:
      os.makedirs(truth, exist_ok=True)
      Image.fromarray(t).save(str(truth / f'{name}{truth_ext}'), quality=100)
    arrays[name] = (x, y, t)
  return str(gallery), str(truth), arrays


def _psnr(a, b):
  a, b = a.astype(np.float64) / 127.5 - 1, b.astype(np.float64) / 127.5 - 1
  return 10 * np.log10(4.0 / np.mean((a - b) ** 2))


def test_scores_match_psnr_by_hand_and_beat_identity(tmp_path):
  gallery, truth, arrays = _gallery(tmp_path)
  scores = score_lib.score(gallery, truth)
  assert scores.names == sorted(arrays)
  for i, name in enumerate(scores.names):
    x, y, t = arrays[name]
    assert scores.translation['psnr'][i] == pytest.approx(_psnr(y, t), abs=1e-6)
    assert scores.identity['psnr'][i] == pytest.approx(_psnr(x, t), abs=1e-6)
  assert scores.wins() == 3
  assert scores.mean('translation', 'ssim') > 0.9 > 0.0 > scores.mean('identity', 'ssim')
  path_json, path_html = score_lib.write(scores, gallery, truth, 'test')
  with open(path_json, encoding='utf-8') as f:
    saved = json.load(f)
  assert saved['count'] == 3 and saved['closer_than_identity'] == 3
  mse = np.mean([np.mean((y / 127.5 - t / 127.5) ** 2) for _, y, t in arrays.values()])
  assert saved['mean']['translation']['psnr'] == pytest.approx(10 * np.log10(4 / mse))
  page = open(path_html, encoding='utf-8').read()
  assert 'identity' in page and '../truth/r00_c10.png' in page


def test_an_exact_match_keeps_the_set_psnr_finite(tmp_path):
  gallery, truth, arrays = _gallery(tmp_path)
  name = sorted(arrays)[0]
  _png(os.path.join(gallery, f'{name}.png'), arrays[name][2])  # this one is exact
  scores = score_lib.score(gallery, truth)
  assert scores.translation['psnr'][0] == score_lib.PSNR_CAP
  assert np.isfinite(scores.mean('translation', 'psnr'))
  assert scores.mean('translation', 'psnr') > scores.mean('identity', 'psnr')


def test_truth_of_another_extension_is_found_by_name(tmp_path):
  gallery, truth, _ = _gallery(tmp_path, truth_ext='.jpg')
  assert len(score_lib.score(gallery, truth).names) == 3


def test_missing_truth_missing_translation_and_sizes_are_named(tmp_path):
  gallery, truth, _ = _gallery(tmp_path)
  os.remove(os.path.join(truth, 'r01_c11.png'))
  with pytest.raises(ValueError, match=r'1 inputs have no image of the same name in .*r01_c11'):
    score_lib.score(gallery, truth)
  gallery, truth, _ = _gallery(tmp_path / 'two')
  os.remove(os.path.join(gallery, 'r02_c12.png'))
  with pytest.raises(ValueError, match=r'1 inputs have no translation .*r02_c12\.png'):
    score_lib.score(gallery, truth)
  gallery, truth, _ = _gallery(tmp_path / 'three')
  _png(os.path.join(truth, 'r00_c10.png'), np.zeros((8, 16, 3), np.uint8))
  with pytest.raises(ValueError, match=r'r00_c10: input 16x16, translation 16x16 and truth '
                                       r'.* 16x8 differ in size'):
    score_lib.score(gallery, truth)
  with pytest.raises(ValueError, match='no inputs/ folder'):
    score_lib.score(truth, truth)


def test_a_corrupt_truth_image_is_named(tmp_path):
  gallery, truth, _ = _gallery(tmp_path)
  with open(os.path.join(truth, 'r01_c11.png'), 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\nnot really')
  with pytest.raises(DataError, match='r01_c11.png'):
    score_lib.score(gallery, truth)


def test_command_prints_the_means_and_require_better_fails_when_identity_wins(tmp_path):
  gallery, truth, _ = _gallery(tmp_path)
  run = lambda *args: subprocess.run(
      [sys.executable, '-m', 'tfi2i.score', f'--gallery={gallery}', *args],
      capture_output=True, text=True, check=False)
  out = run(f'--truth={truth}', '--label=a_to_b', '--require_better')
  assert out.returncode == 0, out.stderr
  assert 'a_to_b: 3 images: translation PSNR' in out.stdout
  assert 'closer on 3/3' in out.stdout
  # the inputs as the truth: identity is perfect, the translation cannot beat it
  out = run(f'--truth={os.path.join(gallery, "inputs")}', '--require_better')
  assert out.returncode == 1 and 'does not beat identity' in out.stderr
