"""The development server's gRPC front end (tfi2i.serving.devserver): TF Serving's
PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus) over a
ServerCore, with TF Serving's status codes and messages. The other methods (Classify,
Regress, MultiInference, HandleReloadConfigRequest) are the generated servicers' own, which
answer UNIMPLEMENTED.
"""
import logging

from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import prediction_service_pb2_grpc

from tfi2i.serving.errors import Code
from tfi2i.serving.errors import ServingError

logger = logging.getLogger('tfi2i.serving.devserver')

GRPC_ERROR_LIMIT = 1024  # TF Serving truncates gRPC error messages to this many characters


def _grpc_call(context, method, request):
  try:
    return method(request)
  except ServingError as e:
    message = e.message
    if len(message) > GRPC_ERROR_LIMIT:
      message = message[:GRPC_ERROR_LIMIT] + '...TRUNCATED'
    context.abort(e.code, message)
  except Exception as e:  # pylint: disable=broad-except
    logger.exception('gRPC %s failed', method.__name__)
    context.abort(Code.INTERNAL, f'Internal error: {type(e).__name__}: {e}')


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):

  def __init__(self, core):
    self._core = core

  def Predict(self, request, context):  # pylint: disable=invalid-name
    return _grpc_call(context, self._core.predict, request)

  def GetModelMetadata(self, request, context):  # pylint: disable=invalid-name
    return _grpc_call(context, self._core.model_metadata, request)


class ModelService(model_service_pb2_grpc.ModelServiceServicer):

  def __init__(self, core):
    self._core = core

  def GetModelStatus(self, request, context):  # pylint: disable=invalid-name
    return _grpc_call(context, self._core.model_status, request)
