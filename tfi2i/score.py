"""Scores a translated gallery against the true paired images, and the identity baseline.

  python -m tfi2i.score --gallery=runs/demo/gallery/a_to_b --truth=data/demo/testB

GALLERY is a folder `python -m tfi2i.translate` wrote: the inputs in GALLERY/inputs/ and
each translation as GALLERY/<name>.png. TRUTH holds, for each input, the image the
translation should be, under the input's name (any image extension): e.g. the demo's
testB tiles are the night views of the testA tiles of the same names. For every pair it
computes PSNR (dB) and SSIM of the translation against the truth, and of the input itself
against the truth: the identity baseline, what "no translation" scores. A translation that
learnt something beats identity. The set's PSNR is computed from the mean squared error
over all its images (finite when some images are matched exactly); per image, PSNR is
listed up to 99 dB.

Writes GALLERY/scores.json (per image and the means) and GALLERY/scores.html (input,
translation and truth side by side with their scores), and prints the means. Exit status
1 with --require_better when the translation's mean PSNR does not beat identity's.
"""
import dataclasses
import json
import os
import sys

from absl import app
from absl import flags
import numpy as np

from tfi2i import translate as translate_lib
from tfi2i.data import images as image_io
from tfi2i.metrics import fidelity

SCORES_JSON = 'scores.json'
PSNR_CAP = 99.0  # dB: an image matched exactly (infinite PSNR) is listed at this
SCORES_HTML = 'scores.html'


@dataclasses.dataclass
class Scores:
  names: list  # the images scored, by their gallery name
  translation: dict  # metric -> [per image]
  identity: dict  # metric -> [per image]

  def mean(self, which: str, metric: str) -> float:
    """SSIM: the mean over the images. PSNR: of the whole set, 10 log10(2^2 / the mean of
    the images' MSE), which stays finite when some images are matched exactly (an all-black
    night tile translated to all black has an infinite PSNR of its own)."""
    if metric == 'psnr':
      return float(fidelity.psnr_from_mse(np.mean(getattr(self, which)['mse'])))
    return float(np.mean(getattr(self, which)[metric]))

  def wins(self) -> int:
    """Images whose translation has a higher PSNR than their input."""
    return int(np.sum(np.asarray(self.translation['psnr']) > np.asarray(self.identity['psnr'])))

  def summary(self, label: str = '') -> str:
    return (f'{label}{len(self.names)} images: translation PSNR '
            f'{self.mean("translation", "psnr"):.2f} dB, SSIM '
            f'{self.mean("translation", "ssim"):.3f} | identity (the input unchanged) PSNR '
            f'{self.mean("identity", "psnr"):.2f} dB, SSIM {self.mean("identity", "ssim"):.3f}'
            f' | the translation is closer on {self.wins()}/{len(self.names)}')

  def to_json(self) -> dict:
    means = {w: {m: self.mean(w, m) for m in ('psnr', 'ssim')}
             for w in ('translation', 'identity')}
    return {'count': len(self.names), 'mean': means, 'closer_than_identity': self.wins(),
            'images': {n: {w: {m: float(getattr(self, w)[m][i]) for m in ('psnr', 'ssim')}
                           for w in ('translation', 'identity')}
                       for i, n in enumerate(self.names)}}


def _by_stem(folder: str) -> dict:
  """{file stem: path} of the images in folder; ValueError when two share a stem."""
  out = {}
  for path in translate_lib.list_inputs(folder):
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in out:
      raise ValueError(f'{folder} has two images named {stem!r} ({os.path.basename(out[stem])}, '
                       f'{os.path.basename(path)}): which is the truth is ambiguous')
    out[stem] = path
  return out


def triples(gallery: str, truth: str) -> list:
  """(name, input path, translation path, truth path) for each input of the gallery; a
  ValueError naming what is missing."""
  inputs_dir = os.path.join(gallery, translate_lib.INPUTS_DIR)
  if not os.path.isdir(inputs_dir):
    raise ValueError(f'{gallery} has no {translate_lib.INPUTS_DIR}/ folder: is it a folder '
                     'written by python -m tfi2i.translate?')
  if not os.path.isdir(truth):
    raise ValueError(f'--truth={truth} is not a folder')
  inputs, truths = _by_stem(inputs_dir), _by_stem(truth)
  out, no_output, no_truth = [], [], []
  for name in sorted(inputs):
    output = os.path.join(gallery, name + '.png')
    if not os.path.isfile(output):
      no_output.append(name)
    elif name not in truths:
      no_truth.append(name)
    else:
      out.append((name, inputs[name], output, truths[name]))
  problems = []
  if no_output:
    problems.append(f'{len(no_output)} inputs have no translation in {gallery} (e.g. '
                    f'{", ".join(no_output[:3])}.png)')
  if no_truth:
    problems.append(f'{len(no_truth)} inputs have no image of the same name in {truth} (e.g. '
                    f'{", ".join(no_truth[:3])})')
  if problems:
    raise ValueError('; '.join(problems))
  return out


def score(gallery: str, truth: str) -> Scores:
  names, outputs, inputs, targets = [], [], [], []
  for name, input_path, output_path, truth_path in triples(gallery, truth):
    x, y, t = (image_io.load_image(p) for p in (input_path, output_path, truth_path))
    if not x.shape == y.shape == t.shape:
      raise ValueError(f'{name}: input {x.shape[1]}x{x.shape[0]}, translation '
                       f'{y.shape[1]}x{y.shape[0]} and truth {truth_path} '
                       f'{t.shape[1]}x{t.shape[0]} differ in size: a truth image must be the '
                       "input's paired image")
    names.append(name)
    inputs.append(translate_lib.to_float(x))
    outputs.append(translate_lib.to_float(y))
    targets.append(translate_lib.to_float(t))
  result = Scores(names, {}, {})
  for which, images in (('translation', outputs), ('identity', inputs)):
    per = {'psnr': [], 'ssim': [], 'mse': []}
    for image, target in zip(images, targets):  # one at a time: sizes may differ by image
      mse = float(np.mean(np.square(np.asarray(image, np.float64) - target)))
      per['mse'].append(mse)
      per['psnr'].append(min(PSNR_CAP, float(fidelity.psnr_from_mse(mse))))
      per['ssim'].append(float(fidelity.ssim(image[None], target[None])[0]))
    getattr(result, which).update(per)
  return result


def write(scores: Scores, gallery: str, truth: str, title: str) -> tuple[str, str]:
  """scores.json and scores.html in the gallery folder."""
  path_json = os.path.join(gallery, SCORES_JSON)
  with open(path_json, 'w', encoding='utf-8') as f:
    json.dump({'truth': os.path.abspath(truth), **scores.to_json()}, f, indent=2)
  truths = _by_stem(truth)
  rows = []
  for i, name in enumerate(scores.names):
    t, x = scores.translation, scores.identity
    rows.append([
        (f'{name} | identity {x["psnr"][i]:.2f} dB, SSIM {x["ssim"][i]:.3f}',
         os.path.join(translate_lib.INPUTS_DIR, name + '.png')),
        (f'translation {t["psnr"][i]:.2f} dB, SSIM {t["ssim"][i]:.3f}', name + '.png'),
        ('truth', os.path.relpath(truths[name], gallery))])
  header = ['input (scored as is: identity)', 'translation', 'truth']
  path_html = translate_lib.write_gallery(os.path.join(gallery, SCORES_HTML), rows, header,
                                          title=f'{title}: {scores.summary()}')
  return path_json, path_html


FLAGS = flags.FLAGS
_GALLERY = flags.DEFINE_string('gallery', None, 'A folder written by python -m tfi2i.translate.')
_TRUTH = flags.DEFINE_string('truth', None, 'The true paired images, named as the inputs.')
_LABEL = flags.DEFINE_string('label', '', 'A name for the printed line, e.g. a_to_b.')
_REQUIRE = flags.DEFINE_bool('require_better', False, 'Exit 1 when the translation\'s mean '
                             'PSNR is not above identity\'s.')


def main(argv):
  del argv
  if not _GALLERY.value or not _TRUTH.value:
    print('--gallery and --truth are required', file=sys.stderr)
    return 2
  try:
    scores = score(_GALLERY.value, _TRUTH.value)
    _, page = write(scores, _GALLERY.value, _TRUTH.value, _LABEL.value or _GALLERY.value)
  except (ValueError, FileNotFoundError, image_io.DataError) as e:
    print(f'score: {e}', file=sys.stderr)
    return 1
  label = f'{_LABEL.value}: ' if _LABEL.value else ''
  print(scores.summary(label))
  print(f'  page: {page}')
  better = scores.mean('translation', 'psnr') > scores.mean('identity', 'psnr')
  if _REQUIRE.value and not better:
    print(f'{label}the translation does not beat identity', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  app.run(main)
