"""The development server's errors (tfi2i.serving.devserver): ServingError, a request that
failed, with TF Serving's gRPC status code and message and the HTTP status TF Serving's REST
API gives that code; StartupError, a server that cannot start."""
import grpc

Code = grpc.StatusCode
_HTTP_STATUS = {
    Code.OK: 200, Code.CANCELLED: 499, Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504, Code.NOT_FOUND: 404, Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403, Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400, Code.ABORTED: 409, Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501, Code.UNAVAILABLE: 503, Code.UNAUTHENTICATED: 401,
}  # TF Serving's ToHTTPStatusCode; anything else is 500


class ServingError(Exception):
  """A request failed: a gRPC status code and TF Serving's message."""

  def __init__(self, code: grpc.StatusCode, message: str):
    super().__init__(message)
    self.code = code
    self.message = message

  @property
  def http_status(self) -> int:
    return _HTTP_STATUS.get(self.code, 500)


class StartupError(Exception):
  """The server cannot start (bad flags or config, missing model, port in use)."""


def invalid(message):
  """A ServingError with INVALID_ARGUMENT (TF Serving's errors::InvalidArgument)."""
  return ServingError(Code.INVALID_ARGUMENT, message)
