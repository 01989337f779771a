"""Paper 001's STGAN run (*STGAN of Tables 1-2): the PyTorch port the paper ran,
bluestyle97/STGAN-pytorch (configs/train_stgan.yaml, models/stgan.py, agents/stgan.py at
1136a5d), as far as tfi2i's STGAN takes its settings, with the CAM-consistency loss on the
generator and the discriminator (lambda_CAM 5, the `cam` defaults).

What differs from recipes/stgan.py (csmliu/STGAN, the original), and why:
- model.shortcut_layers=3: the port's 3 STUs (the original: 4; tfi2i builds an STU for
  each shortcut only);
- model.inject_layers=0: the port feeds the attribute difference to the decoder's input and
  the STU states only (the original also after 4 decoder layers);
- loss.lambda_d_att=13, loss.lambda_g_att=130: the port's classification BCE is summed
  over the 13 attributes and averaged over the batch, with weights 1 (D) and 10 (G); tfi2i
  averages over the attributes too, so the same loss needs 13 times the weights;
- data.flip=True: the port's training loader flips at random (datasets/celeba.py), after
  the same 178 px centre crop resized to 128 as paper 001 sec. 4.1;
- the schedule: the port trains max_iters 1M iterations of one critic batch each (200k
  generator updates, one every n_critic 5) and divides both rates by 10 once, at
  lr_decay_iters 800k (StepLR per iteration; configs/train_stgan.yaml): train.steps=200_000
  (a tfi2i step is 5 critic updates and one generator update) with schedule.policy=
  'step_steps' at decay_start_step=160_000, 4/5 of the run; the original divides by 10 every
  100 epochs of 200;
- cam.apply_to='both'.
What the port does that tfi2i's STGAN has no setting for (BUILD_NOTES.md, "Paper 001's
runs"): a random difference strength in training ((b - a) * U[0, 1) * 2 * thres_int per
element), one more output convolution, batch norm without biases in the STU gates, biases in
the discriminator's convolutions, a StarGAN-style loop (the generator step on the 5th critic
batch, 5 batches per step instead of 6).

  python -m tfi2i.train --recipe=recipes/paper001_stgan.py --recipe.data.root=DIR \
      --workdir=runs/paper001_stgan_both
"""
import ml_collections

from recipes import stgan


def get_config() -> ml_collections.ConfigDict:
  c = stgan.get_config()
  c.model.shortcut_layers = 3  # port: 3 STUs (one per shortcut)
  c.model.inject_layers = 0  # port: the difference at the decoder input and STU states only
  n = len(c.model.attributes)
  c.loss.lambda_d_att = 1.0 * n  # port: BCE summed over attributes, weight 1 (lambda1)
  c.loss.lambda_g_att = 10.0 * n  # port: weight 10 (lambda2)
  c.data.flip = True  # port: RandomHorizontalFlip in training
  c.train.steps = 200_000  # port: max_iters 1M critic iterations, G every n_critic 5
  c.schedule.policy = 'step_steps'  # port: StepLR(lr_decay_iters, gamma 0.1) per iteration
  c.schedule.decay_start_step = 160_000  # port: lr_decay_iters 800k of the 1M
  c.cam.apply_to = 'both'  # paper 001: both terms, lambda_CAM 5 (the cam defaults)
  return c
