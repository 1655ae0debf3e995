"""The Commission's templates ship byte for byte (SHA256SUMS pins each file) and the package reads
them from that one copy."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from hoster_compliance.protocol import templates
from tests.helpers import TEMPLATES


def sums() -> dict[str, str]:
    lines = (TEMPLATES / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def test_every_template_file_is_pinned_and_unchanged() -> None:
    pinned = sums()
    shipped = {p.name for p in TEMPLATES.iterdir()} - {"SHA256SUMS", "README.md"}
    assert shipped == set(pinned)
    assert len([n for n in shipped if "_CSV_Part_" in n]) == 11 and "Annex_II_instructions.txt" \
        in shipped
    for name, digest in pinned.items():
        assert hashlib.sha256((TEMPLATES / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("name", [templates.PART_1, templates.PART_2, templates.PART_3,
                                  templates.PART_4])
def test_the_package_reads_the_shipped_files(
    name: str, commission_template: Callable[[str], Path]
) -> None:
    part = name.split("_CSV_")[1][: len("Part_1_")]
    assert templates.read_bytes(name) == commission_template(part).read_bytes()


def test_the_reference_fixture_refuses_an_ambiguous_name(
    commission_template: Callable[[str], Path]
) -> None:
    assert commission_template("Annex_II").name == "Annex_II_instructions.txt"
    with pytest.raises(AssertionError):
        commission_template("Part_1")  # Part_1_, Part_10_ and Part_11_
