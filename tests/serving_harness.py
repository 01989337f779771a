"""Starting a TF Serving model server (the stand-in, or the real binary when on PATH) on
127.0.0.1 for tests and benchmarks; both take the same flags."""
import os
import shutil
import subprocess
import sys
import time

from conftest import free_ports
import requests

STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'standin_server.py')
REAL_SERVER = shutil.which('tensorflow_model_server')
START_TIMEOUT = 180  # seconds until every model is AVAILABLE


class Server:
  """A model server process (stand-in or real) on 127.0.0.1 with free ports."""

  def __init__(self, kind, config_path, models, log_path):
    self.kind, self.models = kind, models
    self.grpc_port, self.rest_port = free_ports(2)
    argv = [sys.executable, STANDIN] if kind == 'standin' else [REAL_SERVER]
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
    """(threads, open file descriptors, resident MB) of the server process."""
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
