"""tfi2i.translate: model folder resolution, mixed inputs, bad files, gallery, CLI."""
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from tfi2i import export
from tfi2i import translate as translate_lib
from tfi2i.models import CycleGAN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (PIL mode, height, width); saved with the format of the extension.
GOOD = {
    'rgb.png': ('RGB', 20, 28),
    'tall.jpg': ('RGB', 33, 17),
    'square.png': ('RGB', 64, 64),
    'square2.bmp': ('RGB', 64, 64),
    'gray.png': ('L', 16, 24),
    'alpha.png': ('RGBA', 21, 19),
    'dup.png': ('RGB', 12, 10),
    'dup.jpg': ('RGB', 9, 14),
}
BAD = 'corrupt.png'


@pytest.fixture(scope='module')
def export_base(tmp_path_factory):
  model = CycleGAN(**dict(ngf=4, ndf=4, n_blocks=1))
  for d in ('a_to_b', 'b_to_a'):
    model(tf.zeros([1, 16, 16, 3]), direction=d)
  rng = np.random.default_rng(0)
  for v in model.weights:  # larger weights: outputs that are not almost constant
    v.assign(np.asarray(v.value) + rng.normal(0, 0.1, v.shape).astype(np.float32))
  base = str(tmp_path_factory.mktemp('export'))
  export.export_model(model, base)
  return base


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
  path = tmp_path_factory.mktemp('inputs')
  rng = np.random.default_rng(1)
  for name, (mode, h, w) in GOOD.items():
    channels = {'L': 1, 'RGB': 3, 'RGBA': 4}[mode]
    pixels = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode).save(path / name)
  (path / BAD).write_bytes(b'\x89PNG\r\n\x1a\n' + b'truncated garbage')
  (path / 'notes.txt').write_text('not an image, not listed')
  (path / '.hidden.png').write_bytes(b'ignored')
  return str(path)


def test_resolve_model_dir(export_base, tmp_path):
  assert translate_lib.resolve_model_dir(export_base) == os.path.join(export_base, '1')
  version = os.path.join(export_base, '1')
  assert translate_lib.resolve_model_dir(version) == version
  base = tmp_path / 'base'
  base.mkdir()
  for v in ('2', '10'):
    shutil.copytree(version, base / v)
  (base / '11').mkdir()  # no saved_model.pb: not a version
  (base / 'notes').mkdir()
  assert translate_lib.resolve_model_dir(str(base)) == str(base / '10')
  assert translate_lib.resolve_model_dir(str(base / 'latest')) == str(base / '10')
  with pytest.raises(FileNotFoundError, match='no SavedModel in'):
    translate_lib.resolve_model_dir(str(base / 'notes'))
  with pytest.raises(FileNotFoundError, match='does not exist'):
    translate_lib.resolve_model_dir(str(tmp_path / 'nowhere'))


def test_output_names_are_unique():
  names = translate_lib.output_names(['x/a.jpg', 'y/a.png', 'z/A.png', 'b.png', 'b'])
  assert names == ['a', 'a_png', 'A_png_2', 'b', 'b_2']
  assert len({n.lower() for n in names}) == len(names)


def test_translate_folder(export_base, folder, tmp_path):
  out = str(tmp_path / 'out')
  result = translate_lib.translate(export_base, folder, out, direction='b_to_a', batch_size=2)
  assert result.model_dir == os.path.join(export_base, '1')
  assert [os.path.basename(p) for p, _ in result.failures] == [BAD]
  assert BAD in result.failures[0][1]
  assert len(result.outputs) == len(GOOD)
  names = {'dup.jpg': 'dup', 'dup.png': 'dup_png'}  # sorted: dup.jpg comes first
  for name, (_, h, w) in GOOD.items():
    stem = names.get(name, os.path.splitext(name)[0])
    for rel in (f'{stem}.png', f'inputs/{stem}.png'):
      with Image.open(os.path.join(out, rel)) as img:
        assert img.size == (w, h) and img.mode == 'RGB', rel
  with open(result.gallery, encoding='utf-8') as f:
    page = f.read()
  for name in [*GOOD, BAD]:
    assert name in page
  assert 'inputs/dup_png.png' in page and '"dup_png.png"' in page

  # The written output is the signature's output on the decoded input, quantised.
  signature = translate_lib.load_signature(export_base, 'b_to_a')[1]
  source = np.asarray(Image.open(os.path.join(folder, 'alpha.png')).convert('RGB'))
  x = tf.constant(source[None].astype(np.float32) / 127.5 - 1.0)
  expected = translate_lib.to_uint8(signature(images=x)['output'].numpy()[0])
  written = np.asarray(Image.open(os.path.join(out, 'alpha.png')))
  np.testing.assert_array_equal(written, expected)
  assert written.std() > 5


def test_unknown_direction_lists_signatures(export_base, folder, tmp_path):
  with pytest.raises(ValueError, match='a_to_b, a_to_b_bytes, b_to_a, b_to_a_bytes'):
    translate_lib.translate(export_base, folder, str(tmp_path / 'out'), direction='c_to_d')


def test_refuses_to_write_into_the_input_folder(export_base, folder):
  with pytest.raises(ValueError, match='would overwrite the inputs'):
    translate_lib.translate(export_base, folder, folder)


def test_refuses_an_input_folder_reached_through_a_symlink(export_base, folder, tmp_path):
  """Issue 23: --input given through a symlink, --output the real folder: the originals
  stay (the folders are compared as real folders, not as strings)."""
  link = str(tmp_path / 'link')
  os.symlink(folder, link)
  before = {n: open(os.path.join(folder, n), 'rb').read() for n in os.listdir(folder)}
  for inputs, output in ((link, folder), (folder, link), (link, link + '/')):
    with pytest.raises(ValueError, match='would overwrite the inputs'):
      translate_lib.translate(export_base, inputs, output)
  r = subprocess.run([sys.executable, '-m', 'tfi2i.translate', f'--model={export_base}',
                      f'--input={link}', f'--output={folder}'], capture_output=True, text=True,
                     timeout=300)
  assert r.returncode != 0 and 'would overwrite the inputs' in r.stderr
  assert {n: open(os.path.join(folder, n), 'rb').read() for n in os.listdir(folder)} == before


def test_a_name_that_is_not_utf8_is_written_and_listed(export_base, tmp_path):
  src = tmp_path / 'in'
  src.mkdir()
  name = os.fsdecode(b'caf\xe9.png')  # Latin-1, as a file from an old system
  Image.fromarray(np.full((12, 12, 3), 90, np.uint8)).save(os.path.join(str(src), name))
  out = str(tmp_path / 'out')
  result = translate_lib.translate(export_base, str(src), out)
  assert result.translated == 1 and not result.failures
  assert os.path.isfile(os.path.join(out, os.fsdecode(b'caf\xe9.png')))
  page = open(result.gallery, encoding='utf-8').read()
  assert 'caf%E9.png' in page and 'caf\ufffd' in page  # linked by its bytes, shown as text
  r = subprocess.run([sys.executable, '-m', 'tfi2i.translate', f'--model={export_base}',
                      f'--input={src}', f'--output={tmp_path / "cli"}'], capture_output=True,
                     timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  assert os.path.isfile(os.path.join(str(tmp_path / 'cli'), 'index.html'))


def test_write_gallery_extra_columns(tmp_path):
  path = translate_lib.write_gallery(
      str(tmp_path / 'g.html'),
      [[('a <1>', 'inputs/a b.png'), ('out', 'a.png'), ('map', 'attention/a.png')],
       [('bad.png: broken', None), ('failed', None), ('failed', None)]],
      header=['input', 'output', 'attention'])
  with open(path, encoding='utf-8') as f:
    page = f.read()
  assert page.count('<tr>') == 3
  assert 'a &lt;1&gt;' in page and 'inputs/a%20b.png' in page and 'attention/a.png' in page


def test_cli_single_file(export_base, folder, tmp_path, capsys):
  out = tmp_path / 'one'
  assert translate_lib.cli(export_base, os.path.join(folder, 'tall.jpg'), str(out)) == 0
  assert sorted(os.listdir(out)) == ['index.html', 'inputs', 'tall.png']
  assert f'Gallery: {out / "index.html"}' in capsys.readouterr().out


def test_cli_reports_failures(export_base, folder, tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  run = lambda *args: subprocess.run(
      [sys.executable, '-m', 'tfi2i.translate', *args], cwd=ROOT, env=env,
      capture_output=True, text=True, timeout=300)
  done = run(f'--model={export_base}', f'--input={folder}', f'--output={tmp_path / "out"}')
  assert done.returncode == 1, done.stderr
  assert '1 of 9 inputs failed' in done.stderr and BAD in done.stderr
  assert f'Gallery: {tmp_path / "out" / "index.html"}' in done.stdout
  assert os.path.isfile(tmp_path / 'out' / 'tall.png')


def test_translate_streams_its_inputs(export_base, folder, tmp_path, monkeypatch):
  """Each batch is translated and written before the next files are read: a run holds the
  batch in flight, not every input (issue 15)."""
  from tfi2i.data import images as image_io  # pylint: disable=g-import-not-at-top
  reads, seen_at_call = [], []
  load = image_io.load_image
  monkeypatch.setattr(image_io, 'load_image', lambda p: (reads.append(p), load(p))[1])
  model = translate_lib.open_model(export_base)
  images = model.images

  def counting(name, pixels, extra):
    seen_at_call.append(len(reads))
    return images(name, pixels, extra)

  monkeypatch.setattr(model, 'images', counting)
  result = translate_lib.translate(model, folder, str(tmp_path / 'out'), batch_size=1)
  assert result.translated == len(GOOD)
  # the k-th call saw at most k+1 good reads plus the corrupt file: never all of them first
  assert seen_at_call[0] <= 2 and seen_at_call == sorted(seen_at_call)
  assert len(set(seen_at_call)) == len(seen_at_call) == len(GOOD)
