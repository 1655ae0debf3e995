"""examples/annual_report.py: every format written from a configuration file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from hoster_compliance.store.engine import init_schema, make_engine
from tests.helpers.report import ROOT, It, add_order, utc

CONFIG = """
hoster_id = "example-hosting"
service_name = "Example Hosting"
provider_name = "Example Hosting B.V."
database_url = "sqlite:///hc.db"
operator_tokens = ["report-example-token"]

[[issuers]]
id = "nl-atkm"
member_state = "NL"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
api_base = "http://127.0.0.1:9"
"""


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("annual_report",
                                                  ROOT / "examples" / "annual_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_writes_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "hoster.toml").write_text(CONFIG, encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'hc.db'}")
    init_schema(engine)
    add_order(engine, utc(2025, 5, 1, 8), deadline_h=12, items_=[It("removed", 2)])
    add_order(engine, utc(2025, 5, 2, 8), deadline_h=12, items_=[It("removed", 14)])
    add_order(engine, utc(2026, 1, 1, 8), deadline_h=12)  # another year
    engine.dispose()
    out = tmp_path / "reports"
    status = example().main(["--config", str(tmp_path / "hoster.toml"), "--year", "2025",
                             "--out", str(out)])
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "dsa-csv", "report.csv", "report.json", "report.md"]
    assert sorted(p.name for p in (out / "dsa-csv").iterdir()) == [
        "Part_1_summary.csv", "Part_3_member_states_orders.csv", "Part_4_notices.csv",
        "Part_5_own_initiative_illegal.csv", "Part_8_automated_means.csv"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert report["orders"]["total"]["count"] == 2
    assert "**50.0%** (1 of 2 orders" in (out / "report.md").read_text(encoding="utf-8")
    part_1 = (out / "dsa-csv" / "Part_1_summary.csv").read_text(encoding="utf-8")
    assert "All,Example Hosting,Name of the service provider,Example Hosting B.V.\n" in part_1
    assert capsys.readouterr().out.startswith("2025: 2 orders (50.0% of 2 handled")


def test_bad_configuration_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert example().main(["--config", str(tmp_path / "missing.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
