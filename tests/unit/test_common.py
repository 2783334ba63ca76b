"""Shared package: internal token derivation and the v1 span format."""

import pyarrow as pa
import pytest

from junjo_common.internal_token import METADATA_KEY, resolve_internal_token, token_matches
from junjo_common.spanformat import CURRENT, VERSIONS, v1, v2


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


def test_v2_stores_the_resource_columns_once_and_is_current() -> None:
    assert CURRENT is v2 and set(VERSIONS) == {1, 2}
    assert v2.COLUMNS == v1.COLUMNS == tuple(v2.BATCH_SCHEMA.names)
    for field in v2.SCHEMA:
        batch_field = v2.BATCH_SCHEMA.field(field.name)
        if field.name in ("service_name", "resource_attributes"):
            assert field.type == pa.dictionary(pa.int32(), pa.string()) and not field.nullable
            assert batch_field.type == pa.run_end_encoded(pa.int32(), pa.string())
        else:
            assert field.equals(v1.SCHEMA.field(field.name)) and batch_field.equals(field)
    column = v2.repeated("svc", 3)
    assert column.to_pylist() == ["svc"] * 3 and len(column.values) == 1


def test_v2_batches_round_trip_through_ipc_and_v1_batches_upgrade() -> None:
    def batch(service: str) -> pa.RecordBatch:
        values = {
            f.name: v2.repeated(service, 2)
            if f.name in v2.DICTIONARY_COLUMNS
            else pa.array(
                [None, None] if f.nullable else ["", ""] if pa.types.is_string(f.type) else [0, 0], f.type
            )
            for f in v2.BATCH_SCHEMA
        }
        return pa.RecordBatch.from_arrays([values[n] for n in v2.COLUMNS], schema=v2.BATCH_SCHEMA)

    message = pa.ipc.read_message(batch("a").serialize())
    assert pa.ipc.read_record_batch(message, v2.BATCH_SCHEMA)["service_name"].to_pylist() == ["a", "a"]
    old = pa.RecordBatch.from_arrays(
        [pa.array(["c", "c"]) if n in v2.DICTIONARY_COLUMNS else batch("c").column(n) for n in v2.COLUMNS],
        schema=v1.SCHEMA,
    )
    upgraded = v2.upgrade(old)
    assert upgraded.schema.equals(v2.BATCH_SCHEMA) and upgraded["service_name"].to_pylist() == ["c", "c"]
