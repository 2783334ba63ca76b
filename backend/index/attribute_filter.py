"""Per-file membership filters over attribute (key, value) pairs, so that a search for
`key = value` on any attribute skips the files that cannot hold the pair.

The filter is a split-block Bloom filter (the layout of Parquet's bloom filters): blocks of eight
32-bit words; a pair sets one bit in each word of one block. Its 64-bit hash (xxh3) gives the
eight bit numbers (five bits each, the low 40) and the block (the bits above, modulo the block
count). A lookup needs that one block only, so the index stores a file's filter in pages of
PAGE_BLOCKS blocks and a search reads one page per file. The block count is a power of two, so a
filter can be folded in half by OR-ing its halves: it is
built at the largest size the file's attribute bytes could need and folded while its fill keeps
the false-positive rate under FALSE_POSITIVE_RATE. The memory it takes is bounded by MAX_BLOCKS,
whatever the number of distinct pairs; a file with so many that even the largest filter would
answer "maybe" too often gets none and is always read.

What is recorded matches what a search's regular expression finds (backend.search.compile): every
string, number or boolean value of every key, at any depth of the attributes JSON, by its canonical
text (backend.search.attributes.canonical). Values longer than MAX_VALUE_CHARS are left out, and
a search for a longer value does not consult the filter. A span whose attributes are not a JSON
object leaves its file without a filter. False positives only cost a file read: DataFusion still
checks every row of the files that are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import xxhash

from backend.search.attributes import INDEXED_ATTRIBUTES, MAX_VALUE_CHARS, MAX_VALUES_PER_FILE, canonical

WORDS_PER_BLOCK = 8
BLOCK_BYTES = WORDS_PER_BLOCK * 4
PAGE_BLOCKS = 32
"""Blocks per stored page (1 KiB): what one lookup reads of a file's filter."""
MAX_BLOCKS = 16_384
"""The largest filter, 512 KiB: holds about 280,000 distinct pairs at FALSE_POSITIVE_RATE."""
FALSE_POSITIVE_RATE = 0.001
_MAX_FILL = FALSE_POSITIVE_RATE ** (1 / WORDS_PER_BLOCK)
"""Fraction of set bits at which a lookup (eight bits, all set) passes at FALSE_POSITIVE_RATE."""
_USELESS_FILL = 0.5 ** (1 / WORDS_PER_BLOCK)
"""A fuller filter says "maybe" to half of all lookups: the file is stored without one."""
_HASHES_KEPT = 65_536
_INDEXED = frozenset(INDEXED_ATTRIBUTES)
_EXACT = 2**53
_MIN_PAIR_BYTES = 5  # `"":0,` : the fewest bytes of attributes JSON one pair takes
_PAIRS_PER_BLOCK = 17  # fill 1 - (31/32)^17 ≈ _MAX_FILL: what sizes the first, unfolded filter
_BLOCK_SHIFT = 40
# The 256-bit block mask of the low 40 hash bits, two words (10 bits) per table.
_MASKS = tuple(
    tuple(1 << (64 * t + (j & 31)) | 1 << (64 * t + 32 + (j >> 5)) for j in range(1024)) for t in range(4)
)


def pair_hash(key: str, text: str) -> int:
    """The 64-bit hash a filter records a pair under (stable across processes and builds)."""
    return xxhash.xxh3_64_intdigest((key + "\x00" + text).encode("utf-8", "surrogatepass"))


def block_key(pair: int) -> int:
    """The hash bits that choose the block: modulo a filter's block count, its block."""
    return pair >> _BLOCK_SHIFT


def block_mask(pair: int) -> int:
    """The bits `pair` sets in its block, as one little-endian 256-bit integer."""
    m0, m1, m2, m3 = _MASKS
    return m0[pair & 1023] | m1[(pair >> 10) & 1023] | m2[(pair >> 20) & 1023] | m3[(pair >> 30) & 1023]


def page_may_hold(page: bytes, block_in_page: int, pair: int) -> bool:
    """Whether block `block_in_page` of a stored page has every bit of `pair` set."""
    offset = block_in_page * BLOCK_BYTES
    mask = block_mask(pair)
    return int.from_bytes(page[offset : offset + BLOCK_BYTES], "little") & mask == mask


@dataclass(frozen=True)
class PairFilter:
    """A built filter: its block count (a power of two) and its bytes in PAGE_BLOCKS-block pages."""

    blocks: int
    pages: list[bytes]

    def may_hold(self, key: str, text: str) -> bool:
        pair = pair_hash(key, text)
        block = block_key(pair) & (self.blocks - 1)
        return page_may_hold(self.pages[block // PAGE_BLOCKS], block % PAGE_BLOCKS, pair)


class PairCollector:
    """Builds one file's filter from its attributes column, batch by batch, and records the values
    of the indexed attributes (INDEXED_ATTRIBUTES) on the way: `values`, or `overflow` for a key
    with more than MAX_VALUES_PER_FILE values or one longer than MAX_VALUE_CHARS in the file.

    The hashes of the distinct pairs are kept (up to _HASHES_KEPT) until the file is read, so the
    filter is made at the size its pair count needs. A file with more distinct pairs gets the
    largest size its attribute bytes could need (at most MAX_BLOCKS), takes every further pair
    directly, and is folded down at the end."""

    def __init__(self, attribute_bytes: int) -> None:
        """`attribute_bytes`: the file's decoded attributes text (from its Parquet metadata), which
        bounds how many pairs it can hold."""
        self.most_pairs = max(1, attribute_bytes // _MIN_PAIR_BYTES)
        self.hashes: set[int] | None = set()  # None once the pairs go straight into `blocks_bits`
        self.blocks_bits: list[int] = []  # each block's eight little-endian words as one integer
        self.usable = True  # False once a span's attributes cannot be read as a JSON object
        self.values: dict[str, set[str]] = {}  # indexed attribute -> its values' canonical texts
        self.overflow: set[str] = set()  # indexed attributes the file is always read for

    def add_batch(self, attributes: pa.Array) -> None:
        """Records the pairs of one batch's attributes column."""
        if not self.usable:
            return
        pairs: set[tuple[str, Any]] = set()
        for raw in json_texts(attributes):
            if raw is None:
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                value = None
            if type(value) is not dict:
                self.usable = False
                return
            try:
                pairs.update(value.items())  # all values scalar: done in C
            except TypeError:  # a list or map value: walked for the pairs inside it too
                _walk(value, pairs)
        hashes = []
        for key, value in pairs:
            kind = type(value)
            other = None  # a second spelling of the same value
            if kind is str:
                if len(value) > MAX_VALUE_CHARS:
                    if key in _INDEXED:
                        self._overflow(key)
                    continue
                text = value
            elif kind is int and -_EXACT < value < _EXACT:
                text = str(value)  # canonical(value), without its float round trip
                if value == 1 or value == 0:
                    other = "true" if value else "false"
            elif kind is int or kind is float or kind is bool:
                text = canonical(value)
                # A set holds True and 1 (False and 0) as one: record both spellings.
                if value == 1 or value == 0:
                    other = canonical(int(value)) if kind is bool else canonical(bool(value))
            else:
                continue  # null
            hashes.append(pair_hash(key, text))
            if other is not None:
                hashes.append(pair_hash(key, other))
            if key in _INDEXED and key not in self.overflow:
                values = self.values.setdefault(key, set())
                values.add(text)
                if other is not None:
                    values.add(other)
                if len(values) > MAX_VALUES_PER_FILE:
                    self._overflow(key)
        if self.hashes is not None:
            self.hashes.update(hashes)
            if len(self.hashes) <= _HASHES_KEPT:
                return
            hashes, self.hashes = list(self.hashes), None
            self.blocks_bits = [0] * _blocks_for(self.most_pairs)
        self._insert(hashes)

    def _overflow(self, key: str) -> None:
        self.overflow.add(key)
        self.values.pop(key, None)

    def _insert(self, hashes: list[int]) -> None:
        bits, last = self.blocks_bits, len(self.blocks_bits) - 1
        for pair in hashes:
            bits[(pair >> _BLOCK_SHIFT) & last] |= block_mask(pair)

    def finish(self) -> PairFilter | None:
        """The smallest filter within FALSE_POSITIVE_RATE; None when the file must always be read
        (a span without a JSON object, or too many distinct pairs)."""
        if not self.usable:
            self.values, self.overflow = {}, set(INDEXED_ATTRIBUTES)
            return None
        if self.hashes is not None:
            self.blocks_bits = [0] * _blocks_for(len(self.hashes))
            self._insert(list(self.hashes))
        data = b"".join(bits.to_bytes(BLOCK_BYTES, "little") for bits in self.blocks_bits)
        blocks = len(self.blocks_bits)
        if _fill(data) > _USELESS_FILL:
            return None
        while blocks > 1:
            half = len(data) // 2
            folded = (int.from_bytes(data[:half], "little") | int.from_bytes(data[half:], "little")).to_bytes(
                half, "little"
            )
            if _fill(folded) > _MAX_FILL:
                break
            data, blocks = folded, blocks // 2
        page = PAGE_BLOCKS * BLOCK_BYTES
        return PairFilter(blocks, [data[i : i + page] for i in range(0, len(data), page)])


def _blocks_for(pairs: int) -> int:
    """The power-of-two block count that holds `pairs` at FALSE_POSITIVE_RATE (at most MAX_BLOCKS)."""
    blocks = 1
    while blocks < MAX_BLOCKS and blocks * _PAIRS_PER_BLOCK < pairs:
        blocks *= 2
    return blocks


def _fill(data: bytes) -> float:
    return int.from_bytes(data, "little").bit_count() / (len(data) * 8)


def _walk(value: Any, pairs: set[tuple[str, Any]]) -> None:
    """Adds the scalar (key, value) pairs of a map, and of every map nested in it or in its lists.
    Iterative, so no nesting can exhaust the stack."""
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            for key, item in node.items():
                if type(item) is dict or type(item) is list:
                    stack.append(item)
                else:
                    pairs.add((key, item))
        else:
            stack.extend(item for item in node if type(item) is dict or type(item) is list)


def json_texts(column: pa.Array) -> Iterator[Any]:
    """Each row's text, sliced from Arrow's buffers without a copy (None for a null row)."""
    if column.type != pa.string():  # not a span format's type: read as text, however slowly
        yield from column.to_pylist()
        return
    offsets = memoryview(column.buffers()[1]).cast("i")
    data = memoryview(column.buffers()[2] or b"")
    first = column.offset
    valid = column.is_valid().to_pylist() if column.null_count else None
    for row in range(len(column)):
        if valid is None or valid[row]:
            yield data[offsets[first + row] : offsets[first + row + 1]]
        else:
            yield None
