"""Shared fixtures (tiny image files on disk) and helpers (tiny model configs) of the tests."""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image
import pytest

# free_ports(n) for the tests is the product's (tfi2i.serving.launch), re-exported here.
from tfi2i.serving.launch import free_ports  # pylint: disable=unused-import


def code_value(i: int) -> int:
  """Red value that identifies image i of make_image_folder (i < 31)."""
  return 8 * i + 4


def decode_code(red_uint8) -> np.ndarray:
  """Inverse of code_value for an array of red values."""
  return (np.asarray(red_uint8, np.int64) - 4) // 8


@pytest.fixture
def make_image_folder(tmp_path):
  """Factory: make_image_folder(rel, n, size=(h, w), ext='.png', seed=0) -> folder.

  Image i has a constant red channel code_value(i) (kept by every resize, crop
  and flip, so a batch tells which file it came from) and random green/blue.
  """

  def make(rel, n, size=(24, 32), ext='.png', seed=0):
    folder = tmp_path / rel
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
      img = rng.integers(0, 256, size + (3,), dtype=np.uint8)
      img[..., 0] = code_value(i)
      Image.fromarray(img).save(folder / f'{i:03d}{ext}')
    return str(folder)

  return make


@pytest.fixture
def unpaired_root(make_image_folder, tmp_path):
  """ROOT with trainA (7 images), trainB (4), testA (3), testB (2), 24x32 PNG."""
  for rel, n, seed in (('trainA', 7, 1), ('trainB', 4, 2), ('testA', 3, 3), ('testB', 2, 4)):
    make_image_folder(os.path.join('root', rel), n, seed=seed)
  return str(tmp_path / 'root')


def _smooth(h, w):
  yy, xx = np.mgrid[0:h, 0:w]
  return np.stack([xx * 9, yy * 12, (xx + yy) * 5], -1).astype(np.uint8)


@pytest.fixture
def odd_image_files(tmp_path):
  """{name: (path, expected uint8 HxWx3 or None)} in many formats, 20x28 px.

  expected is None for lossy JPEGs (compare with a tolerance).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  d = tmp_path / 'odd'
  d.mkdir()
  rng = np.random.default_rng(0)
  rgb = rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)
  alpha = rng.integers(0, 256, (20, 28, 1), dtype=np.uint8)
  out = {}

  def put(name, img, expected, **kw):
    path = str(d / name)
    img.save(path, **kw)
    out[name] = (path, expected)

  put('rgb.png', Image.fromarray(rgb), rgb)
  put('rgba.png', Image.fromarray(np.concatenate([rgb, alpha], -1)), rgb)
  gray = rgb[..., 0]
  put('gray.png', Image.fromarray(gray), np.repeat(gray[..., None], 3, -1))
  put('gray_alpha.png', Image.fromarray(gray).convert('LA'), np.repeat(gray[..., None], 3, -1))
  pal = Image.fromarray(rgb).quantize(16)
  pal_rgb = np.asarray(pal.convert('RGB'))
  put('palette.png', pal, pal_rgb)
  put('palette_transparent.png', pal, pal_rgb, transparency=3)
  put('rgb.bmp', Image.fromarray(rgb), rgb)
  put('gray.bmp', Image.fromarray(gray), np.repeat(gray[..., None], 3, -1))
  put('palette.bmp', pal, pal_rgb)
  put('palette.gif', pal, pal_rgb)
  put('transparent.gif', pal, pal_rgb, transparency=3)
  flipped = Image.fromarray(rgb[::-1]).quantize(16)
  put('animated.gif', pal, pal_rgb, save_all=True, append_images=[flipped], duration=50)
  # 16 bit: encoded by TF (PIL cannot write 16-bit RGB); 8-bit value = high byte.
  for name, channels in (('rgb16.png', 3), ('gray16.png', 1), ('rgba16.png', 4)):
    v = rng.integers(0, 65536, (20, 28, channels), dtype=np.uint16)
    path = str(d / name)
    tf.io.write_file(path, tf.io.encode_png(v))
    hi = (v >> 8).astype(np.uint8)
    out[name] = (path, np.repeat(hi, 3, -1) if channels == 1 else hi[..., :3])
  smooth = _smooth(20, 28)
  put('rgb.jpg', Image.fromarray(smooth), None, quality=95)
  put('gray.jpg', Image.fromarray(smooth[..., 0]), None, quality=95)
  put('cmyk.jpg', Image.fromarray(smooth).convert('CMYK'), None, quality=95)
  put('progressive.jpg', Image.fromarray(smooth), None, quality=95, progressive=True)
  exif = Image.Exif()
  exif[0x0112] = 6  # rotate 90 degrees clockwise to display
  put('exif_rotated.jpg', Image.fromarray(smooth), None, quality=95, exif=exif)
  return out


# Tiny model configurations shared by the model, export and ONNX tests.
TINY_CYCLEGAN = dict(ngf=4, ndf=4, n_blocks=1)
TINY_BICYCLE = dict(ngf=4, nef=4, ndf=4, net_g='unet_128', net_e='resnet_128',
                    net_d='basic_128_multi', net_d2='basic_128_multi')
DIRECTIONS = ('a_to_b', 'b_to_a')


def build_both_directions(model):
  """Calls a CycleGAN once per direction so that every variable exists."""
  for d in DIRECTIONS:
    model(np.zeros([1, 16, 16, 3], np.float32), direction=d)
  return model


def perturb(model, seed):
  """Adds normal(0, 0.1) noise to every weight: random-init outputs are all close to 0,
  bigger weights make output comparisons meaningful."""
  rng = np.random.default_rng(seed)
  for v in model.weights:
    v.assign(np.asarray(v.value) + rng.normal(0, 0.1, v.shape).astype(np.float32))


def export_tiny_cyclegan(base, seed=0):
  """(model, version folder): a tiny CycleGAN with perturbed weights, exported under base."""
  from tfi2i import export  # pylint: disable=g-import-not-at-top
  from tfi2i.models import CycleGAN  # pylint: disable=g-import-not-at-top
  model = build_both_directions(CycleGAN(**TINY_CYCLEGAN))
  perturb(model, seed)
  return model, export.export_model(model, str(base))


def tiny_data_cfg(**kw):
  """The recipe's data section at load 20 / crop 16 px, with overrides."""
  from recipes import common  # pylint: disable=g-import-not-at-top
  c = common.data_config()
  c.load_size, c.crop_size = 20, 16
  for k, v in kw.items():
    setattr(c, k, v)
  return c


def take(ds, n):
  """The first n batches of a dataset as dicts of NumPy arrays."""
  return [{k: v.numpy() for k, v in b.items()} for b in ds.take(n)]


def check_seeded_stream(make, n, resume_at, codes):
  """Checks a training stream `make(seed, start_step)` (a dataset of {'a', 'b'} batches):
  the same seed gives the same n batches, resuming at each step of resume_at gives the next
  two batches of the uninterrupted run, and seed 6 orders the files (`codes(batch)`)
  differently from seed 5. Returns (the seed-5 batches, the seed-6 batches)."""
  run = take(make(5, 0), n)
  for x, y in zip(run, take(make(5, 0), n)):
    np.testing.assert_array_equal(x['a'], y['a'])
    np.testing.assert_array_equal(x['b'], y['b'])
  for start in resume_at:
    resumed = take(make(5, start), 2)
    for k in range(2):
      np.testing.assert_array_equal(resumed[k]['a'], run[start + k]['a'])
      np.testing.assert_array_equal(resumed[k]['b'], run[start + k]['b'])
  other = take(make(6, 0), n)
  assert [codes(x) for x in run] != [codes(x) for x in other]
  return run, other


ATTRIBUTE_NAMES = ['5_o_Clock_Shadow', 'Bangs', 'Black_Hair', 'Blond_Hair', 'Male', 'Young']


def write_attribute_folder(root, n=12, size=(44, 36), names=ATTRIBUTE_NAMES, seed=0,
                           nested=True):
  """A CelebA-convention folder of n images; returns {file: {attribute: 0/1}}."""
  rng = np.random.default_rng(seed)
  folder = os.path.join(root, 'img_align_celeba') if nested else root
  os.makedirs(folder, exist_ok=True)
  lines, truth = [str(n), ' '.join(names)], {}
  for i in range(n):
    name = f'{i:06d}.jpg'
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(
        os.path.join(folder, name))
    values = rng.choice([-1, 1], len(names))
    lines.append(name + ' ' + ' '.join(f'{v:2d}' for v in values))
    truth[name] = {a: int(v > 0) for a, v in zip(names, values)}
  with open(os.path.join(root, 'list_attr_celeba.txt'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
  return truth


# Files whose header declares a size their data does not hold (hostile requests): a decoder
# that trusted the header would allocate width x height first; the checks must refuse them
# from the header alone (decoding them would fail with the decoder's own error instead).

def png_chunk(kind: bytes, data: bytes) -> bytes:
  """A PNG chunk: length, type, data, CRC-32 of type and data."""
  return (struct.pack('>I', len(data)) + kind + data
          + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_declaring(width: int, height: int) -> bytes:
  """A 1-bit gray PNG whose IHDR (correct CRC) says width x height, with a tiny IDAT."""
  ihdr = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)
  return (b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', ihdr)
          + png_chunk(b'IDAT', zlib.compress(b'\x00' * 64)) + png_chunk(b'IEND', b''))


def encode_image(fmt: str, array, **kw) -> bytes:
  """The bytes of a PIL-encoded image file."""
  buf = io.BytesIO()
  Image.fromarray(np.asarray(array)).save(buf, format=fmt, **kw)
  return buf.getvalue()


def jpeg_declaring(width: int, height: int, before_sof: bytes = b'', pixels=None) -> bytes:
  """An 8x8 JPEG (black, or `pixels`) whose SOF0 says width x height (at most 65535), with
  `before_sof` (marker segments, fill or stray bytes) inserted after SOI."""
  data = encode_image('JPEG', np.zeros([8, 8, 3], np.uint8) if pixels is None else pixels)
  i = data.index(b'\xff\xc0')
  data = data[:i + 5] + struct.pack('>HH', height, width) + data[i + 9:]
  return data[:2] + before_sof + data[2:]


def gif_declaring(width: int, height: int, frame=None) -> bytes:
  """An 8x8 GIF whose logical screen says width x height (and its first frame's
  descriptor `frame` = (width, height), if given)."""
  data = bytearray(encode_image('GIF', np.zeros([8, 8], np.uint8)))
  data[6:10] = struct.pack('<HH', width, height)
  if frame:
    i = data.index(b'\x2c', 13)  # the image descriptor (no extension before it here)
    data[i + 5:i + 9] = struct.pack('<HH', *frame)
  return bytes(data)


def bmp_declaring(width: int, height: int) -> bytes:
  """An 8x8 24-bit BMP whose header says width x height (negative: top-down)."""
  data = bytearray(encode_image('BMP', np.zeros([8, 8, 3], np.uint8)))
  data[18:26] = struct.pack('<ii', width, height)
  return bytes(data)
