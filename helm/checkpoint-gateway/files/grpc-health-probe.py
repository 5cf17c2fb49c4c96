"""grpc.health.v1 check over TLS, for the kubelet's exec probe.

The kubelet's native gRPC probe speaks plaintext only, so with TLS on the chart runs this
inside the container instead (grpcio is in the image):

    python grpc-health-probe.py 127.0.0.1:50051 --tls-dir=DIR --server-name=NAME [--client-cert]

DIR holds tls.crt and tls.key (and ca.crt, trusted when present; otherwise the certificate
is its own CA). NAME is a name the certificate covers. --client-cert presents tls.crt as
the client certificate, for mutual TLS. Exit 0 when the gateway reports SERVING, else 1.
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--tls-dir", required=True)
    parser.add_argument("--server-name", required=True)
    parser.add_argument("--client-cert", action="store_true")
    parser.add_argument("--service", default="")
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args()

    def read(name: str) -> bytes | None:
        path = os.path.join(args.tls_dir, name)
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return f.read() or None

    roots = read("ca.crt") or read("tls.crt")
    key, chain = (read("tls.key"), read("tls.crt")) if args.client_cert else (None, None)
    credentials = grpc.ssl_channel_credentials(roots, key, chain)
    options = [("grpc.ssl_target_name_override", args.server_name)]
    try:
        with grpc.secure_channel(args.target, credentials, options=options) as channel:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
    except grpc.RpcError as exc:
        print(f"health check failed: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    print(status)
    return 0 if response.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
