"""Does the CAM-consistency loss keep what an edit should not touch? (issue 14, item 6)

The table of paper 001's ablation (cam.apply_to none / generator / discriminator / both)
from tfi2i.evaluate reports of runs on the attribute demo task
(tfi2i.data.demo_attributes: three attributes, each acting on a known region):

  make cam-ablation            # data, the four StarGAN runs, a classifier, the reports
  python -m tfi2i.experiments.cam_ablation runs/cam_ablation/*.json
  python -m tfi2i.experiments.cam_ablation --masks RUN_WORKDIR ...

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
import json
import os
import sys


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


def mask_overlap(workdir: str, batch_size: int = 16) -> dict:
  """{attribute: {'inside', 'iou', 'region_share'}} of a workdir's editor (see --masks)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfi2i import attribute_rules  # pylint: disable=import-outside-toplevel
  from tfi2i import evaluate  # pylint: disable=import-outside-toplevel
  from tfi2i import restore as restore_lib  # pylint: disable=import-outside-toplevel
  from tfi2i.data import streams  # pylint: disable=import-outside-toplevel
  model, config, step, _ = restore_lib.restore_model(workdir)
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


def mask_table(results: dict) -> str:
  names = [n for n in next(iter(results.values())) if n != 'step']
  head = ['run', 'step'] + [f'{n} inside / iou (region share)' for n in names]
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for label, r in results.items():
    lines.append('| ' + ' | '.join(
        [label, str(r['step'])] + [f"{r[n]['inside']:.3f} / {r[n]['iou']:.3f} "
                                   f"({r[n]['region_share']:.3f})" for n in names]) + ' |')
  return '\n'.join(lines)


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
  parser.add_argument('reports', nargs='+', help='tfi2i.evaluate JSON reports (with --masks: '
                      'the runs\' workdirs)')
  parser.add_argument('--masks', action='store_true', help='score where the Grad-CAM masks '
                      'fall against the attributes\' regions')
  args = parser.parse_args(argv)
  try:
    if args.masks:
      print(mask_table({os.path.basename(os.path.normpath(w)): mask_overlap(w)
                        for w in args.reports}))
      return 0
    print(table(load(args.reports)))
  except (OSError, ValueError, KeyError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
