"""`python -m ingestion.healthcheck`: the container healthcheck for ingestion's internal gRPC port.

The seed's compose file probes `grpc_health_probe -addr=localhost:50052`; shipping a Go binary in a
Python image for that is needless, so the image carries this equivalent: one grpc.health.v1 Check of
the overall service ("") with a short deadline, then, where the server has it, of `cold_storage`
(the bucket of the cold tier, with JUNJO_OBJECT_STORE_URL). Exit 0 only when both answer SERVING
(ingestion reports SERVING once its WAL is recovered; `cold_storage` while the bucket answers); any
other status, an error or a timeout exits 1 with one line saying why. `--service` checks one
service only. Like every internal call it carries `x-junjo-internal-token`, resolved from the
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
# The bucket of the cold tier (with JUNJO_OBJECT_STORE_URL): NOT_SERVING while it does not answer.
COLD_STORAGE_SERVICE = "cold_storage"


def default_address(settings: Settings) -> str:
    return f"127.0.0.1:{settings.internal_grpc_port}"


def check(address: str, timeout: float, token: str, service: str = "") -> tuple[bool, str]:
    """One Check call; returns (serving, human-readable outcome)."""
    status = _status(address, timeout, token, service)
    if status in _FAILURES:
        return False, f"{address}: health check failed: {status}"
    return status == "SERVING", f"{address}: {status}"


def check_all(address: str, timeout: float, token: str) -> tuple[bool, str]:
    """The overall service, then `cold_storage` unless the server has no such service."""
    serving, outcome = check(address, timeout, token)
    if not serving:
        return serving, outcome
    cold = _status(address, timeout, token, COLD_STORAGE_SERVICE)
    if cold == "NOT_FOUND":  # the cold tier is a local directory
        return serving, outcome
    if cold in _FAILURES:
        return False, f"{outcome}; {COLD_STORAGE_SERVICE}: health check failed: {cold}"
    return cold == "SERVING", f"{outcome}; {COLD_STORAGE_SERVICE}: {cold}"


_FAILURES = {code.name for code in grpc.StatusCode if code is not grpc.StatusCode.OK}


def _status(address: str, timeout: float, token: str, service: str) -> str:
    """The service's serving status by name, or the call's failure code by name."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout, metadata=call_metadata(token)
            )
        except grpc.RpcError as exc:
            code = exc.code()
            return code.name if code is not None else "UNKNOWN"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


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
    parser.add_argument(
        "--service", default=None, help="the one service to check (default: overall, then cold_storage)"
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings()  # the service's own settings: same environment, same `.env`
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        return 1
    address = args.addr or default_address(settings)
    if args.service is None:
        serving, outcome = check_all(address, args.timeout, settings.internal_token)
    else:
        serving, outcome = check(address, args.timeout, settings.internal_token, args.service)
    print(outcome, file=sys.stdout if serving else sys.stderr)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
