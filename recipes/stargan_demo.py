"""StarGAN on the bundled attribute demo task (tfi2i.data.demo_attributes), sized for a
2-core CPU: the CAM-consistency comparison of BUILD_NOTES.md (cam.apply_to none /
generator / discriminator / both at one budget).

  python -m tfi2i.data.demo_attributes --out=data/demo_attributes
  python -m tfi2i.train --recipe=recipes/stargan_demo.py --recipe.cam.apply_to=both \
      --workdir=runs/stargan_demo_both

Same model, losses, optimiser and schedule policy as recipes/stargan.py (the official
defaults), and the CAM loss at its defaults (lambda_CAM 5, ...): only the size and budget
change. 32 px images (the 64 px tiles resized), generator and discriminator widths 32
instead of 64, and d_repeat_num 4 so that the discriminator's last feature map is 2x2, as
the official 6 blocks give at 128 px (a 1x1 map would give a constant mask). Grad-CAM
reads the 4x4 map of the block before (cam.layer -2, as recipes/paper001_stargan.py does at
128 px: on the 2x2 map the discriminator's masks split into a uniform sum).
"""
import ml_collections

from recipes import stargan
from tfi2i.data import demo_attributes


def on_the_demo_task(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """An editor's recipe moved to the attribute demo task at 32 px, with its logging cadence
  (what every editor's demo recipe shares; each sets its own widths and steps)."""
  c.model.attributes = demo_attributes.ATTRIBUTES
  c.model.image_size = 32
  c.data.root = 'data/demo_attributes'
  c.data.load_size = 64  # the whole 64 px tile ...
  c.data.crop_size = 32  # ... resized to 32
  # of 384 tiles; demo_attributes --orientations holds out these tiles under this split
  c.data.test_count = demo_attributes.TEST_COUNT
  c.data.split_seed = demo_attributes.SPLIT_SEED
  c.train.log_every = 10
  c.train.image_every = 250
  c.train.checkpoint_every = 500
  return c


def get_config() -> ml_collections.ConfigDict:
  c = on_the_demo_task(stargan.get_config())
  c.model.g_conv_dim = 32
  c.model.d_conv_dim = 32
  c.model.d_repeat_num = 4  # 32 / 2^4 = 2x2, the official 128 / 2^6
  c.cam.layer = -2  # the 4x4 map, as paper001_stargan at 128 px (see above)
  c.train.steps = 1500
  return c
