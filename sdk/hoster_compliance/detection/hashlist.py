"""Local lists of known hashes (PROTOCOL 11.1): one hex MD5, SHA-1 or SHA-256 a line, ``#``
comments, held compactly enough for lists of tens of millions of entries.

Each digest length gets one sorted ``bytearray`` of fixed-width binary records (no Python object
per entry: 10 million SHA-1 hashes take 200 MB) and a bucket index over the leading bits of the
records, so a lookup reads one bucket of a few records. numpy sorts the records in place; lookups
are plain Python and need no numpy."""

from __future__ import annotations

import binascii
import os
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

#: Digest length in bytes -> algorithm name, for the lengths a list may hold.
ALGORITHMS: dict[int, str] = {16: "md5", 20: "sha1", 32: "sha256"}
_HEX_LENGTHS = {2 * size for size in ALGORITHMS}
_CHUNK_BYTES = 2 << 20


class HashListError(ValueError):
    """A list that cannot be read or has a line that is not a hash; ``where`` names the file and
    line. A check never runs on part of a list."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@dataclass
class _Table:
    """The sorted records of one digest length and the bucket index over them."""

    size: int
    records: bytearray
    shift: int
    index: array  # type: ignore[type-arg]  # array('I') of bucket starts, in records

    @classmethod
    def build(cls, size: int, records: bytearray) -> _Table:
        count = len(records) // size
        if count:
            np.frombuffer(records, dtype=f"S{size}").sort()  # in place: no second copy
        # About 4 records a bucket; 2**24 buckets at most (a 128 MiB index would be wasteful).
        bits = max(1, min(24, (max(count, 1) // 4).bit_length()))
        shift = 32 - bits
        if count:
            heads = np.ndarray((count,), dtype=">u4", buffer=records, strides=(size,))
            starts = np.searchsorted(heads >> np.uint32(shift),
                                     np.arange(2**bits + 1, dtype=np.uint32), side="left")
            starts[-1] = count
        else:
            starts = np.zeros(2**bits + 1, dtype=np.uint64)
        index = array("I" if count < 2**32 else "Q")
        index.frombytes(starts.astype(np.uint32 if index.typecode == "I" else np.uint64)
                        .tobytes())
        return cls(size, records, shift, index)

    def __len__(self) -> int:
        return len(self.records) // self.size

    def __contains__(self, digest: bytes) -> bool:
        bucket = int.from_bytes(digest[:4], "big") >> self.shift
        size = self.size
        start = self.index[bucket] * size
        end = self.index[bucket + 1] * size
        records = self.records
        found = records.find(digest, start, end)
        while found != -1:
            if (found - start) % size == 0:
                return True
            found = records.find(digest, found + 1, end)  # straddled two records
        return False


class HashList:
    """A set of known digests (binary) read from one or more hex lines; ``name`` says where it
    came from (the file, for the note of a match)."""

    def __init__(self, name: str, tables: dict[int, bytearray]) -> None:
        self.name = name
        self._tables = {size: _Table.build(size, records) for size, records in tables.items()}

    @classmethod
    def load(cls, path: str | os.PathLike[str], name: str | None = None) -> HashList:
        """Read the list at ``path``; raises ``HashListError`` naming the file and line."""
        label = os.fsdecode(path) if name is None else name
        try:
            with open(path, "rb") as fh:
                tables = _parse(_chunks(fh), label)
        except OSError as exc:
            raise HashListError(label, f"cannot be read ({exc.strerror or type(exc).__name__})"
                                ) from None
        return cls(label, tables)

    @classmethod
    def from_lines(cls, lines: Iterable[str], name: str = "<memory>") -> HashList:
        """A list from hex lines given in memory (tests, small lists in code)."""
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        return cls(name, _parse(iter([text.encode("utf-8")]), name))

    def __contains__(self, digest: object) -> bool:
        if type(digest) is not bytes:
            if not isinstance(digest, bytes | bytearray | memoryview):
                return False
            digest = bytes(digest)
        table = self._tables.get(len(digest))
        return table is not None and digest in table

    def __len__(self) -> int:
        return sum(len(t) for t in self._tables.values())

    def counts(self) -> dict[str, int]:
        """Entries by algorithm (duplicates included)."""
        return {ALGORITHMS[size]: len(t) for size, t in sorted(self._tables.items())}

    @property
    def nbytes(self) -> int:
        """Bytes held for the records and the index."""
        return sum(len(t.records) + t.index.itemsize * len(t.index) for t in self._tables.values())


def _chunks(fh: object) -> Iterable[bytes]:
    read = fh.read  # type: ignore[attr-defined]
    while True:
        chunk: bytes = read(_CHUNK_BYTES)
        if not chunk:
            return
        yield chunk


def _parse(chunks: Iterable[bytes], label: str) -> dict[int, bytearray]:
    """Binary records by digest size. Whole chunks of plain lines of one length go through C
    (split, join, unhexlify); chunks with comments, blank or odd lines go line by line."""
    tables: dict[int, bytearray] = {}
    tail = b""
    line_number = 0
    for chunk in chunks:
        chunk = tail + chunk
        cut = chunk.rfind(b"\n") + 1
        tail = chunk[cut:]
        line_number = _parse_block(chunk[:cut], tables, label, line_number)
    if tail:
        _parse_block(tail + b"\n", tables, label, line_number)
    return tables


def _parse_block(block: bytes, tables: dict[int, bytearray], label: str, first: int) -> int:
    lines = block.count(b"\n")
    if b"#" not in block:
        tokens = block.split()
        if len(tokens) == lines:
            lengths = set(map(len, tokens))
            if len(lengths) == 1 and (length := lengths.pop()) in _HEX_LENGTHS:
                try:
                    tables.setdefault(length // 2, bytearray()).extend(
                        binascii.unhexlify(b"".join(tokens)))
                    return first + lines
                except binascii.Error:
                    pass  # the slow path names the bad line
    number = first
    for raw in block.split(b"\n")[:-1]:
        number += 1
        text = raw.split(b"#", 1)[0].strip()
        if not text:
            continue
        if len(text) not in _HEX_LENGTHS:
            raise HashListError(f"{label}:{number}",
                                "not a hex MD5, SHA-1 or SHA-256 (32, 40 or 64 hex digits)")
        try:
            digest = binascii.unhexlify(text)
        except binascii.Error:
            raise HashListError(f"{label}:{number}", "not hexadecimal") from None
        tables.setdefault(len(digest), bytearray()).extend(digest)
    return number
