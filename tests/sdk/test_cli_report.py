"""`hoster-compliance report`: every format through the command, the files dsa-csv writes."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hoster_compliance.cli import cli
from hoster_compliance.service import ComplianceService
from tests.helpers import FakeClock, write_config_file
from tests.helpers.webhooks import receive


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, service: ComplianceService, clock: FakeClock,
                sender_for: Any) -> str:
    receive(service, clock, sender_for, order_id="a")  # 2 items, NL, minors
    clock.advance(hours=2)
    service.act("nl-atkm", "a", None, {"action": "removed"}, actor="operator:t")
    receive(service, clock, sender_for, order_id="b", regime="EU_TCO")
    return write_config_file(tmp_path, db_url)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def period(config_path: str) -> list[str]:
    return ["--config", config_path, "--start", "2026-01-01", "--end", "2026-12-31"]


def test_json_to_stdout(config_path: str) -> None:
    result = run("report", *period(config_path))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["orders"]["total"]["count"] == 2
    assert report["orders"]["total"]["items"] == 4
    assert report["orders"]["total"]["median_hours_to_effect"] == 2.0
    assert report["orders"]["total"]["within_deadline"] == 1


def test_markdown_and_csv_to_files(config_path: str, tmp_path: Path) -> None:
    md = tmp_path / "out" / "report.md"
    assert run("report", *period(config_path), "--format", "md", "--out", str(md)).exit_code == 0
    text = md.read_text()
    assert "|" in text and "deadline" in text.lower()
    flat = tmp_path / "report.csv"
    assert run("report", *period(config_path), "--format", "csv", "--out",
               str(flat)).exit_code == 0
    rows = list(csv.reader(flat.read_text().splitlines()))
    assert len(rows) > 1 and len({len(r) for r in rows}) == 1  # rectangular


def test_dsa_csv_writes_the_five_commission_files(
    config_path: str, tmp_path: Path, commission_template: Callable[[str], Path]
) -> None:
    out = tmp_path / "dsa"  # created when missing
    result = run("report", *period(config_path), "--format", "dsa-csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["Part_1_summary.csv", "Part_3_member_states_orders.csv",
                     "Part_4_notices.csv", "Part_5_own_initiative_illegal.csv",
                     "Part_8_automated_means.csv"]
    for name, part in (("Part_3_member_states_orders.csv", "Part_3_"),
                       ("Part_4_notices.csv", "Part_4_"),
                       ("Part_5_own_initiative_illegal.csv", "Part_5_"),
                       ("Part_8_automated_means.csv", "Part_8_")):
        reference = commission_template(part).read_bytes().splitlines()[0]
        assert (out / name).read_bytes().splitlines()[0] == reference
    rows = list(csv.DictReader(
        (out / "Part_3_member_states_orders.csv").read_text().splitlines()))
    total = next(r for r in rows if r["Category of illegal content"] == "TOTAL"
                 and r["Scope"] == "TOTAL")
    assert total["Reporting period"] == "2026-01-01/2026-12-31"
    assert total["Number of orders to act against illegal content received"] == "2"
    assert total["Median time to give effect to the order to act against illegal content"] \
        == "2.00"


@pytest.mark.parametrize("fmt", ["json", "md", "dsa-csv"])
def test_unwritable_out_exits_2_with_one_line(config_path: str, tmp_path: Path,
                                              fmt: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run("report", *period(config_path), "--format", fmt, "--out",
                 str(blocker / "report"))
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, OSError)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hoster-compliance: --out: cannot write")
