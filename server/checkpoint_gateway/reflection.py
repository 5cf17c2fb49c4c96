"""Server reflection under both names that tools ask for: ``grpc.reflection.v1`` and
``grpc.reflection.v1alpha``.

grpcio-reflection implements only v1alpha, while current grpcurl, Postman and
grpc-java's tools ask for v1 first. The two protocols are the same messages under two
package names, so one servicer answers both: v1 calls are decoded and encoded with the
v1alpha message classes, which are wire-identical.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
import grpc.aio
from grpc_reflection.v1alpha import _async as v1alpha_aio
from grpc_reflection.v1alpha import reflection as v1alpha
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

V1ALPHA_SERVICE_NAME: str = v1alpha.SERVICE_NAME
V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"


def enable(service_names: Iterable[str], server: grpc.aio.Server) -> None:
    """Serve reflection of ``service_names`` (and of itself) under v1 and v1alpha."""
    names = [*service_names, V1ALPHA_SERVICE_NAME, V1_SERVICE_NAME]
    servicer = v1alpha_aio.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))
