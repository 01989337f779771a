"""Export version folders: TF Serving's layout, `BASE/<integer version>/saved_model.pb`.

No TensorFlow import, so light commands (tfi2i.serving.config) can use it too.
"""
import os

SAVED_MODEL = 'saved_model.pb'


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
