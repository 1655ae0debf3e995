"""Benchmark of ``hoster-compliance scan``'s hashing (PROTOCOL 11.2) against ``md5sum``,
``sha1sum`` and ``sha256sum`` run one after another over the same files, in the same run.

    python bench/scan_bench.py                       # 2 GB in 10,000 files under bench/out/
    python bench/scan_bench.py --files 2500 --mb 500 # a smaller tree on a loaded machine

The tree is generated once (random bytes, sizes spread around the mean). Every tool reads the
page cache: the tree is read once before timing. The scan runs ``detection.scan`` with a small
hash list (no database, no service), two hashing threads as the command does; its throughput is
compared with the combined throughput of the three coreutils (bytes / sum of their wall times).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def generate(root: Path, files: int, total_mb: int) -> None:
    rng = random.Random(files)
    mean = total_mb * 1_000_000 // files
    root.mkdir(parents=True)
    block = os.urandom(4 << 20)
    for n in range(files):
        size = max(0, int(rng.expovariate(1 / mean))) if n % 50 else 0
        folder = root / f"u{n % 100:02d}"
        folder.mkdir(exist_ok=True)
        with (folder / f"file {n}.bin").open("wb") as handle:
            left = size
            handle.write(n.to_bytes(8, "big"))  # every file distinct
            while left > 0:
                piece = block[: min(left, len(block))]
                handle.write(piece)
                left -= len(piece)


def coreutil(tool: str, paths: list[str]) -> float:
    started = time.perf_counter()
    for start in range(0, len(paths), 500):
        subprocess.run([tool, "--", *paths[start:start + 500]], check=True,
                       stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="scan hashing benchmark")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--mb", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from hoster_compliance.detection import HashChecker, HashList
    from hoster_compliance.detection.scan import scan, walk

    root = HERE / "out" / f"scantree-{args.files}-{args.mb}"
    if not root.exists():
        generate(root, args.files, args.mb)
    tree = walk(str(root))
    paths = [f.path for f in tree.files]
    for path in paths:  # warm the page cache
        with open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass
    total = tree.bytes
    checker = HashChecker([HashList.from_lines(["00" * 20], name="bench")])
    load = os.getloadavg()[0]
    print(f"# {platform.node()}, {os.cpu_count()} CPUs, load {load:.1f}, Python "
          f"{platform.python_version()}; {len(paths)} files, {total / 1e6:,.0f} MB")
    times = {tool: coreutil(tool, paths) for tool in ("md5sum", "sha1sum", "sha256sum")}
    started = time.perf_counter()
    result = scan(tree.files, checker, "https://bench.example/", threads=args.threads)
    ours = time.perf_counter() - started
    assert result.files == len(paths) and not result.found
    combined = sum(times.values())
    print("| tool | seconds | MB/s |")
    print("|---|---:|---:|")
    for tool, seconds in times.items():
        print(f"| {tool} | {seconds:.2f} | {total / seconds / 1e6:,.0f} |")
    print(f"| md5sum + sha1sum + sha256sum | {combined:.2f} | {total / combined / 1e6:,.0f} |")
    print(f"| scan (MD5+SHA-1+SHA-256, {args.threads} threads) | {ours:.2f} | "
          f"{total / ours / 1e6:,.0f} |")
    print(f"\nscan / combined coreutils throughput: {combined / ours:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
