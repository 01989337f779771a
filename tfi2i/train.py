"""Train a recipe.

  python -m tfi2i.train --recipe=recipes/cyclegan.py --recipe.data.root=DIR --workdir=DIR \
      [--recipe.train.batch_size=4 ...]

Every recipe value can be overridden with --recipe.KEY=VALUE; an unknown key is an error
naming it. Rerunning the same command resumes from the newest checkpoint in the workdir.
"""
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from tfi2i import config as recipe_lib

_RECIPE = config_flags.DEFINE_config_file('recipe', None, 'Recipe file (recipes/*.py).',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Run directory: recipe.json, checkpoints, '
                               'TensorBoard events and export/ are written here.')
flags.mark_flags_as_required(['recipe', 'workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  # The strategy first: MultiWorkerMirroredStrategy must configure collective ops before
  # any other TensorFlow work in the process (importing the data and model code does some).
  from tfi2i.training.strategy import make_strategy
  strategy = make_strategy(_RECIPE.value.train.strategy)
  from tfi2i.data import DataError
  from tfi2i import workdir as workdir_lib
  from tfi2i.training import loop
  try:
    result = loop.train(_RECIPE.value, _WORKDIR.value, strategy=strategy)
  except (DataError, recipe_lib.RecipeError, loop.TrainingDiverged, loop.CheckpointWriteError,
          workdir_lib.NoReadableCheckpoint, workdir_lib.WorkdirBusy) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  if result.interrupted:  # the shell's codes for death by SIGTERM / SIGINT
    return 143 if result.stopped_by == 'SIGTERM' else 130
  print(f'Finished at step {result.step}/{result.total_steps}; checkpoint {result.checkpoint}.')
  return 0


def _check_recipe_keys(argv):
  """Fails fast, with a plain message, on --recipe.KEY overrides the recipe lacks."""
  path = next((a.split('=', 1)[1] for a in argv if a.startswith('--recipe=')), None)
  if path is None:
    return
  try:
    recipe_lib.check_override_keys(recipe_lib.load_recipe(path), argv)
  except recipe_lib.RecipeError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


def run():
  _check_recipe_keys(sys.argv)
  app.run(main)


if __name__ == '__main__':
  run()
