"""The `hoster-compliance` command: orders, act, audit verify, bad input (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from hoster_compliance.cli import cli
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import events
from tests.helpers import FakeClock, write_config_file
from tests.helpers.webhooks import receive


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, service: ComplianceService, clock: FakeClock,
                sender_for: Any) -> str:
    receive(service, clock, sender_for, order_id="ord-1", regime="OTHER")  # no deadline
    receive(service, clock, sender_for, order_id="ord-2", regime="EU_TCO")
    return write_config_file(tmp_path, db_url)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_orders_lists_open_deadline_first_as_json(config_path: str) -> None:
    result = run("orders", "--config", config_path, "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["orders"]
    assert [o["order_id"] for o in listed] == ["ord-2", "ord-1"]


def test_orders_overdue(config_path: str) -> None:
    # ord-2 (EU_TCO, 1 h) was received at the fake time 2026-11-22 09:00, before the real now;
    # ord-1 has no deadline and is never overdue
    result = run("orders", "--config", config_path, "--status", "overdue")
    assert result.exit_code == 0
    assert "OVERDUE" in result.output and "ord-2" in result.output
    assert "ord-1" not in result.output
    assert "no completed orders" in run("orders", "--config", config_path, "--status",
                                        "completed").output


def test_act_on_item_then_all(config_path: str) -> None:
    result = run("act", "--config", config_path, "nl-atkm", "ord-1", "i1", "removed",
                 "--at", "2026-11-22T09:10:00Z")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["acted_at"] == "2026-11-22T09:10:00Z"
    result = run("act", "--config", config_path, "nl-atkm", "ord-1", "--all", "refused",
                 "--reason", "legal challenge")
    assert result.exit_code == 0, result.output
    assert [i["action"] for i in json.loads(result.output)["items"]] == ["removed", "refused"]
    listed = json.loads(run("orders", "--config", config_path, "--status", "completed",
                            "--json").output)["orders"]
    assert [o["order_id"] for o in listed] == ["ord-1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nl-atkm", "ord-1", "i1", "refused"], "invalid_payload"),
        (["nl-atkm", "nope", "i1", "removed"], "unknown_order"),
        (["nl-atkm", "ord-1", "removed"], "usage"),
        (["nl-atkm", "ord-1", "i1", "removed", "--at", "tomorrow"], "--at"),
    ],
)
def test_act_bad_input_exits_2_with_one_line(config_path: str, args: list[str],
                                             message: str) -> None:
    result = run("act", "--config", config_path, *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert message in lines[-1] and "Traceback" not in result.output


def test_bad_configuration_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('hoster_id = "x"\ndatabase_url = "sqlite:///x.db"\noperator_tokens = []\n')
    result = run("orders", "--config", str(path))
    assert result.exit_code == 2
    assert "operator_tokens" in result.output.strip().splitlines()[-1]


def test_report_rejects_bad_dates(config_path: str) -> None:
    result = run("report", "--config", config_path, "--start", "2026-13-01", "--end",
                 "2026-12-31")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = run("report", "--config", config_path, "--start", "2026-01-01", "--end",
                 "2026-12-31", "--format", "dsa-csv")
    assert result.exit_code == 2 and "--out" in result.output


def test_audit_verify_passes_on_untouched_database(config_path: str,
                                                  service: ComplianceService) -> None:
    result = run("audit", "verify", "--config", config_path)
    assert result.exit_code == 0, result.output
    with service.engine.connect() as conn:
        head = conn.execute(sa.select(events).order_by(events.c.id.desc()).limit(1)).one()
    assert result.output == f"audit trail intact: 2 events; head {head.id}:{head.hash}\n"


def test_audit_verify_expect_holds_until_the_trail_is_rewritten(
    config_path: str, service: ComplianceService
) -> None:
    printed = run("audit", "verify", "--config", config_path).output.split("head ")[1].strip()
    run("act", "--config", config_path, "nl-atkm", "ord-1", "i1", "removed")
    kept = run("audit", "verify", "--config", config_path, "--expect", printed)
    assert kept.exit_code == 0, kept.output
    from tests.helpers.audit import rewrite

    first = _event_ids(service)[0]
    with service.engine.connect() as conn:
        detail = json.loads(conn.execute(sa.select(events.c.detail)
                                         .where(events.c.id == first)).scalar_one())
    rewrite(service.engine, first, {**detail, "forged": True})  # the whole chain recomputed
    assert run("audit", "verify", "--config", config_path).exit_code == 0
    seq = printed.split(":")[0]
    broken = run("audit", "verify", "--config", config_path, "--expect", printed)
    assert broken.exit_code == 1
    assert f"expected head {printed}: event {seq} now has hash " in broken.output


@pytest.mark.parametrize("bad", ["12", "x:" + "a" * 64, "3:" + "a" * 63, "3:" + "g" * 64])
def test_audit_verify_bad_expect_is_a_usage_error(config_path: str, bad: str) -> None:
    result = run("audit", "verify", "--config", config_path, "--expect", bad)
    assert result.exit_code == 2
    assert "SEQ:HASH" in result.output and "Traceback" not in result.output


def test_audit_verify_names_an_order_changed_by_sql(config_path: str,
                                                   service: ComplianceService) -> None:
    from hoster_compliance.store.tables import orders

    _tamper(service, orders.update().where(orders.c.order_id == "ord-2").values(deadline=None))
    result = run("audit", "verify", "--config", config_path)
    assert result.exit_code == 1
    assert ("order nl-atkm/ord-2: deadline is none in the table, 2026-11-22T10:00:00Z by the "
            "trail") in result.output


def _tamper(service: ComplianceService, statement: Any) -> None:
    with service.engine.begin() as conn:
        conn.execute(statement)


def _event_ids(service: ComplianceService) -> list[int]:
    with service.engine.connect() as conn:
        return list(conn.execute(sa.select(events.c.id).order_by(events.c.id)).scalars())


def test_audit_verify_names_an_edited_event(config_path: str, service: ComplianceService) -> None:
    run("act", "--config", config_path, "nl-atkm", "ord-1", "i1", "removed")
    first = _event_ids(service)[0]
    _tamper(service, events.update().where(events.c.id == first).values(actor="issuer:someone"))
    result = run("audit", "verify", "--config", config_path)
    assert result.exit_code == 1
    assert f"event {first}: content does not match its hash (edited)" in result.output


def test_audit_verify_names_an_inserted_event(config_path: str,
                                              service: ComplianceService) -> None:
    ids = _event_ids(service)
    with service.engine.connect() as conn:
        last = conn.execute(sa.select(events).where(events.c.id == ids[-1])).one()
    # A forger who copies a real event's hashes still cannot make the chain fit.
    _tamper(service, events.insert().values(
        order_pk=last.order_pk, at=last.at, type="action", actor="operator:forged",
        detail='{"action":"removed"}', prev_hash=last.prev_hash, hash=last.hash))
    result = run("audit", "verify", "--config", config_path)
    assert result.exit_code == 1
    assert f"event {ids[-1] + 1}:" in result.output


def test_audit_verify_names_where_an_event_was_deleted(config_path: str,
                                                       service: ComplianceService) -> None:
    run("act", "--config", config_path, "nl-atkm", "ord-1", "i1", "removed")
    ids = _event_ids(service)
    _tamper(service, events.delete().where(events.c.id == ids[1]))
    result = run("audit", "verify", "--config", config_path)
    assert result.exit_code == 1
    assert f"event {ids[2]}: does not follow the event before it" in result.output


def test_audit_verify_detects_deleting_the_newest_event(config_path: str,
                                                        service: ComplianceService) -> None:
    ids = _event_ids(service)
    _tamper(service, events.delete().where(events.c.id == ids[-1]))
    result = run("audit", "verify", "--config", config_path)
    assert result.exit_code == 1
    assert f"event {ids[-1]}: the newest event recorded is missing" in result.output


def test_keys_generate_prints_a_pair_that_belongs_together() -> None:
    from hoster_compliance.protocol import keys as ed25519

    runner = CliRunner()
    first = runner.invoke(cli, ["keys", "generate"])
    second = runner.invoke(cli, ["keys", "generate", "--json"])
    assert first.exit_code == 0 and second.exit_code == 0
    signing_key, public_key = first.stdout.splitlines()
    assert ed25519.public_key_text(ed25519.parse_signing_key(signing_key)) == public_key
    kid = ed25519.kid(ed25519.parse_public_key(public_key))
    assert f"kid {kid}" in first.stderr and signing_key not in first.stderr
    pair = json.loads(second.stdout)
    assert ed25519.public_key_text(ed25519.parse_signing_key(pair["signing_key"])) == pair[
        "public_key"]
    assert pair["kid"] == ed25519.kid(ed25519.parse_public_key(pair["public_key"]))
    assert pair["signing_key"] != signing_key
