"""Scanning what is stored (PROTOCOL 11.2): walk a web root without following a link out of it,
hash every file once for MD5, SHA-1 and SHA-256, and check the digests.

Hashing runs in two threads (hashlib releases the GIL on large buffers, so two files are hashed
at once on two cores); checking, progress and results stay in the calling thread. The scan
never deletes or moves anything."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

from .check import READ_BYTES, Digests, HashChecker, Match
from .client import HashCheckError

MAX_URL = 2048


class ScanUsageError(ValueError):
    """A path outside the web root, or a web root that is not a directory."""


@dataclass(frozen=True)
class FileEntry:
    """A regular file to hash: where to open it and its path relative to the web root."""

    path: str
    relative: str
    size: int


@dataclass(frozen=True)
class Found:
    """A file whose content is known."""

    relative: str
    url: str
    match: Match


@dataclass
class ScanResult:
    """What a scan saw. ``stopped`` says why it ended early (a failed check), None when it ran
    to the end; ``unreadable`` lists files that could not be read (not checked)."""

    files: int = 0
    bytes: int = 0
    found: list[Found] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    stopped: str | None = None
    seconds: float = 0.0


def url_for(url_prefix: str, relative: str) -> str:
    """The public URL of a file: the prefix plus its relative path, percent-encoded (UTF-8; a
    name that is not UTF-8 keeps its bytes)."""
    return url_prefix.rstrip("/") + "/" + quote(os.fsencode(relative), safe="/")


def _inside(root: str, real: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


@dataclass
class Tree:
    """What a walk found: the files to hash (sorted by relative path), folders that could not
    be listed, and how many links were skipped (out of the root, or to a directory: its files
    are scanned where they really are)."""

    files: list[FileEntry]
    unlisted: list[str]
    skipped_links: int

    @property
    def bytes(self) -> int:
        return sum(entry.size for entry in self.files)


def walk(web_root: str, paths: Sequence[str] = ()) -> Tree:
    """The regular files under ``web_root`` (or under ``paths`` within it), never following a
    link out of it; ``ScanUsageError`` for a path outside the root."""
    root = os.path.realpath(web_root)
    if not os.path.isdir(root):
        raise ScanUsageError(f"--web-root {web_root}: not a directory")
    starts: list[str] = []
    for given in paths or (root,):
        candidate = given if os.path.isabs(given) else os.path.join(root, given)
        real = os.path.realpath(candidate)
        if not _inside(root, real):
            raise ScanUsageError(f"{given}: not inside the web root")
        if not os.path.exists(real):
            raise ScanUsageError(f"{given}: no such file or directory")
        starts.append(real)
    found: dict[str, FileEntry] = {}
    unlisted: list[str] = []
    skipped = 0
    stack = []
    for start in starts:
        if os.path.isdir(start):
            stack.append(start)
        else:
            entry = _regular(root, start, start)
            if entry is not None:
                found[entry.relative] = entry
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            unlisted.append(f"{os.path.relpath(folder, root)}{os.sep}: {exc.strerror or exc}")
            continue
        for item in entries:
            if item.is_dir(follow_symlinks=False):
                stack.append(item.path)
                continue
            if item.is_symlink():
                real = os.path.realpath(item.path)
                if not _inside(root, real) or not os.path.isfile(real):
                    skipped += 1
                    continue
                entry = _regular(root, item.path, real)
            elif item.is_file(follow_symlinks=False):
                entry = _regular(root, item.path, item.path)
            else:
                continue  # fifos, sockets, devices: not content anyone downloads
            if entry is not None:
                found[entry.relative] = entry
    return Tree([found[k] for k in sorted(found)], sorted(unlisted), skipped)


def _regular(root: str, shown: str, real: str) -> FileEntry | None:
    try:
        info = os.stat(real)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return FileEntry(real, os.path.relpath(shown, root), info.st_size)


def _hash(entry: FileEntry, local: threading.local) -> Digests:
    buffer = getattr(local, "buffer", None)
    if buffer is None:
        buffer = local.buffer = bytearray(READ_BYTES)
    # O_NOFOLLOW: a file swapped for a link after the walk is not followed out of the root.
    fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb", buffering=0) as fh:
        return Digests.of_stream(fh, buffer)


#: Called after each file is processed, in order: checked, vanished or unreadable alike.
Progress = Callable[[FileEntry, ScanResult], None]


def scan(
    entries: Sequence[FileEntry],
    checker: HashChecker,
    url_prefix: str,
    *,
    threads: int = 2,
    progress: Progress | None = None,
) -> ScanResult:
    """Hash and check ``entries`` in order. Stops at the first failed check (``stopped``), with
    what was found so far in the result; files that vanished are skipped, files that cannot be
    read are listed in ``unreadable``."""
    result = ScanResult()
    started = time.monotonic()
    local = threading.local()
    window = max(2, threads * 4)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hc-hash") as pool:
        pending: deque[tuple[FileEntry, Future[Digests]]] = deque()
        queue: Iterator[FileEntry] = iter(entries)
        try:
            while True:
                while len(pending) < window:
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    pending.append((nxt, pool.submit(_hash, nxt, local)))
                if not pending:
                    break
                entry, future = pending.popleft()
                digests: Digests | None = None
                try:
                    digests = future.result()
                except FileNotFoundError:
                    pass  # gone since the walk: no longer stored
                except OSError as exc:
                    result.unreadable.append(f"{entry.relative}: {exc.strerror or exc}")
                if digests is not None:
                    match = checker.check_digests(digests)
                    result.files += 1  # checked
                    result.bytes += entry.size
                    if match is not None:
                        result.found.append(Found(entry.relative,
                                                  url_for(url_prefix, entry.relative), match))
                # every file is processed, checked or not: a progress bar ends at 100 %
                if progress is not None:
                    progress(entry, result)
        except HashCheckError as exc:
            result.stopped = str(exc)
        except KeyboardInterrupt:
            result.stopped = "interrupted"
        finally:
            for _, future in pending:
                future.cancel()
    result.seconds = time.monotonic() - started
    return result
