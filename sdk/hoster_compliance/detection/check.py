"""Checking content against known hashes (PROTOCOL 11.1): the local lists first, then the
service. ``check_file``, ``check_bytes`` and ``check_hash`` are for an upload pipeline (before the
content goes public); the scanner uses ``check_digests``. Every check fails closed: a list that
cannot be read or a service that does not answer ``true``/``false`` raises ``HashCheckError``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from io import RawIOBase

from .client import SERVICE_ALGORITHMS, HashCheckClient, HashCheckError
from .hashlist import ALGORITHMS, HashList

READ_BYTES = 1 << 20
#: The ``note`` of an item the service matched.
SERVICE_NOTE = "the hash service"


@dataclass(frozen=True)
class Digests:
    """MD5, SHA-1 and SHA-256 of one content, computed in one read."""

    md5: bytes
    sha1: bytes
    sha256: bytes

    @classmethod
    def of_bytes(cls, data: bytes | bytearray | memoryview) -> Digests:
        return cls(hashlib.md5(data, usedforsecurity=False).digest(),
                   hashlib.sha1(data, usedforsecurity=False).digest(),
                   hashlib.sha256(data).digest())

    @classmethod
    def of_file(cls, path: str | os.PathLike[str], buffer: bytearray | None = None) -> Digests:
        """Read the file once; OSError when it cannot be read."""
        with open(path, "rb", buffering=0) as fh:
            return cls.of_stream(fh, buffer)

    @classmethod
    def of_stream(cls, stream: RawIOBase, buffer: bytearray | None = None) -> Digests:
        """Read ``stream`` to its end once (``readinto`` a reused buffer)."""
        md5 = hashlib.md5(usedforsecurity=False)
        sha1 = hashlib.sha1(usedforsecurity=False)
        sha256 = hashlib.sha256()
        buf = buffer if buffer is not None else bytearray(READ_BYTES)
        view = memoryview(buf)
        while n := stream.readinto(buf):
            chunk = view[:n]
            md5.update(chunk)
            sha1.update(chunk)
            sha256.update(chunk)
        return cls(md5.digest(), sha1.digest(), sha256.digest())

    def items(self) -> list[tuple[str, bytes]]:
        return [("md5", self.md5), ("sha1", self.sha1), ("sha256", self.sha256)]


@dataclass(frozen=True)
class Match:
    """A known hash: which algorithm and value matched and where (``source``: a list's name, or
    ``SERVICE_NOTE``)."""

    algorithm: str
    value: str
    source: str

    @property
    def content_hash(self) -> dict[str, str]:
        """As an item's ``content_hash`` (PROTOCOL 2.1)."""
        return {"algorithm": self.algorithm, "value": self.value}


class HashChecker:
    """The configured lists and service, checked in that order."""

    def __init__(
        self, lists: Sequence[HashList] = (), service: HashCheckClient | None = None
    ) -> None:
        self.lists = tuple(lists)
        self.service = service

    def check_digests(self, digests: Digests) -> Match | None:
        """The first match among the lists (any algorithm), then the service (MD5, then
        SHA-1); None when nothing knows the content."""
        for hash_list in self.lists:
            for algorithm, digest in digests.items():
                if digest in hash_list:
                    return Match(algorithm, digest.hex(), hash_list.name)
        if self.service is not None:
            for algorithm, digest in digests.items():
                if algorithm in SERVICE_ALGORITHMS and self.service.is_known(algorithm,
                                                                               digest.hex()):
                    return Match(algorithm, digest.hex(), SERVICE_NOTE)
        return None

    def check_file(self, path: str | os.PathLike[str]) -> Match | None:
        """Check a file (one read); OSError when it cannot be read, HashCheckError when the
        service cannot say."""
        return self.check_digests(Digests.of_file(path))

    def check_bytes(self, data: bytes | bytearray | memoryview) -> Match | None:
        """Check content held in memory."""
        return self.check_digests(Digests.of_bytes(data))

    def check_hash(self, value: str, algorithm: str | None = None) -> Match | None:
        """Check one hex hash; ``algorithm`` defaults to the one its length says (32: MD5,
        40: SHA-1, 64: SHA-256). ValueError when it is not one."""
        text = value.strip().lower()
        try:
            digest = bytes.fromhex(text)
        except ValueError:
            raise ValueError("not a hexadecimal hash") from None
        named = ALGORITHMS.get(len(digest))
        if named is None or (algorithm is not None and algorithm != named):
            raise ValueError("not a hex MD5 (32 digits), SHA-1 (40) or SHA-256 (64)")
        for hash_list in self.lists:
            if digest in hash_list:
                return Match(named, text, hash_list.name)
        if self.service is not None and named in SERVICE_ALGORITHMS:
            if self.service.is_known(named, text):
                return Match(named, text, SERVICE_NOTE)
        return None

    def close(self) -> None:
        if self.service is not None:
            self.service.close()


__all__ = ["Digests", "HashCheckError", "HashChecker", "Match"]
