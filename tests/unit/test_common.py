"""Shared package: internal token derivation and the v1 span format."""

import pyarrow as pa
import pytest

from junjo_common.internal_token import METADATA_KEY, resolve_internal_token, token_matches
from junjo_common.spanformat import CURRENT, v1


def test_explicit_token_wins_and_derivation_is_stable() -> None:
    assert resolve_internal_token("explicit", "secret") == "explicit"
    derived = resolve_internal_token(None, "secret")
    assert derived == resolve_internal_token("", "secret")
    assert derived != resolve_internal_token(None, "other-secret")
    assert "secret" not in derived and len(derived) == 64


def test_missing_token_inputs_raise() -> None:
    with pytest.raises(ValueError, match="JUNJO_INTERNAL_GRPC_TOKEN"):
        resolve_internal_token(None, None)


def test_token_matches_only_exact_value() -> None:
    assert token_matches("abc", ((METADATA_KEY, "abc"),))
    assert token_matches("abc", ((METADATA_KEY, b"abc"),))
    assert not token_matches("abc", ((METADATA_KEY, "abd"),))
    assert not token_matches("abc", None)
    assert not token_matches("abc", (("other", "abc"),))


def test_v1_schema_has_the_21_reference_columns() -> None:
    assert CURRENT is v1
    assert len(v1.COLUMNS) == 21
    assert v1.SCHEMA.field("start_time").type == pa.timestamp("ns", tz="UTC")
    assert v1.SCHEMA.field("parent_span_id").nullable


def test_v1_json_rules() -> None:
    out = v1.dumps_json({"b": 1, "a": float("nan"), "c": "日本", "d": 1e-7, "e": {"z": 1, "y": 2}})
    assert out == '{"a":null,"b":1,"c":"日本","d":1e-7,"e":{"y":2,"z":1}}'.encode()


def test_log_lines_redact_secret_fields_but_keep_ids(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import structlog

    from junjo_common.logging_setup import configure_logging

    configure_logging("info", "json", service="unit")
    structlog.get_logger("unit").info(
        "created", api_key="k" * 64, password="hunter22", session_token="t", api_key_id="abc123"
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["api_key"] == line["password"] == line["session_token"] == "[redacted]"
    assert line["api_key_id"] == "abc123" and line["service"] == "unit"
    assert "k" * 64 not in json.dumps(line) and "hunter22" not in json.dumps(line)
