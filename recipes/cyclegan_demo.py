"""CycleGAN on the bundled day/night Earth demo data, sized for a 2-core CPU (make demo: <= 10 min).

Same model and losses as recipes/cyclegan.py; smaller images, a narrower generator with
fewer residual blocks, a short schedule, and bfloat16 compute where the CPU has it
(train.precision=auto; see BUILD_NOTES.md).
"""
import ml_collections

from recipes import cyclegan


def get_config() -> ml_collections.ConfigDict:
  c = cyclegan.get_config()
  c.model.ngf = 32
  c.model.ndf = 32
  c.model.n_blocks = 6  # official resnet_6blocks option
  c.data.root = 'data/demo'
  c.data.preprocess = 'crop'
  c.data.load_size = 64
  c.data.crop_size = 64
  # 2 + 1 epochs of the 336 training tiles: 1,008 steps, about 6.5 min at 0.36-0.39 s/step
  # in float32 on a 2-core AVX2 CPU (BUILD_NOTES.md, "Demo"); 672 steps scored lower (night
  # to day SSIM below identity's)
  c.schedule.n_epochs = 2
  c.schedule.n_epochs_decay = 1
  c.train.precision = 'auto'  # bfloat16 where the CPU has it (tfi2i/precision.py), else float32
  c.train.log_every = 20
  c.train.image_every = 100
  c.train.checkpoint_every = 200
  return c
