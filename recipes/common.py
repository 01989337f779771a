"""Recipe pieces shared by every model: data, training loop, export.

Every key is documented here; a recipe file only changes values. Sources for
defaults are the official code of each paper (junyanz/pytorch-CycleGAN-and-pix2pix
for the shared options: options/base_options.py, options/train_options.py).
"""
import ml_collections


def data_config() -> ml_collections.ConfigDict:
  d = ml_collections.ConfigDict()
  # Where images come from: 'folder' (image folders) or 'tfds' (tfds.load).
  d.source = 'folder'
  # Folder source: ROOT/trainA, ROOT/trainB (and testA/testB) -- the official layout.
  d.root = ''
  # Or any two folders (override root's layout when set).
  d.dir_a = ''
  d.dir_b = ''
  # Which split of the official layout to read ('train' -> trainA/trainB).
  d.split = 'train'
  # Paired data (pix2pix) only: 'aligned' = ROOT/{split}/ holds A|B images side by side
  # (official aligned_dataset.py); 'folders' = A and B images paired by file name, in
  # dir_a/dir_b or ROOT/A/{split} + ROOT/B/{split} (see tfi2i/data/paired.py).
  d.layout = 'aligned'
  # 'AtoB' or 'BtoA' (swaps a and b), as the official --direction; read by paired_dataset
  # and data.make_dataset (unpaired_dataset itself ignores it).
  d.direction = 'AtoB'
  # TFDS source: a dataset name such as 'cycle_gan/horse2zebra' (splits trainA/trainB/testA/testB).
  d.tfds_name = ''
  d.tfds_data_dir = ''
  # Preprocessing, as options/base_options.py: resize_and_crop | crop | scale_width |
  # scale_width_and_crop | none.
  d.preprocess = 'resize_and_crop'
  d.load_size = 286  # base_options.py --load_size default
  d.crop_size = 256  # base_options.py --crop_size default
  d.flip = True  # base_options.py: flipping on unless --no_flip
  # A corrupt/unreadable image: 'fail' (error naming every bad path) or 'skip' (warn with a count).
  d.on_bad_image = 'fail'
  # Parallel decode calls (-1 = tf.data.AUTOTUNE).
  d.num_parallel_calls = -1
  return d


def train_config() -> ml_collections.ConfigDict:
  t = ml_collections.ConfigDict()
  t.batch_size = 1  # global batch; base_options.py --batch_size default
  # Total steps. 0 = derive from the epoch schedule (schedule.n_epochs + n_epochs_decay).
  t.steps = 0
  t.seed = 0
  # 'auto' (MirroredStrategy when >1 GPU is visible, else the default strategy),
  # 'default', 'mirrored', 'multi_worker'.
  t.strategy = 'auto'
  # 'float32' or 'mixed_bfloat16' (fast on CPUs with AVX512-BF16) or 'mixed_float16' (GPU).
  t.precision = 'float32'
  # XLA compilation of the train step (slower on the CPUs measured in BUILD_NOTES.md).
  t.jit_compile = False
  t.log_every = 100  # scalars to TensorBoard and the progress bar (official print_freq 100)
  t.image_every = 400  # image grids to TensorBoard (official display_freq 400)
  t.checkpoint_every = 5000  # official save_latest_freq 5000
  t.keep_checkpoints = 3
  t.export_at_end = True
  return t


def schedule_config(n_epochs: int, n_epochs_decay: int) -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  # 'linear': constant lr for n_epochs, then linear decay to zero over n_epochs_decay
  # (models/networks.py get_scheduler, lr_policy 'linear'); 'constant'.
  s.policy = 'linear'
  s.n_epochs = n_epochs
  s.n_epochs_decay = n_epochs_decay
  return s
