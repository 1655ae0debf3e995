"""The repository stands alone: its documents link only to files it holds, and nothing it holds
reads a path outside it (a sibling checkout, or a folder of one machine)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "sdk").rglob("README.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# Spelled in two pieces so that this file does not match itself.
OUTSIDE = ("../" + "shared", "/" + "work/")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_repository(document: Path) -> None:
    targets = [t for t in LINK.findall(document.read_text(encoding="utf-8"))
               if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    for target in targets:
        path = (document.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{document.name}: {target}"
        assert path.is_relative_to(ROOT), f"{document.name}: {target} leaves the repository"


def test_no_tracked_file_refers_to_a_path_outside_the_repository() -> None:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                check=True, timeout=30).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    offenders = []
    for name in filter(None, listed.decode().split("\0")):
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [f"{name}: {needle}" for needle in OUTSIDE if needle in text]
    assert offenders == []
