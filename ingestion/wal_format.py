"""A WAL segment on disk: an Arrow IPC stream whose record batches carry a checksum of their bytes.

A segment is a valid Arrow IPC stream (any Arrow reader opens it): the schema message, record
batch messages, and the end-of-stream marker once sealed. Each message is the one Arrow writes
except that its metadata is 8 bytes longer: after the flatbuffer come the tag `JCRC` and the
CRC32C (little-endian) of the whole message (marker, length, metadata, tag, body) without those
last 4 bytes. Arrow reads the metadata through the flatbuffer's own offsets and skips the extra
bytes, as it skips padding. CRC32C because the `crc32c` package computes it with the CPU's CRC
instruction, several times faster than zlib's CRC-32 on the ingest path.

`scan` reads a segment message by message, checks each checksum and never ends silently:
- bytes that are not a valid message (a damaged header, a checksum that does not match, zeros where
  a message should start, anything after the end-of-stream marker) are a `Damage` with its offset,
  and the scan carries on at the next message whose checksum holds, so every intact batch after a
  damaged one is still read;
- a message cut short by the end of the data is a torn tail: a write that never completed, so it was
  never acknowledged.
A segment whose schema message has no tag was written before checksums: its batches are kept after
a full Arrow validation instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pyarrow as pa
from crc32c import crc32c

from junjo_common.spanformat import CURRENT as span_format

MARKER = b"\xff\xff\xff\xff"
EOS = MARKER + b"\x00\x00\x00\x00"
TAG = b"JCRC"
_TRAILER = len(TAG) + 4
_PREFIX = 8  # marker + int32 metadata length


def _checksummed(message: pa.Buffer) -> list[bytes | pa.Buffer]:
    """An encapsulated IPC message with the tag and checksum appended to its metadata:
    [prefix + metadata + trailer, body] (the body is not copied)."""
    view = memoryview(message)
    (meta_len,) = struct.unpack_from("<i", view, 4)
    head = bytearray(_PREFIX + meta_len + _TRAILER)
    struct.pack_into("<4si", head, 0, MARKER, meta_len + _TRAILER)
    head[_PREFIX : _PREFIX + meta_len] = view[_PREFIX : _PREFIX + meta_len]
    head[-_TRAILER:-4] = TAG
    body = message.slice(_PREFIX + meta_len)
    struct.pack_into("<I", head, len(head) - 4, crc32c(body, crc32c(memoryview(head)[:-4])))
    return [bytes(head), body]


def encode_batch(batch: pa.RecordBatch) -> list[bytes | pa.Buffer]:
    """The batch as a checksummed IPC message, in parts to write one after the other."""
    return _checksummed(batch.serialize())


# A segment's first message: the span schema, checksummed like the batches.
SCHEMA_MESSAGE = b"".join(bytes(part) for part in _checksummed(span_format.BATCH_SCHEMA.serialize()))


def _segment_schema(message: pa.ipc.Message) -> pa.Schema:
    try:
        schema = pa.ipc.read_schema(message)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _Unreadable(f"unreadable schema message: {exc}") from None
    if schema.names != span_format.BATCH_SCHEMA.names:
        raise _Unreadable("the schema message is not the span schema")
    return schema


@dataclass(frozen=True)
class Damage:
    """Bytes of a segment that hold no readable batch."""

    offset: int
    length: int
    reason: str


@dataclass
class Scan:
    batches: list[pa.RecordBatch] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    torn_tail: int = 0  # bytes of a last message cut short
    ended: bool = False  # the end-of-stream marker closes the data


class _Unreadable(Exception):
    def __init__(self, reason: str, cut_short: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.cut_short = reason, cut_short


def scan(data: pa.Buffer | bytes, verify: bool = True) -> Scan:
    """Every readable batch of a segment's bytes, and where and why the rest is not readable.

    `verify=False` skips the checksums (structure is still checked): for a hot snapshot, which
    reads the same unflushed segments every second; flushes and recovery verify.
    """
    return _Scanner(pa.py_buffer(data) if isinstance(data, bytes) else data, verify).run()


class _Scanner:
    def __init__(self, buf: pa.Buffer, verify: bool) -> None:
        self.buf, self.view, self.size, self.verify = buf, memoryview(buf).cast("B"), buf.size, verify
        self._bytes: bytes | None = None  # for searching, copied on the first damage only
        self.checksummed = True  # every batch must carry a checksum (unless the schema has none)
        # The schema in the segment's own schema message: an older version's segment (span format
        # v1) is read as it was written; readers upgrade its batches.
        self.schema = span_format.BATCH_SCHEMA
        self.result = Scan()

    def run(self) -> Scan:
        pos = 0
        try:
            message, pos, self.checksummed = self._message_at(0, self.verify)
            if message.type != "schema":
                raise _Unreadable(f"the first message is a {message.type}, not the schema")
            self.schema = _segment_schema(message)
        except _Unreadable as exc:
            if exc.cut_short and self._next_message(1) is None:
                self.result.torn_tail = self.size
                return self.result
            pos = self._resync(0, exc.reason)
        while pos < self.size:
            if self.view[pos : pos + _PREFIX] == EOS:
                if pos + _PREFIX == self.size:
                    self.result.ended = True
                    break
                pos = self._resync(pos, "data after the end-of-stream marker", skip=_PREFIX)
                continue
            try:
                message, end, tagged = self._message_at(pos, self.verify)
                if message.type != "record batch":
                    raise _Unreadable(f"a {message.type} message where a record batch belongs")
                self.result.batches.append(self._batch(message, tagged))
                pos = end
            except _Unreadable as exc:
                if exc.cut_short and self._next_message(pos + 1) is None:
                    self.result.torn_tail = self.size - pos
                    break
                pos = self._resync(pos, exc.reason)
        return self.result

    def _message_at(self, pos: int, verify: bool) -> tuple[pa.ipc.Message, int, bool]:
        """The message at `pos`, where it ends, and whether it is tagged; checks the checksum of a
        tagged one if `verify`."""
        view = self.view
        if self.size - pos < _PREFIX:
            raise _Unreadable("a message prefix cut short", cut_short=True)
        if view[pos : pos + 4] != MARKER:
            raise _Unreadable("no message marker")
        (meta_len,) = struct.unpack_from("<i", view, pos + 4)
        if meta_len <= 0 or meta_len % 8:
            raise _Unreadable(f"an invalid metadata length {meta_len}")
        meta_end = pos + _PREFIX + meta_len
        if meta_end > self.size:
            raise _Unreadable("message metadata cut short", cut_short=True)
        try:
            message = pa.ipc.read_message(self.buf.slice(pos))
        except (pa.ArrowInvalid, OSError) as exc:
            cut_short = "Expected to be able to read" in str(exc)
            raise _Unreadable(f"unreadable message: {exc}", cut_short=cut_short) from None
        end = meta_end + (message.body.size if message.body is not None else 0)
        tagged = meta_len >= _TRAILER and view[meta_end - _TRAILER : meta_end - 4] == TAG
        if verify and tagged:
            (stored,) = struct.unpack_from("<I", view, meta_end - 4)
            if crc32c(view[meta_end:end], crc32c(view[pos : meta_end - 4])) != stored:
                raise _Unreadable("checksum mismatch")
        return message, end, tagged

    def _batch(self, message: pa.ipc.Message, tagged: bool) -> pa.RecordBatch:
        try:
            if self.checksummed and not tagged:
                raise _Unreadable("a record batch without its checksum")
            batch = pa.ipc.read_record_batch(message, self.schema)
            if self.verify and not tagged:
                batch.validate(full=True)  # no checksum vouches for it (written before checksums)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
            raise _Unreadable(f"unreadable record batch: {exc}") from None
        return batch

    def _next_message(self, start: int) -> int | None:
        """The offset of the first tagged record batch at or after `start` whose checksum holds, or
        of an end-of-stream marker that ends the data."""
        if self._bytes is None:
            self._bytes = self.view.tobytes()
        data = self._bytes
        at = data.find(MARKER, start)
        while at >= 0:
            if at + _PREFIX == self.size and data[at:] == EOS:
                return at
            try:
                message, _, tagged = self._message_at(at, verify=True)
                if tagged and message.type == "record batch":
                    return at
            except _Unreadable:
                pass
            at = data.find(MARKER, at + 1)
        return None

    def _resync(self, pos: int, reason: str, skip: int = 1) -> int:
        """Records the damage starting at `pos`; returns where reading resumes (the end if nowhere)."""
        resume = self._next_message(pos + skip)
        end = self.size if resume is None else resume
        self.result.damage.append(Damage(pos, end - pos, reason))
        return end
