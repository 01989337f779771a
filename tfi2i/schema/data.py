"""The recipe's `data` section: where images come from and how they are prepared.

Keys are of three kinds, all flat in the section:
  * the keys every stream reads (DATA below);
  * the keys of each data source (`keys` of each entry of tfi2i.data.sources.SOURCES: the
    folder source's root/dir_a/dir_b, the TFDS source's tfds_name/tfds_data_dir, the list
    source's list_a/list_b, and any source registered by the user);
  * the keys of a stream that needs more (STREAM_KEYS: the attribute editors' data).
Defaults are the official ones: junyanz/pytorch-CycleGAN-and-pix2pix options/
base_options.py (B) for the shared keys; yunjey/stargan data_loader.py and main.py (S) for
the attribute data.
"""
import ml_collections

from tfi2i.data import paired
from tfi2i.data import scan
from tfi2i.data import sources
from tfi2i.data import transforms
from tfi2i.schema import at_least
from tfi2i.schema import Key
from tfi2i.schema import RecipeError
from tfi2i.schema import Section

DATA = Section('data', {
    'source': Key('folder', "where images come from: a name of tfi2i.data.sources.SOURCES "
                  "('folder': image folders, 'tfds': tfds.load, 'list': list files)",
                  choices=lambda: tuple(sources.SOURCES)),
    'split': Key('train', "the split to train on ('train' -> trainA/trainB of the official "
                 'layout)'),
    'layout': Key('aligned', "paired data: 'aligned' = A|B images side by side (official "
                  "aligned_dataset.py); 'folders' = A and B images paired by name "
                  '(tfi2i/data/paired.py)', choices=paired.LAYOUTS),
    'direction': Key('AtoB', "'BtoA' swaps a and b, as the official --direction (B)",
                     choices=paired.DIRECTIONS),
    'preprocess': Key('resize_and_crop', 'resize_and_crop | crop | scale_width | '
                      'scale_width_and_crop | none (B --preprocess); center_crop_and_resize '
                      "(the attribute editors' CelebA transform)",
                      choices=transforms.PREPROCESS_MODES),
    'load_size': Key(286, 'B --load_size', check=at_least(1)),
    'crop_size': Key(256, 'B --crop_size', check=at_least(1)),
    'flip': Key(True, 'random horizontal flips (B: on unless --no_flip)'),
    'on_bad_image': Key('fail', "a corrupt or unreadable image: 'fail' (an error naming "
                        "every bad path) or 'skip' (a warning with a count)",
                        choices=scan.ON_BAD_IMAGE),
    'num_parallel_calls': Key(-1, 'parallel decode calls (-1 = tf.data.AUTOTUNE)'),
})

# The attribute editors' data (tfi2i/data/attributes.py): its own keys, and the defaults it
# changes (S: CenterCrop(178), Resize(128), RandomHorizontalFlip; CelebA through TFDS).
ATTRIBUTE_KEYS = {
    'attributes': Key((), 'the attributes to edit, in order (a reference to '
                      'model.attributes: one list for both)'),
    'attr_file': Key('', 'folder source: the attribute file (default ROOT/'
                     'list_attr_celeba.txt)'),
    'images_dir': Key('', 'folder source: the images (default ROOT/img_align_celeba, or ROOT '
                      'when that does not exist)'),
    'masks_dir': Key('', 'region masks for masked PSNR (tfi2i.evaluate): MASKS/<Attribute>/'
                     '<image>; default ROOT/masks when it exists'),
    'test_count': Key(2000, "images held out for test (S's split: `(i+1) < 2000` holds out "
                      '1999; paper 001: 2,000)', check=at_least(0)),
    'split_seed': Key(1234, "the split's shuffle: random.Random(1234) (S data_loader.py)"),
}
ATTRIBUTE_DEFAULTS = {'tfds_name': 'celeb_a', 'preprocess': 'center_crop_and_resize',
                      'load_size': 178,  # the centre square taken (S --celeba_crop_size)
                      'crop_size': 128,  # resized to this (S --image_size)
                      'flip': True}  # S: RandomHorizontalFlip when training
STREAM_KEYS = {'attributes': ATTRIBUTE_KEYS}
STREAM_DEFAULTS = {'attributes': ATTRIBUTE_DEFAULTS}


def keys_for(stream: str = 'unpaired') -> dict:
  """{key: Key} of the data section of a model whose data stream is `stream`."""
  keys = {'source': DATA.keys['source'], **sources.source_keys()}
  keys.update(DATA.keys)
  keys.update(STREAM_KEYS.get(stream, {}))
  for key, value in STREAM_DEFAULTS.get(stream, {}).items():
    keys[key] = Key(value, keys[key].doc, keys[key].choices, keys[key].check, keys[key].kind)
  return keys


def data_config(**values) -> ml_collections.ConfigDict:
  """The data section of an unpaired or paired model, at the defaults, `values` changed."""
  return DATA.config(keys_for('unpaired'), **values)


def attribute_data_config(attributes_ref, **values) -> ml_collections.ConfigDict:
  """The data section of the attribute editors: data_config() with ATTRIBUTE_KEYS, at
  ATTRIBUTE_DEFAULTS; `attributes_ref` is model.attributes (a FieldReference: one list)."""
  d = DATA.config(keys_for('attributes'), **values)
  d.attributes = attributes_ref
  return d


def check(data_cfg, stream: str = 'unpaired'):
  """RecipeError naming an unknown key or a bad value of the data section."""
  DATA.check(data_cfg, keys_for(stream))


def upgrade(recipe: dict, stream: str = 'unpaired') -> list:
  return DATA.upgrade(recipe, keys_for(stream))


__all__ = ['ATTRIBUTE_DEFAULTS', 'ATTRIBUTE_KEYS', 'DATA', 'RecipeError', 'attribute_data_config',
           'check', 'data_config', 'keys_for', 'upgrade']
