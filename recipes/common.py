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
  # scale_width_and_crop | none; or center_crop_and_resize (the attribute editors' CelebA
  # transform: the centre load_size square, resized to crop_size).
  d.preprocess = 'resize_and_crop'
  d.load_size = 286  # base_options.py --load_size default
  d.crop_size = 256  # base_options.py --crop_size default
  d.flip = True  # base_options.py: flipping on unless --no_flip
  # A corrupt/unreadable image: 'fail' (error naming every bad path) or 'skip' (warn with a count).
  d.on_bad_image = 'fail'
  # Parallel decode calls (-1 = tf.data.AUTOTUNE).
  d.num_parallel_calls = -1
  return d


def attribute_data_config(attributes_ref) -> ml_collections.ConfigDict:
  """data_config() for the attribute editors (tfi2i/data/attributes.py): a folder in the
  CelebA convention (ROOT/list_attr_celeba.txt, ROOT/img_align_celeba/) or
  source='tfds' (tfds_name celeb_a); StarGAN's CelebA transform (yunjey/stargan
  data_loader.py: CenterCrop(178), Resize(128), RandomHorizontalFlip)."""
  d = data_config()
  # The attributes to edit, in order: a reference to model.attributes (one list for both).
  d.attributes = attributes_ref
  d.attr_file = ''  # default ROOT/list_attr_celeba.txt
  d.images_dir = ''  # default ROOT/img_align_celeba, or ROOT when that does not exist
  # Region masks for masked PSNR (tfi2i.evaluate): MASKS/<Attribute>/<image>; default
  # ROOT/masks when it exists.
  d.masks_dir = ''
  # StarGAN's split (data_loader.py): rows shuffled by random.Random(1234), the first
  # test_count held out. (StarGAN's `(i+1) < 2000` holds out 1999; paper 001: 2,000.)
  d.test_count = 2000
  d.split_seed = 1234
  d.tfds_name = 'celeb_a'  # used with source='tfds' (its own train/validation/test splits)
  d.preprocess = 'center_crop_and_resize'
  d.load_size = 178  # the centre square taken (StarGAN --celeba_crop_size)
  d.crop_size = 128  # resized to this (StarGAN --image_size)
  d.flip = True  # StarGAN: RandomHorizontalFlip when training
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
  # also a checkpoint when this many minutes passed since the last one (0 = off), so a
  # crash or preemption loses minutes, not hours
  t.checkpoint_minutes = 10.0
  # 'check': a resumed run refuses a recipe or image list that changes the run (the list of
  # differences is printed); 'ignore_changes' accepts them (tfi2i/training/resume.py)
  t.resume = 'check'
  # '' resumes from the newest readable checkpoint; N or 'ckpt-N' from that checkpoint of
  # the workdir instead: the newer ones are moved to checkpoints/superseded-<time>/ (kept)
  t.resume_from = ''
  t.keep_checkpoints = 3
  # 'A,B': a TensorBoard profiler trace of steps A..B (1-based) into WORKDIR/train/plugins/
  # profile (where the time of a step goes); '' = off
  t.profile_steps = ''
  t.export_at_end = True
  return t


def optimizer_config(names, *, lr: float, beta1: float, beta2: float, epsilon: float = 1e-8,
                     weight_decay: float = 0.0,
                     weight_decay_mode: str = 'coupled') -> ml_collections.ConfigDict:
  """Adam settings shared by every optimizer of the model, and a section per optimizer
  (`names`: the model's optimizer attributes) whose keys, when set, override the shared
  ones for that optimizer only: --recipe.optimizer.d_optimizer.lr=1e-4."""
  o = ml_collections.ConfigDict()
  o.lr = lr  # the base learning rate (the schedule scales it)
  o.beta1 = beta1
  o.beta2 = beta2
  o.epsilon = epsilon  # torch.optim.Adam's default eps (Keras' default is 1e-7)
  o.weight_decay = weight_decay
  # 'coupled': weight_decay * w is added to the gradient, as torch.optim.Adam(weight_decay=)
  # does (an L2 term); 'decoupled': AdamW's decay of the weights (Keras' weight_decay).
  o.weight_decay_mode = weight_decay_mode
  types = {'lr': float, 'beta1': float, 'beta2': float, 'epsilon': float,
           'weight_decay': float, 'weight_decay_mode': str}
  for name in names:  # unset (None): the shared value
    o[name] = ml_collections.ConfigDict(
        {k: ml_collections.config_dict.placeholder(t) for k, t in types.items()})
  return o


def schedule_config(n_epochs: int = 0, n_epochs_decay: int = 0,
                    policy: str = 'linear') -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  # 'linear': constant lr for n_epochs, then linear decay to zero over n_epochs_decay
  # (models/networks.py get_scheduler, lr_policy 'linear'; stepped once per epoch);
  # 'linear_steps': constant until decay_start_step, then linear to zero at train.steps,
  # stepped every step (U-GAT-IT's per-iteration decay); 'step': divided by 10 every
  # n_epochs epochs (AttGAN's and STGAN's train.py); 'constant'.
  s.policy = policy
  s.n_epochs = n_epochs
  s.n_epochs_decay = n_epochs_decay
  s.decay_start_step = 0  # 'linear_steps' only; 0 = half of train.steps (U-GAT-IT)
  return s
