"""Issue 14 item 5-6: the attribute demo task (known regions), region masks, the attribute
classifier and tfi2i.evaluate's attribute-edit scores (accuracy, masked PSNR)."""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from tfi2i import attribute_classifier
from tfi2i import attribute_rules
from tfi2i import evaluate
from tfi2i.data import attribute_table
from tfi2i.data import demo_attributes
from tfi2i.data import streams
from tfi2i.data.images import DataError
from tfi2i.data.sources import folder_source
from tfi2i.metrics import attribute_accuracy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = demo_attributes.ATTRIBUTES


def _source(root, n_train=10, n_test=4, size=32, seed=0):
  """A stand-in for the demo data: random day tiles in trainA/testA and a SOURCE.txt."""
  rng = np.random.default_rng(seed)
  tiles = {}
  for split, n in (('trainA', n_train), ('testA', n_test)):
    if n:
      os.makedirs(os.path.join(root, split))
    for i in range(n):
      name = f'{split}_{i:02d}.png'
      tile = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
      Image.fromarray(tile).save(os.path.join(root, split, name))
      tiles[name] = tile
  with open(os.path.join(root, 'SOURCE.txt'), 'w') as f:
    f.write('test tiles\n')
  return tiles


def test_regions_are_disjoint_and_flip_symmetric():
  masks = [demo_attributes.region(a, 64, 64) for a in NAMES]
  assert all(m.any() for m in masks)
  assert not np.any(np.sum(masks, axis=0) > 1)
  for m in masks:
    np.testing.assert_array_equal(m, m[:, ::-1])
  assert masks[0][:16].all() and not masks[0][16:].any()  # Red_Top: the top quarter
  with pytest.raises(DataError, match='unknown demo attribute'):
    demo_attributes.region('Bangs', 8, 8)


def test_demo_task_changes_only_the_regions_of_its_attributes(tmp_path):
  tiles = _source(str(tmp_path / 'src'))
  out = str(tmp_path / 'out')
  counts = demo_attributes.make_attribute_demo(out, str(tmp_path / 'src'), seed=3)
  names, files, values = attribute_table.read_file(os.path.join(out, attribute_table.ATTR_FILE))
  assert tuple(names) == NAMES and sorted(files) == sorted(tiles) and counts['images'] == 14
  assert counts['Red_Top'] == int((values[:, 0] > 0).sum())
  for name, row in zip(files, values):
    img = np.asarray(Image.open(os.path.join(out, folder_source.IMAGES_DIR, name)))
    orig = tiles[name].astype(np.float64)
    changed = np.zeros((32, 32), bool)
    for j, a in enumerate(NAMES):
      region = demo_attributes.region(a, 32, 32)
      mask = np.asarray(Image.open(os.path.join(out, demo_attributes.MASKS_DIR, a, name)))
      np.testing.assert_array_equal(mask, region.astype(np.uint8) * 255)
      if row[j] > 0:
        changed |= region
    np.testing.assert_array_equal(img[~changed], tiles[name][~changed])
    if row[2] > 0:  # Dark_Bottom: 0.35 x
      where = demo_attributes.region('Dark_Bottom', 32, 32)
      np.testing.assert_array_equal(img[where], np.round(0.35 * orig[where]).astype(np.uint8))
  # idempotent; another seed into the same folder is refused
  stamp = os.path.getmtime(os.path.join(out, attribute_table.ATTR_FILE))
  assert demo_attributes.make_attribute_demo(out, str(tmp_path / 'src'), seed=3) == counts
  assert os.path.getmtime(os.path.join(out, attribute_table.ATTR_FILE)) == stamp
  with pytest.raises(DataError, match='other settings'):
    demo_attributes.make_attribute_demo(out, str(tmp_path / 'src'), seed=4)
  with pytest.raises(DataError, match='no day tiles'):
    demo_attributes.make_attribute_demo(str(tmp_path / 'x'), str(tmp_path / 'nothing'))


def test_demo_task_tile_order_does_not_depend_on_the_demo_split(tmp_path):
  """The attribute draw follows the tiles' order, which is fixed by name (columns 25-28
  last), so moving the demo's test columns leaves the attribute set the same."""
  rng = np.random.default_rng(0)
  names = [f'r{r:02d}_c{c:02d}.png' for r in (1, 2) for c in (3, 16, 25, 28, 30)]
  tiles = {n: rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for n in names}
  outs = []
  for k, test_cols in enumerate(((25, 28), (3, 16))):
    src = tmp_path / f'src{k}'
    for n, tile in tiles.items():
      split = 'testA' if int(n[5:7]) in test_cols else 'trainA'
      os.makedirs(src / split, exist_ok=True)
      Image.fromarray(tile).save(src / split / n)
    (src / 'SOURCE.txt').write_text('tiles\n')
    outs.append(str(tmp_path / f'out{k}'))
    demo_attributes.make_attribute_demo(outs[-1], str(src), seed=5)
  lists = [open(os.path.join(o, attribute_table.ATTR_FILE)).read() for o in outs]
  assert lists[0] == lists[1]
  order = [l.split()[0] for l in lists[0].splitlines()[2:]]
  last = [n for n in names if int(n[5:7]) in demo_attributes.ORDER_LAST_COLS]
  assert order == sorted(set(names) - set(last)) + sorted(last)


def _data_cfg(root, size=32, **extra):
  import ml_collections  # pylint: disable=g-import-not-at-top
  cfg = dict(root=root, attributes=list(NAMES), attr_file='', images_dir='', masks_dir='',
             test_count=4, split_seed=1234, source='folder',
             preprocess='center_crop_and_resize', load_size=size, crop_size=size, flip=False)
  cfg.update(extra)
  return ml_collections.ConfigDict(cfg)


def test_demo_task_orientations_add_turned_training_tiles_and_keep_the_test_split(tmp_path):
  """--orientations: the training tiles also turned and mirrored, each with its own
  attributes applied after turning; the split holds out the 1-orientation set's test tiles,
  with their attributes and order, and no turned copy of them exists."""
  from tfi2i.data import attributes  # pylint: disable=g-import-not-at-top
  tiles = _source(str(tmp_path / 'src'), n_train=100, n_test=40, size=8)
  outs = {k: str(tmp_path / f'out{k}') for k in (1, 8)}
  counts = {k: demo_attributes.make_attribute_demo(o, str(tmp_path / 'src'), seed=2,
                                                   orientations=k) for k, o in outs.items()}
  n_test = demo_attributes.TEST_COUNT
  assert counts[1]['images'] == 140 and counts[8]['images'] == 140 + 7 * (140 - n_test)
  cfg = {k: _data_cfg(o, size=8, test_count=n_test) for k, o in outs.items()}
  tests = {k: attributes.split_set(c, 'test') for k, c in cfg.items()}
  base = [os.path.basename(p) for p in tests[1].paths]
  assert [os.path.basename(p) for p in tests[8].paths] == base
  np.testing.assert_array_equal(tests[8].labels, tests[1].labels)
  train = [os.path.basename(p) for p in attributes.split_set(cfg[8], 'train').paths]
  parts = [os.path.splitext(n)[0].split('_') for n in train]  # trainA_07_m_r90.png
  tile_of = {n: '_'.join(p[:2]) + '.png' for n, p in zip(train, parts)}
  tag_of = {n: '_'.join(p[2:]) for n, p in zip(train, parts)}
  assert not set(tile_of.values()) & set(base)
  names, files, values = attribute_table.read_file(os.path.join(outs[8], attribute_table.ATTR_FILE))
  rows = dict(zip(files, values))
  tags = {demo_attributes.orientation_tag(*o): o for o in demo_attributes.ORIENTATIONS[1:]}
  assert sorted(tags) == ['m', 'm_r180', 'm_r270', 'm_r90', 'r180', 'r270', 'r90']
  seen = 0
  for name in train:
    tag = tag_of[name]
    turned = demo_attributes.turn(tiles[tile_of[name]], *tags[tag]) if tag else tiles[tile_of[name]]
    img = np.asarray(Image.open(os.path.join(outs[8], folder_source.IMAGES_DIR, name)))
    np.testing.assert_array_equal(img, demo_attributes.apply(turned, rows[name] > 0))
    seen += bool(tag)
  assert seen == 7 * (140 - n_test)
  np.testing.assert_array_equal(demo_attributes.turn(np.arange(4).reshape(2, 2), True, 1),
                                [[0, 2], [1, 3]])
  with pytest.raises(DataError, match='other settings'):
    demo_attributes.make_attribute_demo(outs[1], str(tmp_path / 'src'), seed=2, orientations=8)
  with pytest.raises(DataError, match='orientations must be 1-8'):
    demo_attributes.make_attribute_demo(str(tmp_path / 'x'), str(tmp_path / 'src'),
                                        orientations=9)


def test_mask_paths_follow_the_images(tmp_path):
  _source(str(tmp_path / 'src'))
  out = str(tmp_path / 'out')
  demo_attributes.make_attribute_demo(out, str(tmp_path / 'src'))
  os.remove(os.path.join(out, 'masks', 'Red_Top', 'trainA_03.png'))
  data = streams.stream('attributes').evaluation(_data_cfg(out), 'train')
  assert sorted(data.masks) == sorted(NAMES)
  for a in NAMES:
    for name, path in zip(data.names, data.masks[a]):
      if a == 'Red_Top' and name == 'trainA_03.png':
        assert path is None
      else:
        assert path == os.path.join(out, 'masks', a, name)
  with pytest.raises(DataError, match='masks_dir does not exist'):
    streams.stream('attributes').evaluation(_data_cfg(out, masks_dir=str(tmp_path / 'no')),
                                            'test')
  os.rename(os.path.join(out, 'masks'), os.path.join(out, 'regions'))
  assert streams.stream('attributes').evaluation(_data_cfg(out), 'test').masks == {}


class _AlwaysOn:
  """A stand-in classifier that reads every attribute as present."""
  name, path = 'always-on', ''

  def predict(self, images):
    return np.ones((len(images), len(NAMES)), np.float32)


def test_edit_scores_against_a_hand_computation(tmp_path):
  _source(str(tmp_path / 'src'))
  out = str(tmp_path / 'out')
  demo_attributes.make_attribute_demo(out, str(tmp_path / 'src'), seed=1)
  cfg = _data_cfg(out)
  data = streams.stream('attributes').evaluation(cfg, 'test')
  transform = evaluate.eval_transform(cfg)
  a = np.stack([transform(data.load(i)[0]) for i in range(len(data.names))])
  # edit j: the input plus 0.1 outside attribute j's region and 0.6 inside it
  regions = [demo_attributes.region(n, 32, 32) for n in NAMES]
  edits = np.stack([a + np.where(r, 0.6, 0.1)[None, :, :, None] for r in regions], axis=1)
  scores = evaluate._AttributeEdits(  # pylint: disable=protected-access
      data, _AlwaysOn(), transform, attribute_rules.CREATE_LABELS)
  scores.add(list(range(2)), a[:2], edits[:2])
  scores.add([2, 3], a[2:], edits[2:])
  result = scores.scores()
  for j, name in enumerate(NAMES):
    per = result['per_attribute'][name]
    assert per['masked_psnr'] == pytest.approx(10 * np.log10(4 / 0.01))
    assert per['masked_images'] == 4 and per['masks_all_region'] == 0
    share = regions[j].mean()
    assert per['psnr'] == pytest.approx(10 * np.log10(4 / (share * 0.36 + (1 - share) * 0.01)))
    assert per['l1'] == pytest.approx(share * 0.6 + (1 - share) * 0.1)
    targets = 1 - data.attributes[:, j]  # every demo attribute is flipped
    assert per['accuracy'] == pytest.approx(targets.mean())
  assert result['classifier']['real_accuracy']['mean'] == pytest.approx(data.attributes.mean())
  assert result['mean']['masked_psnr'] == pytest.approx(10 * np.log10(4 / 0.01))


TINY = {'model.g_conv_dim': 8, 'model.d_conv_dim': 8, 'model.g_repeat_num': 1,
        'model.n_critic': 2, 'data.test_count': 4, 'train.steps': 2, 'train.batch_size': 4,
        'train.image_every': 100, 'train.checkpoint_every': 2}


@pytest.fixture(scope='module')
def stargan_run(tmp_path_factory):
  src = str(tmp_path_factory.mktemp('src'))
  _source(src, n_train=12, n_test=0, size=64)
  root = str(tmp_path_factory.mktemp('task'))
  demo_attributes.make_attribute_demo(root, src)
  workdir = str(tmp_path_factory.mktemp('run'))
  args = [sys.executable, '-m', 'tfi2i.train', '--recipe=recipes/stargan_demo.py',
          f'--recipe.data.root={root}', f'--workdir={workdir}', '--recipe.export.at_end=false']
  args += [f'--recipe.{k}={v}' for k, v in TINY.items()]
  r = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
  return workdir, root


def test_classifier_and_evaluate_commands(stargan_run, tmp_path):
  workdir, _ = stargan_run
  clf = str(tmp_path / 'clf.keras')
  r = subprocess.run([sys.executable, '-m', 'tfi2i.attribute_classifier', f'--workdir={workdir}',
                      f'--output={clf}', '--steps=3', '--batch_size=4', '--widths=4,8'],
                     capture_output=True, text=True, cwd=REPO, timeout=600)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
  info = json.load(open(clf + '.json'))
  assert info['attributes'] == list(NAMES) and info['test_accuracy']['num_images'] == 4
  report = str(tmp_path / 'eval.json')
  r = subprocess.run([sys.executable, '-m', 'tfi2i.evaluate', f'--workdir={workdir}',
                      f'--classifier={clf}', f'--output={report}'],
                     capture_output=True, text=True, cwd=REPO, timeout=600)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
  result = json.load(open(report))
  edits = result['attribute_edits']
  assert result['num_inputs'] == 4 and result['samples_per_input'] == len(NAMES)
  # the readout's reference share is evaluate's accuracy: the same edits, the same classifier
  from tfi2i.experiments import cam_ablation  # pylint: disable=g-import-not-at-top
  readout = cam_ablation.classifier_readout(workdir, clf, batch_size=3)
  assert readout['step'] == result['step']
  for name in NAMES:
    assert readout[name]['reference'] == pytest.approx(
        edits['per_attribute'][name]['accuracy'], abs=1e-9)
    assert all(0 <= readout[name][k] <= 1 for k in ('discriminator', 'discriminator_real'))
    assert readout[name]['change'] > 0
  real = edits['classifier']['real_accuracy']
  for name in NAMES:  # the same test images, the same preprocessing
    assert real[name] == pytest.approx(info['test_accuracy'][name])
    per = edits['per_attribute'][name]
    assert 0 <= per['accuracy'] <= 1 and per['masked_images'] == 4
    assert per['masked_psnr'] is not None and per['masked_psnr'] > 0
  assert edits['masked_attributes'] == sorted(NAMES)


def test_evaluate_edits_start_from_the_file_labels(stargan_run):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tfi2i import restore as restore_lib  # pylint: disable=g-import-not-at-top

  model, config, _, _ = restore_lib.restore_model(stargan_run[0])
  data = streams.stream('attributes').evaluation(config.data, 'test')
  transform = evaluate.eval_transform(config.data)
  a = np.stack([transform(data.load(i)[0]) for i in range(2)])
  labels = data.attributes[:2]
  sample, k, _ = model.sampler(1, 0, 8)
  out = sample(a, [0, 1], {'attributes': labels})
  assert out.shape == (2, k, 32, 32, 3)
  for j in range(k):
    target = attribute_rules.change(labels, NAMES, j)
    want = model.edit(tf.constant(a), tf.constant(labels), tf.constant(target))
    np.testing.assert_allclose(out[:, j], want, atol=1e-5)


def test_bad_classifiers_are_named(stargan_run, tmp_path):
  import keras  # pylint: disable=g-import-not-at-top
  wrong = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                            keras.layers.Dense(5)])
  path = str(tmp_path / 'five.keras')
  wrong.save(path)
  with pytest.raises(ValueError, match='gives 5 outputs'):
    attribute_accuracy.load(path, NAMES)
  with open(path + '.json', 'w') as f:
    json.dump({'attributes': ['Red_Top', 'a', 'b', 'c', 'd']}, f)
  with pytest.raises(ValueError, match='no attribute Bright_Centre, Dark_Bottom'):
    attribute_accuracy.load(path, NAMES)
  bad = tmp_path / 'bad.keras'
  bad.write_bytes(b'not a model')
  r = subprocess.run([sys.executable, '-m', 'tfi2i.evaluate', f'--workdir={stargan_run[0]}',
                      f'--classifier={bad}'], capture_output=True, text=True, cwd=REPO,
                     timeout=600)
  assert r.returncode == 1 and 'cannot load the classifier' in r.stderr and str(bad) in r.stderr


def test_reference_classifier_learns_the_demo_attributes(tmp_path):
  """Trained on clean region edits, the reference network separates them (a check that
  build() and the loss are wired, not a benchmark): train accuracy after 120 steps."""
  import keras  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(0)
  rng = np.random.default_rng(0)
  tiles = rng.integers(40, 200, (64, 32, 32, 3), dtype=np.uint8)
  labels = rng.integers(0, 2, (64, 3))
  x = np.stack([demo_attributes.apply(t, l) for t, l in zip(tiles, labels)])
  x = x.astype(np.float32) / 127.5 - 1
  model = attribute_classifier.build(3, 32, widths=(8, 16))
  model.compile(optimizer=keras.optimizers.Adam(1e-2),
                loss=keras.losses.BinaryCrossentropy(from_logits=True))
  model.fit(x, labels.astype(np.float32), batch_size=16, epochs=30, verbose=0)
  clf = attribute_accuracy.Classifier(model, NAMES, NAMES)
  assert attribute_accuracy.accuracy(clf.predict(x), labels).min() > 0.9


def test_ablation_table_lists_each_run(tmp_path):
  from tfi2i.experiments import cam_ablation  # pylint: disable=g-import-not-at-top

  def report(acc, mpsnr):
    per = {n: {'accuracy': acc, 'l1': 0.1, 'psnr': 20.0, 'masked_psnr': mpsnr} for n in NAMES}
    return {'step': 1500, 'realism': {'fid': 12.5, 'extractor': 'random'},
            'attribute_edits': {'per_attribute': per, 'classifier': None,
                                'mean': {'accuracy': acc, 'l1': 0.1, 'psnr': 20.0,
                                         'masked_psnr': mpsnr}}}

  paths = []
  for name, acc, mpsnr in (('none', 0.5, 21.0), ('both', 0.75, 27.25)):
    paths.append(str(tmp_path / f'{name}.json'))
    with open(paths[-1], 'w') as f:
      json.dump(report(acc, mpsnr), f)
  text = cam_ablation.table(cam_ablation.load(paths))
  rows = text.splitlines()
  assert rows[0].startswith('| run | cam.apply_to | step | acc Red_Top')
  assert rows[2].startswith('| none |') and '0.500' in rows[2] and '21.00' in rows[2]
  assert rows[3].startswith('| both |') and '27.25' in rows[3] and '12.50' in rows[3]
  with open(paths[0], 'w') as f:
    json.dump({'step': 1}, f)
  assert cam_ablation.main([paths[0]]) == 1


def test_mask_overlap_scores_against_the_regions(stargan_run):
  from tfi2i.experiments import cam_ablation  # pylint: disable=g-import-not-at-top
  result = cam_ablation.mask_overlap(stargan_run[0])
  assert result['step'] == 2
  for name in NAMES:
    share = demo_attributes.region(name, 32, 32).mean()
    assert result[name]['region_share'] == pytest.approx(share, abs=1e-6)
    assert 0 <= result[name]['inside'] <= 1 and 0 <= result[name]['iou'] <= 1
  text = cam_ablation.mask_table({'run': result})
  assert text.splitlines()[2].startswith('| run | 2 | ')
  # the map read can be another block's than the recipe's (-2): it changes the masks
  assert cam_ablation.mask_overlap(stargan_run[0], layer=-2) == result
  other = cam_ablation.mask_overlap(stargan_run[0], layer=-1)
  assert other['step'] == 2 and other != result
  for name in NAMES:
    assert other[name]['region_share'] == result[name]['region_share']
  with pytest.raises(ValueError, match='cam.layer=-40: the discriminator has'):
    cam_ablation.mask_overlap(stargan_run[0], layer=-40)


def _result(editor, setting, seed, acc, mpsnr, inside=None, share=0.25):
  per = {n: {'accuracy': acc, 'l1': 0.1, 'psnr': 20.0, 'masked_psnr': mpsnr} for n in NAMES}
  r = {'step': 1000, 'editor': editor, 'cam_apply_to': setting, 'seed': seed,
       'realism': {'fid': 10.0 + seed, 'extractor': 'random'},
       'attribute_edits': {'per_attribute': per, 'classifier': None,
                           'mean': {'accuracy': acc, 'l1': 0.1, 'psnr': 20.0,
                                    'masked_psnr': mpsnr}}}
  if inside is not None:
    r['masks'] = {'step': 1000, **{n: {'inside': inside, 'iou': 0.1, 'region_share': share}
                                   for n in NAMES}}
  return r


def test_ablation_summary_gives_mean_spread_and_paired_differences():
  from tfi2i.experiments import cam_ablation  # pylint: disable=g-import-not-at-top
  results = {}
  for seed, (none, both) in enumerate([(20.0, 22.0), (21.0, 22.5), (22.0, 24.5)]):
    results[f'attgan_both_s{seed}'] = _result('attgan', 'both', seed, 0.80, both, 0.5)
    results[f'attgan_none_s{seed}'] = _result('attgan', 'none', seed, 0.82, none, 0.2)
  results['stargan_none_s0'] = _result('stargan', 'none', 0, 0.9, 30.0)
  results['attgan_none_s0@500'] = {**_result('attgan', 'none', 0, 0.9, 18.0), 'step': 500}
  results['attgan_both_s0@500'] = {**_result('attgan', 'both', 0, 0.7, 21.5), 'step': 500}
  groups = cam_ablation.group(results)
  # per editor, per step (earlier checkpoints first), the settings in the paper's order
  assert list(groups) == [('attgan', 'none', 500), ('attgan', 'both', 500),
                          ('attgan', 'none', 1000), ('attgan', 'both', 1000),
                          ('stargan', 'none', 1000)]
  text = cam_ablation.summary_table(results)
  lines = text.splitlines()
  none_row = next(l for l in lines if l.startswith('| attgan | none | 0,1,2 |'))
  assert '21.00 ± 1.00' in none_row and '0.820 ± 0.000' in none_row and '11.00 ± 1.00' in none_row
  assert '0.200 ± 0.000 | 0.250 ± 0.000' in none_row
  both_diff = next(l for l in lines if l.startswith('| attgan | both | 1000 | ') and '±' in l
                   and l.count('|') == 7)
  # paired by seed: 2.0, 1.5, 2.5 dB -> mean 2.00, SD 0.50; accuracy -2 points each
  assert '| 2.00 ± 0.50 | -2.0 ± 0.0 | 0.250 ± 0.000 |' in both_diff
  # at step 500 the pair is that step's none: +3.5 dB, -20 points (one seed, no spread)
  assert '| attgan | both | 500 | 3.50 | -20.0 | - |' in text
  assert '| stargan | none | 0 | 1000 | 0.900 | 30.00 |' in text  # one seed: no spread
  with pytest.raises(ValueError, match='not a result of --run'):
    cam_ablation.group({'x': {'step': 1}})


def test_ablation_done_when_reads_the_paired_means():
  """The issue's criteria on the paired means: gain >= 1 dB, accuracy lost <= 2 points, the
  discriminator-only mask above a uniform one; 'no' with fewer than 3 paired seeds."""
  from tfi2i.experiments import cam_ablation  # pylint: disable=g-import-not-at-top
  results = {}
  # both - none: +2.0, +0.5, +1.0 dB (mean 1.17); accuracy -1, -1, -4 points (mean -2.0)
  for seed, (none, both, acc) in enumerate([(20.0, 22.0, 0.81), (21.0, 21.5, 0.81),
                                            (22.0, 23.0, 0.78)]):
    results[f'attgan_none_s{seed}'] = _result('attgan', 'none', seed, 0.82, none, 0.2)
    results[f'attgan_both_s{seed}'] = _result('attgan', 'both', seed, acc, both, 0.3)
    # the discriminator-only mask: 0.24, 0.26, 0.26 inside against a 0.25 region
    results[f'attgan_discriminator_s{seed}'] = _result(
        'attgan', 'discriminator', seed, 0.82, none, 0.24 if seed == 0 else 0.26)
  # StarGAN: a large gain, but two seeds only
  for seed in (0, 1):
    results[f'stargan_none_s{seed}'] = _result('stargan', 'none', seed, 0.99, 17.0)
    results[f'stargan_both_s{seed}'] = _result('stargan', 'both', seed, 0.99, 26.0)
  lines = cam_ablation.done_when_table(results).splitlines()
  rows = {tuple(c.strip() for c in l.strip('|').split('|'))[:3]: l for l in lines[2:]}
  gain = rows[('attgan', '1000', 'both - none masked PSNR >= 1 dB')]
  assert '| 3 | +1.17 dB | yes |' in gain
  acc = rows[('attgan', '1000', 'both - none accuracy >= -2 points')]
  assert '| 3 | -2.0 points | yes |' in acc
  mask = rows[('attgan', '1000', 'discriminator mask inside - uniform > 0')]
  assert '| 3 | +0.003 | yes |' in mask
  assert '| 2 | +9.00 dB | no |' in rows[('stargan', '1000', 'both - none masked PSNR >= 1 dB')]
  # one seed more accuracy lost: -3 points on average, not within 2
  results['attgan_both_s2'] = _result('attgan', 'both', 2, 0.75, 23.0, 0.3)
  text = cam_ablation.done_when_table(results)
  assert '| attgan | 1000 | both - none accuracy >= -2 points | 3 | -3.0 points | no |' in text
  # none of the discriminator-only masks above uniform on average: 'no'
  for seed in range(3):
    results[f'attgan_discriminator_s{seed}']['masks']['Red_Top']['inside'] = 0.1
    results[f'attgan_discriminator_s{seed}']['masks']['Bright_Centre']['inside'] = 0.1
  assert '| discriminator mask inside - uniform > 0 | 3 | -0.' in cam_ablation.done_when_table(
      results)


def test_ablation_command_output_goes_to_its_log(tmp_path, capsys):
  """With --jobs > 1 each command's output is appended to the run's log; a failure names the
  log and still raises."""
  from tfi2i.experiments import cam_ablation  # pylint: disable=g-import-not-at-top
  log = str(tmp_path / 'run.log')
  cam_ablation._call([sys.executable, '-c', 'print("first")'], None, log)
  with pytest.raises(subprocess.CalledProcessError):
    cam_ablation._call([sys.executable, '-c', 'import sys; print("second"); sys.exit(3)'],
                       None, log)
  with open(log, encoding='utf-8') as f:
    assert f.read() == 'first\nsecond\n'
  assert 'failed (exit 3)' in (out := capsys.readouterr().out) and log in out


def test_ablation_run_does_only_the_missing_work(tmp_path, monkeypatch):
  """--run's bookkeeping (the commands themselves are tested above): every paper row and
  seed is trained until train.steps, one classifier serves all, and a result is
  recomputed only when its run moved on."""
  from tfi2i import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  from tfi2i.experiments import cam_ablation  # pylint: disable=g-import-not-at-top
  steps, calls, envs = {}, [], []

  def fake_call(cmd, env=None, log=None):
    calls.append(cmd)
    envs.append((env, log))
    module = cmd[2]
    flag = lambda name: next(c.split('=', 1)[1] for c in cmd if c.startswith(f'--{name}='))
    if module == 'tfi2i.train':
      os.makedirs(flag('workdir'), exist_ok=True)
      steps[flag('workdir')] = int(flag('recipe.train.steps'))
    elif module == 'tfi2i.attribute_classifier':
      open(flag('output'), 'w').close()
    else:
      at = [int(c.split('=', 1)[1]) for c in cmd if c.startswith('--step=')]
      with open(flag('output'), 'w') as f:
        json.dump({'step': at[0] if at else steps[flag('workdir')], 'attribute_edits': {}}, f)

  monkeypatch.setattr(cam_ablation, '_call', fake_call)
  monkeypatch.setattr(workdir_lib, 'latest_step', lambda w: steps.get(w, 0))
  # the runs keep a checkpoint every 3 steps and their last
  monkeypatch.setattr(workdir_lib, 'checkpoint_paths',
                      lambda w: [f'ckpt-{k}' for k in (*range(3, steps[w], 3), steps[w])])
  scored = []

  def fake_masks(w, step=None, layer=None):
    scored.append((os.path.basename(w), step, layer))
    return {'step': step or steps[w], 'layer': layer}

  monkeypatch.setattr(cam_ablation, 'mask_overlap', fake_masks)
  root = str(tmp_path / 'ablation')
  results = cam_ablation.run_ablation(root, ['attgan', 'stgan'], [0, 1], ['train.steps=7'])
  # seed-major: the first seed's rows of every editor come before the second seed's
  labels = [f'{e}_{s}_s{seed}' for seed in (0, 1)
            for e, rows in (('attgan', cam_ablation.PAPER_ROWS['attgan']),
                            ('stgan', ('none', 'both'))) for s in rows]
  assert list(results) == labels
  modules = [c[2] for c in calls]
  assert modules.count('tfi2i.train') == 12 and modules.count('tfi2i.evaluate') == 12
  assert modules.count('tfi2i.attribute_classifier') == 1
  train = next(c for c in calls if c[2] == 'tfi2i.train')
  assert '--recipe=recipes/attgan_demo.py' in train and '--recipe.cam.apply_to=none' in train
  assert '--recipe.train.seed=0' in train
  assert results['stgan_both_s1'] == {'step': 7, 'attribute_edits': {}, 'editor': 'stgan',
                                      'cam_apply_to': 'both', 'seed': 1,
                                      'masks': {'step': 7, 'layer': -2}, 'mask_layer': -2}
  calls.clear()
  scored.clear()
  assert cam_ablation.run_ablation(root, ['attgan', 'stgan'], [0, 1], ['train.steps=7']) == results
  assert calls == [] and scored == []  # all done: nothing runs again
  # masks scored on another map than the recipe's cam.layer (or before the layer was
  # recorded) are scored again there, and only they: the evaluation is kept
  path = os.path.join(root, 'stgan_none_s0.json')
  with open(path) as f:
    old = json.load(f)
  with open(path, 'w') as f:
    json.dump({k: v for k, v in old.items() if k != 'mask_layer'}, f)
  assert cam_ablation.run_ablation(root, ['stgan'], [0], ['train.steps=7']) == {
      k: results[k] for k in ('stgan_none_s0', 'stgan_both_s0')}
  assert calls == [] and scored == [('stgan_none_s0', 7, -2)]
  scored.clear()
  layered = cam_ablation.run_ablation(root, ['stgan'], [0], ['train.steps=7', 'cam.layer=-1'])
  assert calls == [] and scored == [('stgan_none_s0', 7, -1), ('stgan_both_s0', 7, -1)]
  assert layered['stgan_both_s0']['mask_layer'] == -1
  assert layered['stgan_both_s0']['masks'] == {'step': 7, 'layer': -1}
  cam_ablation.run_ablation(root, ['stgan'], [0], ['train.steps=7'])  # back to the recipe's
  again = cam_ablation.run_ablation(root, ['stgan'], [0], ['train.steps=9'])  # a longer budget
  assert [c[2] for c in calls] == ['tfi2i.train', 'tfi2i.evaluate'] * 2
  assert again['stgan_both_s0']['step'] == 9
  # earlier checkpoints: each scored once at its own step, a step not kept is named, skipped
  calls.clear()
  early = cam_ablation.run_ablation(root, ['stgan'], [0], ['train.steps=9'], also_at=[3, 4])
  assert [c[2] for c in calls] == ['tfi2i.evaluate'] * 2
  assert all('--step=3' in c for c in calls)
  assert list(early) == ['stgan_none_s0', 'stgan_none_s0@3', 'stgan_both_s0', 'stgan_both_s0@3']
  assert early['stgan_both_s0@3']['step'] == 3
  assert early['stgan_both_s0@3']['masks'] == {'step': 3, 'layer': -2}
  assert early['stgan_both_s0'] == again['stgan_both_s0']
  calls.clear()
  cam_ablation.run_ablation(root, ['stgan'], [0], ['train.steps=9'], also_at=[3, 4])
  assert calls == []
  with pytest.raises(ValueError, match='unknown editors'):
    cam_ablation.run_ablation(root, ['cyclegan'])
  # settings: only those rows, in PAPER_ROWS order, trained under their own labels
  calls.clear()
  picked = cam_ablation.run_ablation(root, ['attgan'], [2], ['train.steps=7'],
                                     settings=['both', 'none'])
  assert list(picked) == ['attgan_none_s2', 'attgan_both_s2']
  assert [c[2] for c in calls].count('tfi2i.train') == 2
  for bad in (['all'], []):
    with pytest.raises(ValueError, match='unknown or no settings'):
      cam_ablation.run_ablation(root, ['attgan'], [2], settings=bad)
  assert all(e == (None, None) for e in envs)  # one job: the output and threads inherited
  # jobs=2: the same runs and results, two trained at once with the CPUs split, each
  # run's output in its own log
  steps.clear()
  calls.clear()
  envs.clear()
  root2 = str(tmp_path / 'ablation2')
  assert cam_ablation.run_ablation(root2, ['attgan', 'stgan'], [0, 1], ['train.steps=7'],
                                   jobs=2) == results
  modules = [c[2] for c in calls]
  assert modules.count('tfi2i.train') == 12 and modules.count('tfi2i.evaluate') == 12
  assert modules.count('tfi2i.attribute_classifier') == 1
  threads = str(max(1, len(os.sched_getaffinity(0)) // 2))
  for cmd, (env, log) in zip(calls, envs):
    assert env['TF_NUM_INTRAOP_THREADS'] == threads == env['TF_NUM_INTEROP_THREADS']
    workdir = next(c.split('=', 1)[1] for c in cmd if c.startswith('--workdir='))
    assert log == workdir + '.log'
  with pytest.raises(ValueError, match='jobs is 0'):
    cam_ablation.run_ablation(root2, ['stgan'], jobs=0)
