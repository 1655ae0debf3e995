"""End to end over real HTTP on loopback (issue 13's "done when"): someone who is not a
customer reports two URLs anonymously through the form and gets a reference; a notifier who
leaves an e-mail through the API gets the confirmation and, once the abuse desk acted (API and
CLI), the decision from a real SMTP server; each removed item has a statement of reasons; the
report counts the notices. The receiver runs its own worker, as `serve` does."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from hoster_compliance.cli import cli
from hoster_compliance.config_mail import MailConfig
from hoster_compliance_receiver import create_app
from tests.helpers import AUTH, LiveServer, make_config, write_config_file
from tests.helpers.notices import CSAM, NOTIFIER, URLS, notice
from tests.helpers.smtp import SmtpSink

CSAM_CHOICE = f"{CSAM['category']}|{CSAM['subcategory']}"


def test_a_notice_from_form_to_decision_and_statement(db_url: str, tmp_path: Path) -> None:
    with SmtpSink() as smtp:
        config = make_config(db_url, mail=MailConfig(
            smtp_url=smtp.url, sender="Compliance <compliance@example-hosting.nl>"))
        app = create_app(config, start_worker=True)
        try:
            with LiveServer(app) as receiver:
                form = requests.post(f"{receiver.url}/notices", timeout=10, data={
                    "urls": "\n".join(URLS), "explanation": "Images of the abuse of a child.",
                    "kind": CSAM_CHOICE, "good_faith": "yes"})
                assert form.status_code == 200, form.text
                anonymous = re.search(r"N-[0-9A-Z]{12}", form.text)
                assert anonymous is not None
                api = requests.post(f"{receiver.url}/v1/notices", timeout=10,
                                    json=notice(urls=["https://files.example/n/1"],
                                                notifier=NOTIFIER))
                assert api.status_code == 201, api.text
                named = api.json()["notice_id"]
                [confirmation] = smtp.wait(1, timeout=10)
                assert confirmation["To"] == NOTIFIER["email"] and named in confirmation["Subject"]

                listed = requests.get(f"{receiver.url}/v1/orders?kind=notice&status=open",
                                      headers=AUTH, timeout=10).json()["orders"]
                assert {o["order_id"] for o in listed} == {anonymous.group(), named}
                acted = requests.post(
                    f"{receiver.url}/v1/orders/public/{anonymous.group()}/action",
                    json={"action": "removed"}, headers=AUTH, timeout=10)
                assert acted.status_code == 200
                result = CliRunner().invoke(cli, [
                    "act", "--config", write_config_file(tmp_path, db_url), "public", named,
                    "--all", "disabled"])
                assert result.exit_code == 0, result.output
                messages = smtp.wait(2, timeout=10)
                assert len(messages) == 2, "the decision did not arrive"
                decision = messages[1].get_content()
                assert "access disabled" in decision and config.notices.redress in decision
                statement = requests.get(
                    f"{receiver.url}/v1/orders/public/{anonymous.group()}/items/2/statement",
                    headers=AUTH, timeout=10)
                assert statement.status_code == 200
                assert statement.json()["decision_visibility"] == [
                    "DECISION_VISIBILITY_CONTENT_REMOVED"]
                year = time.gmtime().tm_year
                report = requests.get(
                    f"{receiver.url}/v1/reports/transparency?start={year}-01-01&end={year}-12-31",
                    headers=AUTH, timeout=10).json()
                assert report["notices"]["total"]["count"] == 2
                assert report["notices"]["total"]["items"] == 3
                assert NOTIFIER["email"] not in json.dumps(report)
        finally:
            app.extensions["hoster_compliance_worker"].stop()
            app.extensions["hoster_compliance"].close()
