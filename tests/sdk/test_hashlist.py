"""Hash lists: parsing (comments, blank lines, case, CRLF, mixed lengths), bad lines named by
file and line, lookups by digest length, large lists in chunks, the bucket index at its edges."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from hoster_compliance.detection import hashlist
from hoster_compliance.detection.hashlist import HashList, HashListError

MD5 = hashlib.md5(b"a").digest()
SHA1 = hashlib.sha1(b"a").digest()
SHA256 = hashlib.sha256(b"a").digest()


def test_lines_comments_case_and_lengths(tmp_path: Path) -> None:
    path = tmp_path / "known.txt"
    path.write_bytes(
        b"# known material\r\n\r\n" + MD5.hex().upper().encode() + b"  # from the hotline\r\n"
        + SHA1.hex().encode() + b"\n   " + SHA256.hex().encode())  # no final newline
    known = HashList.load(path)
    assert known.name == str(path)
    assert MD5 in known and SHA1 in known and SHA256 in known
    assert known.counts() == {"md5": 1, "sha1": 1, "sha256": 1}
    assert hashlib.sha1(b"b").digest() not in known
    assert MD5[:15] not in known and "not bytes" not in known
    # a SHA-1 whose first 16 bytes are the MD5 is not the MD5
    assert MD5 + b"\x00" * 4 not in known


@pytest.mark.parametrize(("text", "line", "problem"), [
    (b"abc\n", 1, "not a hex MD5, SHA-1 or SHA-256"),
    (b"# c\n" + b"g" * 40 + b"\n", 2, "not hexadecimal"),
    (b"\n".join([SHA1.hex().encode()] * 3) + b"\n" + SHA1.hex().encode() + b" x\n", 4,
     "not a hex"),
])
def test_a_bad_line_is_named(tmp_path: Path, text: bytes, line: int, problem: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(text)
    with pytest.raises(HashListError) as info:
        HashList.load(path)
    assert info.value.where == f"{path}:{line}"
    assert problem in info.value.problem


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HashListError, match="cannot be read"):
        HashList.load(tmp_path / "nope.txt")


def test_empty_list_knows_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("# nothing yet\n")
    known = HashList.load(path)
    assert len(known) == 0 and SHA1 not in known


def test_many_entries_over_several_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setattr(hashlist, "_CHUNK_BYTES", 4096)  # lines cut across chunk borders
    digests = [hashlib.sha1(str(i).encode()).digest() for i in range(20_000)]
    path = tmp_path / "big.txt"
    path.write_text("".join(d.hex() + "\n" for d in digests))
    known = HashList.load(path)
    assert len(known) == 20_000
    assert all(d in known for d in digests)
    misses = [hashlib.sha1(f"x{i}".encode()).digest() for i in range(20_000)]
    assert not any(d in known for d in misses)


def test_edges_of_the_index() -> None:
    # digests at the lowest and highest bucket, and records whose bytes straddle a neighbour
    low, high = b"\x00" * 20, b"\xff" * 20
    tricky = bytes(range(1, 21))
    known = HashList.from_lines([low.hex(), high.hex(), tricky.hex()])
    assert low in known and high in known and tricky in known
    straddle = tricky[10:] + high[:10]  # the tail of one record and the head of the next
    assert straddle not in known
    assert bytes(19) + b"\x01" not in known


def test_random_lists_agree_with_a_set() -> None:
    digests = {os.urandom(16) for _ in range(3000)}
    known = HashList.from_lines(d.hex() for d in digests)
    assert all(d in known for d in digests)
    assert sum(os.urandom(16) in known for _ in range(3000)) == 0
    assert known.nbytes < 3000 * 16 * 2 + 100_000
