"""tfi2i's development model server: TensorFlow Serving's REST and gRPC APIs over SavedModels.

For local development, demos and tests where the real TF Serving binary
(`tensorflow_model_server`, or its Docker image) is not available. It is not meant for
production: it runs the SavedModels in one Python process, without batching, file-system
polling or monitoring; serve with TF Serving there (`python -m tfi2i.serving.config` writes
its model config and a Docker Compose file). It takes the same flags as
tensorflow_model_server and answers as TF Serving does, so clients (tfi2i.serving.client)
work against either:

  python -m tfi2i.serving.devserver --port=8500 --rest_api_port=8501 \\
      (--model_config_file=PATH | --model_name=NAME --model_base_path=PATH)

or in-process: `server = start(model_base_path=..., model_name=...)`, then `server.grpc_port`,
`server.rest_port` and `server.stop()`. tfi2i.serving.launch starts it (or the real binary)
as a subprocess and waits until the models are available.

This module starts the server (start, Server) and is its command line; the rest lives in
tfi2i.serving: servables (the model config, loading and warm-up), server_core (TF Serving's
request semantics, shared by both front ends), tensor_codec (JSON and TensorProto <->
arrays), rest_server and grpc_services (the front ends), errors (ServingError,
StartupError).

What it mirrors (behaviour and error texts read from TF Serving's sources):
  * Model config: a text-format ModelServerConfig (model_config_list only; base paths must
    be absolute; model_platform "tensorflow"; version policies latest (default, 1 version),
    all and specific; version_labels, refused at start-up unless
    --allow_version_labels_for_unavailable_models, as TF Serving does). Versions are
    integer-named folders holding saved_model.pb; each served version is loaded once at
    start-up with tf.saved_model.load (tag "serve") and called through its signatures.
  * Warm-up: `assets.extra/tf_serving_warmup_requests` (PredictionLog records) is replayed
    at load unless --enable_model_warmup=false; a failing record fails the load.
  * REST (tensorflow_serving/model_servers/http_rest_api_handler.cc, util/json_tensor.cc):
    POST /v1/models/NAME[/versions/V|/labels/L]:predict in the row ("instances") and
    columnar ("inputs") formats, {"b64": ...} for DT_STRING, outputs named *_bytes written
    as {"b64": ...}, floats written as TF Serving writes them (NaN, Infinity);
    GET /v1/models/NAME[/versions/V|/labels/L] (status) and .../metadata. Errors are
    {"error": message} with TF Serving's HTTP mapping of status codes (INVALID_ARGUMENT and
    FAILED_PRECONDITION 400, NOT_FOUND 404, UNIMPLEMENTED 501, others 500).
  * gRPC: PredictionService.Predict and GetModelMetadata, ModelService.GetModelStatus, with
    TF Serving's status codes and messages (truncated to 1024 characters as TF Serving does).
    Output TensorProtos use the typed *_val fields, like TF Serving's default
    (AsProtoField). Classify, Regress, MultiInference and HandleReloadConfigRequest answer
    UNIMPLEMENTED.

Where it differs on purpose:
  * Port 0 (either flag) picks a free port, and the REST server always runs (TF Serving turns
    REST off for --rest_api_port=0); both listen on 127.0.0.1 only. Once serving, one line
    `DEVSERVER READY grpc=<port> rest=<port>` goes to stdout.
  * No file-system polling: versions are fixed at start-up. A missing base path, or no
    servable version under it, is an error at start-up (exit status 1) instead of a server
    that waits for versions to appear.
  * REST request bodies are limited (64 MiB by default; 413 beyond).
  * TensorFlow errors raised by a signature carry Python's wording; the "Graph execution
    error" preamble and the "[Op:...]" suffix Python adds are removed, so the text is close
    to what the C++ session reports.
"""
import argparse
import concurrent.futures
import logging
import signal
import sys
import threading

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import prediction_service_pb2_grpc

from tfi2i.serving.errors import StartupError
from tfi2i.serving.grpc_services import ModelService
from tfi2i.serving.grpc_services import PredictionService
from tfi2i.serving.rest_server import MAX_REQUEST_BYTES
from tfi2i.serving.rest_server import RestServer
from tfi2i.serving.server_core import ServerCore
from tfi2i.serving.servables import load_models
from tfi2i.serving.servables import read_config

logger = logging.getLogger('tfi2i.serving.devserver')

GRPC_MAX_MESSAGE = 2**31 - 1  # TF Serving's gRPC message limit (kint32max)
READY_LINE = 'DEVSERVER READY grpc={grpc} rest={rest}'


# ----------------------------------------------------------------------------------------
# Starting and stopping

class Server:
  """A running development server: `grpc_port`, `rest_port`, `models`, and `stop()`."""

  def __init__(self, core, grpc_server, grpc_executor, grpc_port, rest_server, rest_thread):
    self.core = core
    self.models = core.models
    self.grpc_port = grpc_port
    self.rest_port = rest_server.server_address[1]
    self._grpc = grpc_server
    self._grpc_executor = grpc_executor
    self._rest = rest_server
    self._rest_thread = rest_thread
    self._stopped = False
    self._stop_lock = threading.Lock()

  @property
  def max_request_bytes(self) -> int:
    return self._rest.max_request_bytes

  @max_request_bytes.setter
  def max_request_bytes(self, value: int):
    self._rest.max_request_bytes = value

  def stop(self, grace: float = 1.0):
    """Stops both servers, closes their sockets and joins their threads (idempotent)."""
    with self._stop_lock:
      if self._stopped:
        return
      self._stopped = True
    self._rest.shutdown()  # stops accepting
    self._rest_thread.join()
    self._rest.server_close()
    self._rest.close_connections()
    self._grpc.stop(grace).wait()
    self._grpc_executor.shutdown(wait=True)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.stop()


def start(model_config_file=None, model_name=None, model_base_path=None, grpc_port=0,
          rest_port=0, *, allow_version_labels_for_unavailable_models=False,
          max_request_bytes=MAX_REQUEST_BYTES, host='127.0.0.1', grpc_workers=16,
          enable_model_warmup=True) -> Server:
  """Loads the models and starts serving gRPC and REST on host; port 0 picks a free port.

  Raises StartupError (with a message naming the model and path) when the config is bad,
  a model has no servable version, or a port cannot be bound.
  """
  config = read_config(model_config_file, model_name, model_base_path)
  core = ServerCore(load_models(config, allow_version_labels_for_unavailable_models,
                                enable_model_warmup))
  executor = concurrent.futures.ThreadPoolExecutor(max_workers=grpc_workers,
                                                   thread_name_prefix='devserver-grpc')
  grpc_server = grpc.server(
      executor,
      options=[('grpc.max_send_message_length', GRPC_MAX_MESSAGE),
               ('grpc.max_receive_message_length', GRPC_MAX_MESSAGE),
               ('grpc.so_reuseport', 0)])
  prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
      PredictionService(core), grpc_server)
  model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(core), grpc_server)
  try:
    try:
      bound = grpc_server.add_insecure_port(f'{host}:{grpc_port}')
    except RuntimeError as e:
      raise StartupError(f'Failed to bind gRPC to {host}:{grpc_port}: {e}') from e
    if not bound:
      raise StartupError(f'Failed to bind gRPC to {host}:{grpc_port}')
    try:
      rest_server = RestServer((host, rest_port), core, max_request_bytes)
    except OSError as e:
      raise StartupError(f'Failed to bind REST to {host}:{rest_port}: {e.strerror}') from e
  except StartupError:
    grpc_server.stop(None)
    executor.shutdown(wait=False)
    raise
  grpc_server.start()
  rest_thread = threading.Thread(target=rest_server.serve_forever, kwargs={'poll_interval': 0.2},
                                 name='devserver-rest', daemon=True)
  rest_thread.start()
  logger.info('Running gRPC ModelServer at %s:%d, REST at %s:%d', host, bound, host,
              rest_server.server_address[1])
  return Server(core, grpc_server, executor, bound, rest_server, rest_thread)


_IGNORED_FLAGS = ('model_config_file_poll_wait_seconds', 'file_system_poll_wait_seconds',
                  'rest_api_num_threads', 'rest_api_timeout_in_ms', 'enable_batching',
                  'batching_parameters_file', 'tensorflow_intra_op_parallelism',
                  'tensorflow_inter_op_parallelism', 'tensorflow_session_parallelism',
                  'grpc_channel_arguments', 'monitoring_config_file')


def _bool_flag(text: str) -> bool:
  if text.lower() in ('true', '1', 'yes'):
    return True
  if text.lower() in ('false', '0', 'no'):
    return False
  raise argparse.ArgumentTypeError(f'not a boolean: {text}')


def _parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='python -m tfi2i.serving.devserver', allow_abbrev=False,
      description="tfi2i's development model server: TF Serving's REST and gRPC APIs over "
                  "SavedModels, for development and tests, not production; the same flags "
                  "as tensorflow_model_server.")
  parser.add_argument('--port', type=int, default=8500, help='gRPC port (0: a free port)')
  parser.add_argument('--rest_api_port', type=int, default=0, help='REST port (0: a free port)')
  parser.add_argument('--model_config_file', default='')
  parser.add_argument('--model_name', default='default')
  parser.add_argument('--model_base_path', default='')
  parser.add_argument('--allow_version_labels_for_unavailable_models', type=_bool_flag,
                      nargs='?', const=True, default=False)
  parser.add_argument('--enable_model_warmup', type=_bool_flag, nargs='?', const=True,
                      default=True, help='replay assets.extra/tf_serving_warmup_requests')
  for name in _IGNORED_FLAGS:
    parser.add_argument(f'--{name}', nargs='?', const='true', default=None,
                        help='accepted and ignored')
  return parser.parse_args(argv)


def main(argv=None) -> int:
  """The command line; returns the exit status."""
  args = _parse_args(sys.argv[1:] if argv is None else argv)
  if not logging.getLogger().handlers:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='devserver %(levelname)s: %(message)s')
  for name in _IGNORED_FLAGS:
    if getattr(args, name) is not None:
      logger.info('--%s=%s is ignored by the development server', name, getattr(args, name))
  stop = threading.Event()
  previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
  try:
    try:
      server = start(args.model_config_file or None, args.model_name,
                     args.model_base_path or None, args.port, args.rest_api_port,
                     allow_version_labels_for_unavailable_models=(
                         args.allow_version_labels_for_unavailable_models),
                     enable_model_warmup=args.enable_model_warmup)
    except StartupError as e:
      print(f'Failed to start server. Error: {e}', file=sys.stderr, flush=True)
      return 1
    print(READY_LINE.format(grpc=server.grpc_port, rest=server.rest_port), flush=True)
    while not stop.wait(0.5):
      pass
    logger.info('Stopping')
    server.stop()
    return 0
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)


if __name__ == '__main__':
  sys.exit(main())
