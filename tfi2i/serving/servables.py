"""The models tfi2i's development server (tfi2i.serving.devserver) serves: the model config
(read_config: the ModelServerConfig of the flags, validated as TF Serving validates it) and
the versions it names (load_models: {name: Model}, each version a Servable, loaded once with
tf.saved_model.load, tag "serve", and warmed up with its tf_serving_warmup_requests).
"""
import logging
import os
import re

from google.protobuf import text_format
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from tfi2i.serving.errors import StartupError

logger = logging.getLogger('tfi2i.serving.devserver')

DEFAULT_SIGNATURE = 'serving_default'
SERVE_TAG = 'serve'


class Servable:
  """One loaded version of a model: its SignatureDefs and callable signatures."""

  def __init__(self, name: str, version: int, path: str, warmup: bool = True):
    self.name, self.version, self.path = name, version, path
    meta_graph = _read_meta_graph(name, version, path)
    self.signature_defs = dict(meta_graph.signature_def)
    try:
      self.module = tf.saved_model.load(path, tags=[SERVE_TAG])
    except Exception as e:  # pylint: disable=broad-except
      raise StartupError(f'Loading servable: {{name: {name} version: {version}}} failed: '
                         f'{e}') from e
    self.functions = dict(self.module.signatures)
    self.warmup_requests = self._warm_up() if warmup else 0

  def _warm_up(self) -> int:
    """Replays assets.extra/tf_serving_warmup_requests (PredictionLog records, as TF
    Serving's saved_model_warmup does at load); a failing record fails the load."""
    path = os.path.join(self.path, 'assets.extra', 'tf_serving_warmup_requests')
    if not os.path.exists(path):
      return 0
    count = 0
    for record in tf.data.TFRecordDataset(path):
      log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
      if log.WhichOneof('log_type') != 'predict_log':
        raise StartupError(f'Unsupported log_type for warmup: {log.WhichOneof("log_type")} '
                           f'({path})')
      request = log.predict_log.request
      name = request.model_spec.signature_name or DEFAULT_SIGNATURE
      try:
        self.functions[name](**{k: tf.constant(tf.make_ndarray(v))
                                for k, v in request.inputs.items()})
      except Exception as e:  # pylint: disable=broad-except
        raise StartupError(f'Failed to warm up model {self.name} version {self.version} '
                           f'with request {count} (signature {name}): {e}') from e
      count += 1
    logger.info('Finished reading warmup data for model at %s. Number of warmup records '
                'read: %d.', path, count)
    return count


class Model:
  """A configured model: its served versions and version labels."""

  def __init__(self, name: str, base_path: str, servables: dict, labels: dict):
    self.name, self.base_path = name, base_path
    self.versions = servables  # {version: Servable}
    self.labels = labels  # {label: version}


def _read_meta_graph(name, version, path):
  saved_model = saved_model_pb2.SavedModel()
  pb, pbtxt = os.path.join(path, 'saved_model.pb'), os.path.join(path, 'saved_model.pbtxt')
  try:
    if os.path.exists(pb):
      with open(pb, 'rb') as f:
        saved_model.ParseFromString(f.read())
    else:
      with open(pbtxt) as f:
        text_format.Parse(f.read(), saved_model)
  except Exception as e:  # pylint: disable=broad-except
    raise StartupError(f'Loading servable: {{name: {name} version: {version}}} failed: '
                       f'cannot read the SavedModel in {path}: {e}') from e
  for meta_graph in saved_model.meta_graphs:
    if set(meta_graph.meta_info_def.tags) == {SERVE_TAG}:
      return meta_graph
  raise StartupError(f'Loading servable: {{name: {name} version: {version}}} failed: Could '
                     f'not find meta graph def matching supplied tags: {{ {SERVE_TAG} }} in '
                     f'{path}')


def read_config(model_config_file=None, model_name=None, model_base_path=None):
  """The ModelServerConfig of the flags, validated as TF Serving validates it."""
  config = model_server_config_pb2.ModelServerConfig()
  if model_config_file:
    if model_base_path:
      logger.warning('--model_config_file is set: --model_name and --model_base_path are '
                     'ignored')
    try:
      with open(model_config_file) as f:
        text = f.read()
    except OSError as e:
      raise StartupError(f'Cannot read model config file {model_config_file}: '
                         f'{e.strerror}') from e
    try:
      text_format.Parse(text, config)
    except text_format.ParseError as e:
      raise StartupError(f'Invalid protobuf file: {model_config_file}: {e}') from e
  elif model_base_path:
    config.model_config_list.config.add(name=model_name or 'default',
                                        base_path=model_base_path,
                                        model_platform='tensorflow')
  else:
    raise StartupError('Both server_options.model_base_path and '
                       'server_options.model_config_file are empty!')
  kind = config.WhichOneof('config')
  if kind == 'custom_model_config':
    raise StartupError('custom_model_config is not supported by the development server')
  names = set()
  for model in config.model_config_list.config:
    if model.name in names:
      raise StartupError(f'Illegal to list model {model.name} multiple times in config list')
    names.add(model.name)
    if not model.base_path.startswith('file://') and not os.path.isabs(model.base_path):
      raise StartupError(f'Expected model {model.name} to have an absolute path or URI; got '
                         f'base_path()={model.base_path}')
    if model.model_type and model.model_platform:
      raise StartupError(f'Model {model.name}: Illegal setting both ModelServerConfig::'
                         'model_type (deprecated) and ModelServerConfig::model_platform.')
    platform = model.model_platform or ('tensorflow' if model.model_type == 1 else '')
    if not platform:
      raise StartupError(f'Model {model.name}: Illegal setting neither ModelServerConfig::'
                         'model_type (deprecated) nor ModelServerConfig::model_platform.')
    if platform != 'tensorflow':
      raise StartupError(f'Model {model.name} requests unsupported platform {platform}')
  return config


def versions_on_disk(base_path: str) -> dict:
  """{version: folder} of the integer-named folders of base_path that hold a SavedModel."""
  found = {}
  for entry in os.listdir(base_path):
    folder = os.path.join(base_path, entry)
    if re.fullmatch(r'[0-9]+', entry) and os.path.isdir(folder) and any(
        os.path.isfile(os.path.join(folder, f))
        for f in ('saved_model.pb', 'saved_model.pbtxt')):
      found[int(entry)] = folder
  return found


def _served_versions(model_config, available: list) -> list:
  policy = model_config.model_version_policy
  which = policy.WhichOneof('policy_choice')
  if which == 'all':
    return sorted(available)
  if which == 'specific':
    wanted = set(policy.specific.versions)
    missing = sorted(wanted - set(available))
    if missing:
      logger.warning('model %s: versions %s of the specific version policy are not under %s',
                     model_config.name, missing, model_config.base_path)
    return sorted(wanted & set(available))
  num = max(policy.latest.num_versions, 1) if which == 'latest' else 1
  return sorted(available)[-num:]


def load_models(config, allow_version_labels_for_unavailable_models=False,
                enable_model_warmup=True) -> dict:
  """{name: Model} with every served version loaded; StartupError when one cannot be."""
  models = {}
  for model_config in config.model_config_list.config:
    name = model_config.name
    base = model_config.base_path
    if base.startswith('file://'):
      base = base[len('file://'):]
    if model_config.version_labels and not allow_version_labels_for_unavailable_models:
      label, version = sorted(model_config.version_labels.items())[0]
      raise StartupError(
          f'Request to assign label to version {version} of model {name}, which is not '
          'currently available for inference (tensorflow_model_server refuses version '
          'labels at start-up unless --allow_version_labels_for_unavailable_models=true)')
    if not os.path.isdir(base):
      raise StartupError(f'Could not find base path {base} for servable {name}')
    try:
      available = versions_on_disk(base)
    except OSError as e:
      raise StartupError(f'Cannot list base path {base} of servable {name}: {e}') from e
    served = _served_versions(model_config, list(available))
    if not served:
      policy = text_format.MessageToString(model_config.model_version_policy,
                                           as_one_line=True) or 'latest { num_versions: 1 }'
      raise StartupError(f'No versions of servable {name} found under base path {base} '
                         f'(versions there: {sorted(available)}; version policy: {policy})')
    servables = {}
    for version in served:
      servables[version] = Servable(name, version, available[version], enable_model_warmup)
      logger.info('Successfully loaded servable version {name: %s version: %d} from %s',
                  name, version, available[version])
    models[name] = Model(name, base, servables, dict(model_config.version_labels))
  return models
