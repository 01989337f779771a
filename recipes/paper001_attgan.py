"""Paper 001's AttGAN run (*AttGAN of Tables 1-3 and the ablation of sec. 4.6): the
PyTorch port the paper ran, elvisyjlin/AttGAN-PyTorch (train.py, attgan.py, nn.py at
be2d6c6), with the CAM-consistency loss on the generator and the discriminator (lambda_CAM
5, the `cam` defaults). The ablation's rows: --recipe.cam.apply_to=none | generator |
discriminator | both.

The port keeps the official AttGAN's networks, widths, losses, loss weights, optimizer,
schedule (lr / 10 every 100 epochs of 200), batch 32, n_d 5, thres_int 0.5 and test_int
1.0, and its README's 128 px command sets shortcut 1 and inject 1, as recipes/attgan.py.
So this recipe is recipes/attgan.py with cam.apply_to='both'. What the port does
otherwise and tfi2i's AttGAN does not take as a setting (BUILD_NOTES.md, "Paper 001's
runs"): LeakyReLU slope 0.01 (PyTorch's default) instead of 0.2, ReLU in the
discriminator's dense heads, PyTorch's batch- and instance-norm epsilons and momentum,
PyTorch's default initialisation instead of Glorot. Its data: a 170 px centre crop, resized
(data.py), no flips; tfi2i's attribute data crops 178 px at the centre for all three
editors, as paper 001 sec. 4.1 says.

  python -m tfi2i.train --recipe=recipes/paper001_attgan.py --recipe.data.root=DIR \
      --workdir=runs/paper001_attgan_both
"""
import ml_collections

from recipes import attgan


def get_config() -> ml_collections.ConfigDict:
  c = attgan.get_config()
  c.cam.apply_to = 'both'  # paper 001: both terms, lambda_CAM 5 (the cam defaults)
  return c
