"""The README's non-Flask embedding gives the receiver's exact answers over real HTTP."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from hoster_compliance.issuer import CallbackServer
from hoster_compliance.service import ComplianceService
from tests.helpers import ISSUER_SECRET, order_data

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wsgi_embedding.py"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("wsgi_embedding", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_plain_wsgi_embedding_answers_like_the_receiver(
    service: ComplianceService, fake_issuer: CallbackServer, worker: Any, sender_for: Any
) -> None:
    app = load_example().make_wsgi_app(service)
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sender = sender_for(f"http://127.0.0.1:{server.server_port}")
        created = sender.send_order(order_data())
        duplicate = sender.send_order(order_data())
        conflict = sender.send_order(order_data(note_to_nobody=1))
        bad_signature = sender_for(f"http://127.0.0.1:{server.server_port}",
                                   secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
                                   ).send_order(order_data("ord-2"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert created.status_code == 201 and created.json()["duplicate"] is False
    assert duplicate.status_code == 200 and duplicate.json()["duplicate"] is True
    assert conflict.status_code == 400 and conflict.json()["error"] == "invalid_payload"
    assert bad_signature.status_code == 401
    assert bad_signature.json()["error"] == "invalid_signature"
    assert worker.run_once() == 1
    assert fake_issuer.received[0].verified and ISSUER_SECRET
