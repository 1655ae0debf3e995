"""The notice rate limit (PROTOCOL 10.2) is shared by every process: two receivers on one
PostgreSQL database, a client sending notices to both at once, gets exactly
``max_per_hour_per_client`` accepted between them and 429 with Retry-After for the rest."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.helpers.processes import Receiver, free_port, write_config

pytestmark = pytest.mark.reliability

LIMIT = 5
SENT = 16


def test_two_receivers_share_one_rate_limit(pg_db: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "hc.toml", pg_db, "http://127.0.0.1:9")
    with config.open("a") as fh:
        fh.write(f"\n[notices]\nmax_per_hour_per_client = {LIMIT}\n")
    receivers = [Receiver(config, free_port(), tmp_path / f"receiver{n}.log", worker=False)
                 for n in range(2)]
    try:
        for receiver in receivers:
            receiver.start()

        def send(n: int) -> requests.Response:
            doc = {"urls": [f"https://files.example/{n}"], "good_faith": True,
                   "explanation": "Images of the sexual abuse of a child.",
                   "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                   "subcategory": "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"}
            return requests.post(receivers[n % 2].url + "/v1/notices", json=doc, timeout=20)

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, range(SENT)))
    finally:
        for receiver in receivers:
            receiver.stop()
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * LIMIT + [429] * (SENT - LIMIT), codes
    # Each receiver refused some: neither counts alone (a per-process count would accept
    # up to LIMIT on each).
    refused_by = {n % 2 for n, a in enumerate(answers) if a.status_code == 429}
    refused = [a for a in answers if a.status_code == 429]
    assert all(a.json()["error"] == "rate_limited" for a in refused)
    assert all(0 < int(a.headers["Retry-After"]) <= 3600 for a in refused)
    assert refused_by == {0, 1}
