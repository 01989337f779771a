"""The recipe's `schedule` section: the learning rate over the run
(tfi2i.training.schedules; official models/networks.py get_scheduler)."""
from tfi2i.schema import at_least
from tfi2i.schema import Key
from tfi2i.schema import Section
from tfi2i.training.schedules import POLICIES

SCHEDULE = Section('schedule', {
    'policy': Key('linear', "'linear': constant for n_epochs, then linear to zero over "
                  "n_epochs_decay (official lr_policy 'linear', per epoch); 'linear_steps': "
                  'constant until decay_start_step, then linear to zero at train.steps, every '
                  "step (U-GAT-IT, StarGAN); 'step': divided by 10 every n_epochs epochs "
                  "(AttGAN's and STGAN's train.py); 'step_steps': divided by 10 every "
                  "decay_start_step steps (PyTorch StepLR per iteration: the STGAN port "
                  "paper 001 ran); 'constant'",
                  choices=POLICIES),
    'n_epochs': Key(0, "epochs at the base rate ('linear'; the period of 'step'); each "
                    'recipe sets its paper\'s (CycleGAN: T --n_epochs 100)', check=at_least(0)),
    'n_epochs_decay': Key(0, "epochs of linear decay to zero ('linear'; CycleGAN: T "
                          '--n_epochs_decay 100)', check=at_least(0)),
    'decay_start_step': Key(0, "'linear_steps': the step the decay starts at, 0 = half of "
                            "train.steps (U-GAT-IT); 'step_steps': the period of the drops, "
                            'required', check=at_least(0)),
})


def schedule_config(n_epochs: int = 0, n_epochs_decay: int = 0, policy: str = 'linear'):
  """The schedule section of a recipe (a paper's epochs and policy)."""
  return SCHEDULE.config(n_epochs=n_epochs, n_epochs_decay=n_epochs_decay, policy=policy)
