"""What a resumed run may change: the recipe and the data it trains on, checked against what
the run was started with before anything in the workdir is written.

A resume continues a run, so it must compute what the uninterrupted run would have: a
different model, loss, optimizer, schedule, batch, seed, precision or image list would
resume another run's checkpoint silently. Such changes are refused with the list of
differences, unless `train.resume='ignore_changes'` accepts them knowingly (the previous
recipe is then kept as recipe.before-<step>.json). Keys that do not change the computation
may change freely (ALLOWED); the data's location may change when the same files are found
there (same names in each domain, same counts).
"""
import json
import os

from tfi2i import config as recipe_lib
from tfi2i import workdir as workdir_lib

RUN_FILE = 'run.json'  # what the run was started with beyond its recipe: the data's identity
# keys that change how the run is watched, saved or spread over devices, not what it computes
ALLOWED = frozenset({
    'train.steps', 'train.log_every', 'train.image_every', 'train.checkpoint_every',
    'train.checkpoint_minutes', 'train.keep_checkpoints', 'train.keep_every_steps',
    'train.resume',
    'train.resume_from', 'train.profile_steps', 'train.strategy', 'train.jit_compile',
    'data.num_parallel_calls', 'export.at_end', 'export.mode', 'export.precision',
})
# where the data is: may change when the same images are found there (DatasetInfo.identity)
LOCATION = frozenset({'data.root', 'data.dir_a', 'data.dir_b', 'data.tfds_data_dir',
                      'data.list_a', 'data.list_b'})


def _flat(d, prefix=''):
  out = {}
  for key, value in d.items():
    if isinstance(value, dict):
      out.update(_flat(value, f'{prefix}{key}.'))
    else:
      out[f'{prefix}{key}'] = value
  return out


def recipe_changes(saved: dict, new: dict) -> list[tuple[str, object, object]]:
  """(key, saved value, new value) of each key of both recipes whose value differs and that
  is not in ALLOWED. Keys of only one side (a retired or a newly added recipe key) are left
  out: they came with another tfi2i version, not with the user's change."""
  old, now = _flat(saved), _flat(new)
  return [(k, old[k], now[k]) for k in sorted(old.keys() & now.keys())
          if old[k] != now[k] and k not in ALLOWED]


def schedule_moves(saved: dict, new: dict) -> list:
  """train.steps may change on resume (a run made longer or shorter), except where the
  learning-rate schedule is laid out over it: with 'linear_steps' the decay starts at half
  of train.steps (or decay_start_step) and reaches zero at train.steps, so a new length
  moves the rate of every step, also of those already done (1M -> 2M at step 800k raises
  it 2.5x)."""
  old_steps, new_steps = saved.get('train', {}).get('steps'), new['train']['steps']
  if new['schedule']['policy'] != 'linear_steps' or old_steps in (None, new_steps):
    return []
  return [('train.steps (schedule.policy=linear_steps decays over it: a new length moves '
           'the learning rate of every step)', old_steps, new_steps)]


def _load(path):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def check(workdir: str, config, data_identity: dict, step: int):
  """Before a run at `step` (> 0: a resume) writes anything: raises RecipeError listing what
  the new recipe or data changes, unless train.resume is 'ignore_changes'. Returns the
  list of accepted changes (for the log)."""
  mode = config.train.resume
  recipe_path = os.path.join(workdir, workdir_lib.RECIPE)
  if step <= 0 or not os.path.isfile(recipe_path):
    return []
  # compared as recipe.json holds them (tuples come back as lists, ints stay ints)
  new = json.loads(json.dumps(config.to_dict(), sort_keys=True))
  saved, _ = recipe_lib.upgrade(_load(recipe_path))  # an older tfi2i's keys in today's places
  changes = recipe_changes(saved, new)
  changes += schedule_moves(saved, new)
  run_path = os.path.join(workdir, RUN_FILE)
  saved_data = _load(run_path).get('data') if os.path.isfile(run_path) else None
  same_data = saved_data is None or saved_data == data_identity
  if same_data:
    changes = [c for c in changes if c[0] not in LOCATION]
  else:
    changes.append(('data (the image list)', _describe(saved_data), _describe(data_identity)))
  if not changes:
    return []
  lines = '\n'.join(f'  {key}: {old!r} -> {new!r}' for key, old, new in changes)
  if mode == 'ignore_changes':
    backup = os.path.join(workdir, f'recipe.before-{step}.json')
    if not os.path.exists(backup):
      with open(recipe_path, encoding='utf-8') as f:
        workdir_lib.atomic_write(backup, f.read())
    print(f'Resuming at step {step} with changes accepted (train.resume=ignore_changes); the '
          f'previous recipe is kept as {backup}:\n{lines}')
    return changes
  raise recipe_lib.RecipeError(
      f'{workdir} holds a run at step {step} started with another recipe or data; resuming '
      f'it with these changes would not continue that run:\n{lines}\n'
      f'Use another --workdir for a new run, undo the changes, or accept them with '
      f'--recipe.train.resume=ignore_changes. (Changing {", ".join(sorted(ALLOWED))} is '
      f'always allowed.)')


def _describe(identity):
  if not identity:
    return None
  return ', '.join(f'{k} {v}' for k, v in sorted(identity.items()))


def save(workdir: str, config, data_identity: dict, precision=None):
  """Writes recipe.json and run.json (after `check`). precision: the tfi2i.precision Choice
  the run computes with, recorded in recipe.json's `resolved` entry."""
  resolved = {'train': {'precision': precision.record()}} if precision else None
  recipe_lib.save_recipe(config, workdir, resolved=resolved)
  workdir_lib.atomic_write(os.path.join(workdir, RUN_FILE),
                           json.dumps({'data': data_identity}, indent=2, sort_keys=True))
