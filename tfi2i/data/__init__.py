"""Data: image files and the start-up check, data sources by name (tfi2i.data.sources), the
unpaired, paired and attribute streams (tfi2i.data.streams), preprocessing, demo data."""
from tfi2i.data.images import DataError
from tfi2i.data.images import IMAGE_EXTENSIONS
from tfi2i.data.images import list_images
from tfi2i.data.images import load_image
from tfi2i.data.images import save_png
from tfi2i.data.paired import pair_files
from tfi2i.data.paired import paired_dataset
from tfi2i.data.pipelines import DatasetInfo
from tfi2i.data.pipelines import unpaired_dataset
from tfi2i.data.scan import check_images
from tfi2i.data.scan import scan_images
from tfi2i.data.sources import register_source
from tfi2i.data.sources import Source
from tfi2i.data.sources import SOURCES
from tfi2i.data.streams import EvalData
from tfi2i.data.streams import stream
from tfi2i.data.streams import STREAMS
from tfi2i.data.transforms import get_transform
from tfi2i.data.transforms import to_float
from tfi2i.data.transforms import to_uint8
