"""`python -m ingestion.healthcheck`: the container healthcheck for ingestion's internal gRPC port.

The seed's compose file probes `grpc_health_probe -addr=localhost:50052`; shipping a Go binary in a
Python image for that is needless, so the image carries this equivalent: one grpc.health.v1 Check of
the overall service ("") with a short deadline. Exit 0 only when the answer is SERVING (ingestion
reports SERVING once its WAL is recovered); any other status, an error or a timeout exits 1 with
one line saying why. Like every internal call it carries `x-junjo-internal-token`, resolved from the
same settings the service reads (JUNJO_INTERNAL_GRPC_TOKEN, else JUNJO_SESSION_SECRET); with
invalid settings the service cannot be running, and the probe exits 1 naming the variable.
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import ValidationError

from ingestion.settings import Settings
from junjo_common.internal_token import call_metadata
from junjo_common.settings import describe_error

DEFAULT_TIMEOUT_SECS = 2.0


def default_address(settings: Settings) -> str:
    return f"127.0.0.1:{settings.internal_grpc_port}"


def check(address: str, timeout: float, token: str, service: str = "") -> tuple[bool, str]:
    """One Check call; returns (serving, human-readable outcome)."""
    metadata = call_metadata(token)
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout, metadata=metadata
            )
        except grpc.RpcError as exc:
            code = exc.code()
            name = code.name if code is not None else "UNKNOWN"
            return False, f"{address}: health check failed: {name}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return reply.status == health_pb2.HealthCheckResponse.SERVING, f"{address}: {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.healthcheck", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "-addr",
        "--addr",
        default=None,
        help="host:port to probe (default 127.0.0.1:$INTERNAL_GRPC_PORT, else 50052)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECS, help="deadline in seconds")
    parser.add_argument("--service", default="", help="service name to check (default: overall server)")
    args = parser.parse_args(argv)
    try:
        settings = Settings()  # the service's own settings: same environment, same `.env`
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        return 1
    address = args.addr or default_address(settings)
    serving, outcome = check(address, args.timeout, settings.internal_token, args.service)
    print(outcome, file=sys.stdout if serving else sys.stderr)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
