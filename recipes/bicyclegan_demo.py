"""BicycleGAN family on the bundled multimodal demo task, sized for a 2-core CPU.

`python -m tfi2i.data.demo_multimodal --out=data/multimodal` builds the task: grayscale
Earth tiles (A) and the same tiles in one of three hue rotations (B), so each A has three
valid B's. Same model and losses as recipes/bicyclegan.py at 128 px (the official
unet_128 / resnet_128 / basic_128_multi nets), with bfloat16 compute and a short schedule.
Compare the family with --recipe.model.variant=pix2pix_noise (BUILD_NOTES.md).
"""
import ml_collections

from recipes import bicyclegan


def get_config() -> ml_collections.ConfigDict:
  c = bicyclegan.get_config()
  c.model.net_g = 'unet_128'
  c.model.net_e = 'resnet_128'
  c.model.net_d = c.model.net_d2 = 'basic_128_multi'
  c.data.root = 'data/multimodal'
  c.data.load_size = 128
  c.data.crop_size = 128
  c.data.preprocess = 'crop'
  c.schedule.n_epochs = 7
  c.schedule.n_epochs_decay = 7
  c.train.precision = 'mixed_bfloat16'
  c.train.log_every = 25
  c.train.image_every = 250
  c.train.checkpoint_every = 500
  return c
