"""The recipe's `train` section: how a run is driven, watched and saved (tfi2i.training.loop).

Defaults from junyanz/pytorch-CycleGAN-and-pix2pix options/base_options.py (B) and
options/train_options.py (T) where the official code has the setting; the others are
tfi2i's own, each said so.
"""
from tfi2i.schema import at_least
from tfi2i.schema import Key
from tfi2i.schema import Section
from tfi2i.training.strategy import STRATEGIES
# Keras dtype policies of a training run
PRECISIONS = ('float32', 'mixed_bfloat16', 'mixed_float16', 'auto')
# train.resume: 'check' refuses a resume whose recipe or images change the run
RESUME_MODES = ('check', 'ignore_changes')


def profile_range(value):
  """(first, last) steps of a train.profile_steps value ('A,B', 1-based), or None when
  empty; ValueError otherwise."""
  text = str(value or '').strip()
  if not text:
    return None
  try:
    first, last = (int(v) for v in text.split(','))
  except ValueError:
    first = last = 0
  if not 1 <= first <= last:
    raise ValueError(f"is {text!r}; expected 'A,B' with 1 <= A <= B (the steps to trace), "
                     'or empty')
  return first, last


def _profile_check(value):
  try:
    profile_range(value)
  except ValueError as e:
    return str(e)
  return None


TRAIN = Section('train', {
    'batch_size': Key(1, 'the global batch (B --batch_size 1)', check=at_least(1)),
    'steps': Key(0, 'total steps; 0 = from the epoch schedule (schedule.n_epochs + '
                 'n_epochs_decay, T)', check=at_least(0, ' (0 = from the schedule)')),
    'seed': Key(0, 'seeds the weights, the data order and augmentation, and the randomness '
                'inside a step (tfi2i)'),
    'strategy': Key('auto', "tf.distribute strategy: 'auto' (MirroredStrategy when >1 GPU is "
                    "visible, else the default), 'default', 'mirrored', 'multi_worker'",
                    choices=STRATEGIES),
    'precision': Key('float32', "'float32' (the official code's), 'mixed_bfloat16' (fast on "
                     "CPUs with AVX512-BF16 or AMX and on GPUs from compute capability 8.0, "
                     "emulated and slow elsewhere), 'mixed_float16' (GPU) or 'auto' "
                     "(mixed_bfloat16 where the hardware has bfloat16, else float32: "
                     'tfi2i/precision.py)', choices=PRECISIONS),
    'jit_compile': Key(False, 'XLA compilation of the train step (slower on the CPUs '
                       'measured in BUILD_NOTES.md)'),
    'log_every': Key(100, 'steps between scalars and loss_log.txt lines (T --print_freq 100)',
                     check=at_least(1)),
    'image_every': Key(400, 'steps between image grids (T --display_freq 400)',
                       check=at_least(1)),
    'checkpoint_every': Key(5000, 'steps between the step checkpoints, the run\'s history '
                            '(T --save_latest_freq 5000)', check=at_least(1)),
    'checkpoint_minutes': Key(10.0, 'also a recent save when this many minutes passed since '
                              'the last save, so a crash loses minutes, not hours; only the '
                              'newest recent save is kept (tfi2i; training/checkpoints.py); '
                              '0 = off', check=at_least(0, ' (0 = off)')),
    'resume': Key('check', "'check': a resumed run refuses a recipe or image list that "
                  "changes the run; 'ignore_changes' accepts them (training/resume.py)",
                  choices=RESUME_MODES),
    'resume_from': Key('', "'' resumes from the newest readable checkpoint; N or 'ckpt-N' "
                       'from that checkpoint (the newer ones are moved to '
                       'checkpoints/superseded-<time>/)'),
    'keep_checkpoints': Key(3, 'the newest step checkpoints kept (older ones are deleted '
                            'unless keep_every_steps keeps them); 0 = keep every one',
                            check=at_least(0, ' (0 = all)')),
    'keep_every_steps': Key(50_000, 'step checkpoints at multiples of this are kept for good, '
                            "as the official code keeps its every-5-epochs weights (T "
                            '--save_epoch_freq 5; here in steps: about 37 epochs of '
                            'horse2zebra); 0 = none', check=at_least(0, ' (0 = none)')),
    'profile_steps': Key('', "'A,B': a TensorBoard profiler trace of steps A..B (1-based); "
                         "'' = off", check=_profile_check),
})
