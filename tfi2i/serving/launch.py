"""Starting a TF Serving model server on 127.0.0.1 with free ports, for demos, benchmarks and
tests: tfi2i's development server (tfi2i.serving.devserver, kind 'devserver') or the real
`tensorflow_model_server` binary when it is on PATH (kind 'real'); both take the same flags.

  server = Server('devserver', 'models.config', ['demo'], 'server.log')
  ...  # server.rest, server.grpc_address, server.address('grpc' | 'rest')
  server.stop()
"""
import os
import shutil
import socket
import subprocess
import sys
import time

import requests

REAL_SERVER = shutil.which('tensorflow_model_server')
START_TIMEOUT = 180  # seconds until every model is AVAILABLE
KINDS = ('devserver', 'real')


def free_ports(n):
  """n distinct free TCP ports on 127.0.0.1 (all bound at once, then released)."""
  sockets = [socket.socket() for _ in range(n)]
  try:
    for s in sockets:
      s.bind(('127.0.0.1', 0))
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def server_argv(kind):
  """The command (without flags) that starts a model server of this kind."""
  if kind == 'devserver':
    return [sys.executable, '-m', 'tfi2i.serving.devserver']
  if kind == 'real':
    if REAL_SERVER is None:
      raise RuntimeError('tensorflow_model_server is not on PATH')
    return [REAL_SERVER]
  raise ValueError(f'unknown server kind {kind!r} (one of {", ".join(KINDS)})')


class Server:
  """A model server process (development server or real) on 127.0.0.1 with free ports,
  started with the model config at config_path; returns once every model of `models` is
  AVAILABLE (RuntimeError with the end of the log if it exits or is not ready in time)."""

  def __init__(self, kind, config_path, models, log_path):
    self.kind, self.models = kind, models
    argv = server_argv(kind)
    self.grpc_port, self.rest_port = free_ports(2)
    argv += [f'--port={self.grpc_port}', f'--rest_api_port={self.rest_port}',
             f'--model_config_file={config_path}']
    self.log_path = log_path
    self._log = open(log_path, 'w')  # pylint: disable=consider-using-with
    self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
    deadline = time.time() + START_TIMEOUT
    pending = set(models)
    while pending:
      if self.proc.poll() is not None:
        raise RuntimeError(f'{kind} server exited with {self.proc.returncode}:\n{self.log()}')
      if time.time() > deadline:
        self.stop()
        raise RuntimeError(f'{kind} server not ready after {START_TIMEOUT} s:\n{self.log()}')
      for name in list(pending):
        try:
          status = requests.get(f'{self.rest}/v1/models/{name}', timeout=5).json()
        except (requests.RequestException, ValueError):
          continue
        states = [v.get('state') for v in status.get('model_version_status', [])]
        if states and all(s == 'AVAILABLE' for s in states):
          pending.discard(name)
      time.sleep(0.2)

  @property
  def rest(self):
    return f'http://127.0.0.1:{self.rest_port}'

  @property
  def grpc_address(self):
    return f'127.0.0.1:{self.grpc_port}'

  def address(self, protocol):
    return self.grpc_address if protocol == 'grpc' else f'127.0.0.1:{self.rest_port}'

  def log(self):
    self._log.flush()
    with open(self.log_path) as f:
      return f.read()[-3000:]

  def process_stats(self):
    """(threads, open file descriptors, resident MB) of the server process (Linux)."""
    status = {}
    with open(f'/proc/{self.proc.pid}/status') as f:
      for line in f:
        key, _, value = line.partition(':')
        status[key] = value.split()
    fds = len(os.listdir(f'/proc/{self.proc.pid}/fd'))
    return int(status['Threads'][0]), fds, int(status['VmRSS'][0]) / 1024

  def stop(self):
    if self.proc.poll() is None:
      self.proc.terminate()
      try:
        self.proc.wait(20)
      except subprocess.TimeoutExpired:
        self.proc.kill()
        self.proc.wait()
    self._log.close()
