"""Recipe pieces shared by every model: the data, train, optimizer, schedule and export
sections. Their keys, defaults (with the official source of each) and checks live in
tfi2i/schema/ (one module per section); this file only re-exports the builders, so that a
recipe file reads `common.data_config()`.
"""
from tfi2i.schema.data import attribute_data_config
from tfi2i.schema.data import data_config
from tfi2i.schema.export import EXPORT
from tfi2i.schema.optimizer import optimizer_config
from tfi2i.schema.schedule import schedule_config
from tfi2i.schema.train import TRAIN


def train_config(**values):
  """The train section at its defaults (tfi2i/schema/train.py), `values` changed."""
  return TRAIN.config(**values)


def export_config(**values):
  """The export section at its defaults (tfi2i/schema/export.py), `values` changed."""
  return EXPORT.config(**values)


__all__ = ['attribute_data_config', 'data_config', 'export_config', 'optimizer_config',
           'schedule_config', 'train_config']
