"""Write a TF Serving model config (and a Docker Compose file) for exported tfi2i models.

  python -m tfi2i.serving.config --model=[NAME=]PATH [--model=...] --output=FILE
      [--versions=latest:1|latest:N|all|specific:V1,V2,...] [--mount_root=/models]
      [--compose=FILE [--image=tensorflow/serving:2.21.0] [--memory=16g]]

PATH is a workdir (its `export/` folder is used) or an export base (a folder of integer
version folders, `BASE/<version>/saved_model.pb`, as tfi2i.export writes them). Without
`NAME=` the name is the workdir's folder name (for `.../WORKDIR/export`, WORKDIR's name).
Names appear in TF Serving's URLs (`/v1/models/NAME`): `[A-Za-z0-9][A-Za-z0-9_.-]*`, unique.

A version is an integer folder holding `saved_model.pb` (hidden `.tmp-*` folders of an
export in progress and other non-integer folders are ignored, as by TF Serving). Every model
needs at least one version, and with `specific:` every listed version must exist.

Version policies (TF Serving's ServableVersionPolicy): `latest:N` serves the N highest
versions (`latest` = `latest:1`, TF Serving's default), `all` every version, `specific:V,...`
exactly those versions.

The config (`ModelServerConfig`, text format) holds one `config { name base_path
model_platform: "tensorflow" model_version_policy }` per model. base_path is the absolute
host path of the export base or, with --mount_root=ROOT, the container path ROOT/NAME.

--compose=FILE also writes a Docker Compose file that runs the `tensorflow/serving` image
(--image; the default tag matches the pinned tensorflow-serving-api), publishes 8500 (gRPC)
and 8501 (REST) on 127.0.0.1 only (TF Serving has no authentication), bind-mounts each
export base read-only at /models/NAME (--mount_root, implied as /models) and the config
file's folder read-only at /config, and runs `--model_config_file=/config/<config file
name> --model_config_file_poll_wait_seconds=60 --rest_api_timeout_in_ms=600000` (TF
Serving's REST default of 30 s is too short for large images on CPUs). The container may
use at most --memory (`mem_limit`, default 16g, a Docker byte value such as 12g or 12000m;
`memswap_limit` is the same, so no swap comes on top) and has `restart: unless-stopped`:
requests that need more memory than that end the container, not the host, and Docker
starts it again (the signatures refuse any one request over their limits, see
tfi2i.export, but concurrent requests add up). `mem_limit` is the key that both
`docker compose` (v2) and the older docker-compose (v1) apply to a plain container;
`deploy.resources.limits.memory` means the same to v2 but needs --compatibility in v1 (it
is what swarm's `docker stack deploy` reads; give one of the two, not both).

New versions of a served model are picked up within a second (TF Serving polls the base
paths) and changed policies of served models within a minute; a new model needs its export mounted, so rerun
this command with --compose and then `docker compose up -d`. The folder, not the file, is mounted: a single-file bind mount
keeps showing the file it was started with once the file is replaced, and this command
replaces files (writes a temporary file and renames it over the old one) so that TF Serving
never reads a half-written config. Host paths in the compose file are relative to its
folder when the two share a top-level folder, else absolute.

Exit status: 0 when written; 1 when a model cannot be served (missing path, no version, a
missing specific version) or a file cannot be written; 2 for bad flag syntax (a --model or
--versions value, a model name, a duplicate name, a missing or unknown flag). Every problem
is reported, and nothing is written when there is any.
"""
import dataclasses
import json
import os
import posixpath
import re
import shlex
import stat
import sys

from absl import flags
from google.protobuf import text_format
from tensorflow_serving.config import file_system_storage_path_source_pb2
from tensorflow_serving.config import model_server_config_pb2

from tfi2i import cli as cli_lib
from tfi2i import workdir as workdir_lib
from tfi2i.versions import METADATA_PATH
from tfi2i.versions import read_metadata
from tfi2i.versions import SAVED_MODEL
from tfi2i.versions import version_folders

ServableVersionPolicy = (
    file_system_storage_path_source_pb2.FileSystemStoragePathSourceConfig.ServableVersionPolicy)
ModelServerConfig = model_server_config_pb2.ModelServerConfig

DEFAULT_IMAGE = 'tensorflow/serving:2.21.0'  # same release as tensorflow-serving-api (setup.cfg)
DEFAULT_MOUNT_ROOT = '/models'  # container folder of the export bases with --compose
CONFIG_DIR = '/config'  # container folder of the config file with --compose
GRPC_PORT = 8500
REST_PORT = 8501
POLL_SECONDS = 60  # --model_config_file_poll_wait_seconds
# The container's memory limit (mem_limit and memswap_limit of the compose file). The most
# one request may ask (tfi2i.request_limits.MAX_BATCH_PIXELS: one 4096 px image) puts a CycleGAN's
# full-resolution activations at 4 GB each (4096 * 4096 px * 64 channels * 4 bytes), a few
# of them alive at once, besides the model and TF Serving itself.
DEFAULT_MEMORY = '16g'
MEMORY_RE = re.compile(r'[1-9][0-9]*(b|k|m|g|kb|mb|gb)?', re.IGNORECASE)
RESTART = 'unless-stopped'  # Docker starts it again after a crash or an OOM kill
# TF Serving stops a REST predict after 30 s by default (server.h http_timeout_in_ms); a
# CycleGAN at 4096 px (the signatures' limit) takes about 2 minutes on 2 CPU cores.
REST_TIMEOUT_MS = 600_000
# Published on the loopback interface only: TF Serving has no authentication. Edit the
# compose file (or put a proxy in front) to serve other machines.
PUBLISH_HOST = '127.0.0.1'
SERVICE = 'tfserving'
NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]*')
NAME_RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit"
VERSIONS_SYNTAX = 'latest:N (N >= 1), latest, all or specific:V1,V2,... (V >= 0)'
_MAX_VERSION = 2**63 - 1  # TF Serving versions are int64
_MAX_LATEST = 2**32 - 1  # latest.num_versions is a uint32


class ServingConfigError(ValueError):
  """A model that cannot be served or a file that cannot be written (exit status 1).

  The message has one line per problem.
  """
  exit_status = 1


class UsageError(ServingConfigError):
  """Bad flag syntax: a --model or --versions value, a model name, a duplicate (status 2)."""
  exit_status = 2


@dataclasses.dataclass(frozen=True)
class ServedModel:
  """One model of a config, as found on disk."""
  name: str
  path: str  # as given (absolute)
  export_base: str  # absolute host folder of the versions
  base_path: str  # in the config: export_base or MOUNT_ROOT/name
  versions: tuple[int, ...]  # complete versions (holding saved_model.pb), ascending
  served: tuple[int, ...]  # the versions the policy serves, ascending
  incomplete: tuple[int, ...]  # integer folders without saved_model.pb
  metadata: dict | None  # tfi2i.json of the newest served version, if readable


# Version policies.

def parse_versions(text: str) -> ServableVersionPolicy:
  """'latest:N' | 'latest' | 'all' | 'specific:V1,V2,...' -> a ServableVersionPolicy.

  Raises UsageError for anything else (N < 1, a negative or non-integer version, an empty
  list).
  """
  raw = text
  text = str(text).strip()
  kind, sep, arg = text.partition(':')
  kind, arg = kind.strip().lower(), arg.strip()
  policy = ServableVersionPolicy()

  def bad(why):
    return UsageError(f'bad --versions value {raw!r}: {why}; expected {VERSIONS_SYNTAX}')

  if kind == 'latest':
    if not sep:
      arg = '1'
    if not (arg.isascii() and arg.isdigit()) or not 1 <= int(arg) <= _MAX_LATEST:
      raise bad(f'the number of versions must be an integer from 1 to {_MAX_LATEST}, '
                f'got {arg!r}')
    policy.latest.num_versions = int(arg)
  elif kind == 'all':
    if sep:
      raise bad("'all' takes no argument")
    policy.all.SetInParent()
  elif kind == 'specific':
    items = [v.strip() for v in arg.split(',')] if arg else []
    if not items or any(not v for v in items):
      raise bad('specific needs a comma-separated list of versions')
    wrong = [v for v in items if not (v.isascii() and v.isdigit()) or int(v) > _MAX_VERSION]
    if wrong:
      raise bad(f'versions must be integers >= 0, got {", ".join(map(repr, wrong))}')
    policy.specific.versions.extend(sorted({int(v) for v in items}))
  else:
    raise bad(f'unknown policy {kind!r}')
  return policy


def format_versions(policy: ServableVersionPolicy) -> str:
  """The --versions text of a policy (inverse of parse_versions)."""
  kind = policy.WhichOneof('policy_choice')
  if kind == 'specific':
    return 'specific:' + ','.join(str(v) for v in policy.specific.versions)
  if kind == 'all':
    return 'all'
  return f'latest:{policy.latest.num_versions if kind == "latest" else 1}'


def select_versions(policy: ServableVersionPolicy, versions) -> list[int]:
  """The versions TF Serving serves under `policy` when `versions` exist (ascending)."""
  versions = sorted(set(versions))
  kind = policy.WhichOneof('policy_choice')
  if kind == 'all':
    return versions
  if kind == 'specific':
    return sorted(set(policy.specific.versions) & set(versions))
  n = policy.latest.num_versions if kind == 'latest' else 1  # unset: TF Serving's default
  return versions[-n:] if n > 0 else []


def _as_policy(versions) -> ServableVersionPolicy:
  if isinstance(versions, ServableVersionPolicy):
    return versions
  return parse_versions(versions)


# Models on disk.

def is_workdir(path: str) -> bool:
  """Whether path is a training workdir (has recipe.json or export/), not an export base."""
  return (os.path.isfile(os.path.join(path, workdir_lib.RECIPE))
          or os.path.isdir(workdir_lib.export_dir(path)))


def export_base_of(path: str) -> str:
  """The absolute export base of a workdir or export base."""
  path = os.path.abspath(os.path.expanduser(str(path)))
  return workdir_lib.export_dir(path) if is_workdir(path) else path


def default_name(path: str) -> str:
  """The model name of a PATH given without NAME=: the workdir's folder name."""
  path = os.path.abspath(os.path.expanduser(str(path)))
  if not is_workdir(path) and os.path.basename(path) == 'export':
    path = os.path.dirname(path)
  return os.path.basename(path)


def parse_model_flag(text: str) -> tuple[str | None, str]:
  """'NAME=PATH' -> (NAME, PATH); 'PATH' (no '=') -> (None, PATH).

  The text is split at the first '=', so a PATH may hold '=' when NAME= is given.
  """
  text = str(text)
  name, sep, path = text.partition('=')
  if not sep:
    name, path = None, text
  if not path.strip():
    raise UsageError(f'bad --model value {text!r}: expected NAME=PATH or PATH')
  return name, path


def _model_pairs(models) -> list[tuple[str | None, str]]:
  if isinstance(models, dict):
    return list(models.items())
  if isinstance(models, (str, bytes, os.PathLike)):
    raise TypeError('models must be a dict {name: path} or a list of (name, path) pairs')
  pairs = []
  for item in models:
    if isinstance(item, str):
      pairs.append(parse_model_flag(item))
    else:
      name, path = item
      pairs.append((name, os.fspath(path)))
  return pairs


def _mount_root(mount_root: str | None) -> str | None:
  if mount_root is None:
    return None
  root = str(mount_root).strip()
  if not root.startswith('/') or posixpath.normpath(root) == '/':
    raise UsageError(f'bad --mount_root {mount_root!r}: expected an absolute container path '
                     'below /, such as /models')
  return posixpath.normpath(root)


def resolve_models(models, versions='latest:1', mount_root: str | None = None
                   ) -> list[ServedModel]:
  """Finds the export base and versions of each model; checks everything first.

  Args:
    models: {name: path} or [(name, path)] (name None: default_name(path)); a list may
      also hold --model strings 'NAME=PATH' or 'PATH'. path: a workdir or an export base.
    versions: a --versions text or a ServableVersionPolicy.
    mount_root: None for host base paths, else the container folder of the bases.

  Raises:
    UsageError: bad names, duplicates, a bad policy or mount root (every such problem).
    ServingConfigError: models that cannot be served (every such problem).
  """
  problems = []
  try:
    policy = _as_policy(versions)
  except UsageError as e:
    problems.append(str(e))
    policy = None
  try:
    root = _mount_root(mount_root)
  except UsageError as e:
    problems.append(str(e))
    root = None
  named, seen = [], {}
  try:
    pairs = _model_pairs(models)
  except UsageError as e:
    problems.append(str(e))
    pairs = []
  if not pairs and not problems:
    problems.append('no models given: pass --model=NAME=PATH (a workdir or an export base)')
  for name, path in pairs:
    path = os.path.abspath(os.path.expanduser(str(path)))
    given = name is not None
    if not given:
      name = default_name(path)
    if not NAME_RE.fullmatch(name or ''):
      hint = '' if given else f' (the folder name of {path}; give one: --model=NAME={path})'
      problems.append(f'bad model name {name!r}{hint}: TF Serving puts names in URLs; use '
                      f'{NAME_RULE}')
      continue
    if name in seen:
      problems.append(f'model name {name!r} is given twice ({seen[name]} and {path}); names '
                      'must be unique')
      continue
    seen[name] = path
    named.append((name, path))
  if problems:
    raise UsageError('\n'.join(problems))

  problems, served = [], []
  for name, path in named:
    base = export_base_of(path)
    where = f'model {name!r} ({path})'
    if not os.path.exists(path):
      problems.append(f'{where}: path does not exist')
      continue
    if not os.path.isdir(path):
      problems.append(f'{where}: not a folder (expected a workdir or an export base)')
      continue
    complete, incomplete = version_folders(base)
    if not complete:
      if not os.path.isdir(base):
        why = f'{base} does not exist'
      else:
        why = f'no version in {base} (no integer folder holding {SAVED_MODEL})'
        if incomplete:
          why += f'; folders without {SAVED_MODEL}: {_listing(incomplete)}'
      hint = (f'; export one first: python -m tfi2i.export --workdir={os.path.dirname(base)}'
              if is_workdir(path) or os.path.basename(base) == 'export' else '')
      problems.append(f'{where}: {why}{hint}')
      continue
    if policy.WhichOneof('policy_choice') == 'specific':
      missing = sorted(set(policy.specific.versions) - set(complete))
      if missing:
        problems.append(
            f'{where}: version{"s" if len(missing) > 1 else ""} {_listing(missing)} of '
            f'--versions={format_versions(policy)} not in {base} '
            f'(existing versions: {_listing(complete)}'
            + (f'; without {SAVED_MODEL}: {_listing(incomplete)}' if incomplete else '') + ')')
        continue
    chosen = select_versions(policy, complete)
    served.append(ServedModel(
        name=name, path=path, export_base=base,
        base_path=posixpath.join(root, name) if root else base,
        versions=tuple(complete), served=tuple(chosen), incomplete=tuple(incomplete),
        metadata=read_metadata(os.path.join(base, str(chosen[-1]))) or None))
  if problems:
    raise ServingConfigError('\n'.join(problems))
  return served


def _listing(versions) -> str:
  return ', '.join(str(v) for v in versions)


def warnings_for(model: ServedModel, policy: ServableVersionPolicy) -> list[str]:
  """Integer folders without saved_model.pb that TF Serving itself would try to load.

  TF Serving takes every integer folder for a version; a folder that is still being
  copied or a broken export would fail to load (and with latest:N displace a good one).
  """
  tried = set(select_versions(policy, model.versions + model.incomplete))
  bad = sorted(tried & set(model.incomplete))
  if not bad:
    return []
  return [f'warning: model {model.name!r}: TF Serving would also try to load '
          f'{_listing(bad)} under --versions={format_versions(policy)}, but '
          f'{"these folders hold" if len(bad) > 1 else "this folder holds"} no {SAVED_MODEL} '
          f'({model.export_base}); finish or remove {"them" if len(bad) > 1 else "it"}']


# The config file.

def build_config(served: list[ServedModel], versions='latest:1') -> ModelServerConfig:
  """The ModelServerConfig serving `served` under one version policy."""
  policy = _as_policy(versions)
  config = ModelServerConfig()
  for model in served:
    entry = config.model_config_list.config.add()
    entry.name = model.name
    entry.base_path = model.base_path
    entry.model_platform = 'tensorflow'
    entry.model_version_policy.CopyFrom(policy)
  return config


def _comment(lines) -> str:
  return ''.join(f'# {line}'.rstrip() + '\n' for line in lines)


def _header(what: str, command: str | None) -> str:
  if command:
    return _comment([f'{what} written by tfi2i.serving.config.',
                     'Regenerate it rather than editing it (relative paths are from the folder '
                     'the command ran in):', f'  {command}'])
  return _comment([f'{what} written by tfi2i.serving.config.'])


def config_text(config: ModelServerConfig, command: str | None = None) -> str:
  """The text of a config file: a comment header and the text-format proto."""
  return (_header('TF Serving model config (text-format ModelServerConfig)', command)
          + text_format.MessageToString(config))


def load_config(path: str) -> ModelServerConfig:
  """Parses a text-format ModelServerConfig file (comments allowed)."""
  with open(path, encoding='utf-8') as f:
    return text_format.Parse(f.read(), ModelServerConfig())


# The Docker Compose file.

def _yaml_str(s: str) -> str:
  """A YAML double-quoted scalar (JSON strings are valid ones); quoting every string also
  keeps values such as "8500:8500" from being read as YAML 1.1 base-60 integers."""
  return json.dumps(str(s))


def _host_path(target: str, start: str) -> str:
  """target relative to start ('./x', '../x') when they share a top-level folder, else
  absolute."""
  target, start = os.path.abspath(target), os.path.abspath(start)
  if os.path.commonpath([target, start]) == os.path.abspath(os.sep):
    return target
  rel = os.path.relpath(target, start)
  return rel if rel == '.' or rel.startswith('..') else f'./{rel}'


def compose_text(served: list[ServedModel], compose_path: str, config_path: str,
                 image: str = DEFAULT_IMAGE, command: str | None = None,
                 memory: str = DEFAULT_MEMORY) -> str:
  """The Docker Compose file for `served` (whose base_path must be their container paths)
  and the config file at config_path; the container may use `memory` and restarts."""
  folder = os.path.dirname(os.path.abspath(compose_path))
  config_path = os.path.abspath(config_path)
  config_in_container = posixpath.join(CONFIG_DIR, os.path.basename(config_path))
  mounts = [(m.export_base, m.base_path) for m in served]
  mounts.append((os.path.dirname(config_path), CONFIG_DIR))
  lines = [
      'services:',
      f'  {SERVICE}:',
      f'    image: {_yaml_str(image)}',
      f'    restart: {_yaml_str(RESTART)}',
      f'    mem_limit: {_yaml_str(memory)}',
      f'    memswap_limit: {_yaml_str(memory)}  # no swap on top of mem_limit',
      '    ports:',
      f'      - {_yaml_str(f"{PUBLISH_HOST}:{GRPC_PORT}:{GRPC_PORT}")}  # gRPC',
      f'      - {_yaml_str(f"{PUBLISH_HOST}:{REST_PORT}:{REST_PORT}")}  # REST',
      '    volumes:',
  ]
  for source, target in mounts:
    lines += ['      - type: bind',
              f'        source: {_yaml_str(_host_path(source, folder))}',
              f'        target: {_yaml_str(target)}',
              '        read_only: true']
  lines += ['    command:',
            f'      - {_yaml_str(f"--model_config_file={config_in_container}")}',
            f'      - {_yaml_str(f"--model_config_file_poll_wait_seconds={POLL_SECONDS}")}',
            f'      - {_yaml_str(f"--rest_api_timeout_in_ms={REST_TIMEOUT_MS}")}']
  header = _header('Docker Compose file running TF Serving,', command) + _comment([
      f'Start it in this folder: docker compose -f {os.path.basename(compose_path)} up -d',
      f'(gRPC localhost:{GRPC_PORT}; REST http://localhost:{REST_PORT}/v1/models/NAME).'])
  return header + '\n'.join(lines) + '\n'


# Writing files.

def _check_writable(path: str) -> str | None:
  """Why `path` cannot be written, or None."""
  path = os.path.abspath(path)
  if os.path.isdir(path):
    return f'{path} is a folder'
  parent = os.path.dirname(path)
  while not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    return f'{parent} is not a folder'
  if not os.access(parent, os.W_OK | os.X_OK):
    return f'{parent} is not writable'
  if os.path.exists(path) and not os.access(path, os.W_OK):
    return f'{path} is not writable'
  return None


def write_atomic(path: str, text: str) -> None:
  """Writes text to path through a temporary file renamed over it (os.replace): a reader
  sees the old file or the new one, never part of one. Keeps an existing file's mode."""
  path = os.path.abspath(path)
  folder = os.path.dirname(path)
  os.makedirs(folder, exist_ok=True)
  tmp = os.path.join(folder, f'.{os.path.basename(path)}.tmp-{os.getpid()}')
  try:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    if os.path.exists(path):
      os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def _check_outputs(paths) -> None:
  paths = [os.path.abspath(p) for p in paths]
  if len(set(paths)) < len(paths):
    raise UsageError(f'--output and --compose are the same file: {paths[0]}')
  problems = [f'cannot write {p}: {why}' for p in paths for why in [_check_writable(p)] if why]
  if problems:
    raise ServingConfigError('\n'.join(problems))


def write_config(models, output: str, versions='latest:1', mount_root: str | None = None,
                 command: str | None = None) -> ModelServerConfig:
  """Writes the TF Serving config of `models` to `output` (atomically) and returns it.

  models: {name: path} or [(name, path)], path a workdir or an export base (see
  resolve_models); versions: a --versions text or a ServableVersionPolicy; mount_root:
  None for host base paths, '/models' for '/models/<name>'; command: the command line for
  the header comment. Raises ServingConfigError (UsageError for bad syntax) before writing
  anything.
  """
  served = resolve_models(models, versions, mount_root)
  _check_outputs([output])
  config = build_config(served, versions)
  write_atomic(output, config_text(config, command))
  return config


def write_compose(models, output: str, config_path: str, image: str = DEFAULT_IMAGE,
                  mount_root: str = DEFAULT_MOUNT_ROOT, command: str | None = None,
                  memory: str = DEFAULT_MEMORY) -> str:
  """Writes the Docker Compose file for `models` (as in write_config, which writes the
  config file at config_path with the same mount_root) to `output`; returns its text."""
  served = resolve_models(models, 'all', mount_root or DEFAULT_MOUNT_ROOT)
  _check_image(image)
  _check_memory(memory)
  _check_outputs([output])
  text = compose_text(served, output, config_path, image, command, memory)
  write_atomic(output, text)
  return text


def _check_image(image: str) -> None:
  if not image or any(c.isspace() for c in image):
    raise UsageError(f'bad --image {image!r}: expected a Docker image such as {DEFAULT_IMAGE}')


def _check_memory(memory: str) -> None:
  if not MEMORY_RE.fullmatch(str(memory)):
    raise UsageError(f'bad --memory {memory!r}: expected a Docker byte value such as '
                     f'{DEFAULT_MEMORY} or 12000m (a positive integer, then b, k, m or g)')


# The command line.

def command_line(model, output, versions='latest:1', mount_root=None, compose=None,
                 image=DEFAULT_IMAGE, memory=DEFAULT_MEMORY) -> str:
  """The command that writes these files (for the header comments)."""
  args = [f'--model={m}' for m in model or []] + [f'--output={output}']
  if versions != 'latest:1':
    args.append(f'--versions={versions}')
  if mount_root is not None and not (compose and mount_root == DEFAULT_MOUNT_ROOT):
    args.append(f'--mount_root={mount_root}')
  if compose:
    args.append(f'--compose={compose}')
    if image != DEFAULT_IMAGE:
      args.append(f'--image={image}')
    if memory != DEFAULT_MEMORY:
      args.append(f'--memory={memory}')
  return 'python -m tfi2i.serving.config ' + ' '.join(shlex.quote(a) for a in args)


def _describe(model: ServedModel) -> list[str]:
  lines = [f'  {model.name}: base_path {model.base_path}'
           + (f' (host {model.export_base})' if model.base_path != model.export_base else ''),
           f'    versions served: {_listing(model.served)} (found: {_listing(model.versions)})']
  meta = model.metadata
  newest = model.served[-1]
  if meta is None:
    lines.append(f'    version {newest}: no readable {METADATA_PATH}')
  else:
    about = ', '.join(f'{k} {meta[k]}' for k in ('model', 'step') if meta.get(k) is not None)
    signatures = sorted(meta.get('signatures') or {})
    lines.append(f'    version {newest}: {about + "; " if about else ""}signatures: '
                 + (', '.join(signatures) or 'none listed'))
  return lines


def cli(model=None, output=None, versions='latest:1', mount_root=None, compose=None,
        image=DEFAULT_IMAGE, memory=DEFAULT_MEMORY) -> int:
  """The command line: writes the config (and compose) file, prints what it wrote; returns
  the exit status (see the module docstring)."""
  if not model or not output:
    print('--model=NAME=PATH (one or more) and --output=FILE are required', file=sys.stderr)
    return 2
  if compose and mount_root is None:
    mount_root = DEFAULT_MOUNT_ROOT
  command = command_line(model, output, versions, mount_root, compose, image, memory)
  try:
    if compose:
      _check_image(image)
      _check_memory(memory)
    served = resolve_models(list(model), versions, mount_root)
    _check_outputs([output] + ([compose] if compose else []))
    policy = parse_versions(versions)
    config = config_text(build_config(served, policy), command)
    compose_yaml = (compose_text(served, compose, output, image, command, memory)
                    if compose else None)
    write_atomic(output, config)
    if compose:
      write_atomic(compose, compose_yaml)
  except ServingConfigError as e:
    print(f'tfi2i.serving.config: nothing written:\n{e}', file=sys.stderr)
    return e.exit_status
  except OSError as e:
    print(f'tfi2i.serving.config: cannot write: {e}', file=sys.stderr)
    return 1
  for model_ in served:
    for warning in warnings_for(model_, policy):
      print(warning, file=sys.stderr)
  print(f'Wrote {output} (versions {format_versions(policy)}):')
  for model_ in served:
    print('\n'.join(_describe(model_)))
  if compose:
    print(f'Wrote {compose} ({image}, memory limit {memory}): docker compose -f {compose} '
          f'up -d; gRPC localhost:{GRPC_PORT}, REST http://localhost:{REST_PORT}/v1/models/{served[0].name}')
  return 0


def _define_flags():
  return dict(
      model=flags.DEFINE_multi_string(
          'model', None, '[NAME=]PATH of a model to serve, repeatable: a workdir (its export/) '
          'or an export base; NAME defaults to the workdir folder name.', required=True),
      output=flags.DEFINE_string('output', None, 'Config file to write (text-format '
                                 'ModelServerConfig), e.g. serving/models.config.',
                                 required=True),
      versions=flags.DEFINE_string('versions', 'latest:1', f'Version policy: {VERSIONS_SYNTAX}.'),
      mount_root=flags.DEFINE_string(
          'mount_root', None, 'Container folder of the export bases: base paths become '
          'MOUNT_ROOT/NAME (default: absolute host paths; /models with --compose).'),
      compose=flags.DEFINE_string('compose', None, 'Also write a Docker Compose file here.'),
      image=flags.DEFINE_string('image', DEFAULT_IMAGE, 'TF Serving image of the compose file.'),
      memory=flags.DEFINE_string('memory', DEFAULT_MEMORY, 'Memory limit of the compose '
                                 "file's container (mem_limit, a Docker byte value such as "
                                 '16g); it restarts when it is exceeded.'))


_HELP_FLAGS = ('-?', '--help', '--helpshort', '--helpfull', '--helpxml')


def main():
  """Runs cli with absl flags; flag errors that absl reports before cli runs (status 1:
  an unknown or missing flag, positional arguments) exit with 2, like cli's own."""
  entered = []

  def run_cli(**values):
    entered.append(True)
    return cli(**values)

  try:
    cli_lib.run(_define_flags, run_cli)
  except SystemExit as e:
    asked_for_help = any(a.split('=')[0] in _HELP_FLAGS for a in sys.argv[1:])
    if not entered and e.code not in (0, None) and not asked_for_help:
      raise SystemExit(2) from None
    raise


if __name__ == '__main__':
  main()
