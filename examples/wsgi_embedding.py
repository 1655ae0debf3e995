"""Embedding the receiver without Flask: a plain WSGI app around ``ComplianceService.receive``.

A hoster on Django, FastAPI or anything else does the same three things: read the raw body (at
most ``max_body_bytes + 1``), pass the headers and body to ``receive``, answer with its result.

    python examples/wsgi_embedding.py --config examples/demo.toml --port 8080
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from hoster_compliance import ComplianceService, load_config

PREFIX = "/v1/webhooks/"


def make_wsgi_app(service: ComplianceService) -> Callable[..., Iterable[bytes]]:
    """A WSGI app answering ``POST /v1/webhooks/<issuer_id>`` exactly like the receiver."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(PREFIX):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "not_found", "message": "No such route."}']
        issuer_id = path[len(PREFIX):]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(min(length, service.config.max_body_bytes + 1))
        headers = {key[5:].replace("_", "-").lower(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        result = service.receive(issuer_id, headers, body)
        payload = json.dumps(result.body).encode("utf-8")
        response_headers = [("Content-Type", "application/json"),
                            ("Content-Length", str(len(payload))), *result.headers.items()]
        start_response(f"{result.status} {'OK' if result.status < 400 else 'Error'}",
                       response_headers)
        return [payload]

    return app


def main() -> None:
    from wsgiref.simple_server import make_server

    parser = argparse.ArgumentParser(description="Plain-WSGI receiver (embedding example)")
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    config = load_config(args.config)
    wake, stop = threading.Event(), threading.Event()
    service = ComplianceService(config, notify=wake.set)
    worker = service.delivery_worker()
    threading.Thread(target=worker.run, args=(stop, wake), daemon=True).start()
    with make_server("127.0.0.1", args.port, make_wsgi_app(service)) as server:
        print(f"plain WSGI receiver on http://127.0.0.1:{args.port}{PREFIX}<issuer_id>")
        server.serve_forever()


if __name__ == "__main__":
    main()
