"""The development server's REST front end (tfi2i.serving.devserver): an HTTP/1.1 server, one
thread per connection, that reads each request's body (Content-Length or chunked, at most
max_request_bytes: 413 beyond) and has ServerCore.handle_rest answer the paths under /v1/.
"""
import http.server
import json
import logging
import re
import socket
import threading
import urllib.parse

logger = logging.getLogger('tfi2i.serving.devserver')

MAX_REQUEST_BYTES = 64 << 20  # REST bodies above this get 413

_API_PATH = re.compile(r'/v1/.*', re.I | re.S)


class _BodyError(Exception):

  def __init__(self, status, message):
    super().__init__(message)
    self.status, self.message = status, message


class _Disconnected(Exception):
  pass


class _RestHandler(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'  # keep-alive, as TF Serving's libevent server
  server_version = 'tfi2i-devserver'
  sys_version = ''
  timeout = 120  # an idle or stalled connection is closed after this many seconds
  # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
  # body until the client's delayed ACK (about 40 ms per response on Linux).
  disable_nagle_algorithm = True

  def do_GET(self):  # pylint: disable=invalid-name
    self._serve('GET')

  def do_POST(self):  # pylint: disable=invalid-name
    self._serve('POST')

  def do_PUT(self):  # pylint: disable=invalid-name
    self._serve('PUT')

  def do_DELETE(self):  # pylint: disable=invalid-name
    self._serve('DELETE')

  def do_PATCH(self):  # pylint: disable=invalid-name
    self._serve('PATCH')

  def do_HEAD(self):  # pylint: disable=invalid-name
    self._serve('HEAD')

  def do_OPTIONS(self):  # pylint: disable=invalid-name
    self._serve('OPTIONS')

  def _serve(self, method):
    path = urllib.parse.urlsplit(self.path).path
    try:
      body = self._read_body()
    except _Disconnected:
      self.close_connection = True
      return
    except _BodyError as e:
      self._reply(e.status, json.dumps({'error': e.message}), close=True)
      return
    except (OSError, ValueError) as e:
      logger.info('REST %s %s: reading the body failed: %s', method, path, e)
      self.close_connection = True
      return
    if not _API_PATH.fullmatch(path):
      self._reply(404, 'Not Found', content_type='text/plain')
      return
    status, text = self.server.core.handle_rest(method, path, body)
    self._reply(status, text, head=method == 'HEAD')

  def _read_body(self) -> bytes:
    limit = self.server.max_request_bytes
    encoding = (self.headers.get('Transfer-Encoding') or '').strip().lower()
    if encoding and encoding != 'identity':
      if encoding != 'chunked':
        raise _BodyError(501, f'Transfer-Encoding {encoding} is not supported')
      return self._read_chunked(limit)
    length = self.headers.get('Content-Length')
    if length is None:
      return b''
    try:
      size = int(length)
      if size < 0:
        raise ValueError
    except ValueError:
      raise _BodyError(400, f'Invalid Content-Length: {length}') from None
    if size > limit:
      self._drain(size, limit)
      raise _BodyError(413, f'Request body of {size} bytes exceeds the limit of {limit} bytes')
    body = self.rfile.read(size)
    if len(body) != size:
      raise _Disconnected
    return body

  def _read_chunked(self, limit) -> bytes:
    chunks, total = [], 0
    while True:
      line = self.rfile.readline(1024)
      if not line:
        raise _Disconnected
      try:
        size = int(line.split(b';')[0].strip(), 16)
      except ValueError:
        raise _BodyError(400, 'Invalid chunked transfer encoding') from None
      if size == 0:
        while self.rfile.readline(65537) not in (b'\r\n', b'\n', b''):
          pass  # trailers
        return b''.join(chunks)
      total += size
      if total > limit:
        raise _BodyError(413, f'Request body exceeds the limit of {limit} bytes')
      data = self.rfile.read(size)
      if len(data) != size:
        raise _Disconnected
      chunks.append(data)
      self.rfile.readline(3)

  def _drain(self, size, limit):
    """Reads (and drops) an oversized body so that the client gets the 413 response."""
    if size > 4 * limit:
      return
    self.connection.settimeout(5)
    try:
      while size > 0:
        data = self.rfile.read(min(size, 1 << 20))
        if not data:
          break
        size -= len(data)
    except OSError:
      pass

  def _reply(self, status, text, content_type='application/json', close=False, head=False):
    payload = text.encode('utf-8', 'surrogateescape')
    try:
      self.send_response(status)
      self.send_header('Content-Type', content_type)
      self.send_header('Content-Length', str(len(payload)))
      if close:
        self.send_header('Connection', 'close')
        self.close_connection = True
      self.end_headers()
      if not head:
        self.wfile.write(payload)
    except OSError:
      self.close_connection = True

  def log_message(self, format, *args):  # pylint: disable=redefined-builtin
    logger.debug('REST %s %s', self.address_string(), format % args)


class RestServer(http.server.ThreadingHTTPServer):
  """One daemon thread per connection; close_connections() ends them all and joins them."""
  daemon_threads = True
  request_queue_size = 64

  def __init__(self, address, core, max_request_bytes):
    self.core = core
    self.max_request_bytes = max_request_bytes
    self._connections = {}  # socket: the thread serving it
    self._connection_threads = []
    self._lock = threading.Lock()
    super().__init__(address, _RestHandler)

  def process_request(self, request, client_address):
    thread = threading.Thread(target=self.process_request_thread,
                              args=(request, client_address), name='devserver-rest-connection',
                              daemon=True)
    with self._lock:
      self._connections[request] = thread
      self._connection_threads = [t for t in self._connection_threads if t.is_alive()] + [thread]
    thread.start()

  def shutdown_request(self, request):
    with self._lock:
      self._connections.pop(request, None)
    super().shutdown_request(request)

  def close_connections(self, timeout=30.0):
    """Shuts the open connections down (their threads then end) and joins every thread."""
    with self._lock:
      connections, threads = list(self._connections), list(self._connection_threads)
    for connection in connections:
      try:
        connection.shutdown(socket.SHUT_RDWR)
      except OSError:
        pass
    for thread in threads:
      thread.join(timeout)

  def handle_error(self, request, client_address):
    logger.exception('REST connection from %s failed', client_address)
