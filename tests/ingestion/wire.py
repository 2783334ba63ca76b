"""Hand-built protobuf wire bytes for requests the generated classes refuse to build.

Invalid UTF-8, nesting past every limit and over-long varints can only be sent as raw bytes; these
helpers splice such spans and values into an otherwise ordinary ExportTraceServiceRequest.
"""

from __future__ import annotations

from opentelemetry.proto.common.v1 import common_pb2


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: its tag byte (number << 3 | 2), the length, the payload."""
    return bytes([tag]) + varint(len(payload)) + payload


def request(*spans: bytes, resource: bytes = b"") -> bytes:
    """One ResourceSpans (with `resource`, a serialized Resource) holding one ScopeSpans of `spans`."""
    scope = b"".join(field(0x12, span) for span in spans)
    return field(0x0A, (field(0x0A, resource) if resource else b"") + field(0x12, scope))


def with_attribute(span: bytes, key: bytes, any_value: bytes) -> bytes:
    """`span` with one more attribute whose serialized AnyValue is `any_value`."""
    return span + field(0x4A, field(0x0A, key) + field(0x12, any_value))


def nested_any_value(depth: int, kvlist: bool) -> bytes:
    """An AnyValue of `depth` nested arrays (or kvlists) around a string."""
    value = common_pb2.AnyValue(string_value="leaf").SerializeToString()
    for _ in range(depth):
        if kvlist:
            value = field(0x32, field(0x0A, field(0x0A, b"k") + field(0x12, value)))
        else:
            value = field(0x2A, field(0x0A, value))
    return value
