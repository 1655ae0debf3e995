"""Benchmark of hash lists (PROTOCOL 11.1): load time, peak RSS and lookups per second in one
thread, for lists of 1,000,000 and 10,000,000 SHA-1 hashes.

    python bench/hashlist_bench.py                 # 1M and 10M; lists cached under bench/out/
    python bench/hashlist_bench.py --sizes 1000000

Each size is measured in a fresh process (peak RSS from VmHWM). Lookups: 200,000 digests, half
in the list and half not, one thread. Targets (issue 14): 10M load < 15 s, memory at most twice
the raw size plus 100 MB, >= 200,000 lookups/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOOKUPS = 200_000


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def generate(path: Path, count: int) -> None:
    """``count`` random SHA-1 lines, written in blocks (deterministic: seeded)."""
    import random

    rng = random.Random(count)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as handle:
        handle.write("# generated for bench/hashlist_bench.py\n")
        left = count
        while left:
            block = min(left, 100_000)
            handle.write("".join(f"{rng.getrandbits(160):040x}\n" for _ in range(block)))
            left -= block
    tmp.rename(path)


def child(path: Path) -> dict[str, float]:
    from hoster_compliance.detection.hashlist import HashList

    baseline = _peak_mb()
    started = time.perf_counter()
    known = HashList.load(path)
    load = time.perf_counter() - started
    peak = _peak_mb()
    with path.open() as handle:
        handle.readline()
        hits = [bytes.fromhex(handle.readline().strip()) for _ in range(LOOKUPS // 2)]
    misses = [os.urandom(20) for _ in range(LOOKUPS // 2)]
    queries = [d for pair in zip(hits, misses, strict=True) for d in pair]
    started = time.perf_counter()
    found = sum(1 for d in queries if d in known)
    rate = LOOKUPS / (time.perf_counter() - started)
    assert found == LOOKUPS // 2, found
    return {"entries": len(known), "load_s": load, "peak_mb": peak,
            "baseline_mb": baseline, "held_mb": known.nbytes / 1e6,
            "lookups_per_s": rate, "file_mb": path.stat().st_size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description="hash list benchmark")
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"Python {platform.python_version()}")
    print("| entries | file MB | raw MB | load s | peak RSS MB | limit MB | lookups/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        path = out / f"sha1-{size}.txt"
        if not path.exists():
            generate(path, size)
        result = json.loads(subprocess.run(
            [sys.executable, __file__, "--child", str(path)], check=True, capture_output=True,
            text=True).stdout)
        raw = size * 20 / 1e6
        print(f"| {size:,} | {result['file_mb']:.0f} | {raw:.0f} | {result['load_s']:.2f} | "
              f"{result['peak_mb']:.0f} | {2 * raw + 100:.0f} | {result['lookups_per_s']:,.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
