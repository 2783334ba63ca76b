"""The generated stubs in junjo_common/proto_gen must match proto/*.proto."""

import subprocess
import sys

from tests.support.procs import ROOT


def test_generated_stubs_are_fresh() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stubs_import_inside_shared_package() -> None:
    from junjo_common.proto_gen import auth_pb2, auth_pb2_grpc, ingestion_pb2_grpc

    assert auth_pb2.ValidateApiKeyRequest(api_key="k").api_key == "k"
    assert hasattr(auth_pb2_grpc, "InternalAuthServiceServicer")
    assert hasattr(ingestion_pb2_grpc, "InternalIngestionServiceStub")
