"""AttGAN on the bundled attribute demo task (tfi2i.data.demo_attributes), sized for a 2-core
CPU: paper 001's ablation on its baseline (cam.apply_to none / generator / discriminator /
both at one budget, BUILD_NOTES.md "Paper 001's runs").

  python -m tfi2i.data.demo_attributes --out=data/demo_attributes
  python -m tfi2i.train --recipe=recipes/attgan_demo.py --recipe.cam.apply_to=both \\
      --workdir=runs/attgan_demo_both

recipes/paper001_attgan.py (the port paper 001 ran, which is recipes/attgan.py with both CAM
terms) with only the size and the budget changed, as recipes/stargan_demo.py sizes StarGAN:
32 px images (the 64 px tiles resized), widths 32 instead of 64, dense heads 256 wide
instead of 1024, and 4 encoder / discriminator layers instead of 5, so that the
discriminator's last map is 2x2 (Grad-CAM reads it: at 32 px five layers would leave 1x1,
a constant mask) and the encoder's 2x2, as at 128 px the official 5 give 4x4; Grad-CAM
reads the 4x4 map of the block before (cam.layer -2), the official 128 px map size. Batch 16
instead of 32; the schedule is the official rule (lr / 10 every 100 epochs) over the epochs
train.steps spans: on the 320 training images an epoch is 4 steps of 6 batches, so 1000 steps
are 250 epochs with drops at steps 400 and 800 (the official run stops at epoch 200); on the
turned set (demo_attributes --orientations=8, 2560 images) 27 steps, so 1000 steps are 37
epochs at the full rate. cam.apply_to is
'none' here so that each ablation row names its setting on the command line.
"""
import ml_collections

from recipes import paper001_attgan
from recipes import stargan_demo


def get_config(base=paper001_attgan) -> ml_collections.ConfigDict:
  c = stargan_demo.on_the_demo_task(base.get_config())
  c.model.dim = 32
  c.model.dis_dim = 32
  c.model.dis_fc_dim = 256
  c.model.n_layers = 4  # 32 / 2^4 = 2x2, as the official 128 / 2^5 = 4x4 keeps spatial maps
  c.model.dis_layers = 4
  # Grad-CAM reads the block before the last: 4x4 at 32 px, the map size the official
  # 5 layers give at 128 px. The last block's 2x2 map made each standardised mask nearly
  # binary and eq. 6 stopped at two masks splitting the image (BUILD_NOTES.md "Why the mask
  # collapsed").
  c.cam.layer = -2
  c.cam.apply_to = 'none'  # the ablation row is set on the command line
  c.train.batch_size = 16
  c.train.steps = 1000
  return c
