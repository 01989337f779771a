"""Does the CAM-consistency loss keep what an edit should not touch? (issue 14, item 6)

The table of paper 001's ablation (cam.apply_to none / generator / discriminator / both)
from tfi2i.evaluate reports of runs on the attribute demo task
(tfi2i.data.demo_attributes: three attributes, each acting on a known region):

  make cam-ablation            # data, the four StarGAN runs, a classifier, the reports
  python -m tfi2i.experiments.cam_ablation runs/cam_ablation/*.json

Per run: the training step, per attribute the attribute accuracy (the reference classifier
of tfi2i.attribute_classifier on each edit) and the masked PSNR (input vs edit outside the
attribute's region, dB), their means, the PSNR of the whole edit to the input, and FID
against the real test images with the named feature extractor (random conv features
unless a weights file was given: compare only within one table).
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
  parser.add_argument('reports', nargs='+', help='tfi2i.evaluate JSON reports')
  args = parser.parse_args(argv)
  try:
    print(table(load(args.reports)))
  except (OSError, ValueError, KeyError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
