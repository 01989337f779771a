"""Does the CAM-consistency loss keep what an edit should not touch? (issue 14, item 6)

The table of paper 001's ablation (cam.apply_to none / generator / discriminator / both)
from tfi2i.evaluate reports of runs on the attribute demo task
(tfi2i.data.demo_attributes: three attributes, each acting on a known region):

  make cam-ablation            # data, then --run below
  python -m tfi2i.experiments.cam_ablation --run=runs/cam_ablation [--editors=attgan,...]
      [--seeds=0,1,2] [--set=train.steps=...] [--also_at=500] [--jobs=2]
  python -m tfi2i.experiments.cam_ablation runs/cam_ablation/*.json
  python -m tfi2i.experiments.cam_ablation --masks [--cam_layer=N] RUN_WORKDIR ...
  python -m tfi2i.experiments.cam_ablation --readout=CLASSIFIER RUN_WORKDIR ...

--run: paper 001's ablation (sec. 4.6) at one CPU budget, as issue 24 asks: AttGAN (the
paper's baseline) with cam.apply_to none / generator / discriminator / both, StarGAN and
STGAN with none / both (PAPER_ROWS), each with every seed, from the editors' demo recipes
(recipes/EDITOR_demo.py). It trains each run that is not finished (a killed run resumes
from its last checkpoint), trains one reference classifier on the real training images for
all, evaluates each run with it (FID with the same extractor) and scores its masks (every
run of an editor on one Grad-CAM map: the demo recipe's cam.layer), keeping
every result in DIR/EDITOR_SETTING_sSEED.json (and DIR/EDITOR_SETTING_sSEED@STEP.json for
each --also_at step: the same run scored at that earlier checkpoint); then it prints, and
writes to DIR/summary.md, the per-run table and the table of mean and spread over the seeds,
per training step, and issue 24's done-when read on them (done_when_table).

Per run: the training step, per attribute the attribute accuracy (the reference classifier
of tfi2i.attribute_classifier on each edit) and the masked PSNR (input vs edit outside the
attribute's region, dB), their means, the PSNR of the whole edit to the input, and FID
against the real test images with the named feature extractor (random conv features
unless a weights file was given: compare only within one table).

--masks: where the discriminator's Grad-CAM mask M_CAM of each edit (the mask the loss
uses, in inference mode) falls, against the edited attribute's known region, on the test
split: 'inside' = the share of the mask's mass in the region (the region's own share of the
image is what a uniform mask gets), 'iou' = intersection over union of the mask above 1/2
with the region. Paper 001 argues the D term makes the mask cover where G changes the
image; this measures it where that region is known.
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import threading


def _num(value, digits=2):
  return '-' if value is None else f'{value:.{digits}f}'


def table(reports: dict) -> str:
  """Markdown table of {label: evaluate report}."""
  first = next(iter(reports.values()))['attribute_edits']
  names = list(first['per_attribute'])
  head = (['run', 'cam.apply_to', 'step'] + [f'acc {n}' for n in names] + ['acc mean']
          + [f'mPSNR {n}' for n in names] + ['mPSNR mean', 'PSNR', 'FID'])
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for label, r in reports.items():
    edits = r.get('attribute_edits')
    if edits is None:
      raise ValueError(f'{label}: not a report of an attribute editor (no attribute_edits)')
    per = edits['per_attribute']
    if list(per) != names:
      raise ValueError(f'{label}: attributes {list(per)} differ from {names}')
    realism = r.get('realism') or {}
    row = ([label, str(r.get('cam_apply_to', '?')), str(r['step'])]
           + [_num(per[n]['accuracy'], 3) for n in names] + [_num(edits['mean']['accuracy'], 3)]
           + [_num(per[n].get('masked_psnr')) for n in names]
           + [_num(edits['mean']['masked_psnr']), _num(edits['mean']['psnr']),
              _num(realism.get('fid'))])
    lines.append('| ' + ' | '.join(row) + ' |')
  classifiers = {json.dumps((r['attribute_edits']['classifier'] or {}).get('real_accuracy'))
                 for r in reports.values()}
  notes = []
  if len(classifiers) == 1 and first['classifier']:
    real = first['classifier']['real_accuracy']
    notes.append(f"Classifier {first['classifier']['name']}: accuracy on the real test images "
                 + ', '.join(f'{n} {real[n]:.3f}' for n in names) + '.')
  extractor = (next(iter(reports.values())).get('realism') or {}).get('extractor')
  if extractor:
    notes.append(f'FID features: {extractor}.')
  return '\n'.join(lines) + ('\n\n' + ' '.join(notes) if notes else '')


def mask_overlap(workdir: str, batch_size: int = 16, step=None, layer=None) -> dict:
  """{attribute: {'inside', 'iou', 'region_share'}} of a workdir's editor (see --masks) at
  its newest checkpoint, or the one of `step`; the Grad-CAM map read at the run's cam.layer,
  or at the discriminator block `layer` (a ValueError naming the blocks when it has none
  such). A run trained without the CAM terms can be scored at any layer: the layer only
  decides where Grad-CAM reads, so its rows compare with runs that trained at that layer."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfi2i import attribute_rules  # pylint: disable=import-outside-toplevel
  from tfi2i import evaluate  # pylint: disable=import-outside-toplevel
  from tfi2i import restore as restore_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.data import streams  # pylint: disable=import-outside-toplevel
  model, config, step, _ = restore_lib.restore_model(workdir, step=step)
  if layer is not None:
    model.discriminator.layer_index(int(layer))  # a bad layer is named here
    model.cam_layer = int(layer)
  data = streams.stream('attributes').evaluation(config.data, 'test')
  if not data.masks:
    raise ValueError(f'the test data of {workdir} has no region masks')
  transform = evaluate.eval_transform(config.data)
  names = tuple(data.attribute_names)
  sums = {n: {'inside': [], 'iou': [], 'region_share': []} for n in data.masks}
  for start in range(0, len(data.names), batch_size):
    idx = list(range(start, min(len(data.names), start + batch_size)))
    x = tf.constant(np.stack([transform(data.load(i)[0]) for i in idx]))
    source = data.attributes[idx]
    for j, name in enumerate(names):
      if name not in data.masks:
        continue
      target = attribute_rules.change(source, names, j, rule=model.target_rule)
      fake = model.edit(x, tf.constant(source), tf.constant(target))
      mask = np.asarray(model.cam_mask(x, fake, tf.constant(source), tf.constant(target),
                                       training=False))[..., 0]
      for row, i in enumerate(idx):
        path = data.masks[name][i]
        if path is None:
          continue
        region = evaluate.mask_region(path, transform) >= 0.5
        m = mask[row]
        sums[name]['inside'].append(float((m * region).sum() / max(m.sum(), 1e-12)))
        high = m > 0.5
        union = (high | region).sum()
        sums[name]['iou'].append(float((high & region).sum() / union) if union else 0.0)
        sums[name]['region_share'].append(float(region.mean()))
  return {'step': step, **{n: {k: float(np.mean(v)) for k, v in d.items()}
                           for n, d in sums.items()}}


def classifier_readout(workdir: str, classifier: str, step=None, batch_size: int = 16) -> dict:
  """Whom do an editor's edits convince? Per attribute, on the test split's single-attribute
  edits (the editor's test-time rule, as tfi2i.evaluate): 'discriminator', the share of
  edits the editor's own discriminator classifier reads as the target (what the generator
  is trained to satisfy); 'reference', the share the reference classifier file reads so
  (evaluate's attribute accuracy); 'discriminator_real', the discriminator classifier's
  accuracy on the real test images; 'change', the mean |edit - input| (images in [-1, 1]).
  At the newest checkpoint, or the one of `step`."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfi2i import attribute_rules  # pylint: disable=import-outside-toplevel
  from tfi2i import evaluate  # pylint: disable=import-outside-toplevel
  from tfi2i import restore as restore_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.data import streams  # pylint: disable=import-outside-toplevel
  from tfi2i.metrics import attribute_accuracy  # pylint: disable=import-outside-toplevel
  model, config, step, _ = restore_lib.restore_model(workdir, step=step)
  data = streams.stream('attributes').evaluation(config.data, 'test')
  names = tuple(data.attribute_names)
  reference = attribute_accuracy.load(classifier, names)
  hits = {n: {'discriminator': [], 'reference': [], 'discriminator_real': [], 'change': []}
          for n in names}
  transform = evaluate.eval_transform(config.data)
  for start in range(0, len(data.names), batch_size):
    idx = list(range(start, min(len(data.names), start + batch_size)))
    x = tf.constant(np.stack([transform(data.load(i)[0]) for i in idx]))
    source = data.attributes[idx]
    real_logits = np.asarray(model.discriminator(x, training=False)[1])
    for j, name in enumerate(names):
      target = attribute_rules.change(source, names, j, rule=model.target_rule)
      fake = model.edit(x, tf.constant(source), tf.constant(target))
      logits = np.asarray(model.discriminator(fake, training=False)[1])
      wanted = target[:, j] > 0.5
      hits[name]['discriminator'] += list((logits[:, j] > 0) == wanted)
      hits[name]['reference'] += list(reference.predict(np.asarray(fake))[:, j] == wanted)
      hits[name]['discriminator_real'] += list((real_logits[:, j] > 0) == (source[:, j] > 0.5))
      hits[name]['change'] += list(np.mean(np.abs(np.asarray(fake) - np.asarray(x)),
                                           axis=(1, 2, 3)))
  return {'step': step, **{n: {k: float(np.mean(v)) for k, v in d.items()}
                           for n, d in hits.items()}}


def mask_table(results: dict) -> str:
  names = [n for n in next(iter(results.values())) if n != 'step']
  head = ['run', 'step'] + [f'{n} inside / iou (region share)' for n in names]
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for label, r in results.items():
    lines.append('| ' + ' | '.join(
        [label, str(r['step'])] + [f"{r[n]['inside']:.3f} / {r[n]['iou']:.3f} "
                                   f"({r[n]['region_share']:.3f})" for n in names]) + ' |')
  return '\n'.join(lines)


PAPER_ROWS = {'attgan': ('none', 'generator', 'discriminator', 'both'),
              'stargan': ('none', 'both'), 'stgan': ('none', 'both')}


def run_label(editor: str, setting: str, seed: int) -> str:
  return f'{editor}_{setting}_s{seed}'


def _pm(values, digits=2):
  """'mean ± sample SD' of the non-None values ('mean' alone for one, '-' for none)."""
  values = [float(v) for v in values if v is not None]
  if not values:
    return '-'
  text = f'{statistics.fmean(values):.{digits}f}'
  return text + (f' ± {statistics.stdev(values):.{digits}f}' if len(values) > 1 else '')


def _mask_means(result):
  """(share of the mask's mass inside the edited region, the region's share of the image,
  IoU), averaged over the attributes with a region; Nones without --masks scores."""
  masks = result.get('masks') or {}
  rows = [v for k, v in masks.items() if k != 'step']
  if not rows:
    return None, None, None
  mean = lambda key: sum(r[key] for r in rows) / len(rows)
  return mean('inside'), mean('region_share'), mean('iou')


def group(results: dict) -> dict:
  """{(editor, setting, step): [result, ...]} of {label: result} whose results name their
  editor and setting (a --run result): per editor (PAPER_ROWS order), per training step
  (a run scored at an earlier checkpoint too, --also_at), the settings in PAPER_ROWS order."""
  groups = {}
  for label, r in results.items():
    if 'editor' not in r or 'cam_apply_to' not in r:
      raise ValueError(f'{label}: not a result of --run (no editor / cam_apply_to)')
    groups.setdefault((r['editor'], r['cam_apply_to'], r.get('step')), []).append(r)
  editors = list(PAPER_ROWS)
  def key(item):
    editor, setting, step = item[0]
    rows = PAPER_ROWS.get(editor, ())
    return (editors.index(editor) if editor in editors else len(editors), editor,
            step if step is not None else -1,
            rows.index(setting) if setting in rows else len(rows), setting)
  return dict(sorted(groups.items(), key=key))


def paired_differences(groups: dict) -> dict:
  """{(editor, setting, step): per seed paired with that editor's 'none' run of the same step,
  {'masked_psnr': dB gained, 'accuracy': points gained, 'inside': the mask's share in the
  region minus a uniform mask's (None without mask scores)}} for every setting but 'none'
  that has a pair; `groups` as group() gives them."""
  out = {}
  for (editor, setting, step), rows in groups.items():
    base = {r.get('seed'): r for r in groups.get((editor, 'none', step), [])}
    paired = [(r, base[r.get('seed')]) for r in rows if r.get('seed') in base]
    if setting == 'none' or not paired:
      continue
    mean = lambda r: r['attribute_edits']['mean']
    masks = [_mask_means(r) for r, _ in paired]
    out[(editor, setting, step)] = {
        'masked_psnr': [mean(r)['masked_psnr'] - mean(b)['masked_psnr'] for r, b in paired],
        'accuracy': [100 * (mean(r)['accuracy'] - mean(b)['accuracy']) for r, b in paired],
        'inside': [None if m[0] is None else m[0] - m[1] for m in masks]}
  return out


def summary_table(results: dict) -> str:
  """Markdown: per editor and cam.apply_to, mean ± sample SD over the seeds of attribute
  accuracy, masked PSNR, PSNR, FID and where the discriminator's mask falls; then per editor
  the paired differences to 'none' (the issue's criteria: masked PSNR gained, accuracy
  lost, and the mask's share in the region against a uniform mask's)."""
  groups = group(results)
  head = ['editor', 'cam.apply_to', 'seeds', 'step', 'acc mean', 'mPSNR mean (dB)', 'PSNR (dB)',
          'FID', 'mask inside region', 'uniform mask', 'mask IoU']
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for (editor, setting, step), rows in groups.items():
    edits = [r['attribute_edits']['mean'] for r in rows]
    masks = [_mask_means(r) for r in rows]
    lines.append('| ' + ' | '.join([
        editor, setting, ','.join(str(r.get('seed', '?')) for r in rows), str(step),
        _pm([e['accuracy'] for e in edits], 3), _pm([e['masked_psnr'] for e in edits]),
        _pm([e['psnr'] for e in edits]), _pm([(r.get('realism') or {}).get('fid') for r in rows]),
        _pm([m[0] for m in masks], 3), _pm([m[1] for m in masks], 3),
        _pm([m[2] for m in masks], 3)]) + ' |')
  head2 = ['editor', 'cam.apply_to', 'step', 'mPSNR - none (dB)', 'acc - none (points)',
           'mask inside - uniform']
  diff = ['| ' + ' | '.join(head2) + ' |', '|' + '---|' * len(head2)]
  for (editor, setting, step), d in paired_differences(groups).items():
    diff.append('| ' + ' | '.join([editor, setting, str(step), _pm(d['masked_psnr']),
                                   _pm(d['accuracy'], 1), _pm(d['inside'], 3)]) + ' |')
  note = ('Mean ± sample SD over the seeds. Differences are paired by seed and step (same '
          "seed, same data order, same checkpoint step). 'mask inside region': the share of "
          "the discriminator's Grad-CAM mask mass in the edited attribute's region; 'uniform "
          "mask': the region's share of the image, what a mask equal everywhere gets.")
  return '\n'.join(lines) + '\n\n' + '\n'.join(diff) + '\n\n' + note


# Issue 24's done-when, read at each editor's steps: 'both' keeps at least MIN_GAIN_DB more
# masked PSNR than 'none' (mean of the paired seeds) while losing at most MAX_ACC_LOSS points
# of attribute accuracy, with at least MIN_SEEDS seeds; the discriminator-only mask holds more
# of its mass in the edited region than a uniform mask (mean over seeds above 0).
MIN_GAIN_DB = 1.0
MAX_ACC_LOSS = 2.0
MIN_SEEDS = 3


def done_when_table(results: dict) -> str:
  """Markdown: per editor and training step, the issue's criteria on the paired means, each
  with its figure and 'yes' / 'no' ('no' too when fewer than MIN_SEEDS seeds are paired),
  judged on the figure as printed (so -2.0 points is within 2 whatever float rounding)."""
  lines = ['| editor | step | criterion | paired seeds | mean | met |',
           '|---|---|---|---|---|---|']
  for (editor, setting, step), d in paired_differences(group(results)).items():
    n = len(d['masked_psnr'])
    checks = []
    if setting == 'both':
      gain, lost = statistics.fmean(d['masked_psnr']), statistics.fmean(d['accuracy'])
      checks += [(f'both - none masked PSNR >= {MIN_GAIN_DB:g} dB', f'{gain:+.2f} dB',
                  round(gain, 2) >= MIN_GAIN_DB),
                 (f'both - none accuracy >= -{MAX_ACC_LOSS:g} points', f'{lost:+.1f} points',
                  round(lost, 1) >= -MAX_ACC_LOSS)]
    elif setting == 'discriminator':
      inside = [v for v in d['inside'] if v is not None]
      if inside:
        above = statistics.fmean(inside)
        checks.append(('discriminator mask inside - uniform > 0', f'{above:+.3f}',
                       round(above, 3) > 0))
    for name, figure, ok in checks:
      lines.append(f'| {editor} | {step} | {name} | {n} | {figure} | '
                   f'{"yes" if ok and n >= MIN_SEEDS else "no"} |')
  return '\n'.join(lines)


def _call(cmd, env=None, log=None):
  """Runs cmd (exit status checked); with `log`, its output is appended to that file."""
  print('+ ' + ' '.join(cmd) + (f'  (output: {log})' if log else ''), flush=True)
  if log is None:
    subprocess.run(cmd, check=True, env=env)
    return
  with open(log, 'a', encoding='utf-8') as f:
    done = subprocess.run(cmd, check=False, env=env, stdout=f, stderr=subprocess.STDOUT)
  if done.returncode:
    print(f'failed (exit {done.returncode}): {" ".join(cmd)}; its output is in {log}',
          flush=True)
    done.check_returncode()


def job_env(jobs: int):
  """The environment of each of `jobs` concurrent runs: the CPUs this process may use split
  between them (TensorFlow's intra- and inter-op pools), so that the runs do not fight over
  the cores; None (the inherited environment) for one job."""
  if jobs <= 1:
    return None
  cpus = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
  threads = str(max(1, (cpus or 1) // jobs))
  return {**os.environ, 'TF_NUM_INTRAOP_THREADS': threads, 'TF_NUM_INTEROP_THREADS': threads}


def _score(root, name, workdir, classifier, python, masks, tags, step, env=None, log=None,
           layer=None):
  """The result of DIR/NAME.json: kept while its step is `step`, else the run's checkpoint
  of `step` evaluated again; with `masks`, its masks scored again when they were not scored
  at the Grad-CAM layer `layer` ('mask_layer'); written there when anything changed."""
  from tfi2i import workdir as workdir_lib  # pylint: disable=import-outside-toplevel
  path = os.path.join(root, f'{name}.json')
  result = _read(path) if os.path.isfile(path) else {}
  changed = False
  if result.get('step') != step:
    report = os.path.join(root, f'{name}.eval.json')
    _call([python, '-m', 'tfi2i.evaluate', f'--workdir={workdir}',
           f'--classifier={classifier}', f'--output={report}', f'--step={step}'], env, log)
    result, changed = {**_read(report), **tags}, True
  if masks and ('masks' not in result or result.get('mask_layer') != layer):
    result['masks'] = mask_overlap(workdir, step=step, layer=layer)
    result['mask_layer'] = layer
    changed = True
  if changed:
    workdir_lib.atomic_write(path, json.dumps(result, indent=1))
  return result


def run_ablation(root: str, editors=tuple(PAPER_ROWS), seeds=(0, 1, 2), overrides=(),
                 python: str = sys.executable, masks: bool = True, also_at=(),
                 jobs: int = 1, settings=None) -> dict:
  """Trains, evaluates and scores every (editor, setting, seed) of PAPER_ROWS under `root`
  (see --run); returns {label: result}, and {label@STEP: result} for each step of `also_at`
  below train.steps whose checkpoint the run kept (scored at that checkpoint). Finished
  work is not redone: a run whose newest checkpoint is at train.steps is not trained again,
  a result whose step is the one scored is kept, and the classifier file is trained once.

  jobs > 1 trains that many runs at once, in the same order, the CPUs split between them
  (job_env), each run's output in DIR/LABEL.log; scoring and the classifier are done one at
  a time. settings: only these cam.apply_to rows of each editor's PAPER_ROWS (None: all)."""
  from tfi2i import config as recipe_lib  # pylint: disable=import-outside-toplevel
  from tfi2i import workdir as workdir_lib  # pylint: disable=import-outside-toplevel
  unknown = [e for e in editors if e not in PAPER_ROWS]
  if unknown:
    raise ValueError(f'unknown editors {unknown}; expected some of {list(PAPER_ROWS)}')
  if jobs < 1:
    raise ValueError(f'jobs is {jobs}; expected 1 or more')
  known = {s for e in PAPER_ROWS for s in PAPER_ROWS[e]}
  if settings is not None and (not settings or set(settings) - known):
    raise ValueError(f'unknown or no settings {list(settings)}; expected some of '
                     f'{sorted(known)}')
  sets = [f'--recipe.{item}' for item in overrides]
  os.makedirs(root, exist_ok=True)
  classifier = os.path.join(root, 'classifier.keras')
  steps, layers = {}, {}
  for editor in editors:
    recipe = recipe_lib.override(
        recipe_lib.load_recipe(os.path.join('recipes', f'{editor}_demo.py')),
        recipe_lib.parse_overrides(overrides))
    # every run of an editor has its masks scored on one Grad-CAM map, the recipe's: a run
    # trained before the recipe's cam.layer changed (or without the CAM terms, where the
    # layer changes nothing in training) is scored again there
    steps[editor], layers[editor] = recipe.train.steps, recipe.cam.layer
  env = job_env(jobs)
  one_at_a_time = threading.Lock()

  def do_run(seed, editor, setting):
    label = run_label(editor, setting, seed)
    workdir = os.path.join(root, label)
    log = os.path.join(root, f'{label}.log') if jobs > 1 else None
    step = workdir_lib.latest_step(workdir) if os.path.isdir(workdir) else 0
    if step < steps[editor]:
      _call([python, '-m', 'tfi2i.train', f'--recipe=recipes/{editor}_demo.py',
             f'--recipe.cam.apply_to={setting}', f'--recipe.train.seed={seed}', *sets,
             f'--workdir={workdir}'], env, log)
      step = workdir_lib.latest_step(workdir)
    out = {}
    with one_at_a_time:
      if not os.path.isfile(classifier):
        _call([python, '-m', 'tfi2i.attribute_classifier', f'--workdir={workdir}',
               f'--output={classifier}'], env, log)
      tags = {'editor': editor, 'cam_apply_to': setting, 'seed': seed}
      out[label] = _score(root, label, workdir, classifier, python, masks, tags, step, env,
                          log, layers[editor])
      kept = ({workdir_lib.step_of_name(p) for p in workdir_lib.checkpoint_paths(workdir)}
              if also_at else set())
      for at in also_at:
        if at >= step:
          continue
        if at not in kept:
          print(f'{label}: no checkpoint of step {at} (kept: {sorted(kept)}); not scored '
                'there', flush=True)
          continue
        out[f'{label}@{at}'] = _score(root, f'{label}@{at}', workdir, classifier, python,
                                      masks, tags, at, env, log, layers[editor])
    return out

  # Seed-major: every editor's paired rows (none beside the CAM settings) exist after the
  # first seed, so a partial ablation (it runs across sessions) is already comparable.
  plan = [(seed, editor, setting) for seed in seeds for editor in editors
          for setting in PAPER_ROWS[editor] if settings is None or setting in settings]
  results = {}
  if jobs == 1:
    for item in plan:
      results.update(do_run(*item))
    return results
  with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    futures = [pool.submit(do_run, *item) for item in plan]
    try:
      for future in futures:
        results.update(future.result())
    except BaseException:
      pool.shutdown(wait=True, cancel_futures=True)  # the runs under way finish or fail
      raise
  return results


def _read(path):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def load(paths) -> dict:
  reports = {}
  for path in paths:
    with open(path, encoding='utf-8') as f:
      report = json.load(f)
    recipe = os.path.join(report.get('workdir', ''), 'recipe.json')
    if os.path.isfile(recipe):
      with open(recipe, encoding='utf-8') as f:
        report['cam_apply_to'] = json.load(f).get('cam', {}).get('apply_to')
    reports[os.path.splitext(os.path.basename(path))[0]] = report
  return reports


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('reports', nargs='*', help='tfi2i.evaluate JSON reports, or --run '
                      "results (with --masks: the runs' workdirs)")
  parser.add_argument('--masks', action='store_true', help='score where the Grad-CAM masks '
                      "fall against the attributes' regions")
  parser.add_argument('--cam_layer', type=int, default=None,
                      help="with --masks: read Grad-CAM at this discriminator block (default: "
                      "each run's cam.layer)")
  parser.add_argument('--run', metavar='DIR', help="run paper 001's ablation under DIR (see "
                      'above) and print its tables')
  parser.add_argument('--editors', default=','.join(PAPER_ROWS),
                      help=f'with --run: some of {",".join(PAPER_ROWS)}')
  parser.add_argument('--seeds', default='0,1,2', help='with --run: train.seed of each run')
  parser.add_argument('--settings', default='', help='with --run: only these cam.apply_to '
                      'rows, e.g. none,both (default: every row of each editor)')
  parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                      help='with --run: a recipe override for every run, e.g. train.steps=600')
  parser.add_argument('--readout', metavar='CLASSIFIER', help='for each run workdir given: '
                      "the share of edits its own discriminator and the reference CLASSIFIER "
                      'read as the target (classifier_readout)')
  parser.add_argument('--jobs', type=int, default=1, help='with --run: train this many runs '
                      'at once, the CPUs split between them (output in DIR/LABEL.log)')
  parser.add_argument('--also_at', default='', metavar='STEP,...',
                      help='with --run: score every run at these earlier checkpoint steps too '
                      '(tables per step), where the run kept them')
  args = parser.parse_args(argv)
  try:
    if args.run:
      seeds = [int(s) for s in args.seeds.split(',') if s]
      results = run_ablation(args.run, [e for e in args.editors.split(',') if e], seeds,
                             args.set, also_at=[int(s) for s in args.also_at.split(',') if s],
                             jobs=args.jobs,
                             settings=[s for s in args.settings.split(',') if s] or None)
      text = (table(results) + '\n\n' + summary_table(results) + '\n\n'
              + done_when_table(results))
      with open(os.path.join(args.run, 'summary.md'), 'w', encoding='utf-8') as f:
        f.write(text + '\n')
      print(text)
      return 0
    if not args.reports:
      parser.error('give reports, or --run=DIR')
    if args.readout:
      for w in args.reports:
        print(json.dumps({os.path.basename(os.path.normpath(w)):
                          classifier_readout(w, args.readout)}))
      return 0
    if args.masks:
      print(mask_table({os.path.basename(os.path.normpath(w)):
                        mask_overlap(w, layer=args.cam_layer) for w in args.reports}))
      return 0
    reports = load(args.reports)
    print(table(reports))
    if all('editor' in r for r in reports.values()):
      print('\n' + summary_table(reports) + '\n\n' + done_when_table(reports))
  except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
