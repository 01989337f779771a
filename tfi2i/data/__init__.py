"""Data: image files, the unpaired and paired A/B streams (tfi2i.data.streams), preprocessing,
demo data."""
from tfi2i.data.images import check_images
from tfi2i.data.images import DataError
from tfi2i.data.images import IMAGE_EXTENSIONS
from tfi2i.data.images import list_images
from tfi2i.data.images import load_image
from tfi2i.data.images import save_png
from tfi2i.data.images import scan_images
from tfi2i.data.paired import pair_files
from tfi2i.data.paired import paired_dataset
from tfi2i.data.pipelines import DatasetInfo
from tfi2i.data.pipelines import unpaired_dataset
from tfi2i.data.sources import domain_files
from tfi2i.data.streams import check_config
from tfi2i.data.streams import EvalData
from tfi2i.data.streams import stream
from tfi2i.data.streams import STREAMS
from tfi2i.data.sources import domain_folders
from tfi2i.data.transforms import get_transform
from tfi2i.data.transforms import to_float
from tfi2i.data.transforms import to_uint8
