"""The REST span shape's timestamps: formatted per second (cached) and per microsecond, they must
read exactly as a datetime's ISO text, for any int64 nanosecond time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from backend.spans.shape import iso_from_ns

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _reference(ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="microseconds")


@given(st.integers(min_value=-(2**62), max_value=2**63 - 1).filter(bool))
def test_iso_from_ns_reads_as_datetime_isoformat(ns: int) -> None:
    assert iso_from_ns(ns) == _reference(ns)


def test_iso_from_ns_edges() -> None:
    assert iso_from_ns(0) == iso_from_ns(None) == ""
    assert iso_from_ns(1) == "1970-01-01T00:00:00.000000+00:00"
    assert iso_from_ns(-1) == "1969-12-31T23:59:59.999999+00:00"
    assert iso_from_ns(1_790_000_000_123_456_789) == "2026-09-21T14:13:20.123456+00:00"
    assert iso_from_ns(2**63 - 1) == _reference(2**63 - 1)
