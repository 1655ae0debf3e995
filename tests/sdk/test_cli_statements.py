"""`hoster-compliance statements` (PROTOCOL 10.3) and acting on a notice from the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hoster_compliance.cli import cli
from hoster_compliance.service import ComplianceService
from tests.helpers import write_config_file
from tests.helpers.notices import URLS, notice


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_statements_of_a_notice_acted_on_from_the_cli(
    tmp_path: Path, db_url: str, service: ComplianceService
) -> None:
    status, body = service.submit_notice(notice(), "client")
    notice_id = body["notice_id"]
    path = write_config_file(tmp_path, db_url)
    acted = run("act", "--config", path, "public", notice_id, "--all", "removed",
                "--at", "2026-11-22T10:00:00Z")
    assert acted.exit_code == 0, acted.output
    result = run("statements", "--config", path, "--start", "2026-11-01", "--end", "2026-11-30")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(s["puid"], s["url"]) for s in lines] == [
        (f"public-{notice_id}-1", URLS[0]), (f"public-{notice_id}-2", URLS[1])]
    out = tmp_path / "out" / "statements.jsonl"
    written = run("statements", "--config", path, "--start", "2026-11-22", "--end",
                  "2026-11-22", "--out", str(out))
    assert written.exit_code == 0 and out.read_text().count("\n") == 2
    empty = run("statements", "--config", path, "--start", "2026-12-01", "--end", "2026-12-31")
    assert empty.exit_code == 0 and empty.output == ""


def test_statements_bad_dates_exit_2_with_one_line(tmp_path: Path, db_url: str) -> None:
    path = write_config_file(tmp_path, db_url)
    for args in (("--start", "2026-13-01", "--end", "2026-12-31"),
                 ("--start", "2026-12-31", "--end", "2026-01-01")):
        result = run("statements", "--config", path, *args)
        assert result.exit_code == 2
        assert len(result.output.strip().splitlines()) == 1
