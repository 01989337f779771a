"""Export version folders: TF Serving's layout, `BASE/<integer version>/saved_model.pb`, and
the tfi2i.json each holds.

No TensorFlow import, so light commands (tfi2i.serving.config) can use it too.
"""
import json
import os

SAVED_MODEL = 'saved_model.pb'
METADATA_PATH = os.path.join('assets.extra', 'tfi2i.json')  # what tfi2i.export records


def read_metadata(path) -> dict:
  """An export version's assets.extra/tfi2i.json (`path`: the version folder or the file
  itself); {} when it is missing, unreadable or not a JSON object."""
  if not os.path.isfile(path):
    path = os.path.join(path, METADATA_PATH)
  try:
    with open(path, encoding='utf-8') as f:
      data = json.load(f)
  except (OSError, ValueError):
    return {}
  return data if isinstance(data, dict) else {}


def has_saved_model(folder: str) -> bool:
  return os.path.isfile(os.path.join(folder, SAVED_MODEL))


def version_folders(export_base: str) -> tuple[list[int], list[int]]:
  """(complete, incomplete) integer version folders of export_base, ascending.

  A version folder has an all-ASCII-digit name (hidden `.tmp-*` folders of an export in
  progress and other names are not versions); it is complete when it holds saved_model.pb.
  A missing or unreadable export_base has none.
  """
  complete, incomplete = [], []
  try:
    names = os.listdir(export_base)
  except OSError:
    return [], []
  for n in names:
    folder = os.path.join(export_base, n)
    if n.isascii() and n.isdigit() and os.path.isdir(folder):
      (complete if has_saved_model(folder) else incomplete).append(int(n))
  return sorted(complete), sorted(incomplete)
